"""Self-care routes: login, who am I, an admin's view of the account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from conso.access import Role, require_account
from conso.api.answers import API, MeAnswer, TokenAnswer, UsageAnswer, ok, problems
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep
from conso.api.schemas import AccountIdPath, LoginIn
from conso.api.views import usage_view
from conso.charging.views import limit_view
from conso.errors import Unauthorized

router = APIRouter(prefix="/api/v1", tags=["self-care"], dependencies=TEXT_PARAMETERS,
                   responses=API)


@router.post("/auth/login", summary="Exchange a login and password for a token",
             response_model=None, responses={**ok(TokenAnswer), **problems(401, 429)})
def login(body: LoginIn, request: Request, svc: ServicesDep) -> dict[str, Any]:
    # The client's address, as uvicorn gives it (X-Forwarded-For from a trusted proxy).
    client = request.client.host if request.client else None
    try:
        issued = svc.auth.login(body.login, body.password, client=client)
    except Unauthorized:
        svc.metrics.logins.labels("refused").inc()
        raise
    svc.metrics.logins.labels("ok").inc()
    return {"token": issued.token, "token_type": "bearer",
            "expires_at": issued.expires_at.isoformat()}


@router.post("/auth/logout", status_code=204, summary="Revoke the token of this request",
             responses=problems(401))
def logout(request: Request, svc: ServicesDep, who: CallerDep) -> Response:
    header = request.headers.get("authorization", "")
    if not who.is_operator and header.lower().startswith("bearer "):
        svc.auth.logout(header[7:].strip())
    return Response(status_code=204)


@router.get("/me", summary="The caller, their role and the lines they can see",
            response_model=None, responses={**ok(MeAnswer), **problems(401)})
def me(svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    if who.role is Role.OPERATOR:
        lines: list[str] = []
    elif who.role is Role.ADMIN and who.account_id is not None:
        lines = svc.store.lines.of_account(who.account_id)
    else:
        lines = svc.store.lines.of_user(who.login or "")
    return {"login": who.login, "role": who.role.value, "account_id": who.account_id,
            "lines": lines}


@router.get("/accounts/{account_id}/lines", summary="Usage of every line of an account",
            response_model=None, responses={**ok(list[UsageAnswer]), **problems(401, 404)})
def account_lines(account_id: AccountIdPath, svc: ServicesDep,
                  who: CallerDep) -> list[dict[str, Any]]:
    require_account(who, account_id, svc.store.accounts.get(account_id) is not None)
    answers = []
    for line_id in svc.store.lines.of_account(account_id):
        line = svc.engine.line(line_id)
        if line is not None:
            summary = svc.engine.usage_summary(line)
            answers.append(usage_view(summary, limit_view(line, summary.extra_micros)))
    return answers
