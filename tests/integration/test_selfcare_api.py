"""Self-care (api.md, "Self-care"): login, /me, who sees which line and account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest

from .conftest import UserClientFactory
from .helpers import (
    PASSWORD,
    Api,
    Server,
    assert_problem,
    login,
    new_id,
    new_number,
    now_utc,
    record,
)


@dataclass(frozen=True)
class World:
    """Account A: an admin, two users with a line each, a line without user.
    Account B: an admin and one line."""

    account_a: str
    admin_a: str
    user_1: str
    user_2: str
    line_1: str
    line_2: str
    line_unassigned: str
    account_b: str
    admin_b: str
    line_b: str
    at: datetime

    @property
    def lines_a(self) -> list[str]:
        return sorted([self.line_1, self.line_2, self.line_unassigned])


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    account_a = api.account()
    admin_a = api.user(account_a, role="admin", language="nl")
    user_1 = api.user(account_a)
    user_2 = api.user(account_a)
    line_1 = api.line(account_a, "king-business", user=user_1)
    line_2 = api.line(account_a, "kong-business", user=user_2)
    line_unassigned = api.line(account_a, "king-business")
    account_b = api.account()
    admin_b = api.user(account_b, role="admin")
    line_b = api.line(account_b, "king", user=admin_b)
    at = now_utc()
    api.feed([record(line_1, "sms", 7, at=at), record(line_b, "sms", 9, at=at)])
    return World(account_a, admin_a, user_1, user_2, line_1, line_2, line_unassigned,
                 account_b, admin_b, line_b, at)


def at_param(world: World) -> dict[str, str]:
    """Read the cycle the module's records are in (the suite may cross a cycle start)."""
    return {"at": world.at.isoformat()}


# -- login and logout ----------------------------------------------------------------


def test_login_returns_a_token(anon: httpx.Client, world: World) -> None:
    answer = anon.post("/api/v1/auth/login", json={"login": world.user_1, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert isinstance(token, str) and len(token) >= 20
    assert PASSWORD not in answer.text


@pytest.mark.parametrize("who", ["wrong-password", "unknown-login"])
def test_login_refused_is_401(anon: httpx.Client, world: World, who: str) -> None:
    body = ({"login": world.user_1, "password": PASSWORD + "x"} if who == "wrong-password"
            else {"login": new_id("nobody"), "password": PASSWORD})
    problem = assert_problem(anon.post("/api/v1/auth/login", json=body), 401)
    assert PASSWORD not in problem["detail"]


def test_login_with_bad_body_is_422(anon: httpx.Client) -> None:
    assert_problem(anon.post("/api/v1/auth/login", json={"login": "someone"}), 422)


def test_logout_revokes_the_token(server: Server, world: World) -> None:
    token = login(server, world.user_1)
    other = login(server, world.user_1)
    with server.client(token) as client, server.client(other) as other_client:
        assert client.get("/api/v1/me").status_code == 200
        bye = client.post("/api/v1/auth/logout")
        assert bye.status_code == 204, bye.text
        assert_problem(client.get("/api/v1/me"), 401)
        assert_problem(client.get(f"/api/v1/lines/{world.line_1}/usage"), 401)
        # Only that token: another session of the same user goes on.
        assert other_client.get("/api/v1/me").status_code == 200


def test_logout_without_token_is_401(anon: httpx.Client) -> None:
    assert_problem(anon.post("/api/v1/auth/logout"), 401)


def test_operator_logout_does_not_revoke_the_operator_key(op: httpx.Client) -> None:
    assert op.post("/api/v1/auth/logout").status_code == 204
    assert op.get("/api/v1/me").status_code == 200


# -- /me -----------------------------------------------------------------------------


def test_me_for_a_user(user_client: UserClientFactory, world: World) -> None:
    answer = user_client(world.user_1).get("/api/v1/me")
    assert answer.status_code == 200, answer.text
    me = answer.json()
    assert me["login"] == world.user_1
    assert me["role"] == "user"
    assert me["account_id"] == world.account_a
    assert me["lines"] == [world.line_1]


def test_me_for_an_admin(user_client: UserClientFactory, world: World) -> None:
    me = user_client(world.admin_a).get("/api/v1/me").json()
    assert (me["login"], me["role"], me["account_id"]) == (world.admin_a, "admin",
                                                           world.account_a)
    assert sorted(me["lines"]) == world.lines_a


def test_me_for_the_operator(op: httpx.Client) -> None:
    answer = op.get("/api/v1/me")
    assert answer.status_code == 200, answer.text
    assert answer.json()["role"] == "operator"


def test_me_without_token_is_401(anon: httpx.Client) -> None:
    assert_problem(anon.get("/api/v1/me"), 401)


# -- a line user ---------------------------------------------------------------------


def test_user_sees_their_own_line(user_client: UserClientFactory, world: World) -> None:
    client = user_client(world.user_1)
    answer = client.get(f"/api/v1/lines/{world.line_1}/usage", params=at_param(world))
    assert answer.status_code == 200, answer.text
    assert answer.json()["line"] == world.line_1
    assert answer.json()["plan"] == "king-business"
    assert answer.json()["services"]["sms"]["used"] == 7
    assert client.get(f"/api/v1/lines/{world.line_1}").status_code == 200


@pytest.mark.parametrize("which", ["line_2", "line_unassigned", "line_b"])
def test_user_gets_404_for_other_lines(user_client: UserClientFactory, world: World,
                                       which: str) -> None:
    client = user_client(world.user_1)
    line = getattr(world, which)
    assert_problem(client.get(f"/api/v1/lines/{line}/usage"), 404)
    assert_problem(client.get(f"/api/v1/lines/{line}"), 404)


def test_a_hidden_line_looks_like_a_missing_one(user_client: UserClientFactory,
                                               world: World) -> None:
    client = user_client(world.user_1)
    missing = new_number()
    hidden = assert_problem(client.get(f"/api/v1/lines/{world.line_b}/usage"), 404)
    absent = assert_problem(client.get(f"/api/v1/lines/{missing}/usage"), 404)
    assert hidden["detail"].replace(world.line_b, "X") == absent["detail"].replace(missing, "X")
    assert hidden["type"] == absent["type"]


def test_user_gets_404_for_the_account_listing(user_client: UserClientFactory,
                                               world: World) -> None:
    client = user_client(world.user_1)
    assert_problem(client.get(f"/api/v1/accounts/{world.account_a}/lines"), 404)
    assert_problem(client.get(f"/api/v1/accounts/{world.account_b}/lines"), 404)


# -- an account admin ----------------------------------------------------------------


def test_admin_sees_every_line_of_the_account(user_client: UserClientFactory,
                                              world: World) -> None:
    client = user_client(world.admin_a)
    answer = client.get(f"/api/v1/accounts/{world.account_a}/lines")
    assert answer.status_code == 200, answer.text
    listing = answer.json()
    assert isinstance(listing, list)
    assert sorted(item["line"] for item in listing) == world.lines_a
    by_line = {item["line"]: item for item in listing}
    for item in listing:
        assert set(item) >= {"line", "plan", "cycle", "services", "extra_cents"}
    assert by_line[world.line_1]["services"]["sms"]["used"] == 7
    assert by_line[world.line_2]["plan"] == "kong-business"
    for line in world.lines_a:
        single = client.get(f"/api/v1/lines/{line}/usage")
        assert single.status_code == 200, single.text
        assert single.json()["plan"] == by_line[line]["plan"]
        assert single.json()["cycle"] == by_line[line]["cycle"]
        assert single.json()["services"] == by_line[line]["services"]


def test_admin_gets_404_for_another_account(user_client: UserClientFactory,
                                            world: World) -> None:
    client = user_client(world.admin_a)
    assert_problem(client.get(f"/api/v1/lines/{world.line_b}/usage"), 404)
    assert_problem(client.get(f"/api/v1/accounts/{world.account_b}/lines"), 404)
    assert_problem(client.get(f"/api/v1/accounts/{new_id('ghost')}/lines"), 404)


def test_operator_sees_every_account(op: httpx.Client, world: World) -> None:
    answer = op.get(f"/api/v1/accounts/{world.account_b}/lines")
    assert answer.status_code == 200, answer.text
    assert [item["line"] for item in answer.json()] == [world.line_b]
    assert answer.json()[0]["services"]["sms"]["used"] == 9
    assert_problem(op.get(f"/api/v1/accounts/{new_id('ghost')}/lines"), 404)


def test_account_without_lines_lists_nothing(api: Api, op: httpx.Client) -> None:
    answer = op.get(f"/api/v1/accounts/{api.account()}/lines")
    assert answer.status_code == 200, answer.text
    assert answer.json() == []


def test_a_line_moved_to_another_user(api: Api, op: httpx.Client,
                                      user_client: UserClientFactory) -> None:
    account = api.account()
    first, second = api.user(account), api.user(account)
    line = api.line(account, user=first)
    moved = op.put(f"/api/v1/lines/{line}",
                   json={"account_id": account, "plan": "king", "user": second})
    assert moved.status_code == 200, moved.text
    assert_problem(user_client(first).get(f"/api/v1/lines/{line}/usage"), 404)
    assert user_client(second).get(f"/api/v1/lines/{line}/usage").status_code == 200
