"""The embedded store: SQLite in WAL mode.

Transactions are `BEGIN IMMEDIATE ... COMMIT` with `synchronous=FULL`, so a
transaction that returned is on disk and a SIGKILL afterwards loses nothing; WAL
lets readers (one connection per thread) read while the writer writes.

Records are written to `usage_recent`, which has no per-line index: a batch of
records for a thousand lines then appends a few pages, where `usage_records` would
dirty one random page of its (line, cycle) index per record, and that page write was
most of a batch's commit. A maintenance thread merges them into `usage_records` in
line order, 200,000 at a time or when ingestion pauses, so each index page is written
once per merge rather than once per batch. Readers see both tables in one statement;
the store knows which lines have records not merged yet (it is their only writer: one
engine per SQLite file), so reads of other lines stay on the index.

The same thread runs the checkpoints (copying the WAL back into the database file),
so that no commit pays for one.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from conso.store.base import StoredRecord, StoreError
from conso.store.sql import RECORD_COLUMNS, Connection, SqlStore, SqlTx

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
        # Lines with records in usage_recent; None until a merge emptied it (before,
        # another process may have left records there: every read looks).
        self._recent_lines: set[str] | None = None
        self._recent_rows = 0
        self._last_insert = 0.0
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

    def _tx(self, conn: Connection) -> SqlTx:
        return SqlTx(conn, row_locks=self.row_locks, inbox="usage_recent",
                     on_records=self._noted)

    def _noted(self, records: Sequence[StoredRecord]) -> None:
        """Records just written to usage_recent, not committed yet (under the write lock)."""
        if self._recent_lines is not None:
            self._recent_lines.update(r.line_id for r in records)
        self._recent_rows += len(records)
        self._last_insert = time.monotonic()

    def _maybe_recent(self, line_ids: Sequence[str]) -> list[str]:
        known = self._recent_lines
        if known is None:
            return list(line_ids)
        return [line_id for line_id in line_ids if line_id in known]

    def merge_recent(self) -> int:
        """Move every record of usage_recent into usage_records, in line order, in one
        transaction. Returns how many moved."""
        with self._write_lock:
            conn = self._writer
            conn.execute(self.begin)
            try:
                moved = conn.execute(
                    f"INSERT INTO usage_records ({RECORD_COLUMNS}) SELECT {RECORD_COLUMNS} "
                    "FROM usage_recent ORDER BY line_id, cycle_start").rowcount
                conn.execute("DELETE FROM usage_recent")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self._recent_lines = set()
            self._recent_rows = 0
        return moved

    def _merge_due(self) -> bool:
        if self._recent_lines is None or self._recent_rows >= MERGE_ROWS:
            return True
        return bool(self._recent_rows) and time.monotonic() - self._last_insert > MERGE_IDLE_S

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
