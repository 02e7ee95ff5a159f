"""Message texts (rules.md, "Notifications" and "Check (consult)"): every kind of
notification in English, French and Dutch, with the figures and the cycle end."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from conso.catalog_file import load_catalog
from conso.domain.alerts import AlertRule, Crossing, RuleKind
from conso.domain.catalog import Plan
from conso.domain.consult import UsageSummary, summarize
from conso.domain.cycle import Cycle
from conso.domain.rating import CycleUsage
from conso.domain.units import MICROS_PER_EURO, Service
from conso.notify import templates
from conso.notify.templates import consult_reply, help_text, money, notification, quantity

CATALOG = load_catalog(None)
KING = CATALOG.plans["king"]
PAYG = CATALOG.plans["payg"]
INTERNET_150 = CATALOG.plans["internet-150"]
INTERNET_UNLIMITED = CATALOG.plans["internet-unlimited"]
NOVEMBER = Cycle(date(2026, 11, 1))          # ends 2026-12-01 00:00 Brussels
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LINE = "+32470000001"
GB = 10**9
EUR = MICROS_PER_EURO
LANGS = ("en", "fr", "nl")
END = {"en": "30 Nov 2026", "fr": "30/11/2026", "nl": "30/11/2026"}  # the last day
RENEW = {"en": "1 Dec 2026", "fr": "01/12/2026", "nl": "01/12/2026"}


def summary_of(plan: Plan = KING, spend: int = 0, line: str = LINE,
               **meters: int) -> UsageSummary:
    return summarize(line, plan, CycleUsage(NOVEMBER, dict(meters), spend, len(meters)), NOW)


def crossing(kind: RuleKind, value: int, service: Service | None = None) -> Crossing:
    return Crossing(AlertRule(kind, value), service)


# King, 16200 s of voice (270 of 300 min), 450 of 500 SMS, 9.1 of 10 GB, EUR 12.34 extra.
KING_SUMMARY = summary_of(KING, 12_340_000, voice=16_200, sms=450, data=9_100_000_000)

# (crossing, {lang: fragments the text must contain})
PCT_CASES = [
    (crossing(RuleKind.INCLUDED_PCT, 90, Service.VOICE), {
        "en": ["90%", "calls bundle", "270 min of 300 min, 30 min left"],
        "fr": ["90 %", "appels inclus", "270 min sur 300 min, il reste 30 min"],
        "nl": ["90%", "belminuten", "270 min van 300 min, nog 30 min over"]}),
    (crossing(RuleKind.INCLUDED_PCT, 90, Service.SMS), {
        "en": ["90%", "SMS bundle", "450 SMS of 500 SMS, 50 SMS left"],
        "fr": ["90 %", "SMS inclus", "450 SMS sur 500 SMS, il reste 50 SMS"],
        "nl": ["90%", "sms'en", "450 sms van 500 sms, nog 50 sms over"]}),
    (crossing(RuleKind.INCLUDED_PCT, 75, Service.DATA), {
        "en": ["75%", "mobile data bundle", "9.1 GB of 10 GB, 0.9 GB left"],
        "fr": ["75 %", "données mobiles incluses", "9,1 Go sur 10 Go, il reste 0,9 Go"],
        "nl": ["75%", "mobiele data", "9,1 GB van 10 GB, nog 0,9 GB over"]}),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("due", "fragments"), PCT_CASES,
                         ids=["voice-90", "sms-90", "data-75"])
def test_percentage_shows_used_included_remaining_and_cycle_end(
    lang: str, due: Crossing, fragments: dict[str, list[str]],
) -> None:
    rendered = notification(due, KING_SUMMARY, lang)
    for fragment in fragments[lang]:
        assert fragment in rendered.text, (fragment, rendered.text)
    assert END[lang] in rendered.text
    assert rendered.text.startswith("conso")
    assert rendered.subject and "\n" not in rendered.subject


@pytest.mark.parametrize("lang", LANGS)
def test_used_up_shows_the_allowance_and_cycle_end(lang: str) -> None:
    summary = summary_of(KING, voice=18_000, sms=500, data=10 * GB)
    words = {"en": "used up", "fr": "épuisé", "nl": " op."}
    data = {"en": "10 GB", "fr": "10 Go", "nl": "10 GB"}
    for service, included in ((Service.VOICE, "300 min"), (Service.SMS, "500"),
                              (Service.DATA, data[lang])):
        text = notification(crossing(RuleKind.INCLUDED_PCT, 100, service), summary, lang).text
        assert included in text
        assert words[lang] in text
        assert RENEW[lang] in text                  # charged until the bundle renews
        assert text != notification(crossing(RuleKind.INCLUDED_PCT, 90, service),
                                    summary, lang).text


@pytest.mark.parametrize(("lang", "amount", "alert"), [
    ("en", "€12.34", "€10.00"), ("fr", "12,34 €", "10,00 €"), ("nl", "€ 12,34", "€ 10,00")])
def test_extra_spend_shows_the_amount_and_cycle_end(lang: str, amount: str, alert: str) -> None:
    rendered = notification(crossing(RuleKind.EXTRA_EUR, 10), KING_SUMMARY, lang)
    assert amount in rendered.text
    assert alert in rendered.text
    assert END[lang] in rendered.text
    assert alert in rendered.subject                # the threshold that was reached


@pytest.mark.parametrize(("lang", "limit", "spent"), [
    ("en", "€20.00", "€12.34"), ("fr", "20,00 €", "12,34 €"), ("nl", "€ 20,00", "€ 12,34")])
def test_spending_limit_shows_the_limit_the_spend_and_cycle_end(
    lang: str, limit: str, spent: str,
) -> None:
    summary = summary_of(PAYG, 12_340_000, sms=10)
    for value in (50, 90):
        text = notification(crossing(RuleKind.LIMIT_PCT, value), summary, lang,
                            limit_micros=20 * EUR).text
        assert f"{value}" in text
        assert limit in text
        assert spent in text
        assert END[lang] in text
    reached = notification(crossing(RuleKind.LIMIT_PCT, 100), summary, lang,
                           limit_micros=20 * EUR).text
    assert limit in reached
    assert END[lang] in reached


@pytest.mark.parametrize(("lang", "fragments"), [
    ("en", ["90%", "140 GB of 150 GB, 10 GB left"]),
    ("fr", ["90 %", "140 Go sur 150 Go, il reste 10 Go"]),
    ("nl", ["90%", "140 GB van 150 GB, nog 10 GB over"]),
])
def test_internet_volume_reminders(lang: str, fragments: list[str]) -> None:
    summary = summary_of(INTERNET_150, data=140 * GB)
    text = notification(crossing(RuleKind.VOLUME_PCT, 90), summary, lang).text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    assert END[lang] in text
    used_up = notification(crossing(RuleKind.VOLUME_PCT, 100),
                           summary_of(INTERNET_150, data=150 * GB), lang).text
    assert ("150 Go" if lang == "fr" else "150 GB") in used_up
    assert RENEW[lang] in used_up                 # renewed on the next cycle's first day


@pytest.mark.parametrize("lang", LANGS)
def test_heavy_user_reminder_shows_usage_and_threshold(lang: str) -> None:
    summary = summary_of(INTERNET_UNLIMITED, data=2_700 * GB)
    text = notification(crossing(RuleKind.HEAVY_USER, 90), summary, lang).text
    used, threshold = {"en": ("2,700 GB", "3,000 GB"), "fr": ("2700 Go", "3000 Go"),
                       "nl": ("2700 GB", "3000 GB")}[lang]
    assert used in text
    assert threshold in text
    assert END[lang] in text


ALL_KINDS = [
    crossing(RuleKind.INCLUDED_PCT, 90, Service.DATA),
    crossing(RuleKind.INCLUDED_PCT, 100, Service.VOICE),
    crossing(RuleKind.EXTRA_EUR, 50),
    crossing(RuleKind.LIMIT_PCT, 50),
    crossing(RuleKind.LIMIT_PCT, 100),
    crossing(RuleKind.VOLUME_PCT, 90),
    crossing(RuleKind.VOLUME_PCT, 100),
    crossing(RuleKind.HEAVY_USER, 90),
]


def plan_for(due: Crossing) -> Plan:
    if due.rule.kind is RuleKind.VOLUME_PCT:
        return INTERNET_150
    if due.rule.kind is RuleKind.HEAVY_USER:
        return INTERNET_UNLIMITED
    return PAYG if due.rule.kind is RuleKind.LIMIT_PCT else KING


@pytest.mark.parametrize("due", ALL_KINDS, ids=lambda c: f"{c.rule.kind.value}-{c.rule.value}")
def test_every_kind_differs_per_language_and_unknown_falls_back_to_english(due: Crossing) -> None:
    summary = summary_of(plan_for(due), 60 * EUR, data=140 * GB)
    texts = {lang: notification(due, summary, lang, limit_micros=50 * EUR) for lang in LANGS}
    assert len({r.text for r in texts.values()}) == 3
    assert len({r.subject for r in texts.values()}) == 3
    for unknown in ("de", "", None, "EN", "fr-BE"):
        assert notification(due, summary, unknown, limit_micros=50 * EUR) == texts["en"]
    for rendered in texts.values():
        assert len(rendered.text) <= 320, "an SMS stays short (two segments at most)"


def test_french_and_dutch_texts_are_not_english() -> None:
    en = notification(ALL_KINDS[0], KING_SUMMARY, "en").text
    fr = notification(ALL_KINDS[0], KING_SUMMARY, "fr").text
    nl = notification(ALL_KINDS[0], KING_SUMMARY, "nl").text
    assert "you" in en and "vous" in fr and " u " in nl


# -- money and quantities -------------------------------------------------------------


@pytest.mark.parametrize(("micros", "en", "fr", "nl"), [
    (12_340_000, "€12.34", "12,34 €", "€ 12,34"),
    (0, "€0.00", "0,00 €", "€ 0,00"),
    (50 * EUR, "€50.00", "50,00 €", "€ 50,00"),
    (5_000, "€0.01", "0,01 €", "€ 0,01"),              # half a cent rounds up
    (4_999, "€0.00", "0,00 €", "€ 0,00"),
    (1_234_567_890, "€1,234.57", "1234,57 €", "€ 1234,57"),
    (12_345_670_000, "€12,345.67", "12 345,67 €", "€ 12.345,67"),
])
def test_money_formatting(micros: int, en: str, fr: str, nl: str) -> None:
    assert money(micros, "en") == en
    assert money(micros, "fr") == fr
    assert money(micros, "nl") == nl
    assert money(micros, "xx") == en


def test_quantities() -> None:
    assert quantity(Service.VOICE, 18_000, "en") == "300 min"
    assert quantity(Service.SMS, 12, "fr") == "12 SMS"
    assert quantity(Service.SMS, 12, "nl") == "12 sms"
    assert quantity(Service.DATA, 10 * GB, "en") == "10 GB"
    assert quantity(Service.DATA, 9_100_000_000, "en") == "9.1 GB"
    assert quantity(Service.DATA, 9_100_000_000, "fr") == "9,1 Go"
    assert quantity(Service.DATA, 900_000_000, "nl") == "900 MB"
    assert quantity(Service.DATA, 900_000_000, "fr") == "900 Mo"
    assert quantity(Service.DATA, 300_000, "en") == "300 kB"
    assert quantity(Service.DATA, 0, "en") == "0 MB"
    # In a sentence whose largest figure is GB, a smaller one keeps the unit.
    assert quantity(Service.DATA, 978_000_000, "en", unit_of=10 * GB) == "1.0 GB"
    assert quantity(Service.DATA, 9 * GB, "en", unit_of=10 * GB) == "9.0 GB"


# -- CONSULT and help -----------------------------------------------------------------


@pytest.mark.parametrize(("lang", "fragments"), [
    ("en", ["+32470000001", "30 Nov 2026", "30 min of calls", "50 SMS", "900 MB of data",
            "Extra spend: €12.34"]),
    ("fr", ["+32470000001", "30/11/2026", "30 min d'appels", "50 SMS", "900 Mo de données",
            "Hors forfait : 12,34 €"]),
    ("nl", ["+32470000001", "30/11/2026", "30 min bellen", "50 sms", "900 MB data",
            "Buiten bundel: € 12,34"]),
])
def test_consult_reply_for_king(lang: str, fragments: list[str]) -> None:
    reply = consult_reply(KING_SUMMARY, lang)
    for fragment in fragments:
        assert fragment in reply, (fragment, reply)
    assert len(reply) <= 160, "one SMS"


@pytest.mark.parametrize(("lang", "amount"), [("en", "€0.15"), ("fr", "0,15 €"),
                                              ("nl", "€ 0,15")])
def test_consult_reply_for_payg_shows_what_was_used_and_spent(lang: str, amount: str) -> None:
    summary = summary_of(PAYG, 150_000, voice=120, sms=3, data=4 * 10**6)
    reply = consult_reply(summary, lang)
    assert "2 min" in reply
    assert "3 SMS" in reply or "3 sms" in reply
    assert ("4 Mo" if lang == "fr" else "4 MB") in reply
    assert amount in reply
    assert END[lang] in reply
    # No bundle: nothing "left", no "extra" spend; what was used and spent.
    for wrong in ("left", "Extra", "reste", "Hors forfait", "nog over", "Buiten bundel"):
        assert wrong not in reply, reply
    spent = {"en": "Spent: ", "fr": "Dépensé : ", "nl": "Uitgegeven: "}[lang]
    assert spent + amount in reply


@pytest.mark.parametrize(("lang", "garbled"), [("en", "used data"),
                                               ("fr", "utilisés de données"),
                                               ("nl", "gebruikt data")],
                         ids=LANGS)
def test_payg_consult_reply_data_part_reads_naturally(lang: str, garbled: str) -> None:
    reply = consult_reply(summary_of(PAYG, 150_000, data=4 * 10**6), lang)
    assert garbled not in reply, reply


@pytest.mark.parametrize(("lang", "word"), [("en", "unlimited"), ("fr", "illimitées"),
                                            ("nl", "onbeperkte")])
def test_consult_reply_for_internet_unlimited(lang: str, word: str) -> None:
    reply = consult_reply(summary_of(INTERNET_UNLIMITED, line="home-1", data=500 * GB), lang)
    assert word in reply
    assert "home-1" in reply
    assert END[lang] in reply


def test_consult_reply_for_internet_volume_shows_the_volume_left() -> None:
    reply = consult_reply(summary_of(INTERNET_150, line="home-2", data=140 * GB), "en")
    assert "10 GB of data" in reply


def test_consult_reply_unknown_language_is_english() -> None:
    assert consult_reply(KING_SUMMARY, "de") == consult_reply(KING_SUMMARY, "en")
    assert consult_reply(KING_SUMMARY, None) == consult_reply(KING_SUMMARY, "en")


def test_help_text_per_language() -> None:
    texts = {lang: help_text(lang) for lang in LANGS}
    assert len(set(texts.values())) == 3
    for text in texts.values():
        assert "CONSULT" in text and "1921" in text
        assert len(text) <= 160
    assert "text" in texts["en"]
    assert "envoyez" in texts["fr"]
    assert "stuur" in texts["nl"]
    assert help_text("es") == help_text(None) == texts["en"]


def test_the_three_languages_are_offered() -> None:
    assert templates.LANGUAGES == ("en", "fr", "nl")


def test_french_data_used_up_agrees_in_gender() -> None:
    text = notification(crossing(RuleKind.INCLUDED_PCT, 100, Service.DATA),
                        summary_of(KING, data=10 * GB), "fr").text
    assert "épuisées" in text, text


def test_used_and_remaining_minutes_add_up_to_the_allowance() -> None:
    # 249.5 minutes used of 300: "250 min" used and "50 min" left, not 249 and 50.
    summary = summary_of(KING, voice=249 * 60 + 30)
    text = notification(crossing(RuleKind.INCLUDED_PCT, 75, Service.VOICE), summary, "en").text
    assert "250 min of 300 min, 50 min left" in text, text
