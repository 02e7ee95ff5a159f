"""History routes: a line's cycles, and the itemised records of a cycle (JSON pages, or
the whole cycle as CSV, streamed).

Thin: visibility is access.py's, the cycle, the paging and the CSV are
engine/history.py's; here are the HTTP words (Accept, Content-Disposition) and the
answers' shape. `?cycle=` of /usage and /messages is read by the same function
(history.cycle_named).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from conso.access import require_line
from conso.api.answers import API, CycleTotalAnswer, RecordsAnswer, ok, problems
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep
from conso.api.schemas import CursorQuery, CycleQuery, LineIdPath, ServiceQuery
from conso.domain.units import micros_to_cents
from conso.engine import history
from conso.store.base import StoredRecord

router = APIRouter(prefix="/api/v1", tags=["history"], dependencies=TEXT_PARAMETERS,
                   responses=API)

CSV = "text/csv"


def wants_csv(accept: str) -> bool:
    """Whether the Accept header prefers text/csv to JSON (an explicit `text/csv` with a
    quality above application/json's, when that is named; `*/*` means JSON)."""
    csv_q = json_q = 0.0
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.lower() == CSV:
            csv_q = max(csv_q, quality)
        elif media.lower() == "application/json":
            json_q = max(json_q, quality)
    return csv_q > json_q


def record_view(record: StoredRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "service": record.service,
        "direction": record.direction,
        "quantity": record.quantity,
        "at": history.record_at(record),
        "country": record.country,
        "charge_cents": micros_to_cents(record.charge_micros),
        "charge_micros": record.charge_micros,
        "amount_cents": history.amount_cents(record),
    }


def cycle_total_view(total: history.CycleTotal) -> dict[str, Any]:
    return {
        "cycle": total.cycle.start_date.isoformat(),
        "start": total.cycle.start.isoformat(),
        "end": total.cycle.end.isoformat(),
        "records": total.records,
        "extra_cents": micros_to_cents(total.extra_micros),
        "extra_micros": total.extra_micros,
        "current": total.current,
    }


_RECORDS_OK: dict[int | str, dict[str, Any]] = {200: {
    "model": RecordsAnswer,
    "description": "a page of records (JSON); with `Accept: text/csv`, every record of the "
                   "cycle (of the service) as CSV, streamed, with a header row",
    "content": {CSV: {"schema": {"type": "string"}}},
}}


@router.get("/lines/{line_id}/records",
            summary="The itemised records of a cycle, oldest first, paged (or CSV)",
            response_model=None, responses={**_RECORDS_OK, **problems(401, 404)})
def line_records(
    line_id: LineIdPath, request: Request, response: Response, svc: ServicesDep,
    who: CallerDep, *, cycle: CycleQuery = None, service: ServiceQuery = None,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=history.MAX_PAGE)] = history.DEFAULT_PAGE,
) -> Any:
    line = require_line(who, svc.engine.line(line_id), line_id)
    period = history.cycle_named(line, cycle, svc.engine.clock())
    if not wants_csv(request.headers.get("accept", "")):
        response.headers["Vary"] = "Accept"
        page = history.records_page(svc.engine, line, period, service=service,
                                    cursor=cursor, limit=limit)
        return {"records": [record_view(r) for r in page.records],
                "next_cursor": page.next_cursor, "pruned": page.pruned}
    if cursor is not None:
        history.decode_cursor(cursor)     # refused alike, though the CSV is the whole cycle
    chunks = history.csv_lines(history.each_record(svc.engine, line, period, service=service))
    # The first chunk (the first page) is read here: a store that fails is a 503 answer,
    # not a stream cut short. The rest is read as the client takes it.
    first = next(chunks)
    filename = f"{line.id}-{period.start_date.isoformat()}.csv"
    return StreamingResponse(
        itertools.chain((first,), chunks), media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "Vary": "Accept"})


@router.get("/lines/{line_id}/cycles",
            summary="The current cycle and the past ones with usage, newest first",
            response_model=None,
            responses={**ok(list[CycleTotalAnswer]), **problems(401, 404)})
def line_cycles(line_id: LineIdPath, svc: ServicesDep, who: CallerDep) -> list[dict[str, Any]]:
    line = require_line(who, svc.engine.line(line_id), line_id)
    return [cycle_total_view(total) for total in history.cycles(svc.engine, line)]
