"""Migration 0019: a database of before it (usage summed from the records at every load,
plus what `conso prune` kept in pruned_cycles) answers the same usage once upgraded, now
read from cycle_usage alone. Written at 0018 on SQLite (records merged, not merged yet,
and a merge cut short) and on PostgreSQL, with a pruned cycle, a late record after the
prune, thresholds fired and the network's overshoot, then migrated. On SQLite the merges
and cycle rows of before are written by hand: this version's need 0019's table."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from conso.domain.cycle import Cycle
from conso.domain.line import Line, PlanPeriod
from conso.domain.rating import CycleUsage, NetworkOvershoot
from conso.store import open_store, prune
from conso.store import sqlite as sqlite_module
from conso.store.base import Account, StoredRecord
from conso.store.migrations import Migration, load_migrations
from conso.store.sql import SqlStore
from conso.store.sql import store as sql_store
from conso.store.sql.usage import overshoot_to_json
from conso.store.sqlite import SQLiteStore

from .pg_support import fresh_database

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
OPEN = date(2026, 11, 1)
OLD = date(2025, 3, 1)          # older than the 2 cycles kept at NOW: pruned
LINES = [f"+3247050{n:04d}" for n in range(300)]
FIRED_ONLY = "+32470599999"     # thresholds fired, never a record
SERVICES = ("voice", "sms", "data")


def _upto_0018(dialect: str = "sqlite") -> list[Migration]:
    return [m for m in load_migrations(dialect) if m.version <= 18]


@pytest.fixture(params=["sqlite", "postgres"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    """A store migrated up to 0018 only (the migrations runner sees no later one)."""
    monkeypatch.setattr(sqlite_module, "MERGE_IDLE_S", 3600.0)   # merges when told only
    monkeypatch.setattr(sql_store, "load_migrations", _upto_0018)
    if request.param == "postgres":
        with fresh_database() as url:
            opened = open_store(url)
            assert isinstance(opened, SqlStore)
            yield from _ready(opened)
        return
    opened = open_store(f"sqlite:///{tmp_path}/c.db")
    assert isinstance(opened, SqlStore)
    yield from _ready(opened)


def _ready(opened: SqlStore) -> Iterator[SqlStore]:
    try:
        assert "0019_cycle_usage_totals" not in opened.migrate()
        with opened.transaction() as tx:
            tx.accounts.put(Account("a", "A", "business"), NOW)
            for line_id in [*LINES, FIRED_ONLY]:
                tx.lines.put(Line(line_id, "a", None, 1,
                                  (PlanPeriod(NOW - timedelta(days=900), "king"),)), NOW)
        yield opened
    finally:
        opened.close()


def _records(prefix: str, start: date, count: int) -> list[StoredRecord]:
    """`count` records over LINES in the cycle of `start`; every 50th has no meter (a
    record from before migration 0004: charged, counted, on no meter)."""
    first = datetime.combine(start, datetime.min.time(), UTC) + timedelta(hours=1)
    return [StoredRecord(f"{prefix}{n}", LINES[n % len(LINES)], start, SERVICES[n % 3], "out",
                         n + 1, 0, "BE", first + timedelta(seconds=n), 7 * n + 1,
                         "" if n % 50 == 0 else SERVICES[n % 3])
            for n in range(count)]


def _summed(records: list[StoredRecord]) -> dict[tuple[str, date], CycleUsage]:
    """What the store answered before 0019: each (line, cycle)'s records summed by meter."""
    found: dict[tuple[str, date], CycleUsage] = {}
    for r in records:
        usage = found.setdefault((r.line_id, r.cycle_start), CycleUsage(Cycle(r.cycle_start)))
        if r.meter:
            usage.meters[r.meter] = usage.meters.get(r.meter, 0) + r.quantity
        usage.spend_micros += r.charge_micros
        usage.records += 1
    return found


def _merge_by_hand(path: Path, below: str | None = None) -> None:
    """What a merge of before 0019 did (this version's merges need 0019's table): all of
    usage_recent into usage_records, or, `below` given, the part a merge cut short
    there had done."""
    columns = ("id, line_id, cycle_start, service, direction, quantity, amount_micros, "
               "country, at, charge_micros, received_at, meter")
    with sqlite3.connect(path) as conn:
        if below is None:
            conn.execute(f"INSERT INTO usage_records ({columns}) SELECT {columns} "
                         "FROM usage_recent")
            conn.execute("DELETE FROM usage_recent")
            return
        conn.execute(f"INSERT INTO usage_records ({columns}) SELECT {columns} "
                     "FROM usage_recent WHERE line_id < ?", (below,))
        conn.execute("UPDATE merge_progress SET upto = (SELECT MAX(rowid) FROM usage_recent), "
                     "below = ? WHERE id = 1", (below,))


def _write(store: SqlStore, records: list[StoredRecord]) -> None:
    with store.transaction() as tx:
        tx.usage.insert_records(records, NOW)


def test_0019_makes_every_cycle_row_what_its_records_summed_to(
        old_store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store = old_store
    sqlite = isinstance(store, SQLiteStore)
    old = _records("old-", OLD, 900)
    _write(store, old)
    if isinstance(store, SQLiteStore):
        _merge_by_hand(store.path)     # prune takes merged records only
    assert prune.prune(store, prune.plan(store, 2, NOW)).records == len(old)
    late = _records("late-", OLD, 3)   # after the prune: counted on top of its totals
    current = _records("cur-", OPEN, 6_000)
    _write(store, late)
    _write(store, current)
    if isinstance(store, SQLiteStore):
        # A merge cut short: it copied the records of the lines before LINES[150] into
        # usage_records, and usage_recent still holds them all (merge_progress says so).
        _merge_by_hand(store.path, below=LINES[150])
    expected = _summed(old + late + current)
    # Rows of before, written when thresholds fired: their totals were never read.
    fired = frozenset({"included_pct:90:data"})
    over = NetworkOvershoot((("data", 40),), 11)
    stale = CycleUsage(Cycle(OPEN), {"data": 1}, 1, 1, fired, over)
    if isinstance(store, SQLiteStore):
        with sqlite3.connect(store.path) as conn:
            conn.executemany(
                "INSERT INTO cycle_usage (line_id, cycle_start, meters, spend_micros, "
                "records, fired, overshoot, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                [(line_id, OPEN.isoformat(), '{"data": 1}', 1, 1, orjson.dumps(
                    sorted(fired)).decode(), overshoot_to_json(over), "2026-11-25")
                 for line_id in (LINES[0], FIRED_ONLY)])
    else:
        with store.transaction() as tx:
            tx.usage.save_cycles([(LINES[0], stale), (FIRED_ONLY, stale)], NOW)
    expected[(LINES[0], OPEN)].fired = fired
    expected[(LINES[0], OPEN)].overshoot = over
    expected[(FIRED_ONLY, OPEN)] = CycleUsage(Cycle(OPEN), {}, 0, 0, fired, over)

    monkeypatch.setattr(sql_store, "load_migrations", load_migrations)   # the upgrade
    assert store.migrate() == ["0019_cycle_usage_totals"]

    keys = [(line_id, start) for line_id in [*LINES, FIRED_ONLY] for start in (OLD, OPEN)]
    assert store.usage.load_cycles(keys) == expected
    assert store.usage.cycle_pruned(LINES[0], OLD) and not store.usage.cycle_pruned(
        LINES[0], OPEN)
    if sqlite:   # the merge resumed and done: still the same (the rows do not move)
        store.merge_recent()
        store.merge_recent()
        assert store.usage.load_cycles(keys) == expected
