"""The API listener's limits (api/limits.py, api/listener.py), over a real server.

Before them a 200 KB header and 5,000 header fields were read and answered, a body over
the limit was a 422, a connection that never sent a byte stayed open for ever, and
under a low file limit idle connections took /healthz down. Every refusal here is
problem+json; /healthz keeps answering.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from .helpers import (
    OPERATOR_KEY,
    PROBLEM_JSON,
    Api,
    Server,
    assert_problem,
    conso_command,
    conso_env,
    free_port,
    new_id,
    record,
    start_server,
    stop_server,
    wait_for,
    wait_healthy,
)

MiB = 1024 * 1024


# -- raw HTTP/1.1 ---------------------------------------------------------------------


def _connect(server: Server, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One answer (status, headers, body), read up to its Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed without an answer (got {data!r})"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk, "closed in the middle of the body"
        body += chunk
    return status, headers, body


def _closed(sock: socket.socket, within: float) -> bool:
    """Whether the server closes the connection (EOF or reset) within `within` seconds."""
    sock.settimeout(within)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _assert_raw_problem(answer: tuple[int, dict[str, str], bytes], status: int) -> None:
    got, headers, body = answer
    assert got == status, (got, body)
    assert headers["content-type"].startswith(PROBLEM_JSON), headers
    problem = orjson.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"], problem


def _healthy(server: Server) -> None:
    answer = httpx.get(f"{server.base_url}/healthz", timeout=10.0)
    assert answer.status_code == 200, answer.text


# -- header size and count: on the shared server (every store) -------------------------


def test_a_200_kb_header_is_refused_with_431_and_healthz_keeps_answering(
    server: Server, anon: httpx.Client,
) -> None:
    answer = anon.get("/healthz", headers={"x-big": "a" * 200_000})
    assert_problem(answer, 431)
    _healthy(server)


def test_5000_header_fields_are_refused_with_431(server: Server, anon: httpx.Client) -> None:
    answer = anon.get("/healthz", headers=[(f"x-h{i}", "v") for i in range(5000)])
    assert_problem(answer, 431)
    # At the limit (100 fields, with the client's own few) it is answered.
    assert anon.get("/healthz", headers=[(f"x-h{i}", "v") for i in range(90)]
                    ).status_code == 200
    _healthy(server)


def test_a_header_sent_without_end_is_refused_once_over_the_limit(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 64 * 1024)
        _assert_raw_problem(_read_answer(sock), 431)
        assert _closed(sock, 5.0)
    _healthy(server)


def test_a_request_target_over_the_limit_is_414(server: Server, anon: httpx.Client) -> None:
    assert_problem(anon.get("/healthz", params={"q": "a" * 20_000}), 414)
    _healthy(server)


def test_a_request_that_is_not_http_is_a_400_problem(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(b"HELLO THERE\r\n\r\n")
        _assert_raw_problem(_read_answer(sock), 400)
    _healthy(server)


# -- the body size: 413 on every route that takes a body --------------------------------


BODY_ROUTES = [
    ("PUT", "/api/v1/accounts/{account}"),
    ("PUT", "/api/v1/accounts/{account}/users/{user}"),
    ("PUT", "/api/v1/lines/+32470000001"),
    ("PUT", "/api/v1/lines/+32470000001/alerts"),
    ("PUT", "/api/v1/lines/+32470000001/barring"),
    ("PUT", "/api/v1/lines/+32470000001/spending-limit"),
    ("POST", "/api/v1/authorize"),
    ("POST", "/api/v1/sessions"),
    ("POST", "/api/v1/sessions/s-1/update"),
    ("POST", "/api/v1/sessions/s-1/terminate"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/sms/inbound"),
    ("POST", "/portal/login"),
]


def _padded(size: int) -> bytes:
    """A JSON object of `size` bytes (spaces before the closing brace)."""
    return b"{" + b" " * (size - 2) + b"}"


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES,
                         ids=[f"{m} {p}" for m, p in BODY_ROUTES])
def test_a_body_over_the_limit_is_413_on_every_route(op: httpx.Client, method: str,
                                                     path: str) -> None:
    url = path.format(account=new_id("acct"), user=new_id("u"))
    answer = op.request(method, url, content=_padded(MiB + 1),
                        headers={"content-type": "application/json"})
    assert_problem(answer, 413)


def test_a_body_over_the_limit_is_413_without_credentials(anon: httpx.Client) -> None:
    assert_problem(anon.post("/api/v1/usage", content=_padded(32 * MiB + 1),
                             headers={"content-type": "application/json"}), 413)


def _chunks(size: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    yield b"["
    sent = 1
    while sent < size - 1:
        part = min(piece, size - 1 - sent)
        yield b" " * part
        sent += part
    yield b"]"


@pytest.mark.parametrize(("path", "size"), [("/api/v1/usage", 32 * MiB + 1),
                                            ("/api/v1/authorize", MiB + 1),
                                            ("/api/v1/lines/+32470000001/alerts", MiB + 1)],
                         ids=["usage", "authorize", "alerts"])
def test_a_chunked_body_over_the_limit_is_413(op: httpx.Client, path: str, size: int) -> None:
    # No Content-Length: refused as soon as it goes over, not once read in full.
    method = "PUT" if path.endswith("alerts") else "POST"
    answer = op.request(method, path, content=_chunks(size),
                        headers={"content-type": "application/json"})
    assert_problem(answer, 413)


def test_usage_takes_a_batch_larger_than_the_default_limit(api: Api, op: httpx.Client) -> None:
    line = api.line(api.account())
    records = [record(line, "sms", 1) for _ in range(50)]
    body = orjson.dumps(records)[:-1] + b" " * (3 * MiB) + b"]"
    answer = op.post("/api/v1/usage", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 50


# -- connections and slow clients: servers of their own -------------------------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with a cap of 4 connections, 1 s to send a head, 1 s of body pause."""
    workdir = tmp_path_factory.mktemp("conso-limited")
    server = start_server(workdir, workdir / "conso.db", env={
        "CONSO_MAX_CONNECTIONS": "4", "CONSO_HEADER_TIMEOUT": "1",
        "CONSO_BODY_TIMEOUT": "1", "CONSO_KEEPALIVE_TIMEOUT": "60"})
    yield server
    stop_server(server)


def test_connections_over_the_cap_are_answered_503_not_left_waiting(limited: Server) -> None:
    assert "4 connections" in limited.stdout()
    time.sleep(0.5)  # the start-up check's connection is gone
    held = []
    for _ in range(4):
        sock = _connect(limited)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_answer(sock)[0] == 200
        held.append(sock)  # kept alive for 60 s
    started = time.monotonic()
    answer = httpx.get(f"{limited.base_url}/healthz", timeout=10.0)
    assert time.monotonic() - started < 3.0
    assert_problem(answer, 503)
    assert answer.headers["retry-after"] == "1"
    for sock in held:
        sock.close()
    wait_for(lambda: httpx.get(f"{limited.base_url}/healthz", timeout=10.0).status_code == 200,
             "the cap freed", deadline=10.0)


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    limited: Server,
) -> None:
    with _connect(limited) as sock:
        assert _closed(sock, 5.0)
    _healthy(limited)


def test_a_head_sent_too_slowly_is_408(limited: Server) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.5)
        sock.sendall(b"X-Slow: 1\r\n")
        sock.settimeout(5.0)
        _assert_raw_problem(_read_answer(sock), 408)
        assert _closed(sock, 5.0)


def test_a_body_that_stalls_is_408(limited: Server) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"PUT /api/v1/accounts/" + new_id("acct").encode() + b" HTTP/1.1\r\n"
                     b"Host: x\r\nAuthorization: Bearer " + OPERATOR_KEY.encode() + b"\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                     b'{"name": "A",')
        sock.settimeout(5.0)
        _assert_raw_problem(_read_answer(sock), 408)
        assert _closed(sock, 5.0)
    _healthy(limited)


# `conso serve` under `ulimit -n FILES` (soft and hard).
_WITH_FILE_LIMIT = ("import resource, runpy, sys; files = int(sys.argv.pop(1)); "
                    "resource.setrlimit(resource.RLIMIT_NOFILE, (files, files)); "
                    "runpy.run_module('conso.cli', run_name='__main__')")


def _spawn_with_file_limit(workdir: Path, files: int, env: dict[str, str]) -> Server:
    port = free_port()
    out, err = workdir / "serve.out", workdir / "serve.err"
    command = [sys.executable, "-c", _WITH_FILE_LIMIT, str(files), "serve", "--port", str(port),
               "--db", f"sqlite:///{workdir / 'conso.db'}"]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=workdir,
                                   env={**conso_env(), **env})
    server = Server(f"http://127.0.0.1:{port}", OPERATOR_KEY, process, workdir / "conso.db",
                    out, err, port)
    try:
        wait_healthy(server, 30.0)
    except BaseException:
        stop_server(server)
        raise
    return server


def _answers(server: Server) -> int | None:
    """/healthz's status, or None when the connection was refused, reset or timed out."""
    try:
        answer = httpx.get(f"{server.base_url}/healthz", timeout=3.0)
    except httpx.TransportError:
        return None
    if answer.status_code != 200:
        assert answer.headers["content-type"].startswith(PROBLEM_JSON), answer.text
    return answer.status_code


def test_under_a_low_file_limit_idle_connections_do_not_take_healthz_down(
    tmp_path: Path,
) -> None:
    server = _spawn_with_file_limit(tmp_path, 256, {"CONSO_HEADER_TIMEOUT": "2"})
    idle: list[socket.socket] = []
    try:
        assert "lowered for ulimit -n 256" in server.stdout()
        for _ in range(400):  # more connections than the server has file descriptors
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", server.port))
            idle.append(sock)
        # Answered all along (200, or 503 problem+json while the cap is reached) ...
        answered = wait_for(lambda: _answers(server), "/healthz answers", deadline=15.0)
        assert answered in (200, 503)
        # ... and 200 once the idle connections are closed by the server, while the
        # clients still hold them open.
        wait_for(lambda: _answers(server) == 200, "/healthz 200 again", deadline=30.0)
        assert server.process.poll() is None
    finally:
        for sock in idle:
            sock.close()
        stop_server(server)


def test_a_limit_that_is_not_a_positive_number_stops_serve(tmp_path: Path) -> None:
    done = subprocess.run(
        conso_command("serve", "--port", str(free_port()), "--db",
                      f"sqlite:///{tmp_path / 'conso.db'}"),
        env={**conso_env(), "CONSO_HEADER_TIMEOUT": "-3"}, cwd=tmp_path, capture_output=True,
        timeout=60, check=False)
    assert done.returncode == 2
    assert "CONSO_HEADER_TIMEOUT" in done.stderr.decode()
