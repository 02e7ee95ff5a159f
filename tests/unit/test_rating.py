"""Rating, rule by rule, with charges computed by hand from the reference catalogue.

Rates in micro-euros: king voice 0.20/min = 200000, sms 0.10 = 100000, data 0.01/MB =
10000 (10 per kB); payg voice 0.15/min = 150000 (2500 per second), sms 0.08 = 80000,
data 0.05/MB = 50000 (50 per kB); roaming voice out 1.50/min, voice in 0.80/min,
sms 0.40, data 2.00/MB.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from itertools import count

import pytest

from conso.catalog_file import load_catalog
from conso.domain.catalog import Plan
from conso.domain.cycle import Cycle
from conso.domain.rating import (
    CycleUsage,
    Rating,
    price_data,
    price_sms,
    price_voice,
    rate,
)
from conso.domain.records import RecordError, UsageRecord
from conso.domain.units import Direction, Service

CATALOG = load_catalog(None)
KING = CATALOG.plans["king"]
PAYG = CATALOG.plans["payg"]
INTERNET_150 = CATALOG.plans["internet-150"]
INTERNET_UNLIMITED = CATALOG.plans["internet-unlimited"]
CYCLE = Cycle(date(2026, 11, 1))
AT = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
GB = 10**9
_ids = count(1)


def usage_record(
    service: Service, quantity: int = 1, *, country: str = "BE",
    direction: Direction = Direction.OUT, amount_micros: int = 0,
) -> UsageRecord:
    return UsageRecord(
        id=f"r{next(_ids)}", line="+32470000001", service=service, quantity=quantity,
        at=AT, country=country, direction=direction, amount_micros=amount_micros,
    )


def voice(seconds: int, country: str = "BE", direction: Direction = Direction.OUT) -> UsageRecord:
    return usage_record(Service.VOICE, seconds, country=country, direction=direction)


def sms(messages: int, country: str = "BE") -> UsageRecord:
    return usage_record(Service.SMS, messages, country=country)


def data(size: int, country: str = "BE") -> UsageRecord:
    return usage_record(Service.DATA, size, country=country)


def apply(plan: Plan, records: Iterable[UsageRecord],
          usage: CycleUsage | None = None) -> tuple[CycleUsage, list[Rating]]:
    """Rate records one after the other, as the engine does."""
    usage = CycleUsage(CYCLE) if usage is None else usage
    ratings: list[Rating] = []
    for one in records:
        rating = rate(one, plan, CATALOG, usage)
        usage.add(rating)
        ratings.append(rating)
    return usage, ratings


def rate_after(plan: Plan, earlier: Iterable[UsageRecord], last: UsageRecord) -> Rating:
    usage, _ = apply(plan, earlier)
    return rate(last, plan, CATALOG, usage)


# -- bundles -----------------------------------------------------------------------

def test_bundle_usage_within_allowance_is_free() -> None:
    usage, ratings = apply(KING, [voice(600), sms(10), data(2 * GB)])
    assert [r.charge_micros for r in ratings] == [0, 0, 0]
    assert [r.from_bundle for r in ratings] == [600, 10, 2 * GB]
    assert usage.meters == {"voice": 600, "sms": 10, "data": 2 * GB}
    assert usage.spend_micros == 0


def test_using_exactly_the_allowance_is_free() -> None:
    usage, _ = apply(KING, [voice(18_000), sms(500), data(10 * GB)])
    assert usage.spend_micros == 0


def test_record_crossing_the_allowance_charges_only_the_excess() -> None:
    # 17939 s used, then a 122 s call: 61 s in the bundle, 61 s beyond it.
    rating = rate_after(KING, [voice(17_939)], voice(122))
    assert rating.from_bundle == 61
    assert rating.charge_micros == 203_334          # ceil(61 * 200000 / 60)
    assert rating.meter == "voice"
    assert rating.quantity == 122


def test_sms_beyond_the_allowance_are_charged_each() -> None:
    rating = rate_after(KING, [sms(499)], sms(4))
    assert rating.from_bundle == 1
    assert rating.charge_micros == 3 * 100_000


def test_data_beyond_the_allowance_is_charged_per_started_kb_of_the_excess() -> None:
    rating = rate_after(KING, [data(10 * GB - 500)], data(2_000))
    assert rating.from_bundle == 500
    assert rating.charge_micros == 2 * 10           # 1500 B beyond = 2 started kB


def test_usage_after_the_bundle_is_used_up_is_charged_entirely() -> None:
    rating = rate_after(KING, [voice(18_000)], voice(60))
    assert rating.from_bundle == 0
    assert rating.charge_micros == 200_000


def test_the_bigger_bundle_has_the_bigger_allowance() -> None:
    kong = CATALOG.plans["kong"]
    assert rate_after(kong, [voice(18_000)], voice(60)).charge_micros == 0
    assert rate_after(kong, [voice(60_000)], voice(60)).charge_micros == 200_000


def test_extra_spend_adds_up_the_charges() -> None:
    usage, ratings = apply(KING, [voice(18_060), sms(501), data(10 * GB + 1_000_000)])
    assert [r.charge_micros for r in ratings] == [200_000, 100_000, 10_000]
    assert usage.spend_micros == 310_000


def test_rating_does_not_change_the_usage_it_is_given() -> None:
    usage, _ = apply(KING, [voice(17_000)])
    before = usage.copy()
    rate(voice(2_000), KING, CATALOG, usage)
    assert usage == before


# -- roaming ---------------------------------------------------------------------

@pytest.mark.parametrize("country", ["FR", "DE", "NO", "IS", "LI"])
def test_eu_roaming_counts_like_home(country: str) -> None:
    usage, ratings = apply(KING, [voice(120, country), sms(2, country), data(10**6, country)])
    assert [r.charge_micros for r in ratings] == [0, 0, 0]
    assert [r.from_bundle for r in ratings] == [120, 2, 10**6]
    assert usage.meters == {"voice": 120, "sms": 2, "data": 10**6}


def test_eu_roaming_beyond_the_allowance_costs_the_home_rate() -> None:
    rating = rate_after(KING, [voice(18_000)], voice(60, "FR"))
    assert rating.charge_micros == 200_000


@pytest.mark.parametrize("country", ["US", "CH", "GB", "JP"])
def test_roaming_outside_eu_is_charged_and_never_draws_on_the_bundle(country: str) -> None:
    usage, ratings = apply(KING, [voice(60, country), sms(1, country), data(10**6, country)])
    assert [r.charge_micros for r in ratings] == [1_500_000, 400_000, 2_000_000]
    assert [r.from_bundle for r in ratings] == [0, 0, 0]
    assert [r.meter for r in ratings] == ["roaming_voice_out", "roaming_sms", "roaming_data"]
    assert usage.meter("voice") == usage.meter("sms") == usage.meter("data") == 0
    assert usage.spend_micros == 3_900_000


def test_roaming_outside_eu_is_charged_even_with_the_bundle_untouched() -> None:
    rating = rate_after(KING, [], voice(1, "US"))
    assert rating.charge_micros == 25_000              # 1.50 EUR / 60 per second


def test_roaming_outside_eu_on_payg_costs_the_roaming_rate() -> None:
    assert rate_after(PAYG, [], sms(1, "MA")).charge_micros == 400_000


# -- incoming calls --------------------------------------------------------------

@pytest.mark.parametrize("plan", [KING, PAYG], ids=["king", "payg"])
@pytest.mark.parametrize("country", ["BE", "FR"])
def test_incoming_calls_at_home_are_free(plan: Plan, country: str) -> None:
    usage, ratings = apply(plan, [voice(600, country, Direction.IN)])
    assert ratings[0].charge_micros == 0
    assert ratings[0].from_bundle == 0
    assert ratings[0].meter == "voice_in"
    assert usage.meter("voice") == 0


def test_incoming_calls_at_home_are_free_after_the_bundle_is_used_up() -> None:
    assert rate_after(KING, [voice(18_000)], voice(600, "BE", Direction.IN)).charge_micros == 0


def test_incoming_calls_outside_eu_are_charged() -> None:
    usage, ratings = apply(KING, [voice(60, "US", Direction.IN), voice(1, "US", Direction.IN)])
    assert [r.charge_micros for r in ratings] == [800_000, 13_334]   # 0.80 EUR/min per second
    assert ratings[0].meter == "roaming_voice_in"
    assert ratings[0].from_bundle == 0
    assert usage.meter("voice") == 0


def test_incoming_and_outgoing_roaming_calls_have_separate_rates() -> None:
    usage, _ = apply(KING, [voice(60, "US", Direction.IN), voice(60, "US")])
    assert usage.meters == {"roaming_voice_in": 60, "roaming_voice_out": 60}
    assert usage.spend_micros == 800_000 + 1_500_000


# -- callme and premium -----------------------------------------------------------

@pytest.mark.parametrize("plan", [KING, PAYG], ids=["king", "payg"])
@pytest.mark.parametrize("country", ["BE", "US"])
def test_callme_is_never_charged(plan: Plan, country: str) -> None:
    usage, ratings = apply(plan, [sms(500), usage_record(Service.CALLME, 7, country=country)])
    assert ratings[-1].charge_micros == 0
    assert ratings[-1].from_bundle == 0
    assert usage.meter("callme") == 7
    assert usage.meter("sms") == 500


@pytest.mark.parametrize("plan", [KING, PAYG], ids=["king", "payg"])
def test_premium_costs_the_providers_amount(plan: Plan) -> None:
    usage, ratings = apply(plan, [
        usage_record(Service.PREMIUM, amount_micros=2_500_000),
        usage_record(Service.PREMIUM, amount_micros=10_000, country="US"),
    ])
    assert [r.charge_micros for r in ratings] == [2_500_000, 10_000]
    assert [r.from_bundle for r in ratings] == [0, 0]
    assert usage.meter("premium") == 2
    assert usage.spend_micros == 2_510_000


# -- pay as you go ------------------------------------------------------------------

def test_payg_charges_every_unit() -> None:
    usage, ratings = apply(PAYG, [voice(60), sms(1), data(10**6)])
    assert [r.charge_micros for r in ratings] == [150_000, 80_000, 50_000]
    assert [r.from_bundle for r in ratings] == [0, 0, 0]
    assert usage.spend_micros == 280_000


def test_payg_sms_are_charged_each() -> None:
    assert rate_after(PAYG, [], sms(3)).charge_micros == 240_000


# -- billing units -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("size", "charge"),
    [(0, 0), (1, 50), (999, 50), (1_000, 50), (1_001, 100), (2_500_000, 125_000)],
)
def test_data_is_billed_per_started_kb(size: int, charge: int) -> None:
    assert rate_after(PAYG, [], data(size)).charge_micros == charge


@pytest.mark.parametrize(
    ("seconds", "charge"),
    [(0, 0), (1, 2_500), (7, 17_500), (59, 147_500), (60, 150_000), (61, 152_500)],
)
def test_voice_is_billed_per_second(seconds: int, charge: int) -> None:
    assert rate_after(PAYG, [], voice(seconds)).charge_micros == charge


def test_per_second_charges_round_up_to_the_micro_euro() -> None:
    assert price_voice(1, 200_000) == 3_334            # 3333.33... rounded up
    assert price_voice(61, 200_000) == 203_334
    assert price_voice(3, 200_000) == 10_000           # exact: no rounding


def test_per_kb_charges_round_up_to_the_micro_euro() -> None:
    assert price_data(1, 1) == 1                       # 0.001 micro-euro per kB rounds up
    assert price_data(1_000_000, 10_000) == 10_000
    assert price_sms(3, 80_000) == 240_000


def test_splitting_data_into_more_records_never_costs_more() -> None:
    one, _ = apply(PAYG, [data(1_000)])
    ten, _ = apply(PAYG, [data(100) for _ in range(10)])
    assert one.spend_micros == ten.spend_micros == 50


def test_splitting_a_call_into_seconds_costs_the_same_as_one_call() -> None:
    one, _ = apply(KING, [voice(18_000), voice(61)])
    many, _ = apply(KING, [voice(18_000)] + [voice(1) for _ in range(61)])
    assert one.spend_micros == many.spend_micros == 203_334


# -- internet -------------------------------------------------------------------------

@pytest.mark.parametrize("plan", [INTERNET_150, INTERNET_UNLIMITED],
                         ids=["internet-150", "internet-unlimited"])
@pytest.mark.parametrize("service", [Service.VOICE, Service.SMS, Service.CALLME,
                                     Service.PREMIUM])
def test_internet_plan_refuses_voice(plan: Plan, service: Service) -> None:
    with pytest.raises(RecordError) as caught:
        rate(usage_record(service, 1, amount_micros=100), plan, CATALOG, CycleUsage(CYCLE))
    assert caught.value.field == "service"


def test_internet_unlimited_never_charges() -> None:
    usage, ratings = apply(INTERNET_UNLIMITED, [data(2_999 * GB), data(2 * GB), data(10**13)])
    assert [r.charge_micros for r in ratings] == [0, 0, 0]
    assert usage.spend_micros == 0
    assert usage.meter("data") == 2_999 * GB + 2 * GB + 10**13


def test_internet_data_counts_against_the_volume() -> None:
    usage, ratings = apply(INTERNET_150, [data(100 * GB), data(60 * GB)])
    assert [r.from_bundle for r in ratings] == [100 * GB, 50 * GB]
    assert usage.meter("data") == 160 * GB


def test_internet_data_is_home_usage_whatever_the_country() -> None:
    usage, ratings = apply(INTERNET_150, [data(GB, "US")])
    assert ratings[0].meter == "data"
    assert ratings[0].charge_micros == 0
    assert usage.meter("roaming_data") == 0
