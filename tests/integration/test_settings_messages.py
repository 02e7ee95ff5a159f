"""Users are told what an admin or the operator changed on their line (issue 16): an SMS
from 8644, in the user's language, queued with the change, once per change; also when
a plan change drops the spending limit. Over HTTP on a real `conso serve`."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest

from .helpers import Api, Server, login

NOTIFY = "8644"


def messages(op: httpx.Client, line: str) -> list[dict[str, Any]]:
    answer = op.get("/api/v1/messages", params={"line": line})
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


def changes(op: httpx.Client, line: str) -> list[str]:
    """The texts of the SMS from 8644 to the line that no threshold caused."""
    rows = messages(op, line)
    return [r["text"] for r in rows
            if r["sender"] == NOTIFY and r["to"] == line and r["rule"] is None]


def as_user(server: Server, user: str) -> httpx.Client:
    return server.client(login(server, user))


def test_an_admin_barring_functions_texts_the_user_once_in_their_language(
    server: Server, api: Api, op: httpx.Client,
) -> None:
    account = api.account("business")
    admin = api.user(account, "admin")
    user = api.user(account, "user", language="fr")
    line = api.line(account, "king", user=user)
    body = {"data": True, "voice_out_roaming": True}
    with as_user(server, admin) as client:
        barred = client.put(f"/api/v1/lines/{line}/barring", json=body)
        assert barred.status_code == 200, barred.text
        (text,) = changes(op, line)
        assert text == ("conso : votre administrateur a bloqué les données mobiles et les "
                        "appels sortants à l'étranger sur votre ligne.")
        again = client.put(f"/api/v1/lines/{line}/barring", json=body)   # a retry
        assert again.status_code == 200, again.text
        assert len(changes(op, line)) == 1
        lifted = client.put(f"/api/v1/lines/{line}/barring",
                            json={"data": False, "premium": True})
        assert lifted.status_code == 200, lifted.text
    assert changes(op, line)[1] == ("conso : votre administrateur a bloqué les services "
                                    "premium et débloqué les données mobiles sur votre "
                                    "ligne.")


def test_the_operator_setting_changing_and_removing_a_limit_texts_the_user(
    api: Api, op: httpx.Client,
) -> None:
    account = api.account("residential")
    user = api.user(account, "user", language="nl")
    line = api.line(account, "payg", user=user)
    path = f"/api/v1/lines/{line}/spending-limit"
    assert op.put(path, json={"amount_eur": 10}).status_code == 200
    assert op.put(path, json={"amount_eur": 10}).status_code == 200   # the same again
    assert op.put(path, json={"amount_eur": 20}).status_code == 200
    removed = op.delete(path)
    assert removed.status_code in (200, 204), removed.text
    texts = changes(op, line)
    assert len(texts) == 3, texts
    assert texts[0].startswith("conso: uw operator heeft een uitgavenlimiet van € 10,00 "
                               "per periode ingesteld op uw lijn.")
    assert "gewijzigd van € 10,00 naar € 20,00" in texts[1]
    assert "uitgavenlimiet van € 20,00 van uw lijn verwijderd" in texts[2]


def test_a_plan_change_that_drops_the_limit_texts_the_user(
    api: Api, op: httpx.Client,
) -> None:
    account = api.account("residential")
    user = api.user(account, "user", language="en")
    line = api.line(account, "payg", user=user)
    assert op.put(f"/api/v1/lines/{line}/spending-limit",
                  json={"amount_eur": 20}).status_code == 200
    before = len(changes(op, line))
    moved = op.put(f"/api/v1/lines/{line}", json={"account_id": account, "plan": "king"})
    assert moved.status_code == 200, moved.text
    assert api.usage(line)["spending_limit"] is None
    texts = changes(op, line)
    assert len(texts) == before + 1
    assert texts[-1] == ("conso: your line has moved to the King plan, so your spending "
                         "limit of €20.00 no longer applies. A new limit can be set in the "
                         "portal.")
    # The same PUT again changes nothing and tells nothing.
    assert op.put(f"/api/v1/lines/{line}",
                  json={"account_id": account, "plan": "king"}).status_code == 200
    assert len(changes(op, line)) == before + 1


def test_an_admin_changing_their_own_line_is_not_texted(
    server: Server, api: Api, op: httpx.Client,
) -> None:
    account = api.account("business")
    admin = api.user(account, "admin")
    own = api.line(account, "king", user=admin)
    with as_user(server, admin) as client:
        answer = client.put(f"/api/v1/lines/{own}/barring", json={"premium": True})
        assert answer.status_code == 200, answer.text
    assert changes(op, own) == []


def _openapi_30_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's type null, everywhere."""
    if isinstance(node, list):
        return [_openapi_30_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_30_to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.mark.parametrize("path", ["/api/v1/messages?line={line}",
                                  "/api/v1/lines/{line}/messages"])
def test_change_messages_match_the_openapi_document(
    api: Api, op: httpx.Client, path: str,
) -> None:
    account = api.account("business")
    user = api.user(account, "user")
    line = api.line(account, "payg", user=user)
    assert op.put(f"/api/v1/lines/{line}/barring", json={"sms_out": True}).status_code == 200
    assert op.put(f"/api/v1/lines/{line}/spending-limit",
                  json={"amount_eur": 5}).status_code == 200
    document = op.get("/openapi.json").json()
    route = path.split("?", 1)[0].replace("{line}", "{line_id}")
    answer_schema = document["paths"][route]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    schema = _openapi_30_to_json_schema(
        {**answer_schema, "components": document["components"]})
    if "?" in path:     # a "+" in a query is a space: let httpx encode the line
        body = op.get(path.split("?", 1)[0], params={"line": line}).json()
    else:
        body = op.get(path.format(line=line)).json()
    assert len([m for m in body if m["rule"] is None]) == 2
    jsonschema_rs.validator_for(schema).validate(body)
