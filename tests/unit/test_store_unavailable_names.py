"""The front ends know "the store is away for a moment" by one rule (`conso.errors.
is_unavailable`): the store's own StoreUnavailable, and the drivers' OperationalError known
by module and name (a network front end imports no driver: test_import_contracts.py).
These names must stay those of the real classes: a renamed or moved class would silently
turn 3004 / 503 back into 5012 / 500."""

from __future__ import annotations

import sqlite3

import psycopg

from conso.errors import is_unavailable
from conso.store.base import CommitInDoubt, StoreError, StoreUnavailable


def test_the_store_away_is_known_by_its_real_classes() -> None:
    for exc in (StoreUnavailable("down"), CommitInDoubt("in doubt"),
                psycopg.OperationalError("gone"), psycopg.errors.AdminShutdown("restart"),
                sqlite3.OperationalError("database is locked")):
        assert is_unavailable(exc), exc
    for exc in (StoreError("refused"), psycopg.DataError("NUL"), RuntimeError("bug"),
                sqlite3.IntegrityError("twice"), ValueError("x")):
        assert not is_unavailable(exc), exc
