"""The portal's fleet pages in a real browser (Debian's Chromium), at 1280 and 390 px:
the account's totals this cycle and their filters, the fleet table on a phone, bulk
changes to selected lines, and the audit trail.

The same `conso serve --demo` process as test_portal.py serves them, its traffic
generator adding usage all the time: figures are compared with what the HTTP API says
just before and just after the page was read, never with fixed numbers. Each test puts
the settings it changes (barring, spending limit, alerts of the demo lines) into a
known state through the API first and back afterwards.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from conso.domain.cycle import CYCLE_TZ
from conso.web.i18n import translator

from .test_portal import (
    ADMIN,
    ALICE,
    BARRING_FUNCTIONS,
    BRUNO,
    CHLOE,
    DEFAULT_ALERTS,
    DEMO_LINES,
    DIRK,
    UNLABELLED_CONTROLS_JS,
    api_get,
    api_path,
    feed,
    line_path,
    log_in,
    reset_barring,
)

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # pragma: no cover - the browser fixture explains what to install
    if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
        raise
    pytest.skip("the Python playwright package is missing", allow_module_level=True)

WIDTHS = [1280, 390]
ACCOUNT = "demo-fleet"
STATES = ("near", "over", "barred", "at_limit")
EN = translator("en")
HEADINGS_JS = """
() => Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6'))
  .map(h => parseInt(h.tagName.substring(1), 10))
"""
SIDEWAYS_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


# -- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def width(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def _open(browser: Browser, base_url: str, width: int, *, script: bool = True) -> Any:
    context = browser.new_context(base_url=base_url, java_script_enabled=script,
                                  viewport={"width": width, "height": 900})
    context.set_default_timeout(5_000)
    context.set_default_navigation_timeout(10_000)
    return context


@pytest.fixture
def sized(browser: Browser, base_url: str, width: int) -> Iterator[Page]:
    """A page of a fresh profile at the test's width, with JavaScript."""
    context = _open(browser, base_url, width)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def no_script(browser: Browser, base_url: str, width: int) -> Iterator[Page]:
    """A page of a fresh profile at the test's width, without JavaScript: what the
    fleet pages do must not need it."""
    context = _open(browser, base_url, width, script=False)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def clean_settings(op_api: httpx.Client) -> Iterator[None]:
    """Nothing barred, no spending limit and the default alerts on the demo lines, before
    and after the test."""
    def reset() -> None:
        for line in DEMO_LINES:
            reset_barring(op_api, line)
        answer = op_api.delete(api_path(CHLOE.line, "spending-limit"))
        assert answer.status_code == 204, answer.text
        for line in (ALICE.line, BRUNO.line, DIRK.line):
            put = op_api.put(api_path(line, "alerts"), json=DEFAULT_ALERTS)
            assert put.status_code == 200, put.text
    reset()
    yield
    reset()


def admin_log_in(page: Page) -> None:
    log_in(page, ADMIN.login, ADMIN.password)


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate(SIDEWAYS_JS) <= 0, f"{page.url} scrolls sideways"


def headings_in_order(page: Page) -> None:
    levels: list[int] = page.evaluate(HEADINGS_JS)
    assert levels and levels[0] == 1 and levels.count(1) == 1, levels
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels


def labelled_and_unique(page: Page) -> None:
    unlabelled = page.evaluate(UNLABELLED_CONTROLS_JS)
    assert unlabelled == [], unlabelled
    ids = page.evaluate("() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
    assert len(ids) == len(set(ids)), ids


def states(op_api: httpx.Client) -> tuple[dict[str, set[str]], int, int]:
    """What the API says of the account now: the lines in each state, the extra spend of
    the lines with a bundle and the spend of the pay-per-use ones (micro-euros)."""
    plans = {p["id"]: p["kind"] for p in op_api.get("/api/v1/plans").json()}
    answer = op_api.get(f"/api/v1/accounts/{ACCOUNT}/lines")
    assert answer.status_code == 200, answer.text
    found: dict[str, set[str]] = {state: set() for state in STATES}
    extra = payg = 0
    for usage in answer.json():
        line = usage["line"]
        percents = [s["used"] * 100 // s["included"] for s in usage["services"].values()
                    if s["included"]]
        top = max(percents, default=None)
        if top is not None and 90 <= top < 100:
            found["near"].add(line)
        if top is not None and top >= 100:
            found["over"].add(line)
        limit = usage["spending_limit"]
        if limit is not None and limit["reached"]:
            found["at_limit"].add(line)
        if any(api_get(op_api, line, "barring")[f] for f in BARRING_FUNCTIONS):
            found["barred"].add(line)
        if plans[usage["plan"]] == "payg":
            payg += usage["extra_micros"]
        else:
            extra += usage["extra_micros"]
    return found, extra, payg


def euros(text: str) -> Decimal:
    """"€1,234.56" (the English pages) as euros."""
    found = re.search(r"€([\d,]+\.\d\d)", text)
    assert found, text
    return Decimal(found.group(1).replace(",", ""))


def shown_lines(page: Page) -> list[str]:
    return [str(line).strip() for line in page.locator(
        "#fleet tbody tr[data-search] td:first-child a").all_inner_texts()]


def outcome(page: Page, line: str | None) -> tuple[str | None, str]:
    row = page.locator(f"#outcomes tr[data-line='{line}']")
    return row.get_attribute("data-result"), row.locator("td").nth(2).inner_text().strip()


def count(page: Page, result: str) -> int:
    return int(page.locator(f".counts li[data-count='{result}'] strong").inner_text())


def push_states(op_api: httpx.Client) -> None:
    """Something in every state: dirk over his bundle, bruno near his if he is not past it
    yet, paid content barred on bruno, chloe (pay per use) past a €5 limit."""
    usage = api_get(op_api, DIRK.line, "usage")["services"]["data"]
    if usage["used"] < usage["included"]:
        feed(op_api, DIRK.line, "data", usage["included"] - usage["used"] + 10**9)
    usage = api_get(op_api, BRUNO.line, "usage")["services"]["data"]
    if usage["used"] < usage["included"] * 93 // 100:
        feed(op_api, BRUNO.line, "data", usage["included"] * 93 // 100 - usage["used"])
    answer = op_api.put(api_path(BRUNO.line, "barring"), json={"premium": True})
    assert answer.status_code == 200, answer.text
    answer = op_api.put(api_path(CHLOE.line, "spending-limit"), json={"amount_eur": 5})
    assert answer.status_code == 200, answer.text
    if not api_get(op_api, CHLOE.line, "usage")["spending_limit"]["reached"]:
        feed(op_api, CHLOE.line, "data", 200 * 10**6)      # €0.05 a MB: €10


# -- totals and filters ----------------------------------------------------------------------


@pytest.mark.usefixtures("clean_settings")
def test_the_totals_of_the_account_are_at_the_top_and_each_is_a_filter(
        no_script: Page, op_api: httpx.Client, width: int, screenshots: Path) -> None:
    page = no_script
    push_states(op_api)
    admin_log_in(page)
    # Traffic goes on while the page is read: compare with the API before and after, and
    # read again in the rare case a line changed state in between.
    for _attempt in range(5):
        before, extra_before, payg_before = states(op_api)
        page.goto("/portal")
        totals = {key: int(page.locator(f"#totals a[data-total='{key}']").get_attribute(
            "data-count") or -1) for key in STATES}
        extra = euros(page.locator("#totals a[data-total='extra']").inner_text())
        payg = euros(page.locator("#totals a[data-total='payg_spend']").inner_text())
        after, extra_after, payg_after = states(op_api)
        if before == after:
            break
    assert before == after, (before, after)
    assert {key: len(lines) for key, lines in before.items()} == totals
    assert {DIRK.line} <= before["over"] and before["barred"] == {BRUNO.line}
    assert before["at_limit"] == {CHLOE.line}
    # Spend only grows: the page's totals lie between the API's before and after.
    assert Decimal(extra_before) / 10**6 - Decimal("0.005") <= extra
    assert extra <= Decimal(extra_after) / 10**6 + Decimal("0.005")
    assert Decimal(payg_before) / 10**6 - Decimal("0.005") <= payg
    assert payg <= Decimal(payg_after) / 10**6 + Decimal("0.005")
    totals_box = page.locator("#totals")
    expect(totals_box.get_by_role("link", name=re.compile("Bundle nearly used up"))
           ).to_contain_text(re.compile(r"\d+ lines?"))
    headings_in_order(page)
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / f"fleet-totals-{width}.png"), full_page=True)

    # Each total is a link that narrows the table to the lines in that state.
    for key in STATES:
        page.goto("/portal")
        page.locator(f"#totals a[data-total='{key}']").click()
        expect(page).to_have_url(re.compile(rf"[?&]filter={key}(&|$)"))
        expect(page.locator(f"#totals a[data-total='{key}']")).to_have_attribute(
            "aria-current", "true")
        expect(page.locator("#filtered")).to_contain_text(EN[f"fl_{key}"])
        now, _, _ = states(op_api)
        lines = set(shown_lines(page))
        if key in ("barred", "at_limit", "over"):      # these only grow by themselves
            assert before[key] <= lines <= now[key], (key, before[key], lines, now[key])
        else:
            assert lines <= before[key] | now[key], (key, lines, before[key], now[key])
    page.screenshot(path=str(screenshots / f"fleet-filter-over-{width}.png"), full_page=True)


@pytest.mark.usefixtures("clean_settings")
def test_filters_combine_with_the_search_and_the_sort_without_javascript(
        no_script: Page, op_api: httpx.Client, width: int) -> None:
    page = no_script
    answer = op_api.put(api_path(BRUNO.line, "barring"), json={"premium": True})
    assert answer.status_code == 200, answer.text
    admin_log_in(page)
    page.goto("/portal?filter=barred")
    assert shown_lines(page) == [BRUNO.line]
    page.get_by_label("Choose the user").fill("alice")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=alice.*filter=barred|filter=barred.*q=alice"))
    expect(page.locator("#fleet tbody")).to_contain_text("No line.")
    page.goto("/portal?filter=barred&q=brun")
    assert shown_lines(page) == [BRUNO.line]
    if width < 700:             # a phone shows no column headers: a form sorts instead
        page.get_by_label("Sort by").select_option("data")
        page.get_by_label("Order").select_option("desc")
        page.get_by_role("button", name="Sort", exact=True).click()
    else:
        expect(page.get_by_label("Sort by")).not_to_be_visible()
        page.locator("#fleet thead th", has_text="Mobile data").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=data"))
    expect(page).to_have_url(re.compile(r"filter=barred"))
    expect(page).to_have_url(re.compile(r"q=brun"))
    assert shown_lines(page) == [BRUNO.line]
    page.get_by_role("link", name="Show every line").click()
    expect(page).not_to_have_url(re.compile("filter="))
    assert shown_lines(page) == [BRUNO.line]          # the search stays
    # An unknown filter shows every line, as an unknown sort sorts by line.
    page.goto("/portal?filter=nonsense")
    assert sorted(shown_lines(page)) == sorted(DEMO_LINES)


# -- the table on a phone --------------------------------------------------------------------


CELL_LABELS_JS = """
() => Array.from(document.querySelectorAll('#fleet tbody tr[data-search]')).map(tr =>
  Array.from(tr.cells).map(td => {
    const before = getComputedStyle(td, '::before').content;
    return [td.getAttribute('data-label'), before, td.innerText.trim()];
  }))
"""


@pytest.mark.usefixtures("clean_settings")
def test_every_cell_of_the_fleet_table_says_what_it_is_and_nothing_scrolls_sideways(
        sized: Page, op_api: httpx.Client, width: int, screenshots: Path) -> None:
    page = sized
    answer = op_api.put(api_path(CHLOE.line, "spending-limit"), json={"amount_eur": 50})
    assert answer.status_code == 200, answer.text
    admin_log_in(page)
    no_sideways_scroll(page)
    rows: list[list[list[str]]] = page.evaluate(CELL_LABELS_JS)
    assert len(rows) == len(DEMO_LINES)
    for cells in rows:
        for label, before, text in cells[:-1]:          # the last: the "Details" button
            assert label, cells
            if width < 700:
                # On a phone each cell shows its label (the header row is not shown).
                assert before == f'"{label}"', (label, before)
            else:
                assert before in ("none", "normal"), before
            assert text, (label, cells)
    if width < 700:             # the header row: for screen readers, not on the screen
        box = page.locator("#fleet thead").bounding_box()
        assert box is not None and box["width"] <= 1 and box["height"] <= 1, box
    else:
        expect(page.locator("#fleet thead th", has_text="Spending limit")).to_be_visible()
    # Pay per use: a spend (not an "extra spend"), and its limit in the table.
    payg = page.locator(f"#fleet tbody tr[data-search='{CHLOE.line} {CHLOE.login}']")
    expect(payg.locator("td.num")).to_have_attribute("data-label", "Spend")
    expect(payg.locator("td.num")).to_contain_text("spend, pay per use")
    expect(payg.locator("td.limit")).to_contain_text("€50.00")
    bundle = page.locator(f"#fleet tbody tr[data-search='{ALICE.line} {ALICE.login}']")
    expect(bundle.locator("td.num")).to_have_attribute("data-label", "Extra spend")
    expect(bundle.locator("td.limit")).to_contain_text("not applicable")
    for service in ("Calls", "SMS", "Mobile data"):    # each bar says which it is
        expect(bundle.locator(f"td[data-label='{service}'] .bar[role=img]")).to_have_count(1)
    labelled_and_unique(page)
    headings_in_order(page)
    page.screenshot(path=str(screenshots / f"fleet-table-{width}.png"), full_page=True)


# -- bulk changes --------------------------------------------------------------------------


def barred_premium(op_api: httpx.Client) -> set[str | None]:
    return {line for line in DEMO_LINES if api_get(op_api, line, "barring")["premium"]}


@pytest.mark.usefixtures("clean_settings")
def test_bulk_barring_changes_each_selected_line_and_audits_each(
        sized: Page, op_api: httpx.Client, width: int, screenshots: Path) -> None:
    page = sized
    audited = {line: len(api_get(op_api, line, "barring/audit?limit=1000"))
               for line in DEMO_LINES}
    admin_log_in(page)
    bulk = page.locator("#bulk")
    page.get_by_label(f"Select line {ALICE.line}").check()
    page.get_by_label(f"Select line {CHLOE.line}").check()
    # The live refresh replaces the rows; what was ticked stays ticked.
    page.evaluate("document.querySelector('#fleet tbody tr[data-search]').__old = true")
    feed(op_api, DIRK.line, "sms", 1)
    page.wait_for_function(
        "() => !document.querySelector('#fleet tbody tr[data-search]').__old", timeout=10_000)
    expect(page.get_by_label(f"Select line {ALICE.line}")).to_be_checked()
    expect(page.get_by_label(f"Select line {CHLOE.line}")).to_be_checked()
    bulk.get_by_label("Block", exact=True).check()
    bulk.get_by_label("Paid content").check()
    bulk.get_by_role("button", name="Apply blocking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Result of the change")
    assert (count(page, "changed"), count(page, "unchanged"), count(page, "skipped")) == (
        2, 0, 0)
    assert barred_premium(op_api) == {ALICE.line, CHLOE.line}
    no_sideways_scroll(page)
    headings_in_order(page)
    page.screenshot(path=str(screenshots / f"fleet-bulk-result-{width}.png"), full_page=True)
    # Each line's change is audited on its own, by the admin, as a single change is.
    for line in (ALICE.line, CHLOE.line):
        trail = api_get(op_api, line, "barring/audit?limit=1000")
        assert len(trail) == audited[line] + 1
        assert trail[0]["by"] == ADMIN.login
        assert (trail[0]["before"]["premium"], trail[0]["after"]["premium"]) == (False, True)
    for line in (BRUNO.line, DIRK.line):
        assert len(api_get(op_api, line, "barring/audit?limit=1000")) == audited[line]

    # Again on alice and bruno: alice is already so, bruno changes.
    page.get_by_role("link", name="All lines").click()
    page.get_by_label(f"Select line {ALICE.line}").check()
    page.get_by_label(f"Select line {BRUNO.line}").check()
    bulk.get_by_label("Paid content").check()
    bulk.get_by_role("button", name="Apply blocking").click()
    assert outcome(page, ALICE.line)[0] == "unchanged"
    assert outcome(page, BRUNO.line)[0] == "changed"
    assert len(api_get(op_api, ALICE.line, "barring/audit?limit=1000")) == audited[
        ALICE.line] + 1                                 # nothing changed: nothing audited

    # "Select every line shown" and "Allow again": every barred line is lifted.
    page.get_by_role("link", name="All lines").click()
    page.get_by_label("Select every line shown").check()
    for line in DEMO_LINES:
        expect(page.get_by_label(f"Select line {line}")).to_be_checked()
    bulk.get_by_label("Allow again").check()
    bulk.get_by_label("Paid content").check()
    bulk.get_by_role("button", name="Apply blocking").click()
    assert (count(page, "changed"), count(page, "unchanged")) == (3, 1)
    assert outcome(page, DIRK.line)[0] == "unchanged"
    assert barred_premium(op_api) == set()


@pytest.mark.usefixtures("clean_settings")
def test_bulk_spending_limit_sets_pay_per_use_lines_and_skips_the_others_saying_why(
        no_script: Page, op_api: httpx.Client, width: int, screenshots: Path) -> None:
    page = no_script                    # "select every line shown" without JavaScript
    admin_log_in(page)
    page.get_by_label("Select every line shown").check()
    page.locator("#bulk").get_by_label("Spending limit").select_option("20")
    page.locator("#bulk").get_by_role("button", name="Apply this limit").click()
    assert (count(page, "changed"), count(page, "unchanged"), count(page, "skipped")) == (
        1, 0, 3)
    assert outcome(page, CHLOE.line) == ("changed", "—")
    for line in (ALICE.line, BRUNO.line, DIRK.line):
        assert outcome(page, line) == ("skipped",
                                       "A spending limit is for pay-per-use lines only.")
    assert api_get(op_api, CHLOE.line, "spending-limit")["amount_eur"] == 20
    assert api_get(op_api, CHLOE.line, "barring/audit")[0]["after"] == 20
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / f"fleet-bulk-limit-{width}.png"), full_page=True)
    # Only the lines shown: a filtered table, "select every line shown", "No limit".
    # Searched by the line's number: other tests of the same worker may give chloe's line
    # another user, and the search also matches users.
    assert CHLOE.line is not None
    number = CHLOE.line.removeprefix("+")
    page.goto(f"/portal?q={quote(number)}")
    expect(page.locator("#fleet tbody tr, table tbody tr").first).to_be_visible()
    page.get_by_label("Select every line shown").check()
    page.locator("#bulk").get_by_role("button", name="Apply this limit").click()
    # evaluate_all does not wait: wait for the result page's table first (without it the
    # rows were read, now and then, from the dashboard still on screen: none).
    expect(page.locator("#outcomes tbody tr")).to_have_count(1)
    assert [r for r in page.locator("#outcomes tbody tr").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-line'))")] == [CHLOE.line]
    assert outcome(page, CHLOE.line)[0] == "changed"
    assert api_get(op_api, CHLOE.line, "spending-limit")["amount_eur"] is None
    page.get_by_role("link", name="All lines").click()
    expect(page).to_have_url(re.compile(rf"q={number}"))   # back to the same view


@pytest.mark.usefixtures("clean_settings")
def test_bulk_notification_rules_keep_each_lines_channels(
        sized: Page, op_api: httpx.Client, width: int) -> None:
    page = sized
    own = {"rules": [{"kind": "included_pct", "value": 100}],
           "channels": {"sms": False, "second_number": "+32470000099",
                        "email": "alice@demo-fleet.example"}}
    assert op_api.put(api_path(ALICE.line, "alerts"), json=own).status_code == 200
    chloe_before = api_get(op_api, CHLOE.line, "alerts")
    admin_log_in(page)
    for line in (ALICE.line, BRUNO.line, CHLOE.line):
        page.get_by_label(f"Select line {line}").check()
    rules = page.locator("#bulk-rules")
    rules.get_by_label("75 %").check()
    rules.get_by_label("€25").check()
    rules.get_by_role("button", name="Apply these notifications").click()
    assert outcome(page, ALICE.line)[0] == "changed"
    assert outcome(page, BRUNO.line)[0] == "changed"
    assert outcome(page, CHLOE.line) == ("skipped", EN["err_rule"])
    wanted = [{"kind": "extra_eur", "value": 25}, {"kind": "included_pct", "value": 75}]
    alice = api_get(op_api, ALICE.line, "alerts")
    assert sorted(alice["rules"], key=lambda r: r["kind"]) == wanted
    assert alice["channels"] == own["channels"]         # where they go is the line's
    bruno = api_get(op_api, BRUNO.line, "alerts")
    assert sorted(bruno["rules"], key=lambda r: r["kind"]) == wanted
    assert bruno["channels"] == DEFAULT_ALERTS["channels"]
    assert api_get(op_api, CHLOE.line, "alerts") == chloe_before
    # The same again: nothing to change.
    page.get_by_role("link", name="All lines").click()
    page.get_by_label(f"Select line {BRUNO.line}").check()
    rules.get_by_label("75 %").check()
    rules.get_by_label("€25").check()
    rules.get_by_role("button", name="Apply these notifications").click()
    assert outcome(page, BRUNO.line)[0] == "unchanged"


@pytest.mark.usefixtures("clean_settings")
def test_bulk_changes_need_an_admin_a_selection_and_the_forms_token(
        page: Page, op_api: httpx.Client) -> None:
    admin_log_in(page)
    csrf = page.locator("#bulk input[name=csrf]").get_attribute("value")
    assert csrf
    form = {"line": str(BRUNO.line), "change": "barring", "bar": "bar", "function": "data"}
    missing = page.request.post("/portal/fleet/bulk", form=form, max_redirects=0)
    assert missing.status == 403
    forged = page.request.post("/portal/fleet/bulk", form={**form, "csrf": "0" * 64},
                               max_redirects=0)
    assert forged.status == 403
    assert api_get(op_api, BRUNO.line, "barring")["data"] is False
    # Nothing ticked: the dashboard again, saying so.
    page.locator("#bulk").get_by_label("Mobile data").check()
    page.locator("#bulk").get_by_role("button", name="Apply blocking").click()
    expect(page.locator("#bulk-changes").get_by_role("alert")).to_have_text(
        "Select at least one line.")
    # A line of no account of the admin's is skipped, whatever it is.
    other = page.request.post("/portal/fleet/bulk", form={
        **form, "csrf": csrf, "line": "+32999999999"}, max_redirects=0)
    assert other.status == 200
    assert "No such line in this account." in other.text()

    # A line user: neither the bulk change nor the trails.
    page.get_by_role("button", name="Log out").click()
    log_in(page, DIRK.login, DIRK.password)
    user_csrf = page.locator("form[action='/portal/logout'] input[name=csrf]"
                             ).get_attribute("value")
    assert user_csrf
    refused = page.request.post("/portal/fleet/bulk", form={**form, "csrf": user_csrf,
                                                            "line": str(DIRK.line)},
                                max_redirects=0)
    assert refused.status == 403
    assert api_get(op_api, DIRK.line, "barring")["data"] is False
    for path in ("/portal/audit", f"{line_path(DIRK.line)}/audit"):
        answer = page.goto(path)
        assert answer is not None and answer.status == 404, path
    totals = page.request.get("/portal/fleet/totals")
    assert totals.status == 404


# -- the audit trail ---------------------------------------------------------------------------


def brussels(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(CYCLE_TZ).strftime("%H:%M")


@pytest.mark.usefixtures("clean_settings")
def test_the_audit_trail_lists_who_changed_what_when_newest_first_a_page_at_a_time(
        sized: Page, op_api: httpx.Client, width: int, screenshots: Path) -> None:
    page = sized
    token = op_api.post("/api/v1/auth/login", json={"login": ADMIN.login,
                                                    "password": ADMIN.password})
    assert token.status_code == 200, token.text
    admin = {"Authorization": f"Bearer {token.json()['token']}"}
    # 51 changes by the admin on dirk's line: data barred then lifted, in turn.
    for n in range(51):
        answer = op_api.put(api_path(DIRK.line, "barring"), json={"data": n % 2 == 0},
                            headers=admin)
        assert answer.status_code == 200, answer.text
    answer = op_api.put(api_path(CHLOE.line, "spending-limit"), json={"amount_eur": 10},
                        headers=admin)
    assert answer.status_code == 200, answer.text
    newest = api_get(op_api, CHLOE.line, "barring/audit")[0]
    admin_log_in(page)
    page.get_by_role("link", name="Changes made (audit trail)").click()
    expect(page).to_have_url(re.compile(r"/portal/audit$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Changes made")
    rows = page.locator("#audit tbody tr")
    expect(rows).to_have_count(50)
    first = rows.first
    expect(first.locator("td").nth(0)).to_contain_text(brussels(newest["at"]))
    expect(first.locator("td").nth(1)).to_have_text(ADMIN.login)
    expect(first.locator("td").nth(2)).to_have_text(str(CHLOE.line))
    expect(first.locator("td").nth(3)).to_have_text("Spending limit: No limit → €10.00")
    expect(rows.nth(1).locator("td").nth(3)).to_have_text("Mobile data: allowed → blocked")
    expect(rows.nth(2).locator("td").nth(3)).to_have_text("Mobile data: blocked → allowed")
    expect(page.get_by_role("columnheader", name="When (Brussels time)")).to_have_count(1)
    no_sideways_scroll(page)
    headings_in_order(page)
    labelled_and_unique(page)
    page.screenshot(path=str(screenshots / f"audit-account-{width}.png"), full_page=True)
    # Older entries on the next page, continuing where the first stopped.
    last_on_first = rows.last.locator("td").nth(3).inner_text()
    page.get_by_role("link", name="Older changes").click()
    expect(page).to_have_url(re.compile(r"/portal/audit\?page=2$"))
    expect(rows.first.locator("td").nth(3)).not_to_have_text(last_on_first)
    expect(page.get_by_role("link", name="Newer changes")).to_be_visible()

    # One line's own trail: the API's entries of that line, in the same order.
    page.goto(f"{line_path(DIRK.line)}/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Changes to line {DIRK.line}")
    trail = api_get(op_api, DIRK.line, "barring/audit?limit=50")
    shown = page.locator("#audit tbody tr td:last-child").all_inner_texts()
    assert len(shown) == 50
    words = {True: "blocked", False: "allowed"}
    assert [s.strip() for s in shown] == [
        f"Mobile data: {words[e['before']['data']]} → {words[e['after']['data']]}"
        for e in trail]
    expect(page.locator("#audit thead th")).to_have_count(3)    # no line column
    # In French: the words and the time of Brussels, in French.
    page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Modifications de la ligne {DIRK.line}")
    expect(page.locator("#audit tbody tr").first.locator("td").nth(0)).to_contain_text(
        f" à {brussels(trail[0]['at'])}")
    expect(page.locator("#audit tbody tr").first.locator("td").last).to_have_text(
        re.compile(r"^Données mobiles : (bloqué|autorisé) → (bloqué|autorisé)$"))
    page.screenshot(path=str(screenshots / f"audit-line-fr-{width}.png"), full_page=True)


def test_the_fleet_pages_hold_what_they_are_sent_to_text(page: Page) -> None:
    """A control character in a query parameter or a form field: the error page naming
    it (422), nothing looked up or changed, as on the other portal pages."""
    admin_log_in(page)
    csrf = page.locator("#bulk input[name=csrf]").get_attribute("value")
    assert csrf
    for path in ("/portal?filter=over%00", "/portal/audit?page=1%1B",
                 f"{line_path(DIRK.line)}/audit?page=%7F"):
        answer = page.request.get(path)
        assert answer.status == 422, path
        assert "must not contain control characters" in answer.text()
    assert page.request.get("/portal/fleet/live?q=a%00").status == 422
    answer = page.request.post("/portal/fleet/bulk", form={
        "csrf": csrf, "line": f"{DIRK.line}\x00", "change": "limit", "amount_eur": "5"})
    assert answer.status == 422
    assert "must not contain control characters" in answer.text()
