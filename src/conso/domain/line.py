"""A line as rating needs it: owner, cycle day, and its plan over time.

Plan changes are kept as a history so that a late record is rated with the
plan that was in force when the usage happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class PlanPeriod:
    effective_from: datetime
    plan_id: str


@dataclass(frozen=True, slots=True)
class Line:
    id: str
    account_id: str
    user_login: str | None
    cycle_day: int
    plans: tuple[PlanPeriod, ...]  # oldest first, never empty
    barred: frozenset[str] = frozenset()          # see control.BARRING_FUNCTIONS
    spending_limit_micros: int | None = None      # pay-per-use lines only
    imsi: str | None = None                       # the SIM's, for the network's requests
    # The roaming data cap (rules.md): switched off by the user or an admin, or
    # continued past for the cycle that starts on `roaming_continued`.
    roaming_cap_off: bool = False
    roaming_continued: date | None = None

    @property
    def plan_id(self) -> str:
        """The current plan."""
        return self.plans[-1].plan_id

    def plan_at(self, at: datetime) -> str:
        """The plan in force at `at`; usage before the first period uses the first plan."""
        current = self.plans[0].plan_id
        for period in self.plans:
            if period.effective_from <= at:
                current = period.plan_id
            else:
                break
        return current
