"""Notifications over HTTP on a real `conso serve` process (api.md: alerts, messages,
sms/inbound) with its e-mail going to a real SMTP server run by this test process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from .helpers import (
    Api,
    Server,
    assert_problem,
    error_fields,
    free_port,
    login,
    new_id,
    new_number,
    record,
    start_server_env,
    stop_server,
    wait_for,
)
from .notify_support import (
    SmtpSink,
    message_id_of,
    outbox_rows,
    start_smtp,
)

GB = 10**9
KING_VOICE = 300 * 60
KING_SMS = 500
EMAIL_FROM = "conso <alerts@conso.test>"
PER_HOUR = 3
DEFAULT_RULES = [{"kind": "extra_eur", "value": 50}, {"kind": "included_pct", "value": 90},
                 {"kind": "included_pct", "value": 100}]
DEFAULT_CHANNELS = {"sms": True, "second_number": None, "email": None}


def by_rule(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rules, key=lambda r: (r["kind"], r["value"]))


# -- one server for the module, with its SMTP server --------------------------------------


@dataclass
class Mail:
    sink: SmtpSink
    port: int


@pytest.fixture(scope="module")
def mail() -> Iterator[Mail]:
    sink = SmtpSink()
    port = free_port()
    controller = start_smtp(sink, port)
    yield Mail(sink, port)
    controller.stop()


@pytest.fixture(scope="module")
def nserver(tmp_path_factory: pytest.TempPathFactory, mail: Mail) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("conso-notify")
    env = {
        "CONSO_SMTP_URL": f"smtp://127.0.0.1:{mail.port}",
        "CONSO_EMAIL_FROM": EMAIL_FROM,
        "CONSO_RETRY_MAX_SECONDS": "1",
        "CONSO_INBOUND_PER_HOUR": str(PER_HOUR),
    }
    server = start_server_env(workdir, workdir / "conso.db", env)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def nop(nserver: Server) -> Iterator[httpx.Client]:
    with nserver.operator() as client:
        yield client


@dataclass
class Fleet:
    server: Server
    op: httpx.Client
    account: str
    admin: str
    user: str                   # French, with an e-mail address
    line: str                   # the user's king line
    spare: str                  # another king line of the account, no user
    clients: list[httpx.Client]

    def as_(self, user_login: str) -> httpx.Client:
        client = self.server.client(login(self.server, user_login))
        self.clients.append(client)
        return client

    def alerts(self, client: httpx.Client | None = None, line: str | None = None) -> Any:
        answer = (client or self.op).get(f"/api/v1/lines/{line or self.line}/alerts")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def outbox(self, **params: str) -> list[dict[str, Any]]:
        answer = self.op.get("/api/v1/messages", params=params)
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()
        return rows


@pytest.fixture
def fleet(nserver: Server, nop: httpx.Client) -> Iterator[Fleet]:
    api = Api(nop)
    account = api.account("business")
    admin = api.user(account, "admin")
    user = api.user(account, "user", language="fr", email=f"{new_id('u')}@example.com")
    line = api.line(account, "king", user=user)
    spare = api.line(account, "king")
    one = Fleet(nserver, nop, account, admin, user, line, spare, [])
    yield one
    for client in one.clients:
        client.close()


# -- alert settings ------------------------------------------------------------------


def test_a_bundle_line_has_the_default_alerts(fleet: Fleet) -> None:
    body = fleet.alerts()
    assert by_rule(body["rules"]) == DEFAULT_RULES
    assert body["channels"] == DEFAULT_CHANNELS
    # The user sees the same on their own line.
    assert fleet.alerts(fleet.as_(fleet.user)) == body


def test_a_valid_change_is_kept(fleet: Fleet) -> None:
    chosen = {"rules": [{"kind": "included_pct", "value": 75},
                        {"kind": "extra_eur", "value": 10}],
              "channels": {"sms": True, "second_number": "+32470000099",
                           "email": "fleet@example.com"}}
    answer = fleet.op.put(f"/api/v1/lines/{fleet.line}/alerts", json=chosen)
    assert answer.status_code == 200, answer.text
    assert by_rule(answer.json()["rules"]) == by_rule(chosen["rules"])
    assert answer.json()["channels"] == chosen["channels"]
    again = fleet.alerts()
    assert by_rule(again["rules"]) == by_rule(chosen["rules"])
    assert again["channels"] == chosen["channels"]


def test_a_change_of_notifications_is_on_the_audit_trail_and_the_same_again_is_not(
        fleet: Fleet) -> None:
    """rules.md: an audit trail of every admin action (barring, limits, and these)."""
    chosen = {"rules": [{"kind": "included_pct", "value": 75}],
              "channels": {"sms": False, "email": "fleet@example.com"}}
    admin = fleet.as_(fleet.admin)
    for _ in range(2):
        answer = admin.put(f"/api/v1/lines/{fleet.line}/alerts", json=chosen)
        assert answer.status_code == 200, answer.text
    trail = admin.get(f"/api/v1/lines/{fleet.line}/barring/audit")
    entries = [e for e in trail.json() if e["action"] == "alerts"]
    assert len(entries) == 1
    assert entries[0]["by"] == fleet.admin
    assert entries[0]["after"]["rules"] == ["included_pct:75"]
    assert entries[0]["after"]["channels"]["sms"] is False
    assert "included_pct:90" in entries[0]["before"]["rules"]


SIX = [{"kind": "included_pct", "value": v} for v in (75, 90, 100)] + [
    {"kind": "extra_eur", "value": v} for v in (5, 10, 15)]


@pytest.mark.parametrize(("bad", "field"), [
    ({"rules": [{"kind": "percent", "value": 90}]}, "kind"),
    ({"rules": [{"kind": "limit_pct", "value": 50}]}, "kind"),
    ({"rules": [{"kind": "included_pct", "value": 80}]}, "value"),
    ({"rules": [{"kind": "extra_eur", "value": 20}]}, "value"),
    ({"rules": [{"kind": "extra_eur", "value": "10"}]}, "value"),
    ({"rules": SIX}, "rules"),
    ({"rules": [], "channels": {"second_number": "0470 00 00 99"}}, "second_number"),
    ({"rules": [], "channels": {"second_number": 32470000099}}, "second_number"),
    ({"rules": [], "channels": {"email": "nobody"}}, "email"),
    ({"rules": [], "channels": {"fax": "+3221234567"}}, "fax"),
    ({"channels": {"sms": True}}, "rules"),
], ids=["kind", "limit-kind", "pct-80", "eur-20", "eur-string", "sixth-rule",
        "second-number", "second-number-int", "email", "unknown-channel", "no-rules"])
def test_a_bad_change_is_a_422_that_changes_nothing(
    fleet: Fleet, bad: dict[str, Any], field: str,
) -> None:
    chosen = {"rules": [{"kind": "included_pct", "value": 75}],
              "channels": {"sms": False, "second_number": None, "email": "keep@example.com"}}
    assert fleet.op.put(f"/api/v1/lines/{fleet.line}/alerts", json=chosen).status_code == 200
    before = fleet.alerts()
    problem = assert_problem(fleet.op.put(f"/api/v1/lines/{fleet.line}/alerts", json=bad), 422)
    assert field in error_fields(problem), problem
    assert fleet.alerts() == before
    # Nor for the line's user.
    user = fleet.as_(fleet.user)
    assert_problem(user.put(f"/api/v1/lines/{fleet.line}/alerts", json=bad), 422)
    assert fleet.alerts() == before


def test_a_body_that_is_not_an_object_is_a_422(fleet: Fleet) -> None:
    before = fleet.alerts()
    for bad in ([], "rules", 5):
        answer = fleet.op.put(f"/api/v1/lines/{fleet.line}/alerts", json=bad)
        assert_problem(answer, 422)
    assert fleet.alerts() == before


def test_who_may_see_and_set_alerts(fleet: Fleet, nop: httpx.Client) -> None:
    only_100 = {"rules": [{"kind": "included_pct", "value": 100}]}
    user = fleet.as_(fleet.user)
    # A user sets their own line.
    answer = user.put(f"/api/v1/lines/{fleet.line}/alerts", json=only_100)
    assert answer.status_code == 200, answer.text
    assert fleet.alerts()["rules"] == only_100["rules"]
    # ... but sees no other line, not even of their account.
    assert_problem(user.get(f"/api/v1/lines/{fleet.spare}/alerts"), 404)
    assert_problem(user.put(f"/api/v1/lines/{fleet.spare}/alerts", json=only_100), 404)
    # An admin sets any line of the account.
    admin = fleet.as_(fleet.admin)
    for line in (fleet.line, fleet.spare):
        answer = admin.put(f"/api/v1/lines/{line}/alerts",
                           json={"rules": [{"kind": "extra_eur", "value": 25}]})
        assert answer.status_code == 200, answer.text
        assert fleet.alerts(line=line)["rules"] == [{"kind": "extra_eur", "value": 25}]
    # Another account's admin gets a 404 and changes nothing.
    api = Api(nop)
    other_account = api.account("business")
    stranger = fleet.as_(api.user(other_account, "admin"))
    before = fleet.alerts()
    assert_problem(stranger.get(f"/api/v1/lines/{fleet.line}/alerts"), 404)
    assert_problem(stranger.put(f"/api/v1/lines/{fleet.line}/alerts", json=only_100), 404)
    assert fleet.alerts() == before
    # An unknown line looks the same as somebody else's line.
    assert_problem(stranger.get(f"/api/v1/lines/{new_number()}/alerts"), 404)
    # Without a token: 401.
    with fleet.server.client() as anon:
        assert_problem(anon.get(f"/api/v1/lines/{fleet.line}/alerts"), 401)
        assert_problem(anon.put(f"/api/v1/lines/{fleet.line}/alerts", json=only_100), 401)


# -- notifications caused by usage -----------------------------------------------------


def test_a_crossing_is_in_the_outbox_on_the_first_read_after_the_200(fleet: Fleet) -> None:
    sent_at = time.perf_counter()
    answer = fleet.op.post("/api/v1/usage", json=[record(fleet.line, "data", 9 * GB)])
    answered_at = time.perf_counter()
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    stored = outbox_rows(fleet.server.db_path, fleet.line)        # straight from SQLite
    stored_at = time.perf_counter()
    listed = fleet.outbox(line=fleet.line)                         # and through the API
    listed_at = time.perf_counter()
    print(f"\nusage POST took {1000 * (answered_at - sent_at):.1f} ms; outbox row read "
          f"{1000 * (stored_at - answered_at):.1f} ms after the 200 (SQLite), "
          f"{1000 * (listed_at - answered_at):.1f} ms (GET /api/v1/messages): present on "
          "the first read")
    assert [r["rule"] for r in stored] == [
        {"kind": "included_pct", "value": 90, "service": "data"}]
    assert len(listed) == 1
    message = listed[0]
    assert message["rule"] == {"kind": "included_pct", "value": 90, "service": "data"}
    assert (message["channel"], message["sender"], message["to"], message["line"]) == (
        "sms", "8644", fleet.line, fleet.line)
    assert message["status"] in ("queued", "sent")
    assert "vous avez utilisé 90 %" in message["text"]          # the user is French
    # No wall-clock assertion: the row being there on the first read after the 200 is
    # the proof (same transaction); the delay is measured by `conso bench`.


def test_line_messages_are_newest_first_and_the_outbox_oldest_first(fleet: Fleet) -> None:
    fleet.op.put(f"/api/v1/lines/{fleet.line}/alerts",
                 json={"rules": [{"kind": "included_pct", "value": 75},
                                 {"kind": "included_pct", "value": 90},
                                 {"kind": "included_pct", "value": 100}]})
    for quantity in (KING_SMS * 75 // 100, KING_SMS * 15 // 100, KING_SMS * 10 // 100):
        answer = fleet.op.post("/api/v1/usage",
                               json=[record(fleet.line, "sms", quantity)])
        assert answer.status_code == 200, answer.text
    values = [m["rule"]["value"] for m in fleet.outbox(line=fleet.line)]
    assert values == [75, 90, 100]
    user = fleet.as_(fleet.user)
    answer = user.get(f"/api/v1/lines/{fleet.line}/messages")
    assert answer.status_code == 200, answer.text
    mine = answer.json()
    assert [m["rule"]["value"] for m in mine] == [100, 90, 75]
    assert {m["rule"]["service"] for m in mine} == {"sms"}
    stamps = [m["created_at"] for m in mine]
    assert stamps == sorted(stamps, reverse=True)
    for message in mine:       # each state with its time (the log channel: sent at once)
        assert message["status"] in ("queued", "sent")
        assert message["status_changed_at"] >= message["created_at"]
        assert message["history"][0] == {"status": "queued", "at": message["created_at"],
                                          "detail": None}
        assert [change["status"] for change in message["history"]][-1] == message["status"]
    # Another account's admin cannot read them.
    api = Api(fleet.op)
    stranger = fleet.as_(api.user(api.account(), "admin"))
    assert_problem(stranger.get(f"/api/v1/lines/{fleet.line}/messages"), 404)


def test_an_email_notification_reaches_the_smtp_server(fleet: Fleet, mail: Mail) -> None:
    address = f"{new_id('fleet')}@example.com"
    answer = fleet.op.put(f"/api/v1/lines/{fleet.line}/alerts",
                          json={"rules": [{"kind": "included_pct", "value": 90}],
                                "channels": {"sms": True, "email": address}})
    assert answer.status_code == 200, answer.text
    fleet.op.post("/api/v1/usage", json=[record(fleet.line, "voice", KING_VOICE * 9 // 10)])

    def delivered() -> list[dict[str, Any]] | None:
        rows = fleet.outbox(line=fleet.line)
        return rows if rows and all(r["status"] == "sent" for r in rows) else None

    rows = wait_for(delivered, "both channels marked sent", 20.0)
    assert sorted((r["channel"], r["to"]) for r in rows) == [
        ("email", address), ("sms", fleet.line)]
    email_row = next(r for r in rows if r["channel"] == "email")
    assert email_row["sender"] == EMAIL_FROM
    received = [m for m in mail.sink.received() if m["To"] == address]
    assert len(received) == 1
    assert received[0]["Message-ID"] == message_id_of(email_row["id"], EMAIL_FROM)
    assert received[0]["Subject"] == email_row["subject"]


# -- texts to 1921 ----------------------------------------------------------------------


def inbound(client: httpx.Client, sender: str, text: str, to: str = "1921") -> str:
    answer = client.post("/api/v1/sms/inbound", json={"from": sender, "to": to, "text": text})
    assert answer.status_code == 200, answer.text
    outcome: str = answer.json()["outcome"]
    return outcome


def replies(fleet: Fleet, number: str) -> list[dict[str, Any]]:
    return [m for m in fleet.outbox(to=number) if m["sender"] == "1921"]


def test_consult_in_any_case_gets_the_usage_from_1921_in_the_users_language(
    fleet: Fleet,
) -> None:
    fleet.op.post("/api/v1/usage", json=[record(fleet.line, "sms", 12),
                                         record(fleet.line, "voice", 3_600)])
    for text in ("CONSULT", "  consult ", "Consult\n"):
        assert inbound(fleet.op, fleet.line, text) == "consult"
    got = replies(fleet, fleet.line)                # on the first read after the 200s
    assert len(got) == PER_HOUR
    for reply in got:
        assert reply["rule"] is None
        assert (reply["channel"], reply["sender"], reply["to"], reply["line"]) == (
            "sms", "1921", fleet.line, fleet.line)
        assert "reste jusqu'au" in reply["text"]
        assert "240 min" in reply["text"] and "488 SMS" in reply["text"]
        assert "Hors forfait : 0,00 €" in reply["text"]


def test_an_unknown_keyword_gets_the_help_text(fleet: Fleet) -> None:
    assert inbound(fleet.op, fleet.line, "SOLDE") == "help"
    (reply,) = replies(fleet, fleet.line)
    assert reply["rule"] is None
    assert "envoyez CONSULT au 1921" in reply["text"]
    api = Api(fleet.op)
    english = api.line(fleet.account, "king", user=api.user(fleet.account, "user"))
    assert inbound(fleet.op, english, "what?") == "help"
    assert "text CONSULT to 1921" in replies(fleet, english)[0]["text"]


def test_an_unknown_sender_gets_nothing(fleet: Fleet) -> None:
    stranger = new_number()
    assert inbound(fleet.op, stranger, "CONSULT") == "ignored"
    assert inbound(fleet.op, stranger, "HELP") == "ignored"
    assert fleet.outbox(to=stranger) == []
    # A text to another number than 1921 is not answered either.
    assert inbound(fleet.op, fleet.line, "CONSULT", to="8644") == "ignored"
    assert replies(fleet, fleet.line) == []


def test_texts_over_the_hourly_limit_get_no_reply(fleet: Fleet) -> None:
    for _ in range(PER_HOUR):
        assert inbound(fleet.op, fleet.line, "CONSULT") == "consult"
    assert inbound(fleet.op, fleet.line, "CONSULT") == "rate_limited"
    assert inbound(fleet.op, fleet.line, "HELP") == "rate_limited"
    assert len(replies(fleet, fleet.line)) == PER_HOUR
    # Another sender of the same account is not affected.
    api = Api(fleet.op)
    other = api.line(fleet.account, "king")
    assert inbound(fleet.op, other, "CONSULT") == "consult"


def test_the_outbox_is_for_the_operator_only(fleet: Fleet) -> None:
    for who in (fleet.user, fleet.admin):
        client = fleet.as_(who)
        assert_problem(client.get("/api/v1/messages"), 403)
        assert_problem(client.post("/api/v1/sms/inbound",
                                   json={"from": fleet.line, "to": "1921", "text": "CONSULT"}),
                       403)
    with fleet.server.client() as anon:
        assert_problem(anon.get("/api/v1/messages"), 401)
    assert replies(fleet, fleet.line) == []


def test_messages_filters(fleet: Fleet) -> None:
    fleet.op.post("/api/v1/usage", json=[record(fleet.line, "sms", 450)])
    all_rows = fleet.outbox()
    assert any(r["line"] == fleet.line for r in all_rows)
    mine = fleet.outbox(line=fleet.line)
    assert mine and all(r["line"] == fleet.line for r in mine)
    assert fleet.outbox(line=fleet.line, since="2999-01-01T00:00:00Z") == []
    since = fleet.outbox(line=fleet.line, since=mine[0]["created_at"])
    assert [r["id"] for r in since] == [r["id"] for r in mine]     # statuses may move on
    assert_problem(fleet.op.get("/api/v1/messages", params={"since": "yesterday"}), 422)



def test_internet_line_alerts_are_email_reminders(fleet: Fleet) -> None:
    api = Api(fleet.op)
    address = f"{new_id('home')}@example.com"
    user = api.user(fleet.account, "user", email=address, language="nl")
    home = api.line(fleet.account, "internet-150", line_id=new_id("home"), user=user)
    body = fleet.alerts(line=home)
    assert body["rules"] == [{"kind": "volume_pct", "value": 90},
                             {"kind": "volume_pct", "value": 100}]
    assert body["channels"] == {"sms": False, "second_number": None, "email": address}
    problem = assert_problem(fleet.op.put(f"/api/v1/lines/{home}/alerts", json={
        "rules": [{"kind": "included_pct", "value": 75}], "channels": {"sms": True}}), 422)
    assert "sms" in error_fields(problem)
    assert_problem(fleet.op.put(f"/api/v1/lines/{home}/alerts", json={
        "rules": [{"kind": "extra_eur", "value": 10}]}), 422)
    assert fleet.alerts(line=home) == body
    fleet.op.post("/api/v1/usage", json=[record(home, "data", 135 * GB)])
    (message,) = fleet.outbox(line=home)
    assert (message["channel"], message["to"], message["rule"]) == (
        "email", address, {"kind": "volume_pct", "value": 90})
    assert "maandvolume" in message["text"]


@pytest.mark.parametrize("bad", [
    {"to": "1921", "text": "CONSULT"},
    {"from": "+32470000001", "text": "CONSULT"},
    {"from": "+32470000001", "to": "1921"},
    {"from": "+32470000001", "to": "1921", "text": 5},
    {"from": "", "to": "1921", "text": "CONSULT"},
    {"from": "+32470000001", "to": "1921", "text": "x" * 2001},
], ids=["no-from", "no-to", "no-text", "text-not-string", "empty-from", "text-too-long"])
def test_a_bad_inbound_body_is_a_422(fleet: Fleet, bad: dict[str, Any]) -> None:
    assert_problem(fleet.op.post("/api/v1/sms/inbound", json=bad), 422)
