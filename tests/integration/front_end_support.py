"""In-process conso with its Diameter and Nchf listeners, on SQLite or on a fresh PostgreSQL
database, and a PostgreSQL outage of that database alone (for test_diameter_text_and_store.py
and test_nchf_text_and_store.py).

The outage: the database refuses new connections and its open ones are cut, as when its
server restarts, while the shared test server keeps serving every other database. What
conso sees is the driver's OperationalError and, while it cannot reconnect,
StoreUnavailable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from conso.bootstrap import Services, Settings, build
from conso.domain.units import Service

from .helpers import OPERATOR_KEY, new_number
from .pg_support import ADMIN_URL, fresh_database

STORES = ["sqlite", "postgres"]


@dataclass
class FrontEnds:
    services: Services
    store: str
    db_url: str

    @property
    def diameter_port(self) -> int:
        port: int = self.services.diameter.port
        return port

    @property
    def nchf_url(self) -> str:
        return f"http://127.0.0.1:{self.services.nchf.port}"

    def line(self) -> str:
        """A fresh pay-as-you-go line (data costs money: a count shows)."""
        number = new_number()
        self.services.engine.put_line(number, account_id="fe", plan_id="payg",
                                      user_login=None, cycle_day=None)
        return number

    def used(self, line: str, service: Service = Service.DATA) -> int:
        engine = self.services.engine
        found = engine.line(line)
        assert found is not None
        value: int = engine.usage_summary(found).services[service].used
        return value


@contextmanager
def front_ends(store: str, workdir: Path) -> Iterator[FrontEnds]:
    """Services built in-process on `store`, both network listeners on free ports."""
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(pytest.MonkeyPatch.context())
        for name in ("CONSO_DIAMETER_PEERS", "CONSO_DIAMETER_HOST", "CONSO_DIAMETER_REALM",
                     "CONSO_NCHF_TLS_CERT", "CONSO_NCHF_TLS_KEY"):
            env.delenv(name, raising=False)
        url = f"sqlite:///{workdir}/conso.db" if store == "sqlite" \
            else stack.enter_context(fresh_database())
        built = build(Settings(db=url, operator_key=OPERATOR_KEY, diameter="127.0.0.1:0",
                               nchf="127.0.0.1:0"))
        stack.callback(built.close)
        built.start()
        built.engine.put_account("fe", name="Front-end tests", kind="business")
        yield FrontEnds(built, store, url)


@contextmanager
def database_away(db_url: str) -> Iterator[None]:
    """The PostgreSQL database of `db_url` refuses connections and its open ones are
    cut, until the block ends."""
    name = db_url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
