"""Usage notifications (rules.md, "Notifications"): the rules a line may choose,
their defaults, their validation, and when they fire (`crossings`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conso.catalog_file import load_catalog
from conso.domain.alerts import (
    EXTRA_EUR_CHOICES,
    INCLUDED_PCT_CHOICES,
    LIMIT_PCT_STEPS,
    MAX_RULES,
    AlertError,
    AlertRule,
    AlertsChoice,
    ChannelChoice,
    Channels,
    Crossing,
    RuleChoice,
    RuleKind,
    crossings,
    default_settings,
    fired_key,
    parse_settings,
    watch,
)
from conso.domain.catalog import Plan
from conso.domain.units import METERED, MICROS_PER_EURO, Service

CATALOG = load_catalog(None)
KING = CATALOG.plans["king"]
KONG = CATALOG.plans["kong"]
PAYG = CATALOG.plans["payg"]
INTERNET_150 = CATALOG.plans["internet-150"]
INTERNET_UNLIMITED = CATALOG.plans["internet-unlimited"]

KING_VOICE = 300 * 60
KING_SMS = 500
KING_DATA = 10 * 10**9
GB = 10**9
EUR = MICROS_PER_EURO

DEFAULT_BUNDLE = (AlertRule(RuleKind.INCLUDED_PCT, 90), AlertRule(RuleKind.INCLUDED_PCT, 100),
                  AlertRule(RuleKind.EXTRA_EUR, 50))


def pct(value: int) -> AlertRule:
    return AlertRule(RuleKind.INCLUDED_PCT, value)


def eur(value: int) -> AlertRule:
    return AlertRule(RuleKind.EXTRA_EUR, value)


def body(*rules: tuple[str, int], sms: bool | None = None, second_number: str | None = None,
         email: str | None = None) -> AlertsChoice:
    """A line's choice, typed as a front end hands it to the domain."""
    return AlertsChoice([RuleChoice(kind, value) for kind, value in rules],
                        ChannelChoice(sms, second_number, email))


def refused(choice: AlertsChoice, plan: Plan = KING) -> AlertError:
    with pytest.raises(AlertError) as caught:
        parse_settings(choice, plan)
    assert caught.value.msg, "a refusal says why"
    return caught.value


def fire(rules: tuple[AlertRule, ...], plan: Plan, fired: set[str], *, spend: int = 0,
         limit: int | None = None, **meters: int) -> list[Crossing]:
    return crossings(rules, plan, meters, spend, fired=fired, limit_micros=limit)


def keys(due: list[Crossing]) -> set[str]:
    return {c.key for c in due}


# -- defaults and choices ------------------------------------------------------------


def test_bundle_lines_have_90_100_per_service_and_50_eur_extra_by_default() -> None:
    for plan in (KING, KONG, CATALOG.plans["king-business"]):
        defaults = default_settings(plan, "someone@example.com")
        assert defaults.rules == DEFAULT_BUNDLE
        assert defaults.channels == Channels(sms=True, second_number=None, email=None)
        assert not defaults.customised
    # ... and they apply per service: 90 % of the SMS fires for SMS only.
    fired: set[str] = set()
    due = fire(DEFAULT_BUNDLE, KING, fired, sms=450)
    assert due == [Crossing(pct(90), Service.SMS)]
    due = fire(DEFAULT_BUNDLE, KING, fired, sms=450, voice=KING_VOICE)
    assert due == [Crossing(pct(100), Service.VOICE)]
    due = fire(DEFAULT_BUNDLE, KING, fired, sms=450, voice=KING_VOICE, data=9 * GB,
               spend=50 * EUR)
    assert due == [Crossing(pct(90), Service.DATA), Crossing(eur(50), None)]


def test_a_line_may_choose_75_90_100_and_the_euro_amounts() -> None:
    chosen = parse_settings(body(("included_pct", 75), ("included_pct", 90),
                                 ("included_pct", 100), ("extra_eur", 5), ("extra_eur", 100)),
                            KING)
    assert set(chosen.rules) == {pct(75), pct(90), pct(100), eur(5), eur(100)}
    assert len(chosen.rules) == 5
    assert chosen.customised
    assert chosen.channels == Channels(sms=True)
    for amount in (5, 10, 15, 25, 30, 50, 75, 100):
        assert parse_settings(body(("extra_eur", amount)), KING).rules == (eur(amount),)
    assert parse_settings(body(), KING).rules == ()          # none at all is a choice too


def test_all_channels_may_be_combined() -> None:
    chosen = parse_settings(body(("included_pct", 90), sms=True,
                                 second_number="+32470000099", email="me@example.com"), KING)
    assert chosen.channels == Channels(True, "+32470000099", "me@example.com")
    chosen = parse_settings(body(("included_pct", 90), sms=False, email="me@example.com"), KING)
    assert chosen.channels == Channels(False, None, "me@example.com")


def test_five_rules_is_the_most() -> None:
    five = body(("included_pct", 75), ("included_pct", 90), ("included_pct", 100),
                ("extra_eur", 5), ("extra_eur", 10))
    assert len(parse_settings(five, KING).rules) == MAX_RULES == 5


def test_a_sixth_rule_is_refused() -> None:
    six = body(("included_pct", 75), ("included_pct", 90), ("included_pct", 100),
               ("extra_eur", 5), ("extra_eur", 10), ("extra_eur", 15))
    error = refused(six)
    assert error.loc == ("rules",)
    assert "five" in error.msg or "5" in error.msg


@pytest.mark.parametrize(("choice", "loc"), [
    (body(("included_pct", 80)), ("rules", 0, "value")),
    (body(("included_pct", 90), ("extra_eur", 20)), ("rules", 1, "value")),
    (body(("extra_eur", 0)), ("rules", 0, "value")),
    (body(("extra_eur", 500)), ("rules", 0, "value")),
    (body(("extra_eur", True)), ("rules", 0, "value")),
    (body(("percent", 90)), ("rules", 0, "kind")),
    (body(("limit_pct", 50)), ("rules", 0, "kind")),
    (body(("volume_pct", 90)), ("rules", 0, "kind")),
    (body(("heavy_user", 90)), ("rules", 0, "kind")),
    (body(("", 90)), ("rules", 0, "kind")),
    (body(("included_pct", 90), ("included_pct", 90)), ("rules", 1)),
    (body(second_number="0470000099"), ("channels", "second_number")),
    (body(second_number="+32 470 00 00 99"), ("channels", "second_number")),
    (body(email="not-an-address"), ("channels", "email")),
    (body(email="a@" + "b" * 260 + ".be"), ("channels", "email")),
])
def test_a_bad_value_is_refused_naming_the_field(choice: AlertsChoice,
                                                 loc: tuple[str | int, ...]) -> None:
    error = refused(choice)
    assert error.loc == loc
    assert str(error).startswith(".".join(map(str, loc)) + ":")


def test_a_refusal_names_the_field_and_no_protocol_location() -> None:
    # A Diameter or 5G front end has no "body": where the choice came from is its own word.
    for choice, plan in [(body(("included_pct", 80)), KING), (body(("extra_eur", 5)), INTERNET_150),
                         (body(sms=True), INTERNET_150), (body(email="nobody"), KING),
                         (body(*[("extra_eur", v) for v in EXTRA_EUR_CHOICES[:6]]), KING)]:
        loc = refused(choice, plan).loc
        assert loc[0] in ("rules", "channels"), loc
        assert not {"body", "path", "query"} & set(map(str, loc))


def test_channels_left_out_are_the_plans_defaults() -> None:
    assert parse_settings(AlertsChoice([]), KING).channels == Channels(sms=True)
    assert parse_settings(AlertsChoice([]), PAYG).channels == Channels(sms=True)
    assert parse_settings(AlertsChoice([]), INTERNET_150).channels == Channels(sms=False)
    assert parse_settings(body(sms=False), KING).channels == Channels(sms=False)


def test_payg_lines_choose_euro_amounts_only() -> None:
    assert default_settings(PAYG, None).rules == ()
    chosen = parse_settings(body(("extra_eur", 5), ("extra_eur", 30)), PAYG)
    assert chosen.rules == (eur(5), eur(30))
    for value in INCLUDED_PCT_CHOICES:
        assert refused(body(("included_pct", value)), PAYG).loc == ("rules", 0, "kind")
    assert refused(body(("extra_eur", 20)), PAYG).loc == ("rules", 0, "value")
    # On a pay-per-use line extra_eur counts all spend: every unit is charged.
    fired: set[str] = set()
    assert fire(chosen.rules, PAYG, fired, spend=4_999_999, sms=60) == []
    assert fire(chosen.rules, PAYG, fired, spend=5 * EUR, sms=61) == [Crossing(eur(5), None)]


def test_internet_lines_choose_volume_percentages_by_email() -> None:
    defaults = default_settings(INTERNET_150, "home@example.com")
    assert defaults.rules == (AlertRule(RuleKind.VOLUME_PCT, 90),
                              AlertRule(RuleKind.VOLUME_PCT, 100))
    assert defaults.channels == Channels(sms=False, second_number=None, email="home@example.com")
    chosen = parse_settings(body(("included_pct", 75), email="home@example.com"), INTERNET_150)
    assert chosen.rules == (AlertRule(RuleKind.VOLUME_PCT, 75),)
    assert chosen.channels == Channels(sms=False, email="home@example.com")
    assert parse_settings(body(("volume_pct", 90)), INTERNET_150).rules == (
        AlertRule(RuleKind.VOLUME_PCT, 90),)
    assert refused(body(("extra_eur", 10)), INTERNET_150).loc == ("rules", 0, "kind")
    assert refused(body(("included_pct", 80)), INTERNET_150).loc == ("rules", 0, "value")
    assert refused(body(sms=True), INTERNET_150).loc == ("channels", "sms")
    unlimited = default_settings(INTERNET_UNLIMITED, None)
    assert unlimited.rules == (AlertRule(RuleKind.HEAVY_USER, 90),)
    assert refused(body(("included_pct", 90)), INTERNET_UNLIMITED).loc == ("rules", 0, "kind")
    assert parse_settings(body(("heavy_user", 75)), INTERNET_UNLIMITED).rules == (
        AlertRule(RuleKind.HEAVY_USER, 75),)


# -- when they fire ----------------------------------------------------------------------


def test_one_record_crossing_90_and_100_sends_only_100() -> None:
    fired: set[str] = set()
    rules = (pct(75), pct(90), pct(100))
    assert fire(rules, KING, fired, data=KING_DATA + 1) == [Crossing(pct(100), Service.DATA)]
    # The lower ones count as passed: they never fire later in the cycle.
    assert fired == {"included_pct:75:data", "included_pct:90:data", "included_pct:100:data"}
    assert fire(rules, KING, fired, data=KING_DATA + 2) == []
    # The same for euro amounts: from 0 straight to 60 EUR sends 50 only.
    fired = set()
    rules = (eur(10), eur(25), eur(50), eur(75))
    assert fire(rules, KING, fired, spend=60 * EUR) == [Crossing(eur(50), None)]
    assert fired == {"extra_eur:10", "extra_eur:25", "extra_eur:50"}


def test_a_threshold_is_reached_exactly_at_its_value() -> None:
    fired: set[str] = set()
    assert fire((pct(90),), KING, fired, voice=KING_VOICE * 9 // 10 - 1) == []
    assert fire((pct(90),), KING, fired, voice=KING_VOICE * 9 // 10) == [
        Crossing(pct(90), Service.VOICE)]
    assert fire((eur(5),), KING, fired, spend=5 * EUR - 1) == []
    assert fire((eur(5),), KING, fired, spend=5 * EUR) == [Crossing(eur(5), None)]


def test_each_notification_fires_once_per_cycle_per_service() -> None:
    fired: set[str] = set()
    rules = DEFAULT_BUNDLE
    due = fire(rules, KING, fired, voice=KING_VOICE * 9 // 10)
    assert keys(due) == {"included_pct:90:voice"}
    # More voice: 90 % is not sent again.
    assert fire(rules, KING, fired, voice=KING_VOICE * 95 // 100) == []
    # The same percentage for another service is its own notification.
    due = fire(rules, KING, fired, voice=KING_VOICE * 95 // 100, sms=KING_SMS * 9 // 10)
    assert keys(due) == {"included_pct:90:sms"}
    due = fire(rules, KING, fired, voice=KING_VOICE * 95 // 100, sms=KING_SMS * 9 // 10,
               data=KING_DATA * 9 // 10)
    assert keys(due) == {"included_pct:90:data"}
    due = fire(rules, KING, fired, voice=KING_VOICE, sms=KING_SMS * 9 // 10,
               data=KING_DATA * 9 // 10)
    assert keys(due) == {"included_pct:100:voice"}
    for _ in range(3):
        assert fire(rules, KING, fired, voice=KING_VOICE * 2, sms=KING_SMS * 9 // 10,
                    data=KING_DATA * 9 // 10) == []
    assert keys(fire(rules, KING, fired, spend=50 * EUR)) == {"extra_eur:50"}
    assert fire(rules, KING, fired, spend=500 * EUR) == []


def test_thresholds_rearm_next_cycle() -> None:
    this_cycle: set[str] = set()
    meters = {"voice": KING_VOICE, "sms": KING_SMS, "data": KING_DATA}
    first = crossings(DEFAULT_BUNDLE, KING, meters, 50 * EUR, fired=this_cycle)
    assert len(first) == 4
    assert crossings(DEFAULT_BUNDLE, KING, meters, 50 * EUR, fired=this_cycle) == []
    next_cycle: set[str] = set()           # a fresh cycle's fired set is empty
    again = crossings(DEFAULT_BUNDLE, KING, meters, 50 * EUR, fired=next_cycle)
    assert again == first
    assert next_cycle == this_cycle


def test_extra_spend_thresholds() -> None:
    fired: set[str] = set()
    rules = (eur(5), eur(15), eur(30), eur(100))
    assert fire(rules, KING, fired, spend=4 * EUR) == []
    assert fire(rules, KING, fired, spend=12 * EUR) == [Crossing(eur(5), None)]
    assert fire(rules, KING, fired, spend=35 * EUR) == [Crossing(eur(30), None)]
    assert "extra_eur:15" in fired                      # passed on the way
    assert fire(rules, KING, fired, spend=99 * EUR) == []
    assert fire(rules, KING, fired, spend=100 * EUR) == [Crossing(eur(100), None)]
    assert fired == {"extra_eur:5", "extra_eur:15", "extra_eur:30", "extra_eur:100"}


def test_internet_volume_and_heavy_user_rules() -> None:
    volume = default_settings(INTERNET_150, "x@example.com").rules
    fired: set[str] = set()
    assert fire(volume, INTERNET_150, fired, data=134 * GB) == []
    assert fire(volume, INTERNET_150, fired, data=135 * GB) == [
        Crossing(AlertRule(RuleKind.VOLUME_PCT, 90), None)]
    assert fire(volume, INTERNET_150, fired, data=149 * GB) == []
    assert fire(volume, INTERNET_150, fired, data=150 * GB) == [
        Crossing(AlertRule(RuleKind.VOLUME_PCT, 100), None)]
    assert fired == {"volume_pct:90", "volume_pct:100"}
    # A jump past both sends the used-up one only.
    assert fire(volume, INTERNET_150, set(), data=200 * GB) == [
        Crossing(AlertRule(RuleKind.VOLUME_PCT, 100), None)]

    heavy = default_settings(INTERNET_UNLIMITED, "x@example.com").rules
    threshold = INTERNET_UNLIMITED.heavy_user_bytes
    assert threshold == 3000 * GB
    fired = set()
    assert fire(heavy, INTERNET_UNLIMITED, fired, data=threshold * 9 // 10 - 1) == []
    assert fire(heavy, INTERNET_UNLIMITED, fired, data=threshold * 9 // 10) == [
        Crossing(AlertRule(RuleKind.HEAVY_USER, 90), None)]
    assert fire(heavy, INTERNET_UNLIMITED, fired, data=threshold * 2) == []
    assert fired == {"heavy_user:90"}


@pytest.mark.parametrize("limit_eur", [5, 10, 20, 50])
def test_spending_limit_sends_at_50_90_and_100_pct(limit_eur: int) -> None:
    limit = limit_eur * EUR
    fired: set[str] = set()
    no_rules: tuple[AlertRule, ...] = ()

    def limit_rule(value: int) -> list[Crossing]:
        return [Crossing(AlertRule(RuleKind.LIMIT_PCT, value), None)]

    assert fire(no_rules, PAYG, fired, spend=limit // 2 - 1, limit=limit) == []
    assert fire(no_rules, PAYG, fired, spend=limit // 2, limit=limit) == limit_rule(50)
    assert fire(no_rules, PAYG, fired, spend=limit * 9 // 10, limit=limit) == limit_rule(90)
    assert fire(no_rules, PAYG, fired, spend=limit - 1, limit=limit) == []
    assert fire(no_rules, PAYG, fired, spend=limit, limit=limit) == limit_rule(100)
    assert fire(no_rules, PAYG, fired, spend=limit * 3, limit=limit) == []
    assert fired == {f"limit_pct:{v}" for v in LIMIT_PCT_STEPS}
    # Straight past all three: only 100 %.
    assert fire(no_rules, PAYG, set(), spend=limit, limit=limit) == limit_rule(100)
    # No limit, no limit notifications.
    assert fire(no_rules, PAYG, set(), spend=limit * 3, limit=None) == []


def test_limit_and_euro_rules_fire_side_by_side_on_payg() -> None:
    fired: set[str] = set()
    due = fire((eur(5),), PAYG, fired, spend=5 * EUR, limit=10 * EUR)
    assert due == [Crossing(eur(5), None), Crossing(AlertRule(RuleKind.LIMIT_PCT, 50), None)]


def test_percentages_do_not_fire_on_a_payg_line() -> None:
    # Even if such rules were stored, pay-per-use has no allowance to count.
    assert fire((pct(90),), PAYG, set(), voice=10**6, sms=10**6, data=10**12) == []


# -- properties ------------------------------------------------------------------------

KING_CHOICES = [pct(v) for v in INCLUDED_PCT_CHOICES] + [eur(v) for v in EXTRA_EUR_CHOICES]
ALLOWANCE = {Service.VOICE: KING_VOICE, Service.SMS: KING_SMS, Service.DATA: KING_DATA}


def reached_keys(rules: tuple[AlertRule, ...], meters: Mapping[str, int], spend: int,
                 limit: int | None) -> set[str]:
    """Every threshold the usage has reached, computed independently of `crossings`."""
    reached: set[str] = set()
    for rule in rules:
        if rule.kind is RuleKind.INCLUDED_PCT:
            for service, allowance in ALLOWANCE.items():
                if meters.get(service.value, 0) * 100 >= rule.value * allowance:
                    reached.add(fired_key(rule, service))
        elif rule.kind is RuleKind.EXTRA_EUR and spend >= rule.value * EUR:
            reached.add(fired_key(rule, None))
    if limit:
        for value in LIMIT_PCT_STEPS:
            if spend * 100 >= value * limit:
                reached.add(fired_key(AlertRule(RuleKind.LIMIT_PCT, value), None))
    return reached


def group(key: str) -> str:
    """Thresholds of one kind (and service) compete: only the highest is sent."""
    kind, _, rest = key.partition(":")
    _, _, service = rest.partition(":")
    return f"{kind}:{service}"


def value_of(key: str) -> int:
    return int(key.split(":")[1])


steps = st.lists(
    st.fixed_dictionaries({
        "voice": st.integers(0, KING_VOICE // 2),
        "sms": st.integers(0, KING_SMS // 2),
        "data": st.integers(0, KING_DATA // 2),
        "spend": st.integers(0, 40 * EUR),
    }),
    min_size=1, max_size=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_set=st.lists(st.sampled_from(KING_CHOICES), unique=True, max_size=MAX_RULES),
       increments=steps, limit_eur=st.sampled_from([None, 5, 10, 20, 50]))
def test_property_crossings_on_growing_usage(
    rule_set: list[AlertRule], increments: list[dict[str, int]], limit_eur: int | None,
) -> None:
    rules = tuple(sorted(rule_set))
    limit = None if limit_eur is None else limit_eur * EUR
    meters = {"voice": 0, "sms": 0, "data": 0}
    spend = 0
    fired: set[str] = set()
    sent: list[str] = []
    allowed_kinds = {r.kind for r in rules} | ({RuleKind.LIMIT_PCT} if limit else set())
    allowed_values = {(r.kind, r.value) for r in rules} | (
        {(RuleKind.LIMIT_PCT, v) for v in LIMIT_PCT_STEPS} if limit else set())
    for step in increments:
        before = reached_keys(rules, meters, spend, limit)
        for name in meters:
            meters[name] += step[name]
        spend += step["spend"]
        due = crossings(rules, KING, dict(meters), spend, fired=fired, limit_micros=limit)
        now_reached = reached_keys(rules, meters, spend, limit)
        new = now_reached - before
        # What is sent comes from the line's rules (or its spending limit) only.
        for crossing in due:
            assert crossing.rule.kind in allowed_kinds
            assert (crossing.rule.kind, crossing.rule.value) in allowed_values
            assert (crossing.service is None) == (crossing.rule.kind is not RuleKind.INCLUDED_PCT)
            if crossing.service is not None:
                assert crossing.service in METERED
        # At most one per kind (and service) at a time; and when usage jumps past several
        # thresholds at once, the highest one reached is the one sent.
        due_keys = [c.key for c in due]
        assert len({group(k) for k in due_keys}) == len(due_keys)
        for key in due_keys:
            assert key in new
        for grp in {group(k) for k in new}:
            highest = max((k for k in now_reached if group(k) == grp), key=value_of)
            assert highest in due_keys, (grp, highest, due_keys)
        sent.extend(due_keys)
        # Every threshold reached counts as fired (sent, or passed), and nothing else.
        assert fired == now_reached
    # Each threshold key fires at most once over the whole sequence.
    assert len(sent) == len(set(sent))
    assert set(sent) <= fired


@settings(max_examples=200, deadline=None)
@given(increments=st.lists(st.integers(0, 400 * GB), min_size=1, max_size=20),
       rule_set=st.lists(st.sampled_from(INCLUDED_PCT_CHOICES), unique=True, min_size=1))
def test_property_internet_volume_fires_each_threshold_at_most_once(
    increments: list[int], rule_set: list[int],
) -> None:
    rules = parse_settings(body(*[("included_pct", v) for v in rule_set]), INTERNET_150).rules
    fired: set[str] = set()
    used = 0
    sent: list[str] = []
    for increment in increments:
        used += increment
        due = crossings(rules, INTERNET_150, {"data": used}, 0, fired=fired)
        assert len(due) <= 1
        reached = [v for v in rule_set if used * 100 >= v * 150 * GB]
        if due:
            assert due[0].rule == AlertRule(RuleKind.VOLUME_PCT, max(reached))
        sent.extend(c.key for c in due)
        assert fired == {f"volume_pct:{v}" for v in reached}
    assert len(sent) == len(set(sent))



ALL_RULES = ([AlertRule(RuleKind.INCLUDED_PCT, v) for v in INCLUDED_PCT_CHOICES]
             + [AlertRule(RuleKind.EXTRA_EUR, v) for v in EXTRA_EUR_CHOICES]
             + [AlertRule(RuleKind.VOLUME_PCT, v) for v in INCLUDED_PCT_CHOICES]
             + [AlertRule(RuleKind.HEAVY_USER, v) for v in (*INCLUDED_PCT_CHOICES, 90)])
ALL_KEYS = sorted({fired_key(r, s) for r in ALL_RULES for s in (None, *METERED)}
                  | {fired_key(AlertRule(RuleKind.LIMIT_PCT, v), None) for v in LIMIT_PCT_STEPS})


@settings(max_examples=1500, deadline=None)
@given(plan=st.sampled_from(sorted(CATALOG.plans.values(), key=lambda p: p.id)),
       rule_set=st.lists(st.sampled_from(ALL_RULES), unique=True, max_size=MAX_RULES),
       fired=st.frozensets(st.sampled_from(ALL_KEYS), max_size=8),
       voice=st.integers(0, 3 * KING_VOICE), sms=st.integers(0, 3 * KING_SMS),
       data=st.integers(0, 3 * 400 * GB), spend=st.integers(0, 120 * EUR),
       limit_eur=st.sampled_from([None, 5, 10, 20, 50]))
def test_property_watch_says_exactly_when_crossings_has_something_due(
    *, plan: Plan, rule_set: list[AlertRule], fired: frozenset[str], voice: int, sms: int,
    data: int, spend: int, limit_eur: int | None,
) -> None:
    """The engine skips `crossings` while usage is below the watched levels: that must
    never skip a notification, and the levels must not be reached with nothing due."""
    rules = tuple(sorted(rule_set))
    limit = None if limit_eur is None else limit_eur * EUR
    meters = {"voice": voice, "sms": sms, "data": data}
    due = crossings(rules, plan, meters, spend, fired=set(fired), limit_micros=limit)
    event(f"something due: {bool(due)}")
    watched = watch(rules, plan, fired, limit)
    assert watched.reached(meters, spend) == bool(due)
    # And at each level's edge, where rounding would show.
    edges = [({meter: level + delta}, 0) for meter, level in watched.meters for delta in (-1, 0)]
    if watched.spend_micros is not None:
        edges += [({}, watched.spend_micros + delta) for delta in (-1, 0)]
    for edge_meters, edge_spend in edges:
        due = crossings(rules, plan, edge_meters, edge_spend, fired=set(fired),
                        limit_micros=limit)
        assert watched.reached(edge_meters, edge_spend) == bool(due)


def test_watch_levels_are_the_lowest_thresholds_not_fired() -> None:
    rules = (pct(90), pct(100), eur(50))
    assert watch(rules, KING, frozenset(), None).spend_micros == 50 * EUR
    levels = dict(watch(rules, KING, frozenset(), None).meters)
    assert levels["data"] == KING_DATA * 90 // 100
    fired = frozenset({"included_pct:90:data", "extra_eur:50"})
    later = watch(rules, KING, fired, 5 * EUR)
    assert dict(later.meters)["data"] == KING_DATA
    assert later.spend_micros == 5 * EUR // 2  # the limit's 50 % comes first now
    assert not later.reached({"data": KING_DATA - 1}, 0)
    assert later.reached({"data": KING_DATA}, 0)


def test_watch_tells_apart_two_plans_of_the_same_name() -> None:
    """Two catalogues (a reload, a test) may name different plans alike."""
    rules = (pct(90),)
    bigger = replace(KING, included={**KING.included, Service.DATA: 2 * KING_DATA})
    assert dict(watch(rules, KING, frozenset()).meters)["data"] == KING_DATA * 90 // 100
    assert dict(watch(rules, bigger, frozenset()).meters)["data"] == 2 * KING_DATA * 90 // 100
