"""The roaming data cap over HTTP on a real `conso serve` (SQLite and PostgreSQL): the
usage answer's `roaming_cap`, authorize and sessions refusing data outside the EU/EEA
at the cap (reason `roaming_cap`), the SMS from 8644 at 80 % and 100 %, and going on
past it: `POST .../roaming-cap/continue`, `PUT .../roaming-cap`, or CONTINUE to 1921
(api.md, rules.md "Roaming data cap")."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import UserClientFactory
from .control_support import Network, new_account, new_session_id, ok
from .helpers import Api, assert_problem, record, wait_for

MB = 1_000_000
CAP_CENTS = 5000          # the catalogue's roaming_data_cap_eur = "50.00"


def roaming_cap(client: httpx.Client, line: str) -> dict[str, Any]:
    cap: dict[str, Any] = ok(client.get(f"/api/v1/lines/{line}/usage"))["roaming_cap"]
    return cap


def cap_messages(op: httpx.Client, line: str) -> list[tuple[str, int]]:
    rows = ok(op.get("/api/v1/messages", params={"line": line}))
    return [(m["sender"], m["rule"]["value"]) for m in rows
            if m["rule"] is not None and m["rule"]["kind"] == "roaming_cap_pct"]


def test_every_mobile_line_starts_capped_and_an_internet_line_has_no_cap(api: Api,
                                                                          op: httpx.Client,
                                                                          ) -> None:
    acct = new_account(api, "king")
    assert roaming_cap(op, acct.line) == {"enabled": True, "amount_cents": CAP_CENTS,
                                          "spent_cents": 0, "reached": False,
                                          "continued": False}
    box = api.line(acct.id, "internet-unlimited")
    assert roaming_cap(op, box) is None
    assert_problem(op.put(f"/api/v1/lines/{box}/roaming-cap", json={"enabled": False}), 409)


def test_at_the_cap_data_outside_the_eu_is_refused_until_the_user_continues(
    api: Api, op: httpx.Client, user_client: UserClientFactory,
) -> None:
    acct = new_account(api, "king")
    network = Network(op)
    api.feed([record(acct.line, "data", 20 * MB, country="US")])      # EUR 40: 80 %
    assert wait_for(lambda: cap_messages(op, acct.line), "the 80 % SMS") == [("8644", 80)]
    assert roaming_cap(op, acct.line)["spent_cents"] == 4000
    assert network.authorize(acct.line, "data", country="US")["allowed"] is True

    api.feed([record(acct.line, "data", 5 * MB, country="US")])       # EUR 50: 100 %
    wait_for(lambda: len(cap_messages(op, acct.line)) == 2 or None, "the 100 % SMS")
    assert roaming_cap(op, acct.line)["reached"] is True
    assert network.authorize(acct.line, "data", country="US") == {
        "allowed": False, "reason": "roaming_cap"}
    assert network.authorize(acct.line, "voice", country="US")["allowed"] is True
    assert network.authorize(acct.line, "data", country="FR")["allowed"] is True
    refused = network.start(new_session_id(), acct.line, "data", MB, country="US")
    assert (refused["granted"], refused["reason"]) == (0, "roaming_cap")

    user = user_client(acct.user)
    cap = ok(user.post(f"/api/v1/lines/{acct.line}/roaming-cap/continue"))
    assert (cap["continued"], cap["reached"], cap["enabled"]) == (True, False, True)
    assert network.authorize(acct.line, "data", country="US")["allowed"] is True
    granted = network.start(new_session_id(), acct.line, "data", MB, country="US")
    assert granted["granted"] == MB


def test_the_user_or_an_admin_switches_the_cap_off_and_on_again_audited(
    api: Api, op: httpx.Client, user_client: UserClientFactory,
) -> None:
    acct = new_account(api, "king")
    api.feed([record(acct.line, "data", 30 * MB, country="US")])
    network = Network(op)
    user, admin = user_client(acct.user), user_client(acct.admin)
    off = ok(user.put(f"/api/v1/lines/{acct.line}/roaming-cap", json={"enabled": False}))
    assert (off["enabled"], off["reached"]) == (False, False)
    assert network.authorize(acct.line, "data", country="US")["allowed"] is True
    on = ok(admin.put(f"/api/v1/lines/{acct.line}/roaming-cap", json={"enabled": True}))
    assert (on["enabled"], on["reached"]) == (True, True)
    assert network.authorize(acct.line, "data", country="US")["reason"] == "roaming_cap"
    audit = ok(admin.get(f"/api/v1/lines/{acct.line}/barring/audit"))
    changes = [(e["by"], e["after"]["enabled"]) for e in audit if e["action"] == "roaming_cap"]
    assert changes == [(acct.admin, True), (acct.user, False)]


def test_continue_texted_to_1921_resumes_data_roaming(api: Api, op: httpx.Client) -> None:
    acct = new_account(api, "king")
    api.feed([record(acct.line, "data", 30 * MB, country="US")])
    network = Network(op)
    assert network.authorize(acct.line, "data", country="US")["reason"] == "roaming_cap"
    ok(op.post("/api/v1/sms/inbound", json={"from": acct.line, "to": "1921",
                                             "text": "continue"}))
    assert network.authorize(acct.line, "data", country="US")["allowed"] is True
    replies = [m for m in ok(op.get("/api/v1/messages", params={"to": acct.line}))
               if m["sender"] == "1921"]
    assert len(replies) == 1 and roaming_cap(op, acct.line)["continued"] is True


def test_another_accounts_user_cannot_see_or_change_the_cap_and_bad_bodies_are_422(
    api: Api, op: httpx.Client, user_client: UserClientFactory,
) -> None:
    mine, theirs = new_account(api, "king"), new_account(api, "king")
    stranger = user_client(theirs.user)
    assert_problem(stranger.put(f"/api/v1/lines/{mine.line}/roaming-cap",
                                json={"enabled": False}), 404)
    assert_problem(stranger.post(f"/api/v1/lines/{mine.line}/roaming-cap/continue"), 404)
    assert_problem(op.put(f"/api/v1/lines/{mine.line}/roaming-cap", json={"enabled": "no"}),
                   422)
    assert_problem(op.put(f"/api/v1/lines/{mine.line}/roaming-cap", json={}), 422)
    assert roaming_cap(op, mine.line)["enabled"] is True
