"""A credit-control report of more than was granted: charged (it happened), logged with
the session and the excess, counted in the metrics, and kept with the line's cycle as
the overshoot the network caused. The charging core on the in-memory store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from conso.bootstrap import Services
from conso.charging.ports import SessionEnd, SessionStart, SessionUpdate, Units
from conso.domain.rating import NetworkOvershoot
from conso.domain.units import Direction, Service
from unit.charging_support import end, memory_services, start, update

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PAYG = "+32470000091"
BUNDLE = "+32470000092"
SMS_PRICE = 80_000          # payg: EUR 0.08 an SMS
DATA_PER_MB = 50_000        # payg: EUR 0.05 a MB, billed per started kB
VOICE_PER_MINUTE = 150_000  # payg: EUR 0.15 a minute, billed per second


@pytest.fixture
def services() -> Iterator[Services]:
    svc = memory_services(lambda: NOW, validity=timedelta(minutes=10))
    engine = svc.engine
    engine.put_account("acct", name="Overshoot", kind="residential")
    engine.put_line(PAYG, account_id="acct", plan_id="payg", user_login=None, cycle_day=1)
    engine.put_line(BUNDLE, account_id="acct", plan_id="king", user_login=None, cycle_day=1)
    yield svc
    svc.close()


def set_limit(services: Services, euros: int) -> None:
    line = services.engine.line(PAYG)
    assert line is not None
    services.control.set_spending_limit(line, euros, "test")


def cycle(services: Services, line_id: str = PAYG) -> tuple[int, NetworkOvershoot]:
    line = services.engine.line(line_id)
    assert line is not None
    usage = services.engine.cycle_usage(line, NOW)
    return usage.spend_micros, usage.overshoot


def metric(services: Services, name: str, service: str) -> float:
    value = services.metrics.registry.get_sample_value(f"{name}_total", {"service": service})
    return 0.0 if value is None else value


def test_a_report_of_more_than_granted_is_charged_in_full_and_kept_as_overshoot(
    services: Services, caplog: pytest.LogCaptureFixture,
) -> None:
    set_limit(services, 5)                                  # 62 SMS would be EUR 4.96
    assert start(services, "s1", PAYG, Service.SMS, 100).granted == 62
    with caplog.at_level(logging.WARNING, logger="conso.control"):
        charged = end(services, "s1", 70)                   # 8 more than granted
    assert charged == 70 * SMS_PRICE                        # all of it: it happened
    spend, over = cycle(services)
    assert spend == 70 * SMS_PRICE                          # past the EUR 5 limit
    assert over == NetworkOvershoot((("sms", 8),), 8 * SMS_PRICE)
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1
    text = warning[0].getMessage()
    for part in ("s1", PAYG, "sms", "granted 62", "used 70", "excess 8"):
        assert part in text, (part, text)
    assert metric(services, "conso_session_overshoots", "sms") == 1
    assert metric(services, "conso_session_overshoot_units", "sms") == 8
    assert metric(services, "conso_session_overshoot_micros", "sms") == 8 * SMS_PRICE
    rendered = services.metrics.render().decode()
    assert 'conso_session_overshoot_units_total{service="sms"} 8.0' in rendered


def test_a_report_within_its_grant_is_no_overshoot(services: Services) -> None:
    assert start(services, "s1", PAYG, Service.SMS, 10).granted == 10
    assert update(services, "s1", 10, 10).granted == 10     # all of the grant, no more
    end(services, "s1", 3)
    assert cycle(services) == (13 * SMS_PRICE, NetworkOvershoot())
    assert metric(services, "conso_session_overshoots", "sms") == 0


def test_each_report_is_held_to_the_grant_it_answers(services: Services) -> None:
    """Unused units of an earlier grant were given back: they do not cover a later one."""
    assert start(services, "s1", PAYG, Service.VOICE, 60).granted == 60
    update(services, "s1", 10, 60)                          # 50 seconds unused, released
    end(services, "s1", 90)                                 # 30 past the grant of 60
    spend, over = cycle(services)
    assert spend == 100 * VOICE_PER_MINUTE // 60
    assert over == NetworkOvershoot((("voice", 30),), 30 * VOICE_PER_MINUTE // 60)


def test_what_the_excess_costs_is_the_price_of_its_last_units(services: Services) -> None:
    """Bundle first: on a bundle line the units past the grant are the ones past the
    allowance too, so a report partly in the bundle owes its excess at the full rate."""
    king = services.catalog.plans["king"]
    allowance = king.included[Service.DATA]
    assert start(services, "b1", BUNDLE, Service.DATA, allowance).granted == allowance
    update(services, "b1", allowance - 1_000_000, 1_000_000)  # 1 MB left in the bundle
    end(services, "b1", 3_000_000)                          # 2 MB past the 1 MB grant
    spend, over = cycle(services, BUNDLE)
    assert spend == over.micros > 0                         # all of the spend is the excess
    assert over.of("data") == 2_000_000


def test_usage_on_a_rating_group_never_granted_is_all_overshoot(services: Services) -> None:
    charging = services.charging
    charging.start(SessionStart("m1", PAYG, (Units("10", Service.DATA, requested=0),)))
    charging.update(SessionUpdate("m1", (Units("10", used=1000, requested=0),
                                         Units("20", Service.SMS, used=2, requested=0))))
    charging.end(SessionEnd("m1", ()))
    _, over = cycle(services)
    assert over.of("data") == 1000 and over.of("sms") == 2
    assert over.micros == 2 * SMS_PRICE + DATA_PER_MB // 1000   # one started kB, 2 SMS


def test_a_retransmitted_report_counts_its_overshoot_once(services: Services) -> None:
    charging = services.charging
    charging.start(SessionStart("r1", PAYG, (Units("", Service.SMS, requested=5),),
                                request_number=0))
    again = SessionUpdate("r1", (Units("", used=9, requested=0),), 1)
    first = charging.update(again)
    assert charging.update(again) == first
    _, over = cycle(services)
    assert over == NetworkOvershoot((("sms", 4),), 4 * SMS_PRICE)
    assert metric(services, "conso_session_overshoots", "sms") == 1


def test_the_overshoot_is_in_the_usage_summary(services: Services) -> None:
    start(services, "s1", PAYG, Service.SMS, 1, direction=Direction.OUT)
    end(services, "s1", 3)
    line = services.engine.line(PAYG)
    assert line is not None
    summary = services.engine.usage_summary(line)
    assert summary.network_overshoot == NetworkOvershoot((("sms", 2),), 2 * SMS_PRICE)
