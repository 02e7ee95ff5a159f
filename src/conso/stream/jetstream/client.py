"""``JetStream``: the one object the API and the workers hold to use the usage stream.

It owns a connection (connection.py), ensures the stream on connect (admin.py),
publishes by partition (publish.py) and hands out partition consumers (consume.py),
closing them with itself. It checks partition numbers against the stream's count.

This module must hold no protocol logic of its own beyond that wiring: how the stream
is created, how messages are published, fetched and acked lives in the modules above.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from conso.stream.jetstream.admin import DEFAULT_STREAM, ensure_stream, read_info
from conso.stream.jetstream.connection import Connection, StreamError
from conso.stream.jetstream.consume import PartitionConsumer, take_over
from conso.stream.jetstream.lag import PartitionLag, read_lag
from conso.stream.jetstream.publish import Publisher
from conso.stream.partitions import SUBJECT_PREFIX, check_prefix, subject_of

__all__ = ["JetStream"]


class JetStream:
    """A connection to NATS JetStream with its own event-loop thread.

    Thread-safe: any number of threads may publish and run consumers through one instance.
    """

    def __init__(
        self,
        url: str,
        *,
        stream: str = DEFAULT_STREAM,
        partitions: int | None,
        timeout: float = 10.0,
        prefix: str = SUBJECT_PREFIX,
        publish_timeout: float = 2.0,
    ) -> None:
        """Connect and ensure the stream (see ``connect``; ``partitions=None`` reads the count).
        ``timeout`` bounds connecting and administration; ``publish_timeout`` a publish's
        wait for its acks (an API node's answer waits on it)."""
        check_prefix(prefix)
        if partitions is not None and partitions < 1:
            raise ValueError(f"partitions must be >= 1, not {partitions}")
        self.stream = stream
        self.prefix = prefix
        self.timeout = timeout
        self.partitions = 0
        self._consumers: set[PartitionConsumer] = set()
        self._lock = threading.Lock()
        self._conn = Connection(url, timeout, f"nats-loop-{stream}")
        self._publisher = Publisher(self._conn, stream, timeout=publish_timeout)
        self.where = self._conn.where
        try:
            self.partitions = self.ensure_stream(partitions)
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        stream: str = DEFAULT_STREAM,
        partitions: int | None = None,
        timeout: float = 10.0,
        prefix: str = SUBJECT_PREFIX,
        publish_timeout: float = 2.0,
    ) -> JetStream:
        """Connect and ensure the stream.

        A missing stream is created (subjects ``{prefix}.*``, work-queue retention, file
        storage, 2-minute duplicate window, discard old) with the partition count recorded
        on it, which ``partitions`` must then give. An existing stream keeps its count:
        ``partitions=None`` adopts it, a different count raises StreamError.
        """
        return cls(url, stream=stream, partitions=partitions, timeout=timeout, prefix=prefix,
                   publish_timeout=publish_timeout)

    # -- stream ---------------------------------------------------------------------------

    def ensure_stream(self, partitions: int | None = None) -> int:
        """Create the stream if missing, check it if not; returns its partition count."""
        return ensure_stream(self._conn, self.stream, partitions, self.prefix)

    def info(self) -> dict[str, int]:
        """{"messages": n, "partitions": p, "last_seq": s} of this stream."""
        return read_info(self._conn, self.stream)

    # -- publishing -----------------------------------------------------------------------

    def publish(self, items: Sequence[tuple[int, bytes, str]]) -> list[int]:
        """Publish (partition, payload, msg_id) items and wait for every ack.

        Returns their stream sequences, in the order of ``items``. The items are sent in
        order on one connection and acknowledged concurrently. ``msg_id`` goes in the
        Nats-Msg-Id header: a retry within the duplicate window is stored once (its ack
        carries the original sequence). Raises StreamError if any item is not acknowledged
        within the timeout; the others may be stored, so retry all with the same ids.
        """
        if not items:
            return []
        prepared = []
        for partition, payload, msg_id in items:
            self._check_partition(partition)
            prepared.append((subject_of(partition, self.prefix), payload, msg_id))
        return self._publisher.publish(prepared)

    # -- consuming ------------------------------------------------------------------------

    def consumer(self, partition: int, *, after_seq: int, batch: int = 100) -> PartitionConsumer:
        """Take over a partition and return its consumer.

        The partition's durable pull consumer is deleted if it exists and created anew
        (filtered to its subject, explicit acks, deliver all, ack wait ACK_WAIT): messages
        a previous owner fetched but did not ack are then delivered again at once, not
        after the ack wait. Messages with seq <= after_seq were applied already: the
        consumer acks and skips them.
        """
        self._check_partition(partition)
        if after_seq < 0:
            raise ValueError(f"after_seq must be >= 0, not {after_seq}")
        if batch < 1:
            raise ValueError(f"batch must be >= 1, not {batch}")
        taken = take_over(self._conn, self.stream, partition, after_seq=after_seq,
                          batch=batch, prefix=self.prefix, on_close=self._forget)
        with self._lock:
            if self._conn.closed:
                raise StreamError(f"connection to {self.where} closed")
            self._consumers.add(taken)
        return taken

    def lag(self, partition: int) -> PartitionLag:
        """How far the partition's consumer is behind (JetStream's counts; metrics)."""
        self._check_partition(partition)
        return read_lag(self._conn, self.stream, partition, self.prefix)

    def _forget(self, consumer: PartitionConsumer) -> None:
        with self._lock:
            self._consumers.discard(consumer)

    def _check_partition(self, partition: int) -> None:
        if not 0 <= partition < self.partitions:
            raise ValueError(f"partition {partition} outside 0..{self.partitions - 1}")

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the consumers' subscriptions and the connection, stop the loop (idempotent).

        Durables stay; the connection is flushed and closed rather than drained, because
        nats-py's drain waits for pull subscriptions' buffered messages to be consumed.
        """
        with self._lock:
            consumers = list(self._consumers)
            self._consumers.clear()
        for consumer in consumers:
            consumer.close()
        self._conn.close()

    def __enter__(self) -> JetStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
