"""Fixtures: one real `conso serve` process for the session, extra ones on demand."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from conso.bootstrap import Services, Settings, build
from conso.store import Store, open_store

from .helpers import PASSWORD, Api, Server, login, start_server, stop_server
from .pg_support import fresh_database


class ServerFactory(Protocol):
    def __call__(self, db_path: Path | None = None, *, extra_args: tuple[str, ...] = ()
                 ) -> Server: ...


UserClientFactory = Callable[..., httpx.Client]


# Where a test's conso keeps its data: SQLite; PostgreSQL owned by one process; and
# PostgreSQL shared by several processes (CONSO_SHARED: no state kept between commands,
# line rows locked), the way API nodes and stream workers run in production.
STORES = ["sqlite", "postgres", "postgres-shared"]


@pytest.fixture(scope="session", params=STORES)
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shared server, once on each store: tests create their own unique accounts and
    lines on it, so every API test runs against SQLite and against PostgreSQL."""
    workdir = tmp_path_factory.mktemp(f"conso-server-{request.param}")
    if request.param == "sqlite":
        started = start_server(workdir, workdir / "conso.db")
        yield started
        stop_server(started)
        return
    env = {"CONSO_SHARED": "1"} if request.param == "postgres-shared" else {}
    with fresh_database() as url:
        started = start_server(workdir, workdir / "unused.db", db_url=url, env=env)
        yield started
        stop_server(started)


@pytest.fixture(params=STORES)
def engine_services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    """Services built in-process on a fresh store, with one pay-per-use line."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            settings = Settings(db=f"sqlite:///{tmp_path}/c.db", operator_key="k")
        else:
            url = stack.enter_context(fresh_database())
            settings = Settings(db=url, operator_key="k",
                                shared=request.param == "postgres-shared")
        built = build(settings)
        stack.callback(built.close)
        built.engine.put_account("a", name="A", kind="business")
        built.engine.put_line("+32470000077", account_id="a", plan_id="payg",
                              user_login=None, cycle_day=None)
        yield built


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated store of each kind, for the tests that hold the stores to one
    contract (a module may define its own `store` instead)."""
    with contextlib.ExitStack() as stack:
        url = {"memory": "memory:", "sqlite": f"sqlite:///{tmp_path}/c.db"}.get(
            request.param) or stack.enter_context(fresh_database())
        opened = open_store(url)
        stack.callback(opened.close)
        opened.migrate()
        yield opened


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start separate servers (their own database unless one is given); stopped at the end."""
    started: list[Server] = []

    def start(db_path: Path | None = None, *, extra_args: tuple[str, ...] = ()) -> Server:
        one = start_server(tmp_path, db_path or tmp_path / f"conso-{len(started)}.db",
                           extra_args=extra_args)
        started.append(one)
        return one

    yield start
    for one in started:
        stop_server(one)


@pytest.fixture(scope="session")
def server_url(server: Server) -> str:
    return server.base_url


@pytest.fixture(scope="session")
def op(server: Server) -> Iterator[httpx.Client]:
    """A client with the operator key."""
    with server.operator() as client:
        yield client


@pytest.fixture(scope="session")
def anon(server: Server) -> Iterator[httpx.Client]:
    """A client without credentials."""
    with server.client() as client:
        yield client


@pytest.fixture(scope="session")
def api(op: httpx.Client) -> Api:
    return Api(op)


@pytest.fixture
def user_client(server: Server) -> Iterator[UserClientFactory]:
    """Log in as a user and get a client carrying their token."""
    clients: list[httpx.Client] = []

    def as_user(user_login: str, password: str = PASSWORD) -> httpx.Client:
        client = server.client(login(server, user_login, password))
        clients.append(client)
        return client

    yield as_user
    for client in clients:
        client.close()
