"""The embedded store: SQLite in WAL mode.

Transactions are `BEGIN IMMEDIATE ... COMMIT` with `synchronous=FULL`, so a
transaction that returned is on disk and a SIGKILL afterwards loses nothing; WAL
lets readers (one connection per thread) read while the writer writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conso.store.base import StoreError
from conso.store.sql import Connection, SqlStore


class SQLiteStore(SqlStore):
    begin = "BEGIN IMMEDIATE"
    errors = (sqlite3.Error,)

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._synchronous = synchronous
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
        return conn
