"""How far a partition's consumer is behind: JetStream's own counts, for the metrics.

``read_lag`` asks the server for the partition's durable consumer (messages not yet
delivered plus delivered but not acked) and for the oldest message still in the
partition's subject. The stream keeps messages until they are acked (work-queue
retention), so that message is the oldest one not yet applied, and its age is how
late the partition's records are.

This module must not consume, ack or change anything on the server.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

import nats.js.errors
from nats.js import JetStreamContext

from conso.stream.jetstream.connection import Connection
from conso.stream.partitions import consumer_name, subject_of

__all__ = ["PartitionLag", "read_lag"]


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """`pending`: messages of the partition not applied yet (JetStream's num_pending +
    num_ack_pending of its consumer); `oldest`: when the oldest of them was stored
    (None: none waits)."""

    pending: int
    oldest: datetime | None

    def age_seconds(self, now: datetime) -> float:
        return 0.0 if self.oldest is None else max(0.0, (now - self.oldest).total_seconds())


def read_lag(conn: Connection, stream: str, partition: int, prefix: str) -> PartitionLag:
    return conn.run(_read_lag(conn.js, stream, partition, prefix),
                    f"reading the lag of partition {partition} of stream {stream}")


async def _read_lag(js: JetStreamContext, stream: str, partition: int,
                    prefix: str) -> PartitionLag:
    pending = 0
    with contextlib.suppress(nats.js.errors.NotFoundError):  # no consumer yet
        info = await js.consumer_info(stream, consumer_name(partition))
        pending = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
    oldest: datetime | None = None
    with contextlib.suppress(nats.js.errors.NotFoundError):  # nothing in the partition
        message = await js.get_msg(stream, seq=1, subject=subject_of(partition, prefix),
                                   next=True)
        oldest = _parse_time(message.time)
    return PartitionLag(pending, oldest)


def _parse_time(value: object) -> datetime | None:
    """JetStream's RFC 3339 time (nanoseconds, 'Z'), as an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits):]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
