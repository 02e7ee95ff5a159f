"""Network control routes: barring, spending limit, authorize, credit-control sessions.

The first front end over the charging core: it maps the operator's HTTP/JSON to the
core's requests (charging/ports.py) and its answers back, and adds the HTTP words
("body", status codes) to the core's errors. No charging rule lives here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import Field

from conso.access import require_admin_of, require_line, require_operator
from conso.api.answers import (
    API,
    AuditAnswer,
    BarringAnswer,
    CostAnswer,
    DecisionAnswer,
    GrantAnswer,
    LimitAnswer,
    RoamingCapAnswer,
    ok,
    problems,
)
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep
from conso.api.locations import located_in_request
from conso.api.schemas import BarringIn, LineIdPath, SessionIdPath
from conso.api.schemas import Body as StrictBody
from conso.charging.ports import (
    SINGLE_GROUP,
    SessionEnd,
    SessionStart,
    SessionUpdate,
    Units,
    UseRequest,
)
from conso.charging.roaming_cap import continue_roaming, set_roaming_cap
from conso.charging.views import cost_view, grant_view, limit_answer, roaming_cap_view
from conso.domain.catalog import PlanKind
from conso.domain.control import barring_view
from conso.domain.rating import ROAMING_DATA
from conso.domain.units import MICROS_PER_CENT, Direction, Service
from conso.errors import Conflict

router = APIRouter(prefix="/api/v1", tags=["network control"], dependencies=TEXT_PARAMETERS,
                   responses=API)

_COUNTRY = r"^[A-Za-z]{2}$"
MAX_REQUEST_NUMBER = 2**32 - 1


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
    # CC-Request-Number is an Unsigned32 (RFC 4006 8.2); the fast path bounds it alike.
    request_number: int | None = Field(default=None, ge=0, le=MAX_REQUEST_NUMBER,
                                       description="CC-Request-Number: a retry is counted once")


class SessionTerminateIn(StrictBody):
    used: int = Field(ge=0, le=10**12)


class SpendingLimitIn(StrictBody):
    # The amounts the catalogue's pay-per-use plans offer are added to the document
    # (api/openapi.py); another is a 422.
    amount_eur: int


@router.get("/lines/{line_id}/barring", summary="Which functions are barred on a line",
            response_model=None, responses={**ok(BarringAnswer), **problems(401, 404)})
def get_barring(line_id: LineIdPath, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    view: dict[str, Any] = barring_view(line.barred)
    last = svc.store.lines.audit_log(line.id, 50)
    changed = next((entry for entry in last if entry.action == "barring"), None)
    view["changed_by"] = None if changed is None else changed.actor
    view["changed_at"] = None if changed is None else changed.at.isoformat()
    return view


@router.put("/lines/{line_id}/barring", summary="Bar or lift functions (admin)",
            response_model=None,
            responses={**ok(BarringAnswer), **problems(401, 403, 404, 409)})
def put_barring(line_id: LineIdPath, svc: ServicesDep, who: CallerDep,
                body: Annotated[BarringIn, Body(examples=[{"data": True,
                                                           "premium": True}])],
                ) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    require_admin_of(who, line)
    with located_in_request():
        svc.control.set_barring(line, body, who.login or "operator")
    return get_barring(line_id, svc, who)


@router.get("/lines/{line_id}/barring/audit", summary="Who changed barring and limit, when",
            response_model=None,
            responses={**ok(list[AuditAnswer]), **problems(401, 403, 404)})
def barring_audit(line_id: LineIdPath, svc: ServicesDep, who: CallerDep,
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


@router.get("/lines/{line_id}/spending-limit", summary="A pay-per-use line's spending limit",
            response_model=None, responses={**ok(LimitAnswer), **problems(401, 404, 409)})
def get_limit(line_id: LineIdPath, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    if svc.catalog.plans[line.plan_id].kind is not PlanKind.PAYG:
        raise Conflict("a spending limit is for pay-per-use lines only")
    return _limit_answer(svc, line.id)


@router.put("/lines/{line_id}/spending-limit", summary="Set a spending limit (admin)",
            response_model=None,
            responses={**ok(LimitAnswer), **problems(401, 403, 404, 409)})
def put_limit(line_id: LineIdPath, body: SpendingLimitIn, svc: ServicesDep,
              who: CallerDep) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    require_admin_of(who, line)
    with located_in_request(path=("line",)):
        svc.control.set_spending_limit(line, body.amount_eur, who.login or "operator")
    return _limit_answer(svc, line.id)


@router.delete("/lines/{line_id}/spending-limit", status_code=204,
               summary="Remove the spending limit (admin)",
               responses=problems(401, 403, 404, 409))
def delete_limit(line_id: LineIdPath, svc: ServicesDep, who: CallerDep) -> Response:
    line = require_line(who, svc.engine.line(line_id), line_id)
    require_admin_of(who, line)
    svc.control.remove_spending_limit(line, who.login or "operator")
    return Response(status_code=204)


class RoamingCapIn(StrictBody):
    enabled: bool


def _roaming_cap_answer(svc: ServicesDep, line_id: str) -> dict[str, Any]:
    line = svc.engine.line(line_id)
    assert line is not None
    usage = svc.engine.cycle_usage(line, svc.engine.clock())
    view = roaming_cap_view(line, svc.catalog, usage.cycle.start_date,
                            usage.meter(ROAMING_DATA))
    if view is None:
        raise Conflict("the roaming data cap is for mobile lines (an internet line never roams)")
    return view


@router.get("/lines/{line_id}/roaming-cap", summary="The line's roaming data cap (EU rule)",
            response_model=None, responses={**ok(RoamingCapAnswer), **problems(401, 404, 409)})
def get_roaming_cap(line_id: LineIdPath, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    return _roaming_cap_answer(svc, line.id)


@router.put("/lines/{line_id}/roaming-cap",
            summary="Switch the roaming data cap off or on again (the line's user or an admin)",
            response_model=None,
            responses={**ok(RoamingCapAnswer), **problems(401, 404, 409)})
def put_roaming_cap(line_id: LineIdPath, body: RoamingCapIn, svc: ServicesDep,
                    who: CallerDep) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    set_roaming_cap(svc.engine, line, body.enabled, who.login or "operator")
    return _roaming_cap_answer(svc, line.id)


@router.post("/lines/{line_id}/roaming-cap/continue",
             summary="Go on roaming with data past the cap for the rest of the cycle",
             response_model=None,
             responses={**ok(RoamingCapAnswer), **problems(401, 404, 409)})
def post_roaming_continue(line_id: LineIdPath, svc: ServicesDep,
                          who: CallerDep) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    continue_roaming(svc.engine, line, who.login or "operator")
    return _roaming_cap_answer(svc, line.id)


@router.post("/authorize", summary="May this line use this service now?",
             response_model=None, responses={**ok(DecisionAnswer), **problems(401, 403)})
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


@router.post("/sessions", summary="Start a credit-control session (CCR-Initial)",
             response_model=None, responses={**ok(GrantAnswer), **problems(401, 403, 409)})
def start_session(body: SessionStartIn, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    units = Units(SINGLE_GROUP, Service(body.service), Direction(body.direction),
                  requested=body.requested)
    with located_in_request():
        answer = svc.charging.start(SessionStart(
            body.session_id, body.line, (units,),
            country=body.country.upper() if body.country else None))
    return grant_view(answer.first)


@router.post("/sessions/{session_id}/update", summary="Report use, ask for more (CCR-Update)",
             response_model=None,
             responses={**ok(GrantAnswer), **problems(401, 403, 404, 409)})
def update_session(session_id: SessionIdPath, body: SessionUpdateIn, svc: ServicesDep,
                   who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    update = session_update(session_id, body.used, body.requested, body.request_number)
    with located_in_request():
        answer = svc.reports.submit(update).result()
    return grant_view(answer.first)


@router.post("/sessions/{session_id}/terminate", summary="Report the last use (CCR-Terminate)",
             response_model=None,
             responses={**ok(CostAnswer), **problems(401, 403, 404, 409)})
def terminate_session(session_id: SessionIdPath, body: SessionTerminateIn, svc: ServicesDep,
                      who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    with located_in_request():
        answer = svc.charging.end(SessionEnd(session_id, (Units(SINGLE_GROUP, used=body.used),)))
    return cost_view(answer.charged_micros)
