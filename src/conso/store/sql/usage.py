"""The SQL of usage: rated records, per-cycle usage, rejected records.

The hot path: a batch of records is one `executemany`, its changed cycles one more
(`save_cycles`; one statement on PostgreSQL), a batch's lines' cycles are one query per
500 lines, and nothing here does per-record work beyond building its row. A line's
usage in a cycle is its `cycle_usage` row (usage by meter, spend, record count,
thresholds fired, network overshoot), written by the engine in the transaction of the
records that changed it: loading it reads that one indexed row, not the records
(migration 0019). The records are the itemised list, kept until `conso prune` removes
those of old cycles; `pruned_cycles` marks the cycles it did (their list is gone, their
row answers as before). On SQLite new records land in `usage_recent` and cycle rows in
`cycle_usage_recent`, merged into `usage_records` and `cycle_usage` later (sqlite.py):
reads look at both in one statement, for the lines that may have rows there
(`maybe_recent`). No rating here (the domain's), no transaction handling (store.py's),
no merge (sqlite.py's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

import orjson

from conso.domain.cycle import Cycle
from conso.domain.rating import NO_OVERSHOOT, CycleUsage, NetworkOvershoot
from conso.store.base import RejectedRecord, StoredRecord, StoreError
from conso.store.sql.connection import CHUNK, Connection, Reader, chunks, iso, parse_iso

# usage_recent's records that are not in usage_records yet: a merge in progress has
# copied some (merge_progress says which). SQLite only: the store that reads it.
RECENT = ("(SELECT r.* FROM usage_recent r, merge_progress m WHERE m.id = 1 "
          "AND NOT (r.rowid <= m.upto AND r.line_id < m.below)) AS recent")
RECORD_COLUMNS = ("id, line_id, cycle_start, service, direction, quantity, amount_micros, "
                  "country, at, charge_micros, received_at, meter")

# A StoredRecord's columns, in its fields' order (`_stored`).
STORED_COLUMNS = ("id, line_id, cycle_start, service, direction, quantity, amount_micros, "
                  "country, at, charge_micros, meter")

# cycle_usage's columns but updated_at, in `save_cycles`' row order, and its upsert: a
# cycle's whole state, so every column is taken from the row written.
CYCLE_COLUMNS = "line_id, cycle_start, meters, spend_micros, records, fired, overshoot"
CYCLE_UPSERT = ("ON CONFLICT (line_id, cycle_start) DO UPDATE SET meters = excluded.meters, "
                "spend_micros = excluded.spend_micros, records = excluded.records, "
                "fired = excluded.fired, overshoot = excluded.overshoot, "
                "updated_at = excluded.updated_at")
# PostgreSQL's save: the rows of one JSON document, [[line_id, cycle_start, meters,
# spend_micros, records, fired, overshoot], ...] (->> gives an object's JSON text).
_CYCLES_FROM_JSON = (
    f"INSERT INTO cycle_usage ({CYCLE_COLUMNS}, updated_at) "
    "SELECT e->>0, e->>1, e->>2, CAST(e->>3 AS BIGINT), CAST(e->>4 AS BIGINT), e->>5, e->>6, ? "
    f"FROM jsonb_array_elements(CAST(? AS jsonb)) AS e {CYCLE_UPSERT}")

# Of some lines, those that may have rows in usage_recent or cycle_usage_recent not
# merged yet.
MaybeRecent = Callable[[Sequence[str]], list[str]]


def overshoot_data(overshoot: NetworkOvershoot) -> dict[str, Any]:
    """cycle_usage.overshoot: {"micros": N, "units": {service: N}} ({} when none)."""
    if not overshoot:
        return {}
    return {"micros": overshoot.micros, "units": dict(overshoot.units)}


def overshoot_to_json(overshoot: NetworkOvershoot) -> str:
    return orjson.dumps(overshoot_data(overshoot)).decode() if overshoot else "{}"


def overshoot_from_json(text: str | None) -> NetworkOvershoot:
    data = orjson.loads(text) if text else {}
    if not data:
        return NO_OVERSHOOT
    units = data.get("units") or {}
    return NetworkOvershoot(tuple(sorted((str(k), int(v)) for k, v in units.items())),
                            int(data.get("micros", 0)))


def no_recent(line_ids: Sequence[str]) -> list[str]:
    """A store that writes straight to usage_records (PostgreSQL)."""
    return []


def _stored(row: Sequence[Any]) -> StoredRecord:
    return StoredRecord(row[0], row[1], date.fromisoformat(row[2]), row[3], row[4], row[5],
                        row[6], row[7], parse_iso(row[8]), row[9], row[10] or "")


class SqlUsageReads:
    __slots__ = ("_maybe_recent", "_reader")

    def __init__(self, reader: Reader, maybe_recent: MaybeRecent) -> None:
        self._reader = reader
        self._maybe_recent = maybe_recent

    def load_cycle(self, line_id: str, start: date) -> CycleUsage | None:
        return self.load_cycles([(line_id, start)]).get((line_id, start))

    def load_cycles(
        self, keys: Sequence[tuple[str, date]]
    ) -> dict[tuple[str, date], CycleUsage]:
        """The cycle_usage rows of these keys (one indexed row each, whatever the number
        of records); keys without a row are left out. On SQLite, a line that may have
        rows in cycle_usage_recent not merged yet (`maybe_recent`) is read there too, in
        the same statement (one snapshot): its last row there is the newest state."""
        conn = self._reader()
        by_start: dict[date, list[str]] = {}
        for line_id, start in keys:
            by_start.setdefault(start, []).append(line_id)
        found: dict[tuple[str, date], CycleUsage] = {}
        for start, line_ids in by_start.items():
            cycle = Cycle(start)
            for chunk in chunks(line_ids):
                sql = ("SELECT 0, line_id, meters, spend_micros, records, fired, overshoot "
                       "FROM cycle_usage WHERE cycle_start = ? "
                       f"AND line_id IN ({','.join('?' * len(chunk))})")
                params: tuple[Any, ...] = (start.isoformat(), *chunk)
                recent = self._maybe_recent(chunk)
                if recent:
                    # Rows in write order after the merged one (rowids start at 1).
                    sql += (" UNION ALL SELECT rowid, line_id, meters, spend_micros, records, "
                            "fired, overshoot FROM cycle_usage_recent WHERE cycle_start = ? "
                            f"AND line_id IN ({','.join('?' * len(recent))}) ORDER BY 1")
                    params += (start.isoformat(), *recent)
                for _, line_id, meters, spend, records, fired, over in conn.execute(sql, params):
                    found[(line_id, start)] = CycleUsage(
                        cycle, orjson.loads(meters), spend, records,
                        frozenset(orjson.loads(fired)), overshoot_from_json(over))
        return found

    def existing_record_ids(self, ids: Sequence[str]) -> set[str]:
        conn = self._reader()
        found: set[str] = set()
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            marks = ",".join("?" * len(chunk))
            # Both tables in one statement: a merge between two would hide records.
            found.update(r[0] for r in conn.execute(
                f"SELECT id FROM usage_records WHERE id IN ({marks}) "
                f"UNION ALL SELECT id FROM usage_recent WHERE id IN ({marks})", [*chunk, *chunk]))
        return found

    def records_by_id(self, ids: Sequence[str]) -> dict[str, StoredRecord]:
        """The stored records of these ids (the others are left out): what a record sent
        again is compared with, so that an id reused with other content is told apart."""
        conn = self._reader()
        found: dict[str, StoredRecord] = {}
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            # Both tables in one statement, as existing_record_ids: a merge between two
            # would hide records (one in both tables is the same record twice).
            for row in conn.execute(
                f"SELECT {STORED_COLUMNS} FROM usage_records WHERE id IN ({marks}) "
                f"UNION ALL SELECT {STORED_COLUMNS} FROM usage_recent WHERE id IN ({marks})",
                [*chunk, *chunk],
            ):
                found[row[0]] = _stored(row)
        return found

    def _line_records(self, line_id: str, where: str,
                      params: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        """A FROM clause over a line's records, and its parameters: usage_records, and
        usage_recent when the line may have records there that are not merged yet (one
        snapshot). Asked once: a merge may end between two looks."""
        if not self._maybe_recent([line_id]):
            return f"usage_records WHERE {where}", params
        return (f"(SELECT * FROM usage_records WHERE {where} "
                f"UNION ALL SELECT * FROM {RECENT} WHERE {where}) AS r", params * 2)

    def line_has_usage(self, line_id: str) -> bool:
        source, params = self._line_records(line_id, "line_id = ?", (line_id,))
        row = self._reader().execute(f"SELECT 1 FROM {source} LIMIT 1", params).fetchone()
        return row is not None

    def hourly(self, line_id: str, start: date, service: str) -> list[tuple[datetime, int]]:
        """A service's usage in a cycle summed per UTC hour (at most 744 rows a month)."""
        source, params = self._line_records(
            line_id, "line_id = ? AND cycle_start = ? AND service = ?",
            (line_id, start.isoformat(), service))
        return [(datetime.fromisoformat(hour + ":00:00+00:00"), total)
                for hour, total in self._reader().execute(
                    "SELECT substr(at, 1, 13), CAST(SUM(quantity) AS BIGINT) "
                    f"FROM {source} GROUP BY substr(at, 1, 13)", params)]

    def line_records(self, line_id: str, start: date) -> Iterator[StoredRecord]:
        source, params = self._line_records(line_id, "line_id = ? AND cycle_start = ?",
                                            (line_id, start.isoformat()))
        for row in self._reader().execute(
            "SELECT id, line_id, cycle_start, service, direction, quantity, amount_micros, "
            f"country, at, charge_micros FROM {source} ORDER BY at, id", params
        ):
            yield StoredRecord(row[0], row[1], date.fromisoformat(row[2]), row[3], row[4],
                               row[5], row[6], row[7], parse_iso(row[8]), row[9])

    def records_page(self, line_id: str, start: date, *, service: str | None = None,
                     after: tuple[datetime, str] | None = None,
                     limit: int = 100) -> list[StoredRecord]:
        """Keyset paging over (line_id, cycle_start, at, id), the index of migration
        0016: each page is an index range scan from `after`, whatever page it is. `at` is
        kept as fixed-width UTC text (connection.iso), so its text order is time order."""
        where = "line_id = ? AND cycle_start = ?"
        params: tuple[Any, ...] = (line_id, start.isoformat())
        if service is not None:
            where += " AND service = ?"
            params += (service,)
        if after is not None:
            # A row comparison: both databases bound the index scan with it.
            where += " AND (at, id) > (?, ?)"
            params += (iso(after[0]), after[1])
        source, both = self._line_records(line_id, where, params)
        return [_stored(row) for row in self._reader().execute(
            f"SELECT {STORED_COLUMNS} FROM {source} ORDER BY at, id LIMIT ?", (*both, limit))]

    def cycle_starts(self, line_id: str, limit: int) -> list[date]:
        """The cycles the line has records in, or had before they were pruned."""
        source, params = self._line_records(line_id, "line_id = ?", (line_id,))
        return [date.fromisoformat(row[0]) for row in self._reader().execute(
            f"SELECT cycle_start FROM {source} UNION SELECT cycle_start FROM pruned_cycles "
            "WHERE line_id = ? ORDER BY cycle_start DESC LIMIT ?", (*params, line_id, limit))]

    def cycle_pruned(self, line_id: str, start: date) -> bool:
        """Whether records of the line's cycle were pruned (`conso prune`): its itemised
        list is gone, its totals are kept."""
        return self._reader().execute(
            "SELECT 1 FROM pruned_cycles WHERE line_id = ? AND cycle_start = ?",
            (line_id, start.isoformat())).fetchone() is not None

    # -- pruning (store/prune.py) ---------------------------------------------------------

    def records_by_cycle(self) -> dict[date, int]:
        """How many records each cycle start has in usage_records (one scan)."""
        return {date.fromisoformat(start): count for start, count in self._reader().execute(
            "SELECT cycle_start, COUNT(*) FROM usage_records GROUP BY cycle_start")}

    def lines_with_records(self, starts: Sequence[date], after: str, limit: int) -> list[str]:
        """The next `limit` lines after `after`, in id order, with records in usage_records
        of these cycles (a prune's batches)."""
        days = [start.isoformat() for start in starts]
        return [row[0] for row in self._reader().execute(
            f"SELECT DISTINCT line_id FROM usage_records WHERE line_id > ? AND cycle_start "
            f"IN ({','.join('?' * len(days))}) ORDER BY line_id LIMIT ?", (after, *days, limit))]

    def rejected(self, limit: int) -> list[RejectedRecord]:
        return [RejectedRecord(*row) for row in self._reader().execute(
            "SELECT record_id, payload, error FROM rejected_records ORDER BY seq DESC LIMIT ?",
            (limit,))]


class SqlUsageWrites:
    __slots__ = ("_conn", "_cycle_inbox", "_dialect", "_inbox", "_on_cycles", "_on_records")

    def __init__(self, conn: Connection, *, inbox: str = "usage_records",
                 on_records: Callable[[Sequence[StoredRecord]], None] | None = None,
                 cycle_inbox: str = "cycle_usage",
                 on_cycles: Callable[[Sequence[str]], None] | None = None,
                 dialect: str = "sqlite") -> None:
        self._conn = conn
        self._dialect = dialect   # "postgres": cycles are saved from one JSON document
        # Where new records go (SQLite: usage_recent, merged later), and who to tell.
        self._inbox = inbox
        self._on_records = on_records
        # The same for cycle rows (SQLite: cycle_usage_recent), told the lines.
        self._cycle_inbox = cycle_inbox
        self._on_cycles = on_cycles

    def insert_records(self, records: Sequence[StoredRecord], now: datetime) -> None:
        """Store rated records; a record id stored already fails the transaction (the
        engine leaves known ids out: this is the last guard of idempotency)."""
        received = iso(now)
        self._conn.executemany(
            f"INSERT INTO {self._inbox} ({RECORD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [(r.id, r.line_id, r.cycle_start.isoformat(), r.service, r.direction, r.quantity,
              r.amount_micros, r.country, iso(r.at), r.charge_micros, received, r.meter)
             for r in records],
        )
        if self._on_records is not None:
            # Told under the write lock and before the commit makes the rows visible: a
            # reader may look for them too early, never too late.
            self._on_records(records)
        if self._inbox != "usage_records":
            # usage_recent's key covers itself only: a merged record is refused here.
            for chunk in chunks([r.id for r in records]):
                marks = ",".join("?" * len(chunk))
                clash = self._conn.execute(
                    f"SELECT id FROM usage_records WHERE id IN ({marks}) LIMIT 1",
                    chunk).fetchone()
                if clash is not None:
                    raise StoreError(f"record {clash[0]!r} is stored already")

    def save_cycles(self, line_cycles: Sequence[tuple[str, CycleUsage]], now: datetime) -> None:
        """Write these cycles' whole state: absolute values, which the engine computed
        from the row it loaded holding the line (its lock, or the line's row lock). Keys
        must be distinct. PostgreSQL: one statement a batch, the rows in one JSON
        document (psycopg adapts a JSON text at once, where it adapts arrays of Python
        values value by value: three times the cost). SQLite: one executemany appending
        to `cycle_inbox` (sqlite.py merges it), or upserting when that is cycle_usage."""
        if not line_cycles:
            return
        updated = iso(now)
        days: dict[date, str] = {}
        for _, u in line_cycles:
            if u.cycle.start_date not in days:
                days[u.cycle.start_date] = u.cycle.start_date.isoformat()
        if self._dialect == "postgres":
            self._conn.execute(_CYCLES_FROM_JSON, (updated, orjson.dumps([
                (line_id, days[u.cycle.start_date], u.meters, u.spend_micros, u.records,
                 sorted(u.fired), overshoot_data(u.overshoot)) for line_id, u in line_cycles
            ]).decode()))
        else:
            dumps = orjson.dumps
            # Hundreds of rows a batch: most cycles have fired nothing and seen no
            # overshoot, so those two are written without encoding.
            rows = [(line_id, days[u.cycle.start_date], dumps(u.meters).decode(),
                     u.spend_micros, u.records,
                     dumps(sorted(u.fired)).decode() if u.fired else "[]",
                     overshoot_to_json(u.overshoot), updated)
                    for line_id, u in line_cycles]
            into = f"INSERT INTO {self._cycle_inbox} ({CYCLE_COLUMNS}, updated_at) " \
                   "VALUES (?,?,?,?,?,?,?,?)"
            self._conn.executemany(
                into if self._cycle_inbox != "cycle_usage" else f"{into} {CYCLE_UPSERT}", rows)
        if self._on_cycles is not None:
            self._on_cycles([line_id for line_id, _ in line_cycles])

    def prune(self, line_ids: Sequence[str], starts: Sequence[date], now: datetime, *,
              keep: Callable[[Sequence[Sequence[Any]]], None] | None = None) -> int:
        """Delete the records of these lines in usage_records of these cycles, and note
        in pruned_cycles, in this transaction, that those cycles were pruned, with the
        totals of what was deleted (summed from the rows the DELETE returned: a record
        that arrives meanwhile is deleted and counted or neither). Those totals say what
        the prune took; a cycle's usage is its cycle_usage row, which pruning leaves
        alone. `keep`, when given, is handed the rows deleted (RECORD_COLUMNS) before
        this transaction commits: what it keeps elsewhere must be durable when it returns
        (store/archive.py), and if it raises nothing is deleted. usage_recent is left
        alone (SQLite): a merge may be copying it; its late records wait for the next
        prune. Returns the records deleted. The caller serializes prunes
        (pruned_cycles is read, then written)."""
        days = [start.isoformat() for start in starts]
        deleted: list[Sequence[Any]] = []
        for chunk in chunks(line_ids):
            deleted.extend(self._conn.execute(
                f"DELETE FROM usage_records WHERE line_id IN ({','.join('?' * len(chunk))}) "
                f"AND cycle_start IN ({','.join('?' * len(days))}) "
                f"RETURNING {RECORD_COLUMNS}", (*chunk, *days)))
        if not deleted:
            return 0
        if keep is not None:
            keep(deleted)
        found: dict[tuple[str, str], CycleUsage] = {}
        for row in deleted:   # RECORD_COLUMNS' line_id, cycle_start, quantity, charge, meter
            line_id, start, quantity, charge, meter = row[1], row[2], row[5], row[9], row[11]
            usage = found.get((line_id, start))
            if usage is None:
                usage = found[(line_id, start)] = CycleUsage(Cycle(date.fromisoformat(start)))
            if meter:
                usage.meters[meter] = usage.meters.get(meter, 0) + quantity
            usage.spend_micros += charge
            usage.records += 1
        # Add to what an earlier prune kept of the same cycles (late records pruned now).
        by_start: dict[str, list[str]] = {}
        for line_id, start in found:
            by_start.setdefault(start, []).append(line_id)
        for start, lines in by_start.items():
            for chunk in chunks(lines):
                for line_id, meters, spend, records in self._conn.execute(
                    "SELECT line_id, meters, spend_micros, records FROM pruned_cycles "
                    f"WHERE cycle_start = ? AND line_id IN ({','.join('?' * len(chunk))})",
                    (start, *chunk),
                ):
                    usage = found[(line_id, start)]
                    for name, total in orjson.loads(meters).items():
                        usage.meters[name] = usage.meters.get(name, 0) + int(total)
                    usage.spend_micros += spend
                    usage.records += records
        self._conn.executemany(
            "INSERT INTO pruned_cycles (line_id, cycle_start, meters, spend_micros, records, "
            "pruned_at) VALUES (?,?,?,?,?,?) ON CONFLICT (line_id, cycle_start) DO UPDATE "
            "SET meters=excluded.meters, spend_micros=excluded.spend_micros, "
            "records=excluded.records, pruned_at=excluded.pruned_at",
            [(line_id, start, orjson.dumps(u.meters).decode(), u.spend_micros, u.records,
              iso(now)) for (line_id, start), u in found.items()])
        return sum(u.records for u in found.values())

    def insert_rejected(self, rejected: Sequence[RejectedRecord], now: datetime) -> None:
        received = iso(now)
        self._conn.executemany(
            "INSERT INTO rejected_records (record_id, payload, error, received_at) "
            "VALUES (?,?,?,?)",
            [(r.record_id, r.payload, r.error, received) for r in rejected],
        )
