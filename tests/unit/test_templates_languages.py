"""Texts as a native speaker reads them (issue 16): typography per language, figures
that share a unit and add up, pay-per-use lines told what they used and spent, the
roaming data cap's messages, and the SMS that tells a user what an admin changed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conso.catalog_file import load_catalog
from conso.domain.alerts import AlertRule, Crossing, RuleKind
from conso.domain.catalog import Plan
from conso.domain.consult import UsageSummary, summarize
from conso.domain.control import BARRING_FUNCTIONS
from conso.domain.cycle import Cycle
from conso.domain.rating import CycleUsage
from conso.domain.units import MICROS_PER_EURO, Service
from conso.notify import templates
from conso.notify.templates import (
    barring_text,
    consult_reply,
    continue_reply,
    figures,
    limit_dropped_text,
    limit_text,
    notification,
    roaming_cap_text,
    roaming_continue_reply,
)

CATALOG = load_catalog(None)
KING = CATALOG.plans["king"]
PAYG = CATALOG.plans["payg"]
NOVEMBER = Cycle(date(2026, 11, 1))
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LINE = "+32470000001"
GB = 10**9
MB = 10**6
EUR = MICROS_PER_EURO
LANGS = ("en", "fr", "nl")
UNITS = {"en": ("kB", "MB", "GB"), "fr": ("ko", "Mo", "Go"), "nl": ("kB", "MB", "GB")}
# A figure: a number (digits, thousands groups, at most one decimal) and its unit.
FIGURE = re.compile(r"^(\d{1,3}(?:[ .,]\d{3})*|\d+)(?:[.,](\d))? (\S+)$")


def summary_of(plan: Plan = KING, spend: int = 0, **meters: int) -> UsageSummary:
    return summarize(LINE, plan, CycleUsage(NOVEMBER, dict(meters), spend, len(meters)), NOW)


def tenths(figure: str, lang: str) -> tuple[int, str]:
    """"9,0 Go" -> (90, "Go"): the number in tenths and the unit."""
    found = FIGURE.match(figure)
    assert found, figure
    whole = int(re.sub(r"[ .,]", "", found.group(1)))
    return whole * 10 + int(found.group(2) or 0), found.group(3)


# -- figures of one sentence: one unit, adding up ------------------------------------

@given(included_tenths=st.integers(1, 2000), share=st.floats(0, 1),
       lang=st.sampled_from(LANGS))
def test_data_used_and_remaining_share_the_unit_and_add_up(
    included_tenths: int, share: float, lang: str,
) -> None:
    included = included_tenths * GB // 10          # an allowance of 0.1 GB to 200 GB
    used = int(included * share)
    shown = figures(Service.DATA, used, included, lang)
    (u, u_unit), (i, i_unit), (r, r_unit) = (
        tenths(f, lang) for f in (shown.used, shown.included, shown.remaining))
    assert u_unit == i_unit == r_unit
    assert u_unit in UNITS[lang]
    if u_unit in ("GB", "Go"):
        assert u + r == i, shown
    else:   # whole MB: a sub-GB allowance, counted in whole units
        assert (u + r) // 10 == i // 10, shown


@given(included_min=st.integers(1, 6000), used=st.integers(0, 360_000),
       lang=st.sampled_from(LANGS))
def test_minutes_used_round_up_and_add_up(included_min: int, used: int, lang: str) -> None:
    included = included_min * 60
    used = min(used, included)
    shown = figures(Service.VOICE, used, included, lang)
    u, _ = tenths(shown.used, lang)
    i, _ = tenths(shown.included, lang)
    r, _ = tenths(shown.remaining, lang)
    assert u + r == i
    assert u * 6 >= used                             # a started minute counts


def test_the_issue_example_reads_in_one_unit() -> None:
    # Issue 16: "9 GB of 10 GB, 978 MB left".
    text = notification(Crossing(AlertRule(RuleKind.INCLUDED_PCT, 90), Service.DATA),
                        summary_of(data=9_022_000_000), "en").text
    assert "9.0 GB of 10 GB, 1.0 GB left" in text, text
    assert "MB" not in text


@given(voice=st.integers(0, 40_000), sms=st.integers(0, 1_000),
       data=st.integers(0, 30 * GB), spend=st.integers(0, 500 * EUR),
       lang=st.sampled_from(LANGS),
       kind=st.sampled_from([(RuleKind.INCLUDED_PCT, 75), (RuleKind.INCLUDED_PCT, 90),
                             (RuleKind.INCLUDED_PCT, 100), (RuleKind.EXTRA_EUR, 50)]),
       service=st.sampled_from([Service.VOICE, Service.SMS, Service.DATA]))
def test_no_text_leaves_a_field_or_a_raw_float(
    *, voice: int, sms: int, data: int, spend: int, lang: str,
    kind: tuple[RuleKind, int], service: Service,
) -> None:
    summary = summary_of(KING, spend, voice=voice, sms=sms, data=data)
    due = Crossing(AlertRule(*kind), service if kind[0] is RuleKind.INCLUDED_PCT else None)
    rendered = notification(due, summary, lang)
    for text in (rendered.text, rendered.subject, consult_reply(summary, lang)):
        assert "{" not in text and "}" not in text, text
        assert not re.search(r"\d+\.\d{2,} ?[GMk]B", text), text       # 9.02 GB
        assert "e+" not in text and "nan" not in text.lower()
    assert len(rendered.text) <= 320, "two SMS parts at most"


# -- typography per language --------------------------------------------------------

def all_texts(lang: str) -> list[str]:
    king = summary_of(KING, 12_340_000, voice=16_200, sms=450, data=9_100_000_000)
    payg = summary_of(PAYG, 7_500_000, voice=600, sms=3, data=40 * MB)
    texts = [notification(Crossing(AlertRule(kind, value), service), summary, lang,
                          limit_micros=20 * EUR).text
             for kind, value, service, summary in [
                 (RuleKind.INCLUDED_PCT, 90, Service.DATA, king),
                 (RuleKind.INCLUDED_PCT, 100, Service.VOICE, king),
                 (RuleKind.EXTRA_EUR, 10, None, king),
                 (RuleKind.EXTRA_EUR, 5, None, payg),
                 (RuleKind.LIMIT_PCT, 50, None, payg),
                 (RuleKind.LIMIT_PCT, 100, None, payg)]]
    texts += [consult_reply(king, lang), consult_reply(payg, lang),
              consult_reply(payg, lang, limit_micros=10 * EUR),
              roaming_cap_text(80, 50 * EUR, 40 * EUR, "2026-11-30", lang).text,
              roaming_cap_text(100, 50 * EUR, 50 * EUR, "2026-11-30", lang).text,
              continue_reply("2026-11-30", lang), continue_reply(None, lang),
              barring_text(["data"], ["premium"], lang), limit_text(None, 10 * EUR, lang),
              limit_text(10 * EUR, 20 * EUR, lang), limit_text(20 * EUR, None, lang),
              limit_dropped_text(10 * EUR, "King", lang), templates.help_text(lang)]
    return texts


def test_french_puts_a_space_before_colon_and_percent_and_the_euro_after() -> None:
    for text in all_texts("fr"):
        assert not re.search(r"\S[:;%]", text.replace("d'", "")), text
        assert not re.search(r"€\s?\d", text), text             # never "€5" nor "€ 5"
        assert not re.search(r"\d,\d\d(?! €)", text), text      # "12,34 €"
        assert not re.search(r"\d [GMk]B\b", text), text        # Go, Mo, ko


def test_dutch_writes_the_euro_sign_first_with_a_space_and_a_decimal_comma() -> None:
    for text in all_texts("nl"):
        assert not re.search(r"€\d", text), text
        assert not re.search(r"\d\.\d\d\b", text), text
        assert not re.search(r"\d %", text), text


def test_english_writes_the_euro_sign_first_without_a_space() -> None:
    for text in all_texts("en"):
        assert not re.search(r"€ ", text), text
        assert not re.search(r"\d,\d\d\b", text), text
        assert not re.search(r"\d %", text), text


@pytest.mark.parametrize("lang", LANGS)
def test_every_text_is_filled_in_and_fits_two_sms_parts(lang: str) -> None:
    for text in all_texts(lang):
        assert "{" not in text and "}" not in text, text
        assert text.startswith("conso"), text
        assert len(text) <= 320, (len(text), text)


def test_french_minutes_and_data_agree() -> None:
    # Issue 16: "284 min utilisé", "reste ... utilisés" on a pay-per-use line.
    payg = consult_reply(summary_of(PAYG, 150_000, voice=17_040, data=4 * MB), "fr")
    assert "utilisé" not in payg and "reste" not in payg, payg
    assert "284 min d'appels" in payg and "4 Mo de données" in payg
    used_up = notification(Crossing(AlertRule(RuleKind.INCLUDED_PCT, 100), Service.DATA),
                           summary_of(data=10 * GB), "fr").text
    assert "données mobiles incluses (10 Go) sont épuisées" in used_up


@pytest.mark.parametrize(("lang", "fragment"), [
    ("en", "Spent: €7.50 of your €10.00 limit."),
    ("fr", "Dépensé : 7,50 € sur votre limite de 10,00 €."),
    ("nl", "Uitgegeven: € 7,50 van uw limiet van € 10,00."),
])
def test_payg_consult_names_the_limit_when_set(lang: str, fragment: str) -> None:
    reply = consult_reply(summary_of(PAYG, 7_500_000, sms=3), lang, limit_micros=10 * EUR)
    assert fragment in reply, reply


@pytest.mark.parametrize(("lang", "extra", "spend"), [
    ("en", "beyond your bundle", "your spend this cycle"),
    ("fr", "hors forfait", "vos dépenses ont atteint"),
    ("nl", "buiten de bundel", "uw kosten bedragen"),
])
def test_a_payg_spend_alert_speaks_of_spend_not_of_extra(lang: str, extra: str,
                                                         spend: str) -> None:
    due = Crossing(AlertRule(RuleKind.EXTRA_EUR, 5), None)
    payg = notification(due, summary_of(PAYG, 5_200_000, sms=3), lang)
    king = notification(due, summary_of(KING, 5_200_000, sms=3), lang)
    assert extra not in payg.text and extra not in payg.subject, payg
    assert spend in payg.text
    assert extra in king.text


# -- the roaming data cap -----------------------------------------------------------

@pytest.mark.parametrize(("lang", "cap", "spent", "end"), [
    ("en", "€50.00", "€40.12", "30 Nov 2026"),
    ("fr", "50,00 €", "40,12 €", "30/11/2026"),
    ("nl", "€ 50,00", "€ 40,12", "30/11/2026"),
])
def test_roaming_cap_80_says_what_it_cost_and_the_cap(lang: str, cap: str, spent: str,
                                                      end: str) -> None:
    rendered = roaming_cap_text(80, 50 * EUR, 40_120_000, "2026-11-30", lang)
    for fragment in (cap, spent, end, templates.percent(80, lang)):
        assert fragment in rendered.text, (fragment, rendered.text)
    assert "CONTINUE" not in rendered.text
    assert cap in rendered.subject


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["stopped", "text CONTINUE to 1921", "portal", "EU/EEA"]),
    ("fr", ["bloquées", "envoyez CONTINUE au 1921", "portail", "UE/EEE"]),
    ("nl", ["gestopt", "Stuur CONTINUE naar 1921", "portaal", "EU/EER"]),
])
def test_roaming_cap_100_says_data_roaming_stopped_and_how_to_go_on(
    lang: str, words: list[str],
) -> None:
    text = roaming_cap_text(100, 50 * EUR, 50 * EUR, date(2026, 11, 30), lang).text
    for word in words:
        assert word in text, (word, text)
    assert len(text) <= 320


def test_the_roaming_cap_crossing_renders_through_notification() -> None:
    due = Crossing(AlertRule(RuleKind.ROAMING_CAP_PCT, 80), None)
    rendered = notification(due, summary_of(KING), "nl", limit_micros=50 * EUR,
                            roaming_spent_micros=41 * EUR)
    assert rendered == roaming_cap_text(80, 50 * EUR, 41 * EUR, "2026-11-30", "nl")


@pytest.mark.parametrize(("lang", "resumed", "nothing"), [
    ("en", "resumed until the end of the cycle on 30 Nov 2026", "nothing to continue"),
    ("fr", "rétablies jusqu'à la fin du cycle le 30/11/2026", "rien à reprendre"),
    ("nl", "hervat tot het einde van de periode op 30/11/2026", "niets te hervatten"),
])
def test_continue_replies(lang: str, resumed: str, nothing: str) -> None:
    summary = summary_of(KING)
    assert resumed in roaming_continue_reply(summary, lang, capped=True)
    assert nothing in roaming_continue_reply(summary, lang, capped=False)


# -- what an admin changed ----------------------------------------------------------

@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "conso: your administrator has blocked mobile data and outgoing calls abroad "
           "and unblocked premium services on your line."),
    ("fr", "conso : votre administrateur a bloqué les données mobiles et les appels "
           "sortants à l'étranger et débloqué les services premium sur votre ligne."),
    ("nl", "conso: uw beheerder heeft mobiele data en uitgaande gesprekken in het "
           "buitenland geblokkeerd en premiumdiensten weer vrijgegeven op uw lijn."),
])
def test_barring_text_names_what_was_barred_and_lifted(lang: str, expected: str) -> None:
    assert barring_text(["data", "voice_out_roaming"], ["premium"], lang) == expected


@pytest.mark.parametrize("lang", LANGS)
def test_every_function_has_a_name_and_lists_read_naturally(lang: str) -> None:
    text = barring_text(list(BARRING_FUNCTIONS), [], lang, by_operator=True)
    assert text.count(",") == len(BARRING_FUNCTIONS) - 2, text
    assert {"en": " and ", "fr": " et ", "nl": " en "}[lang] in text
    assert {"en": "operator", "fr": "opérateur", "nl": "operator"}[lang] in text
    assert "_" not in text


@pytest.mark.parametrize(("lang", "set_", "changed", "removed"), [
    ("en", "set a spending limit of €10.00", "from €10.00 to €20.00", "removed the spending "
     "limit of €20.00"),
    ("fr", "fixé une limite de dépenses de 10,00 €", "20,00 € par cycle au lieu de 10,00 €",
     "supprimé la limite de dépenses de 20,00 €"),
    ("nl", "uitgavenlimiet van € 10,00 per periode ingesteld", "van € 10,00 naar € 20,00",
     "uitgavenlimiet van € 20,00 van uw lijn verwijderd"),
])
def test_limit_texts(lang: str, set_: str, changed: str, removed: str) -> None:
    assert set_ in limit_text(None, 10 * EUR, lang)
    assert changed in limit_text(10 * EUR, 20 * EUR, lang)
    assert removed in limit_text(20 * EUR, None, lang)


@pytest.mark.parametrize(("lang", "fragment"), [
    ("en", "moved to the King plan, so your spending limit of €10.00 no longer applies"),
    ("fr", "passée au forfait King ; votre limite de dépenses de 10,00 € ne s'applique"),
    ("nl", "overgestapt naar het abonnement King; uw uitgavenlimiet van € 10,00 geldt"),
])
def test_a_dropped_limit_names_the_plan_and_the_old_limit(lang: str, fragment: str) -> None:
    assert fragment in limit_dropped_text(10 * EUR, "King", lang)
