"""The portal's history and account pages in Chromium at 1280 and 390 px (issue #16): the
line page's cycle picker, a cycle's itemised records (paged, by service, as CSV) and a
user changing their password.

Lines of an account of their own, provisioned through the operator API (the demo account
and the other browser tests see nothing of them). What the pages show is compared with
what the API answers for the same line and cycle.
"""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from tests.e2e.test_portal_line import (
    BRUSSELS,
    LANGUAGES,
    PASSWORD,
    WIDTHS,
    api_get,
    api_path,
    choose_language,
    line_path,
    log_in,
    no_sideways_scroll,
    pages_of_width,
    shot,
    written_day,
    written_moment,
)

from conso.domain.units import Service
from conso.notify.templates import money, quantity

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # pragma: no cover - the browser fixture explains what to install
    if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
        raise
    pytest.skip("the Python playwright package is missing", allow_module_level=True)

RECORDS_PER_PAGE = 50                # the records page's page size


@pytest.fixture
def at_width(browser: Browser, base_url: str) -> Iterator[Any]:
    """`at_width(390)`: a fresh page (its own profile) of that width."""
    yield from pages_of_width(browser, base_url)


@dataclass(frozen=True)
class Person:
    login: str
    language: str
    line: str


@dataclass(frozen=True)
class Account:
    id: str
    bundle: Person        # king, English: the cycle picker
    payg: Person          # pay-per-use, French: charged records
    keys: Person          # king, Dutch: changes their password


@pytest.fixture(scope="module")
def account(op_api: httpx.Client) -> Account:
    tag = uuid.uuid4().hex[:6]
    base = int(tag, 16) % 9_000_000 + 1_000_000
    found = Account(f"history-{tag}", Person(f"hanna-{tag}", "en", f"+32473{base}"),
                    Person(f"hugo-{tag}", "fr", f"+32473{base + 1}"),
                    Person(f"henk-{tag}", "nl", f"+32473{base + 2}"))
    answer = op_api.put(f"/api/v1/accounts/{found.id}",
                        json={"name": "History tests", "kind": "business"})
    assert answer.status_code == 201, answer.text
    for person, plan in ((found.bundle, "king"), (found.payg, "payg"), (found.keys, "king")):
        answer = op_api.put(f"/api/v1/accounts/{found.id}/users/{person.login}", json={
            "password": PASSWORD, "role": "user", "language": person.language})
        assert answer.status_code == 201, answer.text
        answer = op_api.put(f"/api/v1/lines/{quote(person.line, safe='')}", json={
            "account_id": found.id, "plan": plan, "user": person.login})
        assert answer.status_code == 201, answer.text
    return found


def post_usage(op_api: httpx.Client, records: list[dict[str, Any]]) -> None:
    answer = op_api.post("/api/v1/usage", json=records)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(records), answer.text


def record(line: str, service: str, amount: int, at: datetime) -> dict[str, Any]:
    return {"id": f"history-{uuid.uuid4().hex}", "line": line, "service": service,
            "quantity": amount, "at": at.isoformat()}


def cycles_of(op_api: httpx.Client, line: str) -> list[dict[str, Any]]:
    answer = op_api.get(api_path(line, "cycles"))
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


# -- the cycle picker --------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_cycle_picker_shows_a_past_cycles_usage_and_messages(
        at_width: Any, op_api: httpx.Client, account: Account, screenshots: Path,
        width: int) -> None:
    person = account.bundle
    usage = api_get(op_api, person.line, "usage")
    start = datetime.fromisoformat(usage["cycle"]["start"])
    # 2.5 GB on the day before this cycle (the last one), and 460 SMS now: a 90 % message.
    post_usage(op_api, [record(person.line, "data", 2_500_000_000, start - timedelta(hours=12)),
                        record(person.line, "sms", 460, datetime.now(UTC))])
    past = next(c for c in cycles_of(op_api, person.line) if not c["current"])
    past_usage = api_get(op_api, person.line, f"usage?cycle={past['cycle']}")
    past_used = quantity(Service.DATA, past_usage["services"]["data"]["used"], "en")
    now_used = quantity(Service.DATA, usage["services"]["data"]["used"], "en")
    assert past_used != now_used
    page = at_width(width)
    log_in(page, person.login)
    expect(page.locator("ul.messages li").first).to_be_visible(timeout=10_000)
    picker = page.get_by_label("Cycle", exact=True)
    past_start = datetime.fromisoformat(past["start"]).astimezone(BRUSSELS).date()
    past_end = datetime.fromisoformat(past["end"]).astimezone(BRUSSELS).date()
    label = f"{written_day(past_start, 'en')} to {written_day(past_end - timedelta(days=1), 'en')}"
    picker.select_option(label=label)
    page.get_by_role("button", name="Show").click()   # also what a page without JS does
    expect(page).to_have_url(re.compile(rf"\?cycle={past['cycle']}$"))
    expect(page.locator(".past-cycle")).to_have_text(f"King · A past cycle: {label}.")
    expect(page.locator("#live .gauge[data-service='data'] p strong").first).to_have_text(
        past_used)
    # The 90 % message was sent in this cycle, not in the last one.
    expect(page.locator("#live")).to_contain_text("No message yet this cycle.")
    expect(page.locator("#live")).not_to_have_attribute("data-live", re.compile("."))
    no_sideways_scroll(page)
    shot(page, screenshots, "cycle-picker", "line-past", width=width, language="en")
    page.get_by_label("Cycle", exact=True).select_option(index=0)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#live .gauge[data-service='data'] p strong").first).not_to_have_text(
        past_used)
    expect(page.locator("ul.messages li").first).to_be_visible()


def test_a_cycle_that_is_not_the_lines_is_refused_in_words(page: Page,
                                                           account: Account) -> None:
    log_in(page, account.bundle.login)
    for wrong in ("2026-13-01", "1999-01-01", "2990-01-01", "yesterday"):
        answer = page.goto(f"{line_path(account.bundle.line)}?cycle={wrong}")
        assert answer is not None and answer.status == 422, wrong
        expect(page.get_by_role("alert")).to_have_text("That is not a cycle of this line.")


# -- the records page ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def payg_records(op_api: httpx.Client, account: Account) -> list[dict[str, Any]]:
    """55 records this cycle on the pay-per-use line (30 calls, 20 SMS, 5 data), as the
    API lists them."""
    now = datetime.now(UTC)
    line = account.payg.line
    post_usage(op_api, [record(line, "voice", 60 + n, now - timedelta(seconds=n + 1))
                        for n in range(30)]
               + [record(line, "sms", 1, now - timedelta(seconds=40 + n)) for n in range(20)]
               + [record(line, "data", 1_000_000 * (n + 1), now - timedelta(seconds=70 + n))
                  for n in range(5)])
    answer = op_api.get(api_path(line, "records?limit=1000"))
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["records"]
    assert len(found) == 55
    return found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_the_records_page_pages_a_cycle_with_each_records_charge(
        at_width: Any, account: Account, payg_records: list[dict[str, Any]],
        screenshots: Path, *, width: int, language: str) -> None:
    page = at_width(width)
    log_in(page, account.payg.login)
    choose_language(page, language)
    words = {"en": ("Itemised records of this cycle", "Next page", "First page"),
             "fr": ("Détail des consommations de ce cycle", "Page suivante", "Première page"),
             "nl": ("Gespecificeerd verbruik van deze cyclus", "Volgende pagina",
                    "Eerste pagina")}[language]
    page.goto(line_path(account.payg.line))
    page.get_by_role("link", name=words[0]).click()
    expect(page).to_have_url(re.compile(r"/records$"))
    rows = page.locator("table.records tbody tr")
    expect(rows).to_have_count(RECORDS_PER_PAGE)
    # Oldest first, as the API lists them; each with its time and its charge.
    for shown, expected in ((rows.first, payg_records[0]), (rows.last, payg_records[49])):
        expect(shown).to_have_attribute("data-record", expected["id"])
        expect(shown).to_contain_text(
            written_moment(datetime.fromisoformat(expected["at"]), language))
        expect(shown.locator("td").last).to_have_text(
            money(expected["charge_cents"] * 10_000, language))
    no_sideways_scroll(page)
    shot(page, screenshots, "records", "records-page-1", width=width, language=language)
    page.get_by_role("link", name=words[1]).click()
    expect(rows).to_have_count(len(payg_records) - RECORDS_PER_PAGE)
    expect(rows.first).to_have_attribute("data-record", payg_records[RECORDS_PER_PAGE]["id"])
    expect(page.get_by_role("link", name=words[1])).to_have_count(0)
    page.get_by_role("link", name=words[2]).click()
    expect(rows.first).to_have_attribute("data-record", payg_records[0]["id"])


def test_the_records_page_filters_by_service(page: Page, account: Account,
                                             payg_records: list[dict[str, Any]]) -> None:
    log_in(page, account.payg.login)
    page.goto(f"{line_path(account.payg.line)}/records")
    page.get_by_label("Service").select_option(label="SMS")
    page.get_by_role("button", name="Afficher").click()
    expect(page).to_have_url(re.compile(r"/records\?(cycle=&)?service=sms$"))
    rows = page.locator("table.records tbody tr")
    sms = [r for r in payg_records if r["service"] == "sms"]
    expect(rows).to_have_count(len(sms))
    expect(rows.locator("td:nth-child(2)")).to_have_text(["SMS"] * len(sms))
    page.get_by_label("Service").select_option(label="Données mobiles")
    page.get_by_role("button", name="Afficher").click()
    expect(rows).to_have_count(len([r for r in payg_records if r["service"] == "data"]))


@pytest.mark.parametrize("service", [None, "voice"])
def test_the_csv_download_is_the_apis_csv_of_the_cycle(
        page: Page, op_api: httpx.Client, account: Account,
        payg_records: list[dict[str, Any]], service: str | None) -> None:
    log_in(page, account.payg.login)
    query = "" if service is None else f"?service={service}"
    page.goto(f"{line_path(account.payg.line)}/records{query}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger ce cycle en CSV").click()
    saved = Path(download.value.path())
    assert download.value.suggested_filename.endswith(".csv")
    got = saved.read_bytes().decode("utf-8")        # as sent: CRLF rows (RFC 4180)
    api = op_api.get(api_path(account.payg.line, f"records{query}"),
                     headers={"Accept": "text/csv"})
    assert api.status_code == 200, api.text
    assert got == api.text
    rows = list(csv.reader(io.StringIO(got)))
    expected = [r for r in payg_records if service is None or r["service"] == service]
    assert [row[0] for row in rows[1:]] == [r["id"] for r in expected]


def test_the_records_of_another_line_are_not_found(page: Page, account: Account) -> None:
    log_in(page, account.payg.login)
    for path in ("records", "records.csv"):
        answer = page.request.get(f"{line_path(account.bundle.line)}/{path}")
        assert answer.status == 404, path
        assert "text/csv" not in answer.headers["content-type"]


# -- the account page: a user changes their password ----------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_a_user_changes_their_password_and_their_other_sessions_end(
        at_width: Any, account: Account, screenshots: Path, width: int) -> None:
    person = account.keys
    old, new = PASSWORD, f"new-{uuid.uuid4().hex[:12]}"
    elsewhere = at_width(1280)
    log_in(elsewhere, person.login, old)
    page = at_width(width)
    log_in(page, person.login, old)
    page.get_by_role("link", name="Mijn account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mijn account")
    form = page.locator("form[action='/portal/account/password']")
    # Errors inline, each at its field, nothing changed.
    for current, first, second, error, field in (
            ("wrong-password", new, new, "Het huidige wachtwoord is onjuist.", "current"),
            (old, new, new + "x", "De twee nieuwe wachtwoorden verschillen.", "confirm"),
            (old, "short", "short", "Het nieuwe wachtwoord moet 8 tot 256 tekens lang zijn.",
             "new")):
        form.get_by_label("Huidig wachtwoord").fill(current)
        form.get_by_label("Nieuw wachtwoord", exact=True).fill(first)
        form.get_by_label("Nieuw wachtwoord herhalen").fill(second)
        form.evaluate("f => f.noValidate = true")      # the server's checks, not the browser's
        form.get_by_role("button").click()
        expect(page.get_by_role("alert")).to_have_text(error)
        expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
        no_sideways_scroll(page)
    shot(page, screenshots, "account", "account-error", width=width, language="nl")
    elsewhere.reload()
    expect(elsewhere).not_to_have_url(re.compile(r"/portal/login$"))   # nothing changed yet
    form.get_by_label("Huidig wachtwoord").fill(old)
    form.get_by_label("Nieuw wachtwoord", exact=True).fill(new)
    form.get_by_label("Nieuw wachtwoord herhalen").fill(new)
    form.get_by_role("button").click()
    expect(page.get_by_role("status")).to_have_text(
        "Wachtwoord gewijzigd. Uw andere sessies zijn afgemeld.")
    shot(page, screenshots, "account", "account-changed", width=width, language="nl")
    page.goto(line_path(person.line))                     # this session goes on
    expect(page.get_by_role("heading", level=1)).to_contain_text(person.line)
    elsewhere.goto(line_path(person.line))                # the other one is over
    expect(elsewhere).to_have_url(re.compile(r"/portal/login$"))
    log_in(elsewhere, person.login, new)
    # Put the old password back for the next width (as the user would, the same way).
    page.goto("/portal/account")
    form.get_by_label("Huidig wachtwoord").fill(new)
    form.get_by_label("Nieuw wachtwoord", exact=True).fill(old)
    form.get_by_label("Nieuw wachtwoord herhalen").fill(old)
    form.get_by_role("button").click()
    expect(page.get_by_role("status")).to_be_visible()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_account_page_fits_a_phone(at_width: Any, account: Account, screenshots: Path,
                                       language: str) -> None:
    page = at_width(390)
    log_in(page, account.bundle.login)
    choose_language(page, language)
    page.goto("/portal/account")
    expect(page.locator("html")).to_have_attribute("lang", language)
    for control in page.locator("main input:not([type=hidden])").all():
        expect(control).to_have_attribute("id", re.compile("."))
        assert page.locator(f"label[for='{control.get_attribute('id')}']").count() == 1
    no_sideways_scroll(page)
    shot(page, screenshots, "account", "account", width=390, language=language)


def test_a_password_change_without_the_forms_token_is_refused(page: Page,
                                                              account: Account) -> None:
    log_in(page, account.bundle.login)
    answer = page.request.post("/portal/account/password", max_redirects=0, form={
        "current": PASSWORD, "new": "another-password", "confirm": "another-password"})
    assert answer.status == 403
    page.goto("/portal/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
