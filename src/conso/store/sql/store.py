"""The store over SQL, for SQLite (sqlite.py) and PostgreSQL (postgres.py).

One writer connection, guarded by a lock, runs `BEGIN ... COMMIT` transactions;
readers use one connection per thread. The SQL is written once, in the portable
subset both databases speak (`?` placeholders and `INSERT OR IGNORE` are rewritten
for PostgreSQL by its connection adapter), in one module per aggregate (accounts,
lines, usage, outbox, sessions, tokens, offsets, logins). This module connects,
migrates and runs transactions, and hands out those modules' repositories: the reads
as the store's attributes, the writes as a transaction's. A subclass says how to connect.
No SQL about a table here.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from conso.store.base import CommitInDoubt, StoredRecord, StoreError
from conso.store.migrations import load_migrations
from conso.store.sql.accounts import (
    SqlAccountReads,
    SqlAccountWrites,
    SqlUserReads,
    SqlUserWrites,
)
from conso.store.sql.connection import Connection, LazyWriter, in_transaction, iso
from conso.store.sql.lines import SqlLineReads, SqlLineWrites
from conso.store.sql.logins import SqlLoginReads, SqlLoginWrites
from conso.store.sql.offsets import SqlOffsetReads, SqlOffsetWrites
from conso.store.sql.outbox import SqlOutboxReads, SqlOutboxWrites
from conso.store.sql.sessions import SqlSessionReads, SqlSessionWrites
from conso.store.sql.tokens import SqlTokenReads, SqlTokenWrites
from conso.store.sql.usage import SqlUsageReads, SqlUsageWrites

log = logging.getLogger("conso.store")


class SqlTx:
    """One write transaction: its repositories, all on the transaction's writer.
    Built once per transaction (a batch of records is one)."""

    __slots__ = ("_conn", "accounts", "lines", "logins", "offsets", "outbox", "sessions",
                 "tokens", "usage", "users")

    def __init__(self, conn: Connection, *, row_locks: bool = False,
                 inbox: str = "usage_records",
                 on_records: Callable[[Sequence[StoredRecord]], None] | None = None,
                 cycle_inbox: str = "cycle_usage",
                 on_cycles: Callable[[Sequence[str]], None] | None = None,
                 dialect: str = "sqlite") -> None:
        self._conn = conn
        self.accounts = SqlAccountWrites(conn)
        self.users = SqlUserWrites(conn)
        self.lines = SqlLineWrites(conn, row_locks=row_locks)
        self.usage = SqlUsageWrites(conn, inbox=inbox, on_records=on_records,
                                    cycle_inbox=cycle_inbox, on_cycles=on_cycles,
                                    dialect=dialect)
        self.outbox = SqlOutboxWrites(conn)
        self.sessions = SqlSessionWrites(conn)
        self.tokens = SqlTokenWrites(conn)
        self.offsets = SqlOffsetWrites(conn)
        self.logins = SqlLoginWrites(conn)


    def pipeline(self) -> contextlib.AbstractContextManager[Any]:
        """The block's statements in one round trip where the database can (LazyWriter)."""
        start: Callable[[], contextlib.AbstractContextManager[Any]] | None = getattr(
            self._conn, "pipeline", None)
        return contextlib.nullcontext() if start is None else start()


class SqlStore:
    """The store over any `Connection`; subclasses implement `_open`."""

    url: str
    # How a write transaction starts, and which exceptions mean the store failed.
    begin = "BEGIN"
    dialect = "sqlite"  # which migrations apply (see migrations/__init__.py)
    errors: tuple[type[BaseException], ...] = ()
    # Whether transactions take row locks (PostgreSQL: several processes may write).
    row_locks = False

    def __init__(self) -> None:
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list[Connection] = []
        self._all_lock = threading.Lock()
        try:
            self._writer = self._connect()
        except self.errors as exc:
            raise StoreError(f"cannot open {self.url}: {exc}") from exc
        # The reads: each asks `_reader` for its connection at every statement.
        reader = self._reader
        self.accounts = SqlAccountReads(reader)
        self.users = SqlUserReads(reader)
        self.lines = SqlLineReads(reader)
        self.usage = SqlUsageReads(reader, self._maybe_recent)
        self.outbox = SqlOutboxReads(reader)
        self.sessions = SqlSessionReads(reader)
        self.tokens = SqlTokenReads(reader)
        self.offsets = SqlOffsetReads(reader)
        self.logins = SqlLoginReads(reader)

    def _open(self) -> Connection:
        raise NotImplementedError

    def schema(self, sql: str) -> str:
        """A migration in this database's dialect (the files are written for SQLite)."""
        return sql

    def _connect(self) -> Connection:
        conn = self._open()
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _reader(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()

    def redacted_url(self) -> str:
        """The URL without secrets, for logs."""
        return self.url

    def ping(self) -> None:
        try:
            self._reader().execute("SELECT 1").fetchone()
        except self.errors as exc:
            raise StoreError(str(exc)) from exc

    def migrate(self) -> list[str]:
        """Apply the migrations not applied yet; return their names."""
        applied: list[str] = []
        with self._write_lock:
            conn = self._writer
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for migration in load_migrations(self.dialect):
                if migration.version in done:
                    continue
                self._in_transaction(
                    conn,
                    *[(statement, ()) for statement in _statements(self.schema(migration.sql))],
                    ("INSERT INTO schema_migrations VALUES (?,?,?)",
                     (migration.version, migration.name, iso(datetime.now(UTC)))))
                applied.append(f"{migration.version:04d}_{migration.name}")
        return applied

    def _in_transaction(self, conn: Connection,
                        *statements: tuple[str, tuple[object, ...]]) -> int:
        """Run statements in one write transaction on `conn` (the caller holds the
        write lock); returns the first one's row count."""
        return in_transaction(conn, self.begin, *statements)

    def _tx(self, conn: Connection) -> SqlTx:
        return SqlTx(conn, row_locks=self.row_locks, dialect=self.dialect)

    def _begin_write(self) -> Connection:
        """The writer inside a transaction just begun (the write lock is held). A store
        whose connections can break (PostgreSQL) replaces the writer here."""
        self._writer.execute(self.begin)
        return self._writer

    def _maybe_recent(self, line_ids: Sequence[str]) -> list[str]:
        """Of these lines, those that may have records still in usage_recent, not yet
        merged into usage_records (SQLite only; see sqlite.py)."""
        return []

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        """A write transaction, begun at its first statement: a command that reads and
        rates before it writes holds the writer only for its writes (meanwhile the
        SQLite merge, or another thread's commit, has it), and one that writes nothing
        commits nothing. Reads never go through the writer, so they see the same
        committed state either way."""
        writer = LazyWriter(self._write_lock, self._begin_write)
        try:
            yield self._tx(writer)
        except BaseException:
            # What went wrong is the error to raise, not a ROLLBACK that cannot run (the
            # database ended the transaction itself, or the connection is gone: a broken
            # writer is replaced at the next BEGIN).
            with contextlib.suppress(*self.errors):
                writer.end("ROLLBACK")
            raise
        begun = writer.begun
        try:
            writer.end("COMMIT")
        except self.errors as exc:
            if not begun:
                raise
            log.error("commit failed on %s: %s", self.redacted_url(), exc)
            raise CommitInDoubt(f"commit failed: {exc}") from exc


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (our migrations have no ';' inside literals)."""
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
