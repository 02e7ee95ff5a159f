"""The SQL of login tokens: kept by their hash, with their user and expiry.

Only a token's hash is stored (auth.py hashes it); nothing here checks passwords,
expiry or roles (auth.py's), and nothing handles transactions (store.py's).
"""

from __future__ import annotations

from datetime import datetime

from conso.store.base import Token
from conso.store.sql.connection import Connection, Reader, iso, parse_iso


class SqlTokenReads:
    __slots__ = ("_reader",)

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def get(self, token_hash: str) -> Token | None:
        row = self._reader().execute(
            "SELECT login, expires_at FROM auth_tokens WHERE token_hash = ?", (token_hash,)
        ).fetchone()
        return None if row is None else Token(row[0], parse_iso(row[1]))


class SqlTokenWrites:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, token_hash: str, token: Token, now: datetime) -> None:
        """Store a new token (a hash stored already fails the transaction)."""
        self._conn.execute(
            "INSERT INTO auth_tokens (token_hash, login, created_at, expires_at) VALUES (?,?,?,?)",
            (token_hash, token.login, iso(now), iso(token.expires_at)),
        )

    def delete(self, token_hash: str) -> None:
        self._conn.execute("DELETE FROM auth_tokens WHERE token_hash = ?", (token_hash,))

    def delete_expired(self, now: datetime) -> int:
        cur = self._conn.execute("DELETE FROM auth_tokens WHERE expires_at <= ?", (iso(now),))
        return cur.rowcount

    def delete_of_user(self, login: str, *, keep: str | None = None) -> int:
        """Delete every token of `login` but `keep` (a hash); how many were deleted."""
        cur = self._conn.execute(
            "DELETE FROM auth_tokens WHERE login = ? AND token_hash <> ?", (login, keep or ""))
        return cur.rowcount
