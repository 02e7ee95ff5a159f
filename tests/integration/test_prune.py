"""`conso prune`: the itemised records of old cycles go, their history stays.

Seventeen cycles of records (the open one and sixteen before it) for two lines of
different cycle days are written to a store as a server sixteen months old would have
(with PostgreSQL's month partitions made back then); a real `conso serve` runs on it
while `conso prune` runs beside it, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from conso.domain.cycle import Cycle, cycle_of
from conso.domain.line import Line, PlanPeriod
from conso.store import open_store
from conso.store.base import Account, StoredRecord
from conso.store.postgres import PostgresStore, partition_name
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


def _write_history(url: str, now: datetime) -> dict[str, list[Cycle]]:
    store = open_store(url)
    try:
        store.migrate()
        cycles = {line: _cycles_back(cycle_of(now, day), PAST_CYCLES)
                  for line, day in LINES.items()}
        if isinstance(store, PostgresStore):   # the months' partitions, made in their time
            oldest = min(c[-1].start_date for c in cycles.values())
            store.ensure_partitions(oldest, ahead=PAST_CYCLES + 3)
        since = now - timedelta(days=800)
        with store.transaction() as tx:
            tx.accounts.put(Account("prune-acct", "Prune", "business"), since)
            for line, day in LINES.items():
                tx.lines.put(Line(line, "prune-acct", None, day,
                                  (PlanPeriod(since, "king"),)), since)
        for line, line_cycles in cycles.items():
            records = []
            for n, cycle in enumerate(line_cycles):
                for k in range(3 + n % 4):       # a different count in each cycle
                    at = cycle.start + timedelta(hours=5 + 7 * k)
                    records.append(StoredRecord(
                        f"p-{line[-1]}-{n}-{k}", line, cycle.start_date, SERVICES[k % 3],
                        "out", 60 * (k + 1), 0, "BE", at.astimezone(UTC), 1000 * (n + k + 1),
                        SERVICES[k % 3]))
            with store.transaction() as tx:
                tx.usage.insert_records(records, now)
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
    for option in ("--keep-cycles", "--dry-run", "--db"):
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
