"""Network control rules (domain/control.py), rule by rule, on the reference catalogue.

Prices in micro-euros (catalog.toml): payg voice 0.15/min = 2500 per second, sms 0.08 =
80000, data 0.05/MB = 50 per started kB; roaming outside the EU/EEA: voice out 1.50/min
(25000/s), voice in 0.80/min, sms 0.40 = 400000, data 2.00/MB = 2000 per started kB.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conso.catalog_file import load_catalog
from conso.domain.catalog import Plan
from conso.domain.control import (
    BARRING_FUNCTIONS,
    ControlError,
    Decision,
    Exposure,
    affordable_units,
    authorize,
    barred_reason,
    barring_view,
    check_limit_amount,
    exposure_for,
    grant,
    parse_barring,
    worst_case_spend,
)
from conso.domain.rating import RateClass, rate_class
from conso.domain.units import Direction, Service

CATALOG = load_catalog(None)
PAYG = CATALOG.plans["payg"]
KING = CATALOG.plans["king"]
INTERNET = CATALOG.plans["internet-150"]
EUR = 1_000_000
LIMITS_EUR = (5, 10, 20, 50)
OUT, IN = Direction.OUT, Direction.IN
# Outside the EU/EEA and not in limit_roaming_blocked: roaming is charged but allowed.
FAR = "CH"
ALL_BARRED = frozenset(BARRING_FUNCTIONS)


def decide(
    service: Service, *, plan: Plan = PAYG, direction: Direction = OUT, country: str = "BE",
    barred: frozenset[str] = frozenset(), limit_eur: int | None = None, spend: int = 0,
    amount: int | None = 0, meters: Mapping[str, int] | None = None,
    reserved: Mapping[str, int] | None = None,
) -> Decision:
    """Authorize one use the way the charging core does, from the line's position."""
    meters = dict(meters or {})
    reserved = dict(reserved or {})
    exposure = exposure_for(plan, CATALOG, service=service, direction=direction,
                            country=country, meters=meters, reserved=reserved)
    exposures = [] if exposure is None else [exposure]
    return authorize(
        plan=plan, catalog=CATALOG, barred=barred,
        limit_micros=None if limit_eur is None else limit_eur * EUR, service=service,
        direction=direction, country=country, amount_micros=amount, exposure=exposure,
        worst_micros=worst_case_spend(spend, exposures))


# -- barring ------------------------------------------------------------------------------

# (function, service, direction, country) of a use that this function alone stops.
BARRED_USES = [
    ("data", Service.DATA, OUT, "BE"),
    ("data", Service.DATA, OUT, FAR),
    ("voice_out", Service.VOICE, OUT, "BE"),
    ("voice_in", Service.VOICE, IN, "BE"),
    ("voice_out_roaming", Service.VOICE, OUT, FAR),
    ("voice_out_roaming", Service.VOICE, OUT, "FR"),
    ("voice_in_roaming", Service.VOICE, IN, FAR),
    ("voice_in_roaming", Service.VOICE, IN, "FR"),
    ("sms_out", Service.SMS, OUT, "BE"),
    ("sms_out", Service.SMS, OUT, FAR),
    ("premium", Service.PREMIUM, OUT, "BE"),
]


def test_every_function_has_a_barred_use() -> None:
    assert {case[0] for case in BARRED_USES} == set(BARRING_FUNCTIONS)
    assert len(BARRING_FUNCTIONS) == 7


@pytest.mark.parametrize("plan", [PAYG, KING], ids=lambda p: p.id)
@pytest.mark.parametrize(("function", "service", "direction", "country"), BARRED_USES)
def test_a_barred_function_is_refused_with_its_reason(
    plan: Plan, function: str, service: Service, direction: Direction, country: str,
) -> None:
    assert decide(service, plan=plan, direction=direction, country=country,
                  amount=100) == Decision(True, None)
    refused = decide(service, plan=plan, direction=direction, country=country,
                     barred=frozenset({function}), amount=100)
    assert refused == Decision(False, f"barred:{function}")
    assert barred_reason(function) == f"barred:{function}"
    # Barring every other function leaves this use alone.
    others = ALL_BARRED - {function}
    if function.endswith("_roaming"):
        others -= {function.removesuffix("_roaming")}  # that one bars calls abroad too
    assert decide(service, plan=plan, direction=direction, country=country,
                  barred=others, amount=100).allowed


@pytest.mark.parametrize("direction", [OUT, IN])
@pytest.mark.parametrize("country", ["FR", FAR, "US"])
def test_barring_calls_bars_them_abroad_too(direction: Direction, country: str) -> None:
    base = "voice_in" if direction is IN else "voice_out"
    for plan in (PAYG, KING):
        answer = decide(Service.VOICE, plan=plan, direction=direction, country=country,
                        barred=frozenset({base}))
        assert answer == Decision(False, f"barred:{base}")


@pytest.mark.parametrize("direction", [OUT, IN])
def test_roaming_barring_bars_calls_only_abroad(direction: Direction) -> None:
    function = "voice_in_roaming" if direction is IN else "voice_out_roaming"
    barred = frozenset({function})
    assert decide(Service.VOICE, direction=direction, barred=barred).allowed
    assert decide(Service.VOICE, direction=direction, country=FAR, barred=barred) == Decision(
        False, f"barred:{function}")
    # It bars calls, not data nor SMS abroad.
    assert decide(Service.DATA, country=FAR, barred=barred).allowed
    assert decide(Service.SMS, country=FAR, barred=barred).allowed


def test_barring_comes_before_the_spending_limit() -> None:
    answer = decide(Service.DATA, country="US", barred=frozenset({"data"}), limit_eur=5,
                    spend=5 * EUR)
    assert answer == Decision(False, "barred:data")


def test_an_internet_line_has_no_barring() -> None:
    assert decide(Service.DATA, plan=INTERNET, barred=ALL_BARRED).allowed


# -- free services ---------------------------------------------------------------------------


@pytest.mark.parametrize("country", ["BE", "FR", FAR, "US", "JP"])
@pytest.mark.parametrize("plan", [PAYG, KING], ids=lambda p: p.id)
def test_callme_is_never_barred_nor_limited(plan: Plan, country: str) -> None:
    limit = 5 if plan is PAYG else None
    for spend in (0, 5 * EUR, 80 * EUR):
        answer = decide(Service.CALLME, plan=plan, country=country, barred=ALL_BARRED,
                        limit_eur=limit, spend=spend)
        assert answer == Decision(True, None)


# -- the spending limit ----------------------------------------------------------------------


AT_THE_LIMIT_PAID = [
    (Service.DATA, OUT, "BE"),
    (Service.DATA, OUT, "FR"),
    (Service.DATA, OUT, FAR),
    (Service.VOICE, OUT, "BE"),
    (Service.VOICE, OUT, "NO"),
    (Service.VOICE, OUT, FAR),
    (Service.VOICE, IN, FAR),           # incoming calls abroad are charged
    (Service.SMS, OUT, "BE"),
    (Service.SMS, OUT, FAR),
    (Service.PREMIUM, OUT, "BE"),
]


@pytest.mark.parametrize("limit_eur", LIMITS_EUR)
@pytest.mark.parametrize(("service", "direction", "country"), AT_THE_LIMIT_PAID)
def test_at_the_limit_paid_services_are_refused(
    limit_eur: int, service: Service, direction: Direction, country: str,
) -> None:
    def at(spend: int) -> Decision:
        return decide(service, direction=direction, country=country, limit_eur=limit_eur,
                      amount=150_000, spend=spend)

    assert at(0).allowed
    assert at(limit_eur * EUR) == Decision(False, "spending_limit")
    # A limit that was overshot (offline records) refuses too.
    assert at(limit_eur * EUR + 1) == Decision(False, "spending_limit")
    # Without a limit the same spend is no reason to refuse.
    assert decide(service, direction=direction, country=country, spend=limit_eur * EUR,
                  amount=150_000).allowed


def test_a_premium_purchase_of_unknown_price_is_refused_at_the_limit() -> None:
    assert decide(Service.PREMIUM, limit_eur=5, spend=0, amount=None).allowed
    assert decide(Service.PREMIUM, limit_eur=5, spend=5 * EUR, amount=None) == Decision(
        False, "spending_limit")
    # Without a limit the price does not matter.
    assert decide(Service.PREMIUM, spend=5 * EUR, amount=None).allowed


@pytest.mark.parametrize(("service", "price"), [(Service.SMS, 80_000),
                                                 (Service.PREMIUM, 150_000)])
def test_a_paid_use_is_allowed_only_while_the_money_left_buys_it(
    service: Service, price: int,
) -> None:
    limit = 5 * EUR
    assert decide(service, limit_eur=5, spend=limit - price, amount=150_000).allowed
    assert decide(service, limit_eur=5, spend=limit - price + 1, amount=150_000) == Decision(
        False, "spending_limit")


def test_reservations_of_open_sessions_count_against_the_limit() -> None:
    # 100 SMS reserved (8 EUR) on a 10 EUR limit with 1.95 EUR spent: 0.05 left.
    answer = decide(Service.SMS, limit_eur=10, spend=1_950_000, reserved={"sms": 100})
    assert answer == Decision(False, "spending_limit")
    assert decide(Service.SMS, limit_eur=10, spend=1_920_000, reserved={"sms": 100}).allowed


def test_a_free_premium_event_is_allowed_at_the_limit() -> None:
    assert decide(Service.PREMIUM, limit_eur=5, spend=5 * EUR, amount=0).allowed


@pytest.mark.parametrize("country", ["BE", "FR", "NO"])
def test_free_incoming_calls_at_home_are_allowed_at_the_limit(country: str) -> None:
    for spend in (5 * EUR, 9 * EUR):
        assert decide(Service.VOICE, direction=IN, country=country, limit_eur=5,
                      spend=spend) == Decision(True, None)
    # Outgoing calls at home, and incoming calls outside the EU, cost money: refused.
    assert not decide(Service.VOICE, direction=OUT, country=country, limit_eur=5,
                      spend=5 * EUR).allowed
    assert decide(Service.VOICE, direction=IN, country=FAR, limit_eur=5,
                  spend=5 * EUR) == Decision(False, "spending_limit")


@pytest.mark.parametrize("country", sorted(CATALOG.limit_roaming_blocked))
def test_roaming_in_a_limit_roaming_blocked_country_is_refused_with_a_limit(
    country: str,
) -> None:
    for service, direction in ((Service.DATA, OUT), (Service.VOICE, OUT),
                               (Service.VOICE, IN), (Service.SMS, OUT)):
        assert decide(service, direction=direction, country=country, limit_eur=50) == Decision(
            False, "roaming_blocked_with_limit")
        # Without a limit, roaming there is only charged.
        assert decide(service, direction=direction, country=country).allowed
    # callme still works there.
    assert decide(Service.CALLME, country=country, limit_eur=50).allowed


def test_the_limit_roaming_blocked_list_is_the_catalogues() -> None:
    assert frozenset({"US", "CA", "TR", "MA", "CN", "JP", "AU", "BR", "IN", "RU"}) == (
        CATALOG.limit_roaming_blocked)
    # A non-blocked country outside the EU is charged roaming, allowed with a limit.
    assert decide(Service.DATA, country=FAR, limit_eur=5).allowed


@pytest.mark.parametrize("plan_id", ["king", "kong", "king-business", "kong-business",
                                     "internet-150", "internet-unlimited"])
def test_bundle_lines_have_no_limit(plan_id: str) -> None:
    plan = CATALOG.plans[plan_id]
    assert plan.spending_limits_micros == ()
    for amount in (5, 10, 20, 50):
        with pytest.raises(ControlError) as caught:
            check_limit_amount(plan, amount)
        assert caught.value.loc == ("line",)      # the line, wherever a front end names it
        assert "pay-per-use" in caught.value.msg


@pytest.mark.parametrize("amount", LIMITS_EUR)
def test_a_payg_line_may_set_5_10_20_or_50_euros(amount: int) -> None:
    assert check_limit_amount(PAYG, amount) == amount * EUR


@pytest.mark.parametrize("amount", [0, 1, 7, 15, 25, 51, 100, -5, 10**12])
def test_other_limit_amounts_are_refused_naming_the_field(amount: int) -> None:
    with pytest.raises(ControlError) as caught:
        check_limit_amount(PAYG, amount)
    assert caught.value.loc == ("amount_eur",)    # a field, not where a protocol carried it
    assert caught.value.msg == "must be one of [5, 10, 20, 50]"
    assert str(caught.value) == "amount_eur: must be one of [5, 10, 20, 50]"


# -- barring changes -----------------------------------------------------------------------


def test_parse_barring_sets_and_lifts_and_keeps_what_is_left_out() -> None:
    current = frozenset({"premium", "voice_in"})
    result = parse_barring({"data": True, "voice_in": False, "sms_out": False}, current)
    assert result == frozenset({"premium", "data"})
    assert parse_barring({}, current) == current
    assert parse_barring({f: True for f in BARRING_FUNCTIONS}, frozenset()) == ALL_BARRED
    assert barring_view(frozenset({"data"})) == {f: f == "data" for f in BARRING_FUNCTIONS}


@pytest.mark.parametrize("function", ["internet", "Data", "voice", "roaming", "callme", ""])
def test_parse_barring_refuses_an_unknown_function_naming_it(function: str) -> None:
    with pytest.raises(ControlError) as caught:
        parse_barring({"data": True, function: False}, frozenset())
    assert caught.value.loc == (function,)        # the function alone: no "body"
    assert caught.value.msg.startswith("unknown function (known: data, voice_out,")


# -- grants --------------------------------------------------------------------------------

SESSION_CLASSES: dict[str, RateClass] = {}
for _service, _direction, _country in [
    (Service.DATA, OUT, "BE"), (Service.VOICE, OUT, "BE"), (Service.SMS, OUT, "BE"),
    (Service.DATA, OUT, FAR), (Service.VOICE, OUT, FAR), (Service.VOICE, IN, FAR),
    (Service.SMS, OUT, FAR),
]:
    _rc = rate_class(PAYG, CATALOG, _service, _direction, _country)
    assert _rc is not None and _rc.tariff is not None
    SESSION_CLASSES[_rc.meter] = _rc
PAYG_DATA = SESSION_CLASSES["data"]
PAYG_SMS = SESSION_CLASSES["sms"]

rate_classes = st.sampled_from(sorted(SESSION_CLASSES)).map(SESSION_CLASSES.__getitem__)
amounts = st.one_of(st.integers(0, 2_000), st.integers(0, 10**7), st.integers(0, 10**11))
limits = st.sampled_from(LIMITS_EUR).map(lambda e: e * EUR)


@settings(max_examples=500)
@given(rc=rate_classes, metered=amounts, reserved=amounts,
       requested=amounts, available=st.one_of(st.integers(0, 10**5), st.integers(0, 10**9)))
@example(rc=PAYG_DATA, metered=0, reserved=0, requested=10**9, available=0)
@example(rc=PAYG_DATA, metered=999, reserved=0, requested=5, available=0)
@example(rc=PAYG_SMS, metered=0, reserved=0, requested=3, available=159_999)
def test_affordable_units_is_the_largest_quantity_the_money_buys(
    rc: RateClass, metered: int, reserved: int, requested: int, available: int,
) -> None:
    exposure = Exposure(rc, metered, reserved)
    units = affordable_units(exposure, requested, available)
    base = metered + reserved
    assert 0 <= units <= requested
    assert rc.cost(base, units) <= available
    if units < requested:
        assert rc.cost(base, units + 1) > available


def test_affordable_units_by_hand() -> None:
    sms = Exposure(PAYG_SMS, 0, 0)
    assert affordable_units(sms, 10, 159_999) == 1
    assert affordable_units(sms, 10, 160_000) == 2
    assert affordable_units(sms, 2, 10 * EUR) == 2
    data = Exposure(PAYG_DATA, 0, 0)
    assert affordable_units(data, 10**9, 50) == 1_000          # one started kB
    assert affordable_units(data, 10**9, 5 * EUR) == 100_000_000  # 100 MB for 5 EUR
    # Half a kB already paid: the rest of it costs nothing.
    assert affordable_units(Exposure(PAYG_DATA, 500, 0), 10**6, 0) == 500


@st.composite
def positions(draw: st.DrawFn) -> tuple[Exposure, int, int, int]:
    """A session's rate class on a line with a limit, its spend and reservations.

    The worst case (what the line spent plus what reservations could cost) is drawn
    near the limit, on either side of it, but never below what this class's own
    reservation could cost.
    """
    rc = draw(rate_classes)
    exposure = Exposure(rc, draw(amounts), draw(st.one_of(st.integers(0, 2_000),
                                                          st.integers(0, 10**7))))
    limit = draw(limits)
    gap = draw(st.one_of(st.integers(-100_000, 100_000), st.integers(0, limit)))
    worst = max(worst_case_spend(0, [exposure]), limit - gap)
    requested = draw(amounts)
    return exposure, limit, worst, requested


@settings(max_examples=1000)
@given(positions())
def test_a_grant_never_exceeds_what_the_money_buys(
    position: tuple[Exposure, int, int, int],
) -> None:
    exposure, limit, worst, requested = position
    answer = grant(exposure, requested, limit_micros=limit, worst_micros=worst)
    assert 0 <= answer.granted <= requested
    cost = exposure.rate.cost(exposure.metered + exposure.reserved, answer.granted)
    assert worst + cost <= max(limit, worst)
    if worst <= limit:
        after = Exposure(exposure.rate, exposure.metered, exposure.reserved + answer.granted)
        assert worst_case_spend(worst - worst_case_spend(0, [exposure]), [after]) <= limit


@settings(max_examples=1000)
@given(positions())
def test_grants_are_not_stingy(position: tuple[Exposure, int, int, int]) -> None:
    exposure, limit, worst, requested = position
    answer = grant(exposure, requested, limit_micros=limit, worst_micros=worst)
    if answer.granted < requested:
        one_more = exposure.rate.cost(exposure.metered + exposure.reserved,
                                      answer.granted + 1)
        # (Past the limit, after offline overshoot, only free units fit: the rest of a
        # started kB already paid for.)
        assert one_more > max(0, limit - worst)


@settings(max_examples=1000)
@given(positions())
@example((Exposure(PAYG_DATA, 0, 1), 5 * EUR, 5 * EUR + 1, 0))
def test_the_last_grant_is_final(position: tuple[Exposure, int, int, int]) -> None:
    exposure, limit, worst, requested = position
    answer = grant(exposure, requested, limit_micros=limit, worst_micros=worst)
    base = exposure.metered + exposure.reserved
    next_unit_fits = exposure.rate.cost(base, answer.granted + 1) <= max(0, limit - worst)
    # Final exactly when the money buys nothing more after this grant.
    assert answer.final == (answer.granted < requested or not next_unit_fits)
    if answer.granted == 0 and requested > 0:
        assert answer.final and answer.reason == "spending_limit"
    else:
        assert answer.reason is None


def test_grants_by_hand() -> None:
    sms = Exposure(PAYG_SMS, 0, 0)
    # 5 EUR buys 62 SMS (4.96 EUR): 62 are granted, and it is the last grant.
    assert grant(sms, 100, limit_micros=5 * EUR, worst_micros=0) == (
        grant(sms, 62, limit_micros=5 * EUR, worst_micros=0))
    answer = grant(sms, 100, limit_micros=5 * EUR, worst_micros=0)
    assert (answer.granted, answer.final, answer.reason) == (62, True, None)
    # Asking for less than the money buys: all of it, not final.
    answer = grant(sms, 10, limit_micros=5 * EUR, worst_micros=0)
    assert (answer.granted, answer.final) == (10, False)
    # Exactly what the money buys: all of it, and final.
    answer = grant(sms, 10, limit_micros=5 * EUR, worst_micros=5 * EUR - 800_000)
    assert (answer.granted, answer.final) == (10, True)
    # Nothing left: refused with the reason.
    answer = grant(sms, 1, limit_micros=5 * EUR, worst_micros=5 * EUR - 79_999)
    assert (answer.granted, answer.final, answer.reason) == (0, True, "spending_limit")


def test_without_a_limit_or_a_price_everything_requested_is_granted() -> None:
    sms = Exposure(PAYG_SMS, 0, 0)
    answer = grant(sms, 10**9, limit_micros=None, worst_micros=10**12)
    assert (answer.granted, answer.final, answer.reason) == (10**9, False, None)
    free_in = rate_class(PAYG, CATALOG, Service.VOICE, IN, "BE")
    assert free_in is not None and free_in.tariff is None
    answer = grant(Exposure(free_in, 0, 0), 3600, limit_micros=5 * EUR,
                   worst_micros=6 * EUR)
    assert (answer.granted, answer.final) == (3600, False)


def test_the_worst_case_counts_what_reservations_could_still_cost() -> None:
    exposures = [Exposure(PAYG_SMS, 3, 10), Exposure(PAYG_DATA, 500, 1_500)]
    # 10 SMS reserved: 0.80 EUR; 1500 B on top of 500 B: one more started kB, 50 micros.
    assert worst_case_spend(1_000, exposures) == 1_000 + 800_000 + 50
