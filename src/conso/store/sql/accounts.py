"""The SQL of accounts and users: their reads, and their writes in a transaction.

Each class is a small view over a connection: reads through the store's `Reader`,
writes through one transaction's writer. No business rule (who may own what is the
engine's), no transaction handling (store.py's), nothing about other tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from conso.store.base import Account, User
from conso.store.sql.connection import Connection, Reader, chunks, insert_rows, iso

_INSERT_ACCOUNT = "INSERT INTO accounts (id, name, kind, created_at, updated_at)"
_UPDATE_ACCOUNT = ("ON CONFLICT (id) DO UPDATE SET name=excluded.name, kind=excluded.kind, "
                   "updated_at=excluded.updated_at")
_INSERT_USER = ("INSERT INTO users (login, account_id, password_hash, role, email, language, "
                "created_at, updated_at)")
_UPDATE_USER = ("ON CONFLICT (login) DO UPDATE SET password_hash=excluded.password_hash, "
                "role=excluded.role, email=excluded.email, language=excluded.language, "
                "updated_at=excluded.updated_at")


class SqlAccountReads:
    __slots__ = ("_reader",)

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def get(self, account_id: str) -> Account | None:
        row = self._reader().execute(
            "SELECT id, name, kind FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return None if row is None else Account(*row)

    def get_many(self, account_ids: Sequence[str]) -> dict[str, Account]:
        found: dict[str, Account] = {}
        for chunk in chunks(account_ids):
            marks = ",".join("?" * len(chunk))
            for row in self._reader().execute(
                    f"SELECT id, name, kind FROM accounts WHERE id IN ({marks})", chunk):
                found[row[0]] = Account(*row)
        return found


class SqlAccountWrites:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, account: Account, now: datetime) -> None:
        self.put_many([account], now)

    def put_many(self, accounts: Sequence[Account], now: datetime) -> None:
        stamp = iso(now)
        insert_rows(self._conn, _INSERT_ACCOUNT,
                    [(a.id, a.name, a.kind, stamp, stamp) for a in accounts], _UPDATE_ACCOUNT)


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

    def of_account(self, account_id: str) -> list[User]:
        """The account's users, by login."""
        return [User(*row) for row in self._reader().execute(
            "SELECT login, account_id, password_hash, role, email, language FROM users "
            "WHERE account_id = ? ORDER BY login", (account_id,))]

    def get_many(self, logins: Sequence[str]) -> dict[str, User]:
        found: dict[str, User] = {}
        for chunk in chunks(logins):
            marks = ",".join("?" * len(chunk))
            for row in self._reader().execute(
                    "SELECT login, account_id, password_hash, role, email, language FROM "
                    f"users WHERE login IN ({marks})", chunk):
                found[row[0]] = User(*row)
        return found


class SqlUserWrites:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, user: User, now: datetime) -> None:
        """Add a user, or change one (its account stays the one it was created in)."""
        self.put_many([user], now)

    def put_many(self, users: Sequence[User], now: datetime) -> None:
        stamp = iso(now)
        insert_rows(self._conn, _INSERT_USER, [
            (u.login, u.account_id, u.password_hash, u.role, u.email, u.language, stamp, stamp)
            for u in users], _UPDATE_USER)
