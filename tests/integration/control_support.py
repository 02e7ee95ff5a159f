"""Helpers for the network-control tests: accounts with an admin, a user and a line;
servers started with extra CONSO_* settings; polling with a deadline."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .helpers import Api, Server, start_server, stop_server
from .pg_support import fresh_database

T = TypeVar("T")
EUR_CENTS = 100








@dataclass(frozen=True)
class Account:
    """An account with an admin, a line user and one line of that user."""

    id: str
    admin: str
    user: str
    line: str


def new_account(api: Api, plan: str = "payg", *, kind: str = "business",
                line_id: str | None = None) -> Account:
    account_id = api.account(kind)
    admin = api.user(account_id, "admin")
    user = api.user(account_id, "user")
    line = api.line(account_id, plan, line_id=line_id, user=user)
    return Account(account_id, admin, user, line)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if status != 204 else None


@dataclass
class Network:
    """The network's side of online charging, with the operator key."""

    client: httpx.Client

    def authorize(self, line: str, service: str, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = ok(self.client.post(
            "/api/v1/authorize", json={"line": line, "service": service, **extra}))
        return body

    def start(self, session_id: str, line: str, service: str, requested: int,
              **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = ok(self.client.post("/api/v1/sessions", json={
            "session_id": session_id, "line": line, "service": service,
            "requested": requested, **extra}))
        return body

    def update(self, session_id: str, used: int, requested: int,
               request_number: int | None = None) -> httpx.Response:
        payload: dict[str, Any] = {"used": used, "requested": requested}
        if request_number is not None:
            payload["request_number"] = request_number
        return self.client.post(f"/api/v1/sessions/{session_id}/update", json=payload)

    def terminate(self, session_id: str, used: int) -> httpx.Response:
        return self.client.post(f"/api/v1/sessions/{session_id}/terminate",
                                json={"used": used})


def new_session_id() -> str:
    return f"sess-{uuid.uuid4().hex[:16]}"


def set_limit(client: httpx.Client, line: str, amount_eur: int) -> dict[str, Any]:
    body: dict[str, Any] = ok(client.put(f"/api/v1/lines/{line}/spending-limit",
                                         json={"amount_eur": amount_eur}))
    return body


@contextmanager
def shared_servers(workdir: Path, count: int = 2,
                   env: dict[str, str] | None = None) -> Iterator[list[Server]]:
    """`count` API processes sharing one fresh PostgreSQL database (CONSO_SHARED)."""
    with fresh_database() as url, ExitStack() as stack:
        servers = []
        for n in range(count):
            server = start_server(workdir / f"node{n}", workdir / "unused.db", db_url=url,
                                  env={"CONSO_SHARED": "1", **(env or {})})
            stack.callback(stop_server, server)
            servers.append(server)
        yield servers
