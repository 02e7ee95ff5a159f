"""Billing cycles: a calendar month from the cycle day, 00:00 Europe/Brussels."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conso.domain.cycle import Cycle, cycle_of

BRUSSELS = ZoneInfo("Europe/Brussels")
WINTER = timezone(timedelta(hours=1))
SUMMER = timezone(timedelta(hours=2))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("instant", "cycle_day", "start"),
    [
        ("2026-11-24T10:15:00+01:00", 1, date(2026, 11, 1)),
        ("2026-11-01T00:00:00+01:00", 1, date(2026, 11, 1)),
        ("2026-11-30T23:59:59+01:00", 1, date(2026, 11, 1)),
        ("2026-11-14T23:59:59+01:00", 15, date(2026, 10, 15)),
        ("2026-11-15T00:00:00+01:00", 15, date(2026, 11, 15)),
        ("2026-11-15T12:00:00+01:00", 15, date(2026, 11, 15)),
        ("2026-02-28T00:00:00+01:00", 28, date(2026, 2, 28)),
        ("2026-03-27T23:59:59+01:00", 28, date(2026, 2, 28)),
        ("2026-03-28T00:00:00+01:00", 28, date(2026, 3, 28)),
    ],
)
def test_an_instant_belongs_to_the_cycle_started_on_the_last_cycle_day(
    instant: str, cycle_day: int, start: date
) -> None:
    assert cycle_of(at(instant), cycle_day) == Cycle(start)


def test_a_cycle_runs_from_midnight_on_the_cycle_day_to_midnight_a_month_later() -> None:
    cycle = cycle_of(at("2026-11-24T10:15:00+01:00"), 1)
    assert cycle.start == datetime(2026, 11, 1, tzinfo=WINTER)
    assert cycle.end == datetime(2026, 12, 1, tzinfo=WINTER)
    assert cycle.start.isoformat() == "2026-11-01T00:00:00+01:00"
    assert cycle.end.isoformat() == "2026-12-01T00:00:00+01:00"


def test_the_last_instant_of_december_is_in_the_december_cycle() -> None:
    cycle = cycle_of(at("2026-12-31T23:59:59.999999+01:00"), 1)
    assert cycle == Cycle(date(2026, 12, 1))
    assert cycle.end == datetime(2027, 1, 1, tzinfo=WINTER)


def test_new_year_starts_a_new_cycle() -> None:
    assert cycle_of(at("2027-01-01T00:00:00+01:00"), 1) == Cycle(date(2027, 1, 1))


def test_a_cycle_starting_in_december_ends_in_january() -> None:
    cycle = cycle_of(at("2027-01-10T08:00:00+01:00"), 15)
    assert cycle == Cycle(date(2026, 12, 15))
    assert cycle.end == datetime(2027, 1, 15, tzinfo=WINTER)
    assert cycle.next() == Cycle(date(2027, 1, 15))


def test_early_january_belongs_to_the_cycle_that_started_in_december() -> None:
    assert cycle_of(at("2026-01-27T12:00:00+01:00"), 28) == Cycle(date(2025, 12, 28))


def test_an_instant_in_utc_just_before_local_midnight_belongs_to_the_next_local_day() -> None:
    # 23:30 UTC on 30 November is 00:30 on 1 December in Brussels.
    assert cycle_of(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), 1) == Cycle(date(2026, 12, 1))
    assert cycle_of(datetime(2026, 11, 30, 22, 59, 59, tzinfo=UTC), 1) == Cycle(
        date(2026, 11, 1))


def test_in_summer_local_midnight_is_22_00_utc() -> None:
    assert cycle_of(datetime(2026, 6, 30, 22, 0, tzinfo=UTC), 1) == Cycle(date(2026, 7, 1))
    assert cycle_of(datetime(2026, 6, 30, 21, 59, 59, tzinfo=UTC), 1) == Cycle(date(2026, 6, 1))


def test_utc_new_years_eve_at_23_00_is_already_next_year_in_brussels() -> None:
    assert cycle_of(datetime(2026, 12, 31, 23, 0, tzinfo=UTC), 1) == Cycle(date(2027, 1, 1))


def test_an_offset_far_from_brussels_is_converted_first() -> None:
    # 20:00 on 30 November in New York (-05:00) is 02:00 on 1 December in Brussels.
    new_york = timezone(timedelta(hours=-5))
    assert cycle_of(datetime(2026, 11, 30, 20, 0, tzinfo=new_york), 1) == Cycle(
        date(2026, 12, 1))


def test_the_march_cycle_spans_the_change_to_summer_time() -> None:
    # Summer time starts on Sunday 29 March 2026.
    cycle = cycle_of(at("2026-03-29T12:00:00+02:00"), 1)
    assert cycle.start.isoformat() == "2026-03-01T00:00:00+01:00"
    assert cycle.end.isoformat() == "2026-04-01T00:00:00+02:00"
    assert cycle.end.astimezone(UTC) - cycle.start.astimezone(UTC) == timedelta(days=31, hours=-1)


def test_the_october_cycle_spans_the_change_to_winter_time() -> None:
    # Winter time starts on Sunday 25 October 2026.
    cycle = cycle_of(at("2026-10-25T12:00:00+01:00"), 1)
    assert cycle.start.isoformat() == "2026-10-01T00:00:00+02:00"
    assert cycle.end.isoformat() == "2026-11-01T00:00:00+01:00"
    assert cycle.end.astimezone(UTC) - cycle.start.astimezone(UTC) == timedelta(days=31, hours=1)


def test_a_cycle_starting_on_the_day_summer_time_begins_starts_at_local_midnight() -> None:
    # Sunday 28 March 2027: midnight is still +01:00, the change happens at 02:00.
    cycle = cycle_of(at("2027-03-28T03:30:00+02:00"), 28)
    assert cycle == Cycle(date(2027, 3, 28))
    assert cycle.start.isoformat() == "2027-03-28T00:00:00+01:00"
    assert cycle.end.isoformat() == "2027-04-28T00:00:00+02:00"
    assert cycle_of(datetime(2027, 3, 27, 22, 59, 59, tzinfo=UTC), 28) == Cycle(
        date(2027, 2, 28))
    assert cycle_of(datetime(2027, 3, 27, 23, 0, tzinfo=UTC), 28) == Cycle(date(2027, 3, 28))


def test_a_cycle_starting_on_the_day_winter_time_begins_starts_at_local_midnight() -> None:
    # Sunday 25 October 2026: midnight is still +02:00, the change happens at 03:00.
    cycle = cycle_of(at("2026-10-25T02:30:00+01:00"), 25)   # the second 02:30 of the night
    assert cycle == Cycle(date(2026, 10, 25))
    assert cycle.start.isoformat() == "2026-10-25T00:00:00+02:00"
    assert cycle_of(datetime(2026, 10, 24, 21, 59, 59, tzinfo=UTC), 25) == Cycle(
        date(2026, 9, 25))
    assert cycle_of(datetime(2026, 10, 24, 22, 0, tzinfo=UTC), 25) == Cycle(date(2026, 10, 25))


@pytest.mark.parametrize("cycle_day", [0, 29, 31, -1])
def test_cycle_days_outside_1_to_28_are_refused(cycle_day: int) -> None:
    with pytest.raises(ValueError, match="cycle_day"):
        cycle_of(at("2026-11-24T10:15:00+01:00"), cycle_day)


def test_an_instant_without_an_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        cycle_of(datetime(2026, 11, 24, 10, 15), 1)


def test_contains_includes_the_start_and_excludes_the_end() -> None:
    cycle = Cycle(date(2026, 11, 1))
    assert cycle.contains(cycle.start)
    assert cycle.contains(cycle.end - timedelta(microseconds=1))
    assert not cycle.contains(cycle.end)
    assert not cycle.contains(cycle.start - timedelta(microseconds=1))


# -- properties ----------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 12, 31),
    timezones=st.sampled_from([UTC, BRUSSELS, timezone(timedelta(hours=-10)),
                               timezone(timedelta(hours=14)), WINTER, SUMMER]),
    allow_imaginary=False,
)
cycle_days = st.integers(min_value=1, max_value=28)


@given(instants, cycle_days)
def test_every_instant_lies_in_its_cycle(instant: datetime, cycle_day: int) -> None:
    cycle = cycle_of(instant, cycle_day)
    assert cycle.start <= instant < cycle.end
    assert cycle.contains(instant)
    assert cycle.start.astimezone(UTC) <= instant.astimezone(UTC) < cycle.end.astimezone(UTC)


@given(instants, cycle_days)
def test_a_cycle_starts_at_local_midnight_on_its_cycle_day(
    instant: datetime, cycle_day: int
) -> None:
    start = cycle_of(instant, cycle_day).start.astimezone(BRUSSELS)
    assert start.day == cycle_day
    assert start.time() == time(0)
    assert start.utcoffset() in (timedelta(hours=1), timedelta(hours=2))


@given(instants, cycle_days)
def test_the_next_cycle_starts_where_the_cycle_ends(instant: datetime, cycle_day: int) -> None:
    cycle = cycle_of(instant, cycle_day)
    following = cycle.next()
    assert following.start == cycle.end
    assert cycle_of(cycle.end, cycle_day) == following
    assert cycle_of(cycle.end - timedelta(microseconds=1), cycle_day) == cycle
    assert cycle_of(cycle.start, cycle_day) == cycle


@given(instants, cycle_days)
def test_a_cycle_lasts_a_calendar_month_give_or_take_a_dst_hour(
    instant: datetime, cycle_day: int
) -> None:
    cycle = cycle_of(instant, cycle_day)
    length = cycle.end.astimezone(UTC) - cycle.start.astimezone(UTC)
    assert timedelta(days=28, hours=-1) <= length <= timedelta(days=31, hours=1)
