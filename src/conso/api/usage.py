"""Usage routes: the operator feeds records; callers read a line's usage."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from conso.access import require_line, require_operator
from conso.api.answers import API, BatchAnswer, RejectedAnswer, UsageAnswer, ok, problems
from conso.api.batches import read_batch
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep, query_time
from conso.api.schemas import CycleQuery, LineIdPath, TimeQuery
from conso.api.views import line_usage_view
from conso.engine import MAX_BATCH, BatchResult, history
from conso.errors import InvalidInput

router = APIRouter(prefix="/api/v1", tags=["usage"], dependencies=TEXT_PARAMETERS,
                   responses=API)

# 10,000 records of up to ~3 KB; api/limits.py refuses a larger body before it is read.
MAX_BODY_BYTES = 32 * 1024 * 1024

def _answer(result: BatchResult) -> dict[str, Any]:
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": [{"index": r.index, "id": r.id, "error": r.error} for r in result.rejected],
    }


@router.post(
    "/usage",
    summary="Feed usage records (JSON array or NDJSON, up to 10,000 a call)",
    response_model=None,
    responses={**ok(BatchAnswer), **problems(401, 403)},
    # Any item is taken: a record that is not one (not an object, a bad field, an unknown
    # line) is a rejected record of a 200, not a refused batch (api.md). An empty body is
    # an empty batch.
    openapi_extra={"requestBody": {"required": False, "content": {
        "application/json": {"schema": {
            "type": "array", "maxItems": MAX_BATCH, "items": {},
            "description": "usage records {id, line, service, quantity, at, direction?, "
                           "amount_cents?, country?}"},
            "example": [{"id": "cdr-000123", "line": "+32470000001", "service": "data",
                         "quantity": 2500000, "at": "2026-11-24T10:15:00+01:00",
                         "country": "BE"}]},
        "application/x-ndjson": {"schema": {
            "type": "string", "description": "one record a line; a line that is not JSON "
                                             "is a rejected record"}},
    }}},
)
async def post_usage(request: Request, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    require_operator(who)
    records = await read_batch(request, max_bytes=MAX_BODY_BYTES, max_items=MAX_BATCH,
                               what="records")
    # In stream mode the records go to JetStream; the workers apply them.
    submit = svc.intake.submit if svc.intake is not None else svc.engine.apply_usage
    result = await run_in_threadpool(submit, records)
    return _answer(result)


@router.get("/lines/{line_id}/usage", summary="What is left this cycle, and the extra spend",
            response_model=None, responses={**ok(UsageAnswer), **problems(401, 404)})
def get_usage(
    line_id: LineIdPath, svc: ServicesDep, who: CallerDep,
    at: TimeQuery = None, cycle: CycleQuery = None,
) -> dict[str, Any]:
    """`at`: show the cycle that contains this instant (default: now); `cycle`: the
    cycle that starts that day (GET /lines/{line_id}/cycles), one or the other."""
    line = require_line(who, svc.engine.line(line_id), line_id)
    when = query_time("at", at)
    if cycle is not None:
        if when is not None:
            raise InvalidInput(("query", "cycle"), "give `at` or `cycle`, not both")
        now = svc.engine.clock()
        when = history.instant_in(history.cycle_named(line, cycle, now), now)
    summary = svc.engine.usage_summary(line, when)
    return line_usage_view(line, summary, svc.engine.catalog)


@router.get("/usage/rejected", summary="The latest rejected records, as received, with why",
            response_model=None,
            responses={**ok(list[RejectedAnswer]), **problems(401, 403)})
def rejected_records(
    svc: ServicesDep, who: CallerDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    require_operator(who)
    return [{"id": r.record_id, "error": r.error, "record": orjson.loads(r.payload)
             if r.payload.startswith(("{", "[")) else r.payload}
            for r in svc.store.usage.rejected(limit)]
