"""Crash safety (api.md, "Running"): a SIGKILL loses nothing that was answered 200;
one process owns a SQLite database at a time."""

from __future__ import annotations

import subprocess
import threading
import time
from typing import Any

import httpx

from .conftest import ServerFactory
from .helpers import (
    PASSWORD,
    Api,
    Server,
    conso_command,
    conso_env,
    free_port,
    kill_server,
    new_id,
    now_utc,
    record,
)

PAYG_SMS_CENTS = 8


def test_sigkill_after_200_loses_nothing(server_factory: ServerFactory) -> None:
    first = server_factory()
    at = now_utc()
    with first.operator() as client:
        api = Api(client)
        account = api.account()
        payg = api.line(account, "payg")
        king = api.line(account, "king")
        batch = [record(payg, "sms", 1, at=at) for _ in range(2_000)]
        batch += [record(king, "voice", 10, at=at) for _ in range(500)]
        batch.append(record(king, "data", 123_456_789, at=at))
        answer = client.post("/api/v1/usage", json=batch)
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == len(batch)
    kill_server(first)
    assert first.process.returncode == -9

    second = server_factory(first.db_path)
    with second.operator() as client:
        api = Api(client)
        payg_usage = api.usage(payg, at)
        assert payg_usage["services"]["sms"]["used"] == 2_000
        assert payg_usage["extra_cents"] == 2_000 * PAYG_SMS_CENTS
        king_usage = api.usage(king, at)
        assert king_usage["services"]["voice"]["used"] == 5_000
        assert king_usage["services"]["data"]["used"] == 123_456_789
        assert king_usage["extra_cents"] == 0

        again = client.post("/api/v1/usage", json=batch)
        assert again.status_code == 200, again.text
        assert again.json() == {"accepted": 0, "duplicates": len(batch), "rejected": []}
        assert api.usage(payg, at) == payg_usage


def test_sigkill_during_a_stream_of_batches(server_factory: ServerFactory) -> None:
    """Kill while batches are in flight: every answered one survives, and re-sending
    them all after the restart makes the count exact, never double."""
    first = server_factory()
    at = now_utc()
    with first.operator() as client:
        api = Api(client)
        line = api.line(api.account("residential"), "payg")
    batches = [[record(line, "sms", 1, at=at) for _ in range(250)] for _ in range(40)]
    answered: list[int] = []
    wrong: list[str] = []

    def feed() -> None:
        with first.operator() as sender:
            for number, batch in enumerate(batches):
                try:
                    answer = sender.post("/api/v1/usage", json=batch)
                except httpx.TransportError:
                    return
                if answer.status_code != 200 or answer.json()["accepted"] != len(batch):
                    wrong.append(answer.text)
                    return
                answered.append(number)

    sender = threading.Thread(target=feed)
    sender.start()
    deadline = time.monotonic() + 30
    while len(answered) < 3 and sender.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    kill_server(first)
    sender.join(30)
    assert not sender.is_alive()
    assert wrong == []
    assert len(answered) >= 3

    second = server_factory(first.db_path)
    with second.operator() as client:
        api = Api(client)
        used = api.usage(line, at)["services"]["sms"]["used"]
        assert used >= 250 * len(answered)
        totals: dict[str, Any] = {"accepted": 0, "duplicates": 0}
        for batch in batches:
            result = api.feed(batch)
            assert result["rejected"] == []
            totals["accepted"] += result["accepted"]
            totals["duplicates"] += result["duplicates"]
        assert totals["duplicates"] == used
        assert totals["accepted"] + totals["duplicates"] == 250 * len(batches)
        assert api.usage(line, at)["services"]["sms"]["used"] == 250 * len(batches)


def test_restart_keeps_accounts_users_and_tokens(server_factory: ServerFactory) -> None:
    first = server_factory()
    with first.operator() as client:
        api = Api(client)
        account = api.account()
        user = api.user(account, role="admin")
        line = api.line(account, user=user, cycle_day=7)
    token = httpx.post(f"{first.base_url}/api/v1/auth/login",
                       json={"login": user, "password": PASSWORD}).json()["token"]
    kill_server(first)

    second = server_factory(first.db_path)
    with second.client(token) as client:
        me = client.get("/api/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["lines"] == [line]
        read = client.get(f"/api/v1/lines/{line}")
        assert read.json()["cycle_day"] == 7


def test_second_server_on_the_same_database_refuses_to_start(server: Server) -> None:
    command = conso_command("serve", "--port", str(free_port()), "--db", server.db_url)
    try:
        finished = subprocess.run(command, check=False, capture_output=True, text=True,
                                  timeout=30, env=conso_env(), cwd=server.db_path.parent)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("a second server on a database in use did not exit") from exc
    assert finished.returncode != 0
    message = finished.stderr.lower()
    assert "in use" in message and "lock" in message, finished.stderr
    assert (server.url or str(server.db_path)) in finished.stderr  # it names the database
    assert "Traceback" not in finished.stderr
    # The first server is unharmed.
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_a_server_that_stopped_releases_the_database(server_factory: ServerFactory) -> None:
    first = server_factory()
    with first.operator() as client:
        account = Api(client).account(account_id=new_id("kept"))
    first.process.terminate()
    first.process.wait(10)
    second = server_factory(first.db_path)
    with second.operator() as client:
        answer = client.put(f"/api/v1/accounts/{account}",
                            json={"name": "again", "kind": "business"})
        assert answer.status_code == 200, answer.text
