"""Consultation (what is left, the extra spend) and the run-out forecast."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conso.catalog_file import load_catalog
from conso.domain.consult import ServiceSummary, summarize
from conso.domain.cycle import Cycle
from conso.domain.forecast import run_out_date
from conso.domain.rating import CycleUsage
from conso.domain.units import Service

CATALOG = load_catalog(None)
KING = CATALOG.plans["king"]
PAYG = CATALOG.plans["payg"]
INTERNET_150 = CATALOG.plans["internet-150"]
INTERNET_UNLIMITED = CATALOG.plans["internet-unlimited"]
BRUSSELS = ZoneInfo("Europe/Brussels")
NOVEMBER = Cycle(date(2026, 11, 1))                 # 30 days, no DST change
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
GB = 10**9
LINE = "+32470000001"


def usage_of(cycle: Cycle = NOVEMBER, spend: int = 0, **meters: int) -> CycleUsage:
    return CycleUsage(cycle, dict(meters), spend, len(meters))


def test_king_shows_used_included_and_remaining_like_the_api_example() -> None:
    usage = usage_of(voice=3_600, sms=12, data=9_100_000_000)
    summary = summarize(LINE, KING, usage, NOW)
    assert summary.line == LINE
    assert summary.plan is KING
    assert summary.cycle_start.isoformat() == "2026-11-01T00:00:00+01:00"
    assert summary.cycle_end.isoformat() == "2026-12-01T00:00:00+01:00"
    assert summary.services == {
        Service.VOICE: ServiceSummary("second", 3_600, 18_000, 14_400, 0),
        Service.SMS: ServiceSummary("message", 12, 500, 488, 0),
        Service.DATA: ServiceSummary("byte", 9_100_000_000, 10 * GB, 900_000_000, 0),
    }
    assert summary.extra_micros == 0


def test_remaining_is_zero_once_the_allowance_is_exceeded() -> None:
    summary = summarize(LINE, KING, usage_of(spend=203_334, voice=18_061), NOW)
    assert summary.services[Service.VOICE].remaining == 0
    assert summary.extra_micros == 203_334


def test_roaming_outside_the_eu_is_shown_apart_and_leaves_the_bundle_untouched() -> None:
    usage = usage_of(spend=3_900_000, roaming_voice_out=60, roaming_voice_in=30,
                     roaming_sms=1, roaming_data=10**6)
    summary = summarize(LINE, KING, usage, NOW)
    assert summary.services[Service.VOICE] == ServiceSummary("second", 0, 18_000, 18_000, 90)
    assert summary.services[Service.SMS].roaming_used == 1
    assert summary.services[Service.DATA].roaming_used == 10**6
    assert summary.services[Service.DATA].remaining == 10 * GB
    assert summary.extra_micros == 3_900_000


def test_incoming_calls_at_home_do_not_reduce_the_remaining_minutes() -> None:
    summary = summarize(LINE, KING, usage_of(voice_in=600), NOW)
    assert summary.services[Service.VOICE].remaining == 18_000


def test_payg_has_no_included_and_no_remaining() -> None:
    summary = summarize(LINE, PAYG, usage_of(spend=280_000, voice=60, sms=1, data=10**6), NOW)
    assert summary.services == {
        Service.VOICE: ServiceSummary("second", 60, None, None, 0),
        Service.SMS: ServiceSummary("message", 1, None, None, 0),
        Service.DATA: ServiceSummary("byte", 10**6, None, None, 0),
    }
    assert summary.extra_micros == 280_000
    assert summary.forecast == {}


def test_internet_unlimited_shows_data_only_without_included() -> None:
    summary = summarize(LINE, INTERNET_UNLIMITED, usage_of(data=2_000 * GB), NOW)
    assert summary.services == {
        Service.DATA: ServiceSummary("byte", 2_000 * GB, None, None, 0),
    }
    assert summary.forecast == {}


def test_internet_150_shows_its_monthly_volume() -> None:
    summary = summarize(LINE, INTERNET_150, usage_of(data=50 * GB), NOW)
    assert summary.services == {
        Service.DATA: ServiceSummary("byte", 50 * GB, 150 * GB, 100 * GB, 0),
    }


# -- forecast ------------------------------------------------------------------------

def test_half_the_data_used_in_the_first_quarter_runs_out_mid_cycle() -> None:
    # 7.25 of 30 days elapsed, half of 10 GB used: at that pace it runs out
    # after 14.5 days, on 15 November around noon.
    now = NOVEMBER.start + timedelta(days=7, hours=6)
    assert run_out_date(5 * GB, 10 * GB, NOVEMBER, now) == date(2026, 11, 15)
    summary = summarize(LINE, KING, usage_of(data=5 * GB), now)
    assert summary.forecast == {Service.DATA: date(2026, 11, 15)}


def test_the_forecast_is_a_date_inside_the_cycle() -> None:
    now = NOVEMBER.start + timedelta(days=20)
    day = run_out_date(9 * GB, 10 * GB, NOVEMBER, now)
    assert day == date(2026, 11, 23)                   # 20 days * 10/9 = 22.2 days
    assert NOVEMBER.start.date() <= day < NOVEMBER.end.date()


def test_the_forecast_does_not_depend_on_the_time_zone_now_is_given_in() -> None:
    now = NOVEMBER.start + timedelta(days=7, hours=6)
    assert run_out_date(5 * GB, 10 * GB, NOVEMBER, now.astimezone(UTC)) == run_out_date(
        5 * GB, 10 * GB, NOVEMBER, now.astimezone(BRUSSELS))


def test_the_forecast_is_the_same_for_the_same_instant_across_a_dst_change() -> None:
    march = Cycle(date(2026, 3, 1))                    # summer time from 29 March
    now = datetime(2026, 3, 30, 12, 0, tzinfo=BRUSSELS)
    in_utc = run_out_date(1_000, 1_016, march, now.astimezone(UTC))
    in_brussels = run_out_date(1_000, 1_016, march, now)
    assert in_utc == date(2026, 3, 30)
    assert in_brussels == in_utc


def test_no_forecast_when_nothing_is_used() -> None:
    assert run_out_date(0, 10 * GB, NOVEMBER, NOW) is None
    assert summarize(LINE, KING, usage_of(), NOW).forecast == {}


@pytest.mark.parametrize("used", [10 * GB, 10 * GB + 1])
def test_no_forecast_when_already_used_up(used: int) -> None:
    assert run_out_date(used, 10 * GB, NOVEMBER, NOVEMBER.start + timedelta(days=1)) is None
    summary = summarize(LINE, KING, usage_of(data=used), NOVEMBER.start + timedelta(days=1))
    assert Service.DATA not in summary.forecast


def test_no_forecast_when_the_pace_is_too_slow_to_run_out_this_cycle() -> None:
    # Half used after 16 of 30 days: it would run out after 32 days.
    assert run_out_date(5 * GB, 10 * GB, NOVEMBER, NOVEMBER.start + timedelta(days=16)) is None
    summary = summarize(LINE, KING, usage_of(voice=60, sms=1, data=GB), NOW)
    assert summary.forecast == {}


def test_no_forecast_when_now_is_outside_the_cycle() -> None:
    assert run_out_date(5 * GB, 10 * GB, NOVEMBER, NOVEMBER.end) is None
    assert run_out_date(5 * GB, 10 * GB, NOVEMBER, NOVEMBER.start - timedelta(seconds=1)) is None


def test_no_forecast_at_the_very_start_of_the_cycle() -> None:
    assert run_out_date(5 * GB, 10 * GB, NOVEMBER, NOVEMBER.start) is None


def test_each_allowance_gets_its_own_forecast() -> None:
    now = NOVEMBER.start + timedelta(days=10, hours=2)
    usage = usage_of(voice=12_000, sms=10, data=8 * GB)
    summary = summarize(LINE, KING, usage, now)
    # At the pace so far: voice after 15 days 3 h, data after 12 days 14.5 h; sms too slow.
    assert summary.forecast == {Service.VOICE: date(2026, 11, 16),
                                Service.DATA: date(2026, 11, 13)}
