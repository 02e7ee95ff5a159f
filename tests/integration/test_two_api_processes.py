"""Zero overshoot with two API processes: both serve sessions on one pay-per-use line
under a 5 EUR limit, on one shared PostgreSQL database. The limit and the reservations
are read under the line's row lock, so the two never grant the same money."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .control_support import Network, new_account, ok, set_limit, shared_servers
from .helpers import Api, Server
from .test_parallel_sessions import KB_PRICE_MICROS, LIMIT_EUR, run_sessions

THREADS_PER_PROCESS = 4


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    with shared_servers(tmp_path) as (first, second):
        yield first, second


def test_two_api_processes_spend_the_limit_and_not_a_cent_more(
    two_servers: tuple[Server, Server],
) -> None:
    first, second = two_servers
    with first.operator() as op:
        api = Api(op)
        acct = new_account(api)
        set_limit(op, acct.line, LIMIT_EUR)
    servers = [first] * THREADS_PER_PROCESS + [second] * THREADS_PER_PROCESS
    go = threading.Barrier(len(servers))
    with ThreadPoolExecutor(len(servers)) as pool:
        futures = [pool.submit(run_sessions, server, acct.line, go) for server in servers]
        tallies = [f.result(timeout=180) for f in futures]

    assert [t.problems for t in tallies] == [[]] * len(servers)
    for tally in tallies:
        assert tally.refusals == [{"granted": 0, "final": True, "reason": "spending_limit"}]
    # Both processes granted money: the race was real.
    assert sum(t.sessions for t in tallies[:THREADS_PER_PROCESS]) > 0
    assert sum(t.sessions for t in tallies[THREADS_PER_PROCESS:]) > 0

    limit_micros = LIMIT_EUR * 1_000_000
    charged = sum(t.charged_micros for t in tallies)
    assert limit_micros - KB_PRICE_MICROS < charged <= limit_micros
    for server in (first, second):  # both read the same, exact state
        with server.operator() as op:
            usage = Api(op).usage(acct.line)
            assert usage["spending_limit"]["spent_cents"] <= LIMIT_EUR * 100
            assert usage["spending_limit"]["reached"] is True
            assert usage["services"]["data"]["used"] == sum(t.granted for t in tallies)
            assert ok(op.get(f"/api/v1/lines/{acct.line}/spending-limit"))[
                "overshoot_cents"] == 0
            assert Network(op).authorize(acct.line, "data") == {
                "allowed": False, "reason": "spending_limit"}
