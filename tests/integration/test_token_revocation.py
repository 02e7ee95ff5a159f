"""A user's tokens end with the credentials they were opened with (api.md, "Provisioning"):
a new password or a new role revokes every token of the user, API and portal sessions
alike, in the transaction that changes them; what changes neither keeps them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from .helpers import PASSWORD, Api, Server, assert_problem, login

NEW_PASSWORD = PASSWORD + "-2"


def put_user(op: httpx.Client, account_id: str, user: str, **body: Any) -> None:
    answer = op.put(f"/api/v1/accounts/{account_id}/users/{user}", json=body)
    assert answer.status_code == 200, answer.text


def usable(server: Server, token: str) -> bool:
    with server.client(token) as client:
        answer = client.get("/api/v1/me")
    if answer.status_code == 401:
        return False
    assert answer.status_code == 200, answer.text
    return True


@contextmanager
def portal_session(server: Server, user: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """A browser-like client logged in through the portal's form."""
    with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
        form = client.get("/portal/login")
        found = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert found, form.text
        answer = client.post("/portal/login", data={"login": user, "password": password,
                                                    "csrf": found.group(1)})
        assert answer.status_code == 303, answer.text
        assert client.cookies.get("conso_session")
        yield client


def test_a_new_password_revokes_every_token_of_the_user(
    server: Server, op: httpx.Client, api: Api
) -> None:
    account_id = api.account()
    user = api.user(account_id)
    other = api.user(account_id)
    tokens = [login(server, user), login(server, user)]
    others = login(server, other)
    assert all(usable(server, t) for t in tokens)

    put_user(op, account_id, user, password=NEW_PASSWORD, role="user")

    assert [usable(server, t) for t in tokens] == [False, False]
    assert usable(server, others)                      # another user's session goes on
    assert usable(server, login(server, user, NEW_PASSWORD))
    refused = httpx.post(f"{server.base_url}/api/v1/auth/login",
                         json={"login": user, "password": PASSWORD}, timeout=30.0)
    assert_problem(refused, 401)


@pytest.mark.parametrize(("before", "after"), [("user", "admin"), ("admin", "user")])
def test_a_new_role_revokes_every_token_of_the_user(
    server: Server, op: httpx.Client, api: Api, before: str, after: str
) -> None:
    account_id = api.account()
    user = api.user(account_id, role=before)
    token = login(server, user)
    assert usable(server, token)

    put_user(op, account_id, user, role=after)         # no password: only the role changes

    assert not usable(server, token)
    with server.client(login(server, user)) as client:  # the same password still logs in
        assert client.get("/api/v1/me").json()["role"] == after


def test_the_portal_session_ends_with_a_new_password(
    server: Server, op: httpx.Client, api: Api
) -> None:
    account_id = api.account()
    user = api.user(account_id, role="admin")
    with portal_session(server, user) as browser:
        assert browser.get("/portal").status_code == 200
        put_user(op, account_id, user, password=NEW_PASSWORD, role="admin")
        answer = browser.get("/portal")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/portal/login"


@pytest.mark.parametrize("change", [
    {"password": PASSWORD, "role": "user"},                       # the same PUT again
    {"role": "user", "email": "someone@example.com", "language": "nl"},
])
def test_what_changes_neither_password_nor_role_keeps_the_sessions(
    server: Server, op: httpx.Client, api: Api, change: dict[str, Any]
) -> None:
    account_id = api.account()
    user = api.user(account_id, role="user")
    token = login(server, user)

    put_user(op, account_id, user, **change)

    assert usable(server, token)
    assert usable(server, login(server, user))         # the password is still the same


def test_a_refused_change_revokes_nothing(server: Server, op: httpx.Client, api: Api) -> None:
    account_id = api.account()
    user = api.user(account_id)
    token = login(server, user)
    # The login belongs to another account: a conflict, and nothing changes.
    answer = op.put(f"/api/v1/accounts/{api.account()}/users/{user}",
                    json={"password": NEW_PASSWORD, "role": "admin"})
    assert_problem(answer, 409)
    assert usable(server, token)
