"""The JetStream transport (conso.stream.jetstream) against a real NATS server.

The NATS tests skip with the reason when no server answers at CONSO_TEST_NATS_URL
(default nats://127.0.0.1:4222), except under CONSO_REQUIRE_SERVICES=1 (CI), where a
missing server fails them. The partition function tests (conso.stream.partitions) need
no server. Each NATS test gets its own stream name and subject prefix, and deletes its
stream afterwards.
"""

from __future__ import annotations

import socket
import threading
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from conso.stream.jetstream import (
    ACK_WAIT,
    JetStream,
    StreamError,
    delete_stream,
    stream_info,
)
from conso.stream.partitions import partition_of, subject_of

from .nats_support import NATS_URL, require_nats

PARTITIONS = 4
# Longer than any fetch below: a message fetched within it was not waiting out ACK_WAIT.
TAKEOVER_FETCH = 5.0



@dataclass(frozen=True)
class Names:
    stream: str
    prefix: str

    def connect(self, partitions: int | None = PARTITIONS, timeout: float = 10.0) -> JetStream:
        return JetStream.connect(NATS_URL, stream=self.stream, prefix=self.prefix,
                                 partitions=partitions, timeout=timeout)


@pytest.fixture
def names() -> Iterator[Names]:
    require_nats()
    tag = uuid.uuid4().hex[:12]
    fresh = Names(stream=f"CONSO_TEST_{tag}", prefix=f"conso.test{tag}")
    try:
        yield fresh
    finally:
        delete_stream(NATS_URL, fresh.stream)


@pytest.fixture
def js(names: Names) -> Iterator[JetStream]:
    stream = names.connect()
    try:
        yield stream
    finally:
        stream.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- partitioning (no server) ----------------------------------------------------------


def test_partition_of_is_crc32_and_stable() -> None:
    # Literal values: a Python upgrade or another process must place lines identically.
    assert partition_of("33612345678", 16) == 4
    assert partition_of("line-1", 16) == 0
    assert partition_of("L0001", 16) == 13
    assert partition_of("33612345678", 7) == 6
    assert partition_of("", 16) == 0
    for line in ("a", "33700000001", "ligne-é"):
        assert partition_of(line, 16) == zlib.crc32(line.encode()) % 16
    assert partition_of("anything", 1) == 0
    with pytest.raises(ValueError, match="partitions"):
        partition_of("x", 0)


def test_partition_of_spreads_lines_over_partitions() -> None:
    counts = Counter(partition_of(f"336{i:08d}", 16) for i in range(10_000))
    assert sorted(counts) == list(range(16))
    # 625 expected per partition; a degenerate hash would leave some near-empty.
    assert min(counts.values()) > 500
    assert max(counts.values()) < 750


def test_subject_of() -> None:
    assert subject_of(3) == "conso.usage.3"
    assert subject_of(0, "x.y") == "x.y.0"


# -- stream set-up ---------------------------------------------------------------------


def test_connect_creates_stream_and_later_connections_adopt_its_count(
        names: Names, js: JetStream) -> None:
    assert js.partitions == PARTITIONS
    assert stream_info(NATS_URL, names.stream) == {
        "messages": 0, "partitions": PARTITIONS, "last_seq": 0}
    with names.connect(partitions=None) as again:
        assert again.partitions == PARTITIONS
    with names.connect(partitions=PARTITIONS) as same:
        assert same.partitions == PARTITIONS


def test_partition_count_mismatch_raises(names: Names, js: JetStream) -> None:
    with pytest.raises(StreamError, match=rf"has {PARTITIONS} partitions, but 8 were asked"):
        names.connect(partitions=8)


def test_missing_stream_without_count_raises(names: Names) -> None:
    with pytest.raises(StreamError, match="does not exist"):
        names.connect(partitions=None)


def test_closed_port_raises_stream_error_naming_url_without_password() -> None:
    port = _free_port()
    with pytest.raises(StreamError) as caught:
        JetStream.connect(f"nats://conso:s3cret@127.0.0.1:{port}", partitions=2, timeout=2.0)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "s3cret" not in message
    assert "cannot connect" in message


def test_close_is_idempotent_and_stops_the_loop_thread(names: Names) -> None:
    stream = names.connect()
    loop_threads = [t for t in threading.enumerate() if t.name == f"nats-loop-{names.stream}"]
    assert len(loop_threads) == 1
    stream.close()
    stream.close()
    assert not loop_threads[0].is_alive()
    with pytest.raises(StreamError, match="closed"):
        stream.publish([(0, b"late", "late-1")])


# -- publishing and consuming ----------------------------------------------------------


def test_publish_then_consume_in_order_per_partition(names: Names, js: JetStream) -> None:
    items = [(i % PARTITIONS, f"msg-{i}".encode(), f"id-{i}") for i in range(40)]
    seqs = js.publish(items)
    assert len(seqs) == len(items)
    assert seqs == sorted(seqs)  # stored in the order given
    assert len(set(seqs)) == len(seqs)
    assert stream_info(NATS_URL, names.stream)["messages"] == 40
    assert js.info()["last_seq"] == max(seqs)

    for partition in range(PARTITIONS):
        expected = [(seq, payload) for (p, payload, _), seq in zip(items, seqs, strict=True)
                    if p == partition]
        consumer = js.consumer(partition, after_seq=0, batch=4)
        got: list[tuple[int, bytes]] = []
        while len(got) < len(expected):
            deliveries = consumer.fetch(timeout=2.0)
            assert deliveries, f"partition {partition}: only {len(got)} of {len(expected)}"
            assert all(d.partition == partition for d in deliveries)
            assert len(deliveries) <= 4
            got.extend((d.seq, d.data) for d in deliveries)
            consumer.ack(deliveries)
        assert got == expected
        assert consumer.fetch(timeout=0.2) == []
        consumer.close()
    assert stream_info(NATS_URL, names.stream)["messages"] == 0  # work queue: acked = gone


def test_fetch_on_empty_partition_returns_nothing(js: JetStream) -> None:
    consumer = js.consumer(1, after_seq=0)
    assert consumer.fetch(timeout=0.2) == []
    consumer.close()
    consumer.close()


def test_same_msg_id_is_stored_once(names: Names, js: JetStream) -> None:
    [first] = js.publish([(2, b"batch", "batch-1")])
    [again] = js.publish([(2, b"batch", "batch-1")])
    [other] = js.publish([(2, b"batch", "batch-2")])
    assert again == first
    assert other > first
    assert stream_info(NATS_URL, names.stream)["messages"] == 2
    consumer = js.consumer(2, after_seq=0)
    assert [d.seq for d in consumer.fetch(timeout=2.0)] == [first, other]


def test_consumer_acks_and_skips_what_was_applied(names: Names, js: JetStream) -> None:
    seqs = js.publish([(1, f"m{i}".encode(), f"m{i}") for i in range(5)])
    consumer = js.consumer(1, after_seq=seqs[2])
    deliveries = consumer.fetch(timeout=2.0)
    assert [(d.seq, d.data) for d in deliveries] == [(seqs[3], b"m3"), (seqs[4], b"m4")]
    # The skipped ones were acked by the consumer: only the two delivered remain stored.
    assert stream_info(NATS_URL, names.stream)["messages"] == 2
    consumer.ack(deliveries)
    consumer.ack(deliveries)  # acking twice is harmless
    assert stream_info(NATS_URL, names.stream)["messages"] == 0


def test_ack_rejects_deliveries_of_another_partition(js: JetStream) -> None:
    js.publish([(0, b"zero", "z")])
    zero = js.consumer(0, after_seq=0)
    one = js.consumer(1, after_seq=0)
    deliveries = zero.fetch(timeout=2.0)
    with pytest.raises(ValueError, match="partition"):
        one.ack(deliveries)
    zero.ack(deliveries)


def test_unacked_messages_go_to_the_next_owner_at_once(names: Names, js: JetStream) -> None:
    assert TAKEOVER_FETCH < ACK_WAIT
    seqs = js.publish([(3, f"r{i}".encode(), f"r{i}") for i in range(6)])
    js.publish([(2, b"other partition", "o1")])

    killed = names.connect(partitions=None)
    doomed = killed.consumer(3, after_seq=0, batch=10)
    fetched = doomed.fetch(timeout=2.0)
    assert [d.seq for d in fetched] == seqs
    doomed.close()  # the worker dies without acking
    killed.close()

    with names.connect(partitions=None) as heir:
        taken = heir.consumer(3, after_seq=0, batch=10)
        again = taken.fetch(timeout=TAKEOVER_FETCH)
        assert [(d.seq, d.data) for d in again] == [(d.seq, d.data) for d in fetched]
        taken.ack(again)
        assert taken.fetch(timeout=0.2) == []
        taken.close()
    # Only partition 2's message is left: partition 3's were acked by the heir.
    assert stream_info(NATS_URL, names.stream)["messages"] == 1


def test_publish_rejects_unknown_partition(js: JetStream) -> None:
    with pytest.raises(ValueError, match="partition 4"):
        js.publish([(PARTITIONS, b"x", "x")])
    with pytest.raises(ValueError, match="partition"):
        js.consumer(-1, after_seq=0)
    assert js.publish([]) == []


def test_lag_counts_what_waits_in_a_partition_and_dates_the_oldest(js: JetStream) -> None:
    """The worker's lag metrics (pending count, oldest unapplied age) come from here."""
    before = datetime.now(UTC)
    js.publish([(1, f"m{i}".encode(), f"lag-{i}") for i in range(5)] + [(2, b"x", "lag-x")])
    assert js.lag(1).pending == 0                    # no consumer yet: nothing counted as its
    consumer = js.consumer(1, after_seq=0, batch=10)
    waiting = js.lag(1)
    assert waiting.pending == 5
    assert waiting.oldest is not None
    assert before - timedelta(seconds=5) <= waiting.oldest <= datetime.now(UTC) + timedelta(
        seconds=5)
    assert waiting.age_seconds(waiting.oldest + timedelta(seconds=3)) == 3.0
    got = []
    while len(got) < 5:
        deliveries = consumer.fetch(timeout=2.0)
        assert deliveries
        got += deliveries
    assert js.lag(1).pending == 5                    # fetched, not acked: still waiting
    consumer.ack(got)
    drained = js.lag(1)
    assert (drained.pending, drained.oldest) == (0, None)
    assert drained.age_seconds(datetime.now(UTC)) == 0.0
    assert js.lag(2).oldest is not None              # another partition's message is its own
    consumer.close()
