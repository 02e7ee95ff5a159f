"""Which worker owns which partition: PostgreSQL advisory locks, one per partition.

A worker holds its partitions' locks on one connection of its own. If the worker
dies, or only that connection does, PostgreSQL releases the locks and another
worker takes the partitions over; the offsets that the stream worker commits with
compare-and-set (store `advance_offset`) keep a worker that lost a lock without
noticing from applying anything twice. Each live worker also holds a shared lock
that says it is there, so that workers can count each other and share the
partitions evenly.
"""

from __future__ import annotations

import math
import os
from typing import Any

import psycopg

# The two-int advisory keys: (namespace, partition) and (namespace, 0) for presence.
_PARTITION_SPACE = 0x636F6E73  # "cons"
_PRESENCE_SPACE = 0x636F6E74


def fair_share(partitions: int, workers: int) -> int:
    """How many partitions one of `workers` workers takes: together they cover all."""
    return math.ceil(partitions / max(1, workers))


class PartitionLocks:
    def __init__(self, dsn: str) -> None:
        self._conn: psycopg.Connection[Any] = psycopg.connect(
            dsn, autocommit=True, connect_timeout=10,
            application_name=f"conso-worker-{os.getpid()}-locks")
        self._held: set[int] = set()
        self._conn.execute("SELECT pg_advisory_lock_shared(%s, 0)", (_PRESENCE_SPACE,))

    @property
    def held(self) -> frozenset[int]:
        return frozenset(self._held)

    def alive(self) -> bool:
        """Whether the connection holding the locks is still there (if not, neither are
        the locks)."""
        try:
            self._conn.execute("SELECT 1").fetchone()
        except psycopg.Error:
            return False
        return not self._conn.closed

    def live_workers(self) -> int:
        """Workers of this database holding their presence lock now."""
        row = self._conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND objid = 0 AND objsubid = 2 AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            (_PRESENCE_SPACE,)).fetchone()
        return int(row[0]) if row else 1

    def try_take(self, partition: int) -> bool:
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                 (_PARTITION_SPACE, partition)).fetchone()
        if row and row[0]:
            self._held.add(partition)
            return True
        return False

    def release(self, partition: int) -> None:
        if partition in self._held:
            self._held.discard(partition)
            self._conn.execute("SELECT pg_advisory_unlock(%s, %s)",
                               (_PARTITION_SPACE, partition))

    def close(self) -> None:
        self._held.clear()
        self._conn.close()  # releases every lock it held
