"""An admin resets the password of a user of their account from the portal's account page
(issue #16, "an admin resets a user's password; every other token of that user is
revoked"), in Chromium at 1280 and 390 px: the user's sessions end, the new password
works, the reset is on the audit trail, and nobody else can do it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from tests.e2e.test_portal_line import (
    PASSWORD,
    log_in,
    no_sideways_scroll,
    pages_of_width,
    shot,
)


@pytest.fixture
def at_width(browser: Browser, base_url: str) -> Iterator[Any]:
    yield from pages_of_width(browser, base_url)


def new_account(op_api: httpx.Client) -> tuple[str, str, str, str]:
    """An account with an admin, a user and, in another account, a stranger."""
    tag = uuid.uuid4().hex[:8]
    account, admin, user, stranger = (f"reset-{tag}", f"boss-{tag}", f"worker-{tag}",
                                      f"other-{tag}")
    for acct in (account, f"{account}-b"):
        assert op_api.put(f"/api/v1/accounts/{acct}",
                          json={"name": "Reset", "kind": "business"}).status_code == 201
    for login, role, acct in ((admin, "admin", account), (user, "user", account),
                              (stranger, "user", f"{account}-b")):
        answer = op_api.put(f"/api/v1/accounts/{acct}/users/{login}",
                            json={"password": PASSWORD, "role": role})
        assert answer.status_code == 201, answer.text
    return account, admin, user, stranger


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_resets_a_users_password_and_the_users_sessions_end(
        at_width: Any, op_api: httpx.Client, screenshots: Path, width: int) -> None:
    _, admin, user, _ = new_account(op_api)
    fresh = f"fresh-{uuid.uuid4().hex[:10]}"
    user_page = at_width(1280)
    log_in(user_page, user)
    page = at_width(width)
    log_in(page, admin)
    page.goto("/portal/account")
    form = page.locator("#reset form")
    form.get_by_label("User").select_option(user)
    form.get_by_label("New password", exact=True).fill(fresh)
    form.get_by_label("New password again").fill(fresh + "x")
    form.get_by_role("button").click()
    expect(page.get_by_role("alert")).to_have_text("The two new passwords differ.")
    expect(page.locator("#reset-confirm")).to_have_attribute("aria-invalid", "true")
    user_page.reload()
    expect(user_page).not_to_have_url(re.compile(r"/portal/login$"))   # nothing changed

    form = page.locator("#reset form")
    form.get_by_label("User").select_option(user)
    form.get_by_label("New password", exact=True).fill(fresh)
    form.get_by_label("New password again").fill(fresh)
    form.get_by_role("button").click()
    expect(page.locator("#reset [role=status]")).to_contain_text(user)
    no_sideways_scroll(page)
    shot(page, screenshots, "password-reset", "done", width=width, language="en")
    user_page.reload()
    expect(user_page).to_have_url(re.compile(r"/portal/login$"))       # signed out
    log_in(user_page, user, fresh)
    assert op_api.post("/api/v1/auth/login",
                       json={"login": user, "password": PASSWORD}).status_code == 401


def test_only_an_admin_of_the_users_account_may_reset_it(at_width: Any,
                                                        op_api: httpx.Client) -> None:
    _, admin, user, stranger = new_account(op_api)
    as_user = at_width(1280)
    log_in(as_user, user)
    as_user.goto("/portal/account")
    assert as_user.locator("#reset").count() == 0
    token = as_user.locator("input[name=csrf]").first.get_attribute("value")
    refused = as_user.request.post("/portal/account/reset", max_redirects=0, form={
        "csrf": token or "", "login": admin, "new": "takeover-123", "confirm": "takeover-123"})
    assert refused.status == 403
    as_admin = at_width(1280)
    log_in(as_admin, admin)
    as_admin.goto("/portal/account")
    options = as_admin.locator("#reset-login option").all_inner_texts()
    assert any(user in o for o in options) and not any(stranger in o for o in options)
    token = as_admin.locator("input[name=csrf]").first.get_attribute("value")
    elsewhere = as_admin.request.post("/portal/account/reset", max_redirects=0, form={
        "csrf": token or "", "login": stranger, "new": "takeover-123",
        "confirm": "takeover-123"})
    assert elsewhere.status == 404
    assert op_api.post("/api/v1/auth/login",
                       json={"login": stranger, "password": PASSWORD}).status_code == 200
