"""Operator metrics in the Prometheus text format."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from conso.engine import BatchResult


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.records = Counter(
            "conso_usage_records", "Usage records received, by outcome",
            ["outcome"], registry=self.registry,
        )
        self.batches = Counter(
            "conso_usage_batches", "Usage batches committed", registry=self.registry,
        )
        self.logins = Counter(
            "conso_logins", "Login attempts, by outcome", ["outcome"], registry=self.registry,
        )
        self.outbox = Gauge(
            "conso_outbox_messages", "Messages in the outbox, by status (queued ones wait "
            "for a channel)", ["status"], registry=self.registry,
        )
        self.open_sessions = Gauge(
            "conso_open_sessions", "Credit-control sessions open", registry=self.registry,
        )
        self.cached_lines = Gauge(
            "conso_cached_lines", "Lines whose state the engine holds in memory",
            registry=self.registry,
        )

    def observe_batch(self, result: BatchResult) -> None:
        self.batches.inc()
        self.records.labels("accepted").inc(result.accepted)
        self.records.labels("duplicate").inc(result.duplicates)
        self.records.labels("rejected").inc(len(result.rejected))

    def refresh(self, outbox: Mapping[str, int], open_sessions: int, cached_lines: int) -> None:
        """Set the gauges read at scrape time."""
        for status in ("queued", "sending", "sent", "failed"):
            self.outbox.labels(status).set(outbox.get(status, 0))
        self.open_sessions.set(open_sessions)
        self.cached_lines.set(cached_lines)

    def render(self) -> bytes:
        return generate_latest(self.registry)
