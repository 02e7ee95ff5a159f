"""A line's plan history: late records are rated with the plan in force back then."""

from __future__ import annotations

from datetime import UTC, datetime

from conso.domain.line import Line, PlanPeriod

JAN = datetime(2026, 1, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)
JUN = datetime(2026, 6, 1, tzinfo=UTC)


def line_with(*plans: PlanPeriod) -> Line:
    return Line(id="+32470000001", account_id="acme", user_login=None, cycle_day=1,
                plans=plans)


def test_the_current_plan_is_the_latest() -> None:
    line = line_with(PlanPeriod(JAN, "king"), PlanPeriod(MAR, "payg"))
    assert line.plan_id == "payg"


def test_a_late_record_is_rated_with_the_plan_in_force_when_it_happened() -> None:
    line = line_with(PlanPeriod(JAN, "king"), PlanPeriod(MAR, "payg"), PlanPeriod(JUN, "kong"))
    assert line.plan_at(datetime(2026, 2, 15, tzinfo=UTC)) == "king"
    assert line.plan_at(datetime(2026, 4, 15, tzinfo=UTC)) == "payg"
    assert line.plan_at(datetime(2026, 7, 15, tzinfo=UTC)) == "kong"


def test_a_plan_takes_effect_at_its_start_instant() -> None:
    line = line_with(PlanPeriod(JAN, "king"), PlanPeriod(MAR, "payg"))
    assert line.plan_at(MAR) == "payg"
    assert line.plan_at(datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)) == "king"


def test_usage_before_the_first_period_uses_the_first_plan() -> None:
    line = line_with(PlanPeriod(MAR, "king"), PlanPeriod(JUN, "payg"))
    assert line.plan_at(JAN) == "king"
