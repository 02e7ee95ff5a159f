"""Security headers on the answers `conso serve` writes outside the FastAPI app, over a real
server: the fast path's authorize and session update (api/fastpath.py), the body limit's
413 (api/limits.py) and the listener's refusals, written as raw HTTP/1.1 (api/listener.py).
Before, these carried none: no nosniff, no Content-Security-Policy."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from conso.web.headers import OTHER_POLICY

from .helpers import Api, Server, new_id, start_server, stop_server

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def one_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("raw-answer-headers")
    started = start_server(workdir, workdir / "conso.db")
    yield started
    stop_server(started)


def assert_api_headers(headers: httpx.Headers | dict[str, str]) -> None:
    assert headers["x-content-type-options"] == "nosniff", headers
    assert headers["x-frame-options"] == "DENY", headers
    assert headers["referrer-policy"] == "no-referrer", headers
    assert headers["content-security-policy"] == OTHER_POLICY, headers


def test_fast_path_answers_carry_the_api_headers(one_server: Server) -> None:
    with one_server.operator() as op:
        api = Api(op)
        line = api.line(api.account(), plan="payg")
        answer = op.post("/api/v1/authorize", json={"line": line, "service": "sms"})
        assert answer.status_code == 200, answer.text
        assert_api_headers(answer.headers)
        session = new_id("s")
        opened = op.post("/api/v1/sessions", json={"session_id": session, "line": line,
                                                   "service": "data", "requested": 10})
        assert opened.status_code in (200, 201), opened.text
        answer = op.post(f"/api/v1/sessions/{session}/update", json={"used": 1,
                                                                      "requested": 10})
        assert answer.status_code == 200, answer.text
        assert_api_headers(answer.headers)


def test_a_413_carries_the_api_headers(one_server: Server) -> None:
    with one_server.operator() as op:
        answer = op.put(f"/api/v1/accounts/{new_id('acct')}", content=b" " * (MiB + 1),
                        headers={"content-type": "application/json"})
        assert answer.status_code == 413, answer.text
        assert_api_headers(answer.headers)


def test_the_listeners_refusals_carry_the_api_headers(one_server: Server) -> None:
    with socket.create_connection(("127.0.0.1", one_server.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 64 * 1024)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    assert head[0].split()[1] == "431", head
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in head[1:])}
    assert headers["content-type"].startswith("application/problem+json"), headers
    assert_api_headers(headers)
