"""JetStream transport for usage batches: partitioned by line, consumed in order per partition.

In stream mode the API process publishes every accepted batch of usage records to a
work-queue stream, one subject per partition of the line space (``partition_of``), and
answers its HTTP client only once JetStream acknowledged every message. Worker processes
each take over some partitions (ownership is decided elsewhere) and consume each one
strictly in stream order, acking a message only after their database transaction, which
also records the partition's last applied stream sequence, committed.

nats-py is asyncio-only while conso is synchronous and threaded, so every ``JetStream``
runs its nats-py client on an event loop of its own, in a daemon thread; its methods block
the calling thread until the loop answers, and raise ``StreamError`` when NATS refuses,
fails or does not answer within the configured timeout.

Guarantees and their limits:

* ``publish`` sends the items of one call in order on one connection, so messages of a
  partition are stored in the order they were given; a retried publish with the same
  message ids within the duplicate window (2 minutes) is stored once.
* ``PartitionConsumer.fetch`` returns each batch in stream order. A message fetched but
  not acked is delivered again when the partition is taken over (``JetStream.consumer``
  recreates the durable) or, on the same consumer, after ``ACK_WAIT``; the consumer of a
  partition must therefore skip what its database says was already applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import threading
import zlib
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    Header,
    PubAck,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
)

__all__ = [
    "ACK_WAIT",
    "DEFAULT_STREAM",
    "DUPLICATE_WINDOW",
    "SUBJECT_PREFIX",
    "Delivery",
    "JetStream",
    "PartitionConsumer",
    "StreamError",
    "consumer_name",
    "delete_stream",
    "partition_of",
    "redact",
    "stream_info",
    "subject_of",
]

DEFAULT_STREAM = "CONSO_USAGE"
SUBJECT_PREFIX = "conso.usage"
ACK_WAIT = 60.0  # seconds before JetStream redelivers an unacked message to the same consumer
DUPLICATE_WINDOW = 120.0  # seconds during which a Nats-Msg-Id is remembered

_META_KEY = "conso_partitions"
_DESCRIPTION_RE = re.compile(r"\b(\d+) partitions\b")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_GRACE = 2.0  # extra seconds the calling thread waits beyond the loop-side timeouts
_MIN_FETCH = 0.01  # seconds: below this a pull request is not worth sending
_TOP_UP = 0.005  # seconds a fetch waits for more once one message came

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class StreamError(RuntimeError):
    """NATS/JetStream refused, failed or did not answer in time (the message says where)."""


def partition_of(line_id: str, partitions: int) -> int:
    """The partition of a line: stable across processes and Python versions (CRC-32)."""
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, not {partitions}")
    return zlib.crc32(line_id.encode()) % partitions


def subject_of(partition: int, prefix: str = SUBJECT_PREFIX) -> str:
    """The subject that carries one partition's messages."""
    return f"{prefix}.{partition}"


def consumer_name(partition: int) -> str:
    """The durable pull consumer that reads one partition."""
    return f"conso-p{partition}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a worker; ack it through the consumer that fetched it."""

    partition: int
    seq: int  # stream sequence: global across subjects, increasing within a partition
    data: bytes


def redact(url: str) -> str:
    """The NATS URL(s) fit for messages and logs: credentials (user, password, token) removed."""
    shown = []
    for part in url.split(","):
        split = urlsplit(part.strip())
        if split.username is None and split.password is None:
            shown.append(part.strip())
            continue
        host = split.hostname or ""
        if split.port is not None:
            host = f"{host}:{split.port}"
        shown.append(urlunsplit(split._replace(netloc=f"***@{host}")))
    return ",".join(shown)


def _describe(exc: BaseException) -> str:
    """An exception as text that names its kind (nats-py's str() is often just "nats: timeout")."""
    text = str(exc).strip()
    name = type(exc).__name__
    if not text:
        return name
    return text if name in text else f"{name}: {text}"


def _acked(future: asyncio.Future[PubAck]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def _stored_partitions(config: StreamConfig) -> int | None:
    """The partition count recorded on the stream: metadata (server >= 2.10), else description.

    Servers before 2.10 silently drop stream metadata, hence the description as well.
    """
    if config.metadata and config.metadata.get(_META_KEY, "").isdigit():
        return int(config.metadata[_META_KEY])
    match = _DESCRIPTION_RE.search(config.description or "")
    return int(match.group(1)) if match else None


def _info_dict(info: StreamInfo) -> dict[str, int]:
    return {
        "messages": info.state.messages,
        "partitions": _stored_partitions(info.config) or 0,
        "last_seq": info.state.last_seq,
    }


async def _open(url: str, timeout: float, where: str) -> Client:
    """Connect; a server that is down fails the first connect at once (not after minutes)."""
    connecting = True
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        if connecting:
            errors.append(exc)
        else:
            log.warning("NATS at %s: %s", where, _describe(exc))

    async def on_disconnected() -> None:
        if not connecting and not nc.is_closed:  # nats-py calls this on close() too
            log.warning("NATS at %s: disconnected, reconnecting", where)

    async def on_reconnected() -> None:
        log.info("NATS at %s: reconnected", where)

    nc = Client()
    try:
        # nats-py retries a refused first connect max_reconnect_attempts times, sleeping
        # reconnect_time_wait in between (60 x 2 s by default), even with allow_reconnect
        # off: so connect with one quick retry, then switch to reconnecting forever.
        await asyncio.wait_for(
            nc.connect(
                servers=[part.strip() for part in url.split(",")],
                name="conso",
                error_cb=on_error,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
                connect_timeout=max(1, math.ceil(timeout)),
                max_reconnect_attempts=1,
                reconnect_time_wait=0,
            ),
            timeout,
        )
    except (nats.errors.Error, OSError) as exc:  # asyncio.TimeoutError is an OSError
        await _quiet_close(nc)
        cause = _describe(errors[-1]) if errors else _describe(exc)
        raise StreamError(f"cannot connect to NATS at {where}: {cause}") from exc
    connecting = False
    nc.options["max_reconnect_attempts"] = -1  # options is read at each reconnect
    nc.options["reconnect_time_wait"] = 2
    return nc


async def _quiet_close(nc: Client) -> None:
    try:
        if nc.is_connected:
            await nc.flush(timeout=1)
    except (nats.errors.Error, OSError) as exc:
        log.debug("flush before close failed: %s", exc)
    try:
        await nc.close()
    except (nats.errors.Error, OSError) as exc:
        log.debug("close failed: %s", exc)


class _Connection:
    """A nats-py client on its own event-loop thread, driven from synchronous code."""

    def __init__(self, url: str, timeout: float, thread_name: str) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, not {timeout}")
        self.where = redact(url)
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=thread_name, daemon=True)
        self._thread.start()
        self._closed = False  # close() called
        self._stopped = False  # loop stopping or stopped: nothing runs any more
        self._close_lock = threading.Lock()
        try:
            self.nc = self.run(_open(url, timeout, self.where), "connecting to NATS")
        except BaseException:
            self._stop_loop()
            raise
        self.js: JetStreamContext = self.nc.jetstream(timeout=timeout)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            if tasks:
                self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def run(self, coro: Coroutine[Any, Any, _T], what: str, timeout: float | None = None) -> _T:
        """Run coro on the loop and wait (timeout + a grace); nats errors become StreamError."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("blocking JetStream call from its own event-loop thread")
        if self._stopped:
            coro.close()
            raise StreamError(f"{what} at {self.where}: connection closed")
        limit = (self.timeout if timeout is None else timeout) + _GRACE
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(limit)
        except StreamError:
            raise
        except Exception as exc:
            if not future.done():  # our wait ran out, not the coroutine
                future.cancel()
                raise StreamError(
                    f"{what} at {self.where}: no answer within {limit:g} s") from None
            if isinstance(exc, (nats.errors.Error, OSError)):
                raise StreamError(f"{what} at {self.where}: {_describe(exc)}") from exc
            raise
        except BaseException:
            future.cancel()
            raise

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        try:
            self.run(_quiet_close(self.nc), "closing the NATS connection")
        except StreamError as exc:
            log.warning("%s", exc)
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._closed = self._stopped = True
        with contextlib.suppress(RuntimeError):  # the loop thread closed it meanwhile
            self._loop.call_soon_threadsafe(self._loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(self.timeout + _GRACE)


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
    ) -> None:
        """Connect and ensure the stream (see ``connect``; ``partitions=None`` reads the count)."""
        if not _PREFIX_RE.match(prefix):
            raise ValueError(f"invalid subject prefix {prefix!r}")
        if partitions is not None and partitions < 1:
            raise ValueError(f"partitions must be >= 1, not {partitions}")
        self.stream = stream
        self.prefix = prefix
        self.timeout = timeout
        self.partitions = 0
        self._consumers: set[PartitionConsumer] = set()
        self._lock = threading.Lock()
        self._publish_lock: asyncio.Lock | None = None  # created on the loop
        self._conn = _Connection(url, timeout, f"nats-loop-{stream}")
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
    ) -> JetStream:
        """Connect and ensure the stream.

        A missing stream is created (subjects ``{prefix}.*``, work-queue retention, file
        storage, 2-minute duplicate window, discard old) with the partition count recorded
        on it, which ``partitions`` must then give. An existing stream keeps its count:
        ``partitions=None`` adopts it, a different count raises StreamError.
        """
        return cls(url, stream=stream, partitions=partitions, timeout=timeout, prefix=prefix)

    # -- stream ---------------------------------------------------------------------------

    def ensure_stream(self, partitions: int | None = None) -> int:
        """Create the stream if missing, check it if not; returns its partition count."""
        return self._conn.run(self._ensure_stream(partitions), f"ensuring stream {self.stream}")

    async def _ensure_stream(self, partitions: int | None) -> int:
        js = self._conn.js
        try:
            info = await js.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            if partitions is None:
                raise StreamError(
                    f"stream {self.stream} does not exist at {self.where} and no partition "
                    "count was given to create it") from None
            config = StreamConfig(
                name=self.stream,
                description=f"conso usage, {partitions} partitions",
                subjects=[f"{self.prefix}.*"],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                discard=DiscardPolicy.OLD,
                duplicate_window=DUPLICATE_WINDOW,
                metadata={_META_KEY: str(partitions)},
            )
            try:
                info = await js.add_stream(config)
                log.info("created stream %s (%d partitions) at %s",
                         self.stream, partitions, self.where)
            except nats.js.errors.BadRequestError as exc:
                # Another process may have created it first, with another configuration.
                try:
                    info = await js.stream_info(self.stream)
                except nats.js.errors.NotFoundError:
                    raise StreamError(f"cannot create stream {self.stream} at {self.where}: "
                                      f"{_describe(exc)}") from exc
        return self._check_stream(info, partitions)

    def _check_stream(self, info: StreamInfo, partitions: int | None) -> int:
        config = info.config
        subjects = [f"{self.prefix}.*"]
        if config.subjects != subjects:
            raise StreamError(f"stream {self.stream} at {self.where} has subjects "
                              f"{config.subjects}, expected {subjects}")
        if config.retention != RetentionPolicy.WORK_QUEUE:
            raise StreamError(f"stream {self.stream} at {self.where} has retention "
                              f"{config.retention}, expected workqueue")
        stored = _stored_partitions(config)
        if stored is None:
            raise StreamError(f"stream {self.stream} at {self.where} records no partition count "
                              f"(metadata {_META_KEY} or description 'N partitions')")
        if partitions is not None and partitions != stored:
            raise StreamError(f"stream {self.stream} at {self.where} has {stored} partitions, "
                              f"but {partitions} were asked for")
        return stored

    def info(self) -> dict[str, int]:
        """{"messages": n, "partitions": p, "last_seq": s} of this stream."""
        return _info_dict(self._conn.run(self._conn.js.stream_info(self.stream),
                                         f"reading stream {self.stream}"))

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
        return self._conn.run(self._publish(prepared),
                              f"publishing {len(prepared)} message(s) to stream {self.stream}",
                              timeout=2 * self.timeout)

    async def _publish(self, items: list[tuple[str, bytes, str]]) -> list[int]:
        js = self._conn.js
        if self._publish_lock is None:
            self._publish_lock = asyncio.Lock()
        futures: list[asyncio.Future[PubAck]] = []
        try:
            # One sender at a time: keeps each call's items contiguous and in order, and
            # nats-py's lazy set-up of the shared ack inbox is not safe when concurrent.
            async with self._publish_lock:
                for subject, payload, msg_id in items:
                    headers = {Header.MSG_ID.value: msg_id} if msg_id else None
                    futures.append(await js.publish_async(
                        subject, payload, wait_stall=self.timeout, stream=self.stream,
                        headers=headers))
            acks = await asyncio.wait_for(
                asyncio.gather(*futures, return_exceptions=True), self.timeout)
        except (nats.errors.Error, OSError) as exc:  # stalled, disconnected or timed out
            acked = sum(_acked(future) for future in futures)
            for future in futures:
                future.cancel()
            raise StreamError(
                f"publishing {len(items)} message(s) to stream {self.stream} at {self.where}: "
                f"{len(items) - acked} not acknowledged within {self.timeout:g} s "
                f"({_describe(exc)})") from exc
        seqs: list[int] = []
        failed: list[BaseException] = []
        for ack in acks:
            if isinstance(ack, BaseException):
                failed.append(ack)
            else:
                seqs.append(ack.seq)
        if failed:
            raise StreamError(
                f"publishing {len(items)} message(s) to stream {self.stream} at {self.where}: "
                f"{len(failed)} not acknowledged ({_describe(failed[0])})")
        return seqs

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
        sub = self._conn.run(self._take_over(partition, batch),
                             f"taking over partition {partition} of stream {self.stream}")
        taken = PartitionConsumer(self, partition, sub, after_seq=after_seq, batch=batch)
        with self._lock:
            if self._conn.closed:
                raise StreamError(f"connection to {self.where} closed")
            self._consumers.add(taken)
        return taken

    async def _take_over(self, partition: int, batch: int) -> JetStreamContext.PullSubscription:
        js = self._conn.js
        name = consumer_name(partition)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_consumer(self.stream, name)
        await js.add_consumer(self.stream, ConsumerConfig(
            name=name,
            durable_name=name,
            description=f"conso partition {partition}",
            filter_subject=subject_of(partition, self.prefix),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ACK_WAIT,
            max_deliver=-1,  # a usage record is never dropped
            max_ack_pending=max(1000, 10 * batch),
        ))
        return await js.pull_subscribe_bind(name, stream=self.stream)

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


class PartitionConsumer:
    """The reader of one partition, made by ``JetStream.consumer``; use from one thread."""

    def __init__(self, owner: JetStream, partition: int,
                 sub: JetStreamContext.PullSubscription, *, after_seq: int, batch: int) -> None:
        self.partition = partition
        self.after_seq = after_seq
        self.batch = batch
        self._owner = owner
        self._conn = owner._conn
        self._sub = sub
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
                              f"{self._owner.stream}", timeout=timeout + self._conn.timeout)

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
                       f"{self.partition} of stream {self._owner.stream}")

    async def _ack(self, seqs: list[int]) -> None:
        msgs = [msg for seq in seqs if (msg := self._unacked.pop(seq, None)) is not None]
        await self._ack_msgs(msgs)

    async def _ack_msgs(self, msgs: list[Msg]) -> None:
        results = await asyncio.gather(
            *(msg.ack_sync(timeout=self._conn.timeout) for msg in msgs), return_exceptions=True)
        failed = [result for result in results if isinstance(result, BaseException)]
        if failed:
            raise StreamError(
                f"acking partition {self.partition} of stream {self._owner.stream} at "
                f"{self._conn.where}: {len(failed)} of {len(msgs)} ack(s) not confirmed "
                f"({_describe(failed[0])})")

    def close(self) -> None:
        """Unsubscribe (idempotent). The durable stays, for the partition's next owner."""
        if self._closed:
            return
        self._closed = True
        self._owner._forget(self)
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


def stream_info(url: str, stream: str = DEFAULT_STREAM, *,
                timeout: float = 10.0) -> dict[str, int]:
    """{"messages": n, "partitions": p, "last_seq": s} of a stream, for monitoring and tests."""
    conn = _Connection(url, timeout, f"nats-info-{stream}")
    try:
        try:
            info = conn.run(conn.js.stream_info(stream), f"reading stream {stream}")
        except StreamError as exc:
            if isinstance(exc.__cause__, nats.js.errors.NotFoundError):
                raise StreamError(f"stream {stream} not found at {conn.where}") from None
            raise
        return _info_dict(info)
    finally:
        conn.close()


def delete_stream(url: str, stream: str, *, timeout: float = 10.0) -> bool:
    """Delete a stream and its consumers; False when there was none (tests, bench)."""
    conn = _Connection(url, timeout, f"nats-admin-{stream}")
    try:
        try:
            return conn.run(conn.js.delete_stream(stream), f"deleting stream {stream}")
        except StreamError as exc:
            if isinstance(exc.__cause__, nats.js.errors.NotFoundError):
                return False
            raise
    finally:
        conn.close()
