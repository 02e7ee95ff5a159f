"""The store's history reads (records_page, cycle_starts, messages until) held to one
contract on memory, SQLite and PostgreSQL, and on SQLite with records split between
usage_records and usage_recent (merged and not yet merged)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from conso.domain.line import Line, PlanPeriod
from conso.domain.outbox import OutboxMessage
from conso.store import Store, open_store
from conso.store import sqlite as sqlite_module
from conso.store.base import Account, StoredRecord
from conso.store.sqlite import SQLiteStore

from .pg_support import fresh_database

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CYCLE = date(2026, 11, 1)
LINE = "+32470000001"
SERVICES = ("voice", "sms", "data")


@dataclass
class Held:
    store: Store
    split: bool = False     # SQLite: half the records merged, half in usage_recent

    def insert(self, records: list[StoredRecord]) -> None:
        store = self.store
        if self.split and isinstance(store, SQLiteStore):
            store.merge_recent()
            half = len(records) // 2
            with store.transaction() as tx:
                tx.usage.insert_records(records[:half], NOW)
            assert store.merge_recent() == half
            records = records[half:]
        with store.transaction() as tx:
            tx.usage.insert_records(records, NOW)


@pytest.fixture(params=["memory", "sqlite", "sqlite-half-merged", "postgres"])
def held(request: pytest.FixtureRequest, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Held]:
    monkeypatch.setattr(sqlite_module, "MERGE_IDLE_S", 3600.0)   # merges when told only
    if request.param == "postgres":
        with fresh_database() as url:
            yield from _ready(open_store(url), split=False)
        return
    opened = open_store("memory:" if request.param == "memory"
                        else f"sqlite:///{tmp_path}/c.db")
    yield from _ready(opened, split=request.param == "sqlite-half-merged")


def _ready(opened: Store, *, split: bool) -> Iterator[Held]:
    opened.migrate()
    with opened.transaction() as tx:
        tx.accounts.put(Account("a", "A", "business"), NOW)
        tx.lines.put(Line(LINE, "a", None, 1, (PlanPeriod(NOW - timedelta(days=90), "king"),)),
                     NOW)
    yield Held(opened, split)
    opened.close()


def _records(count: int, start: date = CYCLE, seed: int = 0) -> list[StoredRecord]:
    rng = random.Random(seed)
    first = datetime.combine(start, datetime.min.time(), UTC)
    tie = first + timedelta(days=2)
    return [StoredRecord(f"r{seed}-{n:04d}", LINE, start, SERVICES[n % 3], "out", n, 0, "BE",
                         tie if n % 7 == 0 else first + timedelta(seconds=rng.randrange(10**6)),
                         n * 10, SERVICES[n % 3])
            for n in range(count)]


def _walk(store: Store, page: int, service: str | None = None) -> list[StoredRecord]:
    found: list[StoredRecord] = []
    after = None
    while True:
        got = store.usage.records_page(LINE, CYCLE, service=service, after=after, limit=page)
        found += got
        if len(got) < page:
            return found
        after = (got[-1].at, got[-1].id)


def test_pages_walk_every_record_once_by_time_then_id(held: Held) -> None:
    records = _records(101)
    held.insert(records)
    found = _walk(held.store, 10)
    assert sorted(r.id for r in found) == sorted(r.id for r in records)
    assert len({r.id for r in found}) == len(found)
    assert [r.at for r in found] == sorted(r.at for r in records)
    by_id = {r.id: r for r in records}
    assert all((r.quantity, r.charge_micros, r.service) == (
        by_id[r.id].quantity, by_id[r.id].charge_micros, by_id[r.id].service) for r in found)


def test_a_service_filter_and_a_cycle_bound_the_pages(held: Held) -> None:
    records = _records(60)
    other_cycle = _records(5, date(2026, 10, 1), seed=1)
    held.insert(records + other_cycle)
    assert sorted(r.id for r in _walk(held.store, 4, "sms")) == sorted(
        r.id for r in records if r.service == "sms")
    assert sorted(r.id for r in _walk(held.store, 1000)) == sorted(r.id for r in records)
    assert held.store.usage.records_page(LINE, date(2026, 9, 1)) == []


def test_cycle_starts_are_newest_first_and_bounded(held: Held) -> None:
    store = held.store
    starts = [date(2026, m, 1) for m in (7, 9, 10, 11)]
    held.insert([r for n, start in enumerate(starts) for r in _records(3, start, seed=n)])
    assert store.usage.cycle_starts(LINE, 24) == sorted(starts, reverse=True)
    assert store.usage.cycle_starts(LINE, 2) == [date(2026, 11, 1), date(2026, 10, 1)]
    assert store.usage.cycle_starts("+32470000009", 24) == []


def test_messages_until_leave_out_the_later_ones(held: Held) -> None:
    store = held.store
    messages = [OutboxMessage(id=f"m{n}", channel="sms", sender="8644", to=LINE, subject=None,
                              text="hi", line_id=LINE, rule=None,
                              created_at=NOW + timedelta(days=n))
                for n in range(4)]
    with store.transaction() as tx:
        tx.outbox.insert(messages)
    found = store.outbox.messages(line_id=LINE, since=NOW + timedelta(days=1),
                                  until=NOW + timedelta(days=3), newest_first=True)
    assert [m.id for m in found] == ["m2", "m1"]
