"""Failed logins are throttled in the store, over HTTP: per login name (10 in 15
minutes) and per client address (30), atomically, across restarts and API nodes.

The client address is the one uvicorn gives the app; from 127.0.0.1 (a trusted proxy
by default) it takes `X-Forwarded-For`, which is how these tests play many clients.
A 401 is a password that was checked; a 429 is an attempt refused before any check.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .conftest import ServerFactory
from .helpers import PASSWORD, Api, Server, assert_problem, new_id, start_server, stop_server
from .pg_support import fresh_database

LIMIT_PER_LOGIN = 10
LIMIT_PER_CLIENT = 30
WINDOW_SECONDS = 900
CONCURRENT = 100

_prefixes = itertools.count(random.randrange(0x1000, 0xF000))


def new_network() -> str:
    """A /48 of the documentation prefix of its own, for one test's clients."""
    return f"2001:db8:{next(_prefixes):x}"


def address(network: str, n: int = 0) -> str:
    """Client `n` of a test's network: each in a /64 of its own (one client each)."""
    return f"{network}:{n:x}::1"


def attempt(client: httpx.Client, login: str, password: str, source: str) -> httpx.Response:
    return client.post("/api/v1/auth/login", json={"login": login, "password": password},
                       headers={"X-Forwarded-For": source})


def assert_refused(answer: httpx.Response) -> None:
    assert_problem(answer, 429)
    assert 0 < int(answer.headers["retry-after"]) <= WINDOW_SECONDS


def storm(servers: Sequence[Server], login: str, network: str) -> Counter[int]:
    """CONCURRENT wrong passwords for one login at once, each from its own address (a
    botnet), spread over `servers`; the answers' status codes, counted."""
    go = threading.Barrier(CONCURRENT)

    def one(n: int) -> int:
        with servers[n % len(servers)].client(timeout=120) as client:
            go.wait(timeout=60)
            return attempt(client, login, f"wrong-{n}", address(network, n)).status_code

    with ThreadPoolExecutor(CONCURRENT) as pool:
        return Counter(pool.map(one, range(CONCURRENT)))


def test_the_eleventh_failed_login_is_refused_even_with_the_right_password(
    anon: httpx.Client, api: Api,
) -> None:
    account = api.account()
    login = api.user(account)
    other = api.user(account)
    network = new_network()
    for n in range(LIMIT_PER_LOGIN):
        assert_problem(attempt(anon, login, "wrong-password", address(network, n)), 401)
    blocked = attempt(anon, login, PASSWORD, address(network, 99))
    assert_refused(blocked)
    assert int(blocked.headers["retry-after"]) > WINDOW_SECONDS - 300  # the window began
    # Another login is not affected.
    assert attempt(anon, other, PASSWORD, address(network, 99)).status_code == 200


def test_an_unknown_login_is_throttled_like_a_known_one(anon: httpx.Client) -> None:
    nobody = new_id("nobody")
    network = new_network()
    for n in range(LIMIT_PER_LOGIN):
        assert_problem(attempt(anon, nobody, PASSWORD, address(network, n)), 401)
    assert_refused(attempt(anon, nobody, PASSWORD, address(network, 99)))


def test_100_concurrent_wrong_passwords_check_at_most_the_limit(
    server: Server, api: Api,
) -> None:
    login = api.user(api.account())
    answers = storm([server], login, new_network())
    assert answers == {401: LIMIT_PER_LOGIN, 429: CONCURRENT - LIMIT_PER_LOGIN}


def test_one_address_trying_many_logins_is_refused(anon: httpx.Client, api: Api) -> None:
    login = api.user(api.account())
    network = new_network()
    sprayer = address(network, 1)
    for _ in range(LIMIT_PER_CLIENT):  # one try each: no login reaches its own limit
        assert_problem(attempt(anon, new_id("guess"), "123456", sprayer), 401)
    assert_refused(attempt(anon, login, PASSWORD, sprayer))
    # Its neighbours in the same /64 are the same client; other addresses are not.
    assert_refused(attempt(anon, login, PASSWORD, f"{network}:1::2"))
    assert attempt(anon, login, PASSWORD, address(network, 2)).status_code == 200


def test_a_success_clears_the_count_of_its_login(anon: httpx.Client, api: Api) -> None:
    login = api.user(api.account())
    network = new_network()
    for n in range(LIMIT_PER_LOGIN - 1):
        assert_problem(attempt(anon, login, "wrong-password", address(network, n)), 401)
    assert attempt(anon, login, PASSWORD, address(network, 50)).status_code == 200
    for n in range(LIMIT_PER_LOGIN):
        assert_problem(attempt(anon, login, "wrong-password", address(network, n)), 401)
    assert_refused(attempt(anon, login, "wrong-password", address(network, 51)))


def test_a_lockout_lets_the_right_password_through_from_where_it_last_succeeded(
    anon: httpx.Client, api: Api,
) -> None:
    """An attacker who locks the admin's login out keeps it locked for new addresses
    only: from an address the admin logged in from before, the right password works."""
    admin = api.user(api.account(), role="admin")
    office, attacker = new_network(), new_network()
    assert attempt(anon, admin, PASSWORD, address(office)).status_code == 200
    for n in range(LIMIT_PER_LOGIN):
        assert_problem(attempt(anon, admin, "guess", address(attacker, n)), 401)
    assert_refused(attempt(anon, admin, "guess", address(attacker, 99)))
    assert_refused(attempt(anon, admin, PASSWORD, address(attacker, 98)))  # new: refused
    assert attempt(anon, admin, PASSWORD, address(office)).status_code == 200
    # That success cleared the login's count: everyone may try again.
    assert attempt(anon, admin, PASSWORD, address(attacker, 98)).status_code == 200


def test_the_count_survives_a_restart(server_factory: ServerFactory, tmp_path: Path) -> None:
    db = tmp_path / "restart.db"
    first = server_factory(db)
    with first.operator() as op:
        login = Api(op).user(Api(op).account())
    network = new_network()
    with first.client() as anon:
        for n in range(LIMIT_PER_LOGIN):
            assert_problem(attempt(anon, login, "wrong-password", address(network, n)), 401)
    stop_server(first)
    second = server_factory(db)
    with second.client() as anon:
        assert_refused(attempt(anon, login, PASSWORD, address(network, 99)))


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two API processes on one PostgreSQL database, as a shared deployment runs them."""
    with fresh_database() as url:
        first = start_server(tmp_path / "a", tmp_path / "unused.db", db_url=url,
                             env={"CONSO_SHARED": "1"})
        try:
            second = start_server(tmp_path / "b", tmp_path / "unused.db", db_url=url,
                                  env={"CONSO_SHARED": "1"})
            try:
                yield first, second
            finally:
                stop_server(second)
        finally:
            stop_server(first)


def test_two_api_nodes_share_the_count(two_nodes: tuple[Server, Server]) -> None:
    first, second = two_nodes
    with first.operator() as op:
        api = Api(op)
        account = api.account()
        stormed, split = api.user(account), api.user(account)
    # Concurrent, on both nodes at once: the limit holds for the pair.
    answers = storm([first, second], stormed, new_network())
    assert answers == {401: LIMIT_PER_LOGIN, 429: CONCURRENT - LIMIT_PER_LOGIN}
    # One after the other: half the failures on each node lock the login on both.
    network = new_network()
    for n in range(LIMIT_PER_LOGIN):
        with (first if n % 2 else second).client() as anon:
            assert_problem(attempt(anon, split, "wrong-password", address(network, n)), 401)
    for node in (first, second):
        with node.client() as anon:
            assert_refused(attempt(anon, split, PASSWORD, address(network, 99)))
