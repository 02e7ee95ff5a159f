"""The production store: PostgreSQL through psycopg 3.

The same SQL as SQLite (store/sql/): this module connects, rewrites the few
SQLite-isms (`?` placeholders, `INSERT OR IGNORE`, integer widths in the
migrations) and says which errors mean the store failed. Connections run in
autocommit mode with explicit `BEGIN ... COMMIT`: one writer connection, and reads
on connections borrowed from a pool for one statement each. Several conso
processes may share the database: write transactions lock the rows of the lines
they change (`row_locks`), and migrations run under an advisory lock. No query of
its own beyond those locks: the SQL of the tables is sql/'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from conso.store.base import StoreError
from conso.store.sql.connection import Connection, Cursor
from conso.store.sql.store import SqlStore

# Read connections a process keeps at most (each is borrowed for one statement).
POOL_SIZE = 8

_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.IGNORECASE)


def pg_sql(sql: str) -> str:
    """One statement of store/sql/ in PostgreSQL's dialect."""
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


def redacted(url: str) -> str:
    """A database URL without its password, for logs."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


class _Rows:
    """A finished read: rows fetched before its connection went back to the pool."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class _PooledReader:
    """Reads, each on a connection borrowed from the pool for that one statement."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        with self._pool.connection() as conn, conn.cursor() as cursor:
            cursor.execute(pg_sql(sql), tuple(parameters) if parameters else None)
            rows = cursor.fetchall() if cursor.description else []
            return _Rows(rows, cursor.rowcount)

    def executemany(self, sql: str, parameters: Sequence[Sequence[Any]], /) -> None:
        raise TypeError("reads only")

    def close(self) -> None:
        self._pool.close()


class _PgConnection:
    """A psycopg connection speaking the SQLite-flavoured SQL of store/sql/."""

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
    dialect = "postgres"
    errors = (psycopg.Error,)
    row_locks = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.dsn = url
        super().__init__()
        try:
            self._pool: ConnectionPool[Any] = ConnectionPool(
                self.dsn, min_size=1, max_size=POOL_SIZE, open=True, timeout=30,
                kwargs={"autocommit": True, "connect_timeout": 10},
                name="conso-readers")
        except self.errors as exc:
            self.close()
            raise StoreError(f"cannot open {self.redacted_url()}: {exc}") from exc
        self._pooled = _PooledReader(self._pool)

    def _reader(self) -> Connection:
        return self._pooled

    def close(self) -> None:
        super().close()
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()

    def migrate(self) -> list[str]:
        """Migrate under an advisory lock: processes starting together migrate once."""
        conn = self._writer
        conn.execute("SELECT pg_advisory_lock(hashtext('conso-migrate'))")
        try:
            return super().migrate()
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('conso-migrate'))")

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        return cls(url)

    def _open(self) -> Connection:
        return _PgConnection(psycopg.connect(self.dsn, autocommit=True, connect_timeout=10))

    def schema(self, sql: str) -> str:
        return pg_schema(sql)

    def redacted_url(self) -> str:
        """The URL without its password, for logs."""
        return redacted(self.url)
