"""Usage notifications: the rules a line chooses, and when they fire.

A rule fires at most once per cycle (per service for percentages). When one
record takes usage past several thresholds of the same kind at once, only the
highest is sent and the lower ones count as passed. Fired thresholds are kept
in the cycle's usage, so they re-arm with the next cycle.

A line's choice comes in typed (`AlertsChoice`): decoding a request is its front end's
work, and errors name the choice's field, never where a protocol carried it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from conso.domain.catalog import Plan, PlanKind
from conso.domain.ids import E164, EMAIL
from conso.domain.units import METERED, MICROS_PER_EURO, Service


class RuleKind(StrEnum):
    INCLUDED_PCT = "included_pct"
    EXTRA_EUR = "extra_eur"
    LIMIT_PCT = "limit_pct"        # spending limit (pay-per-use), not a user's choice
    VOLUME_PCT = "volume_pct"      # internet volume plans
    HEAVY_USER = "heavy_user"      # internet unlimited plans
    ROAMING_CAP_PCT = "roaming_cap_pct"  # the roaming data cap, not a user's choice


INCLUDED_PCT_CHOICES = (75, 90, 100)
EXTRA_EUR_CHOICES = (5, 10, 15, 25, 30, 50, 75, 100)
LIMIT_PCT_STEPS = (50, 90, 100)
ROAMING_CAP_STEPS = (80, 100)
HEAVY_USER_PCT = 90                # "near the heavy-user threshold"
MAX_RULES = 5


class AlertError(ValueError):
    """Rules or channels that are not allowed; `loc` names the field of the choice
    (`("rules", 0, "value")`), never where a protocol carried it."""

    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(f"{'.'.join(map(str, loc))}: {msg}")
        self.loc = loc
        self.msg = msg


@dataclass(frozen=True, slots=True, order=True)
class AlertRule:
    kind: RuleKind
    value: int


@dataclass(frozen=True, slots=True)
class Channels:
    sms: bool = True                  # SMS to the line itself, from 8644
    second_number: str | None = None  # SMS to another number, from 8644
    email: str | None = None


@dataclass(frozen=True, slots=True)
class AlertSettings:
    rules: tuple[AlertRule, ...]
    channels: Channels
    customised: bool = False          # False: the plan's defaults


@dataclass(frozen=True, slots=True)
class RuleChoice:
    """A rule as a line asks for it: the kind's name and a whole number, not yet checked
    against the plan (`included_pct` on an internet line means its volume)."""

    kind: str
    value: int


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    """The channels a line asks for; `sms` None: the plan's default (SMS, except on
    internet lines)."""

    sms: bool | None = None
    second_number: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class AlertsChoice:
    """A line's choice of notifications, as a front end decoded it (`parse_settings`
    checks it)."""

    rules: Sequence[RuleChoice]
    channels: ChannelChoice = field(default_factory=ChannelChoice)


@dataclass(frozen=True, slots=True)
class Crossing:
    """A threshold that a record made the line reach, to be notified."""

    rule: AlertRule
    service: Service | None           # for percentages of an allowance

    @property
    def key(self) -> str:
        return fired_key(self.rule, self.service)


@cache
def fired_key(rule: AlertRule, service: Service | None) -> str:
    base = f"{rule.kind.value}:{rule.value}"
    return base if service is None else f"{base}:{service.value}"


def default_settings(plan: Plan, email: str | None) -> AlertSettings:
    """Bundle lines: 90 % and 100 % per service and EUR 50 extra, by SMS.

    Internet lines: e-mail at 90 % and 100 % of the volume, or near the
    heavy-user threshold. Pay-per-use lines have none until they choose.
    """
    rules: tuple[AlertRule, ...]
    if plan.kind is PlanKind.BUNDLE:
        rules = (AlertRule(RuleKind.INCLUDED_PCT, 90), AlertRule(RuleKind.INCLUDED_PCT, 100),
                 AlertRule(RuleKind.EXTRA_EUR, 50))
        return AlertSettings(rules, Channels(sms=True))
    if plan.kind is PlanKind.INTERNET:
        if Service.DATA in plan.unlimited:
            rules = (AlertRule(RuleKind.HEAVY_USER, HEAVY_USER_PCT),)
        else:
            rules = (AlertRule(RuleKind.VOLUME_PCT, 90), AlertRule(RuleKind.VOLUME_PCT, 100))
        return AlertSettings(rules, Channels(sms=False, email=email))
    return AlertSettings((), Channels(sms=True))


def parse_settings(choice: AlertsChoice, plan: Plan) -> AlertSettings:
    """Check a line's choice of rules and channels against what its plan allows."""
    if len(choice.rules) > MAX_RULES:
        raise AlertError(("rules",),
                         f"at most {MAX_RULES} notifications per line, got {len(choice.rules)}")
    rules: list[AlertRule] = []
    for index, asked in enumerate(choice.rules):
        rule = _parse_rule(asked, plan, ("rules", index))
        if rule in rules:
            raise AlertError(("rules", index), "the same notification twice")
        rules.append(rule)
    channels = _parse_channels(choice.channels, plan)
    return AlertSettings(tuple(sorted(rules)), channels, customised=True)


def _parse_rule(asked: RuleChoice, plan: Plan, loc: tuple[str | int, ...]) -> AlertRule:
    kind, value = asked.kind, asked.value
    if kind == RuleKind.INCLUDED_PCT.value:
        if plan.kind is PlanKind.PAYG:
            raise AlertError((*loc, "kind"),
                             "a pay-per-use line has no allowance; choose extra_eur amounts")
        if value not in INCLUDED_PCT_CHOICES:
            raise AlertError((*loc, "value"), f"must be one of {list(INCLUDED_PCT_CHOICES)}")
        if plan.kind is PlanKind.INTERNET:
            if Service.DATA in plan.unlimited:
                raise AlertError((*loc, "kind"), "an unlimited plan has no volume to count")
            return AlertRule(RuleKind.VOLUME_PCT, value)
        return AlertRule(RuleKind.INCLUDED_PCT, value)
    if kind == RuleKind.EXTRA_EUR.value:
        if plan.kind is PlanKind.INTERNET:
            raise AlertError((*loc, "kind"), "an internet line has no extra spend")
        if value not in EXTRA_EUR_CHOICES:
            raise AlertError((*loc, "value"), f"must be one of {list(EXTRA_EUR_CHOICES)}")
        return AlertRule(RuleKind.EXTRA_EUR, value)
    if kind == RuleKind.VOLUME_PCT.value and plan.kind is PlanKind.INTERNET:
        return _parse_rule(RuleChoice(RuleKind.INCLUDED_PCT.value, value), plan, loc)
    if kind == RuleKind.HEAVY_USER.value and Service.DATA in plan.unlimited:
        if value not in (*INCLUDED_PCT_CHOICES, HEAVY_USER_PCT):
            raise AlertError((*loc, "value"), f"must be one of {list(INCLUDED_PCT_CHOICES)}")
        return AlertRule(RuleKind.HEAVY_USER, value)
    raise AlertError((*loc, "kind"), "must be 'included_pct' or 'extra_eur'")


def _parse_channels(asked: ChannelChoice, plan: Plan) -> Channels:
    sms = plan.kind is not PlanKind.INTERNET if asked.sms is None else asked.sms
    if sms and plan.kind is PlanKind.INTERNET:
        raise AlertError(("channels", "sms"), "an internet line cannot receive SMS")
    second = asked.second_number
    if second is not None and not E164.match(second):
        raise AlertError(("channels", "second_number"),
                         "must be an E.164 number such as +32470000001, or null")
    email = asked.email
    if email is not None and (len(email) > 254 or not EMAIL.match(email)):
        raise AlertError(("channels", "email"), "must be an e-mail address, or null")
    return Channels(sms=sms, second_number=second, email=email)


# Rules grouped by kind, values ascending, computed once per rules object: lines
# share their settings, and hashing rules on every record would cost more than the check.
_GROUPED: dict[int, tuple[Sequence[AlertRule], dict[RuleKind, tuple[int, ...]]]] = {}


def _by_kind(rules: Sequence[AlertRule]) -> dict[RuleKind, tuple[int, ...]]:
    found = _GROUPED.get(id(rules))
    if found is not None and found[0] is rules:
        return found[1]
    grouped: dict[RuleKind, list[int]] = {}
    for rule in rules:
        grouped.setdefault(rule.kind, []).append(rule.value)
    result = {kind: tuple(sorted(values)) for kind, values in grouped.items()}
    if len(_GROUPED) > 100_000:
        _GROUPED.clear()  # chosen settings are many only on huge fleets; start afresh
    _GROUPED[id(rules)] = (rules, result)
    return result


_METERED_NAMES = tuple((service, service.value) for service in METERED)


@cache
def _key(kind: RuleKind, value: int, service: Service | None) -> str:
    return fired_key(AlertRule(kind, value), service)


def _highest_due(
    values: tuple[int, ...], amount: int, base: int, kind: RuleKind,
    service: Service | None, *, fired: set[str],
) -> Crossing | None:
    """Of the thresholds reached (amount * 100 >= value * base), the highest not yet
    fired; the lower ones count as passed."""
    scaled = amount * 100
    if scaled < values[0] * base:
        return None  # the usual case: not even the lowest threshold is reached
    due: Crossing | None = None
    for value in values:
        if scaled < value * base:
            break
        key = _key(kind, value, service)
        if key not in fired:
            fired.add(key)
            due = Crossing(AlertRule(kind, value), service)
    return due


# One family of thresholds: its kind, values (ascending), the meter it counts on (None:
# the extra spend), the amount that is 100 %, and the service (percentages of an allowance).
_Family = tuple[RuleKind, tuple[int, ...], str | None, int, Service | None]


def _families(rules: Sequence[AlertRule], plan: Plan,
              limit_micros: int | None) -> list[_Family]:
    """The threshold families these rules (and the spending limit) watch on this plan."""
    by_kind = _by_kind(rules)
    found: list[_Family] = []
    pcts = by_kind.get(RuleKind.INCLUDED_PCT)
    if pcts and plan.kind is PlanKind.BUNDLE:
        for service, meter in _METERED_NAMES:
            allowance = plan.allowance(service)
            if allowance:
                found.append((RuleKind.INCLUDED_PCT, pcts, meter, allowance, service))
    volume = by_kind.get(RuleKind.VOLUME_PCT)
    allowance = plan.allowance(Service.DATA)
    if volume and allowance:
        found.append((RuleKind.VOLUME_PCT, volume, "data", allowance, None))
    heavy = by_kind.get(RuleKind.HEAVY_USER)
    if heavy and plan.heavy_user_bytes:
        found.append((RuleKind.HEAVY_USER, heavy, "data", plan.heavy_user_bytes, None))
    euros = by_kind.get(RuleKind.EXTRA_EUR)
    if euros:
        # spend >= value euros  <=>  spend * 100 >= value * (100 * MICROS_PER_EURO)
        found.append((RuleKind.EXTRA_EUR, euros, None, 100 * MICROS_PER_EURO, None))
    if limit_micros:
        found.append((RuleKind.LIMIT_PCT, LIMIT_PCT_STEPS, None, limit_micros, None))
    return found


def crossings(
    rules: Sequence[AlertRule], plan: Plan, meters: Mapping[str, int], spend_micros: int,
    *, fired: set[str], limit_micros: int | None = None,
) -> list[Crossing]:
    """The notifications due now; adds what fired (or passed) to `fired`."""
    due: list[Crossing] = []
    for kind, values, meter, base, service in _families(rules, plan, limit_micros):
        amount = spend_micros if meter is None else meters.get(meter, 0)
        crossing = _highest_due(values, amount, base, kind, service, fired=fired)
        if crossing is not None:
            due.append(crossing)
    return due


@dataclass(frozen=True, slots=True)
class Watch:
    """The least usage at which `crossings` would find something due, given what has
    fired: per meter, and for the extra spend (None: nothing to watch there). Usage
    below every level needs no `crossings` call: that is the usual record, and the
    check costs a comparison or two instead of a pass over every rule."""

    meters: tuple[tuple[str, int], ...]
    spend_micros: int | None

    def reached(self, meters: Mapping[str, int], spend_micros: int) -> bool:
        if self.spend_micros is not None and spend_micros >= self.spend_micros:
            return True
        for meter, level in self.meters:  # noqa: SIM110 - a loop: any() of a generator costs more
            if meters.get(meter, 0) >= level:
                return True
        return False


# Keyed by the identity of the rules and of the plan (two catalogues may name different
# plans alike), with both kept in the value so that no id is reused while cached.
_WATCHES: dict[tuple[int, int, frozenset[str], int | None],
               tuple[Sequence[AlertRule], Plan, Watch]] = {}


def watch(rules: Sequence[AlertRule], plan: Plan, fired: frozenset[str],
          limit_micros: int | None = None) -> Watch:
    """The levels to watch for these rules, once per (rules, plan, fired, limit)."""
    key = (id(rules), id(plan), fired, limit_micros)
    found = _WATCHES.get(key)
    if found is not None and found[0] is rules and found[1] is plan:
        return found[2]
    made = _make_watch(rules, plan, fired, limit_micros)
    if len(_WATCHES) > 100_000:
        _WATCHES.clear()  # bounded like _GROUPED: start afresh
    _WATCHES[key] = (rules, plan, made)
    return made


def _level(values: tuple[int, ...], base: int, kind: RuleKind, service: Service | None,
           fired: frozenset[str]) -> int | None:
    """The least amount at which a threshold not fired yet is reached (amount * 100 >=
    value * base, as in `_highest_due`); None when every one has fired."""
    for value in values:  # ascending: the first not fired is the lowest
        if _key(kind, value, service) not in fired:
            return -(-value * base // 100)
    return None


def _make_watch(rules: Sequence[AlertRule], plan: Plan, fired: frozenset[str],
                limit_micros: int | None) -> Watch:
    levels: dict[str, int] = {}
    spend: int | None = None
    for kind, values, meter, base, service in _families(rules, plan, limit_micros):
        level = _level(values, base, kind, service, fired)
        if level is None:
            continue
        if meter is None:
            spend = level if spend is None else min(spend, level)
        else:
            levels[meter] = min(level, levels.get(meter, level))
    return Watch(tuple(levels.items()), spend)


def roaming_cap_crossing(spent_micros: int, reached: bool, cap_micros: int, *,
                         fired: set[str]) -> Crossing | None:
    """The roaming data cap's message due now, if any: 80 % when data outside the
    EU/EEA has cost that much of the cap, 100 % when the cap is `reached` (the rest buys
    no more data, which may be a fraction of a kB's price under the cap: see
    control.CapPosition). Each fires once a cycle; a jump past both sends only the 100 %."""
    amount = cap_micros if reached else spent_micros
    return _highest_due(ROAMING_CAP_STEPS, amount, cap_micros, RuleKind.ROAMING_CAP_PCT,
                        None, fired=fired)
