"""The benchmark's socket HTTP client against a real server: answers, errors, keep-alive."""

from __future__ import annotations

import pytest

from conso.bench.client import Client, HttpError, run_parallel

from .helpers import Server


def test_client_reads_answers_on_one_kept_alive_connection(server: Server) -> None:
    client = Client(server.port, server.operator_key)
    try:
        for _ in range(3):
            assert client.call("GET", "/healthz") is not None
        first = client._sock
        answer = client.call("POST", "/api/v1/usage", b"[]")
        assert answer == {"accepted": 0, "duplicates": 0, "rejected": []}
        assert client._sock is first  # the same connection throughout
    finally:
        client.close()


def test_client_raises_on_error_status(server: Server) -> None:
    client = Client(server.port, "not-the-key")
    try:
        with pytest.raises(HttpError, match="401"):
            client.call("POST", "/api/v1/usage", b"[]")
    finally:
        client.close()


def test_run_parallel_counts_every_job(server: Server) -> None:
    timings = run_parallel(server.port, server.operator_key, 4, range(40),
                           lambda client, job: 1 if client.call("GET", "/healthz") else 0)
    assert timings.count == 40
    assert len(timings.latencies) == 40
