"""Passwords (api.md, "Self-care"): a user changes theirs (PUT /me/password) and keeps
the session they changed it from, every other one ends; an admin of the account (or the
operator) resets a user's, and every session of that user ends; both audited rules of
the password as for provisioning; a wrong current password is throttled like a login."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from .helpers import PASSWORD, Api, Server, assert_problem, error_fields, login

NEW = "a-new-password-of-mine"


@dataclass(frozen=True)
class Account:
    id: str
    admin: str
    user: str


@pytest.fixture
def account(api: Api) -> Account:
    account_id = api.account()
    return Account(account_id, api.user(account_id, role="admin"), api.user(account_id))


def usable(server: Server, token: str) -> bool:
    with server.client(token) as client:
        answer = client.get("/api/v1/me")
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def can_log_in(server: Server, user: str, password: str) -> bool:
    answer = httpx.post(f"{server.base_url}/api/v1/auth/login",
                        json={"login": user, "password": password}, timeout=30,
                        headers={"X-Forwarded-For": _address()})
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def _address() -> str:
    """A client address of its own (the server trusts X-Forwarded-For from 127.0.0.1):
    this file's failed attempts do not count against other tests' address."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250 + 1}"


def change(server: Server, token: str, current: str, new: str,
           address: str | None = None) -> httpx.Response:
    with server.client(token) as client:
        return client.put("/api/v1/me/password", json={"current": current, "new": new},
                          headers={"X-Forwarded-For": address or _address()})


# -- a user changes their password -------------------------------------------------------


def test_a_new_password_keeps_this_session_and_ends_the_others(
        server: Server, account: Account) -> None:
    mine, other, another = (login(server, account.user) for _ in range(3))
    admins = login(server, account.admin)
    answer = change(server, mine, PASSWORD, NEW)
    assert answer.status_code == 204, answer.text
    assert usable(server, mine)
    assert not usable(server, other) and not usable(server, another)
    assert usable(server, admins)                   # another user's sessions stay
    assert can_log_in(server, account.user, NEW)
    assert not can_log_in(server, account.user, PASSWORD)


def test_a_wrong_current_password_is_refused_and_changes_nothing(
        server: Server, account: Account) -> None:
    mine, other = login(server, account.user), login(server, account.user)
    assert_problem(change(server, mine, PASSWORD + "-not", NEW), 403)
    assert usable(server, mine) and usable(server, other)
    assert can_log_in(server, account.user, PASSWORD)
    assert not can_log_in(server, account.user, NEW)


@pytest.mark.parametrize("new", ["short", "x" * 257, "nul\x00in-the-middle"])
def test_a_new_password_breaking_the_rules_is_a_422(
        server: Server, account: Account, new: str) -> None:
    mine = login(server, account.user)
    problem = assert_problem(change(server, mine, PASSWORD, new), 422)
    assert "new" in error_fields(problem)
    assert can_log_in(server, account.user, PASSWORD)


@pytest.mark.parametrize("body", [{}, {"current": PASSWORD}, {"new": NEW},
                                  {"current": PASSWORD, "new": NEW, "more": 1},
                                  {"current": 1, "new": NEW}])
def test_a_body_that_is_not_current_and_new_is_a_422(
        server: Server, account: Account, body: dict[str, object]) -> None:
    with server.client(login(server, account.user)) as client:
        assert_problem(client.put("/api/v1/me/password", json=body), 422)


def test_the_operator_key_has_no_password(op: httpx.Client) -> None:
    assert_problem(op.put("/api/v1/me/password", json={"current": PASSWORD, "new": NEW}), 403)


def test_without_a_token_it_is_a_401(server: Server) -> None:
    with server.client() as anon:
        assert_problem(anon.put("/api/v1/me/password",
                                json={"current": PASSWORD, "new": NEW}), 401)


def test_wrong_current_passwords_are_throttled_like_failed_logins(
        server: Server, account: Account) -> None:
    mine = login(server, account.user)
    address = _address()
    for _ in range(10):
        assert_problem(change(server, mine, "wrong-password", NEW, address), 403)
    throttled = change(server, mine, PASSWORD, NEW, address)   # even the right one, now
    assert_problem(throttled, 429)
    assert int(throttled.headers["retry-after"]) > 0
    # The login is throttled alike: the count is one.
    refused = httpx.post(f"{server.base_url}/api/v1/auth/login",
                         json={"login": account.user, "password": PASSWORD},
                         headers={"X-Forwarded-For": _address()}, timeout=30)
    assert refused.status_code == 429


def test_a_right_current_password_clears_the_count(server: Server, account: Account) -> None:
    mine = login(server, account.user)
    address = _address()
    for _ in range(9):
        assert_problem(change(server, mine, "wrong-password", NEW, address), 403)
    assert change(server, mine, PASSWORD, NEW, address).status_code == 204
    for _ in range(9):
        assert_problem(change(server, mine, "wrong-password", PASSWORD, address), 403)
    assert change(server, mine, NEW, PASSWORD, address).status_code == 204


# -- an admin resets a user's password ---------------------------------------------------


def reset(client: httpx.Client, account_id: str, user: str, new: str = NEW) -> httpx.Response:
    return client.put(f"/api/v1/accounts/{account_id}/users/{user}/password", json={"new": new})


def test_an_admin_resets_a_users_password_and_every_session_of_theirs_ends(
        server: Server, account: Account) -> None:
    sessions = [login(server, account.user) for _ in range(2)]
    admin = login(server, account.admin)
    with server.client(admin) as client:
        assert reset(client, account.id, account.user).status_code == 204
    assert not any(usable(server, token) for token in sessions)
    assert usable(server, admin)
    assert can_log_in(server, account.user, NEW)
    assert not can_log_in(server, account.user, PASSWORD)


def test_the_operator_may_reset_any_users_password(
        server: Server, op: httpx.Client, account: Account) -> None:
    session = login(server, account.admin)
    assert reset(op, account.id, account.admin).status_code == 204
    assert not usable(server, session)
    assert can_log_in(server, account.admin, NEW)


def test_a_reset_is_in_the_audit_trail(server: Server, account: Account) -> None:
    with server.client(login(server, account.admin)) as client:
        assert reset(client, account.id, account.user).status_code == 204
    entries = [row for row in _password_audit(server) if row[2].get("login") == account.user]
    assert [(actor, action) for actor, action, _ in entries] == [
        (account.admin, "password_reset")]
    assert entries[0][2]["account_id"] == account.id
    assert NEW not in str(entries[0][2])


def _password_audit(server: Server) -> list[tuple[str, str, dict[str, Any]]]:
    """The password entries of the audit trail, read from the server's database (no API
    lists the entries that are about no line)."""
    query = ("SELECT actor, action, after FROM audit_log WHERE line_id IS NULL "
             "AND action LIKE 'password%' ORDER BY seq")
    if server.url is None:
        with contextlib.closing(sqlite3.connect(server.db_path)) as conn:
            rows = conn.execute(query).fetchall()
    else:
        import psycopg

        with psycopg.connect(server.url) as pg:
            rows = pg.execute(query).fetchall()
    return [(actor, action, orjson.loads(after)) for actor, action, after in rows]


def test_a_plain_user_may_not_reset_a_password(server: Server, account: Account) -> None:
    with server.client(login(server, account.user)) as client:
        assert_problem(reset(client, account.id, account.user), 403)
        assert_problem(reset(client, account.id, account.admin), 403)
    assert can_log_in(server, account.admin, PASSWORD)


def test_an_admin_cannot_see_the_users_of_another_account(
        server: Server, api: Api, account: Account) -> None:
    other = api.account()
    stranger = api.user(other)
    with server.client(login(server, account.admin)) as client:
        assert_problem(reset(client, other, stranger), 404)
        assert_problem(reset(client, account.id, stranger), 404)     # not in this account
        assert_problem(reset(client, account.id, "nobody-" + uuid.uuid4().hex[:8]), 404)
    assert can_log_in(server, stranger, PASSWORD)


def test_a_reset_password_follows_the_rules(server: Server, op: httpx.Client,
                                            account: Account) -> None:
    for bad in ("short", "nul\x00in-the-middle"):
        problem = assert_problem(reset(op, account.id, account.user, bad), 422)
        assert "new" in error_fields(problem)
    assert can_log_in(server, account.user, PASSWORD)
