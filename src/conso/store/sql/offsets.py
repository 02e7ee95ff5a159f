"""The SQL of stream offsets: the last stream sequence applied, per partition.

An offset moves in the transaction that applies the messages it counts, by
compare-and-set, so a worker that lost its partition cannot apply a message twice.
Nothing here reads the stream (stream/'s) or handles transactions (store.py's).
"""

from __future__ import annotations

from datetime import datetime

from conso.store.base import StaleOffset
from conso.store.sql.connection import Connection, Reader, iso


class SqlOffsetReads:
    __slots__ = ("_reader",)

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def all(self) -> dict[int, int]:
        """The last stream sequence applied, per partition."""
        return {part: seq for part, seq in self._reader().execute(
            "SELECT part, seq FROM stream_offsets")}


class SqlOffsetWrites:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def advance(self, part: int, seq: int, expected: int, now: datetime) -> None:
        """Move a partition's offset from `expected` to `seq`, or fail if it is not at
        `expected` any more (compare-and-set: a worker that lost its partition cannot
        apply a message twice)."""
        self._conn.execute(
            "INSERT OR IGNORE INTO stream_offsets (part, seq, updated_at) VALUES (?,0,?)",
            (part, iso(now)))
        cur = self._conn.execute(
            "UPDATE stream_offsets SET seq = ?, updated_at = ? WHERE part = ? AND seq = ?",
            (seq, iso(now), part, expected))
        if cur.rowcount != 1:
            raise StaleOffset(f"partition {part} is not at sequence {expected} any more: "
                              "another worker has applied it")
