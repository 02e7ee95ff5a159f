"""The embedded store: SQLite in WAL mode.

Transactions are `BEGIN IMMEDIATE ... COMMIT` with `synchronous=FULL`, so a
transaction that returned is on disk and a SIGKILL afterwards loses nothing; WAL
lets readers (one connection per thread) read while the writer writes.

Checkpoints (copying the WAL back into the database file) run on a thread of their
own, not in the commit that happens to fill the WAL: a batch's answer waits for its
commit, and a checkpoint of random index pages costs as much as the commit itself.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conso.store.base import StoreError
from conso.store.sql import Connection, SqlStore, SqlTx

log = logging.getLogger("conso.store")

# The background checkpoint runs this often; the writer checkpoints by itself only
# when the WAL passes SAFETY_NET_PAGES (the thread fell behind, or is not running).
CHECKPOINT_INTERVAL_S = 0.25
SAFETY_NET_PAGES = 25_000     # ~100 MB of WAL


class SQLiteStore(SqlStore):
    begin = "BEGIN IMMEDIATE"
    errors = (sqlite3.Error,)

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._synchronous = synchronous
        self._checkpointer: threading.Thread | None = None
        self._stopping = threading.Event()
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
        if self._checkpointer is None:
            self._start_checkpointer()
        with super().transaction() as tx:
            yield tx

    def _start_checkpointer(self) -> None:
        with self._all_lock:
            if self._checkpointer is not None:
                return
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="conso-checkpoint", daemon=True)
            self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        conn = self._connect()
        while not self._stopping.wait(CHECKPOINT_INTERVAL_S):
            try:
                # PASSIVE: copies what no reader still needs and never blocks the writer.
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as exc:
                if self._stopping.is_set():
                    return
                log.warning("background checkpoint of %s failed: %s", self.path, exc)

    def close(self) -> None:
        self._stopping.set()
        if self._checkpointer is not None:
            self._checkpointer.join(5)
        super().close()
