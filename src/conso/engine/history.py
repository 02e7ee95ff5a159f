"""A line's history: its cycles, and the itemised records of a cycle, page by page.

Reads only: no command, no lock, nothing cached. A past cycle is read from the store;
the current one's totals from the engine (which may hold it in memory). The API
(api/history.py) and the portal call these plain functions with the engine and a line
the caller may see (access.py decides that, not this module).

Paging is by keyset, never by OFFSET: a page is the records after a position, (at, id)
of the last record shown, which a cursor carries (opaque to clients: base64url of a JSON
pair). A page costs the same at the end of a cycle of 100,000 records as at its start,
and a record that arrives meanwhile is neither shown twice nor skipped before the
position. `each_record` walks a whole cycle that way, one page in memory at a time;
`csv_lines` writes it as CSV.

Errors are `InvalidInput` located at the query parameter (`("query", "cycle")`...):
the API shows them as 422s; the portal may show their message.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import orjson

from conso.domain.cycle import CYCLE_TZ, Cycle, cycle_of
from conso.domain.line import Line
from conso.domain.rating import CycleUsage
from conso.domain.records import MAX_ID_LENGTH
from conso.domain.text import text_problem
from conso.domain.units import Service, micros_to_cents
from conso.errors import InvalidInput
from conso.store.base import StoredRecord

if TYPE_CHECKING:
    from conso.engine.engine import Engine

DEFAULT_PAGE = 100
MAX_PAGE = 1000
CSV_PAGE = 1000          # records a CSV export reads at a time
MAX_CYCLES = 24          # past cycles listed for a cycle picker (two years)
SERVICES = tuple(service.value for service in Service)

# YYYY-MM-DD, years 2000 to 2999 (as record times: domain/records.py).
CYCLE_DATE = re.compile(r"^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,1024}$")

CSV_COLUMNS = ("id", "service", "direction", "quantity", "at", "country", "charge_cents",
               "charge_micros", "amount_cents")
# Cells a spreadsheet would take for a formula (OWASP "CSV injection"): such a text
# cell is written with a leading apostrophe. Record ids and countries come from the
# network, not from the line's user, but a CSV is opened by people.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class RecordsPage:
    """One page of a cycle's records, oldest first; `next_cursor` None on the last.
    `pruned`: the cycle's itemised records were pruned (`conso prune`); what is listed
    then is only what came after (late records), its totals are kept."""

    records: list[StoredRecord]
    next_cursor: str | None
    pruned: bool = False


@dataclass(frozen=True, slots=True)
class CycleTotal:
    """A cycle of a line, for a cycle picker: its records and extra spend."""

    cycle: Cycle
    records: int
    extra_micros: int
    current: bool


# -- parameters ----------------------------------------------------------------------------

def parse_cycle_date(text: str, where: tuple[str, ...] = ("query", "cycle")) -> date:
    """A cycle's first day, YYYY-MM-DD; InvalidInput at `where` otherwise."""
    if not CYCLE_DATE.match(text):
        raise InvalidInput(where, f"is not a date YYYY-MM-DD: {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(where, f"is not a date: {text!r}") from None


def cycle_starting(line: Line, day: date | None, now: datetime,
                   where: tuple[str, ...] = ("query", "cycle")) -> Cycle:
    """The line's cycle that starts on `day` (None: the current one). A day that is not
    a cycle start of this line, or the start of a cycle to come, is an InvalidInput."""
    current = cycle_of(now, line.cycle_day)
    if day is None:
        return current
    if day.day != line.cycle_day:
        raise InvalidInput(where, f"{day.isoformat()} is not a cycle start of line {line.id}: "
                                  f"its cycles start on day {line.cycle_day} of a month")
    if day > current.start_date:
        raise InvalidInput(where, f"the cycle of {day.isoformat()} has not started; the "
                                  f"current one started on {current.start_date.isoformat()}")
    return Cycle(day)


def cycle_named(line: Line, text: str | None, now: datetime,
                where: tuple[str, ...] = ("query", "cycle")) -> Cycle:
    """The line's cycle whose first day `text` (YYYY-MM-DD) names; None: the current
    one. InvalidInput at `where` for another text or day (parse_cycle_date,
    cycle_starting)."""
    day = None if text is None else parse_cycle_date(text, where)
    return cycle_starting(line, day, now, where)


def instant_in(cycle: Cycle, now: datetime) -> datetime:
    """The instant whose usage answer shows `cycle`: now in the current cycle, the last
    microsecond of a past one (its last plan)."""
    return min(now, cycle.end - timedelta(microseconds=1))


def encode_cursor(record: StoredRecord) -> str:
    """The position just after `record`."""
    raw = orjson.dumps([record.at.astimezone(UTC).isoformat(), record.id])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(text: str, where: tuple[str, ...] = ("query", "cursor")
                  ) -> tuple[datetime, str]:
    """The (at, id) position a cursor carries; InvalidInput when it is not one."""
    problem = InvalidInput(where, "is not a cursor this server gave (next_cursor)")
    if not CURSOR.match(text):
        raise problem
    try:
        data = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not (isinstance(data, list) and len(data) == 2
                and all(isinstance(part, str) for part in data)):
            raise problem
        at = datetime.fromisoformat(data[0])
        if at.tzinfo is None or not 2000 <= at.year <= 2999:
            raise problem
        at = at.astimezone(UTC)
    except (ValueError, OverflowError, binascii.Error, orjson.JSONDecodeError):
        raise problem from None
    record_id = data[1]
    if len(record_id) > MAX_ID_LENGTH or text_problem(record_id) is not None:
        raise problem
    return at, record_id


def check_service(service: str | None, where: tuple[str, ...] = ("query", "service")) -> None:
    if service is not None and service not in SERVICES:
        raise InvalidInput(where, f"must be one of {', '.join(SERVICES)}")


# -- reads ---------------------------------------------------------------------------------

def records_page(engine: Engine, line: Line, cycle: Cycle, *, service: str | None = None,
                 cursor: str | None = None, limit: int = DEFAULT_PAGE) -> RecordsPage:
    """The records of `line` in `cycle` after `cursor` (None: from the first), of
    `service` only when given, at most `limit` (1..MAX_PAGE), oldest first."""
    check_service(service)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(("query", "limit"), f"must be 1 to {MAX_PAGE}")
    after = None if cursor is None else decode_cursor(cursor)
    found = engine.store.usage.records_page(line.id, cycle.start_date, service=service,
                                            after=after, limit=limit + 1)
    pruned = engine.store.usage.cycle_pruned(line.id, cycle.start_date)
    if len(found) > limit:
        return RecordsPage(found[:limit], encode_cursor(found[limit - 1]), pruned)
    return RecordsPage(found, None, pruned)


def each_record(engine: Engine, line: Line, cycle: Cycle, *, service: str | None = None,
                page: int = CSV_PAGE) -> Iterator[StoredRecord]:
    """Every record of `line` in `cycle` (of `service`), oldest first, read `page` at a
    time: never the whole cycle in memory."""
    check_service(service)
    after: tuple[datetime, str] | None = None
    while True:
        found = engine.store.usage.records_page(line.id, cycle.start_date, service=service,
                                                after=after, limit=page)
        yield from found
        if len(found) < page:
            return
        after = (found[-1].at, found[-1].id)


def cycles(engine: Engine, line: Line, *, limit: int = MAX_CYCLES) -> list[CycleTotal]:
    """The current cycle, then the past cycles the line has records in or had before
    they were pruned (at most `limit`), newest first, each with its records and extra
    spend (as its usage answer says them)."""
    now = engine.clock()
    current = cycle_of(now, line.cycle_day)
    # A record may be up to max_future ahead, in the next cycle: not a past one.
    past = [start for start in engine.store.usage.cycle_starts(line.id, limit + 2)
            if start < current.start_date][:limit]
    loaded = engine.store.usage.load_cycles([(line.id, start) for start in past])
    totals = [_total(engine.cycle_usage(line, now), current=True)]
    totals += [_total(loaded.get((line.id, start)) or CycleUsage(Cycle(start)), current=False)
               for start in past]
    return totals


def _total(usage: CycleUsage, *, current: bool) -> CycleTotal:
    return CycleTotal(usage.cycle, usage.records, usage.spend_micros, current)


# -- CSV -----------------------------------------------------------------------------------

def record_at(record: StoredRecord) -> str:
    """A record's time as shown: RFC 3339 in the cycles' time zone (Europe/Brussels)."""
    return record.at.astimezone(CYCLE_TZ).isoformat()


def amount_cents(record: StoredRecord) -> int | None:
    """The price a provider set, for a premium record; None for the others."""
    return micros_to_cents(record.amount_micros) if record.service == Service.PREMIUM else None


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(record: StoredRecord) -> list[str]:
    amount = amount_cents(record)
    return [_cell(record.id), record.service, record.direction, str(record.quantity),
            record_at(record), _cell(record.country), str(micros_to_cents(record.charge_micros)),
            str(record.charge_micros), "" if amount is None else str(amount)]


def csv_lines(records: Iterable[StoredRecord], *, batch: int = CSV_PAGE) -> Iterator[str]:
    """The header row, then the records' rows, as CSV text (RFC 4180, CRLF) in chunks of
    up to `batch` rows: what a streamed answer sends piece by piece."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = 1
    for record in records:
        writer.writerow(csv_row(record))
        rows += 1
        if rows >= batch:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            rows = 0
    if rows or out.tell():
        yield out.getvalue()
