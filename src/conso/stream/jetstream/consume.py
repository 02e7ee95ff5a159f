"""Consuming one partition: take it over, fetch its messages in order, ack after commit.

A worker takes over a partition (``take_over``: its durable pull consumer is recreated)
and reads it with the returned ``PartitionConsumer``, acking a message only after its
database transaction, which also records the partition's last applied stream sequence,
committed.

Guarantees and their limits:

* ``PartitionConsumer.fetch`` returns each batch in stream order. A message fetched but
  not acked is delivered again when the partition is taken over (``take_over`` recreates
  the durable) or, on the same consumer, after ``ACK_WAIT``; the consumer of a partition
  must therefore skip what its database says was already applied (``after_seq``).

This module must not decide which partitions a worker owns (ownership.py does), nor
apply records (worker.py does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from conso.stream.jetstream.connection import Connection, StreamError, describe
from conso.stream.partitions import SUBJECT_PREFIX, consumer_name, subject_of

__all__ = ["ACK_WAIT", "Delivery", "PartitionConsumer", "take_over"]

ACK_WAIT = 60.0  # seconds before JetStream redelivers an unacked message to the same consumer

_MIN_FETCH = 0.01  # seconds: below this a pull request is not worth sending
_TOP_UP = 0.005  # seconds a fetch waits for more once one message came

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a worker; ack it through the consumer that fetched it."""

    partition: int
    seq: int  # stream sequence: global across subjects, increasing within a partition
    data: bytes


def take_over(
    conn: Connection,
    stream: str,
    partition: int,
    *,
    after_seq: int,
    batch: int,
    prefix: str = SUBJECT_PREFIX,
    on_close: Callable[[PartitionConsumer], None] | None = None,
) -> PartitionConsumer:
    """Take over a partition and return its consumer.

    The partition's durable pull consumer is deleted if it exists and created anew
    (filtered to its subject, explicit acks, deliver all, ack wait ACK_WAIT): messages
    a previous owner fetched but did not ack are then delivered again at once, not
    after the ack wait. ``on_close`` is called when the consumer is closed.
    """
    sub = conn.run(_take_over(conn.js, stream, partition, batch, prefix),
                   f"taking over partition {partition} of stream {stream}")
    return PartitionConsumer(conn, stream, partition, sub, after_seq=after_seq, batch=batch,
                             on_close=on_close)


async def _take_over(js: JetStreamContext, stream: str, partition: int, batch: int,
                     prefix: str) -> JetStreamContext.PullSubscription:
    name = consumer_name(partition)
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_consumer(stream, name)
    await js.add_consumer(stream, ConsumerConfig(
        name=name,
        durable_name=name,
        description=f"conso partition {partition}",
        filter_subject=subject_of(partition, prefix),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ACK_WAIT,
        max_deliver=-1,  # a usage record is never dropped
        max_ack_pending=max(1000, 10 * batch),
    ))
    return await js.pull_subscribe_bind(name, stream=stream)


class PartitionConsumer:
    """The reader of one partition, made by ``take_over``; use from one thread.

    Messages with seq <= after_seq were applied already: the consumer acks and skips them.
    """

    def __init__(self, conn: Connection, stream: str, partition: int,
                 sub: JetStreamContext.PullSubscription, *, after_seq: int, batch: int,
                 on_close: Callable[[PartitionConsumer], None] | None = None) -> None:
        self.partition = partition
        self.after_seq = after_seq
        self.batch = batch
        self.stream = stream
        self._conn = conn
        self._sub = sub
        self._on_close = on_close
        self._unacked: dict[int, Msg] = {}  # only touched on the loop thread
        self._closed = False

    def fetch(self, timeout: float = 1.0) -> list[Delivery]:
        """Up to ``batch`` deliveries in stream order; [] when none came within timeout."""
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, not {timeout}")
        if self._closed:
            raise StreamError(f"consumer of partition {self.partition} is closed")
        return self._conn.run(self._fetch(timeout),
                              f"fetching from partition {self.partition} of stream "
                              f"{self.stream}", timeout=timeout + self._conn.timeout)

    async def _fetch(self, timeout: float) -> list[Delivery]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        out: list[Delivery] = []
        while not out:
            remaining = deadline - loop.time()
            if remaining < _MIN_FETCH:
                break
            try:
                # Wait for one message only: a pull for a whole batch stays open on the
                # server until the batch is full or expires, which would hold a lone
                # record (and the notification it causes) for the whole wait.
                msgs = await self._sub.fetch(1, timeout=remaining)
            except (nats.errors.TimeoutError, TimeoutError):
                # FetchTimeoutError, or the pull request's own wait ran out: nothing came.
                break
            if self.batch > 1:
                # Then whatever else is there already, in a few milliseconds.
                with contextlib.suppress(nats.errors.TimeoutError, TimeoutError):
                    msgs += await self._sub.fetch(self.batch - 1, timeout=_TOP_UP)
            applied = []
            for msg in msgs:
                seq = msg.metadata.sequence.stream
                if seq <= self.after_seq:
                    applied.append(msg)
                else:
                    self._unacked[seq] = msg
                    out.append(Delivery(self.partition, seq, msg.data))
            if applied:
                await self._ack_msgs(applied)
        out.sort(key=lambda delivery: delivery.seq)  # redeliveries may come first
        return out

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Ack deliveries after their commit; waits for the server to confirm each ack.

        Acking again what was acked already is a no-op. A StreamError means some acks may
        not have been recorded: those messages will come again (to this partition's owner).
        """
        for delivery in deliveries:
            if delivery.partition != self.partition:
                raise ValueError(f"delivery of partition {delivery.partition} acked on "
                                 f"partition {self.partition}")
        if not deliveries:
            return
        seqs = [delivery.seq for delivery in deliveries]
        self._conn.run(self._ack(seqs), f"acking {len(seqs)} message(s) of partition "
                       f"{self.partition} of stream {self.stream}")

    async def _ack(self, seqs: list[int]) -> None:
        msgs = [msg for seq in seqs if (msg := self._unacked.pop(seq, None)) is not None]
        await self._ack_msgs(msgs)

    async def _ack_msgs(self, msgs: list[Msg]) -> None:
        results = await asyncio.gather(
            *(msg.ack_sync(timeout=self._conn.timeout) for msg in msgs), return_exceptions=True)
        failed = [result for result in results if isinstance(result, BaseException)]
        if failed:
            raise StreamError(
                f"acking partition {self.partition} of stream {self.stream} at "
                f"{self._conn.where}: {len(failed)} of {len(msgs)} ack(s) not confirmed "
                f"({describe(failed[0])})")

    def close(self) -> None:
        """Unsubscribe (idempotent). The durable stays, for the partition's next owner."""
        if self._closed:
            return
        self._closed = True
        if self._on_close is not None:
            self._on_close(self)
        if self._conn.closed:
            return
        try:
            self._conn.run(self._unsubscribe(), f"closing consumer of partition {self.partition}")
        except StreamError as exc:
            log.warning("%s", exc)

    async def _unsubscribe(self) -> None:
        self._unacked.clear()
        try:
            await self._sub.unsubscribe()
        except nats.errors.Error as exc:  # connection closed or reconnecting: nothing to undo
            log.debug("unsubscribe failed: %s", exc)
