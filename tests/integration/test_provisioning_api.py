"""Provisioning over HTTP (api.md, "Provisioning"): accounts, users, lines, plans."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import UserClientFactory
from .helpers import (
    PASSWORD,
    PROBLEM_JSON,
    Api,
    assert_problem,
    error_fields,
    new_id,
    new_number,
)

REFERENCE_PLANS = {"king", "kong", "king-business", "kong-business", "payg",
                   "internet-150", "internet-unlimited"}


# -- accounts --------------------------------------------------------------------------


def test_put_account_creates_then_updates(op: httpx.Client) -> None:
    account_id = new_id("acct")
    created = op.put(f"/api/v1/accounts/{account_id}",
                     json={"name": "Acme", "kind": "business"})
    assert created.status_code == 201, created.text
    assert created.json() == {"id": account_id, "name": "Acme", "kind": "business"}

    updated = op.put(f"/api/v1/accounts/{account_id}",
                     json={"name": "Acme Belgium", "kind": "business"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Acme Belgium"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Acme", "kind": "company"}, "kind"),
        ({"name": "Acme"}, "kind"),
        ({"name": "Acme", "kind": "business", "colour": "red"}, "colour"),
        ({"name": "", "kind": "business"}, "name"),
    ],
    ids=["bad-kind", "missing-kind", "unknown-field", "empty-name"],
)
def test_put_account_rejects_bad_body(op: httpx.Client, body: dict[str, Any],
                                      field: str) -> None:
    problem = assert_problem(op.put(f"/api/v1/accounts/{new_id('acct')}", json=body), 422)
    assert field in error_fields(problem)


def test_put_account_rejects_bad_id(op: httpx.Client) -> None:
    problem = assert_problem(
        op.put("/api/v1/accounts/bad id!", json={"name": "Acme", "kind": "business"}), 422)
    assert "account_id" in error_fields(problem)


def test_put_account_body_that_is_not_json(op: httpx.Client) -> None:
    answer = op.put(f"/api/v1/accounts/{new_id('acct')}", content=b"{not json",
                    headers={"Content-Type": "application/json"})
    assert_problem(answer, 422)


# -- users -----------------------------------------------------------------------------


def test_put_user_creates_then_updates_without_password_in_answer(
    op: httpx.Client, api: Api
) -> None:
    account_id = api.account()
    login = new_id("alice")
    created = op.put(f"/api/v1/accounts/{account_id}/users/{login}",
                     json={"password": PASSWORD, "role": "user", "email": "alice@example.com",
                           "language": "fr"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["login"] == login
    assert body["account_id"] == account_id
    assert body["role"] == "user"
    assert body["language"] == "fr"
    assert not any("password" in key for key in body), body
    assert PASSWORD not in created.text

    updated = op.put(f"/api/v1/accounts/{account_id}/users/{login}",
                     json={"password": PASSWORD + "2", "role": "admin"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["role"] == "admin"
    assert not any("password" in key for key in updated.json())


def test_put_user_without_password_keeps_the_old_one(
    op: httpx.Client, api: Api, user_client: UserClientFactory
) -> None:
    account_id = api.account()
    login = api.user(account_id, role="user")
    answer = op.put(f"/api/v1/accounts/{account_id}/users/{login}", json={"role": "admin"})
    assert answer.status_code == 200, answer.text
    me = user_client(login).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["role"] == "admin"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "short", "role": "user"}, "password"),
        ({"password": PASSWORD + "\u0000", "role": "user"}, "password"),
        ({"password": PASSWORD, "role": "boss"}, "role"),
        ({"password": PASSWORD, "role": "user", "language": "de"}, "language"),
        ({"password": PASSWORD, "role": "user", "email": "not-an-address"}, "email"),
        ({"password": PASSWORD, "role": "user", "phone": "+32470000000"}, "phone"),
        ({"role": "user"}, "password"),
    ],
    ids=["short-password", "nul-in-password", "bad-role", "bad-language", "bad-email",
         "unknown-field",
         "new-user-without-password"],
)
def test_put_user_rejects_bad_body(op: httpx.Client, api: Api, body: dict[str, Any],
                                   field: str) -> None:
    account_id = api.account()
    answer = op.put(f"/api/v1/accounts/{account_id}/users/{new_id('u')}", json=body)
    assert field in error_fields(assert_problem(answer, 422))


def test_put_user_in_unknown_account(op: httpx.Client) -> None:
    answer = op.put(f"/api/v1/accounts/{new_id('ghost')}/users/{new_id('u')}",
                    json={"password": PASSWORD, "role": "user"})
    assert "account_id" in error_fields(assert_problem(answer, 422))


def test_login_taken_by_another_account_is_a_conflict(op: httpx.Client, api: Api) -> None:
    first, second = api.account(), api.account()
    login = api.user(first)
    answer = op.put(f"/api/v1/accounts/{second}/users/{login}",
                    json={"password": PASSWORD, "role": "user"})
    assert_problem(answer, 409)
    # The user still belongs to the first account.
    again = op.put(f"/api/v1/accounts/{first}/users/{login}", json={"role": "user"})
    assert again.status_code == 200
    assert again.json()["account_id"] == first


# -- lines -----------------------------------------------------------------------------


def test_put_line_creates_then_changes_plan(op: httpx.Client, api: Api) -> None:
    account_id = api.account()
    user = api.user(account_id)
    number = new_number()
    created = op.put(f"/api/v1/lines/{number}",
                     json={"account_id": account_id, "plan": "king", "user": user,
                           "cycle_day": 15})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"] == number
    assert body["account_id"] == account_id
    assert body["plan"] == "king"
    assert body["user"] == user
    assert body["cycle_day"] == 15

    changed = op.put(f"/api/v1/lines/{number}",
                     json={"account_id": account_id, "plan": "kong", "user": user,
                           "cycle_day": 15})
    assert changed.status_code == 200, changed.text
    assert changed.json()["plan"] == "kong"

    read = op.get(f"/api/v1/lines/{number}")
    assert read.status_code == 200
    assert read.json()["plan"] == "kong"
    assert read.json()["cycle_day"] == 15
    assert [p["plan"] for p in read.json()["plan_history"]] == ["king", "kong"]


def test_plan_change_without_user_keeps_the_user(op: httpx.Client, api: Api) -> None:
    account_id = api.account()
    user = api.user(account_id)
    number = api.line(account_id, "king", user=user, cycle_day=9)
    changed = op.put(f"/api/v1/lines/{number}", json={"account_id": account_id, "plan": "kong"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["cycle_day"] == 9
    assert changed.json()["user"] == user


def test_put_line_same_again_is_200(op: httpx.Client, api: Api) -> None:
    account_id = api.account()
    number = api.line(account_id, "payg")
    again = op.put(f"/api/v1/lines/{number}", json={"account_id": account_id, "plan": "payg"})
    assert again.status_code == 200, again.text
    assert again.json()["plan"] == "payg"


def test_put_internet_line_with_free_id(op: httpx.Client, api: Api) -> None:
    account_id = api.account("residential")
    line_id = new_id("inet")
    answer = op.put(f"/api/v1/lines/{line_id}",
                    json={"account_id": account_id, "plan": "internet-150"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["plan"] == "internet-150"


@pytest.mark.parametrize(
    ("line_id", "body", "field"),
    [
        (None, {"plan": "gold"}, "plan"),
        (None, {"account_id": "no-such-account"}, "account_id"),
        ("32470000001", {}, "line_id"),
        ("+3247abc0001", {}, "line_id"),
        ("+0470000001", {}, "line_id"),
        (None, {"cycle_day": 0}, "cycle_day"),
        (None, {"cycle_day": 29}, "cycle_day"),
        (None, {"cycle_day": "5"}, "cycle_day"),
        (None, {"user": "nobody-here"}, "user"),
        (None, {"colour": "red"}, "colour"),
    ],
    ids=["unknown-plan", "unknown-account", "no-plus", "letters", "leading-zero",
         "cycle-day-0", "cycle-day-29", "cycle-day-string", "unknown-user", "unknown-field"],
)
def test_put_line_rejects_bad_input(op: httpx.Client, api: Api, line_id: str | None,
                                    body: dict[str, Any], field: str) -> None:
    account_id = api.account()
    payload = {"account_id": account_id, "plan": "king", **body}
    answer = op.put(f"/api/v1/lines/{line_id or new_number()}", json=payload)
    assert field in error_fields(assert_problem(answer, 422))


def test_put_line_with_user_of_another_account(op: httpx.Client, api: Api) -> None:
    mine, theirs = api.account(), api.account()
    stranger = api.user(theirs)
    answer = op.put(f"/api/v1/lines/{new_number()}",
                    json={"account_id": mine, "plan": "king", "user": stranger})
    assert "user" in error_fields(assert_problem(answer, 422))


def test_line_cannot_move_to_another_account(op: httpx.Client, api: Api) -> None:
    first, second = api.account(), api.account()
    number = api.line(first)
    assert_problem(op.put(f"/api/v1/lines/{number}",
                          json={"account_id": second, "plan": "king"}), 409)


def test_mobile_line_cannot_become_internet(op: httpx.Client, api: Api) -> None:
    account_id = api.account()
    number = api.line(account_id)
    assert_problem(op.put(f"/api/v1/lines/{number}",
                          json={"account_id": account_id, "plan": "internet-150"}), 409)


def test_get_unknown_line_is_404(op: httpx.Client) -> None:
    assert_problem(op.get(f"/api/v1/lines/{new_number()}"), 404)


# -- plans -----------------------------------------------------------------------------


def test_plans_lists_the_reference_catalogue(op: httpx.Client) -> None:
    answer = op.get("/api/v1/plans")
    assert answer.status_code == 200, answer.text
    plans = {plan["id"]: plan for plan in answer.json()}
    assert set(plans) == REFERENCE_PLANS
    for plan in plans.values():
        assert set(plan) >= {"id", "name", "kind", "included", "rates", "spending_limits"}
    assert plans["king"]["kind"] == "bundle"
    assert plans["king"]["included"] == {"voice": 18000, "sms": 500, "data": 10**10}
    assert plans["payg"]["kind"] == "payg"
    assert plans["payg"]["spending_limits"] == [5, 10, 20, 50]
    assert plans["internet-150"]["kind"] == "internet"


# -- authentication and authorization -----------------------------------------------


@pytest.fixture(scope="module")
def account_admin(api: Api) -> str:
    return api.user(api.account(), role="admin")


PROVISIONING_CALLS = [
    ("PUT", "/api/v1/accounts/{new}", {"name": "X", "kind": "business"}),
    ("PUT", "/api/v1/accounts/{account}/users/{new}", {"password": PASSWORD, "role": "user"}),
    ("PUT", "/api/v1/lines/{number}", {"account_id": "{account}", "plan": "king"}),
]


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    return template


@pytest.mark.parametrize(("method", "path", "body"), PROVISIONING_CALLS,
                         ids=["account", "user", "line"])
def test_user_token_on_provisioning_is_403(
    user_client: UserClientFactory, account_admin: str, method: str, path: str,
    body: dict[str, Any],
) -> None:
    # Even an account admin may not provision, not even inside their own account.
    client = user_client(account_admin)
    me = client.get("/api/v1/me").json()
    values = {"new": new_id("x"), "account": me["account_id"], "number": new_number()}
    answer = client.request(method, _fill(path, values), json=_fill(body, values))
    assert_problem(answer, 403)


@pytest.mark.parametrize(("method", "path", "body"), PROVISIONING_CALLS,
                         ids=["account", "user", "line"])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Bearer"],
                         ids=["none", "wrong", "empty"])
def test_provisioning_without_valid_token_is_401(
    server_url: str, authorization: str | None, method: str, path: str, body: dict[str, Any],
) -> None:
    values = {"new": new_id("x"), "account": new_id("x"), "number": new_number()}
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = httpx.request(method, server_url + _fill(path, values), json=_fill(body, values),
                           headers=headers)
    assert_problem(answer, 401)


def test_bad_body_without_token_is_401_not_422(anon: httpx.Client) -> None:
    """An unauthenticated caller learns nothing, not even what a valid body looks like."""
    answer = anon.put(f"/api/v1/accounts/{new_id('x')}", json={"kind": "nonsense"})
    assert_problem(answer, 401)


def test_basic_auth_with_the_operator_key_is_401(server_url: str, op: httpx.Client) -> None:
    key = op.headers["Authorization"].removeprefix("Bearer ")
    answer = httpx.get(f"{server_url}/api/v1/plans", headers={"Authorization": f"Basic {key}"})
    assert_problem(answer, 401)


def test_plans_need_a_token(anon: httpx.Client) -> None:
    assert_problem(anon.get("/api/v1/plans"), 401)


def test_user_token_on_plans_is_403(user_client: UserClientFactory, account_admin: str) -> None:
    assert_problem(user_client(account_admin).get("/api/v1/plans"), 403)


def test_error_bodies_are_problem_json(op: httpx.Client, anon: httpx.Client) -> None:
    """Each kind of error answer the provisioning routes give is RFC 9457."""
    answers = [
        anon.get("/api/v1/plans"),                                         # 401
        op.put(f"/api/v1/accounts/{new_id('x')}", json={"kind": "x"}),     # 422
        op.get(f"/api/v1/lines/{new_number()}"),                           # 404
        op.delete("/api/v1/plans"),                                        # 405
    ]
    for answer, status in zip(answers, (401, 422, 404, 405), strict=True):
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        assert_problem(answer, status)


# -- the SIM's IMSI (diameter.md, nchf.md) ------------------------------------------------


def _imsi() -> str:
    return "20601" + new_number()[-10:]   # unique per test run, 15 digits


def test_a_line_keeps_its_imsi_until_told_otherwise(op: httpx.Client, api: Api) -> None:
    account_id = api.account()
    number, imsi = new_number(), _imsi()
    created = op.put(f"/api/v1/lines/{number}",
                     json={"account_id": account_id, "plan": "payg", "imsi": imsi})
    assert created.status_code == 201, created.text
    assert created.json()["imsi"] == imsi
    # A PUT that leaves `imsi` out keeps it; null removes it.
    kept = op.put(f"/api/v1/lines/{number}", json={"account_id": account_id, "plan": "king"})
    assert kept.json()["imsi"] == imsi
    assert op.get(f"/api/v1/lines/{number}").json()["imsi"] == imsi
    removed = op.put(f"/api/v1/lines/{number}",
                     json={"account_id": account_id, "plan": "king", "imsi": None})
    assert removed.json()["imsi"] is None


def test_an_imsi_names_one_line(op: httpx.Client, api: Api) -> None:
    account_id = api.account()
    imsi = _imsi()
    first = api.line(account_id, "payg")
    assert op.put(f"/api/v1/lines/{first}", json={
        "account_id": account_id, "plan": "payg", "imsi": imsi}).status_code == 200
    second = new_number()
    taken = op.put(f"/api/v1/lines/{second}",
                   json={"account_id": account_id, "plan": "payg", "imsi": imsi})
    assert_problem(taken, 409)
    assert op.get(f"/api/v1/lines/{second}").status_code == 404   # nothing created


@pytest.mark.parametrize("imsi", ["12345", "1234567890123456", "20601abc", "+206011234567",
                                  206011])
def test_an_imsi_is_6_to_15_digits(op: httpx.Client, api: Api, imsi: object) -> None:
    account_id = api.account()
    problem = assert_problem(op.put(f"/api/v1/lines/{new_number()}", json={
        "account_id": account_id, "plan": "payg", "imsi": imsi}), 422)
    assert "imsi" in error_fields(problem)
