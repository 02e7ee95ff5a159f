"""Network control over HTTP, on a real `conso serve` process: barring, the spending
limit, one-shot authorization and credit-control sessions (api.md, "Network control"
and the barring and spending-limit rows of "Self-care")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import UserClientFactory
from .control_support import (
    Account,
    Network,
    new_account,
    new_session_id,
    ok,
    set_limit,
)
from .helpers import (
    Api,
    assert_problem,
    error_fields,
    new_id,
    new_number,
    now_utc,
    record,
    start_server_env,
    stop_server,
    wait_for,
)

FUNCTIONS = ("data", "voice_out", "voice_in", "voice_out_roaming", "voice_in_roaming",
             "sms_out", "premium")
NOTHING_BARRED = dict.fromkeys(FUNCTIONS, False)
MB = 1_000_000


@pytest.fixture(scope="module")
def network(op: httpx.Client) -> Network:
    return Network(op)


def barring(client: httpx.Client, line: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(client.get(f"/api/v1/lines/{line}/barring"))
    return body


def flags(view: dict[str, Any]) -> dict[str, bool]:
    return {f: view[f] for f in FUNCTIONS}


# -- barring ---------------------------------------------------------------------------


@pytest.mark.parametrize("plan", ["payg", "king"])
def test_a_user_reads_the_barring_and_sees_who_changed_it(
    api: Api, user_client: UserClientFactory, plan: str,
) -> None:
    acct = new_account(api, plan)
    user, admin = user_client(acct.user), user_client(acct.admin)
    first = barring(user, acct.line)
    assert flags(first) == NOTHING_BARRED
    assert first["changed_by"] is None

    before = now_utc() - timedelta(seconds=5)
    answer = ok(admin.put(f"/api/v1/lines/{acct.line}/barring",
                          json={"data": True, "premium": True}))
    assert flags(answer) == {**NOTHING_BARRED, "data": True, "premium": True}
    seen = barring(user, acct.line)
    assert flags(seen) == flags(answer)
    assert seen["changed_by"] == acct.admin
    changed_at = datetime.fromisoformat(seen["changed_at"])
    assert before <= changed_at <= now_utc() + timedelta(seconds=5)

    # Lifting one keeps the other; functions left out keep their setting.
    answer = ok(admin.put(f"/api/v1/lines/{acct.line}/barring", json={"data": False}))
    assert flags(answer) == {**NOTHING_BARRED, "premium": True}
    assert flags(barring(user, acct.line)) == flags(answer)


def test_a_user_may_not_change_the_barring(api: Api, user_client: UserClientFactory) -> None:
    acct = new_account(api)
    user = user_client(acct.user)
    assert_problem(user.put(f"/api/v1/lines/{acct.line}/barring", json={"data": True}), 403)
    assert_problem(user.put(f"/api/v1/lines/{acct.line}/barring", json={"data": False}), 403)
    assert flags(barring(user, acct.line)) == NOTHING_BARRED
    assert barring(user, acct.line)["changed_by"] is None


def test_an_admin_of_the_account_and_the_operator_may_bar(
    api: Api, op: httpx.Client, user_client: UserClientFactory,
) -> None:
    acct = new_account(api)
    admin = user_client(acct.admin)
    ok(admin.put(f"/api/v1/lines/{acct.line}/barring", json={"voice_out_roaming": True}))
    answer = ok(op.put(f"/api/v1/lines/{acct.line}/barring", json={"sms_out": True}))
    assert flags(answer) == {**NOTHING_BARRED, "voice_out_roaming": True, "sms_out": True}
    assert answer["changed_by"] == "operator"


def test_another_accounts_admin_does_not_see_the_line(
    api: Api, user_client: UserClientFactory,
) -> None:
    acct, other = new_account(api), new_account(api)
    stranger = user_client(other.admin)
    assert_problem(stranger.get(f"/api/v1/lines/{acct.line}/barring"), 404)
    assert_problem(stranger.put(f"/api/v1/lines/{acct.line}/barring", json={"data": True}),
                   404)
    assert_problem(stranger.get(f"/api/v1/lines/{acct.line}/barring/audit"), 404)
    # Nor does another account's user, and an unknown line is a 404 too.
    assert_problem(user_client(other.user).get(f"/api/v1/lines/{acct.line}/barring"), 404)
    assert_problem(stranger.get(f"/api/v1/lines/{new_number()}/barring"), 404)
    assert flags(barring(user_client(acct.admin), acct.line)) == NOTHING_BARRED


@pytest.mark.parametrize(("body", "field"), [
    ({"internet": True}, "internet"),
    ({"premium": True, "roaming": True}, "roaming"),
    ({"data": "yes"}, "data"),
    ({"premium": True, "data": 1}, "data"),
    ({"voice_in": None}, "voice_in"),
    ({"sms_out": "true"}, "sms_out"),
])
def test_a_bad_barring_body_is_a_422_that_changes_nothing(
    api: Api, user_client: UserClientFactory, body: dict[str, Any], field: str,
) -> None:
    acct = new_account(api)
    admin = user_client(acct.admin)
    ok(admin.put(f"/api/v1/lines/{acct.line}/barring", json={"voice_in": True}))
    problem = assert_problem(admin.put(f"/api/v1/lines/{acct.line}/barring", json=body), 422)
    assert field in error_fields(problem)
    assert flags(barring(admin, acct.line)) == {**NOTHING_BARRED, "voice_in": True}


@pytest.mark.parametrize("body", [["data"], "data", 1, None])
def test_a_barring_body_that_is_no_object_is_a_422(
    api: Api, op: httpx.Client, body: Any,
) -> None:
    acct = new_account(api)
    response = op.put(f"/api/v1/lines/{acct.line}/barring", json=body)
    assert_problem(response, 422)
    assert flags(barring(op, acct.line)) == NOTHING_BARRED


@pytest.mark.parametrize("plan", ["internet-150", "internet-unlimited"])
def test_an_internet_line_has_no_barring(
    api: Api, user_client: UserClientFactory, plan: str,
) -> None:
    acct = new_account(api, plan, kind="residential", line_id=new_id("fiber"))
    admin = user_client(acct.admin)
    assert_problem(admin.put(f"/api/v1/lines/{acct.line}/barring", json={"data": True}), 409)


def test_the_audit_lists_who_when_before_and_after(
    api: Api, op: httpx.Client, user_client: UserClientFactory,
) -> None:
    acct = new_account(api)
    admin = user_client(acct.admin)
    start = now_utc() - timedelta(seconds=5)
    ok(admin.put(f"/api/v1/lines/{acct.line}/barring", json={"data": True}))
    ok(op.put(f"/api/v1/lines/{acct.line}/barring", json={"premium": True, "data": False}))
    set_limit(admin, acct.line, 20)
    entries = ok(admin.get(f"/api/v1/lines/{acct.line}/barring/audit"))
    assert [(e["by"], e["action"]) for e in entries] == [
        (acct.admin, "spending_limit"), ("operator", "barring"), (acct.admin, "barring")]
    for entry in entries:
        assert start <= datetime.fromisoformat(entry["at"]) <= now_utc() + timedelta(seconds=5)
    limit, second, first = entries
    assert (limit["before"], limit["after"]) == (None, 20)
    assert first["before"] == NOTHING_BARRED
    assert first["after"] == {**NOTHING_BARRED, "data": True}
    assert second["before"] == first["after"]
    assert second["after"] == {**NOTHING_BARRED, "premium": True}
    # A PUT that changes nothing records nothing.
    ok(admin.put(f"/api/v1/lines/{acct.line}/barring", json={"premium": True}))
    assert len(ok(admin.get(f"/api/v1/lines/{acct.line}/barring/audit"))) == 3
    # The audit is the admins' (and the operator's).
    assert len(ok(op.get(f"/api/v1/lines/{acct.line}/barring/audit"))) == 3
    assert_problem(user_client(acct.user).get(f"/api/v1/lines/{acct.line}/barring/audit"),
                   403)


# -- spending limit ---------------------------------------------------------------------


@pytest.mark.parametrize("plan", ["king", "kong-business"])
def test_a_spending_limit_on_a_bundle_line_is_a_409(
    api: Api, user_client: UserClientFactory, plan: str,
) -> None:
    acct = new_account(api, plan)
    admin = user_client(acct.admin)
    assert_problem(admin.put(f"/api/v1/lines/{acct.line}/spending-limit",
                             json={"amount_eur": 10}), 409)
    assert_problem(admin.get(f"/api/v1/lines/{acct.line}/spending-limit"), 409)
    assert_problem(admin.delete(f"/api/v1/lines/{acct.line}/spending-limit"), 409)
    assert api.usage(acct.line)["spending_limit"] is None


@pytest.mark.parametrize("amount", [7, 0, 100, -5, "10", 10.5, None, True])
def test_a_limit_other_than_5_10_20_or_50_is_a_422_that_changes_nothing(
    api: Api, user_client: UserClientFactory, amount: Any,
) -> None:
    acct = new_account(api)
    admin = user_client(acct.admin)
    set_limit(admin, acct.line, 20)
    problem = assert_problem(admin.put(f"/api/v1/lines/{acct.line}/spending-limit",
                                       json={"amount_eur": amount}), 422)
    assert "amount_eur" in error_fields(problem)
    assert ok(admin.get(f"/api/v1/lines/{acct.line}/spending-limit"))["amount_cents"] == 2000


def test_set_read_and_remove_a_spending_limit(
    api: Api, user_client: UserClientFactory,
) -> None:
    acct = new_account(api)
    admin, user = user_client(acct.admin), user_client(acct.user)
    path = f"/api/v1/lines/{acct.line}/spending-limit"
    assert api.usage(acct.line)["spending_limit"] is None

    assert_problem(user.put(path, json={"amount_eur": 10}), 403)
    assert api.usage(acct.line)["spending_limit"] is None
    for amount in (5, 20, 50, 10):
        answer = set_limit(admin, acct.line, amount)
        assert answer["amount_cents"] == amount * 100
        assert (answer["spent_cents"], answer["reached"]) == (0, False)
    seen = ok(user.get(path))
    assert (seen["amount_cents"], seen["spent_cents"], seen["reached"]) == (1000, 0, False)

    api.feed([record(acct.line, "sms", 25)])  # 25 x 0.08 = 2.00 EUR
    usage = ok(user.get(f"/api/v1/lines/{acct.line}/usage"))
    limit = usage["spending_limit"]
    assert (limit["amount_cents"], limit["spent_cents"], limit["reached"]) == (1000, 200, False)
    assert usage["extra_cents"] == 200

    assert_problem(user.delete(path), 403)
    assert ok(user.get(path))["amount_cents"] == 1000
    assert admin.delete(path).status_code == 204
    assert api.usage(acct.line)["spending_limit"] is None
    # Removing it again is harmless.
    assert admin.delete(path).status_code == 204


def test_the_usage_answer_shows_the_limit_reached(api: Api, op: httpx.Client) -> None:
    acct = new_account(api)
    set_limit(op, acct.line, 5)
    api.feed([record(acct.line, "premium", 1, amount_cents=500)])
    limit = api.usage(acct.line)["spending_limit"]
    assert (limit["amount_cents"], limit["spent_cents"], limit["reached"]) == (500, 500, True)


def test_a_plan_change_removes_the_limit(api: Api, op: httpx.Client) -> None:
    acct = new_account(api)
    set_limit(op, acct.line, 20)
    assert api.usage(acct.line)["spending_limit"]["amount_cents"] == 2000
    ok(op.put(f"/api/v1/lines/{acct.line}", json={"account_id": acct.id, "plan": "king",
                                                  "user": acct.user}))
    assert api.usage(acct.line)["spending_limit"] is None
    ok(op.put(f"/api/v1/lines/{acct.line}", json={"account_id": acct.id, "plan": "payg",
                                                  "user": acct.user}))
    assert api.usage(acct.line)["spending_limit"] is None  # it must be set again
    assert ok(op.get(f"/api/v1/lines/{acct.line}/spending-limit"))["amount_cents"] is None
    # Re-sending the same plan is no plan change: the limit stays.
    set_limit(op, acct.line, 5)
    ok(op.put(f"/api/v1/lines/{acct.line}", json={"account_id": acct.id, "plan": "payg",
                                                  "user": acct.user}))
    assert api.usage(acct.line)["spending_limit"]["amount_cents"] == 500


def limit_messages(op: httpx.Client, line: str) -> list[dict[str, Any]]:
    messages = ok(op.get("/api/v1/messages", params={"line": line}))
    return [m for m in messages if (m["rule"] or {}).get("kind") == "limit_pct"]


def test_limit_messages_come_from_8644_at_50_90_and_100_percent(
    api: Api, op: httpx.Client, network: Network,
) -> None:
    acct = new_account(api)
    set_limit(op, acct.line, 5)
    api.feed([record(acct.line, "sms", 20)])             # 1.60 EUR: 32 %
    assert limit_messages(op, acct.line) == []
    api.feed([record(acct.line, "sms", 12)])             # 2.56 EUR: 51.2 %
    wait_for(lambda: len(limit_messages(op, acct.line)) == 1, "the 50 % message")
    api.feed([record(acct.line, "sms", 25)])             # 4.56 EUR: 91.2 %
    wait_for(lambda: len(limit_messages(op, acct.line)) == 2, "the 90 % message")
    # The rest of the money through a data session: exactly 5.00 EUR (0.05/MB).
    session = new_session_id()
    answer = network.start(session, acct.line, "data", 100 * MB)
    assert answer == {"granted": 8_800_000, "final": True, "reason": None}
    assert ok(network.terminate(session, 8_800_000))["charged_cents"] == 44
    wait_for(lambda: len(limit_messages(op, acct.line)) == 3, "the 100 % message")

    messages = limit_messages(op, acct.line)
    assert [m["rule"] for m in messages] == [
        {"kind": "limit_pct", "value": 50}, {"kind": "limit_pct", "value": 90},
        {"kind": "limit_pct", "value": 100}]
    for message in messages:
        assert (message["channel"], message["sender"], message["to"], message["line"]) == (
            "sms", "8644", acct.line, acct.line)
        assert message["text"]
    # Each fires once per cycle: more spend (offline) sends nothing new.
    api.feed([record(acct.line, "premium", 1, amount_cents=100)])
    time.sleep(0.3)
    assert len(limit_messages(op, acct.line)) == 3
    limit = api.usage(acct.line)["spending_limit"]
    assert (limit["spent_cents"], limit["reached"]) == (600, True)


# -- authorize --------------------------------------------------------------------------

# A use that each function alone stops, as an authorize body.
BARRED_USES: dict[str, dict[str, Any]] = {
    "data": {"service": "data"},
    "voice_out": {"service": "voice"},
    "voice_in": {"service": "voice", "direction": "in"},
    "voice_out_roaming": {"service": "voice", "country": "CH"},
    "voice_in_roaming": {"service": "voice", "direction": "in", "country": "FR"},
    "sms_out": {"service": "sms"},
    "premium": {"service": "premium", "amount_cents": 300},
}


@pytest.mark.parametrize("plan", ["payg", "king"])
def test_authorize_answers_barred_with_the_function(
    api: Api, op: httpx.Client, network: Network, plan: str,
) -> None:
    acct = new_account(api, plan)
    for use in BARRED_USES.values():
        assert network.authorize(acct.line, **use) == {"allowed": True, "reason": None}
    for function, use in BARRED_USES.items():
        ok(op.put(f"/api/v1/lines/{acct.line}/barring",
                  json={**NOTHING_BARRED, function: True}))
        assert network.authorize(acct.line, **use) == {
            "allowed": False, "reason": f"barred:{function}"}, function
    # Barring calls bars them abroad too; callme is never barred.
    ok(op.put(f"/api/v1/lines/{acct.line}/barring", json=dict.fromkeys(FUNCTIONS, True)))
    assert network.authorize(acct.line, "voice", country="US") == {
        "allowed": False, "reason": "barred:voice_out"}
    assert network.authorize(acct.line, "callme") == {"allowed": True, "reason": None}


def test_authorize_answers_every_reason_of_the_spending_limit(
    api: Api, op: httpx.Client, network: Network,
) -> None:
    acct = new_account(api)
    assert network.authorize(acct.line, "data") == {"allowed": True, "reason": None}
    assert network.authorize(acct.line, "data", country="US") == {
        "allowed": True, "reason": None}
    set_limit(op, acct.line, 5)
    assert network.authorize(acct.line, "data") == {"allowed": True, "reason": None}
    use: dict[str, Any]
    for country in ("US", "us", "JP", "MA"):
        for use in ({"service": "data"}, {"service": "voice"}, {"service": "sms"},
                    {"service": "voice", "direction": "in"}):
            assert network.authorize(acct.line, **use, country=country) == {
                "allowed": False, "reason": "roaming_blocked_with_limit"}
    assert network.authorize(acct.line, "data", country="CH") == {
        "allowed": True, "reason": None}
    # A premium purchase dearer than what is left.
    assert network.authorize(acct.line, "premium", amount_cents=501) == {
        "allowed": False, "reason": "spending_limit"}
    assert network.authorize(acct.line, "premium", amount_cents=500) == {
        "allowed": True, "reason": None}
    # At the limit: paid services refused, callme and incoming calls at home allowed.
    api.feed([record(acct.line, "sms", 63)])  # 5.04 EUR
    for use in ({"service": "data"}, {"service": "voice"}, {"service": "sms"},
                {"service": "premium", "amount_cents": 1},
                {"service": "data", "country": "FR"},
                {"service": "voice", "direction": "in", "country": "CH"}):
        assert network.authorize(acct.line, **use) == {
            "allowed": False, "reason": "spending_limit"}, use
    for use in ({"service": "callme"}, {"service": "callme", "country": "US"},
                {"service": "voice", "direction": "in"},
                {"service": "voice", "direction": "in", "country": "FR"}):
        assert network.authorize(acct.line, **use) == {"allowed": True, "reason": None}, use


def test_authorize_an_unknown_line(network: Network) -> None:
    for service in ("data", "voice", "sms", "premium", "callme"):
        assert network.authorize(new_number(), service) == {
            "allowed": False, "reason": "unknown_line"}


def test_authorize_is_for_the_operator(
    api: Api, user_client: UserClientFactory, anon: httpx.Client,
) -> None:
    acct = new_account(api)
    body = {"line": acct.line, "service": "data"}
    assert_problem(user_client(acct.admin).post("/api/v1/authorize", json=body), 403)
    assert_problem(anon.post("/api/v1/authorize", json=body), 401)
    assert_problem(user_client(acct.admin).post("/api/v1/sessions", json={
        "session_id": new_session_id(), "line": acct.line, "service": "data",
        "requested": 1}), 403)


@pytest.mark.parametrize("body", [
    {"service": "fax"}, {"service": "data", "direction": "sideways"},
    {"service": "data", "country": "Belgium"}, {"service": "premium", "amount_cents": -1},
    {"service": "data", "colour": "red"},
])
def test_a_bad_authorize_body_is_a_422(api: Api, op: httpx.Client,
                                       body: dict[str, Any]) -> None:
    acct = new_account(api)
    assert_problem(op.post("/api/v1/authorize", json={"line": acct.line, **body}), 422)


# -- sessions ---------------------------------------------------------------------------


def test_a_session_is_granted_what_the_money_buys_and_charged_what_it_used(
    api: Api, op: httpx.Client, network: Network,
) -> None:
    acct = new_account(api)
    set_limit(op, acct.line, 5)
    session = new_session_id()
    assert network.start(session, acct.line, "data", MB) == {
        "granted": MB, "final": False, "reason": None}
    # 5 EUR buys 100 MB; 1 MB is reserved: the rest is 99 MB, and it is the last grant.
    answer = ok(network.update(session, MB, 10**9, 1))
    assert answer == {"granted": 99 * MB, "final": True, "reason": None}
    # Nothing more, not even for another session.
    other = new_session_id()
    assert network.start(other, acct.line, "data", 1) == {
        "granted": 0, "final": True, "reason": "spending_limit"}
    assert_problem(network.update(other, 0, 1), 404)  # a refused start opens nothing
    terminated = ok(network.terminate(session, 99 * MB))
    assert terminated["charged_cents"] == 500
    usage = api.usage(acct.line)
    assert usage["services"]["data"]["used"] == 100 * MB
    assert usage["extra_cents"] == 500
    limit = usage["spending_limit"]
    assert (limit["amount_cents"], limit["spent_cents"], limit["reached"]) == (500, 500, True)
    # A closed session takes no more reports.
    assert_problem(network.update(session, 0, 1), 409)
    assert_problem(network.terminate(session, 0), 409)


def test_a_session_that_uses_less_frees_the_rest(
    api: Api, op: httpx.Client, network: Network,
) -> None:
    acct = new_account(api)
    set_limit(op, acct.line, 5)
    session = new_session_id()
    assert network.start(session, acct.line, "sms", 100)["granted"] == 62  # 4.96 EUR
    assert ok(network.terminate(session, 10))["charged_cents"] == 80
    again = new_session_id()
    assert network.start(again, acct.line, "sms", 100) == {
        "granted": 52, "final": True, "reason": None}
    assert ok(network.terminate(again, 52))["charged_cents"] == 416
    assert api.usage(acct.line)["spending_limit"]["spent_cents"] == 496


def test_a_refused_start_answers_granted_0_with_the_reason(
    api: Api, op: httpx.Client, network: Network,
) -> None:
    acct = new_account(api)
    set_limit(op, acct.line, 5)
    assert network.start(new_session_id(), acct.line, "data", MB, country="US") == {
        "granted": 0, "final": True, "reason": "roaming_blocked_with_limit"}
    assert network.start(new_session_id(), new_number(), "data", MB) == {
        "granted": 0, "final": True, "reason": "unknown_line"}
    ok(op.put(f"/api/v1/lines/{acct.line}/barring", json={"data": True}))
    assert network.start(new_session_id(), acct.line, "data", MB) == {
        "granted": 0, "final": True, "reason": "barred:data"}
    assert network.start(new_session_id(), acct.line, "voice", 60, country="CH") == {
        "granted": 60, "final": False, "reason": None}
    api.feed([record(acct.line, "premium", 1, amount_cents=500)])
    assert network.start(new_session_id(), acct.line, "sms", 1) == {
        "granted": 0, "final": True, "reason": "spending_limit"}


def test_an_update_with_the_same_request_number_twice_counts_once(
    api: Api, op: httpx.Client, network: Network,
) -> None:
    acct = new_account(api)
    set_limit(op, acct.line, 50)
    session = new_session_id()
    assert network.start(session, acct.line, "voice", 600)["granted"] == 600
    first = ok(network.update(session, 600, 600, 1))
    again = ok(network.update(session, 600, 600, 1))
    assert first == again == {"granted": 600, "final": False, "reason": None}
    assert api.usage(acct.line)["services"]["voice"]["used"] == 600
    ok(network.update(session, 300, 600, 2))
    assert api.usage(acct.line)["services"]["voice"]["used"] == 900
    assert ok(network.terminate(session, 0))["charged_cents"] == 225  # 15 min x 0.15
    assert api.usage(acct.line)["extra_cents"] == 225


def test_an_unknown_session_is_a_404(network: Network) -> None:
    assert_problem(network.update(new_session_id(), 0, 1), 404)
    assert_problem(network.terminate(new_session_id(), 0), 404)


@pytest.mark.parametrize("body", [{"used": -1, "requested": 1}, {"used": 1},
                                  {"used": 1, "requested": "lots"},
                                  {"used": 1, "requested": 1, "extra": 1}])
def test_a_bad_update_is_a_422(api: Api, network: Network, op: httpx.Client,
                               body: dict[str, Any]) -> None:
    acct = new_account(api)
    session = new_session_id()
    network.start(session, acct.line, "data", MB)
    assert_problem(op.post(f"/api/v1/sessions/{session}/update", json=body), 422)


# -- session validity -------------------------------------------------------------------

VALIDITY_SECONDS = 1


@pytest.fixture
def short_validity(tmp_path: Path) -> Iterator[httpx.Client]:
    """The operator's client on a server of its own whose sessions are valid one second."""
    server = start_server_env(tmp_path, tmp_path / "conso.db",
                              {"CONSO_SESSION_VALIDITY_SECONDS": str(VALIDITY_SECONDS)})
    try:
        with server.operator() as client:
            yield client
    finally:
        stop_server(server)


def _line_with_a_reservation(client: httpx.Client) -> tuple[Network, Account, str]:
    api, network = Api(client), Network(client)
    acct = new_account(api)
    set_limit(client, acct.line, 5)
    session = new_session_id()
    # 62 SMS: 4.96 EUR of 5; nothing is left for anyone else.
    assert network.start(session, acct.line, "sms", 100)["granted"] == 62
    assert network.start(new_session_id(), acct.line, "sms", 1)["reason"] == "spending_limit"
    return network, acct, session


def test_a_session_never_reported_again_is_closed_after_its_validity(
    short_validity: httpx.Client,
) -> None:
    network, _acct, session = _line_with_a_reservation(short_validity)
    time.sleep(VALIDITY_SECONDS + 0.5)
    answer = network.update(session, 62, 10)
    assert answer.status_code in (404, 409), answer.text


def test_the_reservation_of_an_expired_session_is_released(
    short_validity: httpx.Client,
) -> None:
    network, acct, session = _line_with_a_reservation(short_validity)
    time.sleep(VALIDITY_SECONDS + 0.5)
    fresh = new_session_id()
    assert network.start(fresh, acct.line, "sms", 100) == {
        "granted": 62, "final": True, "reason": None}
    assert network.update(session, 62, 10).status_code in (404, 409)
    assert network.terminate(session, 62).status_code in (404, 409)
    assert ok(network.terminate(fresh, 62))["charged_cents"] == 496
    limit = Api(short_validity).usage(acct.line)["spending_limit"]
    assert (limit["spent_cents"], limit["reached"]) == (496, False)
