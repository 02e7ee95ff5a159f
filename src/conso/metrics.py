"""Operator metrics in the Prometheus text format."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from conso.domain.outbox import RECEIPT_STATES, STATUSES
from conso.domain.sessions import Overshoot
from conso.engine import BatchResult


def delivery_rate(channel: str, counts: Mapping[str, int]) -> float | None:
    """Reached / known fate. An SMS asks for a receipt, so "sent" is not known yet;
    a channel without receipts has done its part once the message is sent."""
    reached = counts.get("delivered", 0) + (0 if channel == "sms" else counts.get("sent", 0))
    lost = counts.get("failed", 0) + sum(counts.get(state, 0) for state in RECEIPT_STATES
                                         if state != "delivered")
    known = reached + lost
    return None if known == 0 else reached / known


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
        self.channel_messages = Gauge(
            "conso_channel_messages", "Messages by channel and status (delivered and later "
            "states come from the SMS centre's receipts)", ["channel", "status"],
            registry=self.registry,
        )
        self.delivery_rate = Gauge(
            "conso_delivery_rate", "Of the messages whose fate is known, the share that "
            "reached the recipient (SMS: delivered by receipt; other channels: sent), by "
            "channel", ["channel"], registry=self.registry,
        )
        self.open_sessions = Gauge(
            "conso_open_sessions", "Credit-control sessions open", registry=self.registry,
        )
        # Credit-control reports of more than was granted (charged all the same).
        self.session_overshoots = Counter(
            "conso_session_overshoots", "Credit-control reports of more than was granted, "
            "by service", ["service"], registry=self.registry,
        )
        self.session_overshoot_units = Counter(
            "conso_session_overshoot_units", "Units the network used past its grants "
            "(seconds, bytes, messages), by service", ["service"], registry=self.registry,
        )
        self.session_overshoot_micros = Counter(
            "conso_session_overshoot_micros", "What the units used past the grants cost, "
            "in micro-euros, by service", ["service"], registry=self.registry,
        )
        self.cached_lines = Gauge(
            "conso_cached_lines", "Lines whose state the engine holds in memory",
            registry=self.registry,
        )

        self.changes_heard = Gauge(
            "conso_node_changes_heard", "Announcements of changes by other processes "
            "sharing the database that this node's cache applied (since it started)",
            registry=self.registry,
        )
        self.fences = Gauge(
            "conso_node_fences", "Fences this node's cache waited for (since it started): "
            "each a round trip that every request waiting at the time shares",
            registry=self.registry,
        )

    def observe_batch(self, result: BatchResult) -> None:
        self.batches.inc()
        self.records.labels("accepted").inc(result.accepted)
        self.records.labels("duplicate").inc(result.duplicates)
        self.records.labels("rejected").inc(len(result.rejected))

    def observe_overshoot(self, overshoot: Overshoot) -> None:
        service = overshoot.service.value
        self.session_overshoots.labels(service).inc()
        self.session_overshoot_units.labels(service).inc(overshoot.excess)
        self.session_overshoot_micros.labels(service).inc(overshoot.micros)

    def refresh(self, outbox: Mapping[str, int], open_sessions: int, cached_lines: int,
                by_channel: Mapping[tuple[str, str], int] | None = None, *,
                feed: tuple[int, int] | None = None) -> None:
        """Set the gauges read at scrape time."""
        for status in STATUSES:
            self.outbox.labels(status).set(outbox.get(status, 0))
        for (channel, status), count in (by_channel or {}).items():
            self.channel_messages.labels(channel, status).set(count)
        for channel in {channel for channel, _ in (by_channel or {})}:
            rate = delivery_rate(channel, {status: count for (name, status), count
                                           in (by_channel or {}).items() if name == channel})
            if rate is not None:
                self.delivery_rate.labels(channel).set(rate)
        self.open_sessions.set(open_sessions)
        self.cached_lines.set(cached_lines)
        if feed is not None:   # (announcements heard, fences done)
            self.changes_heard.set(feed[0])
            self.fences.set(feed[1])

    def render(self) -> bytes:
        return generate_latest(self.registry)
