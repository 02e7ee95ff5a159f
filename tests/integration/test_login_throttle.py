"""Failed logins are throttled per login name (10 in 15 minutes), over HTTP."""

from __future__ import annotations

import httpx

from .helpers import PASSWORD, Api, assert_problem


def test_the_eleventh_failed_login_is_refused_even_with_the_right_password(
    anon: httpx.Client, api: Api,
) -> None:
    account = api.account()
    login = api.user(account)
    other = api.user(account)
    for _ in range(10):
        assert_problem(anon.post("/api/v1/auth/login",
                                 json={"login": login, "password": "wrong-password"}), 401)
    blocked = anon.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
    assert_problem(blocked, 429)
    assert blocked.headers["retry-after"] == "900"
    # Another login is not affected.
    assert anon.post("/api/v1/auth/login",
                     json={"login": other, "password": PASSWORD}).status_code == 200
