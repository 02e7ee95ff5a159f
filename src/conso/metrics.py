"""Operator metrics in the Prometheus text format."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

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
        self.request_seconds = Histogram(
            "conso_http_request_duration_seconds", "HTTP request latency, by route",
            ["route"], registry=self.registry,
        )

    def observe_batch(self, result: BatchResult) -> None:
        self.batches.inc()
        self.records.labels("accepted").inc(result.accepted)
        self.records.labels("duplicate").inc(result.duplicates)
        self.records.labels("rejected").inc(len(result.rejected))

    def render(self) -> bytes:
        return generate_latest(self.registry)
