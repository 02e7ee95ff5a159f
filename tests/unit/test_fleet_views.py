"""The fleet table's states and totals, and the audit trail's words (pure view code)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conso.store.base import AuditEntry
from conso.web.i18n import translator
from conso.web.views import FleetRow, audit_rows, fleet_totals


def row(line: str, *percents: int | None, payg: bool = False, spend: int = 0,
        barred: tuple[str, ...] = (), at_limit: bool = False) -> FleetRow:
    voice, sms, data = (*percents, None, None, None)[:3]
    return FleetRow(line, "", "", {"voice": voice, "sms": sms, "data": data}, "", spend,
                    payg=payg, barred=barred, at_limit=at_limit)


@pytest.mark.parametrize(("percents", "near", "over"), [
    ((89, 10, 0), False, False),
    ((90, 10, 0), True, False),
    ((10, 99, 0), True, False),
    ((10, 99, 100), False, True),     # one allowance used up: over, not near
    ((None, None, None), False, False),
    ((None, None, 140), False, True),
])
def test_a_line_is_near_from_90_percent_and_over_once_an_allowance_is_used_up(
        percents: tuple[int | None, ...], near: bool, over: bool) -> None:
    line = row("a", *percents)
    assert (line.near, line.over) == (near, over)
    assert (line.matches("near"), line.matches("over")) == (near, over)
    assert line.matches("") and line.matches("no such filter")


def test_the_totals_count_each_state_and_keep_pay_per_use_spend_apart() -> None:
    rows = [row("a", 95, spend=1_000_000), row("b", 120, spend=2_500_000, barred=("data",)),
            row("c", payg=True, spend=7_000_000, at_limit=True),
            row("d", payg=True, spend=10_000, barred=("premium", "data"))]
    totals = fleet_totals(rows, "fr")
    assert (totals.lines, totals.near, totals.over, totals.barred, totals.at_limit) == (
        4, 1, 1, 2, 1)
    assert (totals.extra, totals.payg_spend) == ("3,50 €", "7,01 €")
    assert fleet_totals(rows[:2], "en").payg_spend is None      # no pay-per-use line


def test_the_audit_trail_says_what_changed_in_the_pages_language() -> None:
    at = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)              # 1 Dec, 00:30 in Brussels
    entries = [
        AuditEntry(at, "admin", "+32470000001", "barring",
                   {"data": False, "premium": True}, {"data": True, "premium": False}),
        AuditEntry(at, "admin", "+32470000003", "spending_limit", None, 10),
        AuditEntry(at, "admin", "+32470000003", "something_new", {"a": 1}, {"a": 2}),
    ]
    fr = audit_rows(entries, translator("fr"), "fr")
    assert fr[0].at.startswith("1er déc. 2026") and fr[0].at.endswith("00:30")
    assert fr[0].changes == ["Données mobiles : autorisé → bloqué",
                             "Contenus payants : bloqué → autorisé"]
    assert fr[1].changes == ["Limite de dépenses : Pas de limite → 10,00 €"]
    en = audit_rows(entries, translator("en"), "en")
    assert en[1].changes == ["Spending limit: No limit → €10.00"]
    assert en[2].changes == ["something_new a: 1 → 2"]          # as recorded
