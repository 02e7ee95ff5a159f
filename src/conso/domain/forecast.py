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
    # Absolute time (timestamps), not wall-clock differences, which are an hour
    # off across a DST change; integer microseconds keep the result exact.
    start_us = round(cycle.start.timestamp() * 1_000_000)
    end_us = round(cycle.end.timestamp() * 1_000_000)
    elapsed_us = round(now.timestamp() * 1_000_000) - start_us
    if elapsed_us <= 0:
        return None
    run_out_us = elapsed_us * included // used
    at_us = start_us + run_out_us
    if at_us >= end_us:
        return None
    return datetime.fromtimestamp(at_us / 1_000_000, CYCLE_TZ).date()
