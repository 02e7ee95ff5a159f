"""The portal holds what it is sent to the rule of text (domain/text.py), like the API.

Before, a path segment, a query parameter or a form field went to the engine as it came:
on PostgreSQL, which refuses NUL in text, `/portal/lines/a%00b` and a login with a NUL
failed in the store (a 500, then the API's last-resort 422 problem+json, never a page),
SQLite looked them up, and an alert form with a NUL or an escape in its e-mail was
saved on both. Now, on every store the same (the `server` fixture runs these on SQLite
and on PostgreSQL): a page answers 422 with the error page naming the value, a live
fragment a bare 422, a form is shown again (422) with the error in its section and
nothing stored, and the login form says the usual "wrong login or password".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest

from .helpers import PASSWORD, Api, Server, login

ESCAPED = ["%00", "%0A", "%1B", "%7F", "%C2%85"]
ESCAPED_IDS = ["nul", "line-feed", "escape", "delete", "c1-next-line"]
CONTROL = ["\x00", "\n", "\x1b", "\x7f", "\x85"]
NOT_TEXT = "must not contain control characters"
BAD_LOGIN = "Wrong login or password."


@dataclass
class Portal:
    """A portal session (the session cookie, English pages) of an admin of an account
    with one pay-as-you-go line."""

    client: httpx.Client
    line: str
    account: str

    @property
    def line_path(self) -> str:
        return f"/portal/lines/{quote(self.line)}"

    def csrf(self) -> str:
        page = self.client.get(self.line_path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    def post(self, action: str, **fields: str) -> httpx.Response:
        return self.client.post(f"{self.line_path}/{action}",
                                data={"csrf": self.csrf(), **fields})


@pytest.fixture
def portal(server: Server, api: Api) -> Iterator[Portal]:
    account = api.account()
    admin = api.user(account, role="admin")
    line = api.line(account, "payg", user=admin)
    with server.client() as client:
        client.cookies.set("conso_session", login(server, admin, PASSWORD))
        client.cookies.set("conso_lang", "en")
        yield Portal(client, line, account)


def assert_not_text_page(answer: httpx.Response, label: str) -> None:
    assert answer.status_code == 422, (answer.status_code, answer.text[:2000])
    assert answer.headers["content-type"].startswith("text/html")
    assert f"{label}: {NOT_TEXT}." in answer.text, answer.text


def alerts_of(op: httpx.Client, line: str) -> dict[str, object]:
    answer = op.get(f"/api/v1/lines/{line}/alerts")
    assert answer.status_code == 200, answer.text
    channels: dict[str, object] = answer.json()["channels"]
    return channels


# -- path segments and query parameters ---------------------------------------------------------

@pytest.mark.parametrize("escaped", ESCAPED, ids=ESCAPED_IDS)
def test_a_control_character_in_a_line_path_is_the_422_page(portal: Portal,
                                                            escaped: str) -> None:
    for path in (f"/portal/lines/a{escaped}b", f"{portal.line_path}{escaped}"):
        assert_not_text_page(portal.client.get(path), "Line")
        # The live fragment: a bare 422, as its 404.
        live = portal.client.get(f"{path}/live")
        assert (live.status_code, live.content) == (422, b"")
    # The line itself is untouched and still shown.
    assert portal.client.get(portal.line_path).status_code == 200


@pytest.mark.parametrize("escaped", ESCAPED, ids=ESCAPED_IDS)
def test_a_control_character_in_a_form_path_is_the_422_page(portal: Portal,
                                                             escaped: str) -> None:
    csrf = portal.csrf()
    for action, fields in (("alerts", {"email": "jan@acme.be"}), ("barring", {"data": "on"}),
                           ("spending-limit", {"amount_eur": "50"})):
        answer = portal.client.post(f"/portal/lines/a{escaped}b/{action}",
                                    data={"csrf": csrf, **fields})
        assert_not_text_page(answer, "Line")


@pytest.mark.parametrize("char", CONTROL, ids=ESCAPED_IDS)
def test_a_control_character_in_a_query_parameter_is_the_422_page(portal: Portal,
                                                                  char: str) -> None:
    assert_not_text_page(portal.client.get("/portal", params={"q": f"a{char}b"}), "Search")
    assert_not_text_page(portal.client.get("/portal", params={"sort": f"line{char}"}), "sort")
    assert_not_text_page(portal.client.get(portal.line_path, params={"saved": char}), "saved")
    live = portal.client.get("/portal/fleet/live", params={"q": char})
    assert (live.status_code, live.content) == (422, b"")
    # Without it, the same pages answer.
    assert portal.client.get("/portal", params={"q": portal.line}).status_code == 200
    assert portal.client.get("/portal/fleet/live", params={"q": "x"}).status_code == 200


def test_pages_are_in_the_users_language(portal: Portal) -> None:
    portal.client.cookies.set("conso_lang", "fr")
    answer = portal.client.get("/portal/lines/a%00b")
    assert answer.status_code == 422
    assert "Ligne: ne doit pas contenir de caractères de contrôle." in answer.text


# -- form fields ----------------------------------------------------------------------------------

@pytest.mark.parametrize("char", CONTROL, ids=ESCAPED_IDS)
def test_a_control_character_in_the_alert_e_mail_shows_the_form_again(
        portal: Portal, op: httpx.Client, char: str) -> None:
    answer = portal.post("alerts", email=f"jan{char}@acme.be", eur="50")
    assert_not_text_page(answer, "E-mail")
    assert 'id="alerts-error"' in answer.text          # in the alerts section
    assert alerts_of(op, portal.line)["email"] is None  # nothing stored

    answer = portal.post("alerts", second_number=f"+3247{char}0000099")
    assert_not_text_page(answer, "SMS to a second number")
    assert alerts_of(op, portal.line)["second_number"] is None

    # The same form without it is saved.
    saved = portal.post("alerts", email="jan@acme.be", eur="50")
    assert saved.status_code == 303, saved.text
    assert alerts_of(op, portal.line)["email"] == "jan@acme.be"


def test_a_control_character_in_the_other_forms_shows_them_again(
        portal: Portal, op: httpx.Client) -> None:
    answer = portal.post("spending-limit", amount_eur="50\x00")
    assert_not_text_page(answer, "Spending limit")
    assert op.get(f"/api/v1/lines/{portal.line}/spending-limit").json()["amount_eur"] is None
    answer = portal.post("barring", data="on\x00")
    assert_not_text_page(answer, "data")
    assert op.get(f"/api/v1/lines/{portal.line}/barring").json()["data"] is False
    answer = portal.post("alerts", pct="80\x00")
    assert_not_text_page(answer, "pct")


def test_a_csrf_token_that_is_not_ascii_is_refused_not_a_crash(portal: Portal) -> None:
    answer = portal.client.post(f"{portal.line_path}/barring",
                                data={"csrf": "é" * 64, "data": "on"})
    assert answer.status_code == 403, answer.text


# -- the login form -------------------------------------------------------------------------------

def _login_form(client: httpx.Client) -> str:
    form = client.get("/portal/login")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert found, form.text
    return found.group(1)


@pytest.mark.parametrize("char", CONTROL, ids=ESCAPED_IDS)
def test_a_control_character_in_the_login_is_a_wrong_login(server: Server, api: Api,
                                                            char: str) -> None:
    user = api.user(api.account())
    with server.client() as browser:
        browser.cookies.set("conso_lang", "en")
        for attempt in (f"{user}{char}", f"{char}{user}", char):
            answer = browser.post("/portal/login", data={
                "login": attempt, "password": PASSWORD, "csrf": _login_form(browser)})
            assert answer.status_code == 401, answer.text
            assert BAD_LOGIN in answer.text
            assert "conso_session" not in browser.cookies
        # A password is a secret: anything is compared, and a wrong one is wrong. (Inside
        # it: scrypt's HMAC pads a short key with zeros, so trailing NULs do not count.)
        answer = browser.post("/portal/login", data={
            "login": user, "password": PASSWORD[:4] + char + PASSWORD[4:],
            "csrf": _login_form(browser)})
        assert answer.status_code == 401, answer.text
        assert BAD_LOGIN in answer.text
        # The right login and password still open a session.
        answer = browser.post("/portal/login", data={
            "login": user, "password": PASSWORD, "csrf": _login_form(browser)})
        assert answer.status_code == 303, answer.text
        assert browser.cookies.get("conso_session")


def test_the_language_form_goes_back_only_to_a_portal_path_that_is_text(
        server: Server) -> None:
    with server.client() as browser:
        answer = browser.post("/portal/language", data={"language": "fr",
                                                        "back": "/portal/lines/a\x00b"})
        assert (answer.status_code, answer.headers["location"]) == (303, "/portal")
        answer = browser.post("/portal/language", data={"language": "nl\x00",
                                                        "back": "/portal?q=x"})
        assert (answer.status_code, answer.headers["location"]) == (303, "/portal?q=x")
        assert "conso_lang" not in answer.headers.get("set-cookie", "")
