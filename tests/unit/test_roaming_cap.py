"""The roaming data cap (rules.md, "Roaming data cap", the EU bill-shock rule), through
the charging core's port on the in-memory store with a clock the test controls.

Data outside the EU/EEA may cost a line at most the catalogue's cap (EUR 50) a cycle
before it stops; SMS from 8644 at 80 % and 100 %; the user may continue for the rest
of the cycle, or switch the cap off and on; where a spending limit also applies, the
tighter decides. The grant rule is a property: whatever the sessions ask and report,
online data outside the EU never costs more than the cap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conso.bootstrap import Services
from conso.catalog_file import load_catalog
from conso.charging.ports import UseRequest
from conso.charging.roaming_cap import continue_roaming, set_roaming_cap
from conso.domain.alerts import RuleKind, roaming_cap_crossing
from conso.domain.control import CapPosition, Reason, cap_position
from conso.domain.rating import ROAMING_DATA, RateClass, rate_class
from conso.domain.units import Direction, Service
from conso.errors import Conflict
from conso.sms.inbound import InboundSms, Outcome
from unit.charging_support import end, memory_services, start, update

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BUNDLE = "+32470000101"
PAYG = "+32470000102"
BOX = "box-1"
CAP = 50_000_000            # the catalogue's EUR 50.00
PER_KB = 2_000              # roaming data: EUR 2.00 a MB, billed per started kB
MB = 1_000_000
OUTSIDE = "CH"              # outside the EU/EEA, not refused by a spending limit
OUT = Direction.OUT


@pytest.fixture
def clock() -> list[datetime]:
    return [NOW]


@pytest.fixture
def services(clock: list[datetime]) -> Iterator[Services]:
    svc = memory_services(lambda: clock[0], validity=timedelta(minutes=10))
    engine = svc.engine
    engine.put_account("acct", name="Roamers", kind="residential")
    engine.put_user("acct", "anna", password="correct horse 1", role="user", language="fr",
                    email=None)
    engine.put_line(BUNDLE, account_id="acct", plan_id="king", user_login="anna", cycle_day=1)
    engine.put_line(PAYG, account_id="acct", plan_id="payg", user_login=None, cycle_day=1)
    engine.put_line(BOX, account_id="acct", plan_id="internet-150", user_login=None,
                    cycle_day=1)
    yield svc
    svc.close()


def roaming_spend(services: Services, line_id: str = BUNDLE) -> int:
    """What the line's data outside the EU/EEA cost this cycle."""
    line = services.engine.line(line_id)
    assert line is not None
    usage = services.engine.cycle_usage(line, services.engine.clock())
    return cap_position(ROAMING_RATE, usage.meter(ROAMING_DATA)).spent_micros


def _roaming_rate() -> RateClass:
    catalog = load_catalog()
    rc = rate_class(catalog.plans["king"], catalog, Service.DATA, OUT, OUTSIDE)
    assert rc is not None
    return rc


ROAMING_RATE = _roaming_rate()


def feed(services: Services, record_id: str, line: str, size: int, *,
         country: str = OUTSIDE, at: datetime | None = None) -> None:
    result = services.engine.apply_usage([{
        "id": record_id, "line": line, "service": "data", "quantity": size,
        "at": (at or services.engine.clock()).isoformat(), "country": country}])
    assert not result.rejected, result.rejected


def authorize(services: Services, line: str = BUNDLE, service: Service = Service.DATA,
              country: str = OUTSIDE) -> str | None:
    decision = services.charging.authorize(UseRequest(line, service, OUT, country))
    return None if decision.allowed else decision.reason


def cap_messages(services: Services, line: str = BUNDLE) -> list[tuple[str, int, str]]:
    return [(m.sender, m.rule["value"], m.to)
            for m in services.store.outbox.messages(line_id=line)
            if m.rule is not None and m.rule["kind"] == RuleKind.ROAMING_CAP_PCT.value]


# -- the rule through the core ------------------------------------------------------------

def test_a_session_outside_the_eu_is_granted_no_more_than_the_cap_buys(
        services: Services) -> None:
    granted = start(services, "s1", BUNDLE, Service.DATA, 100 * MB, country=OUTSIDE)
    assert granted.granted == CAP // PER_KB * 1000       # 25,000 kB: EUR 50.00 exactly
    assert granted.final
    end(services, "s1", granted.granted)
    assert roaming_spend(services) == CAP
    refused = start(services, "s2", BUNDLE, Service.DATA, MB, country=OUTSIDE)
    assert (refused.granted, refused.reason) == (0, Reason.ROAMING_CAP.value)


def test_at_the_cap_authorize_refuses_data_outside_the_eu_but_not_calls_or_eu_data(
        services: Services) -> None:
    feed(services, "r1", BUNDLE, CAP // PER_KB * 1000)
    assert authorize(services) == "roaming_cap"
    assert authorize(services, service=Service.VOICE) is None
    assert authorize(services, service=Service.SMS) is None
    assert authorize(services, country="FR") is None
    assert authorize(services, country="BE") is None


def test_the_sms_from_8644_come_at_80_and_100_percent_once_each(services: Services) -> None:
    feed(services, "r1", BUNDLE, 19_000 * 1000)          # EUR 38: 76 %
    assert cap_messages(services) == []
    feed(services, "r2", BUNDLE, 1_000 * 1000)           # EUR 40: 80 %
    assert cap_messages(services) == [("8644", 80, BUNDLE)]
    feed(services, "r3", BUNDLE, 1_000 * 1000)
    assert len(cap_messages(services)) == 1
    feed(services, "r4", BUNDLE, 5_000 * 1000)           # EUR 50: 100 %
    assert sorted(cap_messages(services)) == [("8644", 80, BUNDLE), ("8644", 100, BUNDLE)]
    feed(services, "r5", BUNDLE, 10)                     # offline: counted all the same
    assert len(cap_messages(services)) == 2


def test_a_record_jumping_past_both_thresholds_sends_only_the_100(services: Services) -> None:
    feed(services, "r1", BUNDLE, 30 * MB)
    assert cap_messages(services) == [("8644", 100, BUNDLE)]


def test_continue_lifts_the_cap_for_the_rest_of_the_cycle_only(
        services: Services, clock: list[datetime]) -> None:
    feed(services, "r1", BUNDLE, 25 * MB)
    assert authorize(services) == "roaming_cap"
    line = services.engine.line(BUNDLE)
    assert line is not None
    continue_roaming(services.engine, line, "anna")
    assert authorize(services) is None
    assert start(services, "s1", BUNDLE, Service.DATA, MB, country=OUTSIDE).granted == MB
    end(services, "s1", MB)
    clock[0] = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # the next cycle (Brussels time)
    feed(services, "r2", BUNDLE, 25 * MB, at=clock[0])
    assert authorize(services) == "roaming_cap"           # capped again


def test_switched_off_the_cap_binds_nothing_and_on_again_it_binds_at_once(
        services: Services) -> None:
    feed(services, "r1", BUNDLE, 25 * MB)
    line = services.engine.line(BUNDLE)
    assert line is not None
    set_roaming_cap(services.engine, line, False, "anna")
    assert authorize(services) is None
    continue_roaming(services.engine, line, "anna")
    set_roaming_cap(services.engine, line, True, "admin")
    assert authorize(services) == "roaming_cap"          # on again: continuing is forgotten
    entries = services.store.lines.audit_log(BUNDLE, 10)
    assert [e.action for e in entries] == ["roaming_cap"] * 3
    assert entries[-1].before == {"enabled": True, "continued": False}
    assert entries[-1].after == {"enabled": False, "continued": False}


def test_where_a_spending_limit_also_applies_the_tighter_one_decides(
        services: Services) -> None:
    line = services.engine.line(PAYG)
    assert line is not None
    services.control.set_spending_limit(line, 10, "admin")
    granted = start(services, "s1", PAYG, Service.DATA, 100 * MB, country=OUTSIDE)
    assert granted.granted == 5_000 * 1000                # EUR 10 buys 5 MB at roaming rates
    end(services, "s1", granted.granted)
    assert authorize(services, PAYG) == "spending_limit"
    line = services.engine.line(PAYG)
    assert line is not None
    services.control.set_spending_limit(line, 50, "admin")
    feed(services, "home", PAYG, 100 * MB, country="BE")  # EUR 5 at home
    granted = start(services, "s2", PAYG, Service.DATA, 100 * MB, country=OUTSIDE)
    assert granted.granted == 17_500 * 1000               # EUR 35 left of the limit, 40 of the cap
    end(services, "s2", 0)
    continue_roaming(services.engine, line, "anna")
    assert start(services, "s3", PAYG, Service.DATA, 100 * MB,
                 country=OUTSIDE).granted == 17_500 * 1000  # the limit still binds


def test_an_internet_line_has_no_cap_to_change(services: Services) -> None:
    box = services.engine.line(BOX)
    assert box is not None
    with pytest.raises(Conflict):
        set_roaming_cap(services.engine, box, False, "admin")
    with pytest.raises(Conflict):
        continue_roaming(services.engine, box, "admin")


def test_continue_texted_to_1921_resumes_data_roaming_and_answers_in_the_users_language(
        services: Services) -> None:
    feed(services, "r1", BUNDLE, 25 * MB)
    inbound = InboundSms(services.charging, clock=services.engine.clock)
    assert inbound.handle(BUNDLE, "1921", " continue ") is Outcome.CONTINUE
    assert authorize(services) is None
    reply = [m for m in services.store.outbox.messages(line_id=BUNDLE) if m.sender == "1921"]
    assert len(reply) == 1 and "itinérance" in reply[0].text and "30/11/2026" in reply[0].text


# -- the grant rule as a property -------------------------------------------------------------

_STEPS = st.lists(st.tuples(st.sampled_from(["start", "update", "end"]),
                            st.integers(0, 8_000_000), st.integers(0, 40_000_000)),
                  min_size=1, max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(offline=st.one_of(st.just(0), st.integers(0, 30 * MB)), steps=_STEPS)
def test_online_data_outside_the_eu_never_costs_more_than_the_cap(
        offline: int, steps: list[tuple[str, int, int]]) -> None:
    """Sessions that use every byte granted, after an offline record of any size: the
    sessions never take the cost past the cap (an offline record may: the money is owed)."""
    clock = [NOW]
    svc = memory_services(lambda: clock[0])
    try:
        svc.engine.put_account("acct", name="P", kind="residential")
        svc.engine.put_line(BUNDLE, account_id="acct", plan_id="king", user_login=None,
                            cycle_day=1)
        if offline:
            feed(svc, "offline", BUNDLE, offline)
        before = roaming_spend(svc)
        granted: dict[str, int] = {}
        for number, (op, used, requested) in enumerate(steps):
            if op == "start" or not granted:
                sid = f"s{number}"
                answer = start(svc, sid, BUNDLE, Service.DATA, requested, country=OUTSIDE)
                if answer.reason is None:
                    granted[sid] = answer.granted
                continue
            sid = list(granted)[used % len(granted)]
            if op == "end":
                end(svc, sid, granted.pop(sid))
            else:
                granted[sid] = update(svc, sid, granted[sid], requested).granted
        for sid, left in granted.items():
            end(svc, sid, left)
        assert roaming_spend(svc) <= max(CAP, before)
    finally:
        svc.close()


# -- the pure pieces --------------------------------------------------------------------------

@given(spent=st.integers(0, 2 * CAP), step=st.integers(1, 3 * CAP))
def test_the_cap_messages_fire_once_each_and_a_jump_sends_only_the_highest(
        spent: int, step: int) -> None:
    fired: set[str] = set()
    seen = []
    for amount in (spent, spent + step, spent + 2 * step):
        crossing = roaming_cap_crossing(amount, amount >= CAP, CAP, fired=fired)
        if crossing is not None:
            seen.append(crossing.rule.value)
    assert seen == sorted(set(seen))                          # never twice, never backwards
    if spent + 2 * step >= CAP:
        assert "roaming_cap_pct:100" in fired
    if spent >= CAP:
        assert seen == [100]


@given(metered=st.integers(0, 40 * MB))
def test_the_cap_is_reached_when_the_rest_buys_not_one_more_kb(metered: int) -> None:
    where = cap_position(ROAMING_RATE, metered)
    assert isinstance(where, CapPosition)
    assert where.reached(CAP) == (where.spent_micros + PER_KB > CAP)
