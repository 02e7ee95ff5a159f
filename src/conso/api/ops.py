"""Operations routes: health and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from conso.api.deps import ServicesDep
from conso.api.problems import problem
from conso.store.base import StoreError

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="200 when the store is reachable")
def healthz(svc: ServicesDep) -> Response:
    try:
        svc.store.ping()
    except StoreError as exc:
        return problem(503, f"store unreachable: {exc}")
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics")
def metrics(svc: ServicesDep) -> Response:
    by_channel = svc.store.outbox.channel_counts()
    outbox: dict[str, int] = {}
    for (_, status), count in by_channel.items():
        outbox[status] = outbox.get(status, 0) + count
    svc.metrics.refresh(outbox, svc.engine.open_session_count(),
                        svc.engine.cached_line_count(), by_channel)
    return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4")
