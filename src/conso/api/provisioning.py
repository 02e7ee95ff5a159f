"""Provisioning routes (operator key): plans, accounts, users, lines, and batches of them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from conso.access import require_line, require_operator
from conso.api.answers import (
    API,
    AccountAnswer,
    LineAnswer,
    PlanAnswer,
    ProvisionAnswer,
    UserAnswer,
    ok,
    problems,
)
from conso.api.batches import read_batch
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep
from conso.api.schemas import AccountIdPath, AccountIn, LineIdPath, LineIn, LoginPath, UserIn
from conso.api.views import account_view, line_view, plan_view, user_view
from conso.engine.bulk import MAX_ITEMS

router = APIRouter(prefix="/api/v1", tags=["provisioning"], dependencies=TEXT_PARAMETERS,
                   responses=API)

# 10,000 items of up to ~1 KB; api/limits.py refuses a larger body before it is read.
MAX_BODY_BYTES = 16 * 1024 * 1024


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


@router.post(
    "/provision",
    summary="Accounts, users and lines in a batch (JSON array or NDJSON, up to 10,000)",
    response_model=None,
    responses={**ok(ProvisionAnswer), **problems(401, 403, 413, 422)},
    # Items are checked one by one: a bad one is rejected by its index in a 200, the
    # rest applied in order in one transaction (api.md).
    openapi_extra={"requestBody": {"required": False, "content": {
        "application/json": {"schema": {
            "type": "array", "maxItems": MAX_ITEMS, "items": {},
            "description": 'items: {"type": "account", account_id, name, kind}, '
                           '{"type": "user", account_id, login, password, role, email?, '
                           'language?}, {"type": "line", line_id, account_id, plan, user?, '
                           "cycle_day?, imsi?}"},
            "example": [
                {"type": "account", "account_id": "acme", "name": "ACME",
                 "kind": "business"},
                {"type": "user", "account_id": "acme", "login": "ann",
                 "password": "correct horse battery", "role": "admin", "language": "fr"},
                {"type": "line", "line_id": "+32470000001", "account_id": "acme",
                 "plan": "king-business", "user": "ann"}]},
        "application/x-ndjson": {"schema": {
            "type": "string", "description": "one item a line; a line that is not JSON "
                                             "is a rejected item"}},
    }}},
)
async def post_provision(request: Request, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    items = await read_batch(request, max_bytes=MAX_BODY_BYTES, max_items=MAX_ITEMS,
                             what="items")
    result = await run_in_threadpool(svc.engine.provision, items)
    return {"created": result.created, "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": [{"index": index, "error": error} for index, error in result.rejected]}
