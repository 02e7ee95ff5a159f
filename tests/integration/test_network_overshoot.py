"""A credit-control report of more than was granted, on a real `conso serve`: charged (it
happened), counted in `/metrics`, and shown in the usage answer as the overshoot the
network caused (`network_overshoot_cents`, `network_overshoot_micros`, and each
service's `network_overshoot` in its unit). Through the operator's HTTP sessions on
every store, and through Diameter Gy (diameter.md)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .control_support import Network, new_account, new_session_id, ok, set_limit
from .diameter_support import (
    DATA,
    PAYG_RATES,
    SUCCESS,
    Ask,
    DiameterConso,
    PgwPool,
    diameter_server,
    euros_to_micros,
    quiet_python_diameter,
)
from .helpers import Api

SMS_MICROS = euros_to_micros(PAYG_RATES["sms_per_sms"])
DATA_MB_MICROS = euros_to_micros(PAYG_RATES["data_per_mb"])
MB = 10**6


def counter(text: str, name: str, service: str) -> float:
    """A counter's value by service in the Prometheus text (0 before it is first seen)."""
    prefix = f'{name}_total{{service="{service}"}} '
    for row in text.splitlines():
        if row.startswith(prefix):
            return float(row.removeprefix(prefix))
    return 0.0


def test_a_session_report_over_its_grant_is_charged_counted_and_shown(
    api: Api, op: httpx.Client, anon: httpx.Client,
) -> None:
    network = Network(op)
    acct = new_account(api)
    set_limit(op, acct.line, 5)
    before = anon.get("/metrics").text
    session = new_session_id()
    assert network.start(session, acct.line, "sms", 100)["granted"] == 62   # EUR 4.96
    # The network let 70 through: 8 more than granted. All of it is charged.
    assert ok(network.update(session, 70, 10))["granted"] == 0     # the limit is passed
    assert ok(network.terminate(session, 0))["charged_cents"] == 70 * SMS_MICROS // 10_000
    usage = api.usage(acct.line)
    assert usage["services"]["sms"]["used"] == 70
    assert usage["services"]["sms"]["network_overshoot"] == 8
    assert usage["services"]["data"]["network_overshoot"] == 0
    assert usage["extra_micros"] == 70 * SMS_MICROS
    assert usage["network_overshoot_micros"] == 8 * SMS_MICROS
    assert usage["network_overshoot_cents"] == 8 * SMS_MICROS // 10_000
    limit = usage["spending_limit"]
    assert limit["reached"] is True
    assert limit["overshoot_cents"] == (70 * SMS_MICROS - 5_000_000) // 10_000
    after = anon.get("/metrics").text
    for name, grew in (("conso_session_overshoots", 1), ("conso_session_overshoot_units", 8),
                       ("conso_session_overshoot_micros", 8 * SMS_MICROS)):
        assert counter(after, name, "sms") == counter(before, name, "sms") + grew, name


def test_a_line_whose_sessions_kept_to_their_grants_shows_no_overshoot(
    api: Api, op: httpx.Client,
) -> None:
    network = Network(op)
    acct = new_account(api)
    session = new_session_id()
    assert network.start(session, acct.line, "data", MB)["granted"] == MB
    ok(network.update(session, MB, MB))
    ok(network.terminate(session, MB // 2))
    usage = api.usage(acct.line)
    assert usage["services"]["data"]["used"] == MB + MB // 2
    assert (usage["network_overshoot_cents"], usage["network_overshoot_micros"]) == (0, 0)
    assert all(s["network_overshoot"] == 0 for s in usage["services"].values())


# -- through Diameter --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def diameter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DiameterConso]:
    quiet_python_diameter()
    with diameter_server(tmp_path_factory.mktemp("conso-overshoot"), peers=None,
                         validity_seconds=600) as started:
        yield started


def test_a_diameter_report_over_its_grant_is_charged_counted_and_shown(
    diameter: DiameterConso,
) -> None:
    pool = PgwPool()
    try:
        pgw = pool.start("pgw-overshoot.test", diameter.diameter_port)
        line = diameter.line("payg", limit_eur=5)
        metrics = diameter.server.client()
        before = metrics.get("/metrics").text
        sid = pgw.new_session_id()
        first = pgw.initial(sid, [Ask(DATA, requested=10 * MB)], line=line)
        assert (first.result, first.only.units) == (SUCCESS, 10 * MB)
        # The PGW reports 13 MB against the 10 MB granted: 3 MB the network caused.
        last = pgw.terminate(sid, 1, [Ask(DATA, used=13 * MB)], line=line)
        assert last.result == SUCCESS
        usage = diameter.usage(line)
        assert usage["services"]["data"]["used"] == 13 * MB
        assert usage["services"]["data"]["network_overshoot"] == 3 * MB
        assert usage["extra_micros"] == 13 * DATA_MB_MICROS
        assert usage["network_overshoot_micros"] == 3 * DATA_MB_MICROS
        after = metrics.get("/metrics").text
        assert counter(after, "conso_session_overshoot_units", "data") == counter(
            before, "conso_session_overshoot_units", "data") + 3 * MB
        assert "reported more than granted" in diameter.server.stderr()
        metrics.close()
    finally:
        pool.stop()
