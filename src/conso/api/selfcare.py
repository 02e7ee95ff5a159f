"""Self-care routes: login, who am I, changing one's password, an admin's view of the account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from conso.access import Role, require_account
from conso.api.answers import API, MeAnswer, TokenAnswer, UsageAnswer, ok, problems
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep
from conso.api.schemas import AccountIdPath, LoginIn, PasswordChangeIn
from conso.api.views import line_usage_view
from conso.auth import TooManyAttempts
from conso.engine.provisioning import check_password
from conso.errors import Forbidden, Unauthorized

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


@router.put("/me/password", status_code=204, summary="Change the caller's password",
            responses=problems(401, 403, 429))
def change_password(body: PasswordChangeIn, request: Request, svc: ServicesDep,
                    who: CallerDep) -> Response:
    """The current password, checked (and throttled) as a login; every other token of
    the user is revoked, the one of this request stays valid."""
    if who.is_operator or who.login is None:
        raise Forbidden("the operator key has no password to change")
    check_password(body.new, ("body", "new"))
    client = request.client.host if request.client else None
    try:
        svc.auth.verify(who.login, body.current, client=client)
    except TooManyAttempts:
        raise
    except Unauthorized:
        raise Forbidden("the current password is wrong") from None
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    svc.engine.set_password(who.login, body.new, by=who.login, keep_token=token)
    return Response(status_code=204)


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
            answers.append(line_usage_view(line, summary, svc.engine.catalog))
    return answers
