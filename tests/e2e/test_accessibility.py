"""axe-core, a checker nobody here wrote, on every portal page: zero WCAG 2.1 A/AA faults.

Each page is opened in Chromium in English, French and Dutch, 1280 and 390 px wide, and
axe-core (npm `axe-core`, tests/peers/portal-audit, installed by
scripts/ensure-node-peers.sh) runs the rules tagged wcag2a, wcag2aa, wcag21a and
wcag21aa on it. axe is added as an init script (Playwright hands it to the browser
through the DevTools protocol, so the pages keep their strict Content-Security-Policy:
nothing is bypassed). Every fault is printed with its rule, the element and axe's help.

The pages: login; the fleet dashboard (the demo's and one with a pay-per-use line at
its limit); a bundle line as its user (read-only barring) and as the admin (switches);
a pay-per-use line whose spending limit is reached; an internet-unlimited line; the
error page; a line's itemised records; the account page; the audit trails of the account
and of a line; and a bulk change's result. The pay-per-use and internet lines are in an
account of this module's own ("a11y-audit"), so the demo's fleet stays as other tests
expect it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import pytest

from conso.demo import DEMO_USERS

try:
    from playwright.sync_api import Browser, BrowserContext, Page
except ImportError:  # pragma: no cover - the browser fixture explains what to install
    if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
        raise
    pytest.skip("the Python playwright package is missing", allow_module_level=True)

from .conftest import ACTION_TIMEOUT_MS

USERS = {u.login: u for u in DEMO_USERS}
ADMIN, ALICE = USERS["admin"], USERS["alice"]
LANGUAGES = ("en", "fr", "nl")
WIDTHS = {1280: 900, 390: 844}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AUDIT_ACCOUNT = "a11y-audit"
AUDIT_ADMIN = ("a11y-admin", "a11y-admin-password-1")
PAYG_LINE = "+32470000091"
INTERNET_LINE = "+32470000092"
PAYG_LIMIT_EUR = 5
PAYG_DATA_MB = 160           # €0.05 a MB: €8, past the €5 limit
RUN_AXE_JS = """
async (tags) => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({ target: n.target.join(" "), html: n.html,
                               summary: n.failureSummary })) }));
}
"""


@dataclass(frozen=True)
class Audited:
    """A page to check: who looks (a login and password, or nobody) and where."""

    name: str
    login: tuple[str, str] | None
    path: str
    then: Callable[[Page], None] | None = None  # what to do there to reach the page
    reached: str | None = None                  # that page's path (default: `path`)


def line_path(line: str | None) -> str:
    assert line is not None
    return f"/portal/lines/{quote(line, safe='')}"


def put(op_api: httpx.Client, path: str, body: dict[str, Any]) -> None:
    answer = op_api.put(path, json=body)
    assert answer.status_code in (200, 201), f"{path}: {answer.status_code} {answer.text}"


@pytest.fixture(scope="module")
def audit_lines(op_api: httpx.Client) -> None:
    """The audit account: its admin, a pay-per-use line past its limit and an
    internet-unlimited line (idempotent PUTs; the usage has fresh ids)."""
    put(op_api, f"/api/v1/accounts/{AUDIT_ACCOUNT}", {"name": "Audit NV", "kind": "business"})
    put(op_api, f"/api/v1/accounts/{AUDIT_ACCOUNT}/users/{AUDIT_ADMIN[0]}",
        {"password": AUDIT_ADMIN[1], "role": "admin", "language": "en"})
    for line, plan in ((PAYG_LINE, "payg"), (INTERNET_LINE, "internet-unlimited")):
        put(op_api, f"/api/v1/lines/{quote(line, safe='')}",
            {"account_id": AUDIT_ACCOUNT, "plan": plan})
    put(op_api, f"/api/v1/lines/{quote(PAYG_LINE, safe='')}/spending-limit",
        {"amount_eur": PAYG_LIMIT_EUR})
    now = datetime.now(UTC).isoformat()
    records = [{"id": f"a11y-{uuid.uuid4().hex}", "line": PAYG_LINE, "service": "data",
                "quantity": PAYG_DATA_MB * 1_000_000, "at": now},
               {"id": f"a11y-{uuid.uuid4().hex}", "line": INTERNET_LINE, "service": "data",
                "quantity": 40_000_000_000, "at": now}]
    answer = op_api.post("/api/v1/usage", json=records)
    assert answer.status_code == 200, answer.text
    limit = op_api.get(f"/api/v1/lines/{quote(PAYG_LINE, safe='')}/spending-limit")
    assert limit.status_code == 200, limit.text
    assert limit.json()["reached"] is True, limit.text


def apply_a_rule_to_every_line(page: Page) -> None:
    """The fleet's bulk change: every shown line, a 90 % notification (the pay-per-use
    line is skipped: it has no bundle), so the result lists each outcome."""
    boxes = page.locator("#fleet input[name=line]")
    for index in range(boxes.count()):
        boxes.nth(index).check()
    rules = page.locator("#bulk-rules")
    rules.locator("input[name=pct][value='90']").check()
    rules.locator("button[name=change]").click()


DEMO_ADMIN = (ADMIN.login, ADMIN.password)
AUDIT = (AUDIT_ADMIN[0], AUDIT_ADMIN[1])
PAGES = [
    Audited("login", None, "/portal/login"),
    Audited("fleet", DEMO_ADMIN, "/portal"),
    Audited("fleet-payg-at-limit", AUDIT, "/portal"),
    Audited("line-bundle-user", (ALICE.login, ALICE.password), line_path(ALICE.line)),
    Audited("line-bundle-admin", DEMO_ADMIN, line_path(ALICE.line)),
    Audited("line-payg-limit-reached", AUDIT, line_path(PAYG_LINE)),
    Audited("line-internet-unlimited", AUDIT, line_path(INTERNET_LINE)),
    Audited("error", DEMO_ADMIN, line_path("+32479999999")),
    Audited("audit-account", DEMO_ADMIN, "/portal/audit"),
    Audited("audit-line", DEMO_ADMIN, line_path(ALICE.line) + "/audit"),
    Audited("records", (ALICE.login, ALICE.password), line_path(ALICE.line) + "/records"),
    Audited("account", (ALICE.login, ALICE.password), "/portal/account"),
    Audited("account-admin", DEMO_ADMIN, "/portal/account"),     # with the reset form
    Audited("bulk-result", AUDIT, "/portal", then=apply_a_rule_to_every_line,
            reached="/portal/fleet/bulk"),
]


def token_of(base_url: str, login: tuple[str, str]) -> str:
    answer = httpx.post(f"{base_url}/api/v1/auth/login", timeout=10.0,
                        json={"login": login[0], "password": login[1]})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


@pytest.fixture(scope="module")
def tokens(base_url: str, audit_lines: None) -> Callable[[tuple[str, str]], str]:
    """A login token per user, made once (the portal's session cookie holds one)."""
    made: dict[tuple[str, str], str] = {}

    def token(login: tuple[str, str]) -> str:
        if login not in made:
            made[login] = token_of(base_url, login)
        return made[login]
    return token


@pytest.fixture(scope="module")
def axe_source(audit_peer: Path) -> Path:
    source = audit_peer / "node_modules" / "axe-core" / "axe.min.js"
    assert source.is_file(), f"{source} is missing: run scripts/ensure-node-peers.sh"
    return source


def open_context(browser: Browser, base_url: str, width: int, lang: str,
                 axe: Path) -> BrowserContext:
    context = browser.new_context(base_url=base_url,
                                  viewport={"width": width, "height": WIDTHS[width]},
                                  locale={"en": "en-GB", "fr": "fr-BE", "nl": "nl-BE"}[lang])
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS * 2)
    context.add_init_script(path=str(axe))
    context.add_cookies([{"name": "conso_lang", "value": lang, "url": base_url}])
    return context


def report(name: str, violations: list[dict[str, Any]]) -> list[str]:
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            lines.append(f"{name}: {violation['id']} ({violation['impact']}) at "
                         f"{node['target']}: {node['html'][:160]}\n    {violation['help']} "
                         f"{violation['helpUrl']}\n    {node['summary']}")
    return lines


def audit(page: Page, audited: Audited) -> list[str]:
    """axe's faults on the page."""
    answer = page.goto(audited.path)
    assert answer is not None
    if audited.then is not None:
        with page.expect_navigation() as navigation:
            audited.then(page)
        answer = navigation.value
        assert answer is not None
    # The error page is meant to answer 404; any other page must render, as itself (a
    # session that did not take would show the login page instead).
    assert answer.status < 500, f"{audited.name}: {audited.path} answered {answer.status}"
    assert unquote(urlsplit(page.url).path) == unquote(audited.reached or audited.path), \
        (audited.name, page.url)
    assert page.evaluate("() => typeof axe") == "object", "axe-core was not injected"
    return report(audited.name, page.evaluate(RUN_AXE_JS, WCAG_TAGS))


@pytest.fixture
def contexts(browser: Browser, base_url: str,
             axe_source: Path) -> Iterator[Callable[[int, str], BrowserContext]]:
    opened: list[BrowserContext] = []

    def new(width: int, lang: str) -> BrowserContext:
        context = open_context(browser, base_url, width, lang, axe_source)
        opened.append(context)
        return context
    try:
        yield new
    finally:
        for context in opened:
            context.close()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_portal_page_has_no_wcag_21_a_or_aa_violation(
        contexts: Callable[[int, str], BrowserContext], tokens: Callable[[tuple[str, str]], str],
        base_url: str, lang: str, width: int) -> None:
    faults: list[str] = []
    by_login: dict[tuple[str, str] | None, Page] = {}
    for audited in PAGES:
        page = by_login.get(audited.login)
        if page is None:
            context = contexts(width, lang)
            if audited.login is not None:
                context.add_cookies([{"name": "conso_session", "url": base_url,
                                      "value": tokens(audited.login)}])
            page = by_login[audited.login] = context.new_page()
        faults += audit(page, audited)
    print(f"\naxe-core {lang} {width}px: {len(PAGES)} pages, {len(faults)} faults")
    for fault in faults:
        print(fault)
    assert not faults, f"{len(faults)} WCAG 2.1 A/AA faults ({lang}, {width} px):\n" + \
        "\n".join(faults)


def test_the_checker_reports_a_fault_when_there_is_one(
        contexts: Callable[[int, str], BrowserContext]) -> None:
    """The harness itself: a field without a label, added to the login page, is found."""
    page = contexts(1280, "en").new_page()
    page.goto("/portal/login")
    page.evaluate("""() => document.querySelector("main").appendChild(
        Object.assign(document.createElement("input"), { id: "unlabelled" }))""")
    faults = report("login+unlabelled", page.evaluate(RUN_AXE_JS, WCAG_TAGS))
    assert any(" label " in fault and "#unlabelled" in fault for fault in faults), faults
