"""Usage records: what is accepted, and rejections that name the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conso.domain.records import (
    ID_CONFLICT,
    RecordError,
    UsageRecord,
    differing_fields,
    id_conflict,
    parse_record,
)
from conso.domain.units import Direction, Service

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MAX_FUTURE = timedelta(minutes=5)
API_EXAMPLE: dict[str, Any] = {
    "id": "cdr-000123", "line": "+32470000001", "service": "data",
    "quantity": 2500000, "at": "2026-11-24T10:15:00+01:00", "country": "BE",
}
MISSING = object()


def record(**changes: Any) -> dict[str, Any]:
    """The api.md example record with fields changed (MISSING removes a field)."""
    obj = dict(API_EXAMPLE)
    for key, value in changes.items():
        if value is MISSING:
            obj.pop(key, None)
        else:
            obj[key] = value
    return obj


def parse(obj: Any) -> UsageRecord:
    return parse_record(obj, home_country="BE", now=NOW, max_future=MAX_FUTURE)


def rejected_field(obj: Any) -> str:
    with pytest.raises(RecordError) as caught:
        parse(obj)
    assert str(caught.value).startswith(f"{caught.value.field}: ")
    return caught.value.field


def test_the_api_example_record_is_accepted() -> None:
    parsed = parse(record())
    assert parsed == UsageRecord(
        id="cdr-000123", line="+32470000001", service=Service.DATA, quantity=2_500_000,
        at=datetime(2026, 11, 24, 10, 15, tzinfo=timezone(timedelta(hours=1))),
        country="BE", direction=Direction.OUT, amount_micros=0,
    )


def test_an_incoming_call_is_accepted() -> None:
    parsed = parse(record(service="voice", quantity=60, direction="in"))
    assert parsed.service is Service.VOICE
    assert parsed.direction is Direction.IN


def test_a_premium_record_carries_the_providers_amount_in_micro_euros() -> None:
    parsed = parse(record(service="premium", quantity=MISSING, amount_cents=250))
    assert parsed.quantity == 1
    assert parsed.amount_micros == 2_500_000


def test_a_zulu_time_is_accepted() -> None:
    assert parse(record(at="2026-11-24T09:15:00Z")).at == datetime(2026, 11, 24, 9, 15,
                                                                     tzinfo=UTC)


def test_a_record_a_little_in_the_future_is_accepted() -> None:
    assert parse(record(at="2026-11-24T12:04:59Z")).at == NOW + timedelta(minutes=4, seconds=59)


def test_a_late_record_from_long_ago_is_accepted() -> None:
    assert parse(record(at="2026-01-01T00:00:00+01:00")).at.year == 2026


def test_lower_case_country_is_upper_cased() -> None:
    assert parse(record(country="fr")).country == "FR"


def test_the_default_country_is_home() -> None:
    assert parse(record(country=MISSING)).country == "BE"
    assert parse_record(record(country=MISSING), home_country="NL", now=NOW,
                        max_future=MAX_FUTURE).country == "NL"


def test_zero_quantity_is_accepted() -> None:
    assert parse(record(quantity=0)).quantity == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"id": MISSING}, "id", id="missing-id"),
        pytest.param({"id": ""}, "id", id="empty-id"),
        pytest.param({"id": 123}, "id", id="numeric-id"),
        pytest.param({"id": "cdr 1"}, "id", id="id-with-space"),
        pytest.param({"id": "x" * 129}, "id", id="id-too-long"),
        pytest.param({"line": MISSING}, "line", id="missing-line"),
        pytest.param({"quantity": -1}, "quantity", id="negative-quantity"),
        pytest.param({"quantity": True}, "quantity", id="bool-quantity"),
        pytest.param({"quantity": 2.5}, "quantity", id="float-quantity"),
        pytest.param({"quantity": "100"}, "quantity", id="string-quantity"),
        pytest.param({"quantity": MISSING}, "quantity", id="missing-quantity"),
        pytest.param({"quantity": 10**13 + 1}, "quantity", id="implausible-quantity"),
        pytest.param({"service": "mms"}, "service", id="unknown-service"),
        pytest.param({"service": "DATA"}, "service", id="upper-case-service"),
        pytest.param({"service": MISSING}, "service", id="missing-service"),
        pytest.param({"at": "2026-11-24T10:15:00"}, "at", id="naive-time"),
        pytest.param({"at": "24/11/2026 10:15"}, "at", id="bad-time-string"),
        pytest.param({"at": 1795000000}, "at", id="epoch-number"),
        pytest.param({"at": MISSING}, "at", id="missing-time"),
        pytest.param({"at": "2026-11-24T12:05:01Z"}, "at", id="far-future-time"),
        pytest.param({"at": "2027-11-24T10:15:00+01:00"}, "at", id="next-year"),
        pytest.param({"service": "sms", "quantity": 1, "direction": "in"}, "direction",
                     id="sms-in"),
        pytest.param({"direction": "in"}, "direction", id="data-in"),
        pytest.param({"service": "callme", "quantity": 1, "direction": "in"}, "direction",
                     id="callme-in"),
        pytest.param({"service": "voice", "direction": "inbound"}, "direction",
                     id="bad-direction"),
        pytest.param({"service": "premium", "quantity": 1}, "amount_cents",
                     id="premium-without-amount"),
        pytest.param({"service": "premium", "quantity": 2, "amount_cents": 100}, "quantity",
                     id="premium-quantity-2"),
        pytest.param({"service": "premium", "quantity": 0, "amount_cents": 100}, "quantity",
                     id="premium-quantity-0"),
        pytest.param({"service": "premium", "quantity": 1, "amount_cents": -5},
                     "amount_cents", id="premium-negative-amount"),
        pytest.param({"service": "premium", "quantity": 1, "amount_cents": 1.5},
                     "amount_cents", id="premium-fractional-amount"),
        pytest.param({"amount_cents": 100}, "amount_cents", id="amount-on-data"),
        pytest.param({"service": "voice", "quantity": 60, "amount_cents": 5}, "amount_cents",
                     id="amount-on-voice"),
        pytest.param({"country": "BEL"}, "country", id="three-letter-country"),
        pytest.param({"country": "B1"}, "country", id="country-with-digit"),
        pytest.param({"country": ""}, "country", id="empty-country"),
        pytest.param({"country": 32}, "country", id="numeric-country"),
    ],
)
def test_a_bad_record_is_rejected_naming_the_field(changes: dict[str, Any], field: str) -> None:
    assert rejected_field(record(**changes)) == field


@pytest.mark.parametrize("not_an_object", [[], "cdr", None, 42])
def test_a_record_that_is_not_an_object_is_rejected(not_an_object: Any) -> None:
    assert rejected_field(not_an_object) == "record"


def test_a_country_with_a_trailing_newline_is_rejected() -> None:
    assert rejected_field(record(country="be\n")) == "country"


def test_an_id_with_a_trailing_newline_is_rejected() -> None:
    assert rejected_field(record(id="cdr-000123\n")) == "id"


# -- one id, one record: a duplicate or an id_conflict ------------------------------------


def test_the_same_record_sent_again_is_no_conflict() -> None:
    assert id_conflict(parse(record()), parse(record())) is None


def test_the_same_time_with_another_offset_is_the_same_record() -> None:
    sent = parse(record(at="2026-11-24T09:15:00Z"))
    assert id_conflict(sent, parse(record())) is None     # 10:15:00+01:00


def test_the_home_country_left_out_is_the_same_record() -> None:
    assert id_conflict(parse(record(country=MISSING)), parse(record(country="be"))) is None


@pytest.mark.parametrize(("changes", "field", "shown"), [
    ({"line": "+32470000002"}, "line", "line: '+32470000001' before, '+32470000002' now"),
    ({"quantity": 2500001}, "quantity", "quantity: 2500000 before, 2500001 now"),
    ({"at": "2026-11-24T10:15:01+01:00"}, "at",
     "at: 2026-11-24T10:15:00+01:00 before, 2026-11-24T10:15:01+01:00 now"),
    ({"country": "FR"}, "country", "country: BE before, FR now"),
    ({"service": "voice", "quantity": 60}, "service", "service: data before, voice now"),
    ({"service": "voice", "quantity": 60, "direction": "in"}, "direction",
     "direction: out before, in now"),
])
def test_an_id_sent_again_with_other_content_is_a_conflict_naming_what_differs(
        changes: dict[str, Any], field: str, shown: str) -> None:
    error = id_conflict(parse(record(**changes)), parse(record()))
    assert error is not None
    assert error.startswith(f"{ID_CONFLICT}: id 'cdr-000123' ")
    assert shown in error
    assert field in differing_fields(parse(record(**changes)), parse(record()))


def test_a_premium_amount_sent_again_otherwise_is_a_conflict_in_cents() -> None:
    before = parse(record(service="premium", quantity=1, amount_cents=150))
    error = id_conflict(parse(record(service="premium", quantity=1, amount_cents=250)), before)
    assert error is not None and "amount_cents: 150 before, 250 now" in error


def test_a_conflict_names_every_field_that_differs_and_only_those() -> None:
    sent = parse(record(line="+32470000009", quantity=1, country="NL"))
    assert differing_fields(sent, parse(record())) == ["line", "quantity", "country"]
    error = id_conflict(sent, parse(record()))
    assert error is not None
    for name in ("line:", "quantity:", "country:"):
        assert name in error
    for name in ("service:", "direction:", "at:", "amount_cents:"):
        assert name not in error


OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=1)),
                           timezone(timedelta(hours=-5, minutes=-30))])


@st.composite
def usage_records(draw: st.DrawFn) -> UsageRecord:
    service = draw(st.sampled_from(list(Service)))
    instant = draw(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 2, 1),
                                timezones=st.just(UTC)))
    return UsageRecord(
        id="r1",
        line=draw(st.sampled_from(["+32470000001", "+32470000002"])),
        service=service,
        quantity=draw(st.integers(0, 3)),
        at=instant.astimezone(draw(OFFSETS)),
        country=draw(st.sampled_from(["BE", "FR"])),
        direction=draw(st.sampled_from(list(Direction))) if service is Service.VOICE
        else Direction.OUT,
        amount_micros=draw(st.sampled_from([0, 10_000])) if service is Service.PREMIUM else 0,
    )


@st.composite
def sent_again(draw: st.DrawFn) -> tuple[UsageRecord, UsageRecord]:
    """A record counted under an id, and one sent later under the same id: each field
    kept or drawn again, the time often the same instant written with another offset."""
    counted = draw(usage_records())
    other = draw(usage_records())
    fields = {name: getattr(draw(st.sampled_from([counted, other])), name)
              for name in ("line", "service", "quantity", "country", "direction",
                           "amount_micros")}
    at = draw(st.sampled_from([counted.at, other.at])).astimezone(draw(OFFSETS))
    return UsageRecord(id=counted.id, at=at, **fields), counted


def _same(a: UsageRecord, b: UsageRecord) -> bool:
    """The plain rule: every field of the record but its id equal, times as instants."""
    return (a.line, a.service, a.direction, a.quantity, a.amount_micros, a.country,
            a.at.astimezone(UTC).replace(tzinfo=None)) == (
        b.line, b.service, b.direction, b.quantity, b.amount_micros, b.country,
        b.at.astimezone(UTC).replace(tzinfo=None))


@given(sent_again())
def test_a_record_under_a_used_id_is_a_duplicate_exactly_when_it_is_the_same_record(
        pair: tuple[UsageRecord, UsageRecord]) -> None:
    sent, counted = pair
    error = id_conflict(sent, counted)
    assert (error is None) == _same(sent, counted)
    assert (error is None) == (differing_fields(sent, counted) == [])
    assert differing_fields(sent, counted) == differing_fields(counted, sent)
    if error is not None:
        assert error.startswith(f"{ID_CONFLICT}: id 'r1' ")
        for name in differing_fields(sent, counted):
            assert f"{name}: " in error


def test_a_line_with_a_lone_surrogate_is_rejected() -> None:
    assert rejected_field(record(line="+3247\udc00")) == "line"
