"""SQLite's inboxes: records land in usage_recent (no per-line index) and are merged into
usage_records in line order, cycle rows land in cycle_usage_recent and are merged into
cycle_usage; every read sees both, before, during and after a merge."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from conso.domain.cycle import Cycle
from conso.domain.line import Line, PlanPeriod
from conso.domain.rating import CycleUsage
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


def _sums(store: SQLiteStore, line: str) -> tuple[int, int, int]:
    """A line's records of CYCLE as the store reads them: quantity, charge, count."""
    records = list(store.usage.line_records(line, CYCLE))
    return (sum(r.quantity for r in records), sum(r.charge_micros for r in records),
            len(records))


def _view(store: SQLiteStore, line: str) -> tuple[object, ...]:
    return (
        _sums(store, line),
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
    expected = ((1500, 14, 2), {"a1", "a2", "b1"}, True,
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
        assert _sums(store, LINES[1]) == (9, 7, 1)
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
    assert _sums(store, LINES[0])[0] == sum(range(2, 301, 2))


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
    """The quantity and number of every line's records, as the store reads them."""
    sums = [_sums(store, f"+3247{n:07d}") for n in range(lines)]
    return sum(s[0] for s in sums), sum(s[2] for s in sums)


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


# -- cycle rows: cycle_usage_recent, merged into cycle_usage -------------------------------

OLDER = date(2026, 10, 1)


def _usage(n: int, start: date = CYCLE, fired: frozenset[str] = frozenset()) -> CycleUsage:
    return CycleUsage(Cycle(start), {"data": n}, 7 * n, n, fired)


def _cycle_rows(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        recent = conn.execute("SELECT COUNT(*) FROM cycle_usage_recent").fetchone()[0]
        merged = conn.execute("SELECT COUNT(*) FROM cycle_usage").fetchone()[0]
    return recent, merged


def _save(store: SQLiteStore, *rows: tuple[str, CycleUsage]) -> None:
    with store.transaction() as tx:
        tx.usage.save_cycles(rows, NOW)


def test_a_cycle_reads_its_last_row_before_during_and_after_the_merge(
        store: SQLiteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "MERGE_STEP_ROWS", 1)    # a key a step
    store.merge_recent()
    fired = frozenset({"included_pct:50:data"})
    _save(store, (LINES[0], _usage(1)), (LINES[1], _usage(10)), (LINES[1], _usage(5, OLDER)))
    _save(store, (LINES[0], _usage(2, fired=fired)))             # the same key, newer
    expected = {(LINES[0], CYCLE): _usage(2, fired=fired), (LINES[1], CYCLE): _usage(10),
                (LINES[1], OLDER): _usage(5, OLDER)}
    keys = [*expected, (LINES[0], OLDER)]
    assert _cycle_rows(tmp_path / "c.db") == (4, 0)
    other = SQLiteStore(tmp_path / "c.db")   # knows nothing: looks at both for every line
    try:
        assert store.usage.load_cycles(keys) == expected == other.usage.load_cycles(keys)
        steps = 0
        for moved in store.merge_steps():
            steps += 1
            assert moved == 0                                    # no record to move
            assert store.usage.load_cycles(keys) == expected == other.usage.load_cycles(keys)
            if steps == 1:   # written during the merge: newer than what the merge took
                _save(store, (LINES[1], _usage(11)))
                expected[(LINES[1], CYCLE)] = _usage(11)
        assert steps == 3                                        # three keys
        assert _cycle_rows(tmp_path / "c.db") == (1, 3)          # the newer row waits
        assert store.usage.load_cycles(keys) == expected == other.usage.load_cycles(keys)
        store.merge_recent()
        assert _cycle_rows(tmp_path / "c.db") == (0, 3)
        assert store.usage.load_cycles(keys) == expected == other.usage.load_cycles(keys)
    finally:
        other.close()


def test_a_merge_cut_short_in_its_cycle_rows_loses_none(
        store: SQLiteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "MERGE_STEP_ROWS", 1)
    store.merge_recent()
    _save(store, (LINES[0], _usage(1)), (LINES[1], _usage(10)))
    _save(store, (LINES[0], _usage(3)), (LINES[0], _usage(4, OLDER)))
    expected = {(LINES[0], CYCLE): _usage(3), (LINES[1], CYCLE): _usage(10),
                (LINES[0], OLDER): _usage(4, OLDER)}
    steps = store.merge_steps()
    assert next(steps) == 0
    steps.close()          # the process stops here: one key upserted, no row deleted
    assert _cycle_rows(tmp_path / "c.db") == (4, 1)
    assert store.usage.load_cycles(list(expected)) == expected
    store.close()
    reopened = SQLiteStore(tmp_path / "c.db")
    try:
        assert reopened.usage.load_cycles(list(expected)) == expected
        assert reopened.merge_recent() == 0
        assert _cycle_rows(tmp_path / "c.db") == (0, 3)
        assert reopened.usage.load_cycles(list(expected)) == expected
    finally:
        reopened.close()
