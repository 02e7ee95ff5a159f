"""SQLite's two record tables: records land in usage_recent (no per-line index) and are
merged into usage_records in line order; every read sees both, before and after."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from conso.domain.line import Line, PlanPeriod
from conso.store import sqlite as sqlite_module
from conso.store.base import Account, StoredRecord, StoreError
from conso.store.sqlite import SQLiteStore

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CYCLE = date(2026, 11, 1)
LINES = ("+32470000001", "+32470000002")


def _record(record_id: str, line: str, quantity: int, at: datetime = NOW) -> StoredRecord:
    return StoredRecord(record_id, line, CYCLE, "data", "out", quantity, 0, "BE", at, 7, "data")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SQLiteStore]:
    # No merge behind a test's back, however slow the machine (tests that want one say so).
    monkeypatch.setattr(sqlite_module, "MERGE_IDLE_S", 3600.0)
    opened = SQLiteStore(tmp_path / "c.db")
    opened.migrate()
    with opened.transaction() as tx:
        tx.accounts.put(Account("a", "A", "business"), NOW)
        for line_id in LINES:
            tx.lines.put(Line(line_id, "a", None, 1, (PlanPeriod(NOW - timedelta(days=3),
                                                                "king"),)), NOW)
    yield opened
    opened.close()


def _counts(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        recent = conn.execute("SELECT COUNT(*) FROM usage_recent").fetchone()[0]
        merged = conn.execute("SELECT COUNT(*) FROM usage_records").fetchone()[0]
    return recent, merged


def _view(store: SQLiteStore, line: str) -> tuple[object, ...]:
    usage = store.usage.load_cycle(line, CYCLE)
    return (
        None if usage is None else (usage.meters, usage.spend_micros, usage.records),
        store.usage.existing_record_ids(["a1", "a2", "b1", "zz"]),
        store.usage.line_has_usage(line),
        store.usage.hourly(line, CYCLE, "data"),
        [r.id for r in store.usage.line_records(line, CYCLE)],
    )


def test_every_read_sees_records_before_and_after_the_merge(
        store: SQLiteStore, tmp_path: Path) -> None:
    store.merge_recent()  # as the maintenance thread does first: the store now knows
    with store.transaction() as tx:
        tx.usage.insert_records([_record("a1", LINES[0], 1000)], NOW)
    store.merge_recent()
    with store.transaction() as tx:  # one merged and one recent record on the same line
        tx.usage.insert_records([_record("a2", LINES[0], 500, NOW + timedelta(hours=1)),
                           _record("b1", LINES[1], 9)], NOW)
    assert _counts(tmp_path / "c.db") == (2, 1)
    expected = (({"data": 1500}, 14, 2), {"a1", "a2", "b1"}, True,
                [(datetime(2026, 11, 25, 10, tzinfo=UTC), 1000),
                 (datetime(2026, 11, 25, 11, tzinfo=UTC), 500)], ["a1", "a2"])
    assert _view(store, LINES[0]) == expected
    # Another process knows nothing of what is waiting: it reads both tables for every line.
    other = SQLiteStore(tmp_path / "c.db")
    try:
        assert _view(other, LINES[0]) == expected
        assert store.merge_recent() == 2
        assert _counts(tmp_path / "c.db") == (0, 3)
        assert _view(store, LINES[0]) == expected
        assert _view(other, LINES[0]) == expected
        assert store.usage.load_cycle(LINES[1], CYCLE) is not None
    finally:
        other.close()


def test_a_merged_record_is_still_refused(store: SQLiteStore, tmp_path: Path) -> None:
    with store.transaction() as tx:
        tx.usage.insert_records([_record("a1", LINES[0], 1000)], NOW)
    store.merge_recent()
    with pytest.raises(StoreError, match="a1"), store.transaction() as tx:
        tx.usage.insert_records([_record("n1", LINES[0], 1), _record("a1", LINES[0], 1)], NOW)
    assert _counts(tmp_path / "c.db") == (0, 1)  # the whole batch rolled back
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as tx:
        tx.usage.insert_records([_record("n2", LINES[1], 1), _record("n2", LINES[1], 1)], NOW)


def test_the_maintenance_thread_merges_when_ingestion_pauses(
        store: SQLiteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "MERGE_IDLE_S", 0.2)
    with store.transaction() as tx:
        tx.usage.insert_records([_record(f"r{n}", LINES[n % 2], n) for n in range(1, 301)], NOW)
    deadline = time.monotonic() + 10
    while _counts(tmp_path / "c.db") != (0, 300):
        assert time.monotonic() < deadline, f"not merged: {_counts(tmp_path / 'c.db')}"
        time.sleep(0.05)
    usage = store.usage.load_cycle(LINES[0], CYCLE)
    assert usage is not None and usage.meters == {"data": sum(range(2, 301, 2))}


def test_a_full_inbox_is_merged_without_waiting_for_a_pause(
        store: SQLiteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "MERGE_ROWS", 50)
    monkeypatch.setattr(sqlite_module, "MERGE_IDLE_S", 3600.0)
    deadline = time.monotonic() + 10
    n = 0
    while _counts(tmp_path / "c.db")[1] == 0:  # records keep coming; a merge happens anyway
        assert time.monotonic() < deadline, "never merged while records kept coming"
        n += 1
        with store.transaction() as tx:
            tx.usage.insert_records([_record(f"r{n}", LINES[0], 1)], NOW)
        time.sleep(0.01)


def _many(store: SQLiteStore, count: int, prefix: str, lines: int = 2_000) -> None:
    with store.transaction() as tx:
        tx.usage.insert_records([_record(f"{prefix}{n}", f"+3247{n % lines:07d}", n + 1)
                           for n in range(count)], NOW)


def _total(store: SQLiteStore, lines: int = 2_000) -> tuple[int, int]:
    found = store.usage.load_cycles([(f"+3247{n:07d}", CYCLE) for n in range(lines)])
    return (sum(u.meters.get("data", 0) for u in found.values()),
            sum(u.records for u in found.values()))


def test_a_merge_in_steps_never_shows_a_record_twice_or_not_at_all(
        store: SQLiteStore, tmp_path: Path) -> None:
    store.merge_recent()
    _many(store, 6_000, "a")
    expected = (sum(range(1, 6_001)), 6_000)
    other = SQLiteStore(tmp_path / "c.db")  # knows nothing: reads both tables for all lines
    try:
        steps = store.merge_steps()
        moved = 0
        for moved_now in steps:
            moved += moved_now
            assert 0 < moved < 6_000 or moved == 6_000
            assert _total(store) == expected
            assert _total(other) == expected
            assert len(store.usage.existing_record_ids([f"a{n}" for n in range(6_000)])) == 6_000
            # Commits go on between steps; what they write waits for the next merge.
            _many(store, 10, f"during{moved}")
            expected = (expected[0] + sum(range(1, 11)), expected[1] + 10)
        assert moved == 6_000
        assert _total(store) == expected and _total(other) == expected
        recent, merged = _counts(tmp_path / "c.db")
        assert merged == 6_000 and recent == expected[1] - 6_000
        store.merge_recent()
        assert _counts(tmp_path / "c.db") == (0, expected[1])
        assert _total(store) == expected and _total(other) == expected
    finally:
        other.close()


def test_a_merge_cut_short_resumes_where_it_was(store: SQLiteStore, tmp_path: Path) -> None:
    store.merge_recent()
    _many(store, 6_000, "a")
    steps = store.merge_steps()
    first = next(steps)
    assert 0 < first < 6_000
    steps.close()  # the process stops here: one step committed, the rest not
    _many(store, 5, "late")
    expected = (sum(range(1, 6_001)) + sum(range(1, 6)), 6_005)
    assert _total(store) == expected
    store.close()
    reopened = SQLiteStore(tmp_path / "c.db")
    try:
        assert _total(reopened) == expected
        assert reopened.merge_recent() == 6_000 - first  # the rest, not the whole again
        assert _total(reopened) == expected
        reopened.merge_recent()  # then what came after, unknown to it until now
        assert _counts(tmp_path / "c.db") == (0, 6_005)
        assert _total(reopened) == expected
    finally:
        reopened.close()
