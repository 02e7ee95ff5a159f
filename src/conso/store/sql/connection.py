"""What the SQL repositories run on: connections, write transactions, shared helpers.

The `Connection`/`Cursor` protocols (a DB-API connection in autocommit mode, as
sqlite3 gives and postgres.py adapts), the lazy writer that begins a transaction at
its first statement, COMMIT/ROLLBACK that never leave a connection inside a failed
transaction, and the small helpers every repository uses (chunks of ids for
`IN (...)`, timestamps as ISO text). No SQL about any table here, and no knowledge
of which database is underneath.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

CHUNK = 500  # ids per IN (...) query, below SQLite's variable limit


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the store needs of a DB-API connection in autocommit mode."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Any, /) -> Any: ...
    def close(self) -> None: ...


# How a read repository reaches the database: a connection for this thread (SQLite), or
# one that borrows a pooled connection per statement (PostgreSQL). Asked at each read.
Reader = Callable[[], Connection]


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


def insert_rows(conn: Connection, insert: str, rows: Sequence[Sequence[Any]],
                conflict: str = "") -> None:
    """`insert` ("INSERT [OR IGNORE] INTO t (a, b)") of many rows, then `conflict`
    ("ON CONFLICT ..."). SQLite takes them by executemany (no round trips to save); a
    connection that can do better says so with an `insert_rows` method of its own
    (PostgreSQL: COPY, one round trip for thousands of rows). Rows of one call must not
    share a key that an ON CONFLICT DO UPDATE would touch twice."""
    if not rows:
        return
    bulk = getattr(conn, "insert_rows", None)
    if bulk is not None:
        bulk(insert, rows, conflict)
        return
    marks = ",".join("?" * len(rows[0]))
    conn.executemany(f"{insert} VALUES ({marks}) {conflict}".rstrip(), rows)


def end(conn: Connection, how: str) -> None:
    """COMMIT or ROLLBACK; a COMMIT that fails is rolled back, so that the connection
    is not left inside a transaction that every later BEGIN would trip on."""
    try:
        conn.execute(how)
    except BaseException:
        if how == "COMMIT":
            with contextlib.suppress(Exception):  # unless the failure ended it already
                conn.execute("ROLLBACK")
        raise


def in_transaction(conn: Connection, begin: str,
                   *statements: tuple[str, tuple[object, ...]]) -> int:
    """Run statements in one write transaction on `conn` (the caller holds the write
    lock); returns the first one's row count."""
    conn.execute(begin)
    try:
        counts = [conn.execute(sql, params).rowcount for sql, params in statements]
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    end(conn, "COMMIT")
    return counts[0]


class LazyWriter:
    """The writer connection as one transaction sees it: the write lock is taken and
    the transaction begun at the first statement, and released when it ends.

    `begin` is called with the lock held and returns the writer inside a transaction
    it began: the store may hand out a new connection there when the old one broke."""

    __slots__ = ("_begin", "_conn", "_lock")

    def __init__(self, lock: threading.Lock, begin: Callable[[], Connection]) -> None:
        self._lock = lock
        self._begin = begin
        self._conn: Connection | None = None

    def _begun(self) -> Connection:
        if self._conn is None:
            self._lock.acquire()
            try:
                self._conn = self._begin()
            except BaseException:
                self._lock.release()
                raise
        return self._conn

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        return self._begun().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        return self._begun().executemany(sql, parameters)

    def insert_rows(self, insert: str, rows: Sequence[Sequence[Any]], conflict: str) -> None:
        insert_rows(self._begun(), insert, rows, conflict)

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[None]:
        """The statements of the block sent together and their answers read at its end
        (PostgreSQL's pipeline mode): a command's writes cost one round trip, not one
        each. An error surfaces at the end of the block. Where the connection has no
        pipeline (SQLite: no round trips), statements run as they come."""
        conn = self._begun()
        start: Callable[[], contextlib.AbstractContextManager[Any]] | None = getattr(
            conn, "pipeline", None)
        if start is None:
            yield
            return
        with start():
            yield

    def close(self) -> None:
        raise TypeError("a transaction's writer is closed by its store")

    @property
    def begun(self) -> bool:
        return self._conn is not None

    def end(self, how: str) -> None:
        """COMMIT or ROLLBACK what was begun, and let the writer go."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            end(conn, how)
        finally:
            self._lock.release()
