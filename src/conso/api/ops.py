"""Operations routes: health and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from conso.api.answers import TRANSPORT
from conso.api.deps import ServicesDep
from conso.api.problems import problem
from conso.store.base import StoreError

router = APIRouter(tags=["operations"], responses=TRANSPORT)

# The Prometheus text exposition format, version 0.0.4.
METRICS_TYPE = "text/plain; version=0.0.4"


@router.get("/healthz", summary="200 when the store is reachable", response_class=Response,
            responses={200: {"description": "the store answers",
                             "content": {"application/json": {"schema": {
                                 "type": "object", "required": ["status"],
                                 "properties": {"status": {"type": "string",
                                                           "enum": ["ok"]}}}}}}})
def healthz(svc: ServicesDep) -> Response:
    try:
        svc.store.ping()
    except StoreError as exc:
        return problem(503, f"store unreachable: {exc}")
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"description": "counters and gauges, no auth",
                             "content": {METRICS_TYPE: {"schema": {"type": "string"}}}}})
def metrics(svc: ServicesDep) -> Response:
    by_channel = svc.store.outbox.channel_counts()
    outbox: dict[str, int] = {}
    for (_, status), count in by_channel.items():
        outbox[status] = outbox.get(status, 0) + count
    feed = None if svc.feed is None else (svc.feed.heard, svc.feed.done)
    svc.metrics.refresh(outbox, svc.engine.open_session_count(),
                        svc.engine.cached_line_count(), by_channel, feed=feed)
    return Response(svc.metrics.render(), media_type=METRICS_TYPE)
