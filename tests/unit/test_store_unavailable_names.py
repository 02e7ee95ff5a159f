"""The network front ends know "the store is unavailable" by module and name (they import
no store: test_import_contracts.py). These names must stay those of the real classes:
a renamed or moved class would silently turn 3004 / 503 back into 5012 / 500."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import psycopg
import pytest

from conso.diameter import credit
from conso.nchf import app
from conso.store.base import CommitInDoubt, StoreError, StoreUnavailable

CHECKS: list[Callable[[BaseException], bool]] = [credit.store_unavailable,
                                                 app.store_unavailable]


@pytest.mark.parametrize("unavailable", CHECKS, ids=["diameter", "nchf"])
def test_the_store_away_is_known_by_its_real_classes(
        unavailable: Callable[[BaseException], bool]) -> None:
    for exc in (StoreUnavailable("down"), CommitInDoubt("in doubt"),
                psycopg.OperationalError("gone"), psycopg.errors.AdminShutdown("restart"),
                sqlite3.OperationalError("database is locked")):
        assert unavailable(exc), exc
    for exc in (StoreError("refused"), psycopg.DataError("NUL"), RuntimeError("bug"),
                sqlite3.IntegrityError("twice"), ValueError("x")):
        assert not unavailable(exc), exc


def test_both_front_ends_read_the_same_classes() -> None:
    assert credit.STORE_UNAVAILABLE == app.STORE_UNAVAILABLE
    for module, name in credit.STORE_UNAVAILABLE:
        found = {"conso.store.base": StoreUnavailable, "psycopg": psycopg.OperationalError,
                 "sqlite3": sqlite3.OperationalError}[module]
        assert (found.__module__, found.__qualname__) == (module, name)
