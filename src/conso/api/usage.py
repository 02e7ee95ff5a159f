"""Usage routes: the operator feeds records; callers read a line's usage."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from conso.access import require_line, require_operator
from conso.api.answers import API, BatchAnswer, RejectedAnswer, UsageAnswer, ok, problems
from conso.api.deps import TEXT_PARAMETERS, CallerDep, ServicesDep, query_time
from conso.api.schemas import LineIdPath, TimeQuery
from conso.api.views import usage_view
from conso.charging.views import limit_view
from conso.engine import MAX_BATCH, BatchResult
from conso.errors import InvalidInput, TooLarge

router = APIRouter(prefix="/api/v1", tags=["usage"], dependencies=TEXT_PARAMETERS,
                   responses=API)

# 10,000 records of up to ~3 KB; api/limits.py refuses a larger body before it is read.
MAX_BODY_BYTES = 32 * 1024 * 1024

def _decode(body: bytes, content_type: str) -> list[Any]:
    """A JSON array (application/json), or NDJSON (one record a line; a bad line
    is one rejected record). Without a content type, the body's first byte decides."""
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    stripped = body.lstrip()
    if not stripped:
        return []
    ndjson = "ndjson" in media or "jsonl" in media or (
        media not in ("application/json", "text/json") and stripped[:1] != b"[")
    if not ndjson:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(("body",), f"not valid JSON: {exc}") from None
        if not isinstance(data, list):
            raise InvalidInput(("body",), "expected a JSON array of records "
                               "(or send NDJSON as application/x-ndjson)")
        return data
    records: list[Any] = []
    for raw in body.splitlines():
        if not raw.strip():
            continue
        try:
            records.append(orjson.loads(raw))
        except orjson.JSONDecodeError:
            # Kept in place so indexes match the lines; rejected as not an object.
            records.append(None)
    return records


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
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge(MAX_BODY_BYTES)
    records = _decode(body, request.headers.get("content-type", ""))
    if len(records) > MAX_BATCH:
        raise InvalidInput(("body",), f"{len(records)} records; at most {MAX_BATCH} a call")
    # In stream mode the records go to JetStream; the workers apply them.
    submit = svc.intake.submit if svc.intake is not None else svc.engine.apply_usage
    result = await run_in_threadpool(submit, records)
    return _answer(result)


@router.get("/lines/{line_id}/usage", summary="What is left this cycle, and the extra spend",
            response_model=None, responses={**ok(UsageAnswer), **problems(401, 404)})
def get_usage(
    line_id: LineIdPath, svc: ServicesDep, who: CallerDep,
    at: TimeQuery = None,
) -> dict[str, Any]:
    """`at`: show the cycle that contains this instant (default: now)."""
    line = require_line(who, svc.engine.line(line_id), line_id)
    summary = svc.engine.usage_summary(line, query_time("at", at))
    return usage_view(summary, limit_view(line, summary.extra_micros))


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
