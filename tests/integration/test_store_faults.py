"""Store faults under load, on a real `conso serve`: a private PostgreSQL stopped and
started again, and SQLite's disk full. While the fault lasts the API answers 503
problem+json with Retry-After (never 500, never a hang); nothing is half-written; once
the store is back the service answers 200 again by itself; and every record answered
200 is in the store exactly once (and in the usage answer).

The PostgreSQL cluster is the test's own (pg_cluster.py: Debian's initdb and pg_ctl, run
as `postgres`); the disk is a small tmpfs (mounting one needs root). Each test is skipped
with its reason where the machine cannot do it (the PostgreSQL one fails instead under
CONSO_REQUIRE_SERVICES=1). The measured outage is printed (`pytest -s`).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import Api, Server, start_server, stop_server
from .pg_cluster import Cluster, private_cluster, wait_accepting
from .store_fault_support import ANSWER_BOUND_S, Traffic, refused_span

LINES = 5
OUTAGE_S = 4.0          # how long PostgreSQL stays down
BACK_WITHIN_S = 10.0    # how soon after the store is back the API must answer 200 again


def provision(server: Server) -> list[str]:
    with server.operator() as op:
        api = Api(op)
        account = api.account("business")
        return [api.line(account, "payg") for _ in range(LINES)]


def assert_usage_matches(server: Server, traffic: Traffic) -> None:
    """The usage answer counts exactly the records answered 200 (the engine's memory was
    not left behind by a commit in doubt)."""
    expected: Counter[str] = Counter()
    for line, quantity in traffic.answered.values():
        expected[line] += quantity
    with server.operator() as op:
        api = Api(op)
        for line in traffic.lines:
            assert api.usage(line)["services"]["data"]["used"] == expected[line], line


def assert_exactly_once(stored: list[str], traffic: Traffic) -> None:
    counts = Counter(stored)
    twice = [i for i, n in counts.items() if n > 1]
    assert not twice, f"stored more than once: {twice[:10]}"
    lost = set(traffic.answered) - set(counts)
    assert not lost, f"{len(lost)} records answered 200 are not stored: {sorted(lost)[:10]}"
    sent = {i for ids in traffic.batches.values() for i in ids}
    assert set(counts) == sent, "the store holds records that were never answered 200"


def assert_all_or_nothing(stored: set[str], traffic: Traffic) -> None:
    """Every batch refused at least once is stored whole or not at all."""
    for first in traffic.refused:
        ids = traffic.batches[first]
        found = sum(1 for i in ids if i in stored)
        assert found in (0, len(ids)), f"batch {first}: {found} of {len(ids)} records stored"


# -- PostgreSQL stopped and started under load ----------------------------------------------


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with private_cluster() as started:
        yield started


def pg_records(cluster: Cluster, database: str, ids: list[str] | None = None) -> list[str]:
    import psycopg

    with psycopg.connect(cluster.url(database), connect_timeout=5) as conn:
        if ids is None:
            rows = conn.execute("SELECT id FROM usage_records WHERE id LIKE 'fault-%'")
        else:
            rows = conn.execute("SELECT id FROM usage_records WHERE id = ANY(%s)", (ids,))
        return [row[0] for row in rows]


@pytest.mark.parametrize("mode", ["exclusive", "shared"])
def test_postgresql_stopped_and_started_under_load(
    cluster: Cluster, tmp_path: Path, mode: str,
) -> None:
    url = cluster.create_database("conso")
    env = {"CONSO_SHARED": "1"} if mode == "shared" else {}
    server = start_server(tmp_path, tmp_path / "unused.db", db_url=url, env=env)
    try:
        traffic = Traffic(server, provision(server))
        traffic.start()
        began = time.monotonic()
        traffic.wait_for(200, after=began, timeout=20)
        time.sleep(1.0)

        stopping = time.monotonic()
        cluster.stop("fast")                      # terminates every connection
        stopped = time.monotonic()
        traffic.wait_for(503, after=stopped, timeout=ANSWER_BOUND_S)
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
        traffic.pause()                           # to look at the refused batch first
        cluster.start()
        wait_accepting(cluster)
        restarted = time.monotonic()
        if traffic.pending is not None:           # refused while PostgreSQL was away
            ids = [r["id"] for r in traffic.pending]
            assert_all_or_nothing(set(pg_records(cluster, "conso", ids)), traffic)
        traffic.resume()
        back = traffic.wait_for(200, after=restarted, timeout=BACK_WITHIN_S)
        time.sleep(1.0)
        traffic.stop()
        traffic.drain()

        assert not traffic.violations, traffic.violations[:10]
        since, lasted = refused_span(traffic, after=stopping)
        statuses = Counter(a.status for a in traffic.answers if a.sent >= stopping)
        print(f"\n[{mode}] PostgreSQL down {restarted - stopping:.2f} s "
              f"(stop took {stopped - stopping:.2f} s); usage answered 503 for {lasted:.2f} s; "
              f"200 again {back.sent + back.took - restarted:.2f} s after PostgreSQL accepted "
              f"connections; answers since the stop: {dict(statuses)}; "
              f"slowest answer {max(a.took for a in traffic.answers):.2f} s; "
              f"records answered 200: {len(traffic.answered)}")
        assert since >= stopping
        assert_exactly_once(pg_records(cluster, "conso"), traffic)
        assert_usage_matches(server, traffic)
    finally:
        stop_server(server)


# -- SQLite's disk full ---------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs: the SQLite file's disk, that the test fills (4 MB was too small
    once records gained a wider index, 0016: the database and its WAL alone outgrew it)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs",
                           str(mount_point)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; returns it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (64 * 1024, 4096, 512, 1):
            chunk = b"\0" * size
            while True:
                try:
                    out.write(chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    return filler


def sqlite_records(db: Path) -> list[str]:
    """Every record id stored, merged or not yet (as the store reads them)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return [row[0] for row in conn.execute(
            "SELECT id FROM usage_records WHERE id LIKE 'fault-%' UNION ALL "
            "SELECT r.id FROM usage_recent r, merge_progress m WHERE m.id = 1 "
            "AND NOT (r.rowid <= m.upto AND r.line_id < m.below) AND r.id LIKE 'fault-%'")]
    finally:
        conn.close()


def test_sqlite_disk_full_under_load(small_disk: Path, tmp_path: Path) -> None:
    db = small_disk / "conso.db"
    server = start_server(tmp_path / "logs", db)
    try:
        traffic = Traffic(server, provision(server))
        traffic.start()
        began = time.monotonic()
        traffic.wait_for(200, after=began, timeout=20)
        time.sleep(0.5)

        filled = time.monotonic()
        filler = fill(small_disk)
        first = traffic.wait_for(503, after=filled, timeout=60)
        time.sleep(2.0)                               # full for a while, under load
        traffic.pause()
        stored = set(sqlite_records(db))
        assert_all_or_nothing(stored, traffic)
        assert not set(traffic.answered) - stored, "a record answered 200 is not stored"
        full_answers = Counter(a.status for a in traffic.usage_answers() if a.sent >= filled)
        filler.unlink()                               # space again
        freed = time.monotonic()
        traffic.resume()
        back = traffic.wait_for(200, after=freed, timeout=BACK_WITHIN_S)
        time.sleep(1.0)
        traffic.stop()
        traffic.drain()

        assert not traffic.violations, traffic.violations[:10]
        _, lasted = refused_span(traffic, after=filled)
        print(f"\n[sqlite] disk full for {freed - filled:.2f} s; first 503 "
              f"{first.sent - filled:.2f} s after it filled; usage answered 503 for "
              f"{lasted:.2f} s; 200 again {back.sent + back.took - freed:.2f} s after space "
              f"was freed; usage answers while full: {dict(full_answers)}; records answered "
              f"200: {len(traffic.answered)}")
        assert_usage_matches(server, traffic)
    finally:
        stop_server(server)
    assert_exactly_once(sqlite_records(db), traffic)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
