"""The embedded store: SQLite in WAL mode.

Transactions are `BEGIN IMMEDIATE ... COMMIT` with `synchronous=FULL`, so a
transaction that returned is on disk and a SIGKILL afterwards loses nothing; WAL
lets readers (one connection per thread) read while the writer writes.

Records are written to `usage_recent`, which has no per-line index: a batch of
records for a thousand lines then appends a few pages, where `usage_records` would
dirty one random page of its (line, cycle) index per record, and that page write was
most of a batch's commit. A maintenance thread merges them into `usage_records` in
line order, 200,000 at a time or when ingestion pauses, so each index page is written
once per merge rather than once per batch. A merge sorts what it takes into a
temporary table of its own connection, then moves it in steps by ranges of lines,
one short transaction each that also records its progress (`merge_progress`), so
commits go on between steps and a merge cut short resumes. Readers see both tables in
one statement, leaving out what the progress says is copied; the store knows which
lines have records not merged yet (it is their only writer: one engine per SQLite
file), so reads of other lines stay on the index.

A batch's cycle rows (a line's usage in a cycle, written with the records that changed
it) go the same way for the same reason: appended to `cycle_usage_recent`, where an
upsert into `cycle_usage` would dirty a random page of its key per line the batch
touched, and merged after the records, each (line, cycle)'s last row upserted in key
order. A reader takes a line's last row there over its cycle_usage row.

The same thread runs the checkpoints (copying the WAL back into the database file),
so that no commit pays for one.

Only what is SQLite's own lives here (the connection's pragmas, the two inboxes and
their merge, checkpoints); the SQL of the tables is sql/'s, and no query that PostgreSQL
would need too belongs here.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from conso.store.base import StoredRecord, StoreError
from conso.store.sql.connection import Connection
from conso.store.sql.store import SqlStore, SqlTx
from conso.store.sql.usage import CYCLE_COLUMNS, CYCLE_UPSERT, RECORD_COLUMNS

log = logging.getLogger("conso.store")

# The maintenance thread wakes this often; the writer checkpoints by itself only
# when the WAL passes SAFETY_NET_PAGES (the thread fell behind, or is not running).
MAINTENANCE_INTERVAL_S = 0.25
SAFETY_NET_PAGES = 25_000     # ~100 MB of WAL
# Records are merged into usage_records when this many are waiting, or when none
# came for MERGE_IDLE_S. A merge holds the write lock for ~3-8 us a record here (more
# with more lines); larger merges cost less a record, as each index page they write
# takes more records at once, but make reads of recently active lines scan more.
MERGE_ROWS = 200_000
# A merge goes in steps, one short transaction each, by ranges of lines (so that each
# step writes a contiguous part of the index); between steps, commits go on. A step
# holds the writer for less than a batch takes to rate (~20 ms at a million lines).
MERGE_STEP_ROWS = 5_000
MERGE_STEP_PAUSE_S = 0.002
# Sorts after every line id (E.164 numbers and [A-Za-z0-9._:-]): the last step's end.
AFTER_ALL_LINES = "~"
MERGE_IDLE_S = 2.0


class SQLiteStore(SqlStore):
    begin = "BEGIN IMMEDIATE"
    errors = (sqlite3.Error,)

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._synchronous = synchronous
        self._maintenance: threading.Thread | None = None
        self._stopping = threading.Event()
        # Lines with rows in usage_recent or cycle_usage_recent; None until a merge
        # emptied them (before, another process may have left rows there: every read looks).
        self._recent_lines: set[str] | None = None
        self._recent_rows = 0
        self._recent_cycles = 0
        self._last_insert = 0.0
        # Lines written while a merge runs: what the inboxes hold once it is done.
        self._merging: set[str] | None = None
        self._merge_lock = threading.Lock()  # one merge at a time
        self._merge_conn: Connection | None = None
        self._merge_failure: str | None = None
        super().__init__()

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        if url.startswith("sqlite:///"):
            raw = url.removeprefix("sqlite:///")
        elif url.startswith("sqlite://"):
            raw = url.removeprefix("sqlite://")
        else:
            raw = url
        if not raw:
            raise StoreError(f"no path in {url!r}; expected sqlite:///PATH")
        return cls(Path(raw))

    def _open(self) -> Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        # Reads through a shared memory map rather than each connection's page cache:
        # with a million lines the indexes outgrow SQLite's default 2 MB cache.
        conn.execute("PRAGMA mmap_size=1073741824")
        conn.execute("PRAGMA cache_size=-16384")
        conn.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        if self._maintenance is None:
            self._start_maintenance()
        with super().transaction() as tx:
            yield tx

    def _begin_write(self) -> Connection:
        """BEGIN IMMEDIATE on the writer. A transaction that a failure left open (a
        ROLLBACK that could not run) is ended first: it committed nothing."""
        writer = self._writer
        if isinstance(writer, sqlite3.Connection) and writer.in_transaction:
            log.warning("store %s: a failed transaction was still open; rolled back", self.path)
            writer.execute("ROLLBACK")
        writer.execute(self.begin)
        return writer

    def _tx(self, conn: Connection) -> SqlTx:
        return SqlTx(conn, row_locks=self.row_locks, inbox="usage_recent",
                     on_records=self._noted, cycle_inbox="cycle_usage_recent",
                     on_cycles=self._noted_cycles)

    def _noted(self, records: Sequence[StoredRecord]) -> None:
        """Records just written to usage_recent, not committed yet (under the write lock)."""
        self._note_lines({r.line_id for r in records})
        self._recent_rows += len(records)

    def _noted_cycles(self, line_ids: Sequence[str]) -> None:
        """Cycle rows just written to cycle_usage_recent, not committed yet (the same)."""
        self._note_lines(line_ids)
        self._recent_cycles += len(line_ids)

    def _note_lines(self, lines: Collection[str]) -> None:
        if self._recent_lines is not None:
            self._recent_lines.update(lines)
        if self._merging is not None:
            self._merging.update(lines)
        self._last_insert = time.monotonic()

    def _maybe_recent(self, line_ids: Sequence[str]) -> list[str]:
        known = self._recent_lines
        if known is None:
            return list(line_ids)
        return [line_id for line_id in line_ids if line_id in known]

    def merge_recent(self) -> int:
        """Move the records of usage_recent into usage_records. Returns how many moved."""
        moved = 0
        for step in self.merge_steps():
            moved += step
        return moved

    def merge_steps(self) -> Iterator[int]:
        """Merge usage_recent into usage_records one range of lines at a time, in line
        order, yielding how many records each step moved; then cycle_usage_recent into
        cycle_usage (`_merge_cycles`: steps that yield 0). The records are first copied,
        sorted by line, into a temporary table of the merge's own connection (no write
        lock needed); then each step moves one range of lines, about MERGE_STEP_ROWS
        records, in a short transaction that also moves `merge_progress`: commits go on
        between steps, readers (here or in another process) never count a record twice,
        and an unfinished merge (a crash) is resumed, not redone. Rows written during the
        merge wait for the next one."""
        with self._merge_lock:
            with self._write_lock:  # where to start, and what this merge takes
                conn = self._writer
                upto, below = conn.execute(
                    "SELECT upto, below FROM merge_progress WHERE id = 1").fetchone()
                resumed = bool(upto)
                if not resumed:
                    upto = conn.execute(
                        "SELECT MAX(rowid) FROM usage_recent").fetchone()[0] or 0
                    below = ""
                cycles_upto = conn.execute(
                    "SELECT MAX(rowid) FROM cycle_usage_recent").fetchone()[0] or 0
                if not upto and not cycles_upto:
                    # Nothing waits: from now on, this store knows what does.
                    self._recent_lines = set()
                    self._recent_rows = self._recent_cycles = 0
                    return
                self._merging = set()
                rows_before, cycles_before = self._recent_rows, self._recent_cycles
            merger = self._merger()
            try:
                for n, (start, end) in enumerate(
                        self._sorted_copy(merger, upto, below) if upto else ()):
                    if n:
                        time.sleep(MERGE_STEP_PAUSE_S)  # let a waiting commit take the writer
                    with self._write_lock:
                        moved = self._in_transaction(
                            merger,
                            (f"INSERT INTO main.usage_records ({RECORD_COLUMNS}) "
                             f"SELECT {RECORD_COLUMNS} FROM temp.merge_batch "
                             "WHERE line_id >= ? AND line_id < ? ORDER BY line_id",
                             (start, end)),
                            ("UPDATE main.merge_progress SET upto = ?, below = ? WHERE id = 1",
                             (upto, end)))
                    yield moved  # not holding the writer: the caller may write meanwhile
                if cycles_upto:
                    yield from self._merge_cycles(merger, cycles_upto)
                with self._write_lock:
                    self._in_transaction(
                        merger,
                        ("DELETE FROM main.usage_recent WHERE rowid <= ?", (upto,)),
                        ("DELETE FROM main.cycle_usage_recent WHERE rowid <= ?", (cycles_upto,)),
                        ("UPDATE main.merge_progress SET upto = 0, below = '' WHERE id = 1", ()))
                    # Left in the inboxes: what was written during the merge, and, after a
                    # resumed merge, what the crashed process wrote after that one began
                    # (unknown here: every read looks until the next merge).
                    self._recent_lines = None if resumed else self._merging
                    self._recent_rows = max(0, self._recent_rows - rows_before)
                    self._recent_cycles = max(0, self._recent_cycles - cycles_before)
            finally:
                self._merging = None
                merger.execute("DROP TABLE IF EXISTS temp.merge_batch")
                merger.execute("DROP TABLE IF EXISTS temp.merge_cycles")

    def _merge_cycles(self, merger: Connection, upto: int) -> Iterator[int]:
        """Upsert into cycle_usage the last row of each (line, cycle) in
        cycle_usage_recent up to rowid `upto`: copied in key order into a temporary table
        first (no write lock), then MERGE_STEP_ROWS keys a short transaction. Readers take
        a line's last row in cycle_usage_recent over its cycle_usage row until the rows
        are deleted (after the last step, with the records'), so a step changes nothing
        they see; a merge cut short leaves the rows, and the next one upserts them again
        (the same values: nothing to resume). Yields 0 (no record moved) after each step."""
        merger.execute("DROP TABLE IF EXISTS temp.merge_cycles")
        merger.execute(
            f"CREATE TEMP TABLE merge_cycles AS SELECT {CYCLE_COLUMNS}, updated_at "
            "FROM main.cycle_usage_recent WHERE rowid IN (SELECT MAX(rowid) "
            "FROM main.cycle_usage_recent WHERE rowid <= ? GROUP BY line_id, cycle_start) "
            "ORDER BY line_id, cycle_start", (upto,))
        count = merger.execute("SELECT MAX(rowid) FROM temp.merge_cycles").fetchone()[0] or 0
        for first in range(0, count, MERGE_STEP_ROWS):
            time.sleep(MERGE_STEP_PAUSE_S)  # after the records' last step too
            with self._write_lock:
                self._in_transaction(
                    merger,
                    (f"INSERT INTO main.cycle_usage ({CYCLE_COLUMNS}, updated_at) "
                     f"SELECT {CYCLE_COLUMNS}, updated_at FROM temp.merge_cycles "
                     f"WHERE rowid > ? AND rowid <= ? {CYCLE_UPSERT}",
                     (first, first + MERGE_STEP_ROWS)))
            yield 0

    def _merger(self) -> Connection:
        """The merge's own connection, for its temporary table. SQLite keeps that in a
        temporary file (the OS's cache, not this process's memory: ~40 MB a merge)."""
        if self._merge_conn is None:
            self._merge_conn = self._connect()
        return self._merge_conn

    def _sorted_copy(self, merger: Connection, upto: int, below: str) -> list[tuple[str, str]]:
        """Copy what this merge takes into temp.merge_batch in line order; return the
        steps as [start, end) ranges of line ids, about MERGE_STEP_ROWS records each (a
        line's records are never split between two steps)."""
        merger.execute("DROP TABLE IF EXISTS temp.merge_batch")
        merger.execute(
            f"CREATE TEMP TABLE merge_batch AS SELECT {RECORD_COLUMNS} FROM main.usage_recent "
            "WHERE rowid <= ? AND line_id >= ? ORDER BY line_id, cycle_start", (upto, below))
        # Each step reads its range through this (entries in line, then rowid order).
        merger.execute("CREATE INDEX temp.merge_batch_line ON merge_batch (line_id)")
        cuts = sorted({row[0] for row in merger.execute(
            "SELECT line_id FROM temp.merge_batch WHERE rowid % ? = 0",
            (MERGE_STEP_ROWS,))} - {below})
        return list(itertools.pairwise([below, *cuts, AFTER_ALL_LINES]))

    def _merge_due(self) -> bool:
        if self._recent_lines is None or max(self._recent_rows, self._recent_cycles) >= MERGE_ROWS:
            return True
        waiting = self._recent_rows or self._recent_cycles
        return bool(waiting) and time.monotonic() - self._last_insert > MERGE_IDLE_S

    def _start_maintenance(self) -> None:
        with self._all_lock:
            if self._maintenance is not None:
                return
            self._maintenance = threading.Thread(
                target=self._maintenance_loop, name="conso-store-maintenance", daemon=True)
            self._maintenance.start()

    def _maintenance_loop(self) -> None:
        conn = self._connect()
        while not self._stopping.wait(MAINTENANCE_INTERVAL_S):
            try:
                if self._merge_due():
                    started = time.perf_counter()
                    moved = self.merge_recent()
                    if moved:
                        log.info("merged %d records into usage_records in %.0f ms", moved,
                                 (time.perf_counter() - started) * 1000)
                    self._merge_failure = None
                # PASSIVE: copies what no reader still needs and never blocks the writer.
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as exc:
                if self._stopping.is_set():
                    return
                if str(exc) != self._merge_failure:  # once per distinct failure, not 4 a second
                    log.warning("store maintenance of %s failed (will retry): %s",
                                self.path, exc)
                    self._merge_failure = str(exc)

    def close(self) -> None:
        self._stopping.set()
        if self._maintenance is not None:
            self._maintenance.join(30)
        super().close()
