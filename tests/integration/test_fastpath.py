"""The fast path for authorize and session updates answers exactly like the routes.

Well-formed operator requests are answered by api/fastpath.py; everything else is
replayed to the FastAPI app. These tests hold both sides to the same contract.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from .helpers import Api, assert_problem, new_id


@pytest.fixture
def payg_line(api: Api) -> str:
    account = api.account()
    line = api.line(account, plan="payg")
    assert api.client.put(f"/api/v1/lines/{line}/spending-limit",
                          json={"amount_eur": 5}).status_code == 200
    return line


def test_authorize_answers_the_decision(op: httpx.Client, payg_line: str) -> None:
    answer = op.post("/api/v1/authorize", json={"line": payg_line, "service": "sms"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"allowed": True, "reason": None}
    assert op.post("/api/v1/authorize", json={
        "line": payg_line, "service": "voice", "country": "us"}).json() == {
        "allowed": False, "reason": "roaming_blocked_with_limit"}
    assert op.post("/api/v1/authorize", json={"line": "+32400000000", "service": "data"}
                   ).json() == {"allowed": False, "reason": "unknown_line"}


@pytest.mark.parametrize("body", [
    {"line": "+32470000001", "service": "fax"},
    {"line": "+32470000001", "service": "sms", "colour": "blue"},
    {"line": "+32470000001", "service": "sms", "amount_cents": -1},
    {"line": "+32470000001", "service": "sms", "amount_cents": "12"},
    {"line": "+32470000001", "service": "sms", "country": "BEL"},
    {"service": "sms"},
], ids=["unknown-service", "unknown-field", "negative-amount", "string-amount",
        "bad-country", "no-line"])
def test_a_bad_authorize_body_is_a_422_problem(op: httpx.Client, body: dict[str, object],
                                              ) -> None:
    assert_problem(op.post("/api/v1/authorize", json=body), 422)


def test_a_body_that_is_not_json_is_a_4xx_problem(op: httpx.Client) -> None:
    answer = op.post("/api/v1/authorize", content=b"{not json",
                     headers={"content-type": "application/json"})
    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_only_the_operator_may_authorize(
    anon: httpx.Client, api: Api, payg_line: str,
    user_client: Callable[..., httpx.Client],
) -> None:
    assert_problem(anon.post("/api/v1/authorize", json={"line": payg_line, "service": "sms"}),
                   401)
    wrong = {"Authorization": "Bearer not-the-key"}
    assert_problem(anon.post("/api/v1/authorize", json={"line": payg_line, "service": "sms"},
                             headers=wrong), 401)
    account = api.account()
    login = api.user(account, role="admin")
    client = user_client(login)
    assert_problem(client.post("/api/v1/authorize",
                               json={"line": payg_line, "service": "sms"}), 403)


def test_session_updates_answer_grants_and_errors(op: httpx.Client, payg_line: str) -> None:
    session = new_id("s")
    start = op.post("/api/v1/sessions", json={"session_id": session, "line": payg_line,
                                              "service": "sms", "requested": 10})
    assert start.json() == {"granted": 10, "final": False, "reason": None}
    update = op.post(f"/api/v1/sessions/{session}/update",
                     json={"used": 10, "requested": 10, "request_number": 1})
    assert update.status_code == 200
    assert update.json() == {"granted": 10, "final": False, "reason": None}
    # The same report again is counted once and answered the same.
    again = op.post(f"/api/v1/sessions/{session}/update",
                    json={"used": 10, "requested": 10, "request_number": 1})
    assert again.json() == update.json()
    assert op.get(f"/api/v1/lines/{payg_line}/usage").json()["services"]["sms"]["used"] == 10
    assert_problem(op.post(f"/api/v1/sessions/{session}/update",
                           json={"used": -1, "requested": 1}), 422)
    assert_problem(op.post(f"/api/v1/sessions/{session}/update",
                           json={"used": 1, "requested": 1, "extra": True}), 422)
    assert_problem(op.post(f"/api/v1/sessions/{new_id('none')}/update",
                           json={"used": 1, "requested": 1}), 404)
