"""The portal and /docs in a real browser under their Content-Security-Policy.

/docs renders Swagger UI's list of operations from this origin alone (no CDN), and the
browser reports no violation of the policy, there or on the portal's pages (live
updates included). No other site can frame a portal page.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from conso.demo import DEMO_USERS

try:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, expect
except ImportError:  # pragma: no cover - the browser fixture explains what to install
    if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
        raise
    pytest.skip("the Python playwright package is missing", allow_module_level=True)

from .test_portal import line_path, log_in

USERS = {u.login: u for u in DEMO_USERS}
ADMIN, DIRK = USERS["admin"], USERS["dirk"]
LIVE_TIMEOUT_MS = 10_000
# Every `securitypolicyviolation` event of a page, kept where the test can read it.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@dataclass
class Watch:
    """What a page asked for and what the browser complained about."""

    origin: str
    foreign: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob") and f"{parts.scheme}://{parts.netloc}" != \
                self.origin:
            self.foreign.append(request.url)

    def message(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            self.console.append(f"{message.type}: {message.text}")

    def violations(self, page: Page) -> list[str]:
        found: list[str] = page.evaluate("window.__violations || []")
        csp_console = [m for m in self.console if "Content Security Policy" in m]
        return found + csp_console


@pytest.fixture
def watch(context: BrowserContext, base_url: str) -> Iterator[Watch]:
    seen = Watch(base_url.rstrip("/"))
    context.add_init_script(WATCH_VIOLATIONS)
    context.on("request", seen.request)
    context.on("console", seen.message)
    yield seen


def test_docs_renders_the_operations_from_this_origin_only(page: Page, watch: Watch) -> None:
    answer = page.goto("/docs")
    assert answer is not None and answer.status == 200
    csp = answer.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("conso")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() > 20
    usage = page.locator(".opblock-post", has=page.locator(
        ".opblock-summary-path", has_text=re.compile(r"^/api/v1/usage$")))
    expect(usage).to_have_count(1)
    usage.locator(".opblock-summary").click()          # open it: parameters, responses
    expect(usage.locator(".responses-wrapper")).to_be_visible()
    page.locator(".models, .opblock-tag").first.wait_for()
    assert watch.foreign == []
    assert watch.violations(page) == []
    assert watch.console == []


def test_portal_pages_raise_no_policy_violation(page: Page, watch: Watch) -> None:
    log_in(page, ADMIN.login, ADMIN.password)
    expect(page.locator("#fleet tbody tr[data-search]").first).to_be_visible()
    page.goto(line_path(DIRK.line))
    bar = page.locator("#live .gauge[data-service='sms'] .bar span")
    expect(bar).to_have_attribute("class", re.compile(r"^pct-\d+$"))
    # The length comes from the class's rule, not from a style attribute.
    percent = int(str(bar.get_attribute("class")).removeprefix("pct-"))
    ratio = page.evaluate(
        "(el) => el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect()"
        ".width", bar.element_handle())
    assert abs(ratio - percent / 100) < 0.02, (ratio, percent)
    # A live refresh replaces the fragment (innerHTML): still nothing blocked.
    page.evaluate("document.querySelector('#live').__old = document.querySelector("
                  "'#live .gauges')")
    page.wait_for_function(   # a function: the page's CSP forbids eval of an expression
        "() => document.querySelector('#live .gauges') !== document.querySelector('#live').__old",
        timeout=LIVE_TIMEOUT_MS)
    assert watch.foreign == []
    assert watch.violations(page) == []


@pytest.fixture
def framing_site(base_url: str) -> Iterator[str]:
    """Another site on the portal's host (another port: the same site to the browser,
    which sends the Lax session cookie along), whose page frames the barring form."""
    target = f"{base_url}{line_path(DIRK.line)}"
    body = f'<!doctype html><iframe id="victim" src="{target}"></iframe>'.encode()

    class Framing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    host = urlsplit(base_url).hostname or "127.0.0.1"
    httpd = ThreadingHTTPServer((host, 0), Framing)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{httpd.server_address[1]}/framing.html"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_no_page_can_frame_the_logged_in_barring_form(context: BrowserContext, base_url: str,
                                                     framing_site: str) -> None:
    page = context.new_page()
    log_in(page, ADMIN.login, ADMIN.password)
    expect(page.locator("#fleet")).to_be_visible()
    page.goto(framing_site)
    page.wait_for_load_state("load")
    assert len(page.frames) == 2                      # the frame is there...
    framed = [f for f in page.frames if f.url.startswith(base_url)]
    # ...but the browser refused to show the portal in it (its own error page instead).
    assert all(f.locator("form, #live").count() == 0 for f in framed), [f.url for f in framed]
