"""Usage records as the network sends them, and their validation.

`parse_record` checks one decoded record and returns a `UsageRecord` or raises
`RecordError` naming the field. Whether the line exists and whether its plan
allows the service is decided later, by the engine and by rating. `id_conflict`
tells a record sent again (a duplicate) from another record under a used id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conso.domain.text import text_problem
from conso.domain.units import MICROS_PER_CENT, Direction, Service

MAX_ID_LENGTH = 128
# Per-record bounds: far beyond any real record, and low enough that no sum of
# charges can overflow a 64-bit integer of micro-euros.
MAX_QUANTITY = {
    Service.VOICE: 7 * 24 * 3600,      # a week-long call
    Service.SMS: 10_000,
    Service.DATA: 10**13,              # 10 TB
    Service.PREMIUM: 1,
    Service.CALLME: 10_000,
}
EARLIEST_YEAR = 2000                 # older records are typing errors, not usage
LATEST_YEAR = 2999
MAX_AMOUNT_CENTS = 10**7       # EUR 100,000 for one premium event
_ID = re.compile(r"^[\x21-\x7e]+\Z")
_COUNTRY = re.compile(r"^[A-Za-z]{2}\Z")
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\Z")
_RFC3339_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?\Z")


class RecordError(ValueError):
    """A record that cannot be accepted; `field` is the offending key."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


# Not frozen: one is built per record on the hot path, and frozen dataclasses cost
# several times more to build. Treated as immutable all the same. No slots: compiled
# (records.pxd), an extension type, which Cython's dataclasses cannot give slots to.
@dataclass
class UsageRecord:
    id: str
    line: str
    service: Service
    quantity: int
    at: datetime
    country: str
    direction: Direction = Direction.OUT
    amount_micros: int = 0


_SERVICES = {service.value: service for service in Service}
_DIRECTIONS = {direction.value: direction for direction in Direction}


def _whole(obj: dict[str, Any], key: str, default: int | None, maximum: int) -> int:
    value = obj.get(key, default)
    if type(value) is int and 0 <= value <= maximum:
        return value  # the usual case, in one test
    if value is None:
        raise RecordError(key, "is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(key, f"must be a whole number, got {value!r}")
    if value < 0:
        raise RecordError(key, f"must not be negative, got {value}")
    if value > maximum:
        raise RecordError(key, f"is implausibly large ({value})")
    return value


def _text(obj: dict[str, Any], key: str, max_length: int) -> str:
    value = obj.get(key)
    if value is None:
        raise RecordError(key, "is required")
    if not isinstance(value, str) or not value:
        raise RecordError(key, "must be a non-empty string")
    if len(value) > max_length:
        raise RecordError(key, f"is longer than {max_length} characters")
    problem = text_problem(value)      # NUL, control characters, lone surrogates
    if problem is not None:
        raise RecordError(key, problem)
    return value


def parse_time(value: Any, key: str = "at") -> datetime:
    """An RFC 3339 instant with an explicit offset."""
    if not isinstance(value, str):
        raise RecordError(key, "must be an RFC 3339 time such as 2026-11-24T10:15:00+01:00")
    if not _RFC3339.match(value):
        if _RFC3339_NAIVE.match(value):
            raise RecordError(key, f"needs a UTC offset (Z or +01:00): {value!r}")
        raise RecordError(key, f"is not an RFC 3339 time: {value!r}")
    try:
        at = datetime.fromisoformat(value.upper())
    except ValueError:
        raise RecordError(key, f"is not an RFC 3339 time: {value!r}") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise RecordError(key, f"needs a UTC offset (Z or +01:00): {value!r}")
    if not EARLIEST_YEAR <= at.year <= LATEST_YEAR:
        raise RecordError(key, f"is outside {EARLIEST_YEAR}..{LATEST_YEAR}: {value!r}")
    return at


def parse_record(
    obj: Any, *, home_country: str, now: datetime, max_future: timedelta
) -> UsageRecord:
    """Validate one record; `now` bounds how far in the future `at` may be."""
    if not isinstance(obj, dict):
        raise RecordError("record", "must be a JSON object")
    record_id = _text(obj, "id", MAX_ID_LENGTH)
    if not _ID.match(record_id):
        raise RecordError("id", "must be printable ASCII without spaces")
    line = _text(obj, "line", 64)
    raw_service = obj.get("service")
    service = _SERVICES.get(raw_service) if isinstance(raw_service, str) else None
    if service is None:
        known = ", ".join(s.value for s in Service)
        raise RecordError("service", f"unknown service {raw_service!r} (known: {known})")

    raw_direction = obj.get("direction")
    direction = Direction.OUT if raw_direction is None else (
        _DIRECTIONS.get(raw_direction) if isinstance(raw_direction, str) else None)
    if direction is None:
        raise RecordError("direction", f"must be 'out' or 'in', got {raw_direction!r}")
    if direction is Direction.IN and service is not Service.VOICE:
        raise RecordError("direction", f"only voice records may be incoming, not {service.value}")

    if service is Service.PREMIUM:
        quantity = _whole(obj, "quantity", 1, MAX_QUANTITY[service])
        if quantity != 1:
            raise RecordError("quantity", "a premium record is one event (quantity 1)")
        amount_micros = _whole(obj, "amount_cents", None, MAX_AMOUNT_CENTS) * MICROS_PER_CENT
    else:
        quantity = _whole(obj, "quantity", None, MAX_QUANTITY[service])
        amount = obj.get("amount_cents")
        if amount is not None and not (type(amount) is int and amount == 0):
            raise RecordError("amount_cents", "only premium records carry an amount")
        amount_micros = 0

    at = parse_time(obj.get("at"))
    if at > now + max_future:
        raise RecordError("at", f"is in the future: {obj.get('at')}")

    raw_country = obj.get("country")
    if raw_country is None:
        country = home_country
    elif isinstance(raw_country, str) and _COUNTRY.match(raw_country):
        country = raw_country.upper()
    else:
        raise RecordError("country", f"must be an ISO 3166 alpha-2 code, got {raw_country!r}")

    return UsageRecord(
        id=record_id, line=line, service=service, quantity=quantity, at=at,
        country=country, direction=direction, amount_micros=amount_micros,
    )


# -- one id, one record --------------------------------------------------------------

ID_CONFLICT = "id_conflict"   # the reason code of a record id reused with other content


def _cents(micros: int) -> str:
    whole, rest = divmod(micros, MICROS_PER_CENT)
    return str(whole) if not rest else f"{micros} micro-euros"


def _content(record: UsageRecord) -> tuple[tuple[str, Any, str], ...]:
    """What makes a record the record it is, besides its id: (field in the API's words,
    value compared, value shown). `at` compares as an instant: the same time written
    with another offset is the same time."""
    return (
        ("line", record.line, repr(record.line)),
        ("service", record.service, record.service.value),
        ("direction", record.direction, record.direction.value),
        ("quantity", record.quantity, str(record.quantity)),
        ("amount_cents", record.amount_micros, _cents(record.amount_micros)),
        ("at", record.at, record.at.isoformat()),
        ("country", record.country, record.country),
    )


def differing_fields(sent: UsageRecord, counted: UsageRecord) -> list[str]:
    """The fields in which two records under one id differ; none: the same record."""
    return [name for (name, now, _), (_, before, _) in zip(
        _content(sent), _content(counted), strict=True) if now != before]


def id_conflict(sent: UsageRecord, counted: UsageRecord) -> str | None:
    """Why `sent` cannot count under the id that `counted` holds already (a rejection's
    error, reason `id_conflict`, naming each field that differs), or None when it is the
    same record sent again: a duplicate, counted once."""
    details = [f"{name}: {before_shown} before, {now_shown} now"
               for (name, now, now_shown), (_, before, before_shown) in zip(
                   _content(sent), _content(counted), strict=True) if now != before]
    if not details:
        return None
    return (f"{ID_CONFLICT}: id {sent.id!r} was sent before with other content "
            f"({'; '.join(details)})")
