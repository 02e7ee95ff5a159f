"""The benchmark's load generators against a real server: the socket HTTP client
(answers, errors, keep-alive) and the Diameter CCR-UPDATE load."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from conso.bench.client import Client, HttpError, run_parallel
from conso.bench.diameter_load import UpdateTemplate, result_code
from conso.diameter import codec
from conso.diameter.dictionary import Avp, RequestType

from .conftest import ServerFactory
from .helpers import Api, Server, free_port


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


def test_update_template_renders_the_ccr_the_codec_reads() -> None:
    template = UpdateTemplate("pgw;1;2;bench", "pgw.example", used=1000, requested=2000)
    message = codec.decode(template.render(7, 8, 9))
    codec.check(message.avps)
    assert (message.hop_by_hop, message.end_to_end) == (7, 8)
    assert message.avps.need(Avp.SESSION_ID).text() == "pgw;1;2;bench"
    assert message.avps.need(Avp.CC_REQUEST_TYPE).u32() == RequestType.UPDATE
    assert message.avps.need(Avp.CC_REQUEST_NUMBER).u32() == 9
    mscc = message.avps.need(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL).group()
    used = mscc.need(Avp.USED_SERVICE_UNIT).group().need(Avp.CC_TOTAL_OCTETS).u64()
    asked = mscc.need(Avp.REQUESTED_SERVICE_UNIT).group().need(Avp.CC_TOTAL_OCTETS).u64()
    assert (used, asked) == (1000, 2000)
    answer = codec.message(272, 4, [codec.utf8(Avp.SESSION_ID, "s"),
                                    codec.u32(Avp.RESULT_CODE, 4012)],
                           flags=0, hop_by_hop=1, end_to_end=1)
    assert result_code(b"xx" + answer, 2, 2 + len(answer)) == 4012


def test_diameter_load_answers_every_update_from_another_process(
        server_factory: ServerFactory) -> None:
    port = free_port()
    server = server_factory(extra_args=("--diameter", f"127.0.0.1:{port}"))
    with server.operator() as operator:
        api = Api(operator)
        account = api.account()
        lines = [api.line(account, plan) for plan in ("king", "kong", "payg")]
    done = subprocess.run(
        [sys.executable, "-m", "conso.bench.diameter_load", "--port", str(port),
         "--connections", "2", "--seconds", "0.5", "--warmup", "0.1",
         "--server-pid", str(server.pid), *(line.lstrip("+") for line in lines),
         "32470999999"],   # no such line: its CCR-INITIAL is refused, counted
        capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    load = orjson.loads(done.stdout)
    assert load["sessions"] == 3
    assert load["connections"] == 2
    assert load["initial_refused"] == 1
    assert load["initial_codes"] == {"5030": 1}   # DIAMETER_USER_UNKNOWN
    assert load["answered"] > 0
    assert load["errors"] == 0, load["error_codes"]
    assert load["unanswered"] == 0
    assert load["p50_ms"] <= load["p99_ms"]
    assert load["server_cpu_us_per_ccr"] > 0
