"""The portal's line page, login page and words, in Chromium at 1280 and 390 px (issue #16).

Lines of an account of their own (provisioned here through the operator API, so the demo
account's fleet and the other browser tests see nothing of them): an unlimited-internet
line, a pay-per-use line with a limit, one without, and a bundle line, each with a user
speaking English, French or Dutch. Expected words and dates are written out here as
people read them, not taken from the portal's own formatter.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest
from tests.e2e.conftest import ACTION_TIMEOUT_MS

from conso.domain.units import Service
from conso.notify.templates import quantity
from conso.web.i18n import translator

try:
    from playwright.sync_api import Browser, Page, expect
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # pragma: no cover - the browser fixture explains what to install
    if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
        raise
    pytest.skip("the Python playwright package is missing", allow_module_level=True)

BRUSSELS = ZoneInfo("Europe/Brussels")
WIDTHS = (1280, 390)
LANGUAGES = ("en", "fr", "nl")
PASSWORD = "line-page-password-1"
HEAVY_USER_BYTES = 3000 * 10**9          # internet-unlimited's heavy_user_gb (catalog.toml)
# How each language writes a month (the day before: "1er" is French for the first).
MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
           "nov.", "déc."),
    "nl": ("jan.", "feb.", "mrt.", "apr.", "mei", "jun.", "jul.", "aug.", "sep.", "okt.",
           "nov.", "dec."),
}
AT = {"en": ", ", "fr": " à ", "nl": " om "}
NO_SIDEWAYS_SCROLL_JS = "() => document.documentElement.scrollWidth <= window.innerWidth"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def written_day(day: date, language: str, *, year: bool = True) -> str:
    number = "1er" if language == "fr" and day.day == 1 else str(day.day)
    text = f"{number} {MONTHS[language][day.month - 1]}"
    return f"{text} {day.year}" if year else text


def written_moment(at: datetime, language: str) -> str:
    local = at.astimezone(BRUSSELS)
    return f"{written_day(local.date(), language)}{AT[language]}{local:%H:%M}"


# -- an account of our own ------------------------------------------------------------


@dataclass(frozen=True)
class Someone:
    login: str
    language: str
    line: str | None
    plan: str | None


@dataclass(frozen=True)
class Fleet:
    account: str
    admin: Someone
    internet: Someone      # internet-unlimited, English
    payg_fr: Someone       # pay-per-use, French; its limit is set by the tests
    payg_nl: Someone       # pay-per-use, Dutch; no limit
    bundle_fr: Someone     # king, French
    bundle_nl: Someone     # king, Dutch

    @property
    def users(self) -> list[Someone]:
        return [self.internet, self.payg_fr, self.payg_nl, self.bundle_fr, self.bundle_nl]


@pytest.fixture(scope="module")
def fleet(op_api: httpx.Client) -> Fleet:
    tag = uuid.uuid4().hex[:6]
    numbers = iter(range(int(tag, 16) % 9_000_000 + 1_000_000, 10_000_000))

    def someone(name: str, language: str, plan: str | None) -> Someone:
        line = None if plan is None else f"+32472{next(numbers)}"
        return Someone(f"{name}-{tag}", language, line, plan)

    found = Fleet(f"line-page-{tag}", someone("lineadmin", "en", None),
                  someone("ines", "en", "internet-unlimited"), someone("paul", "fr", "payg"),
                  someone("pieter", "nl", "payg"), someone("bea", "fr", "king"),
                  someone("bram", "nl", "king"))
    answer = op_api.put(f"/api/v1/accounts/{found.account}",
                        json={"name": "Line page tests", "kind": "business"})
    assert answer.status_code == 201, answer.text
    for person, role in [(found.admin, "admin")] + [(u, "user") for u in found.users]:
        answer = op_api.put(f"/api/v1/accounts/{found.account}/users/{person.login}", json={
            "password": PASSWORD, "role": role, "language": person.language,
            "email": f"{person.login}@example.com"})
        assert answer.status_code == 201, answer.text
        if person.line:
            answer = op_api.put(f"/api/v1/lines/{quote(person.line, safe='')}", json={
                "account_id": found.account, "plan": person.plan, "user": person.login})
            assert answer.status_code == 201, answer.text
    return found


def line_path(line: str | None) -> str:
    assert line is not None
    return f"/portal/lines/{quote(line, safe='')}"


def api_path(line: str | None, what: str) -> str:
    assert line is not None
    return f"/api/v1/lines/{quote(line, safe='')}/{what}"


def api_get(op_api: httpx.Client, line: str | None, what: str) -> Any:
    answer = op_api.get(api_path(line, what))
    assert answer.status_code == 200, answer.text
    return answer.json()


def feed(op_api: httpx.Client, line: str | None, service: str, amount: int) -> None:
    answer = op_api.post("/api/v1/usage", json=[
        {"id": f"line-page-{uuid.uuid4().hex}", "line": line, "service": service,
         "quantity": amount, "at": datetime.now(UTC).isoformat()}])
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1, answer.text


@pytest.fixture
def at_width(browser: Browser, base_url: str) -> Iterator[Any]:
    """`at_width(390)`: a fresh page (its own profile) of that width."""
    yield from pages_of_width(browser, base_url)


def pages_of_width(browser: Browser, base_url: str) -> Iterator[Any]:
    """What `at_width` yields, closing the profiles it opened afterwards."""
    contexts: list[Any] = []

    def make(width: int, **options: Any) -> Page:
        context = browser.new_context(base_url=base_url,
                                      viewport={"width": width, "height": 900}, **options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(ACTION_TIMEOUT_MS * 2)
        contexts.append(context)
        page: Page = context.new_page()
        return page

    yield make
    for context in contexts:
        context.close()


def log_in(page: Page, login: str, password: str = PASSWORD) -> None:
    page.goto("/portal/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("form[action='/portal/login'] button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/portal/login$"))


def choose_language(page: Page, language: str) -> None:
    """The language cookie the header's selector sets, for every page of the portal."""
    origin = re.match(r"https?://[^/]+", page.url)
    assert origin is not None, page.url
    page.context.add_cookies([{"name": "conso_lang", "value": language,
                               "url": f"{origin.group(0)}/"}])


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate(NO_SIDEWAYS_SCROLL_JS), page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]")


def shot(page: Page, screenshots: Path, test: str, where: str, *, width: int,
         language: str) -> None:
    path = str(screenshots / f"{test}-{where}-{width}-{language}.png")
    try:
        page.screenshot(path=path, full_page=True)
    except PlaywrightError:
        # Chromium now and then fails to capture a page taller than its window when the
        # machine is busy; the picture is a record, not the test's assertion: once more.
        page.screenshot(path=path, full_page=True)


# -- 1. the heavy-user reminder of an unlimited-internet line --------------------------


def reset_internet_alerts(op_api: httpx.Client, line: str | None, email: str) -> None:
    answer = op_api.put(api_path(line, "alerts"), json={
        "rules": [{"kind": "heavy_user", "value": 90}],
        "channels": {"sms": False, "second_number": None, "email": email}})
    assert answer.status_code == 200, answer.text


def rules_of(op_api: httpx.Client, line: str | None) -> set[tuple[str, int]]:
    return {(r["kind"], r["value"]) for r in api_get(op_api, line, "alerts")["rules"]}


@pytest.mark.parametrize("width", WIDTHS)
def test_an_unlimited_internet_line_shows_its_heavy_user_reminder(
        at_width: Any, op_api: httpx.Client, fleet: Fleet, screenshots: Path,
        width: int) -> None:
    line = fleet.internet.line
    reset_internet_alerts(op_api, line, f"{fleet.internet.login}@example.com")
    page = at_width(width)
    log_in(page, fleet.internet.login)
    expect(page).to_have_url(re.compile(re.escape(line_path(line)) + "$"))
    alerts = page.locator("#alerts")
    threshold = quantity(Service.DATA, HEAVY_USER_BYTES, "en")     # the house's "3,000 GB"
    expect(alerts.locator(".heavy-reminder")).to_have_text(
        f"Reminder near the heavy-user threshold of {threshold} a cycle: 90 % reached.")
    boxes = alerts.locator("fieldset", has_text="heavy-user threshold")
    expect(boxes.locator("legend")).to_have_text(f"% of the heavy-user threshold ({threshold})")
    # Only the values the API takes for heavy_user: 75, 90, 100; the reminder's is ticked.
    expect(boxes.locator("input[name=pct]")).to_have_count(3)
    for value, ticked in ((75, False), (90, True), (100, False)):
        box = boxes.get_by_label(f"{value} %")
        expect(box).to_be_checked(checked=ticked)
    expect(alerts.locator("input[name=eur], input[name=sms], #second_number")).to_have_count(0)
    gauge = page.locator("#live .gauge[data-service='data']")
    expect(gauge.get_by_role("progressbar",
                             name=f"% of the heavy-user threshold ({threshold})")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, screenshots, "heavy-user", "line-internet", width=width, language="en")


def test_saving_only_the_email_keeps_the_heavy_user_reminder(
        page: Page, op_api: httpx.Client, fleet: Fleet) -> None:
    line = fleet.internet.line
    reset_internet_alerts(op_api, line, f"{fleet.internet.login}@example.com")
    log_in(page, fleet.internet.login)
    alerts = page.locator("#alerts")
    alerts.get_by_label("E-mail").fill("ines.new@example.com")
    alerts.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"\?saved=alerts#alerts$"))
    expect(alerts.get_by_role("status")).to_have_text("Saved.")
    saved = api_get(op_api, line, "alerts")
    assert {(r["kind"], r["value"]) for r in saved["rules"]} == {("heavy_user", 90)}
    assert saved["channels"]["email"] == "ines.new@example.com"
    expect(alerts.locator(".heavy-reminder")).to_contain_text("90 % reached")


def test_the_heavy_user_boxes_save_heavy_user_rules_and_a_forged_value_is_refused(
        page: Page, op_api: httpx.Client, fleet: Fleet) -> None:
    line = fleet.internet.line
    reset_internet_alerts(op_api, line, f"{fleet.internet.login}@example.com")
    log_in(page, fleet.internet.login)
    alerts = page.locator("#alerts")
    alerts.get_by_label("75 %").check()
    alerts.get_by_label("100 %").check()
    alerts.get_by_role("button", name="Save").click()
    expect(alerts.get_by_role("status")).to_have_text("Saved.")
    assert rules_of(op_api, line) == {("heavy_user", 75), ("heavy_user", 90),
                                      ("heavy_user", 100)}
    expect(alerts.locator(".heavy-reminder")).to_contain_text("75 %, 90 %, 100 % reached")
    # A value the API refuses for heavy_user, posted by hand: the error inline, nothing saved.
    csrf = page.locator("#alerts input[name=csrf]").get_attribute("value")
    assert csrf
    answer = page.request.post(f"{line_path(line)}/alerts", max_redirects=0,
                               form={"csrf": csrf, "pct": "80", "email": "x@example.com"})
    assert answer.status == 422
    assert "That notification is not available for this line." in answer.text()
    assert rules_of(op_api, line) == {("heavy_user", 75), ("heavy_user", 90),
                                      ("heavy_user", 100)}


# -- 2. phones: nothing scrolls sideways; the chart fits and says its values -----------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("who", ["internet", "payg_fr", "bundle_nl", "admin-payg"])
def test_no_line_page_scrolls_sideways(at_width: Any, op_api: httpx.Client, fleet: Fleet,
                                       screenshots: Path, *, who: str, width: int,
                                       language: str) -> None:
    page = at_width(width)
    person = fleet.admin if who == "admin-payg" else getattr(fleet, who)
    line = (fleet.payg_fr if who == "admin-payg" else person).line
    feed(op_api, line, "data", 2_500_000)      # a bar and a message list to lay out
    log_in(page, person.login)
    choose_language(page, language)
    page.goto(line_path(line))
    expect(page.locator("html")).to_have_attribute("lang", language)
    no_sideways_scroll(page)
    shot(page, screenshots, "no-sideways-scroll", f"line-{who}", width=width, language=language)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_the_login_and_error_pages_do_not_scroll_sideways(
        at_width: Any, fleet: Fleet, screenshots: Path, width: int, language: str) -> None:
    page = at_width(width, locale={"en": "en-GB", "fr": "fr-BE", "nl": "nl-BE"}[language])
    page.goto("/portal/login")
    expect(page.locator("html")).to_have_attribute("lang", language)
    no_sideways_scroll(page)
    shot(page, screenshots, "no-sideways-scroll", "login", width=width, language=language)
    log_in(page, fleet.admin.login)
    page.goto("/portal/lines/%2B32000000000")
    expect(page.locator(".error")).to_be_visible()
    no_sideways_scroll(page)
    shot(page, screenshots, "no-sideways-scroll", "error", width=width, language=language)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_daily_chart_fits_and_lists_every_days_value(
        at_width: Any, op_api: httpx.Client, fleet: Fleet, screenshots: Path,
        width: int) -> None:
    person = fleet.bundle_nl
    usage = api_get(op_api, person.line, "usage")
    start = datetime.fromisoformat(usage["cycle"]["start"]).astimezone(BRUSSELS).date()
    end = datetime.fromisoformat(usage["cycle"]["end"]).astimezone(BRUSSELS).date()
    days = (end - start).days
    page = at_width(width)
    log_in(page, person.login)
    chart = page.get_by_role("img", name="Data per dag in deze cyclus")
    expect(chart).to_be_visible()
    bars = chart.locator("rect.day")
    expect(bars).to_have_count(days)
    last = bars.last.bounding_box()
    assert last is not None
    assert last["x"] + last["width"] <= page.evaluate("window.innerWidth"), last
    expect(page.locator(".chart .last-day")).to_have_text(written_day(end - timedelta(days=1),
                                                                      "nl", year=False))
    page.locator(".chart .last-day").scroll_into_view_if_needed()
    expect(page.locator(".chart .last-day")).to_be_in_viewport()
    # The values without hovering: a table of every day, today's with what was used.
    used_before = usage["services"]["data"]["used"]
    feed(op_api, person.line, "data", 1_500_000_000)
    page.reload()
    page.get_by_text("Waarden per dag").click()
    table = page.get_by_role("table", name="Data per dag in deze cyclus")
    expect(table.locator("tbody tr")).to_have_count(days)
    today = datetime.now(BRUSSELS).date()
    row = table.locator("tbody tr", has=page.get_by_role(
        "rowheader", name=written_day(today, "nl", year=False), exact=True))
    expect(row).to_have_count(1)
    expect(row.locator("td")).to_have_text(re.compile(r"^\d+(,\d)? (GB|MB)$"))
    assert used_before + 1_500_000_000 <= api_get(op_api, person.line,
                                                   "usage")["services"]["data"]["used"]
    no_sideways_scroll(page)
    shot(page, screenshots, "daily-chart", "line-bundle", width=width, language="nl")


# -- 3. pay-per-use: the cycle's spend, a reached limit in words, the overshoot --------


@pytest.mark.parametrize(("who", "language", "words"), [
    ("payg_nl", "en", "Spend this cycle"), ("payg_fr", "fr", "Dépenses du cycle"),
    ("payg_nl", "nl", "Verbruik deze cyclus")])
def test_pay_per_use_spend_is_the_cycles_spend(page: Page, fleet: Fleet, who: str,
                                               language: str, words: str) -> None:
    person = getattr(fleet, who)
    log_in(page, person.login)
    choose_language(page, language)
    page.goto(line_path(person.line))
    spend = page.locator("#live .gauge[data-service='spend']")
    expect(spend.get_by_role("heading")).to_have_text(words)
    expect(page.locator("#live")).not_to_contain_text(
        re.compile("Extra spend|Hors forfait|Extra verbruik"))


@pytest.mark.parametrize("width", WIDTHS)
def test_a_reached_limit_says_paid_services_are_blocked_where_roaming_is_refused_and_the_overshoot(
        at_width: Any, op_api: httpx.Client, fleet: Fleet, screenshots: Path,
        width: int) -> None:
    person = fleet.payg_fr
    answer = op_api.put(api_path(person.line, "spending-limit"), json={"amount_eur": 5})
    assert answer.status_code == 200, answer.text
    # Offline data costing more than the limit: counted (it is owed), past the limit.
    feed(op_api, person.line, "data", 200_000_000)
    usage = api_get(op_api, person.line, "usage")
    limit = usage["spending_limit"]
    assert limit["reached"] is True and limit["overshoot_cents"] > 0, limit
    next_cycle = datetime.fromisoformat(usage["cycle"]["end"]).astimezone(BRUSSELS).date()
    page = at_width(width)
    log_in(page, person.login)
    live = page.locator("#live")
    expect(live.locator(".limit-reached")).to_have_text(
        "Limite atteinte : les services payants sont bloqués jusqu'au début du prochain "
        f"cycle, le {written_day(next_cycle, 'fr')}. Les messages « rappelle-moi » gratuits "
        "et les appels reçus en Belgique restent possibles.")
    cents = limit["overshoot_cents"]
    expect(live.locator(".overshoot")).to_contain_text(
        f"Dépassement de {cents // 100},{cents % 100:02d} €")
    expect(live).to_contain_text("Limite de dépenses : 5 €")
    countries = page.locator("#refused-countries")
    for name in ("États-Unis", "Canada", "Turquie", "Maroc", "Japon", "Russie"):
        expect(countries).to_contain_text(name)
    no_sideways_scroll(page)
    shot(page, screenshots, "limit-reached", "line-payg", width=width, language="fr")


def test_the_networks_overshoot_is_shown_with_the_spend(page: Page, op_api: httpx.Client,
                                                         fleet: Fleet) -> None:
    person = fleet.payg_nl
    session = f"line-page-{uuid.uuid4().hex}"
    started = op_api.post("/api/v1/sessions", json={
        "session_id": session, "line": person.line, "service": "data",
        "requested": 1_000_000})
    assert started.status_code == 200, started.text
    granted = started.json()["granted"]
    ended = op_api.post(f"/api/v1/sessions/{session}/terminate",
                        json={"used": granted + 100_000_000})
    assert ended.status_code == 200, ended.text
    cents = api_get(op_api, person.line, "usage")["network_overshoot_cents"]
    assert cents > 0
    log_in(page, person.login)
    expect(page.locator("#live .network-overshoot")).to_have_text(
        f"Daarvan verbruikte het netwerk € {cents // 100},{cents % 100:02d} boven wat het "
        "toegekend kreeg.")


# -- 4. words and times ----------------------------------------------------------------


def test_message_times_are_brussels_time_in_each_language(at_width: Any, op_api: httpx.Client,
                                                          fleet: Fleet,
                                                          screenshots: Path) -> None:
    person = fleet.bundle_fr
    feed(op_api, person.line, "sms", 460)           # past 90 % of King's 500 SMS
    page = at_width(390)
    log_in(page, person.login)
    expect(page.locator("ul.messages li").first).to_be_visible(timeout=10_000)
    page.reload()
    sent = api_get(op_api, person.line, "messages")
    assert sent, "the 90 % notification"
    created = datetime.fromisoformat(sent[0]["created_at"])
    usage = api_get(op_api, person.line, "usage")
    last_day = (datetime.fromisoformat(usage["cycle"]["end"]).astimezone(BRUSSELS).date()
                - timedelta(days=1))
    for language, times, cycle in (("fr", "Heures de Bruxelles.", "Cycle jusqu'au"),
                                   ("nl", "Tijden in Brusselse tijd.", "Cyclus tot"),
                                   ("en", "Times in Brussels time.", "Cycle until")):
        choose_language(page, language)
        page.goto(line_path(person.line))
        messages = page.locator("ul.messages")
        expect(messages.locator("li").first).to_contain_text(written_moment(created, language))
        expect(page.locator("#live")).to_contain_text(times)
        expect(page.locator(".sub")).to_contain_text(f"{cycle} {written_day(last_day, language)}")
        main = page.locator("main").inner_text()
        for message in sent:        # their texts are the notifications', not the page's
            main = main.replace(message["text"], "")
        assert not ISO_DATE.search(main), ISO_DATE.findall(main)
        assert not re.search(r"\d\d/\d\d", main), main   # no day/month of another format
        shot(page, screenshots, "times", "line-bundle", width=390, language=language)


STATUSES = ("queued", "sent", "delivered", "undeliverable", "expired", "deleted", "failed")


@pytest.mark.parametrize(("language", "sent_word"), [("fr", "envoyé"), ("nl", "verzonden"),
                                                     ("en", "sent")])
def test_every_message_status_is_in_the_pages_language(page: Page, op_api: httpx.Client,
                                                       fleet: Fleet, language: str,
                                                       sent_word: str) -> None:
    words = translator(language)
    english = translator("en")
    for status in STATUSES:
        assert words.get(f"status_{status}"), status
        if language != "en":
            assert words[f"status_{status}"] != english[f"status_{status}"], status
    person = fleet.bundle_nl
    feed(op_api, person.line, "sms", 460)
    log_in(page, person.login)
    choose_language(page, language)
    page.goto(line_path(person.line))
    status = page.locator("ul.messages .status").first
    expect(status).to_be_visible(timeout=10_000)
    page.reload()
    shown = status.get_attribute("class") or ""
    state = re.search(r"status-(\w+)", shown)
    assert state is not None
    expect(status).to_have_text(words[f"status_{state.group(1)}"])
    if state.group(1) == "sent":
        expect(status).to_have_text(sent_word)


def test_french_quantities_agree_and_money_is_written_the_french_way(
        page: Page, op_api: httpx.Client, fleet: Fleet) -> None:
    person = fleet.bundle_fr
    feed(op_api, person.line, "voice", 284 * 60)
    feed(op_api, person.line, "data", 2_500_000_000)
    log_in(page, person.login)
    voice = page.locator("#live .gauge[data-service='voice']")
    expect(voice).to_contain_text(re.compile(r"\d+ min utilisées sur 300 min · \d+ min restantes"))
    expect(page.locator("#live .gauge[data-service='data']")).to_contain_text(
        re.compile(r"\d+,\d Go utilisés sur 10 Go"))
    expect(page.locator("#live .gauge[data-service='spend'] .big")).to_have_text(
        re.compile(r"^\d+,\d\d €$"))
    euros = page.locator("#alerts input[name=eur]")
    expect(page.locator("#alerts").get_by_label("5 €", exact=True)).to_have_count(1)
    assert euros.count() == 8
    expect(page.locator("#alerts")).not_to_contain_text("€5")


@pytest.mark.parametrize(("language", "five"), [("en", "€5"), ("fr", "5 €"), ("nl", "€ 5")])
def test_whole_euros_are_written_like_the_pages_other_amounts(page: Page, fleet: Fleet,
                                                              language: str, five: str) -> None:
    log_in(page, fleet.admin.login)
    choose_language(page, language)
    page.goto(line_path(fleet.payg_nl.line))
    expect(page.locator("#alerts").get_by_label(five, exact=True)).to_have_count(1)
    expect(page.locator("#amount_eur option[value='5']")).to_have_text(five)


@pytest.mark.parametrize(("accept", "language", "heading"), [
    ("fr-BE,fr;q=0.9,en;q=0.5", "fr", "Se connecter"),
    ("de-DE,nl;q=0.8,en;q=0.5", "nl", "Aanmelden"),
    ("de-DE", "en", "Log in")])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_login_page_follows_the_browsers_languages(at_width: Any, screenshots: Path, *,
                                                       accept: str, language: str,
                                                       heading: str, width: int) -> None:
    page = at_width(width, extra_http_headers={"Accept-Language": accept})
    page.goto("/portal/login")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    no_sideways_scroll(page)
    shot(page, screenshots, "login-accept-language", "login", width=width, language=language)


def test_a_chosen_language_wins_over_the_browsers(at_width: Any) -> None:
    page = at_width(1280, extra_http_headers={"Accept-Language": "fr-BE,fr"})
    page.goto("/portal/login")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_label("Langue").select_option(label="Nederlands")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.goto("/portal/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Aanmelden")
