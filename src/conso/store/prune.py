"""Months of records: `conso prune --keep-cycles N` removes the itemised records of old
cycles and keeps their totals.

The rule. A line's cycles are months that start on its cycle day (1 to 28), so a
record's `cycle_start` names its cycle and its cycle day both. For a cycle day d, the
cycle open now started on the last day d not after today (Europe/Brussels); the cycles
kept are that open one and the N before it. A cycle that starts earlier ended at least N
cycles ago: its records are pruned. N is at least 2, so an open cycle, the one just
closed (late records still come in for it) and the one before are never touched.

What is kept. A cycle's usage is its cycle_usage row (written by the engine with the
records, migration 0019), which pruning never touches: a pruned cycle's usage answer, its
line in the cycle list and its thresholds read the same afterwards. In the short
transaction that deletes a (line, cycle)'s records, `pruned_cycles` marks it, with the
totals of what was deleted (sql/usage.py, `prune`): its itemised list answers empty with
`pruned`.

How. In batches of lines, one short transaction each, so that a server running
meanwhile goes on (on SQLite, between the merge's steps; records not merged yet are left
for the next run). On PostgreSQL, usage_records is partitioned by cycle month: a month
partition emptied this way, and whose every cycle is prunable, is then dropped, giving
its space back at once. Running it again changes nothing; a run cut short resumes.

Archives (SQLite). Unless told not to (`archive=False`), a SQLite prune first copies the
records it deletes into `<db>.archive/<YYYY-MM>.sqlite` (archive.py), one file per month
of cycle starts, committed there before the delete commits: a crash in between loses
nothing, and the next run copies them again without duplicates. PostgreSQL keeps no
archive: its operator dumps a month partition before it goes (`pg_dump --table`).

No rating, no engine: this works on the store alone (any conso process may run beside it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from conso.domain.cycle import MAX_CYCLE_DAY, MIN_CYCLE_DAY, cycle_of
from conso.store.archive import Archive, archive_dir, archive_file
from conso.store.base import StoreError
from conso.store.postgres import Partition, PostgresStore
from conso.store.sql.store import SqlStore
from conso.store.sqlite import SQLiteStore

DEFAULT_KEEP = 13
MIN_KEEP = 2
BATCH_LINES = 200        # lines a transaction: a few thousand records at most


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return day.replace(year=index // 12, month=index % 12 + 1)


def oldest_kept(cycle_day: int, keep: int, now: datetime) -> date:
    """The first day of the oldest cycle kept for lines of this cycle day."""
    return _months_back(cycle_of(now, cycle_day).start_date, keep)


def prunable(start: date, keep: int, now: datetime) -> bool:
    """Whether the cycle that starts on `start` is older than the open one and the
    `keep` before it (for the lines whose cycle day is start's day)."""
    if not MIN_CYCLE_DAY <= start.day <= MAX_CYCLE_DAY:
        return False     # not a cycle start conso writes: leave it alone
    return start < oldest_kept(start.day, keep, now)


@dataclass(frozen=True, slots=True)
class PrunePlan:
    keep_cycles: int
    now: datetime
    cycles: dict[date, int]            # prunable cycle starts: records each
    kept_records: int
    partitions: list[Partition] = field(default_factory=list)   # to drop (PostgreSQL)
    archive: Path | None = None        # where the records go first (SQLite), or nowhere

    @property
    def records(self) -> int:
        return sum(self.cycles.values())

    @property
    def months(self) -> list[str]:
        return sorted({start.strftime("%Y-%m") for start in self.cycles})

    @property
    def archive_files(self) -> list[Path]:
        """The archive files this prune writes to (created or appended to)."""
        if self.archive is None:
            return []
        return [archive_file(self.archive, month) for month in self.months]


@dataclass(slots=True)
class PruneResult:
    records: int = 0
    partitions_dropped: list[str] = field(default_factory=list)
    archived: int = 0                  # records copied into the archive first
    archive_files: list[Path] = field(default_factory=list)


def plan(store: SqlStore, keep_cycles: int, now: datetime, *,
         archive: bool = True) -> PrunePlan:
    """What a prune would remove now (one scan of the record table); changes nothing.
    `archive`: on SQLite, copy the records into the archive files before deleting them."""
    if keep_cycles < MIN_KEEP:
        raise ValueError(f"--keep-cycles must be at least {MIN_KEEP}")
    counts = store.usage.records_by_cycle()
    cycles = {start: n for start, n in sorted(counts.items()) if prunable(start, keep_cycles, now)}
    kept = sum(counts.values()) - sum(cycles.values())
    partitions = []
    if isinstance(store, PostgresStore):
        # A month is wholly pruned when its last possible cycle start (day 28) is.
        partitions = [p for p in store.partitions()
                      if prunable(p.month.replace(day=MAX_CYCLE_DAY), keep_cycles, now)]
    where = archive_dir(store.path) if archive and isinstance(store, SQLiteStore) else None
    return PrunePlan(keep_cycles, now, cycles, kept, partitions, where)


def prune(store: SqlStore, planned: PrunePlan, *, batch_lines: int = BATCH_LINES,
          progress: Callable[[int], None] | None = None) -> PruneResult:
    """Remove what `planned` names (and records of those cycles that came since):
    freezes each (line, cycle)'s totals and deletes its records, a batch of lines a
    transaction, then drops the month partitions left empty (PostgreSQL)."""
    if isinstance(store, PostgresStore):
        with store.advisory_lock("conso-prune") as held:
            if not held:
                raise StoreError("another conso prune is running on this database")
            return _prune(store, planned, batch_lines, progress)
    return _prune(store, planned, batch_lines, progress)


def _prune(store: SqlStore, planned: PrunePlan, batch_lines: int,
           progress: Callable[[int], None] | None) -> PruneResult:
    result = PruneResult()
    starts = sorted(planned.cycles)
    archive = None if planned.archive is None else Archive(planned.archive)
    after = ""
    try:
        while starts:
            lines = store.usage.lines_with_records(starts, after, batch_lines)
            if not lines:
                break
            with store.transaction() as tx:
                # The archive's commit comes first, inside this transaction: if it fails,
                # nothing is deleted.
                deleted = tx.usage.prune(lines, starts, planned.now,
                                         keep=None if archive is None else archive.keep)
            result.records += deleted
            if progress is not None:
                progress(deleted)
            after = lines[-1]
    finally:
        if archive is not None:
            archive.close()
            result.archived = archive.records
            result.archive_files = [archive_file(archive.directory, month)
                                    for month in sorted(archive.months)]
    if isinstance(store, PostgresStore):
        for partition in planned.partitions:
            if store.drop_partition(partition.name):
                result.partitions_dropped.append(partition.name)
    return result
