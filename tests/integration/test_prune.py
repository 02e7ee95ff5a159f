"""`conso prune`: the itemised records of old cycles go, their history stays.

Seventeen cycles of records (the open one and sixteen before it) for two lines of
different cycle days are written to a store as a server sixteen months old would have
(with PostgreSQL's month partitions made back then); a real `conso serve` runs on it
while `conso prune` runs beside it, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from conso.domain.cycle import Cycle, cycle_of
from conso.domain.line import Line, PlanPeriod
from conso.domain.rating import CycleUsage, Rating
from conso.store import open_store, prune
from conso.store.archive import Archive, archive_dir
from conso.store.base import Account, StoredRecord
from conso.store.postgres import PostgresStore, partition_name
from conso.store.sql.connection import iso
from conso.store.sqlite import SQLiteStore

from .helpers import (
    PASSWORD,
    Server,
    conso_command,
    conso_env,
    start_server,
    stop_server,
)
from .pg_support import fresh_database

KEEP = 13
PAST_CYCLES = 16
LINES = {"+32470300001": 1, "+32470300002": 15}     # line: cycle day
SERVICES = ("voice", "sms", "data")


def _cycles_back(cycle: Cycle, count: int) -> list[Cycle]:
    """`cycle` and the `count` before it, newest first."""
    found = [cycle]
    for _ in range(count):
        start = found[-1].start_date
        index = start.year * 12 + start.month - 2
        found.append(Cycle(start.replace(year=index // 12, month=index % 12 + 1)))
    return found


@dataclass
class Setup:
    server: Server
    url: str                 # the store's URL
    cycles: dict[str, list[Cycle]]   # line: open cycle first, then the 16 before

    def op(self) -> httpx.Client:
        return self.server.operator()


def _past(now: datetime) -> tuple[dict[str, list[Cycle]], list[StoredRecord],
                                      list[tuple[str, CycleUsage]]]:
    """The lines' cycles (open first, then the 16 before), their records and the cycles'
    usage, as a server would have written them over sixteen months to `now`."""
    cycles = {line: _cycles_back(cycle_of(now, day), PAST_CYCLES)
              for line, day in LINES.items()}
    records = []
    totals = []
    for line, line_cycles in cycles.items():
        for n, cycle in enumerate(line_cycles):
            usage = CycleUsage(cycle)
            for k in range(3 + n % 4):       # a different count in each cycle
                at = cycle.start + timedelta(hours=5 + 7 * k)
                records.append(StoredRecord(
                    f"p-{line[-1]}-{n}-{k}", line, cycle.start_date, SERVICES[k % 3],
                    "out", 60 * (k + 1), 0, "BE", at.astimezone(UTC), 1000 * (n + k + 1),
                    SERVICES[k % 3]))
                usage.add(Rating(SERVICES[k % 3], 60 * (k + 1), 0, 1000 * (n + k + 1)))
            totals.append((line, usage))
    return cycles, records, totals


def _write_history(url: str, now: datetime) -> dict[str, list[Cycle]]:
    store = open_store(url)
    try:
        store.migrate()
        cycles, records, totals = _past(now)
        if isinstance(store, PostgresStore):   # the months' partitions, made in their time
            oldest = min(c[-1].start_date for c in cycles.values())
            store.ensure_partitions(oldest, ahead=PAST_CYCLES + 3)
        since = now - timedelta(days=800)
        with store.transaction() as tx:
            tx.accounts.put(Account("prune-acct", "Prune", "business"), since)
            for line, day in LINES.items():
                tx.lines.put(Line(line, "prune-acct", None, day,
                                  (PlanPeriod(since, "king"),)), since)
        with store.transaction() as tx:           # as the engine writes them: together
            tx.usage.insert_records(records, now)
            tx.usage.save_cycles(totals, now)
        if isinstance(store, SQLiteStore):
            store.merge_recent()
        return cycles
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    now = datetime.now(UTC)
    if request.param == "postgres":
        with fresh_database() as url:
            cycles = _write_history(url, now)
            server = start_server(tmp_path, tmp_path / "unused.db", db_url=url)
            try:
                yield Setup(server, url, cycles)
            finally:
                stop_server(server)
        return
    url = f"sqlite:///{tmp_path}/conso.db"
    cycles = _write_history(url, now)
    server = start_server(tmp_path, tmp_path / "conso.db")
    try:
        yield Setup(server, url, cycles)
    finally:
        stop_server(server)


def _prune(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(conso_command("prune", "--quiet", *args), capture_output=True,
                          text=True, env=conso_env(), timeout=120, check=False)


def _history(setup: Setup) -> dict[str, Any]:
    """Everything the API says of the lines' past: usage, cycle lists, record pages."""
    seen: dict[str, Any] = {}
    with setup.op() as op:
        for line, cycles in setup.cycles.items():
            seen[f"{line} cycles"] = op.get(f"/api/v1/lines/{line}/cycles").json()
            for cycle in cycles[1:]:
                day = cycle.start_date.isoformat()
                usage = op.get(f"/api/v1/lines/{line}/usage", params={"cycle": day})
                assert usage.status_code == 200, usage.text
                seen[f"{line} usage {day}"] = usage.json()
                page = op.get(f"/api/v1/lines/{line}/records", params={"cycle": day})
                assert page.status_code == 200, page.text
                seen[f"{line} records {day}"] = page.json()
    return seen


def _partitions(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'usage_records'::regclass")}


def test_prune_keeps_the_open_cycle_and_the_last_n_and_the_totals_of_the_others(
        setup: Setup) -> None:
    before = _history(setup)
    partitions_before = _partitions(setup.url) if setup.url.startswith("postgresql") else set()

    dry = _prune("--keep-cycles", str(KEEP), "--dry-run", "--db", setup.url)
    assert dry.returncode == 0, dry.stderr
    assert "would remove" in dry.stdout
    assert _history(setup) == before                       # a dry run changes nothing

    done = _prune("--keep-cycles", str(KEEP), "--db", setup.url)
    assert done.returncode == 0, done.stderr
    after = _history(setup)

    for line, cycles in setup.cycles.items():
        pruned = cycles[KEEP + 1:]
        assert len(pruned) == PAST_CYCLES - KEEP
        # The cycle list and every past cycle's usage answer as before the prune.
        assert after[f"{line} cycles"] == before[f"{line} cycles"]
        listed = {c["cycle"]: c for c in after[f"{line} cycles"]}
        for cycle in cycles[1:]:
            day = cycle.start_date.isoformat()
            assert after[f"{line} usage {day}"] == before[f"{line} usage {day}"]
            assert listed[day]["records"] > 0
        # The open cycle and the 13 before it keep their records, unflagged.
        for cycle in cycles[1:KEEP + 1]:
            key = f"{line} records {cycle.start_date.isoformat()}"
            assert after[key] == before[key]
            assert after[key]["pruned"] is False and after[key]["records"]
        # The older ones: an empty page that says why.
        for cycle in pruned:
            page = after[f"{line} records {cycle.start_date.isoformat()}"]
            assert page == {"records": [], "next_cursor": None, "pruned": True}
    expected = sum(len(before[f"{line} records {c.start_date.isoformat()}"]["records"])
                   for line, cycles in setup.cycles.items() for c in cycles[KEEP + 1:])
    assert f"pruned {expected:,} records" in done.stdout

    if partitions_before:
        left = _partitions(setup.url)
        kept_months = {partition_name(c.start_date.replace(day=1))
                       for cycles in setup.cycles.values() for c in cycles[:KEEP + 1]}
        oldest = {partition_name(cycles[-1].start_date.replace(day=1))
                  for cycles in setup.cycles.values()}
        assert oldest <= partitions_before and not oldest & left   # dropped whole
        assert kept_months <= left
        assert "usage_records_default" in left

    again = _prune("--keep-cycles", str(KEEP), "--db", setup.url)
    assert again.returncode == 0, again.stderr
    assert "pruned 0 records" in again.stdout
    assert _history(setup) == after
    _the_portal_says_a_pruned_cycle_was_pruned(setup)


def _the_portal_says_a_pruned_cycle_was_pruned(setup: Setup) -> None:
    line, cycles = next(iter(setup.cycles.items()))
    with setup.op() as op:
        assert op.put("/api/v1/accounts/prune-acct/users/pruner", json={
            "password": PASSWORD, "role": "user"}).status_code == 201
        assert op.put(f"/api/v1/lines/{quote(line, safe='')}", json={
            "account_id": "prune-acct", "plan": "king", "user": "pruner"}).status_code == 200
    with setup.server.client() as browser:
        browser.cookies.set("conso_lang", "en")
        form = browser.get("/portal/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None, form.text
        answer = browser.post("/portal/login", data={
            "login": "pruner", "password": PASSWORD, "csrf": csrf.group(1)})
        assert answer.status_code == 303, answer.text
        path = f"/portal/lines/{quote(line, safe='')}/records"
        old = browser.get(path, params={"cycle": cycles[-1].start_date.isoformat()})
        assert old.status_code == 200 and 'id="records-pruned"' in old.text
        kept = browser.get(path, params={"cycle": cycles[1].start_date.isoformat()})
        assert kept.status_code == 200 and 'id="records-pruned"' not in kept.text


def test_prune_refuses_to_keep_fewer_than_two_cycles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    refused = _prune("--keep-cycles", "1", "--db", url)
    assert refused.returncode == 2
    assert "at least 2" in refused.stderr
    assert not (tmp_path / "c.db").exists()


def test_prune_says_a_store_it_cannot_open_is_a_failure(tmp_path: Path) -> None:
    failed = _prune("--db", f"sqlite:///{tmp_path}/no/such/dir/c.db")
    assert failed.returncode == 1
    assert "conso prune" in failed.stderr


def test_prune_help_names_its_options() -> None:
    shown = subprocess.run(conso_command("prune", "--help"), capture_output=True, text=True,
                           env=conso_env(), timeout=60, check=False)
    assert shown.returncode == 0
    for option in ("--keep-cycles", "--dry-run", "--db", "--no-archive", "pg_dump"):
        assert option in shown.stdout


def test_a_cycle_is_prunable_only_when_older_than_the_open_one_and_the_n_before() -> None:
    from conso.store.prune import prunable

    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    for day in (1, 15, 28):
        open_cycle = cycle_of(now, day)
        cycles = _cycles_back(open_cycle, KEEP + 2)
        assert not any(prunable(c.start_date, KEEP, now) for c in cycles[:KEEP + 1])
        assert all(prunable(c.start_date, KEEP, now) for c in cycles[KEEP + 1:])
    assert not prunable(date(2020, 1, 30), KEEP, now)    # no line's cycle starts on day 30


# -- SQLite: the records pruned are archived first ----------------------------------------


@dataclass
class Archived:
    db: Path
    url: str
    now: datetime
    pruned: list[StoredRecord]       # the records of the cycles a prune removes
    kept: list[StoredRecord]         # the open cycle's and the KEEP before it


@pytest.fixture
def archived(tmp_path: Path) -> Archived:
    """A SQLite store with the history written, no server (these tests read files)."""
    now = datetime.now(UTC)
    db = tmp_path / "conso.db"
    url = f"sqlite:///{db}"
    _write_history(url, now)
    cycles, records, _ = _past(now)
    old = {(line, c.start_date) for line, line_cycles in cycles.items()
           for c in line_cycles[KEEP + 1:]}
    return Archived(db, url, now, [r for r in records if (r.line_id, r.cycle_start) in old],
                    [r for r in records if (r.line_id, r.cycle_start) not in old])


def _archive_rows(db: Path) -> list[tuple[Any, ...]]:
    """Every row of every archive file, with its file's month."""
    rows = []
    for path in sorted(archive_dir(db).glob("*.sqlite")):
        with contextlib.closing(sqlite3.connect(path)) as conn:
            rows += [(path.stem, *row) for row in conn.execute(
                "SELECT id, line_id, cycle_start, service, direction, quantity, "
                "amount_micros, country, at, charge_micros, meter FROM usage_records")]
    return rows


def _as_archived(records: list[StoredRecord]) -> list[tuple[Any, ...]]:
    return sorted((r.cycle_start.strftime("%Y-%m"), r.id, r.line_id, r.cycle_start.isoformat(),
                   r.service, r.direction, r.quantity, r.amount_micros, r.country, iso(r.at),
                   r.charge_micros, r.meter) for r in records)


def _store_ids(db: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return {row[0] for row in conn.execute(
            "SELECT id FROM usage_records UNION ALL SELECT id FROM usage_recent")}


def test_sqlite_prune_archives_exactly_the_pruned_records_before_it_deletes_them(
        archived: Archived) -> None:
    directory = archive_dir(archived.db)
    dry = _prune("--dry-run", "--db", archived.url)
    assert dry.returncode == 0, dry.stderr
    months = sorted({r.cycle_start.strftime("%Y-%m") for r in archived.pruned})
    assert f"would archive them first in {directory}/ (" in dry.stdout
    assert all(f"{month}.sqlite" in dry.stdout for month in months)
    assert not directory.exists()                           # a dry run writes nothing

    done = _prune("--db", archived.url)
    assert done.returncode == 0, done.stderr
    assert f"archived {len(archived.pruned):,} in " in done.stdout
    assert sorted(p.stem for p in directory.iterdir()) == months
    # The archive holds the pruned records, each once, as stored; the store keeps the
    # others (the open cycle's among them), none of which is archived.
    assert sorted(_archive_rows(archived.db)) == _as_archived(archived.pruned)
    assert _store_ids(archived.db) == {r.id for r in archived.kept}

    again = _prune("--db", archived.url)
    assert again.returncode == 0, again.stderr
    assert "pruned 0 records" in again.stdout
    assert sorted(_archive_rows(archived.db)) == _as_archived(archived.pruned)


def test_a_prune_cut_short_after_archiving_archives_each_record_once(
        archived: Archived, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies after a batch's archive committed and before the store's delete
    did: nothing is lost, and the next run archives what it deletes without duplicates."""

    class Killed(Exception):
        pass

    kept = Archive.keep
    batches = []

    def keep_then_die(archive: Archive, rows: Sequence[Sequence[Any]]) -> None:
        kept(archive, rows)
        batches.append(len(rows))
        if len(batches) == 2:
            raise Killed      # the archive is committed; the store's transaction is not

    monkeypatch.setattr(Archive, "keep", keep_then_die)
    store = open_store(archived.url)
    assert isinstance(store, SQLiteStore)
    try:
        with pytest.raises(Killed):
            prune.prune(store, prune.plan(store, KEEP, archived.now), batch_lines=1)
    finally:
        store.close()
    first, second = LINES                     # a batch a line, in id order
    ids = _store_ids(archived.db)
    assert not {r.id for r in archived.pruned if r.line_id == first} & ids
    assert {r.id for r in archived.pruned if r.line_id == second} <= ids   # not deleted
    assert sorted(_archive_rows(archived.db)) == _as_archived(archived.pruned)   # archived

    monkeypatch.undo()
    done = _prune("--db", archived.url)
    assert done.returncode == 0, done.stderr
    second_count = len([r for r in archived.pruned if r.line_id == second])
    assert f"pruned {second_count:,} records" in done.stdout
    assert _store_ids(archived.db) == {r.id for r in archived.kept}
    assert sorted(_archive_rows(archived.db)) == _as_archived(archived.pruned)


def test_an_archive_that_cannot_be_written_stops_the_prune_before_any_delete(
        archived: Archived) -> None:
    archive_dir(archived.db).write_text("in the way\n")   # no directory can be made there
    failed = _prune("--db", archived.url)
    assert failed.returncode == 1
    assert "conso prune" in failed.stderr
    assert _store_ids(archived.db) == {r.id for r in archived.pruned + archived.kept}


def test_no_archive_deletes_without_a_copy(archived: Archived) -> None:
    done = _prune("--no-archive", "--db", archived.url)
    assert done.returncode == 0, done.stderr
    assert "not archived (--no-archive)" in done.stdout
    assert not archive_dir(archived.db).exists()
    assert _store_ids(archived.db) == {r.id for r in archived.kept}
