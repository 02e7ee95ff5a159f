"""Forecast: at the current pace, on which day will an allowance run out this cycle."""

from __future__ import annotations

from datetime import date, datetime

from conso.domain.cycle import CYCLE_TZ, Cycle


def run_out_date(used: int, included: int, cycle: Cycle, now: datetime) -> date | None:
    """The local date the allowance runs out at the pace so far, or None.

    None when nothing was used yet, when it is already used up, when `now` is
    outside the cycle, or when the pace does not exhaust it before the cycle ends.
    """
    if used <= 0 or used >= included or not cycle.contains(now):
        return None
    elapsed = (now - cycle.start).total_seconds()
    if elapsed <= 0:
        return None
    # Integer arithmetic on microseconds keeps the result exact and reproducible.
    elapsed_us = int(elapsed * 1_000_000)
    run_out_us = elapsed_us * included // used
    start_us = int(cycle.start.timestamp() * 1_000_000)
    end_us = int(cycle.end.timestamp() * 1_000_000)
    at_us = start_us + run_out_us
    if at_us >= end_us:
        return None
    return datetime.fromtimestamp(at_us / 1_000_000, CYCLE_TZ).date()
