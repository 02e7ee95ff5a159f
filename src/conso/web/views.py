"""What the portal shows: gauges, fleet rows and the daily chart, ready to render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from conso.domain.consult import UsageSummary
from conso.domain.cycle import CYCLE_TZ
from conso.domain.line import Line
from conso.domain.outbox import OutboxMessage, shown_status
from conso.domain.units import Service
from conso.notify.templates import money, quantity


@dataclass(frozen=True, slots=True)
class Gauge:
    service: str
    used: str
    included: str | None
    remaining: str | None
    percent: int | None          # None: no allowance (unlimited or pay per use)
    level: str                   # ok | warn | over: the bar's colour
    forecast: str | None


@dataclass(frozen=True, slots=True)
class FleetRow:
    line: str
    user: str
    plan: str
    percents: dict[str, int | None]
    extra: str
    extra_micros: int


@dataclass(frozen=True, slots=True)
class DayBar:
    label: str
    value: str
    height: int                  # 0..100


def _level(percent: int | None) -> str:
    if percent is None or percent < 75:
        return "ok"
    return "warn" if percent < 100 else "over"


def gauges(summary: UsageSummary, language: str) -> list[Gauge]:
    result = []
    for service, figures in summary.services.items():
        percent = None
        if figures.included:
            percent = min(999, figures.used * 100 // figures.included)
        day = summary.forecast.get(service)
        result.append(Gauge(
            service=service.value,
            used=quantity(service, figures.used, language, used=True),
            included=None if figures.included is None else quantity(
                service, figures.included, language),
            remaining=None if figures.remaining is None else quantity(
                service, figures.remaining, language),
            percent=percent, level=_level(percent),
            forecast=None if day is None else day.isoformat(),
        ))
    return result


def fleet_row(line: Line, user: str, summary: UsageSummary, language: str) -> FleetRow:
    percents: dict[str, int | None] = {}
    for service in (Service.VOICE, Service.SMS, Service.DATA):
        figures = summary.services.get(service)
        percents[service.value] = (
            None if figures is None or not figures.included
            else min(999, figures.used * 100 // figures.included))
    return FleetRow(line.id, user, summary.plan.name, percents,
                    money(summary.extra_micros, language), summary.extra_micros)


def sort_rows(rows: list[FleetRow], key: str, descending: bool) -> list[FleetRow]:
    def value(row: FleetRow) -> tuple[int, str]:
        if key in ("voice", "sms", "data"):
            percent = row.percents.get(key)
            return (-1 if percent is None else percent, row.line)
        if key == "extra":
            return (row.extra_micros, row.line)
        if key == "user":
            return (0, row.user.casefold())
        return (0, row.line)
    return sorted(rows, key=value, reverse=descending)


def daily_data(hourly: list[tuple[datetime, int]], start: date, end: date,
               language: str) -> list[DayBar]:
    """Data used per local day of the cycle (home and roaming), from UTC-hour totals."""
    per_day: dict[date, int] = {}
    for hour, total in hourly:
        day = hour.astimezone(CYCLE_TZ).date()
        per_day[day] = per_day.get(day, 0) + total
    days = []
    day = start
    while day < end:
        days.append(day)
        day += timedelta(days=1)
    top = max(per_day.values(), default=0)
    return [DayBar(label=d.strftime("%d/%m"),
                   value=quantity(Service.DATA, per_day.get(d, 0), language),
                   height=0 if not top else per_day.get(d, 0) * 100 // top)
            for d in days]


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A message as the line page lists it: times in Brussels, its state as api.md
    names it and when it last changed."""

    channel: str
    sender: str
    to: str
    text: str
    created: str
    status: str
    changed: str


def message_rows(messages: list[OutboxMessage]) -> list[MessageRow]:
    def local(at: datetime | None) -> str:
        return "" if at is None else at.astimezone(CYCLE_TZ).strftime("%d/%m %H:%M")

    return [MessageRow(m.channel, m.sender, m.to, m.text, local(m.created_at),
                       shown_status(m.status), local(m.status_changed_at or m.created_at))
            for m in messages]
