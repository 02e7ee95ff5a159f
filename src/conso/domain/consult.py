"""Consultation: what is left of a line's bundle this cycle, and the extra spend.

The same summary feeds the API's usage answer, the portal and the CONSULT SMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from conso.domain.catalog import Plan, PlanKind
from conso.domain.forecast import run_out_date
from conso.domain.rating import NO_OVERSHOOT, ROAMING_METER_OF, CycleUsage, NetworkOvershoot
from conso.domain.units import METERED, UNIT_OF, Service


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    unit: str
    used: int                 # at home and in the EU/EEA, what counts against the bundle
    included: int | None      # None: unlimited, or pay-per-use
    remaining: int | None
    roaming_used: int         # outside the EU/EEA, charged, never from the bundle


@dataclass(frozen=True, slots=True)
class UsageSummary:
    line: str
    plan: Plan
    cycle_start: datetime
    cycle_end: datetime
    services: dict[Service, ServiceSummary]
    extra_micros: int
    forecast: dict[Service, date]
    # Of the usage and spend above, what the network used past its online-charging grants.
    network_overshoot: NetworkOvershoot = NO_OVERSHOOT


def summarize(line_id: str, plan: Plan, usage: CycleUsage, now: datetime) -> UsageSummary:
    services: dict[Service, ServiceSummary] = {}
    forecast: dict[Service, date] = {}
    for service in METERED:
        if service not in plan.services:
            continue
        used = usage.meter(service.value)
        roaming_meter = ROAMING_METER_OF[service]
        roaming = usage.meter(roaming_meter)
        if service is Service.VOICE:
            roaming += usage.meter("roaming_voice_in")
        included = None if plan.kind is PlanKind.PAYG else plan.allowance(service)
        if plan.kind is not PlanKind.PAYG and included is None and service not in plan.unlimited:
            included = 0
        remaining = None if included is None else max(0, included - used)
        services[service] = ServiceSummary(UNIT_OF[service], used, included, remaining, roaming)
        if included:
            day = run_out_date(used, included, usage.cycle, now)
            if day is not None:
                forecast[service] = day
    return UsageSummary(
        line=line_id, plan=plan, cycle_start=usage.cycle.start, cycle_end=usage.cycle.end,
        services=services, extra_micros=usage.spend_micros, forecast=forecast,
        network_overshoot=usage.overshoot,
    )
