"""Provisioning routes (operator key): plans, accounts, users, lines."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from conso.access import require_line, require_operator
from conso.api.answers import API, AccountAnswer, LineAnswer, PlanAnswer, UserAnswer, ok, problems
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep
from conso.api.schemas import AccountIdPath, AccountIn, LineIdPath, LineIn, LoginPath, UserIn
from conso.api.views import account_view, line_view, plan_view, user_view

router = APIRouter(prefix="/api/v1", tags=["provisioning"], dependencies=TEXT_PARAMETERS,
                   responses=API)


def _status(response: Response, created: bool) -> None:
    response.status_code = 201 if created else 200


@router.get("/plans", summary="The plan catalogue", response_model=None,
            responses={**ok(list[PlanAnswer]), **problems(401, 403)})
def list_plans(svc: ServicesDep, who: CallerDep) -> list[dict[str, Any]]:
    require_operator(who)
    return [plan_view(plan) for plan in svc.catalog.plans.values()]


@router.put("/accounts/{account_id}", summary="Create or update an account",
            response_model=None,
            responses={**ok(AccountAnswer, created=True), **problems(401, 403)})
def put_account(account_id: AccountIdPath, body: AccountIn, response: Response,
                svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    put = svc.engine.put_account(account_id, name=body.name, kind=body.kind)
    _status(response, put.created)
    return account_view(put.value)


@router.put("/accounts/{account_id}/users/{login}", summary="Create or update a user",
            response_model=None,
            responses={**ok(UserAnswer, created=True), **problems(401, 403, 409)})
def put_user(account_id: AccountIdPath, login: LoginPath, *, body: UserIn, response: Response,
             svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    put = svc.engine.put_user(account_id, login, password=body.password, role=body.role,
                              email=body.email, language=body.language)
    _status(response, put.created)
    return user_view(put.value)


@router.put("/lines/{line_id}", summary="Create a line, or change its plan, user or cycle day",
            response_model=None,
            responses={**ok(LineAnswer, created=True), **problems(401, 403, 409)})
def put_line(line_id: LineIdPath, body: LineIn, response: Response,
             svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    # Leaving `user` out keeps the line's user; `"user": null` unassigns it.
    # The same for `imsi`: left out, the line keeps it; null removes it.
    keep_user = "user" not in body.model_fields_set
    put = svc.engine.put_line(line_id, account_id=body.account_id, plan_id=body.plan,
                              user_login=body.user, cycle_day=body.cycle_day,
                              keep_user=keep_user, imsi=body.imsi,
                              keep_imsi="imsi" not in body.model_fields_set)
    _status(response, put.created)
    return line_view(put.value)


@router.get("/lines/{line_id}", summary="A line's settings", response_model=None,
            responses={**ok(LineAnswer), **problems(401, 404)})
def get_line(line_id: LineIdPath, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    return line_view(require_line(who, svc.engine.line(line_id), line_id))
