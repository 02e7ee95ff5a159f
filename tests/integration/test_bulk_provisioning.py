"""Bulk provisioning (api.md, `POST /api/v1/provision`; `conso provision FILE`) on a real
server, on SQLite, PostgreSQL and shared PostgreSQL: items in order in one transaction,
each bad item rejected alone by its index, idempotent, all or nothing when killed."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from .conftest import UserClientFactory
from .helpers import (
    PASSWORD,
    Server,
    assert_problem,
    conso_command,
    conso_env,
    kill_server,
    new_id,
    new_number,
    start_server,
    stop_server,
)

NDJSON = {"Content-Type": "application/x-ndjson"}


def provision(op: httpx.Client, items: list[Any], *, ndjson: bool = False) -> dict[str, Any]:
    if ndjson:
        answer = op.post("/api/v1/provision", headers=NDJSON,
                         content=b"\n".join(orjson.dumps(i) for i in items))
    else:
        answer = op.post("/api/v1/provision", json=items)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def account_items(account: str, admin: str, lines: list[str]) -> list[dict[str, Any]]:
    return [{"type": "account", "account_id": account, "name": "Fleet", "kind": "business"},
            {"type": "user", "account_id": account, "login": admin, "password": PASSWORD,
             "role": "admin", "language": "nl"},
            *({"type": "line", "line_id": line, "account_id": account,
               "plan": "king-business", "user": admin} for line in lines)]


def test_a_batch_creates_an_account_its_users_and_lines_in_order(
        op: httpx.Client, user_client: UserClientFactory) -> None:
    account, admin = new_id("bulk"), new_id("adm")
    lines = [new_number() for _ in range(50)]
    answer = provision(op, account_items(account, admin, lines), ndjson=True)
    assert answer == {"created": 52, "updated": 0, "unchanged": 0, "rejected": []}
    seen = user_client(admin).get(f"/api/v1/accounts/{account}/lines")
    assert seen.status_code == 200
    assert sorted(row["line"] for row in seen.json()) == sorted(lines)
    line = op.get(f"/api/v1/lines/{lines[0]}").json()
    assert (line["plan"], line["user"], line["cycle_day"]) == ("king-business", admin, 1)


def test_the_same_batch_again_changes_nothing(op: httpx.Client) -> None:
    items = account_items(new_id("bulk"), new_id("adm"), [new_number() for _ in range(5)])
    assert provision(op, items)["created"] == 7
    assert provision(op, items) == {"created": 0, "updated": 0, "unchanged": 7,
                                    "rejected": []}


def test_each_bad_item_is_rejected_by_its_index_and_the_rest_applied(op: httpx.Client) -> None:
    account, admin = new_id("bulk"), new_id("adm")
    good, taken_imsi = new_number(), str(new_number())[1:13]
    items: list[Any] = [
        *account_items(account, admin, [good]),
        {"type": "line", "line_id": "not-a-number", "account_id": account, "plan": "king"},
        {"type": "line", "line_id": new_number(), "account_id": account, "plan": "gold"},
        {"type": "line", "line_id": new_number(), "account_id": "nobody", "plan": "king"},
        {"type": "user", "account_id": account, "login": new_id("u"), "role": "user"},
        {"type": "gizmo"},
        "not an object",
        {"type": "account", "account_id": new_id("a"), "name": "X", "kind": "business",
         "colour": "red"},
        {"type": "line", "line_id": new_number(), "account_id": account, "plan": "king",
         "imsi": taken_imsi},
        {"type": "line", "line_id": new_number(), "account_id": account, "plan": "king",
         "imsi": taken_imsi},
        {"type": "line", "line_id": new_number(), "account_id": account, "plan": "king",
         "cycle_day": 31},
        {"type": "line", "line_id": new_number(), "account_id": account, "plan": "king",
         "user": "\u0000x"},
    ]
    answer = provision(op, items)
    errors = {r["index"]: r["error"] for r in answer["rejected"]}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9, 11, 12, 13]
    assert errors[3].startswith("line_id: ")
    assert errors[4].startswith("plan: unknown plan 'gold'")
    assert errors[5].startswith("account_id: unknown account")
    assert errors[6] == "password: is required for a new user"
    assert errors[7].startswith("type: ")
    assert errors[8] == "item: must be a JSON object"
    assert errors[9].startswith("colour: ")
    assert errors[11].startswith("imsi: IMSI ")              # 10 took it first
    assert errors[12].startswith("cycle_day: ")
    assert errors[13].startswith("user: ")
    assert (answer["created"], answer["unchanged"]) == (4, 0)
    assert op.get(f"/api/v1/lines/{good}").status_code == 200
    assert op.get(f"/api/v1/lines/{items[10]['line_id']}").json()["imsi"] == taken_imsi


def test_a_plan_change_in_a_batch_is_a_plan_change(op: httpx.Client) -> None:
    account, admin = new_id("bulk"), new_id("adm")
    line = new_number()
    provision(op, account_items(account, admin, [line]))
    changed = provision(op, [{"type": "line", "line_id": line, "account_id": account,
                              "plan": "kong-business"}])
    assert (changed["updated"], changed["rejected"]) == (1, [])
    view = op.get(f"/api/v1/lines/{line}").json()
    assert [p["plan"] for p in view["plan_history"]] == ["king-business", "kong-business"]
    assert view["user"] == admin                      # "user" left out: kept
    moved = provision(op, [{"type": "line", "line_id": line, "account_id": account,
                            "plan": "internet-150"}])
    assert moved["rejected"][0]["error"].startswith("plan: a mobile line cannot")


def test_a_new_password_or_role_signs_the_user_out_the_same_one_does_not(
        op: httpx.Client, server: Server) -> None:
    account, admin = new_id("bulk"), new_id("adm")
    provision(op, account_items(account, admin, []))
    token = op.post("/api/v1/auth/login", json={"login": admin, "password": PASSWORD}
                    ).json()["token"]
    with server.client(token) as me:
        assert provision(op, account_items(account, admin, []))["unchanged"] == 2
        assert me.get("/api/v1/me").status_code == 200
        provision(op, [{"type": "user", "account_id": account, "login": admin,
                        "password": "another secret 2", "role": "admin"}])
        assert me.get("/api/v1/me").status_code == 401


def test_the_batch_is_the_operators_and_bounded(op: httpx.Client, anon: httpx.Client,
                                                user_client: UserClientFactory) -> None:
    account, admin = new_id("bulk"), new_id("adm")
    provision(op, account_items(account, admin, []))
    assert_problem(anon.post("/api/v1/provision", json=[]), 401)
    assert_problem(user_client(admin).post("/api/v1/provision", json=[]), 403)
    assert_problem(op.post("/api/v1/provision", json={"type": "account"}), 422)
    assert_problem(op.post("/api/v1/provision", content=b"[1,", headers={
        "Content-Type": "application/json"}), 422)
    too_many = [{"type": "account", "account_id": f"a{i}", "name": "x", "kind": "business"}
                for i in range(10_001)]
    assert_problem(op.post("/api/v1/provision", json=too_many), 422)


def test_a_batch_killed_mid_way_is_all_or_nothing_and_goes_through_when_sent_again(
        tmp_path: Path) -> None:
    server = start_server(tmp_path, tmp_path / "conso.db")
    account = new_id("bulk")
    lines = [new_number() for _ in range(10_000)]
    items = [{"type": "account", "account_id": account, "name": "Big", "kind": "business"},
             *({"type": "line", "line_id": line, "account_id": account, "plan": "king"}
               for line in lines[:9_999])]
    body = b"\n".join(orjson.dumps(i) for i in items)
    answered: list[int] = []

    def send() -> None:
        try:
            with server.operator() as op:
                answered.append(op.post("/api/v1/provision", content=body,
                                        headers=NDJSON, timeout=60).status_code)
        except httpx.HTTPError:
            answered.append(0)

    sender = threading.Thread(target=send)
    sender.start()
    kill_server(server)       # while the batch is read, checked or written
    sender.join(60)
    restarted = start_server(tmp_path, tmp_path / "conso.db")
    try:
        with restarted.operator() as op:
            stored = sum(op.get(f"/api/v1/lines/{line}").status_code == 200
                         for line in lines[:9_999:333])
            assert stored in (0, 30)                    # all of the batch or none of it
            assert answered != [200] or stored == 30     # answered 200: it is all there
            again = provision(op, items, ndjson=True)
            assert again["rejected"] == []
            assert again["created"] + again["unchanged"] == len(items)
            assert op.get(f"/api/v1/lines/{lines[9_998]}").status_code == 200
    finally:
        stop_server(restarted)


def test_conso_provision_reads_csv_and_ndjson_files_and_says_what_it_did(
        tmp_path: Path, server: Server) -> None:
    account, admin = new_id("bulk"), new_id("adm")
    lines = [new_number() for _ in range(3)]
    csv_file = tmp_path / "fleet.csv"
    csv_file.write_text(
        "type,account_id,name,kind,login,password,role,language,line_id,plan,user,cycle_day\n"
        f"account,{account},Fleet,business,,,,,,,,\n"
        f"user,{account},,,{admin},{PASSWORD},admin,fr,,,,\n"
        + "".join(f"line,{account},,,,,,,{line},king-business,{admin},5\n" for line in lines)
        + f"line,{account},,,,,,,+3247,king-business,,\n"
        + "line,\"broken\n")
    env = conso_env()
    done = subprocess.run(conso_command("provision", str(csv_file), "--url", server.base_url),
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 3, done.stderr
    assert "7 items: 5 created, 0 updated, 0 unchanged, 2 rejected" in done.stdout
    assert "line 7: line_id: a mobile line id" in done.stdout      # line 1 is the header
    assert "line 8: item: not a CSV row" in done.stdout
    with server.operator() as op:
        assert op.get(f"/api/v1/lines/{lines[1]}").json()["cycle_day"] == 5
    ndjson_file = tmp_path / "fleet.ndjson"
    ndjson_file.write_text("\n".join(orjson.dumps(i).decode()
                                     for i in account_items(account, admin, lines)))
    again = subprocess.run(conso_command("provision", str(ndjson_file), "--url",
                                         server.base_url, "--quiet"),
                           env=env, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    # Only the user's language differs (fr in the CSV, nl here); the lines keep day 5.
    assert "5 items: 0 created, 1 updated, 4 unchanged, 0 rejected" in again.stdout


@pytest.mark.parametrize(("argv", "said"), [
    (["provision", "missing.ndjson"], "conso provision: no such file: missing.ndjson"),
    (["provision", "x.csv", "--batch-size", "0"], "--batch-size must be 1 to 10000")])
def test_conso_provision_says_what_is_wrong_with_its_arguments(
        tmp_path: Path, argv: list[str], said: str) -> None:
    (tmp_path / "x.csv").write_text("type\n")
    done = subprocess.run(conso_command(*argv), cwd=tmp_path, env=conso_env(),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert said in done.stderr
