"""What the portal shows: gauges, fleet rows and the daily chart, ready to render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from conso.domain.catalog import PlanKind
from conso.domain.consult import UsageSummary
from conso.domain.control import BARRING_FUNCTIONS
from conso.domain.cycle import CYCLE_TZ
from conso.domain.line import Line
from conso.domain.outbox import OutboxMessage, shown_status
from conso.domain.units import MICROS_PER_EURO, Service
from conso.engine.history import CycleTotal
from conso.notify.templates import money, quantity
from conso.store.base import AuditEntry, StoredRecord
from conso.web import i18n


@dataclass(frozen=True, slots=True)
class Gauge:
    service: str
    used: str
    included: str | None
    remaining: str | None
    percent: int | None          # None: no allowance (unlimited or pay per use)
    level: str                   # ok | warn | over: the bar's colour
    forecast: str | None         # the run-out day, in the page's language
    used_word: str = "used"      # "used"/"left" agreeing with the quantity (French)
    left_word: str = "left"
    heavy: str | None = None     # unlimited data: the heavy-user threshold...
    heavy_percent: int | None = None   # ...and how much of it is used


NEAR_PCT = 90                    # a line at 90 % of an allowance is near its bundle
FLEET_FILTERS = ("near", "over", "barred", "at_limit")


@dataclass(frozen=True, slots=True)
class FleetRow:
    """A line as the fleet table shows it. `extra` is the extra spend of a bundle line
    and all the spend of a pay-per-use line (`payg`), which has no bundle."""

    line: str
    user: str
    plan: str
    percents: dict[str, int | None]
    extra: str
    extra_micros: int
    payg: bool = False
    barred: tuple[str, ...] = ()     # in BARRING_FUNCTIONS order
    limit: str | None = None         # the spending limit (pay per use), as money
    limit_pct: int | None = None     # the spend, in % of the limit
    at_limit: bool = False

    @property
    def top_percent(self) -> int | None:
        """The fullest allowance, in %; None without one."""
        return max((p for p in self.percents.values() if p is not None), default=None)

    @property
    def over(self) -> bool:
        """An allowance used up (100 % or more): what comes next is charged."""
        top = self.top_percent
        return top is not None and top >= 100

    @property
    def near(self) -> bool:
        """Near the bundle: an allowance at 90 % or more, none used up."""
        top = self.top_percent
        return top is not None and NEAR_PCT <= top < 100

    def matches(self, shown: str) -> bool:
        """In the table under the filter `shown` ("" or unknown: every line)."""
        if shown == "near":
            return self.near
        if shown == "over":
            return self.over
        if shown == "barred":
            return bool(self.barred)
        if shown == "at_limit":
            return self.at_limit
        return True


@dataclass(frozen=True, slots=True)
class FleetTotals:
    """The account this cycle: the spend and how many lines are in each state."""

    lines: int
    extra: str                       # extra spend of the lines with a bundle
    payg_spend: str | None           # spend of the pay-per-use lines; None: there are none
    near: int
    over: int
    barred: int
    at_limit: int


def fleet_totals(rows: list[FleetRow], language: str) -> FleetTotals:
    payg = [r for r in rows if r.payg]
    return FleetTotals(
        lines=len(rows),
        extra=money(sum(r.extra_micros for r in rows if not r.payg), language),
        payg_spend=money(sum(r.extra_micros for r in payg), language) if payg else None,
        near=sum(r.near for r in rows), over=sum(r.over for r in rows),
        barred=sum(bool(r.barred) for r in rows), at_limit=sum(r.at_limit for r in rows))


@dataclass(frozen=True, slots=True)
class DayBar:
    label: str                   # the day, in the page's language ("1 Dec")
    value: str
    height: int                  # 0..100
    used: int = 0                # bytes

    @property
    def top(self) -> int:
        """The bar's top in the chart's 0..100 viewBox (SVG: y grows downwards)."""
        return 100 - self.height


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
        runs_out = summary.forecast.get(service)
        used = quantity(service, figures.used, language, used=True)
        remaining = None if figures.remaining is None else quantity(
            service, figures.remaining, language)
        heavy = summary.plan.heavy_user_bytes if (
            service is Service.DATA and service in summary.plan.unlimited) else None
        result.append(Gauge(
            service=service.value,
            used=used,
            included=None if figures.included is None else quantity(
                service, figures.included, language),
            remaining=remaining,
            percent=percent, level=_level(percent),
            forecast=None if runs_out is None else i18n.day(runs_out, language),
            used_word=i18n.used_word(service.value, used, language),
            left_word=i18n.used_word(service.value, remaining or "", language, left=True),
            heavy=None if not heavy else quantity(Service.DATA, heavy, language),
            heavy_percent=None if not heavy else min(999, figures.used * 100 // heavy),
        ))
    return result


def fleet_row(line: Line, user: str, summary: UsageSummary, language: str) -> FleetRow:
    percents: dict[str, int | None] = {}
    for service in (Service.VOICE, Service.SMS, Service.DATA):
        figures = summary.services.get(service)
        percents[service.value] = (
            None if figures is None or not figures.included
            else min(999, figures.used * 100 // figures.included))
    payg = summary.plan.kind is PlanKind.PAYG
    limit = line.spending_limit_micros if payg else None   # none but on pay per use
    spend = summary.extra_micros
    return FleetRow(
        line.id, user, summary.plan.name, percents, money(spend, language), spend,
        payg=payg, barred=tuple(f for f in BARRING_FUNCTIONS if f in line.barred),
        limit=None if limit is None else money(limit, language),
        limit_pct=None if not limit else min(999, spend * 100 // limit),
        at_limit=limit is not None and spend >= limit)


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
    return [DayBar(label=i18n.day(d, language, year=False),
                   value=quantity(Service.DATA, per_day.get(d, 0), language),
                   height=0 if not top else per_day.get(d, 0) * 100 // top,
                   used=per_day.get(d, 0))
            for d in days]


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A message as the line page lists it: times in Brussels in the page's language,
    its state as api.md names it and when it last changed."""

    channel: str
    sender: str
    to: str
    text: str
    created: str
    status: str
    changed: str


def message_rows(messages: list[OutboxMessage], language: str) -> list[MessageRow]:
    def local(at: datetime | None) -> str:
        return "" if at is None else i18n.when(at, language)

    return [MessageRow(m.channel, m.sender, m.to, m.text, local(m.created_at),
                       shown_status(m.status), local(m.status_changed_at or m.created_at))
            for m in messages]


@dataclass(frozen=True, slots=True)
class AuditRow:
    """An audit entry as the portal's trail lists it: when (Brussels time, in the page's
    language), who, which line, and each setting that changed, from → to, in words."""

    at: str
    actor: str
    line: str | None
    changes: list[str]


def audit_rows(entries: list[AuditEntry], t: dict[str, str],
               language: str) -> list[AuditRow]:
    return [AuditRow(i18n.when(e.at, language), e.actor, e.line_id, _changes(e, t, language))
            for e in entries]


def _changes(entry: AuditEntry, t: dict[str, str], language: str) -> list[str]:
    before, after = entry.before, entry.after
    colon = " : " if language == "fr" else ": "      # French puts a space before it
    if entry.action == "barring":
        def state(view: Any, function: str) -> str:
            barred = isinstance(view, dict) and bool(view.get(function))
            return t["blocked"] if barred else t["allowed"]
        return [f"{t['b_' + f]}{colon}{state(before, f)} → {state(after, f)}"
                for f in BARRING_FUNCTIONS if state(before, f) != state(after, f)]
    if entry.action == "spending_limit":
        def amount(euros: Any) -> str:
            return t["no_limit"] if euros is None else money(
                int(euros) * MICROS_PER_EURO, language)
        return [f"{t['limit']}{colon}{amount(before)} → {amount(after)}"]
    if entry.action == "roaming_cap":
        words = {"enabled": (t["au_roaming_cap"], t["au_on"], t["au_off"]),
                 "continued": (t["au_continued"], t["au_on"], t["au_off"])}
        found = []
        for key, (name, on, off) in words.items():
            old, new = (bool(v.get(key)) if isinstance(v, dict) else None
                        for v in (before, after))
            if old != new:
                found.append(f"{name}{colon}{'—' if old is None else on if old else off} → "
                             f"{'—' if new is None else on if new else off}")
        if found:
            return found
    if entry.action == "alerts" and isinstance(before, dict) and isinstance(after, dict):
        def rules(view: dict[str, Any]) -> str:
            return ", ".join(_rule_words(str(r), language)
                             for r in view.get("rules", [])) or t["au_off"]
        found = []
        if before.get("rules") != after.get("rules"):
            found.append(f"{t['notifications']}{colon}{rules(before)} → {rules(after)}")
        for key, name in (("sms", t["sms_to_line"]), ("second_number", t["second_number"]),
                          ("email", t["email"])):
            old, new = ((v.get("channels") or {}).get(key) for v in (before, after))
            if old != new:
                found.append(f"{name}{colon}{_setting(old, t)} → {_setting(new, t)}")
        return found or [t["notifications"]]
    # A change this page has no words for: as it was recorded.
    if isinstance(before, dict) and isinstance(after, dict):
        return [f"{entry.action} {key}: {_raw(before.get(key))} → {_raw(after.get(key))}"
                for key in sorted(before.keys() | after.keys())
                if before.get(key) != after.get(key)] or [entry.action]
    return [f"{entry.action}: {_raw(before)} → {_raw(after)}"]


def _rule_words(rule: str, language: str) -> str:
    """"included_pct:90" as "90 %"; "extra_eur:50" as the amount."""
    kind, _, value = rule.partition(":")
    if kind == "extra_eur" and value.isdigit():
        return money(int(value) * MICROS_PER_EURO, language)
    return f"{value} %" if language == "fr" else f"{value}%"


def _setting(value: Any, t: dict[str, str]) -> str:
    if isinstance(value, bool):
        return t["au_on"] if value else t["au_off"]
    return "—" if value is None else str(value)


def _raw(value: Any) -> str:
    return "—" if value is None else orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class RecordRow:
    """A usage record as the records page lists it: its time in Brussels in the page's
    language, its quantity as people read it, its charge in the page's money."""

    id: str
    when: str
    service: str
    direction: str
    quantity: str
    country: str
    charge: str


def record_rows(records: list[StoredRecord], language: str) -> list[RecordRow]:
    rows = []
    for record in records:
        try:
            service: Service | None = Service(record.service)
        except ValueError:
            service = None
        if service in (Service.VOICE, Service.SMS, Service.DATA):
            amount = quantity(service, record.quantity, language, used=True)
        elif service is Service.PREMIUM:
            amount = money(record.amount_micros, language)
        else:
            amount = str(record.quantity)
        rows.append(RecordRow(record.id, i18n.when(record.at, language), record.service,
                              record.direction, amount, record.country,
                              money(record.charge_micros, language)))
    return rows


@dataclass(frozen=True, slots=True)
class CycleOption:
    """A cycle in the cycle picker: its first day (the API's `cycle=`), its days in the
    page's language, and whether it is the current one."""

    value: str
    label: str
    current: bool


def cycle_options(totals: list[CycleTotal], language: str) -> list[CycleOption]:
    words = i18n.translator(language)
    options = []
    for total in totals:
        cycle = total.cycle
        label = words["cycle_range"].format(
            start=i18n.day(cycle.start_date, language),
            end=i18n.day(cycle.end.astimezone(CYCLE_TZ).date() - timedelta(days=1), language))
        if total.current:
            label = f"{label} ({words['current']})"
        options.append(CycleOption(cycle.start_date.isoformat(), label, total.current))
    return options
