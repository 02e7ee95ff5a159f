"""Network control routes: barring, spending limit, authorize, credit-control sessions.

The first front end over the charging core: it maps the operator's HTTP/JSON to the
core's requests (charging/ports.py) and its answers back, and adds the HTTP words
("body", status codes) to the core's errors. No charging rule lives here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import Field

from conso.access import require_admin_of, require_line, require_operator
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep
from conso.api.locations import located_in_request
from conso.api.schemas import BarringIn
from conso.api.schemas import Body as StrictBody
from conso.charging.ports import (
    SINGLE_GROUP,
    SessionEnd,
    SessionStart,
    SessionUpdate,
    Units,
    UseRequest,
)
from conso.charging.views import cost_view, grant_view, limit_answer
from conso.domain.catalog import PlanKind
from conso.domain.control import barring_view
from conso.domain.units import MICROS_PER_CENT, Direction, Service
from conso.errors import Conflict

router = APIRouter(prefix="/api/v1", tags=["network control"], dependencies=TEXT_PARAMETERS)

_COUNTRY = r"^[A-Za-z]{2}$"


class AuthorizeIn(StrictBody):
    line: str = Field(min_length=1, max_length=64)
    service: Literal["voice", "sms", "data", "premium", "callme"]
    direction: Literal["out", "in"] = "out"
    country: str | None = Field(default=None, pattern=_COUNTRY)
    amount_cents: int | None = Field(default=None, ge=0, le=10**7)


class SessionStartIn(StrictBody):
    session_id: str = Field(min_length=1, max_length=128)
    line: str = Field(min_length=1, max_length=64)
    service: Literal["voice", "sms", "data"]
    direction: Literal["out", "in"] = "out"
    country: str | None = Field(default=None, pattern=_COUNTRY)
    requested: int = Field(ge=0, le=10**12)


class SessionUpdateIn(StrictBody):
    used: int = Field(ge=0, le=10**12)
    requested: int = Field(ge=0, le=10**12)
    request_number: int | None = Field(default=None, ge=0,
                                       description="CC-Request-Number: a retry is counted once")


class SessionTerminateIn(StrictBody):
    used: int = Field(ge=0, le=10**12)


class SpendingLimitIn(StrictBody):
    amount_eur: int


@router.get("/lines/{line_id}/barring", summary="Which functions are barred on a line")
def get_barring(line_id: str, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    view: dict[str, Any] = barring_view(line.barred)
    last = svc.store.lines.audit_log(line.id, 50)
    changed = next((entry for entry in last if entry.action == "barring"), None)
    view["changed_by"] = None if changed is None else changed.actor
    view["changed_at"] = None if changed is None else changed.at.isoformat()
    return view


@router.put("/lines/{line_id}/barring", summary="Bar or lift functions (admin)")
def put_barring(line_id: str, svc: ServicesDep, who: CallerDep,
                body: Annotated[BarringIn, Body(examples=[{"data": True,
                                                           "premium": True}])],
                ) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    require_admin_of(who, line)
    with located_in_request():
        svc.control.set_barring(line, body, who.login or "operator")
    return get_barring(line_id, svc, who)


@router.get("/lines/{line_id}/barring/audit", summary="Who changed barring and limit, when")
def barring_audit(line_id: str, svc: ServicesDep, who: CallerDep,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    require_admin_of(who, line)
    return [{"at": e.at.isoformat(), "by": e.actor, "action": e.action, "before": e.before,
             "after": e.after} for e in svc.store.lines.audit_log(line.id, limit)]


def _limit_answer(svc: ServicesDep, line_id: str) -> dict[str, Any]:
    line = svc.engine.line(line_id)
    assert line is not None
    usage = svc.engine.cycle_usage(line, svc.engine.clock())
    return limit_answer(line, usage.spend_micros)


@router.get("/lines/{line_id}/spending-limit", summary="A pay-per-use line's spending limit")
def get_limit(line_id: str, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    if svc.catalog.plans[line.plan_id].kind is not PlanKind.PAYG:
        raise Conflict("a spending limit is for pay-per-use lines only")
    return _limit_answer(svc, line.id)


@router.put("/lines/{line_id}/spending-limit", summary="Set a spending limit (admin)")
def put_limit(line_id: str, body: SpendingLimitIn, svc: ServicesDep,
              who: CallerDep) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    require_admin_of(who, line)
    with located_in_request(path=("line",)):
        svc.control.set_spending_limit(line, body.amount_eur, who.login or "operator")
    return _limit_answer(svc, line.id)


@router.delete("/lines/{line_id}/spending-limit", status_code=204,
               summary="Remove the spending limit (admin)")
def delete_limit(line_id: str, svc: ServicesDep, who: CallerDep) -> Response:
    line = require_line(who, svc.engine.line(line_id), line_id)
    require_admin_of(who, line)
    svc.control.remove_spending_limit(line, who.login or "operator")
    return Response(status_code=204)


@router.post("/authorize", summary="May this line use this service now?")
def authorize(body: AuthorizeIn, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    decision = svc.charging.authorize(use_request(
        body.line, body.service, body.direction, body.country, body.amount_cents))
    return {"allowed": decision.allowed, "reason": decision.reason}


def use_request(line: str, service: str, direction: str, country: str | None,
                amount_cents: int | None) -> UseRequest:
    """An `/authorize` body in the core's words (the fast path shares it)."""
    return UseRequest(line, Service(service), Direction(direction),
                      country.upper() if country else None,
                      None if amount_cents is None else amount_cents * MICROS_PER_CENT)


def session_update(session_id: str, used: int, requested: int,
                   request_number: int | None) -> SessionUpdate:
    """A `/sessions/{id}/update` body in the core's words (the fast path shares it)."""
    return SessionUpdate(session_id, (Units(SINGLE_GROUP, used=used, requested=requested),),
                         request_number)


@router.post("/sessions", summary="Start a credit-control session (CCR-Initial)")
def start_session(body: SessionStartIn, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    units = Units(SINGLE_GROUP, Service(body.service), Direction(body.direction),
                  requested=body.requested)
    with located_in_request():
        answer = svc.charging.start(SessionStart(
            body.session_id, body.line, (units,),
            country=body.country.upper() if body.country else None))
    return grant_view(answer.first)


@router.post("/sessions/{session_id}/update", summary="Report use, ask for more (CCR-Update)")
def update_session(session_id: str, body: SessionUpdateIn, svc: ServicesDep,
                   who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    update = session_update(session_id, body.used, body.requested, body.request_number)
    with located_in_request():
        answer = svc.reports.submit(update).result()
    return grant_view(answer.first)


@router.post("/sessions/{session_id}/terminate", summary="Report the last use (CCR-Terminate)")
def terminate_session(session_id: str, body: SessionTerminateIn, svc: ServicesDep,
                      who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    with located_in_request():
        answer = svc.charging.end(SessionEnd(session_id, (Units(SINGLE_GROUP, used=body.used),)))
    return cost_view(answer.charged_micros)
