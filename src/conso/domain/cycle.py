"""Billing cycles: one calendar month from the line's cycle day, 00:00 Europe/Brussels.

A cycle is identified by the local date it starts on. Midnight always exists
in Brussels (the DST changes happen at 02:00/03:00), so bounds are exact and a
cycle that spans a DST change is simply an hour shorter or longer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

CYCLE_TZ = ZoneInfo("Europe/Brussels")
MIN_CYCLE_DAY = 1
MAX_CYCLE_DAY = 28


@dataclass(frozen=True, slots=True)
class Cycle:
    start_date: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.start_date, time(0), CYCLE_TZ)

    @property
    def end(self) -> datetime:
        return datetime.combine(_next_month(self.start_date), time(0), CYCLE_TZ)

    def next(self) -> Cycle:
        return Cycle(_next_month(self.start_date))

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


def _next_month(day: date) -> date:
    if day.month == 12:
        return day.replace(year=day.year + 1, month=1)
    return day.replace(month=day.month + 1)


def _previous_month(day: date) -> date:
    if day.month == 1:
        return day.replace(year=day.year - 1, month=12)
    return day.replace(month=day.month - 1)


def cycle_of(at: datetime, cycle_day: int) -> Cycle:
    """The cycle an instant belongs to, for a line whose cycle starts on `cycle_day`."""
    if not MIN_CYCLE_DAY <= cycle_day <= MAX_CYCLE_DAY:
        raise ValueError(f"cycle_day must be {MIN_CYCLE_DAY}..{MAX_CYCLE_DAY}, got {cycle_day}")
    if at.tzinfo is None:
        raise ValueError("instants must carry a UTC offset")
    local = at.astimezone(CYCLE_TZ).date()
    start = local.replace(day=cycle_day)
    if local.day < cycle_day:
        start = _previous_month(start)
    return _cycle(start)


@cache
def _cycle(start: date) -> Cycle:
    """One shared object per cycle start: every line of a cycle day points to it."""
    return Cycle(start)
