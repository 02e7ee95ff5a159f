"""Notification routes: a line's alert rules and channels, and message history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from conso.access import require_line, require_operator
from conso.api.answers import API, AlertsAnswer, MessageAnswer, ok, problems
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep, query_time
from conso.api.locations import located_in_request
from conso.api.schemas import AlertsIn, CycleQuery, LineIdPath, TextQuery, TimeQuery
from conso.api.views import alerts_view, message_view
from conso.bootstrap import Services
from conso.domain.outbox import OutboxMessage
from conso.engine import history

router = APIRouter(prefix="/api/v1", tags=["notifications"], dependencies=TEXT_PARAMETERS,
                   responses=API)

_ALERTS_EXAMPLE = {
    "rules": [{"kind": "included_pct", "value": 75}, {"kind": "extra_eur", "value": 10}],
    "channels": {"sms": True, "second_number": "+32470000099", "email": "me@example.com"},
}


@router.get("/lines/{line_id}/alerts", summary="A line's notification rules and channels",
            response_model=None, responses={**ok(AlertsAnswer), **problems(401, 404)})
def get_alerts(line_id: LineIdPath, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    return alerts_view(svc.engine.alert_settings(line))


@router.put("/lines/{line_id}/alerts", summary="Choose a line's notifications (at most five)",
            response_model=None, responses={**ok(AlertsAnswer), **problems(401, 404)})
def put_alerts(
    line_id: LineIdPath, svc: ServicesDep, who: CallerDep,
    body: Annotated[AlertsIn, Body(examples=[_ALERTS_EXAMPLE])],
) -> dict[str, Any]:
    # A user sets their own line's notifications, an admin any line of the account.
    line = require_line(who, svc.engine.line(line_id), line_id)
    with located_in_request():
        settings = svc.engine.put_alerts(line, body.choice(), who.login)
    return alerts_view(settings)


@router.get("/lines/{line_id}/messages", summary="Notifications sent for a line, newest first",
            response_model=None, responses={**ok(list[MessageAnswer]), **problems(401, 404)})
def line_messages(
    line_id: LineIdPath, svc: ServicesDep, who: CallerDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, cycle: CycleQuery = None,
) -> list[dict[str, Any]]:
    """`cycle`: only the messages created in the cycle that starts that day."""
    line = require_line(who, svc.engine.line(line_id), line_id)
    period = None if cycle is None else history.cycle_named(line, cycle, svc.engine.clock())
    return _with_history(svc, svc.store.outbox.messages(
        line_id=line.id, limit=limit, newest_first=True,
        since=None if period is None else period.start,
        until=None if period is None else period.end))


@router.get("/messages", summary="The outbox, oldest first (operator)", response_model=None,
            responses={**ok(list[MessageAnswer]), **problems(401, 403)})
def messages(
    svc: ServicesDep, who: CallerDep, *,
    to: TextQuery = None, line: TextQuery = None, since: TimeQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    require_operator(who)
    after = query_time("since", since)
    return _with_history(svc, svc.store.outbox.messages(to=to, line_id=line, since=after,
                                                         limit=limit))


def _with_history(svc: Services, found: list[OutboxMessage]) -> list[dict[str, Any]]:
    """Each message with every change of its status, each with its time."""
    history = svc.store.outbox.history([m.id for m in found])
    return [message_view(m, history[m.id]) for m in found]
