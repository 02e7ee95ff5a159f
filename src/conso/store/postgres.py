"""The production store: PostgreSQL through psycopg 3.

The same SQL as SQLite (store/sql/): this module connects, rewrites the few
SQLite-isms (`?` placeholders, `INSERT OR IGNORE`, integer widths in the
migrations) and says which errors mean the store failed. Connections run in
autocommit mode with explicit `BEGIN ... COMMIT`: one writer connection, and reads
on connections borrowed from a pool for one statement each. Several conso
processes may share the database: write transactions lock the rows of the lines
they change (`row_locks`), and migrations run under an advisory lock. No query of
its own beyond those locks and the upkeep of usage_records' month partitions (created
ahead, dropped once `conso prune` emptied them): the SQL of the tables is sql/'s.

A server that restarts is recovered from without a background task: a broken writer is
replaced at the next transaction, a broken read connection at the next read (see
`_begin_write` and `_PooledReader`); meanwhile callers get the driver's
OperationalError or `StoreUnavailable` (the API answers 503). Nothing waits unbounded.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from conso.store.base import StoreUnavailable
from conso.store.sql.connection import Connection, Cursor
from conso.store.sql.store import SqlStore

log = logging.getLogger("conso.store")

# Read connections a process keeps at most (each is borrowed for one statement).
POOL_SIZE = 8
# How long a read waits for a free read connection before the store counts as unavailable.
POOL_WAIT_S = 10.0
# Every connection: how long connecting may take, and TCP keepalives so that a server
# that vanished without closing its connections is noticed within about half a minute.
CONNECT_OPTIONS: dict[str, Any] = {
    "autocommit": True, "connect_timeout": 5,
    "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
}

# usage_records' partitions (migration 0018): one per month of cycle starts, made this
# many months ahead, checked this often.
PARTITIONS_AHEAD = 2
UPKEEP_INTERVAL_S = 24 * 3600.0
_PARTITION = re.compile(r"^usage_records_([0-9]{4})_([0-9]{2})$")


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    month: date          # the first day of the month of cycle starts it holds
    bytes: int


def partition_name(month: date) -> str:
    return f"usage_records_{month.year:04d}_{month.month:02d}"


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.IGNORECASE)


_INSERT_INTO = re.compile(r"INSERT (OR IGNORE )?INTO (\w+) \(([\w, ]+)\)\Z")


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
    """Reads, each on a connection borrowed for that one statement: at most `size` at
    once, idle ones kept for the next read.

    Recovery without a background task: a connection found broken is dropped, and a
    read that failed on a kept connection (the server restarted while it was idle) runs
    once more on a new one (a read changes nothing). While the server is down a read
    fails at once (connection refused: the API answers 503), and the first read after
    it is back connects again. Waiting for a free connection is bounded too."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]], size: int,
                 wait: float) -> None:
        self._connect = connect
        self._slots = threading.BoundedSemaphore(size)
        self._wait = wait
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._closed = False

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        if not self._slots.acquire(timeout=self._wait):
            raise StoreUnavailable(f"no read connection free within {self._wait:g} s")
        try:
            return self._read(pg_sql(sql), tuple(parameters) if parameters else None)
        finally:
            self._slots.release()

    def _read(self, sql: str, params: tuple[Any, ...] | None) -> _Rows:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        kept = conn is not None
        while True:
            if conn is None:
                conn = self._connect()
            try:
                with conn.cursor() as cursor:
                    cursor.execute(sql, params)
                    rows = _Rows(cursor.fetchall() if cursor.description else [],
                                 cursor.rowcount)
            except BaseException:
                if usable(conn):
                    self._give_back(conn)
                    raise
                conn.close()
                if not kept:
                    raise
                conn, kept = None, False   # it died while idle: once more, connected anew
                continue
            self._give_back(conn)
            return rows

    def _give_back(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(conn)
                return
        conn.close()

    def executemany(self, sql: str, parameters: Sequence[Sequence[Any]], /) -> None:
        raise TypeError("reads only")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def usable(conn: psycopg.Connection[Any]) -> bool:
    """Open, not broken, and outside any transaction (autocommit connections are)."""
    return not conn.closed and not conn.broken \
        and conn.info.transaction_status == TransactionStatus.IDLE


class _PgConnection:
    """A psycopg connection speaking the SQLite-flavoured SQL of store/sql/."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    @property
    def usable(self) -> bool:
        return usable(self._conn)

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        cursor = self._conn.cursor()
        cursor.execute(pg_sql(sql), tuple(parameters) if parameters else None)
        return _PgCursor(cursor)

    def executemany(self, sql: str, parameters: Sequence[Sequence[Any]], /) -> None:
        rows = list(parameters)
        if rows:
            with self._conn.cursor() as cursor:
                cursor.executemany(pg_sql(sql), rows)

    def insert_rows(self, insert: str, rows: Sequence[Sequence[Any]], conflict: str) -> None:
        """Many rows in three round trips whatever their number: COPY into a temporary
        copy of the table, then one INSERT ... SELECT with the conflict clause (the
        multi-row VALUES alternative spends its time in the driver's query parsing)."""
        found = _INSERT_INTO.match(insert)
        if found is None:
            raise ValueError(f"not an INSERT INTO t (columns): {insert!r}")
        ignore, table, columns = found.group(1), found.group(2), found.group(3)
        if ignore:
            conflict = (conflict + " ON CONFLICT DO NOTHING").strip()
        staging = f"bulk_{table}"
        with self._conn.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
                           f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
            with cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} "
                           f"FROM {staging} {conflict}")
            cursor.execute(f"DELETE FROM {staging}")

    def pipeline(self) -> contextlib.AbstractContextManager[Any]:
        return self._conn.pipeline()

    def close(self) -> None:
        self._conn.close()


class _Closed:
    """The writer while the server cannot be reached: the next transaction reconnects."""

    usable = False

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        raise StoreUnavailable("not connected")

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        raise StoreUnavailable("not connected")

    def close(self) -> None:
        pass


class PostgresStore(SqlStore):
    begin = "BEGIN"
    dialect = "postgres"
    errors = (psycopg.Error,)
    row_locks = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.dsn = url
        self._upkeep: threading.Thread | None = None
        self._stopping = threading.Event()
        super().__init__()
        self._pooled = _PooledReader(self._connect_raw, POOL_SIZE, POOL_WAIT_S)

    def _reader(self) -> Connection:
        return self._pooled

    def close(self) -> None:
        self._stopping.set()
        super().close()
        pooled = getattr(self, "_pooled", None)
        if pooled is not None:
            pooled.close()

    def _begin_write(self) -> Connection:
        """The writer inside a transaction just begun (the write lock is held).

        A writer known broken is replaced first. One that broke unseen (the server
        restarted while it was idle) fails its BEGIN: it is replaced then, and BEGIN is
        sent once more (a BEGIN has done nothing). While the server is down this raises
        StoreUnavailable; the first transaction after it is back connects again."""
        writer = self._writer
        if not (isinstance(writer, _PgConnection) and writer.usable):
            writer = self._replace_writer()
        try:
            writer.execute(self.begin)
        except psycopg.OperationalError:
            if isinstance(writer, _PgConnection) and writer.usable:
                raise
            writer = self._replace_writer()
            writer.execute(self.begin)
        return writer

    def _replace_writer(self) -> Connection:
        old = self._writer
        with self._all_lock:
            if old in self._all:
                self._all.remove(old)
        with contextlib.suppress(Exception):
            old.close()
        try:
            self._writer = self._connect()
        except psycopg.OperationalError as exc:
            self._writer = _Closed()
            raise StoreUnavailable(f"cannot reach {self.redacted_url()}: {exc}") from exc
        log.warning("store %s: writer connection replaced", self.redacted_url())
        return self._writer

    def migrate(self) -> list[str]:
        """Migrate under an advisory lock: processes starting together migrate once.
        Then the partitions of the coming months are made, and made again every day
        while the store is open (a thread that sleeps in between)."""
        conn = self._writer
        conn.execute("SELECT pg_advisory_lock(hashtext('conso-migrate'))")
        try:
            applied = super().migrate()
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('conso-migrate'))")
        self.ensure_partitions(datetime.now(UTC).date())
        if self._upkeep is None:
            self._upkeep = threading.Thread(target=self._upkeep_loop, daemon=True,
                                            name="conso-partition-upkeep")
            self._upkeep.start()
        return applied

    # -- partitions of usage_records by cycle month (migration 0018) ------------------------

    def partitions(self) -> list[Partition]:
        """usage_records' month partitions (pg_inherits), oldest first, and their sizes;
        the default partition is left out."""
        found = []
        for name, size in self._reader().execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'usage_records'::regclass ORDER BY c.relname"
        ):
            month = _PARTITION.match(name)
            if month is not None:
                found.append(Partition(name, date(int(month[1]), int(month[2]), 1), size))
        return found

    def ensure_partitions(self, today: date, ahead: int = PARTITIONS_AHEAD) -> list[str]:
        """Create the partitions of this month and the `ahead` next ones that are
        missing; returns their names. A month whose records are in the default
        partition already (the table as it was before 0018) is left there: its rows
        leave it as they are pruned."""
        have = {p.month for p in self.partitions()}
        made = []
        month = today.replace(day=1)
        for _ in range(ahead + 1):
            following = _next_month(month)
            if month not in have:
                name = partition_name(month)
                try:
                    with self._write_lock:
                        self._in_transaction(
                            self._begin_write_conn(),
                            ("SET LOCAL lock_timeout = '5s'", ()),
                            (f"CREATE TABLE {name} PARTITION OF usage_records FOR VALUES "
                             f"FROM ('{month.isoformat()}') TO ('{following.isoformat()}')", ()))
                    made.append(name)
                    log.info("created partition %s", name)
                except psycopg.errors.CheckViolation:
                    log.info("records of %s are in the default partition: no partition "
                             "made for that month", month.strftime("%Y-%m"))
                except psycopg.Error as exc:   # a lock not granted in time: tomorrow
                    log.warning("could not create partition %s: %s", name, exc)
            month = following
        return made

    def drop_partition(self, name: str) -> bool:
        """Drop a month partition if it holds no record (prune emptied it): in one short
        transaction that waits at most 5 s for the table's lock. False when it is not
        empty, or the lock was not granted (tried again at the next prune)."""
        if _PARTITION.match(name) is None:
            raise ValueError(f"not a month partition: {name!r}")
        try:
            with self._write_lock:
                conn = self._begin_write_conn()
                conn.execute("BEGIN")
                try:
                    conn.execute("SET LOCAL lock_timeout = '5s'")
                    conn.execute(f"LOCK TABLE usage_records, {name} IN ACCESS EXCLUSIVE MODE")
                    if conn.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone() is not None:
                        conn.execute("ROLLBACK")
                        return False
                    conn.execute(f"DROP TABLE {name}")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except psycopg.errors.LockNotAvailable as exc:
            log.warning("partition %s not dropped (will be at the next prune): %s", name, exc)
            return False
        return True

    @contextlib.contextmanager
    def advisory_lock(self, name: str) -> Iterator[bool]:
        """Try to hold the advisory lock `name` on a connection of its own while the
        block runs; yields whether it was granted (another process may hold it)."""
        conn = self._connect_raw()
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (name,)).fetchone()
            yield bool(row and row[0])
        finally:
            conn.close()

    def _begin_write_conn(self) -> Connection:
        """The writer, replaced first if it broke (the caller holds the write lock)."""
        writer = self._writer
        if not (isinstance(writer, _PgConnection) and writer.usable):
            writer = self._replace_writer()
        return writer

    def _upkeep_loop(self) -> None:
        while not self._stopping.wait(UPKEEP_INTERVAL_S):
            try:
                self.ensure_partitions(datetime.now(UTC).date())
            except Exception as exc:   # the database away: tomorrow again
                log.warning("partition upkeep failed: %s", exc)

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        return cls(url)

    def _open(self) -> Connection:
        return _PgConnection(self._connect_raw())

    def _connect_raw(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn, **CONNECT_OPTIONS)

    def connection(self) -> psycopg.Connection[Any]:
        """A connection of its own (autocommit, keepalives), for a caller that keeps
        it: the change feed's LISTEN (store/changes.py)."""
        return self._connect_raw()

    def schema(self, sql: str) -> str:
        return pg_schema(sql)

    def redacted_url(self) -> str:
        """The URL without its password, for logs."""
        return redacted(self.url)
