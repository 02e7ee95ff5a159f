"""`conso worker`: applies the usage that the API put on the stream.

Each partition this worker owns (see ownership.py) has a thread that fetches the
partition's messages in order, applies their records through the engine's one
write path, and advances the partition's offset in the same transaction; only
then does it ack. So, per line, records are applied in the order the API took
them, once: a message redelivered after a crash is at or below the committed
offset and is skipped (acked) without effect, and a record id seen before counts
as a duplicate. Every few seconds the worker counts the live workers and takes
or gives up partitions so that each has its fair share.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from conso.bootstrap import Services
from conso.engine import MAX_BATCH
from conso.store.base import StaleOffset, StoreTransaction
from conso.stream.intake import decode_message
from conso.stream.jetstream import Delivery, JetStream, StreamError
from conso.stream.ownership import PartitionLocks, fair_share

log = logging.getLogger("conso.worker")

FETCH_WAIT = 0.5  # seconds a partition thread waits for messages before looking again


def parse_partitions(text: str | None, count: int) -> frozenset[int]:
    """`all`, or a list of partitions and ranges: `0-3,7`."""
    if text is None or text.strip().lower() in ("", "all"):
        return frozenset(range(count))
    chosen: set[int] = set()
    for item in text.split(","):
        part = item.strip()
        try:
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                chosen.update(range(low, high + 1))
            else:
                chosen.add(int(part))
        except ValueError:
            raise ValueError(f"--partitions: {part!r} is not a number or a range "
                             "such as 0-3") from None
    outside = sorted(p for p in chosen if not 0 <= p < count)
    if outside:
        raise ValueError(f"--partitions: {outside} not in 0-{count - 1} "
                         f"(the stream has {count} partitions)")
    return frozenset(chosen)


def groups(deliveries: Sequence[Delivery], limit: int = MAX_BATCH
           ) -> Iterable[tuple[list[Delivery], list[Any]]]:
    """Consecutive deliveries whose records fit in one engine batch. A message is never
    bigger than that: the API takes at most MAX_BATCH records a call."""
    current: list[Delivery] = []
    records: list[Any] = []
    for delivery in deliveries:
        decoded = decode_message(delivery.data)
        if current and len(records) + len(decoded) > limit:
            yield current, records
            current, records = [], []
        current.append(delivery)
        records.extend(decoded)
    if current:
        yield current, records


class PartitionRunner:
    """The thread applying one owned partition."""

    def __init__(self, worker: StreamWorker, partition: int) -> None:
        self.worker = worker
        self.partition = partition
        self.stopping = threading.Event()
        self.lost = False  # another worker applied past us: give the partition up
        self.thread = threading.Thread(target=self._run, name=f"conso-p{partition}",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(30)

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()

    def _run(self) -> None:
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                self._consume()
                return
            except StaleOffset as exc:
                log.warning("partition %d: %s; giving it up", self.partition, exc)
                self.lost = True
                return
            except Exception:
                log.exception("partition %d failed; starting again from its committed "
                              "offset in %.1f s", self.partition, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _consume(self) -> None:
        services, stream = self.worker.services, self.worker.stream
        offset = services.store.offsets.all().get(self.partition, 0)
        consumer = stream.consumer(self.partition, after_seq=offset,
                                   batch=self.worker.fetch_batch)
        log.info("partition %d: applying from stream sequence %d", self.partition, offset + 1)
        try:
            while not self.stopping.is_set():
                deliveries = consumer.fetch(timeout=FETCH_WAIT)
                for delivered, records in groups(deliveries):
                    offset = self._apply(delivered, records, offset)
                    consumer.ack(delivered)
        finally:
            consumer.close()

    def _apply(self, delivered: list[Delivery], records: list[Any], offset: int) -> int:
        last: int = delivered[-1].seq
        part, expected = self.partition, offset
        engine = self.worker.services.engine

        def advance(tx: StoreTransaction) -> None:
            tx.offsets.advance(part, last, expected, engine.clock())

        result = engine.apply_usage(records, also=advance)
        self.worker.applied(len(records), result.accepted)
        return last


class WorkerCollector:
    """What a worker exposes on /metrics (`conso worker --metrics-port`)."""

    def __init__(self, worker: StreamWorker) -> None:
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        worker = self.worker
        owned = GaugeMetricFamily("conso_worker_partitions_owned",
                                  "Partitions this worker applies now")
        owned.add_metric([], len(worker.runners))
        yield owned
        records = CounterMetricFamily("conso_worker_records",
                                      "Records applied from the stream, by outcome",
                                      labels=["outcome"])
        records.add_metric(["accepted"], worker.records_accepted)
        records.add_metric(["not_accepted"], worker.records_seen - worker.records_accepted)
        yield records
        batches = CounterMetricFamily("conso_worker_batches", "Engine batches committed")
        batches.add_metric([], worker.batches)
        yield batches
        yield from self._lag()

    def _lag(self) -> Iterator[Metric]:
        """Per owned partition, from JetStream: what waits, and how old the oldest is."""
        worker = self.worker
        pending = GaugeMetricFamily(
            "conso_worker_partition_pending",
            "Messages of the partition not applied yet (JetStream num_pending + "
            "num_ack_pending)", labels=["partition"])
        age = GaugeMetricFamily(
            "conso_worker_partition_oldest_unapplied_seconds",
            "Age of the oldest message of the partition not applied yet (0: none waits)",
            labels=["partition"])
        now = datetime.now(UTC)
        for partition in sorted(worker.runners):
            try:
                lag = worker.stream.lag(partition)
            except StreamError as exc:
                log.warning("metrics: %s", exc)
                continue
            pending.add_metric([str(partition)], lag.pending)
            age.add_metric([str(partition)], lag.age_seconds(now))
        yield pending
        yield age


class StreamWorker:
    def __init__(self, services: Services, stream: JetStream, locks: PartitionLocks, *,
                 allowed: frozenset[int] | None = None, rebalance_every: float = 2.0,
                 fetch_batch: int = 50,
                 on_applied: Callable[[int, int], None] | None = None) -> None:
        self.services = services
        self.stream = stream
        self.locks = locks
        self.allowed = allowed if allowed is not None else frozenset(range(stream.partitions))
        self.rebalance_every = rebalance_every
        self.fetch_batch = fetch_batch
        self.runners: dict[int, PartitionRunner] = {}
        self._on_applied = on_applied
        self._stop = threading.Event()
        self._counts_lock = threading.Lock()
        self.records_seen = 0
        self.records_accepted = 0
        self.batches = 0
        self.failure: str | None = None
        # Workers try partitions from different places, so they rarely collide.
        self._start_at = random.randrange(max(1, stream.partitions))

    def applied(self, seen: int, accepted: int) -> None:
        with self._counts_lock:
            self.records_seen += seen
            self.records_accepted += accepted
            self.batches += 1
        if self._on_applied is not None:
            self._on_applied(seen, accepted)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Balance and apply until stopped; gives every partition up on the way out.

        Losing the connection that holds the partition locks ends the run with `failure`
        set: the locks are gone with it, so the partitions may be someone else's already.
        """
        try:
            while not self._stop.is_set():
                try:
                    if self.locks.alive():
                        self.rebalance()
                except Exception:
                    if self.locks.alive():
                        log.exception("rebalancing failed; trying again")
                if not self.locks.alive():
                    self.failure = ("lost the database connection holding the partition "
                                    "locks; the partitions go to the other workers")
                    log.error("%s", self.failure)
                    return
                self._stop.wait(self.rebalance_every)
        finally:
            for partition in list(self.runners):
                runner = self.runners.pop(partition)
                runner.stop()
                if self.failure is None:
                    self.locks.release(partition)

    def rebalance(self) -> None:
        for partition, runner in list(self.runners.items()):
            if runner.done:
                self._give_up(partition)
        share = fair_share(self.stream.partitions, self.locks.live_workers())
        owned = sorted(self.runners)
        if len(owned) > share:
            for partition in owned[share:]:
                self._give_up(partition)
            return
        count = self.stream.partitions
        order = [(self._start_at + i) % count for i in range(count)]
        for partition in order:
            if len(self.runners) >= share:
                break
            if partition in self.allowed and partition not in self.runners \
                    and self.locks.try_take(partition):
                runner = PartitionRunner(self, partition)
                self.runners[partition] = runner
                runner.start()
                log.info("took partition %d (%d owned, fair share %d)", partition,
                         len(self.runners), share)

    def _give_up(self, partition: int) -> None:
        runner = self.runners.pop(partition)
        runner.stop()
        self.locks.release(partition)
        log.info("gave up partition %d (%d owned)", partition, len(self.runners))
