"""Zero overshoot under concurrency: eight network clients run data sessions in parallel
on one pay-per-use line with a 5 EUR limit, each using exactly what it is granted, until
the money is gone. The spend ends at the limit: never past it, and none left unusable."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from .control_support import Network, new_account, new_session_id, ok, set_limit
from .helpers import Api, Server

THREADS = 8
LIMIT_EUR = 5
# Not a whole number of kB: parallel sessions share the line's cumulative data meter,
# which is priced per started kB (0.05 EUR/MB = 50 micro-euros per kB).
CHUNK = 777_777
KB_PRICE_MICROS = 50
MAX_REPORTS = 2_000


@dataclass
class Tally:
    sessions: int = 0
    reports: int = 0
    granted: int = 0
    charged_micros: int = 0
    refusals: list[dict[str, object]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def run_sessions(server: Server, line: str, go: threading.Barrier) -> Tally:
    """Sessions one after another until a start is refused for the spending limit."""
    tally = Tally()
    with server.operator() as client:
        network = Network(client)
        go.wait()
        while tally.reports < MAX_REPORTS:
            session = new_session_id()
            answer = network.start(session, line, "data", CHUNK)
            tally.reports += 1
            if answer["granted"] == 0:
                tally.refusals.append(answer)
                return tally
            tally.sessions += 1
            number = 0
            while True:
                granted, final = answer["granted"], answer["final"]
                tally.granted += granted
                if final:
                    break
                number += 1
                response = network.update(session, granted, CHUNK, number)
                tally.reports += 1
                if response.status_code != 200:
                    tally.problems.append(f"update {response.status_code}: {response.text}")
                    return tally
                answer = response.json()
                if answer["granted"] == 0:
                    granted = 0
                    break
            done = network.terminate(session, granted)
            if done.status_code != 200:
                tally.problems.append(f"terminate {done.status_code}: {done.text}")
                return tally
            tally.charged_micros += done.json()["charged_micros"]
        tally.problems.append(f"still not refused after {MAX_REPORTS} reports")
    return tally


def test_parallel_sessions_spend_the_limit_and_not_a_cent_more(
    server: Server, api: Api, op: httpx.Client,
) -> None:
    acct = new_account(api)
    set_limit(op, acct.line, LIMIT_EUR)
    limit_micros = LIMIT_EUR * 1_000_000
    go = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(run_sessions, server, acct.line, go) for _ in range(THREADS)]
        tallies = [f.result(timeout=120) for f in futures]

    assert [t.problems for t in tallies] == [[]] * THREADS
    for tally in tallies:
        assert tally.refusals == [{"granted": 0, "final": True, "reason": "spending_limit"}]
    assert sum(t.sessions for t in tallies) >= THREADS  # they did run side by side

    usage = api.usage(acct.line)
    limit = usage["spending_limit"]
    # Zero overshoot...
    assert usage["extra_cents"] <= LIMIT_EUR * 100
    assert limit["spent_cents"] <= LIMIT_EUR * 100
    assert limit["reached"] is True
    # ...and no money left unusable (one kB is 0.005 cent: within a cent of the limit).
    assert limit["spent_cents"] >= LIMIT_EUR * 100 - 1
    detail = ok(op.get(f"/api/v1/lines/{acct.line}/spending-limit"))
    assert detail["overshoot_cents"] == 0
    charged = sum(t.charged_micros for t in tallies)
    assert limit_micros - KB_PRICE_MICROS < charged <= limit_micros
    # What was granted is what was used: the data meter and the price agree.
    used = usage["services"]["data"]["used"]
    assert used == sum(t.granted for t in tallies)
    assert used <= LIMIT_EUR * 20 * 1_000_000  # 5 EUR buys 100 MB
    # All of it reached the line: a new session gets nothing, an authorization neither.
    network = Network(op)
    assert network.start(new_session_id(), acct.line, "data", 1_000)["reason"] == (
        "spending_limit")
    assert network.authorize(acct.line, "data") == {
        "allowed": False, "reason": "spending_limit"}
