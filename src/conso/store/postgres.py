"""The production store: PostgreSQL through psycopg 3.

The same SQL as SQLite (store/sql.py): this module connects, rewrites the few
SQLite-isms (`?` placeholders, `INSERT OR IGNORE`, integer widths in the
migrations) and says which errors mean the store failed. Connections run in
autocommit mode with explicit `BEGIN ... COMMIT`, one writer and one reader per
thread, like the SQLite store.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from conso.store.sql import Connection, Cursor, SqlStore

_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.IGNORECASE)


def pg_sql(sql: str) -> str:
    """One statement of store/sql.py in PostgreSQL's dialect."""
    if _INSERT_OR_IGNORE.match(sql):
        sql = _INSERT_OR_IGNORE.sub("INSERT INTO", sql, count=1) + " ON CONFLICT DO NOTHING"
    # Our SQL has no '?' or '%' in literals: placeholders are all there is to rewrite.
    return sql.replace("%", "%%").replace("?", "%s")


def pg_schema(sql: str) -> str:
    """A migration written for SQLite, for PostgreSQL: 64-bit integers, serial keys."""
    sql = re.sub(r"INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY", sql)
    return re.sub(r"\bINTEGER\b", "BIGINT", sql)


class _PgCursor:
    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class _PgConnection:
    """A psycopg connection speaking the SQLite-flavoured SQL of store/sql.py."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        cursor = self._conn.cursor()
        cursor.execute(pg_sql(sql), tuple(parameters) if parameters else None)
        return _PgCursor(cursor)

    def executemany(self, sql: str, parameters: Sequence[Sequence[Any]], /) -> None:
        rows = list(parameters)
        if rows:
            with self._conn.cursor() as cursor:
                cursor.executemany(pg_sql(sql), rows)

    def close(self) -> None:
        self._conn.close()


class PostgresStore(SqlStore):
    begin = "BEGIN"
    errors = (psycopg.Error,)

    def __init__(self, url: str) -> None:
        self.url = url
        self.dsn = url
        super().__init__()

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        return cls(url)

    def _open(self) -> Connection:
        return _PgConnection(psycopg.connect(self.dsn, autocommit=True, connect_timeout=10))

    def schema(self, sql: str) -> str:
        return pg_schema(sql)

    def redacted_url(self) -> str:
        """The URL without its password, for logs."""
        return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", self.url)
