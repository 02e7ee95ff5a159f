"""Every string that reaches the store is text, checked at the edge (domain/text.py).

PostgreSQL refuses NUL in text and SQLite keeps it; before the check, a NUL in a login,
an account name, a session id or a path segment was a 500 on PostgreSQL (on the fast
path a plain-text 500) and stored on SQLite. Now a NUL or another control character
in an id, a line, a login or a name is a 422 problem+json naming where it was, on every
store the same (the `server` fixture runs these on SQLite and on PostgreSQL).
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from .helpers import PASSWORD, Api, assert_problem, new_id, new_number

CONTROL = ["\x00", "\n", "\t", "\x1b", "\x7f", "\x85"]
CONTROL_IDS = ["nul", "line-feed", "tab", "escape", "delete", "c1-next-line"]


def _errors(answer: httpx.Response) -> list[tuple[list[object], str]]:
    body = assert_problem(answer, 422)
    return [(error["loc"], error["msg"]) for error in body["errors"]]


def _refused_at(answer: httpx.Response, *loc: object) -> None:
    errors = _errors(answer)
    assert [list(loc)] == [found for found, _ in errors], errors
    assert "control character" in errors[0][1], errors


@pytest.mark.parametrize("char", CONTROL, ids=CONTROL_IDS)
def test_a_control_character_in_a_login_is_a_422_problem(anon: httpx.Client, char: str) -> None:
    answer = anon.post("/api/v1/auth/login", json={"login": f"jan{char}peeters",
                                                   "password": "whatever-it-is"})
    _refused_at(answer, "body", "login")


def test_the_login_still_works_after_a_nul_login(anon: httpx.Client, api: Api) -> None:
    user = api.user(api.account())
    for _ in range(3):
        _refused_at(anon.post("/api/v1/auth/login",
                              json={"login": user + "\x00", "password": "x" * 10}),
                    "body", "login")
    answer = anon.post("/api/v1/auth/login",
                       json={"login": user, "password": PASSWORD})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("char", CONTROL, ids=CONTROL_IDS)
def test_a_control_character_in_an_account_name_stores_nothing(op: httpx.Client,
                                                               char: str) -> None:
    account = new_id("acct")
    answer = op.put(f"/api/v1/accounts/{account}",
                    json={"name": f"Acme{char}Fleet", "kind": "business"})
    _refused_at(answer, "body", "name")
    assert_problem(op.get(f"/api/v1/accounts/{account}/lines"), 404)


def test_text_in_the_other_provisioning_fields(op: httpx.Client, api: Api) -> None:
    account = api.account()
    _refused_at(op.put(f"/api/v1/accounts/{account}/users/{new_id('u')}",
                       json={"password": PASSWORD, "role": "user",
                             "email": "jan\x00@acme.be"}), "body", "email")
    _refused_at(op.put(f"/api/v1/lines/{new_number()}",
                       json={"account_id": account + "\x00", "plan": "king"}),
                "body", "account_id")
    _refused_at(op.put(f"/api/v1/lines/{new_number()}",
                       json={"account_id": account, "plan": "king\x00"}), "body", "plan")
    _refused_at(op.put(f"/api/v1/lines/{new_number()}",
                       json={"account_id": account, "plan": "king", "user": "u\x00"}),
                "body", "user")


def test_text_in_the_alert_channels(op: httpx.Client, api: Api) -> None:
    line = api.line(api.account())
    answer = op.put(f"/api/v1/lines/{line}/alerts", json={
        "rules": [], "channels": {"email": "jan\x00@acme.be"}})
    assert_problem(answer, 422)
    assert op.get(f"/api/v1/lines/{line}/alerts").json()["channels"]["email"] is None


@pytest.mark.parametrize("char", ["\x00", "\x1f"], ids=["nul", "unit-separator"])
def test_a_control_character_in_a_session_id_is_a_422_problem(op: httpx.Client, api: Api,
                                                              char: str) -> None:
    line = api.line(api.account(), plan="payg")
    session = new_id("s")
    _refused_at(op.post("/api/v1/sessions", json={
        "session_id": session + char, "line": line, "service": "data", "requested": 10}),
        "body", "session_id")
    segment = f"/api/v1/sessions/{session}{quote(char)}/update"
    _refused_at(op.post(segment, json={"used": 1, "requested": 1}), "path", "session_id")
    _refused_at(op.post(segment.replace("/update", "/terminate"), json={"used": 1}),
                "path", "session_id")
    # The session of the same id without the character is unknown, and stays usable.
    assert op.post("/api/v1/sessions", json={"session_id": session, "line": line,
                                              "service": "data", "requested": 10}
                   ).json()["granted"] == 10


@pytest.mark.parametrize("char", CONTROL, ids=CONTROL_IDS)
def test_a_control_character_in_an_authorized_line_is_a_422_problem(op: httpx.Client,
                                                                    char: str) -> None:
    # The fast path hands it to the route, which answers in problem+json.
    answer = op.post("/api/v1/authorize", json={"line": f"+3247{char}0000001",
                                                "service": "sms"})
    _refused_at(answer, "body", "line")


@pytest.mark.parametrize(("method", "path", "name"), [
    ("GET", "/api/v1/lines/{x}/usage", "line_id"),
    ("GET", "/api/v1/lines/{x}", "line_id"),
    ("PUT", "/api/v1/lines/{x}", "line_id"),
    ("GET", "/api/v1/lines/{x}/alerts", "line_id"),
    ("GET", "/api/v1/lines/{x}/barring", "line_id"),
    ("GET", "/api/v1/lines/{x}/spending-limit", "line_id"),
    ("GET", "/api/v1/lines/{x}/messages", "line_id"),
    ("GET", "/api/v1/accounts/{x}/lines", "account_id"),
    ("PUT", "/api/v1/accounts/{x}", "account_id"),
], ids=lambda value: str(value).replace("/api/v1/", ""))
@pytest.mark.parametrize("escaped", ["%00", "%0A", "%1B", "%7F", "%C2%85"],
                         ids=["nul", "line-feed", "escape", "delete", "c1-next-line"])
def test_a_control_character_in_a_path_segment_is_a_422_at_its_name(
    op: httpx.Client, method: str, path: str, name: str, escaped: str,
) -> None:
    url = path.replace("{x}", f"a{escaped}b")
    body = {"account_id": "a", "plan": "king"} if name == "line_id" else {
        "name": "A", "kind": "business"}
    answer = op.request(method, url, json=body if method == "PUT" else None)
    _refused_at(answer, "path", name)


def test_a_control_character_in_a_query_parameter_is_a_422_at_its_name(
    op: httpx.Client,
) -> None:
    _refused_at(op.get("/api/v1/messages", params={"line": "+3247\x000000001"}),
                "query", "line")
    _refused_at(op.get("/api/v1/messages", params={"to": "jan\x00@acme.be"}), "query", "to")


def test_an_sms_text_may_hold_line_breaks_but_not_a_nul(op: httpx.Client, api: Api) -> None:
    line = api.line(api.account())
    answer = op.post("/api/v1/sms/inbound", json={"from": line, "to": "1921",
                                                  "text": "CONSULT\r\nplease\tthanks"})
    assert answer.status_code == 200, answer.text
    _refused_at(op.post("/api/v1/sms/inbound", json={"from": line, "to": "1921",
                                                      "text": "CONSULT\x00"}),
                "body", "text")
    _refused_at(op.post("/api/v1/sms/inbound", json={"from": line + "\x00", "to": "1921",
                                                      "text": "CONSULT"}),
                "body", "from")


def test_authorize_answers_every_error_in_problem_json(op: httpx.Client,
                                                      anon: httpx.Client) -> None:
    # The fast path and the route: not JSON, a NUL, no credentials, a wrong method.
    answers = [
        op.post("/api/v1/authorize", content=b"\x00\x01",
                headers={"content-type": "application/json"}),
        op.post("/api/v1/authorize", json={"line": "\x00", "service": "sms"}),
        op.post("/api/v1/authorize", json=["not", "an", "object"]),
        anon.post("/api/v1/authorize", json={"line": "+32470000001", "service": "sms"}),
        op.get("/api/v1/authorize"),
        op.post("/api/v1/sessions/%00/update", json={"used": 0, "requested": 1}),
    ]
    for answer in answers:
        assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json"), (
            answer.status_code, answer.headers["content-type"], answer.text)
