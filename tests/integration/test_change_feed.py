"""The change feed of store/changes.py against a real PostgreSQL: what another
connection announces in a committed transaction is handed over before a fence taken
after that commit is reached; a rolled-back announcement never is; our own are left
out; a lost connection is followed by `everything` and the fences work again."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from conso.store.changes import CHANNEL, Change, ChangeFeed, decode, encode

from .pg_support import fresh_database


class Heard:
    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.lock = threading.Lock()

    def __call__(self, change: Change) -> None:
        with self.lock:
            self.changes.append(change)

    def lines(self) -> set[str]:
        with self.lock:
            return {line for change in self.changes for line in change.lines}


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def _announce(url: str, payloads: list[str], *, commit: bool = True) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("BEGIN")
        for payload in payloads:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
        conn.execute("COMMIT" if commit else "ROLLBACK")


def test_a_committed_announcement_is_heard_before_the_next_fence(database: str) -> None:
    heard = Heard()
    feed = ChangeFeed(lambda: psycopg.connect(database, autocommit=True), heard)
    feed.start()
    try:
        feed.fence().wait()     # listening
        for n in range(200):    # each time at once: no sleeping, no polling
            _announce(database, encode("other", [f"+3247{n:07d}"], []))
            feed.fence().wait()
            assert f"+3247{n:07d}" in heard.lines()
    finally:
        feed.close()


def test_rolled_back_and_own_announcements_are_not_handed_over(database: str) -> None:
    heard = Heard()
    feed = ChangeFeed(lambda: psycopg.connect(database, autocommit=True), heard, node="me")
    feed.start()
    try:
        feed.fence().wait()
        _announce(database, encode("other", ["+32470000001"], []), commit=False)
        _announce(database, encode("me", ["+32470000002"], []))
        _announce(database, encode("other", [], ["ann"]))
        feed.fence().wait()
        assert heard.changes == [Change((), ("ann",))]
    finally:
        feed.close()


def test_many_lines_are_announced_in_payloads_postgresql_accepts(database: str) -> None:
    lines = [f"+3247{n:07d}" for n in range(5_000)]
    payloads = encode("other", lines, ["u1", "u2"])
    assert len(payloads) > 1
    assert all(len(p.encode()) < 8000 for p in payloads)
    decoded = [decode(p) for p in payloads]
    assert {line for d in decoded if d for line in d[1].lines} == set(lines)
    heard = Heard()
    feed = ChangeFeed(lambda: psycopg.connect(database, autocommit=True), heard)
    feed.start()
    try:
        feed.fence().wait()
        _announce(database, payloads)
        feed.fence().wait()
        assert heard.lines() == set(lines)
    finally:
        feed.close()


def test_after_a_lost_connection_everything_is_dropped_and_fences_go_on(database: str) -> None:
    heard = Heard()
    feed = ChangeFeed(lambda: psycopg.connect(database, autocommit=True), heard)
    feed.start()
    try:
        feed.fence().wait()
        with psycopg.connect(database, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        _announce(database, encode("other", ["+32470000009"], []))
        feed.fence().wait(timeout=15)
        with heard.lock:
            assert Change(everything=True) in heard.changes
        _announce(database, encode("other", ["+32470000010"], []))
        feed.fence().wait()
        assert "+32470000010" in heard.lines()
    finally:
        feed.close()
