"""The self-care portal driven in a real browser (Debian's Chromium through Playwright).

One `conso serve --demo` process serves the whole session: the demo account (admin and
alice, bruno, chloe (pay as you go), dirk with their lines) is seeded and its live traffic
generator keeps adding usage, so figures are read relatively, never as fixed numbers.
Each test runs in a fresh browser profile. Tests that change a line's settings put that
line back into a known state through the HTTP API first, so they do not depend on order:
alerts and barring on alice's line, the spending limit on chloe's, the live feed on
dirk's, the CSRF probes on bruno's.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from conso.demo import DEMO_USERS
from conso.domain.units import Service
from conso.notify.templates import quantity
from conso.web.i18n import translator

try:
    from playwright.sync_api import BrowserContext, Page, expect
except ImportError:  # pragma: no cover - the browser fixture explains what to install
    if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
        raise
    pytest.skip("the Python playwright package is missing", allow_module_level=True)

USERS = {u.login: u for u in DEMO_USERS}
ADMIN = USERS["admin"]
ALICE, BRUNO, CHLOE, DIRK = USERS["alice"], USERS["bruno"], USERS["chloe"], USERS["dirk"]
DEMO_LINES = [u.line for u in DEMO_USERS if u.line is not None]
LIVE_TIMEOUT_MS = 10_000          # the page polls every 3 s
BARRING_FUNCTIONS = ("data", "voice_out", "voice_in", "voice_out_roaming", "voice_in_roaming",
                     "sms_out", "premium")
DEFAULT_ALERTS = {"rules": [{"kind": "included_pct", "value": 90},
                            {"kind": "included_pct", "value": 100},
                            {"kind": "extra_eur", "value": 50}],
                  "channels": {"sms": True, "second_number": None, "email": None}}
UNLABELLED_CONTROLS_JS = """
() => Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(el => el.type !== 'hidden')
  .filter(el => {
    const byLabel = Array.from(el.labels || []).some(l => l.textContent.trim() !== '');
    const byAria = (el.getAttribute('aria-label') || '').trim() !== ''
      || (el.getAttribute('aria-labelledby') || '').trim() !== '';
    const byText = el.tagName === 'BUTTON' && el.textContent.trim() !== '';
    return !(byLabel || byAria || byText);
  })
  .map(el => el.outerHTML)
"""


# -- helpers -------------------------------------------------------------------------


def line_path(line: str | None) -> str:
    assert line is not None
    return f"/portal/lines/{quote(line, safe='')}"


def api_path(line: str | None, what: str) -> str:
    assert line is not None
    return f"/api/v1/lines/{quote(line, safe='')}/{what}"


def log_in(page: Page, login: str, password: str) -> None:
    page.goto("/portal/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("form[action='/portal/login'] button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/portal/login$"))


def session_cookie(context: BrowserContext) -> str | None:
    for cookie in context.cookies():
        if cookie["name"] == "conso_session":
            return cookie["value"]
    return None


def api_get(op_api: httpx.Client, line: str | None, what: str) -> Any:
    answer = op_api.get(api_path(line, what))
    assert answer.status_code == 200, answer.text
    return answer.json()


def rules_of(alerts: dict[str, Any]) -> set[tuple[str, int]]:
    return {(r["kind"], r["value"]) for r in alerts["rules"]}


def reset_alerts(op_api: httpx.Client, line: str | None) -> None:
    answer = op_api.put(api_path(line, "alerts"), json=DEFAULT_ALERTS)
    assert answer.status_code == 200, answer.text


def reset_barring(op_api: httpx.Client, line: str | None) -> None:
    answer = op_api.put(api_path(line, "barring"), json=dict.fromkeys(BARRING_FUNCTIONS, False))
    assert answer.status_code == 200, answer.text


def feed(op_api: httpx.Client, line: str | None, service: str, amount: int) -> None:
    """One usage record for the line, as the network would send it, dated now."""
    answer = op_api.post("/api/v1/usage", json=[
        {"id": f"e2e-{uuid.uuid4().hex}", "line": line, "service": service,
         "quantity": amount, "at": datetime.now(UTC).isoformat()}])
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1, answer.text


def gauge_used(page: Page, service: str) -> str:
    return page.locator(f"#live .gauge[data-service='{service}'] p strong").first.inner_text()


def fleet_rows(page: Page) -> list[tuple[str, int]]:
    """(line, data %) of each row in one go; '—' (no allowance) reads as -1."""
    rows: list[list[Any]] = page.evaluate("""
      () => Array.from(document.querySelectorAll('#fleet tbody tr[data-search]')).map(tr => {
        const small = tr.cells[4].querySelector('small');
        return [tr.cells[0].innerText.trim(), small ? parseInt(small.innerText, 10) : -1];
      })""")
    return [(str(line), int(pct)) for line, pct in rows]


# -- login ---------------------------------------------------------------------------


def test_login_page_in_demo_mode_lists_the_demo_logins(page: Page, screenshots: Path) -> None:
    page.goto("/portal")
    expect(page).to_have_url(re.compile(r"/portal/login$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    demo = page.locator(".demo")
    expect(demo.get_by_role("heading", name="Demo logins")).to_be_visible()
    for user in DEMO_USERS:
        row = demo.locator("tr", has=page.locator("td", has_text=re.compile(f"^{user.login}$")))
        expect(row).to_have_count(1)
        expect(row.locator("code")).to_have_text(user.password)
        if user.line:
            expect(row).to_contain_text(user.line)
    page.screenshot(path=str(screenshots / "login.png"), full_page=True)


def test_wrong_password_shows_an_error_and_opens_no_session(page: Page,
                                                           context: BrowserContext) -> None:
    page.goto("/portal/login")
    page.fill("#login", "alice")
    page.fill("#password", "not-her-password")
    with page.expect_response(lambda r: r.url.endswith("/portal/login")
                              and r.request.method == "POST") as answer:
        page.click("form[action='/portal/login'] button[type=submit]")
    assert answer.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("Wrong login or password.")
    expect(page.locator("#login")).to_have_value("alice")
    expect(page.locator("#password")).to_have_value("")
    assert session_cookie(context) is None
    # Still no way in: the dashboard sends back to the login page.
    page.goto("/portal")
    expect(page).to_have_url(re.compile(r"/portal/login$"))


def test_keyboard_tab_goes_from_login_to_password_to_submit(page: Page) -> None:
    page.goto("/portal/login")
    page.focus("#login")
    page.keyboard.type(ADMIN.login)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(ADMIN.password)
    page.keyboard.press("Tab")
    focused = page.evaluate("""() => { const el = document.activeElement;
        return [el.tagName, el.type, el.textContent.trim(), el.form && el.form.action]; }""")
    assert focused[:3] == ["BUTTON", "submit", "Log in"], focused
    assert str(focused[3]).endswith("/portal/login")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/portal$"))
    expect(page.get_by_role("heading", name="Lines of the account")).to_be_visible()


# -- the dashboard: "choose the user" -------------------------------------------------


def test_dashboard_lists_every_demo_line_with_usage_bars(page: Page, screenshots: Path) -> None:
    log_in(page, ADMIN.login, ADMIN.password)
    expect(page).to_have_url(re.compile(r"/portal$"))
    expect(page.locator(".who")).to_have_text("admin · admin")
    rows = page.locator("#fleet tbody tr[data-search]")
    expect(rows).to_have_count(len(DEMO_LINES))
    for user in DEMO_USERS:
        if user.line is None:
            continue
        row = page.locator(f"#fleet tbody tr[data-search='{user.line} {user.login}']")
        expect(row).to_have_count(1)
        expect(row.get_by_role("link", name=user.line)).to_have_attribute(
            "href", line_path(user.line))
        bars = row.locator(".bar[role=img]")
        if user.plan == "payg":
            expect(bars).to_have_count(0)       # no allowance: a dash, not a bar
            expect(row.locator("td.num")).to_contain_text("€")
        else:
            expect(bars).to_have_count(3)
            for label in ("Calls", "SMS", "Mobile data"):
                expect(row.locator(f".bar[aria-label^='{label} ']")).to_have_count(1)
            expect(bars.first.locator("span")).to_have_attribute(   # no style attribute:
                "class", re.compile(r"^pct-\d+$"))                    # the CSP forbids it
    page.screenshot(path=str(screenshots / "dashboard-admin.png"), full_page=True)


def test_choose_the_user_filters_rows_as_you_type(page: Page, op_api: httpx.Client) -> None:
    log_in(page, ADMIN.login, ADMIN.password)
    visible = page.locator("#fleet tbody tr[data-search]:visible")
    expect(visible).to_have_count(len(DEMO_LINES))
    page.get_by_label("Choose the user").press_sequentially("brun")
    expect(visible).to_have_count(1)
    expect(visible).to_contain_text(str(BRUNO.line))
    # Still filtered once the live refresh has replaced the rows: feed usage so that the
    # next refresh (every 3 s) surely brings different rows, and wait for new row nodes.
    page.evaluate("document.querySelector('#fleet tbody tr[data-search]').__old = true")
    feed(op_api, BRUNO.line, "data", 4 * 10**9)
    page.wait_for_function(   # a function: the page's CSP forbids eval of an expression
        "() => !document.querySelector('#fleet tbody tr[data-search]').__old",
        timeout=LIVE_TIMEOUT_MS)
    expect(visible).to_have_count(1)
    expect(page.locator("#fleet tbody tr[data-search]")).to_have_count(len(DEMO_LINES))
    page.get_by_label("Choose the user").fill("")
    page.get_by_label("Choose the user").dispatch_event("input")
    expect(visible).to_have_count(len(DEMO_LINES))


def test_choose_the_user_filters_rows_on_a_phone(browser: Any, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, viewport={"width": 375, "height": 800})
    context.set_default_timeout(5_000)
    try:
        page = context.new_page()
        log_in(page, ADMIN.login, ADMIN.password)
        page.get_by_label("Choose the user").press_sequentially("brun")
        # The script did its part: the other rows are marked hidden...
        expect(page.locator("#fleet tbody tr[data-search][hidden]")).to_have_count(
            len(DEMO_LINES) - 1)
        # ...but they are still displayed.
        expect(page.locator("#fleet tbody tr[data-search]:visible")).to_have_count(1)
    finally:
        context.close()


def test_choose_the_user_server_side_search(page: Page) -> None:
    log_in(page, ADMIN.login, ADMIN.password)
    page.get_by_label("Choose the user").fill("chloe")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/portal\?q=chloe&sort=line&order=asc$"))
    rows = page.locator("#fleet tbody tr[data-search]")   # visible or not: only one is sent
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(str(CHLOE.line))
    expect(page.get_by_label("Choose the user")).to_have_value("chloe")
    # By number too, and a search that matches nothing says so.
    page.goto(f"/portal?q={quote(str(DIRK.line)[-4:])}")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(str(DIRK.line))
    page.goto("/portal?q=nobody-at-all")
    expect(rows).to_have_count(0)
    expect(page.locator("#fleet tbody")).to_contain_text("No line.")


def test_sort_by_the_data_column(page: Page) -> None:
    log_in(page, ADMIN.login, ADMIN.password)
    default = [line for line, _ in fleet_rows(page)]
    assert default == sorted(DEMO_LINES)
    header = page.locator("#fleet thead th", has_text="Mobile data")
    header.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=data&order=asc"))
    expect(header).to_have_attribute("aria-sort", "ascending")
    ascending = fleet_rows(page)
    assert [p for _, p in ascending] == sorted(p for _, p in ascending), ascending
    assert ascending[0][0] == CHLOE.line      # pay as you go: no allowance, sorts first
    header.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=data&order=desc"))
    expect(header).to_have_attribute("aria-sort", "descending")
    descending = fleet_rows(page)
    assert [p for _, p in descending] == sorted((p for _, p in descending), reverse=True)
    assert [line for line, _ in descending] != [line for line, _ in ascending]
    assert descending[-1][0] == CHLOE.line
    assert sorted(line for line, _ in descending) == sorted(DEMO_LINES)


# -- the line page -------------------------------------------------------------------------


def test_line_page_shows_gauges_daily_chart_and_messages(page: Page, op_api: httpx.Client,
                                                          screenshots: Path) -> None:
    usage = api_get(op_api, ALICE.line, "usage")
    sent = api_get(op_api, ALICE.line, "messages?limit=1")
    log_in(page, ADMIN.login, ADMIN.password)
    page.get_by_role("link", name=str(ALICE.line), exact=True).click()
    expect(page).to_have_url(re.compile(r"/portal/lines/(%2B|\+)" + str(ALICE.line)[1:] + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Line {ALICE.line}")
    expect(page.get_by_role("link", name="← All lines")).to_be_visible()
    for service, name in (("voice", "Calls"), ("sms", "SMS"), ("data", "Mobile data")):
        gauge = page.locator(f"#live .gauge[data-service='{service}']")
        expect(gauge.get_by_role("heading")).to_have_text(name)
        expect(gauge.get_by_role("progressbar", name=name)).to_have_attribute(
            "aria-valuenow", re.compile(r"^\d+$"))
        included = quantity(Service(service), usage["services"][service]["included"], "en")
        unit = r"min|SMS|[MG]B"
        expect(gauge).to_contain_text(re.compile(
            rf"[\d.]+ ({unit}) used of {re.escape(included)} · [\d.]+ ({unit}) left"))
    start = datetime.fromisoformat(usage["cycle"]["start"]).date()
    end = datetime.fromisoformat(usage["cycle"]["end"]).date()
    chart = page.get_by_role("img", name="Daily data use this cycle")
    expect(chart.locator(".day")).to_have_count((end - start).days)
    # Each day's value in a table under the chart (no hover needed), days as English writes them.
    expect(page.locator(".day-values tbody th").first).to_have_text(f"{start.day} {start:%b}")
    expect(page.get_by_role("heading", name="Messages sent")).to_be_visible()
    if sent:
        expect(page.locator("ul.messages li").first).to_be_visible()
        expect(page.locator("ul.messages")).to_contain_text(sent[0]["text"])
    else:
        expect(page.locator("#live")).to_contain_text(
            re.compile("No message yet this cycle.|8644"))
    page.screenshot(path=str(screenshots / "line-page-admin.png"), full_page=True)


def test_notification_rules_are_saved_and_persist(page: Page, op_api: httpx.Client) -> None:
    reset_alerts(op_api, ALICE.line)
    log_in(page, ADMIN.login, ADMIN.password)
    page.goto(line_path(ALICE.line))
    alerts = page.locator("#alerts")
    pct = {v: alerts.locator(f"input[name=pct][value='{v}']") for v in (75, 90, 100)}
    eur50 = alerts.locator("input[name=eur][value='50']")
    expect(pct[75]).not_to_be_checked()
    expect(pct[90]).to_be_checked()
    expect(pct[100]).to_be_checked()
    expect(eur50).to_be_checked()
    alerts.get_by_label("75 %").check()
    alerts.get_by_label("100 %").uncheck()
    alerts.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"\?saved=alerts#alerts$"))
    expect(alerts.get_by_role("status")).to_have_text("Saved.")
    page.goto(line_path(ALICE.line))
    expect(alerts.get_by_role("status")).to_have_count(0)
    expect(pct[75]).to_be_checked()
    expect(pct[90]).to_be_checked()
    expect(pct[100]).not_to_be_checked()
    expect(eur50).to_be_checked()
    expect(alerts.get_by_label("SMS to this line (from 8644)")).to_be_checked()
    saved = api_get(op_api, ALICE.line, "alerts")
    assert rules_of(saved) == {("included_pct", 75), ("included_pct", 90), ("extra_eur", 50)}
    assert saved["default"] is False
    assert saved["channels"] == {"sms": True, "second_number": None, "email": None}


def test_six_notification_rules_are_refused_inline(page: Page, op_api: httpx.Client) -> None:
    reset_alerts(op_api, ALICE.line)
    before = api_get(op_api, ALICE.line, "alerts")
    log_in(page, ADMIN.login, ADMIN.password)
    page.goto(line_path(ALICE.line))
    alerts = page.locator("#alerts")
    for label in ("75 %", "€5", "€10"):          # 90 %, 100 % and €50 are already ticked
        alerts.get_by_label(label, exact=True).check()
    expect(alerts.locator("input[type=checkbox][name=pct]:checked, "
                          "input[type=checkbox][name=eur]:checked")).to_have_count(6)
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.endswith("/alerts")) as answer:
        alerts.get_by_role("button", name="Save").click()
    assert answer.value.status == 422
    error = alerts.get_by_role("alert")
    expect(error).to_have_text("Choose at most five notifications.")
    expect(error).to_have_attribute("id", "alerts-error")
    expect(alerts.locator("form")).to_have_attribute("aria-describedby", "alerts-error")
    expect(alerts.get_by_role("status")).to_have_count(0)
    assert api_get(op_api, ALICE.line, "alerts") == before
    page.goto(line_path(ALICE.line))
    expect(alerts.get_by_label("75 %")).not_to_be_checked()
    expect(alerts.get_by_label("€5", exact=True)).not_to_be_checked()
    expect(alerts.locator("input[name=pct]:checked, input[name=eur]:checked")).to_have_count(3)


def test_admin_bars_paid_content_and_the_user_sees_it_read_only(
        page: Page, context: BrowserContext, op_api: httpx.Client, screenshots: Path) -> None:
    reset_barring(op_api, ALICE.line)
    log_in(page, ADMIN.login, ADMIN.password)
    page.goto(line_path(ALICE.line))
    barring = page.locator("#barring")
    paid = barring.get_by_role("switch", name="Paid content")
    expect(paid).not_to_be_checked()
    paid.check()
    barring.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"\?saved=barring#barring$"))
    expect(barring.get_by_role("status")).to_have_text("Saved.")
    expect(barring).to_contain_text("Last changed by admin, ")
    expect(barring.get_by_role("switch", name="Paid content")).to_be_checked()
    expect(barring.get_by_role("switch", name="Mobile data")).not_to_be_checked()
    view = api_get(op_api, ALICE.line, "barring")
    assert view["premium"] is True
    assert [f for f in BARRING_FUNCTIONS if view[f]] == ["premium"]
    assert view["changed_by"] == ADMIN.login

    # Log out: the session is gone, the portal asks for a login again.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/portal/login$"))
    assert session_cookie(context) is None
    page.goto(line_path(ALICE.line))
    expect(page).to_have_url(re.compile(r"/portal/login$"))

    # Alice lands on her own line and sees the barring, read-only, and who set it.
    log_in(page, ALICE.login, ALICE.password)
    expect(page).to_have_url(re.compile(re.escape(line_path(ALICE.line)) + "$"))
    expect(page.locator(".who")).to_have_text("alice · user")
    expect(page.get_by_role("link", name="← All lines")).to_have_count(0)
    expect(barring).to_contain_text("Only an admin of the account can change these.")
    expect(barring).to_contain_text(f"Last changed by {ADMIN.login}, ")
    listed = barring.get_by_role("list", name="Blocked functions")
    expect(listed.locator("li[data-function='premium']")).to_have_text("Paid content: blocked")
    expect(listed.locator("li[data-function='premium']")).to_have_class("blocked")
    expect(listed.locator("li.blocked")).to_have_count(1)
    expect(listed.locator("li[data-function='data']")).to_have_text("Mobile data: allowed")
    expect(page.locator("form[action$='/barring']")).to_have_count(0)
    expect(page.get_by_role("switch")).to_have_count(0)
    page.screenshot(path=str(screenshots / "line-page-user.png"), full_page=True)

    # Another user's line is not found, and shows nothing of it.
    response = page.goto(line_path(BRUNO.line))
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_have_text(f"Line {BRUNO.line}?")
    expect(page.locator(".gauge")).to_have_count(0)
    answer = context.request.get(f"{line_path(BRUNO.line)}/live")
    assert answer.status == 404


def test_a_user_cannot_change_barring_even_with_a_valid_form(
        page: Page, context: BrowserContext, op_api: httpx.Client) -> None:
    reset_barring(op_api, DIRK.line)
    log_in(page, DIRK.login, DIRK.password)
    expect(page).to_have_url(re.compile(re.escape(line_path(DIRK.line)) + "$"))
    csrf = page.locator("form[action='/portal/logout'] input[name=csrf]").get_attribute("value")
    assert csrf
    answer = context.request.post(f"{line_path(DIRK.line)}/barring",
                                  form={"csrf": csrf, "data": "on"}, max_redirects=0)
    assert answer.status == 403
    assert translator(DIRK.language)["forbidden"] in answer.text()   # dirk reads Dutch
    assert api_get(op_api, DIRK.line, "barring")["data"] is False


def test_payg_line_spending_limit(page: Page, context: BrowserContext,
                                  op_api: httpx.Client) -> None:
    answer = op_api.delete(api_path(CHLOE.line, "spending-limit"))
    assert answer.status_code == 204, answer.text
    log_in(page, ADMIN.login, ADMIN.password)
    page.goto(line_path(CHLOE.line))
    limit = page.locator("#limit")
    expect(limit.get_by_role("heading", name="Spending limit")).to_be_visible()
    choice = limit.get_by_label("Spending limit")
    expect(choice).to_have_value("none")
    expect(choice.locator("option")).to_have_text(["No limit", "€5", "€10", "€20", "€50"])
    # Pay as you go: no % of a bundle to choose, the euro thresholds are on spend.
    expect(page.locator("#alerts input[name=pct]")).to_have_count(0)
    expect(page.locator("#alerts legend", has_text="spend reaches")).to_be_visible()
    choice.select_option("10")
    limit.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"\?saved=limit#limit$"))
    expect(limit.get_by_role("status")).to_have_text("Saved.")
    expect(choice).to_have_value("10")
    expect(page.locator("#live")).to_contain_text("Spending limit €10")
    expect(page.locator("#live").get_by_role("progressbar", name="Spending limit")
           ).to_have_attribute("aria-valuemax", "1000")
    assert api_get(op_api, CHLOE.line, "spending-limit")["amount_eur"] == 10
    # Chloe herself sees the limit, without a form (her portal speaks Dutch).
    page.get_by_role("button", name="Log out").click()
    log_in(page, CHLOE.login, CHLOE.password)
    expect(page).to_have_url(re.compile(re.escape(line_path(CHLOE.line)) + "$"))
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.locator("#limit")).to_contain_text("€ 10")      # euros as Dutch writes them
    expect(page.locator("#limit select, #limit form")).to_have_count(0)
    assert session_cookie(context) is not None


def test_a_tampered_spending_limit_form_is_refused_by_the_limits_own_checks(
        page: Page, context: BrowserContext, op_api: httpx.Client) -> None:
    """Not a number: refused on a pay-per-use line naming the amounts offered, and on a
    bundle line (which shows no limit section). Nothing changes."""
    before = api_get(op_api, CHLOE.line, "spending-limit")["amount_eur"]
    log_in(page, ADMIN.login, ADMIN.password)
    page.goto(line_path(CHLOE.line))
    csrf = page.locator("form[action='/portal/logout'] input[name=csrf]").get_attribute("value")
    assert csrf
    payg = context.request.post(f"{line_path(CHLOE.line)}/spending-limit",
                                form={"csrf": csrf, "amount_eur": "ten"}, max_redirects=0)
    assert payg.status == 422
    assert "must be one of [5, 10, 20, 50]" in payg.text()
    bundle = context.request.post(f"{line_path(ALICE.line)}/spending-limit",
                                  form={"csrf": csrf, "amount_eur": "ten"}, max_redirects=0)
    assert bundle.status == 422
    assert api_get(op_api, ALICE.line, "usage")["spending_limit"] is None
    assert api_get(op_api, CHLOE.line, "spending-limit")["amount_eur"] == before


def test_line_page_updates_live_without_reload(page: Page, op_api: httpx.Client) -> None:
    log_in(page, ADMIN.login, ADMIN.password)
    page.goto(line_path(DIRK.line))
    before = int(gauge_used(page, "sms").split()[0])
    page.evaluate("window.__sameDocument = true")
    # Past the bundle whatever the cycle holds so far (early in a cycle the demo's seeded
    # usage is small); the demo traffic adds one SMS at most every 2 s.
    usage = op_api.get(api_path(DIRK.line, "usage"))
    assert usage.status_code == 200, usage.text
    included = usage.json()["services"]["sms"]["included"]
    sms = max(400, included - before + 1)
    feed(op_api, DIRK.line, "sms", sms)
    page.wait_for_function(
        """min => parseInt(document.querySelector(
             "#live .gauge[data-service='sms'] p strong").textContent, 10) >= min""",
        arg=before + sms, timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument") is True        # no reload happened
    expect(page.locator("#live .gauge[data-service='sms'] .bar")).to_have_class(
        re.compile(r"lvl-over"))


# -- languages -------------------------------------------------------------------------------


def test_language_selector_switches_to_french(page: Page, screenshots: Path) -> None:
    log_in(page, ADMIN.login, ADMIN.password)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Language").select_option(label="Français")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_url(re.compile(r"/portal$"))
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lignes du compte")
    expect(page.get_by_label("Choisir l'utilisateur")).to_be_visible()
    expect(page.get_by_role("button", name="Rechercher")).to_be_visible()
    expect(page.get_by_label("Langue")).to_have_value("fr")
    page.screenshot(path=str(screenshots / "dashboard-fr.png"), full_page=True)
    # The choice sticks: the line page is in French too.
    page.goto(line_path(ALICE.line))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Ligne {ALICE.line}")
    expect(page.locator("#alerts").get_by_role("button", name="Enregistrer")).to_be_visible()
    expect(page.get_by_role("img", name="Données par jour de ce cycle")).to_be_visible()
    # Back to English from a line page: the selector returns to that same line page.
    page.get_by_label("Langue").select_option(label="English")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/portal/lines/(%2B|\+)" + str(ALICE.line)[1:] + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Line {ALICE.line}")


def test_language_can_be_changed_on_a_page_showing_a_form_error(
        page: Page, op_api: httpx.Client) -> None:
    reset_alerts(op_api, ALICE.line)
    log_in(page, ADMIN.login, ADMIN.password)
    page.goto(line_path(ALICE.line))
    alerts = page.locator("#alerts")
    for label in ("75 %", "€5", "€10"):
        alerts.get_by_label(label, exact=True).check()
    alerts.get_by_role("button", name="Save").click()
    expect(alerts.get_by_role("alert")).to_be_visible()
    with page.expect_response(lambda r: r.request.method == "GET"
                              and "/portal/lines/" in r.url) as answer:
        page.get_by_label("Language").select_option("fr")
    assert answer.value.status == 200, (answer.value.url, answer.value.status)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Ligne {ALICE.line}")


def test_french_pages_have_a_french_skip_link(page: Page) -> None:
    log_in(page, ADMIN.login, ADMIN.password)
    page.get_by_label("Language").select_option("fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("a.skip")).not_to_have_text("Skip to content")


# -- security and accessibility -------------------------------------------------------------------


def test_barring_post_without_csrf_is_refused(page: Page, context: BrowserContext,
                                              op_api: httpx.Client) -> None:
    reset_barring(op_api, BRUNO.line)
    before = api_get(op_api, BRUNO.line, "barring")
    log_in(page, ADMIN.login, ADMIN.password)
    page.goto(line_path(BRUNO.line))
    assert session_cookie(context) is not None
    target = f"{line_path(BRUNO.line)}/barring"
    missing = context.request.post(target, form={"data": "on", "premium": "on"},
                                   max_redirects=0)
    assert missing.status == 403, missing.text()
    forged = context.request.post(target, form={"csrf": "0" * 64, "data": "on"},
                                  max_redirects=0)
    assert forged.status == 403, forged.text()
    assert api_get(op_api, BRUNO.line, "barring") == before
    # The same request with the page's token goes through: only the token was missing.
    csrf = page.locator("#barring input[name=csrf]").get_attribute("value")
    assert csrf
    good = context.request.post(target, form={"csrf": csrf}, max_redirects=0)
    assert good.status == 303
    assert good.headers["location"].endswith("?saved=barring#barring")
    assert api_get(op_api, BRUNO.line, "barring") == before   # nothing ticked: unchanged


@pytest.mark.parametrize("where", ["dashboard", "alice", "chloe"])
def test_every_form_control_has_a_label(page: Page, where: str) -> None:
    log_in(page, ADMIN.login, ADMIN.password)
    line = {"dashboard": None, "alice": ALICE.line, "chloe": CHLOE.line}[where]
    if line is not None:
        page.goto(line_path(line))
        expect(page.locator("#alerts form")).to_be_visible()
        controls = page.locator("main input:not([type=hidden]), main select")
        assert controls.count() >= 4
    unlabelled = page.evaluate(UNLABELLED_CONTROLS_JS)
    assert unlabelled == [], unlabelled
    ids = page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
    assert len(ids) == len(set(ids)), ids


def test_cycle_dates_are_in_the_page(page: Page, op_api: httpx.Client) -> None:
    usage = api_get(op_api, ALICE.line, "usage")
    end: date = datetime.fromisoformat(usage["cycle"]["end"]).date()
    last_day = end - timedelta(days=1)            # the page names the cycle's last day
    log_in(page, ALICE.login, ALICE.password)
    expect(page.locator(".sub")).to_contain_text(
        f"Cycle until {last_day.day} {last_day:%b} {last_day.year}")   # as English writes it
