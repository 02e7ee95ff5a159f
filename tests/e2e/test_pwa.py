"""The portal as an installable app, in Chromium: manifest, icons and service worker.

Chromium itself reads the manifest (the DevTools protocol's Page.getAppManifest: its
parse errors, and the fields an install needs), the worker must be activated and control
the pages, and, with the context offline, a line page seen before is shown from the
worker's copy with its figures and the time they were fetched ("as of 14:32", in the
page's language and Brussels time) instead of the browser's error.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from conso.demo import DEMO_USERS

try:
    from playwright.sync_api import BrowserContext, Page, expect
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # pragma: no cover - the browser fixture explains what to install
    if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
        raise
    pytest.skip("the Python playwright package is missing", allow_module_level=True)

from .test_portal import line_path, log_in

USERS = {u.login: u for u in DEMO_USERS}
ADMIN, ALICE, BRUNO = USERS["admin"], USERS["alice"], USERS["bruno"]
BRUSSELS = ZoneInfo("Europe/Brussels")
WORKER_TIMEOUT_MS = 15_000
# Resolves once the page's worker is activated and controls the page.
WORKER_READY_JS = """
async () => {
  const registration = await navigator.serviceWorker.ready;
  for (let i = 0; i < 100 && !navigator.serviceWorker.controller; i++) {
    await new Promise(r => setTimeout(r, 100));
  }
  return { scope: registration.scope, state: registration.active && registration.active.state,
           controlled: Boolean(navigator.serviceWorker.controller) };
}
"""
# True once the browser's cache storage holds this page (the worker keeps it).
PAGE_KEPT_JS = """
async () => {
  for (let i = 0; i < 100; i++) {
    if (await caches.match(location.origin + location.pathname)) { return true; }
    await new Promise(r => setTimeout(r, 100));
  }
  return false;
}
"""


def worker_ready(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate(WORKER_READY_JS)
    return state


def brussels_times(start: datetime, end: datetime) -> set[str]:
    """Every HH:MM of Brussels time from `start` to `end` (aware datetimes)."""
    times = set()
    at = start.replace(second=0, microsecond=0)
    while at <= end:
        times.add(at.astimezone(BRUSSELS).strftime("%H:%M"))
        at += timedelta(minutes=1)
    return times


def test_manifest_is_linked_valid_and_installable(page: Page, base_url: str,
                                                  context: BrowserContext) -> None:
    page.goto("/portal/login")
    link = page.locator("link[rel=manifest]")
    expect(link).to_have_attribute("href", "/static/manifest.webmanifest")
    expect(page.locator("meta[name=theme-color]")).to_have_attribute("content", "#1b1f24")
    expect(page.locator("link[rel=apple-touch-icon]")).to_have_count(1)

    session = context.new_cdp_session(page)
    parsed = session.send("Page.getAppManifest")
    assert parsed["url"] == f"{base_url}/static/manifest.webmanifest"
    assert parsed["errors"] == [], parsed["errors"]
    manifest = json.loads(parsed["data"])
    assert manifest["start_url"] == "/portal"
    assert manifest["scope"] == "/portal"
    assert manifest["display"] == "standalone"
    assert manifest["short_name"] and manifest["name"]
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])

    icons = {(icon["sizes"], icon.get("purpose", "any")): icon["src"]
             for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= set(icons)
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        for (sizes, _), src in icons.items():
            answer = client.get(src)
            assert answer.status_code == 200, src
            assert answer.headers["content-type"] == "image/png"
            # PNG signature, then the IHDR chunk's width and height.
            body = answer.content
            assert body[:8] == b"\x89PNG\r\n\x1a\n", src
            width, height = int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")
            assert f"{width}x{height}" == sizes, src


def test_service_worker_is_served_for_the_portal_scope_under_its_own_policy(
        base_url: str) -> None:
    answer = httpx.get(f"{base_url}/portal/sw.js", timeout=10.0)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["service-worker-allowed"] == "/portal"
    policy = answer.headers["content-security-policy"]
    # It may fetch this origin, nothing else, and run no other script.
    assert "connect-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_service_worker_activates_and_controls_the_portal(page: Page, base_url: str) -> None:
    log_in(page, ADMIN.login, ADMIN.password)
    state = worker_ready(page)
    assert state == {"scope": f"{base_url}/portal", "state": "activated", "controlled": True}


@pytest.mark.parametrize(("user", "words"), [
    (ALICE, r"You are offline\. Figures as of "),
    (BRUNO, r"Vous êtes hors ligne\. Dernière mise à jour\s: "),
])
def test_offline_a_line_page_seen_before_shows_its_figures_and_their_time(
        page: Page, context: BrowserContext, screenshots: Path, user: Any, words: str) -> None:
    before = datetime.now(BRUSSELS)
    log_in(page, user.login, user.password)
    expect(page).to_have_url(re.compile(re.escape(line_path(user.line)) + "$"))
    assert worker_ready(page)["controlled"]
    # The first page was loaded before the worker existed: it asks the worker to keep it.
    assert page.evaluate(PAGE_KEPT_JS), "the worker did not keep the line page"
    note = page.locator("[data-offline-note]")
    expect(note).to_be_hidden()
    gauges = page.locator("#live .gauge[data-service]")
    services = gauges.evaluate_all("els => els.map(el => el.dataset.service)")
    assert {"voice", "sms", "data"} <= set(services), services

    context.set_offline(True)
    try:
        page.reload()
        after = datetime.now(BRUSSELS)
        expect(page.locator("h1")).to_contain_text(str(user.line))
        # The figures are there: every gauge of the page online, with a number used.
        expect(gauges).to_have_count(len(services))
        for service in ("voice", "sms", "data"):
            used = page.locator(f"#live .gauge[data-service='{service}'] p strong").first
            expect(used).to_have_text(re.compile(r"\d"))
        expect(note).to_be_visible()
        expect(note).to_have_text(re.compile(words + r"\d\d:\d\d\.$"))
        shown = note.locator("time").inner_text()
        assert shown in brussels_times(before, after), (shown, before, after)
        assert note.locator("time").get_attribute("datetime")
        page.screenshot(path=str(screenshots / f"offline-line-{user.login}.png"), full_page=True)

        # A page never seen is not invented: the browser's own error, not another line.
        with pytest.raises(PlaywrightError, match=r"net::ERR_"):
            page.goto("/portal/lines/%2B32470009999")
    finally:
        context.set_offline(False)


def test_back_online_the_page_is_the_servers_again(page: Page, context: BrowserContext) -> None:
    log_in(page, ALICE.login, ALICE.password)
    assert worker_ready(page)["controlled"]
    assert page.evaluate(PAGE_KEPT_JS)
    context.set_offline(True)
    try:
        page.reload()
        expect(page.locator("[data-offline-note]")).to_be_visible()
    finally:
        context.set_offline(False)
    page.reload()
    expect(page.locator("[data-offline-note]")).to_be_hidden()
    assert page.evaluate("() => document.documentElement.hasAttribute('data-offline-as-of')") \
        is False


def test_logging_out_drops_the_kept_pages(page: Page, context: BrowserContext) -> None:
    log_in(page, ALICE.login, ALICE.password)
    assert worker_ready(page)["controlled"]
    assert page.evaluate(PAGE_KEPT_JS)
    kept = page.url
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/portal/login$"))
    assert worker_ready(page)["controlled"]
    assert page.evaluate("async (url) => !(await caches.match(url))", kept)
    context.set_offline(True)
    try:
        with pytest.raises(PlaywrightError, match=r"net::ERR_"):
            page.goto(kept)
    finally:
        context.set_offline(False)
