"""Network control (pure): barring, spending limits, authorization and grants.

A line under a spending limit must never be granted usage that could take its
spend past the limit. The worst case is what the line spent plus what every
open reservation could still cost; a grant is at most what the rest buys:

    worst = spend + sum over rate classes of [price(M + R) - price(M)]
    grant g in class c only if  price_c(M_c + R_c + g) - price_c(M_c + R_c) <= limit - worst

(M: metered so far, R: units reserved by open sessions.) Because prices are
cumulative, reporting used <= reserved never raises the worst case, so online
usage never overshoots; offline records may, and are reported as overshoot.

The roaming data cap (the EU bill-shock rule) is the same bound on one rate class:
data outside the EU/EEA, whose worst case is price(M + R) of that class alone. Where
a spending limit also applies, the tighter of the two decides a grant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from conso.domain.catalog import Catalog, Plan, PlanKind
from conso.domain.line import Line
from conso.domain.rating import ROAMING_DATA, RateClass, rate_class
from conso.domain.units import BYTES_PER_KB, Direction, Service

BARRING_FUNCTIONS = (
    "data", "voice_out", "voice_in", "voice_out_roaming", "voice_in_roaming", "sms_out",
    "premium",
)


class Reason(StrEnum):
    SPENDING_LIMIT = "spending_limit"
    ROAMING_BLOCKED_WITH_LIMIT = "roaming_blocked_with_limit"
    UNKNOWN_LINE = "unknown_line"
    SERVICE_NOT_IN_PLAN = "service_not_in_plan"
    ROAMING_CAP = "roaming_cap"


class ControlError(ValueError):
    """A setting that is not allowed; `loc` names the field (`("amount_eur",)`, a barring
    function, `("line",)`), never where a protocol carried it."""

    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(f"{'.'.join(map(str, loc))}: {msg}")
        self.loc = loc
        self.msg = msg


def barred_reason(function: str) -> str:
    return f"barred:{function}"


def parse_barring(changes: Mapping[str, bool], current: frozenset[str]) -> frozenset[str]:
    """Bar (True) or lift (False) functions; a function left out keeps its current setting."""
    barred = set(current)
    for function, bar in changes.items():
        if function not in BARRING_FUNCTIONS:
            raise ControlError((function,),
                               f"unknown function (known: {', '.join(BARRING_FUNCTIONS)})")
        if bar:
            barred.add(function)
        else:
            barred.discard(function)
    return frozenset(barred)


def barring_view(barred: frozenset[str]) -> dict[str, bool]:
    return {function: function in barred for function in BARRING_FUNCTIONS}


def functions_for(service: Service, direction: Direction, abroad: bool) -> tuple[str, ...]:
    """The barrings that stop this use. Barring calls bars them abroad too."""
    if service is Service.DATA:
        return ("data",)
    if service is Service.SMS:
        return ("sms_out",)
    if service is Service.PREMIUM:
        return ("premium",)
    if service is Service.VOICE:
        base = "voice_in" if direction is Direction.IN else "voice_out"
        return (base, f"{base}_roaming") if abroad else (base,)
    return ()  # callme: a free service message, never barred


def check_limit_amount(plan: Plan, amount_eur: int) -> int:
    """The limit in micro-euros, if the plan offers it."""
    if plan.kind is not PlanKind.PAYG or not plan.spending_limits_micros:
        raise ControlError(("line",), "spending limits are for pay-per-use lines")
    choices = [m // 1_000_000 for m in plan.spending_limits_micros]
    if amount_eur not in choices:
        raise ControlError(("amount_eur",), f"must be one of {choices}")
    return amount_eur * 1_000_000


@dataclass(frozen=True, slots=True)
class Exposure:
    """One rate class of a line: what is metered and what open sessions reserved."""

    rate: RateClass
    metered: int
    reserved: int


def worst_case_spend(spend_micros: int, exposures: Iterable[Exposure]) -> int:
    return spend_micros + sum(e.rate.cost(e.metered, e.reserved) for e in exposures)


def affordable_units(exposure: Exposure, requested: int, available_micros: int) -> int:
    """The most units (<= requested) whose cost on top of the reservations fits the money."""
    base = exposure.metered + exposure.reserved
    cost = exposure.rate.cost
    if cost(base, requested) <= available_micros:
        return requested
    low, high = 0, requested  # cost(base, low) fits, cost(base, high) does not
    while high - low > 1:
        middle = (low + high) // 2
        if cost(base, middle) <= available_micros:
            low = middle
        else:
            high = middle
    return low


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str | None = None


ALLOWED = Decision(True)


def authorize(
    *, plan: Plan, catalog: Catalog, barred: frozenset[str], limit_micros: int | None,
    service: Service, direction: Direction, country: str, amount_micros: int | None,
    exposure: Exposure | None, worst_micros: int, roaming_cap_micros: int | None = None,
) -> Decision:
    """May this use start? Barring first, then the spending limit, then the roaming
    data cap.

    A premium purchase whose price is not given is taken to cost something: at the
    limit it is refused rather than let through for free.
    """
    if service not in plan.services:
        return Decision(False, Reason.SERVICE_NOT_IN_PLAN.value)
    abroad = plan.kind is not PlanKind.INTERNET and country != catalog.home_country
    if plan.kind is not PlanKind.INTERNET:
        for function in functions_for(service, direction, abroad):
            if function in barred:
                return Decision(False, barred_reason(function))
    if service is Service.CALLME:
        return ALLOWED
    if limit_micros is not None:
        if abroad and country in catalog.limit_roaming_blocked:
            return Decision(False, Reason.ROAMING_BLOCKED_WITH_LIMIT.value)
        if service is Service.PREMIUM:
            cost = 1 if amount_micros is None else amount_micros
        elif exposure is not None:
            cost = exposure.rate.cost(exposure.metered + exposure.reserved, 1)
        else:
            cost = 0
        if cost > 0 and worst_micros + cost > limit_micros:
            return Decision(False, Reason.SPENDING_LIMIT.value)
    if roaming_cap_micros is not None and capped(exposure):
        assert exposure is not None
        base = exposure.metered + exposure.reserved
        if exposure.rate.cost(0, base) + exposure.rate.cost(base, 1) > roaming_cap_micros:
            return Decision(False, Reason.ROAMING_CAP.value)
    return ALLOWED


def roaming_cap_in_force(line: Line, catalog: Catalog, cycle_start: date) -> int | None:
    """The roaming data cap that binds the line in the cycle starting `cycle_start`:
    None when the catalogue sets none, the line switched it off, or the line chose to
    continue past it in that cycle (the next cycle is capped again)."""
    if line.roaming_cap_off or line.roaming_continued == cycle_start:
        return None
    return catalog.roaming_data_cap_micros


def capped(exposure: Exposure | None) -> bool:
    """Is this use data outside the EU/EEA, what the roaming data cap counts?"""
    return exposure is not None and exposure.rate.meter == ROAMING_DATA \
        and exposure.rate.tariff is not None


@dataclass(frozen=True, slots=True)
class CapPosition:
    """Where a line stands against its roaming data cap: what its data outside the
    EU/EEA cost this cycle, and what the next kB would add."""

    spent_micros: int
    next_kb_micros: int

    def reached(self, cap_micros: int) -> bool:
        """The rest of the cap buys no more data: grants stop here, which may be a
        fraction of a kB's price under the cap itself."""
        return self.spent_micros + self.next_kb_micros > cap_micros \
            or self.spent_micros >= cap_micros


def cap_position(rate: RateClass, metered: int) -> CapPosition:
    """The cap's position after `metered` bytes of the roaming data class."""
    return CapPosition(rate.cost(0, metered), rate.cost(metered, BYTES_PER_KB))


def exposure_for(plan: Plan, catalog: Catalog, *, service: Service, direction: Direction,
                 country: str, meters: Mapping[str, int],
                 reserved: Mapping[str, int]) -> Exposure | None:
    rc = rate_class(plan, catalog, service, direction, country)
    if rc is None:
        return None
    return Exposure(rc, meters.get(rc.meter, 0), reserved.get(rc.meter, 0))


@dataclass(frozen=True, slots=True)
class Grant:
    granted: int
    final: bool
    reason: str | None = None


def grant(exposure: Exposure, requested: int, *, limit_micros: int | None,
          worst_micros: int, roaming_cap_micros: int | None = None) -> Grant:
    """Units to grant a session; `final` when the money buys nothing more after them.

    The money is what the spending limit leaves over the worst case and, for data
    outside the EU/EEA, what the roaming data cap leaves over that class's worst case:
    the tighter decides, and names the reason when nothing is left."""
    bounds: list[tuple[int, str]] = []
    if limit_micros is not None:
        bounds.append((max(0, limit_micros - worst_micros), Reason.SPENDING_LIMIT.value))
    if roaming_cap_micros is not None and capped(exposure):
        spent = exposure.rate.cost(0, exposure.metered + exposure.reserved)
        bounds.append((max(0, roaming_cap_micros - spent), Reason.ROAMING_CAP.value))
    if not bounds or exposure.rate.tariff is None:
        return Grant(requested, False)
    available, reason = min(bounds, key=lambda bound: bound[0])
    units = affordable_units(exposure, requested, available)
    if units == 0 and requested > 0:
        return Grant(0, True, reason)
    after = Exposure(exposure.rate, exposure.metered, exposure.reserved + units)
    left = available - exposure.rate.cost(exposure.metered + exposure.reserved, units)
    final = units < requested or after.rate.cost(after.metered + after.reserved, 1) > left
    return Grant(units, final)
