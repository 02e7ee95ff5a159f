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
        tx.put_account(Account("a", "A", "business"), NOW)
        for line_id in LINES:
            tx.put_line(Line(line_id, "a", None, 1, (PlanPeriod(NOW - timedelta(days=3),
                                                                "king"),)), NOW)
    yield opened
    opened.close()


def _counts(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        recent = conn.execute("SELECT COUNT(*) FROM usage_recent").fetchone()[0]
        merged = conn.execute("SELECT COUNT(*) FROM usage_records").fetchone()[0]
    return recent, merged


def _view(store: SQLiteStore, line: str) -> tuple[object, ...]:
    usage = store.load_cycle(line, CYCLE)
    return (
        None if usage is None else (usage.meters, usage.spend_micros, usage.records),
        store.existing_record_ids(["a1", "a2", "b1", "zz"]),
        store.line_has_usage(line),
        store.hourly_usage(line, CYCLE, "data"),
        [r.id for r in store.line_records(line, CYCLE)],
    )


def test_every_read_sees_records_before_and_after_the_merge(
        store: SQLiteStore, tmp_path: Path) -> None:
    store.merge_recent()  # as the maintenance thread does first: the store now knows
    with store.transaction() as tx:
        tx.insert_records([_record("a1", LINES[0], 1000)], NOW)
    store.merge_recent()
    with store.transaction() as tx:  # one merged and one recent record on the same line
        tx.insert_records([_record("a2", LINES[0], 500, NOW + timedelta(hours=1)),
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
        assert store.load_cycle(LINES[1], CYCLE) is not None
    finally:
        other.close()


def test_a_merged_record_is_still_refused(store: SQLiteStore, tmp_path: Path) -> None:
    with store.transaction() as tx:
        tx.insert_records([_record("a1", LINES[0], 1000)], NOW)
    store.merge_recent()
    with pytest.raises(StoreError, match="a1"), store.transaction() as tx:
        tx.insert_records([_record("n1", LINES[0], 1), _record("a1", LINES[0], 1)], NOW)
    assert _counts(tmp_path / "c.db") == (0, 1)  # the whole batch rolled back
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as tx:
        tx.insert_records([_record("n2", LINES[1], 1), _record("n2", LINES[1], 1)], NOW)


def test_the_maintenance_thread_merges_when_ingestion_pauses(
        store: SQLiteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "MERGE_IDLE_S", 0.2)
    with store.transaction() as tx:
        tx.insert_records([_record(f"r{n}", LINES[n % 2], n) for n in range(1, 301)], NOW)
    deadline = time.monotonic() + 10
    while _counts(tmp_path / "c.db") != (0, 300):
        assert time.monotonic() < deadline, f"not merged: {_counts(tmp_path / 'c.db')}"
        time.sleep(0.05)
    usage = store.load_cycle(LINES[0], CYCLE)
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
            tx.insert_records([_record(f"r{n}", LINES[0], 1)], NOW)
        time.sleep(0.01)
