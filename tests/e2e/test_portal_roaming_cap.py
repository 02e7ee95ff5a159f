"""The roaming data cap on the portal's line page (rules.md, "Roaming data cap"), in
Chromium at 1280 and 390 px: what data outside the EU cost against the EUR 50 cap, that
it is stopped at the cap, and the user going on past it or switching it off and on, each
checked on the network's side (authorize) as well as on the page."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, expect
from tests.e2e.test_portal_line import (
    PASSWORD,
    choose_language,
    log_in,
    no_sideways_scroll,
    pages_of_width,
    shot,
)

MB = 1_000_000
# What the page says, in each language (written out here, not taken from the portal).
STOPPED = {"en": "Data roaming outside the EU is stopped",
           "fr": "Les données en itinérance hors UE sont bloquées",
           "nl": "Mobiele data buiten de EU is gestopt"}
SPENT = {"en": "€50.00 of €50.00", "fr": "50,00 € sur 50,00 €", "nl": "€ 50,00 van € 50,00"}
CONTINUED = {"en": "You chose to go on past the cap", "fr": "Vous avez choisi de continuer",
             "nl": "U koos ervoor om na het plafond door te gaan"}
OFF = {"en": "The cap is switched off", "fr": "Le plafond est désactivé",
       "nl": "Het plafond staat uit"}


@pytest.fixture
def at_width(browser: Browser, base_url: str) -> Iterator[Any]:
    yield from pages_of_width(browser, base_url)


def roaming_line(op_api: httpx.Client, language: str) -> tuple[str, str]:
    """A king line of a new account whose data outside the EU reached the cap."""
    tag = uuid.uuid4().hex[:8]
    account, login = f"roam-{tag}", f"roamer-{tag}"
    line = f"+32473{int(tag, 16) % 10_000_000:07d}"
    assert op_api.put(f"/api/v1/accounts/{account}",
                      json={"name": "Roaming", "kind": "residential"}).status_code == 201
    assert op_api.put(f"/api/v1/accounts/{account}/users/{login}", json={
        "password": PASSWORD, "role": "user", "language": language}).status_code == 201
    assert op_api.put(f"/api/v1/lines/{quote(line, safe='')}", json={
        "account_id": account, "plan": "king", "user": login}).status_code == 201
    fed = op_api.post("/api/v1/usage", json=[{
        "id": f"roam-{tag}", "line": line, "service": "data", "quantity": 25 * MB,
        "at": datetime.now(UTC).isoformat(), "country": "US"}])
    assert fed.status_code == 200 and fed.json()["accepted"] == 1, fed.text
    return line, login


def data_abroad(op_api: httpx.Client, line: str) -> dict[str, Any]:
    answer = op_api.post("/api/v1/authorize",
                         json={"line": line, "service": "data", "country": "US"})
    assert answer.status_code == 200, answer.text
    decision: dict[str, Any] = answer.json()
    return decision


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("language", ["en", "fr", "nl"])
def test_at_the_cap_the_user_sees_it_stopped_and_goes_on_from_the_page(
        at_width: Any, op_api: httpx.Client, screenshots: Path, width: int,
        language: str) -> None:
    line, login = roaming_line(op_api, language)
    assert data_abroad(op_api, line) == {"allowed": False, "reason": "roaming_cap"}
    page = at_width(width)
    log_in(page, login)
    choose_language(page, language)
    page.goto(f"/portal/lines/{quote(line, safe='')}#roaming")
    section = page.locator("#roaming")
    expect(section.locator("#roaming-state")).to_contain_text(STOPPED[language])
    expect(section.locator("#roaming-spent")).to_contain_text(SPENT[language])
    expect(section).to_contain_text("CONTINUE")
    no_sideways_scroll(page)
    shot(page, screenshots, "roaming-cap", "reached", width=width, language=language)

    section.locator("form[action$='/roaming-cap/continue'] button").click()
    expect(page.locator("#roaming-state")).to_contain_text(CONTINUED[language])
    assert data_abroad(op_api, line)["allowed"] is True

    page.locator("#roaming form[action$='/roaming-cap'] button").click()   # switch off
    expect(page.locator("#roaming-state")).to_contain_text(OFF[language])
    page.locator("#roaming form[action$='/roaming-cap'] button").click()   # on again
    expect(page.locator("#roaming-state")).to_contain_text(STOPPED[language])
    assert data_abroad(op_api, line) == {"allowed": False, "reason": "roaming_cap"}
    no_sideways_scroll(page)
    shot(page, screenshots, "roaming-cap", "on-again", width=width, language=language)


def test_an_internet_line_has_no_roaming_section(at_width: Any, op_api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    account, login, box = f"box-{tag}", f"boxer-{tag}", f"box-{tag}"
    assert op_api.put(f"/api/v1/accounts/{account}",
                      json={"name": "Box", "kind": "residential"}).status_code == 201
    assert op_api.put(f"/api/v1/accounts/{account}/users/{login}",
                      json={"password": PASSWORD, "role": "user"}).status_code == 201
    assert op_api.put(f"/api/v1/lines/{box}", json={
        "account_id": account, "plan": "internet-150", "user": login}).status_code == 201
    page = at_width(1280)
    log_in(page, login)
    page.goto(f"/portal/lines/{box}")
    expect(page.locator("h1")).to_contain_text(box)
    assert page.locator("#roaming").count() == 0
