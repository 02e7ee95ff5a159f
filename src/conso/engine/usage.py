"""Usage batches: validate, drop what was counted before, reject ids reused with other
content, rate, commit.

A batch of records is one command (one transaction): records, cycle usage,
rejected records and the notifications they cause are written together, and the
answer leaves only after the commit. `screen` is what a stream intake does
instead: validate and drop duplicates, and hand the rest to the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from conso.domain.records import RecordError, UsageRecord, id_conflict, parse_record
from conso.domain.text import is_clean_text
from conso.domain.units import Direction, Service
from conso.engine.uow import BatchResult, Rejection, kept, unknown_line
from conso.errors import InvalidInput
from conso.store.base import StoredRecord, StoreTransaction

if TYPE_CHECKING:
    from conso.engine.engine import Engine

log = logging.getLogger("conso.engine")

MAX_BATCH = 10_000


def apply(engine: Engine, raw_records: Sequence[Any],
          also: Callable[[StoreTransaction], None] | None = None) -> BatchResult:
    check_batch_size(raw_records)
    result = BatchResult()
    parsed = parse_batch(engine, raw_records, engine.clock(), result)
    with engine.unit_of_work(record.line for _, record in parsed) as uow:
        uow.raw_records = raw_records
        uow.usage_batch = True
        uow.batch.result = result
        fresh = drop_duplicates(engine, parsed, result)
        cycles = uow.prefetch([(record.line, record.at) for _, record in fresh])
        for (index, record), cycle in zip(fresh, cycles, strict=True):
            uow.rate(index, record, cycle)
        if also is not None:
            also(uow.tx)
    result.rejected.sort(key=lambda r: r.index)
    log.debug("usage batch: %d accepted, %d duplicates, %d rejected, %d messages",
              result.accepted, result.duplicates, len(result.rejected),
              len(uow.batch.messages))
    return result


def screen(engine: Engine, raw_records: Sequence[Any],
           ) -> tuple[BatchResult, list[tuple[str, Any]]]:
    """Validate a batch, drop what is known to be counted already, reject records of
    unknown lines and ids reused with other content (kept, like every rejected record),
    and return the records to hand to the stream as (line, record as received).
    Exactly-once is the worker's: it drops duplicates (and rejects conflicts) again when
    it applies them."""
    check_batch_size(raw_records)
    now = engine.clock()
    result = BatchResult()
    parsed = parse_batch(engine, raw_records, now, result)
    fresh = drop_duplicates(engine, parsed, result)
    known = engine.store.lines.existing(list({r.line for _, r in fresh}))
    accepted: list[tuple[str, Any]] = []
    for index, record in fresh:
        if record.line in known:
            accepted.append((record.line, raw_records[index]))
        else:
            result.rejected.append(unknown_line(index, record))
    if result.rejected:
        with engine.store.transaction() as tx:
            tx.usage.insert_rejected(kept(raw_records, result.rejected), now)
        result.rejected.sort(key=lambda r: r.index)
    result.accepted = len(accepted)
    return result, accepted


def check_batch_size(raw_records: Sequence[Any]) -> None:
    if len(raw_records) > MAX_BATCH:
        raise InvalidInput(("body",), f"at most {MAX_BATCH} records a call")


def parse_batch(engine: Engine, raw_records: Sequence[Any], now: datetime,
                result: BatchResult) -> list[tuple[int, UsageRecord]]:
    parsed: list[tuple[int, UsageRecord]] = []
    home = engine.catalog.home_country
    for index, obj in enumerate(raw_records):
        try:
            parsed.append((index, parse_record(obj, home_country=home, now=now,
                                               max_future=engine.max_future)))
        except RecordError as exc:
            result.rejected.append(Rejection(index, _record_id(obj), str(exc)))
    return parsed


def drop_duplicates(engine: Engine, parsed: list[tuple[int, UsageRecord]],
                    result: BatchResult) -> list[tuple[int, UsageRecord]]:
    """Records seen before, in this batch or committed earlier, count once: a record
    sent again as it was is a duplicate; its id with other content (another line,
    quantity, time...) is rejected as an `id_conflict` naming what differs, and what
    was counted under the id stays as it was."""
    stored = engine.store.usage.records_by_id(list({r.id: None for _, r in parsed}))
    first: dict[str, UsageRecord] = {}      # this batch's record of each new id
    fresh: list[tuple[int, UsageRecord]] = []
    for index, record in parsed:
        earlier = stored.get(record.id)
        counted = first.get(record.id) if earlier is None else _as_record(earlier)
        if counted is None:
            first[record.id] = record
            fresh.append((index, record))
            continue
        conflict = id_conflict(record, counted)
        if conflict is None:
            result.duplicates += 1
        else:
            result.rejected.append(Rejection(index, record.id, conflict))
    return fresh


def _as_record(stored: StoredRecord) -> UsageRecord:
    """A stored record in the words it was sent in, to compare with a record sent again."""
    return UsageRecord(
        id=stored.id, line=stored.line_id, service=Service(stored.service),
        quantity=stored.quantity, at=stored.at, country=stored.country,
        direction=Direction(stored.direction), amount_micros=stored.amount_micros)


def _record_id(obj: Any) -> str | None:
    """A rejected record's id as sent, when it is text a store can keep."""
    if isinstance(obj, dict):
        value = obj.get("id")
        # NUL, other control characters or a lone surrogate: no store keeps them alike.
        if isinstance(value, str) and is_clean_text(value):
            return value
    return None
