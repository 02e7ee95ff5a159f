"""The SQL of accounts and users: their reads, and their writes in a transaction.

Each class is a small view over a connection: reads through the store's `Reader`,
writes through one transaction's writer. No business rule (who may own what is the
engine's), no transaction handling (store.py's), nothing about other tables.
"""

from __future__ import annotations

from datetime import datetime

from conso.store.base import Account, User
from conso.store.sql.connection import Connection, Reader, iso


class SqlAccountReads:
    __slots__ = ("_reader",)

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def get(self, account_id: str) -> Account | None:
        row = self._reader().execute(
            "SELECT id, name, kind FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return None if row is None else Account(*row)


class SqlAccountWrites:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, account: Account, now: datetime) -> None:
        self._conn.execute(
            "INSERT INTO accounts (id, name, kind, created_at, updated_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT (id) DO UPDATE SET name=excluded.name, kind=excluded.kind, "
            "updated_at=excluded.updated_at",
            (account.id, account.name, account.kind, iso(now), iso(now)),
        )


class SqlUserReads:
    __slots__ = ("_reader",)

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def get(self, login: str) -> User | None:
        row = self._reader().execute(
            "SELECT login, account_id, password_hash, role, email, language FROM users "
            "WHERE login = ?", (login,)
        ).fetchone()
        return None if row is None else User(*row)


class SqlUserWrites:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, user: User, now: datetime) -> None:
        """Add a user, or change one (its account stays the one it was created in)."""
        self._conn.execute(
            "INSERT INTO users (login, account_id, password_hash, role, email, language, "
            "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?) "
            "ON CONFLICT (login) DO UPDATE SET password_hash=excluded.password_hash, "
            "role=excluded.role, email=excluded.email, language=excluded.language, "
            "updated_at=excluded.updated_at",
            (user.login, user.account_id, user.password_hash, user.role, user.email,
             user.language, iso(now), iso(now)),
        )
