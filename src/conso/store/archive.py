"""Where `conso prune` keeps the itemised records it removes from a SQLite store.

Beside the database, one SQLite file per month of cycle starts:
`<db>.archive/<YYYY-MM>.sqlite`, each a plain table `usage_records` with the record
columns of the store (as `usage_records` has them), keyed by (id, cycle_start) as on
PostgreSQL. A file is created when a record of its month is first archived.

Durable before the delete. The prune hands a batch's deleted rows here from inside the
transaction that deletes them (sql/usage.py, `prune`'s `keep`), before it commits: each
month's rows are committed to their file (`synchronous=FULL`, and the directory synced
when the file is new) before `keep` returns. So a crash after the archive's commit and
before the store's leaves the records in both; a run again copies them once more and
`INSERT OR IGNORE` keeps one of each. If archiving fails (disk full...), the store's
transaction rolls back and nothing is deleted.

Reading an archive needs nothing of conso: `sqlite3 conso.db.archive/2025-01.sqlite
"SELECT * FROM usage_records WHERE line_id = '+32470000001'"`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conso.store.sql.usage import RECORD_COLUMNS

_SCHEMA = """CREATE TABLE IF NOT EXISTS usage_records (
    id            TEXT NOT NULL,
    line_id       TEXT NOT NULL,
    cycle_start   TEXT NOT NULL,
    service       TEXT NOT NULL,
    direction     TEXT NOT NULL,
    quantity      INTEGER NOT NULL,
    amount_micros INTEGER NOT NULL,
    country       TEXT NOT NULL,
    at            TEXT NOT NULL,
    charge_micros INTEGER NOT NULL,
    received_at   TEXT NOT NULL,
    meter         TEXT,
    PRIMARY KEY (id, cycle_start)
)"""


def archive_dir(db_path: Path) -> Path:
    """Where the archives of the SQLite database at `db_path` go."""
    return db_path.with_name(db_path.name + ".archive")


def archive_file(directory: Path, month: str) -> Path:
    """The archive of the records whose cycle starts in `month` (YYYY-MM)."""
    return directory / f"{month}.sqlite"


class Archive:
    """The archive files of one prune run, opened as records of their month come."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.records = 0                      # rows handed here (kept, or kept before)
        self.months: set[str] = set()
        self._open: dict[str, sqlite3.Connection] = {}

    def keep(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append these rows (RECORD_COLUMNS) to their months' files, each committed
        and on disk when this returns; rows archived before are left as they are."""
        by_month: dict[str, list[Sequence[Any]]] = {}
        for row in rows:
            by_month.setdefault(str(row[2])[:7], []).append(row)   # cycle_start's YYYY-MM
        for month, month_rows in sorted(by_month.items()):
            conn = self._connection(month)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    f"INSERT OR IGNORE INTO usage_records ({RECORD_COLUMNS}) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", month_rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self.months.add(month)
        self.records += len(rows)

    def _connection(self, month: str) -> sqlite3.Connection:
        conn = self._open.get(month)
        if conn is not None:
            return conn
        if not self.directory.exists():
            self.directory.mkdir(parents=True)
            _sync_directory(self.directory.parent)
        path = archive_file(self.directory, month)
        new = not path.exists()
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute(_SCHEMA)
            if new:
                _sync_directory(self.directory)   # the new file's name is on disk too
        except BaseException:
            conn.close()
            raise
        self._open[month] = conn
        return conn

    def close(self) -> None:
        for conn in self._open.values():
            conn.close()
        self._open.clear()


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
