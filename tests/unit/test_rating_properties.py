"""Invariants of rating, for random records of one line in one cycle on every plan."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from conso.catalog_file import load_catalog
from conso.domain.catalog import Plan, PlanKind
from conso.domain.consult import summarize
from conso.domain.cycle import Cycle
from conso.domain.rating import (
    CALLME,
    ROAMING_METER_OF,
    ROAMING_VOICE_IN,
    CycleUsage,
    Rating,
    price_data,
    price_sms,
    price_voice,
    rate,
)
from conso.domain.records import UsageRecord
from conso.domain.units import METERED, Direction, Service

CATALOG = load_catalog(None)
PLANS = sorted(CATALOG.plans)
CYCLE = Cycle(date(2026, 11, 1))
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
COUNTRIES = ["BE", "FR", "NO", "LI", "US", "CH", "JP", "MA"]
GB = 10**9

# Quantities mix small values, values next to the allowances (king: 18000 s, 500 sms,
# 10 GB; kong: 60000 s, 1000 sms, 40 GB; internet-150: 150 GB) and ones big enough
# to cross them within a few records.
QUANTITY = {
    Service.VOICE: st.one_of(st.integers(0, 120), st.integers(0, 25_000),
                             st.sampled_from([17_999, 18_000, 18_001, 59_999, 60_001])),
    Service.SMS: st.one_of(st.integers(0, 3), st.integers(0, 600),
                           st.sampled_from([499, 500, 501, 999, 1_001])),
    Service.DATA: st.one_of(st.integers(0, 5_000), st.integers(0, 60 * GB),
                            st.sampled_from([10 * GB - 1, 10 * GB + 1, 40 * GB + 999,
                                             150 * GB - 1, 150 * GB + 1])),
    Service.CALLME: st.integers(0, 5),
    Service.PREMIUM: st.just(1),
}


@st.composite
def records_for(draw: st.DrawFn, services: frozenset[Service]) -> UsageRecord:
    service = draw(st.sampled_from(sorted(services)))
    direction = Direction.OUT
    if service is Service.VOICE:
        direction = draw(st.sampled_from([Direction.OUT, Direction.IN]))
    amount = 0
    if service is Service.PREMIUM:
        amount = draw(st.integers(0, 10_000)) * 10_000
    return UsageRecord(
        id="", line="+32470000001", service=service, quantity=draw(QUANTITY[service]),
        at=datetime(2026, 11, draw(st.integers(1, 30)), 12, tzinfo=UTC),
        country=draw(st.sampled_from(COUNTRIES)), direction=direction, amount_micros=amount,
    )


@st.composite
def plan_and_records(draw: st.DrawFn) -> tuple[Plan, list[UsageRecord]]:
    plan = CATALOG.plans[draw(st.sampled_from(PLANS))]
    drawn = draw(st.lists(records_for(plan.services), max_size=25))
    records = [
        UsageRecord(f"r{i}", r.line, r.service, r.quantity, r.at, r.country, r.direction,
                    r.amount_micros)
        for i, r in enumerate(drawn)
    ]
    return plan, records


def apply(plan: Plan, records: Iterable[UsageRecord]) -> tuple[CycleUsage, list[Rating]]:
    usage = CycleUsage(CYCLE)
    ratings: list[Rating] = []
    for record in records:
        rating = rate(record, plan, CATALOG, usage)
        usage.add(rating)
        ratings.append(rating)
    return usage, ratings


def apply_once(plan: Plan, records: Iterable[UsageRecord]) -> CycleUsage:
    """Apply records skipping ids already applied: what idempotent intake does."""
    usage = CycleUsage(CYCLE)
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            continue
        seen.add(record.id)
        usage.add(rate(record, plan, CATALOG, usage))
    return usage


def expected_spend(plan: Plan, records: Sequence[UsageRecord]) -> int:
    """The cycle's extra spend from its totals alone, straight from the rules."""
    home: dict[Service, int] = dict.fromkeys(METERED, 0)
    roaming: dict[tuple[Service, Direction], int] = {}
    premium = 0
    for r in records:
        if r.service is Service.PREMIUM:
            premium += r.amount_micros
        elif r.service is Service.CALLME:
            continue
        elif plan.kind is PlanKind.INTERNET or CATALOG.is_home_zone(r.country):
            if r.direction is Direction.OUT:
                home[r.service] += r.quantity
        else:
            key = (r.service, r.direction)
            roaming[key] = roaming.get(key, 0) + r.quantity
    total = premium
    rates = plan.rates
    roam = CATALOG.roaming_rates
    for service, used in home.items():
        if service in plan.unlimited:
            continue
        allowance = plan.included.get(service, 0) if plan.kind is not PlanKind.PAYG else 0
        excess = max(0, used - allowance)
        if service is Service.VOICE and rates.voice_per_minute is not None:
            total += price_voice(excess, rates.voice_per_minute)
        elif service is Service.SMS and rates.sms_per_sms is not None:
            total += price_sms(excess, rates.sms_per_sms)
        elif service is Service.DATA and rates.data_per_mb is not None:
            total += price_data(excess, rates.data_per_mb)
    for (service, direction), used in roaming.items():
        if service is Service.VOICE:
            per_minute = (roam.voice_in_per_minute if direction is Direction.IN
                          else roam.voice_per_minute)
            assert per_minute is not None
            total += price_voice(used, per_minute)
        elif service is Service.SMS:
            assert roam.sms_per_sms is not None
            total += price_sms(used, roam.sms_per_sms)
        else:
            assert roam.data_per_mb is not None
            total += price_data(used, roam.data_per_mb)
    return total


@given(plan_and_records())
def test_the_charges_of_a_cycle_add_up_to_its_extra_spend(
    case: tuple[Plan, list[UsageRecord]],
) -> None:
    plan, records = case
    usage, ratings = apply(plan, records)
    assert sum(r.charge_micros for r in ratings) == usage.spend_micros
    assert usage.records == len(records)


@given(plan_and_records())
def test_the_extra_spend_is_the_price_of_the_cycle_totals(
    case: tuple[Plan, list[UsageRecord]],
) -> None:
    plan, records = case
    usage, _ = apply(plan, records)
    assert usage.spend_micros == expected_spend(plan, records)


@given(plan_and_records())
def test_remaining_is_never_below_zero_nor_above_included(
    case: tuple[Plan, list[UsageRecord]],
) -> None:
    plan, records = case
    usage, _ = apply(plan, records)
    summary = summarize("+32470000001", plan, usage, NOW)
    for service, line in summary.services.items():
        if line.included is None:
            assert line.remaining is None
            continue
        assert line.remaining is not None
        assert 0 <= line.remaining <= line.included
        assert line.remaining == max(0, line.included - usage.meter(service.value))


@given(plan_and_records(), st.data())
def test_the_order_records_arrive_in_changes_no_meter_and_no_total(
    case: tuple[Plan, list[UsageRecord]], data: st.DataObject,
) -> None:
    plan, records = case
    shuffled = data.draw(st.permutations(records))
    in_order, _ = apply(plan, records)
    out_of_order, _ = apply(plan, shuffled)
    assert out_of_order.meters == in_order.meters
    assert out_of_order.spend_micros == in_order.spend_micros
    assert out_of_order.records == in_order.records


@given(plan_and_records(), st.data())
def test_a_record_seen_twice_counts_once(
    case: tuple[Plan, list[UsageRecord]], data: st.DataObject,
) -> None:
    plan, records = case
    with_duplicates = list(records)
    if records:
        for _ in range(data.draw(st.integers(1, 10))):
            duplicate = data.draw(st.sampled_from(records))
            position = data.draw(st.integers(0, len(with_duplicates)))
            with_duplicates.insert(position, duplicate)
    once = apply_once(plan, records)
    twice = apply_once(plan, with_duplicates)
    assert twice.meters == once.meters
    assert twice.spend_micros == once.spend_micros
    assert twice.records == once.records == len(records)


@given(plan_and_records())
def test_charges_are_never_negative_and_callme_is_never_charged(
    case: tuple[Plan, list[UsageRecord]],
) -> None:
    plan, records = case
    _, ratings = apply(plan, records)
    for record, rating in zip(records, ratings, strict=True):
        assert rating.charge_micros >= 0
        assert 0 <= rating.from_bundle <= rating.quantity == record.quantity
        if rating.meter == CALLME:
            assert rating.charge_micros == 0


@given(plan_and_records())
def test_roaming_outside_the_eu_never_draws_on_the_bundle(
    case: tuple[Plan, list[UsageRecord]],
) -> None:
    plan, records = case
    _, ratings = apply(plan, records)
    roaming_meters = {*ROAMING_METER_OF.values(), ROAMING_VOICE_IN}
    for rating in ratings:
        if rating.meter in roaming_meters:
            assert rating.from_bundle == 0


@settings(deadline=None)
@given(plan_and_records())
def test_bundle_use_never_exceeds_the_allowance(case: tuple[Plan, list[UsageRecord]]) -> None:
    plan, records = case
    _, ratings = apply(plan, records)
    for service in METERED:
        allowance = plan.allowance(service)
        if allowance is None:
            continue
        drawn = sum(r.from_bundle for r in ratings if r.meter == service.value)
        assert drawn <= allowance
