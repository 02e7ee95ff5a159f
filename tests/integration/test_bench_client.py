"""The benchmark's load generators against a real server: the socket HTTP client
(answers, errors, keep-alive), the Diameter CCR-UPDATE load and the Nchf update load
(and h2load's, when installed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hpack import Decoder

from conso.bench import h2load
from conso.bench.client import Client, HttpError, run_parallel
from conso.bench.diameter_load import UpdateTemplate, result_code
from conso.bench.nchf_load import BodyTemplate, StaticEncoder, create_body, h2load_body
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


def test_static_encoder_writes_header_blocks_any_hpack_decoder_reads() -> None:
    encoder, decoder = StaticEncoder(), Decoder()
    headers = [(b":method", b"POST"), (b":scheme", b"http"), (b":authority", b"127.0.0.1:1"),
               (b":path", b"/nchf-convergedcharging/v3/chargingdata/" + b"a" * 200),
               (b"authorization", b"Bearer k"), (b"content-type", b"application/json"),
               (b"content-length", b"321"), (b"x-not-in-the-static-table", b"v")]
    block = encoder.encode(headers)
    assert block[:2] == b"\x83\x86"   # :method POST, :scheme http: the static table's
    assert decoder.decode(block, raw=True) == headers
    assert encoder.encode(list(headers)) == block   # the same headers, the same bytes
    assert len(decoder.header_table.dynamic_entries) == 0   # nothing indexed
    encoder.header_table_size = 1024     # the server's SETTINGS_HEADER_TABLE_SIZE
    resized = encoder.encode(headers)
    assert resized[0] & 0xE0 == 0x20 and resized.endswith(block)   # signalled once
    assert decoder.decode(resized, raw=True) == headers
    assert encoder.encode(headers) == block


def test_nchf_bodies_differ_only_where_they_must() -> None:
    template = BodyTemplate(used=1000, requested=2000, stamp="2026-11-30T10:00:00Z")
    body = orjson.loads(template.render(7))
    assert body["invocationSequenceNumber"] == 7
    assert body["multipleUnitUsage"] == [{
        "ratingGroup": 10, "requestedUnit": {"totalVolume": 2000},
        "usedUnitContainer": [{"localSequenceNumber": 1, "totalVolume": 1000}]}]
    assert orjson.loads(template.render(4_294_967_294))["invocationSequenceNumber"] \
        == 4_294_967_294
    last = orjson.loads(BodyTemplate(used=5, requested=None, stamp="x").render(1))
    assert "requestedUnit" not in last["multipleUnitUsage"][0]
    assert orjson.loads(h2load_body())["invocationSequenceNumber"] == 1
    one, two = (orjson.loads(create_body("32470000003", n, "x", requested=10)) for n in (1, 2))
    assert one["pDUSessionChargingInformation"]["userInformation"]["servedGPSI"] \
        == "msisdn-32470000003"
    assert one != two   # each create its own ChargingDataRef


def test_h2load_log_is_read_into_rate_and_percentiles(tmp_path: Path) -> None:
    log = tmp_path / "h2load.log"
    log.write_text("".join(f"{1_000_000 + n * 1000}\t{200 if n else 404}\t{(n + 1) * 100}\n"
                           for n in range(100)))
    summary = h2load.read_log(log)
    assert summary["answered"] == 100
    assert summary["errors"] == 1 and summary["error_codes"] == {"404": 1}
    assert summary["seconds"] == pytest.approx(0.109)   # first start to last end
    assert summary["p50_ms"] == pytest.approx(5.1)
    assert summary["p99_ms"] == pytest.approx(10.0)


def _nchf_lines(server: Server) -> list[str]:
    with server.operator() as operator:
        api = Api(operator)
        account = api.account()
        lines = [api.line(account, plan) for plan in ("king", "kong", "payg")]
        assert operator.put(f"/api/v1/lines/{lines[2]}/spending-limit",
                            json={"amount_eur": 50}).status_code == 200
    return lines


def _data_used(server: Server, lines: list[str]) -> int:
    with server.operator() as operator:
        api = Api(operator)
        return sum(int(api.usage(line)["services"]["data"]["used"]) for line in lines)


def _nchf_load(server: Server, port: int, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "conso.bench.nchf_load", "--port", str(port),
         "--server-pid", str(server.pid), *args],
        capture_output=True, timeout=60, check=False,
        env=dict(os.environ, CONSO_OPERATOR_KEY=server.operator_key))


def test_nchf_load_counts_every_update_from_another_process(
        server_factory: ServerFactory) -> None:
    port = free_port()
    server = server_factory(extra_args=("--nchf", f"127.0.0.1:{port}"))
    lines = _nchf_lines(server)
    done = _nchf_load(server, port, "--connections", "2", "--seconds", "0.5",
                      "--warmup", "0.1", *(line.lstrip("+") for line in lines),
                      "32470999999")   # no such line: its create is refused, counted
    assert done.returncode == 0, done.stderr.decode()
    load = orjson.loads(done.stdout)
    assert load["resources"] == 3
    assert load["connections"] == 2
    assert load["create_refused"] == 1
    assert load["create_codes"] == {"404": 1}   # USER_UNKNOWN
    assert 0 < load["answered"] <= load["updated"]
    assert load["errors"] == 0, load["error_codes"]
    assert load["not_granted"] == 0
    assert load["unanswered"] == 0
    assert (load["released"], load["release_errors"]) == (3, 0)
    assert load["p50_ms"] <= load["p99_ms"]
    assert load["server_cpu_us_per_update"] > 0
    assert load["client_cpu_us_per_update"] > 0
    # Every update counted, none a retransmission: 1,000 bytes each, and each release's.
    assert _data_used(server, lines) == (load["updated"] + load["released"]) * 1000


@pytest.mark.skipif(h2load.find() is None, reason="h2load not installed (nghttp2-client)")
def test_h2load_sends_each_prepared_resource_its_first_update(
        server_factory: ServerFactory, tmp_path: Path) -> None:
    port = free_port()
    server = server_factory(extra_args=("--nchf", f"127.0.0.1:{port}"))
    lines = _nchf_lines(server)
    uris = tmp_path / "uris"
    done = _nchf_load(server, port, "--prepare", "30", "--uris", str(uris), "--in-flight", "4",
                      *(line.lstrip("+") for line in lines))
    assert done.returncode == 0, done.stderr.decode()
    created = orjson.loads(done.stdout)
    assert (created["created"], created["create_refused"]) == (30, 0)
    assert len(set(uris.read_text().splitlines())) == 30
    body = tmp_path / "body.json"
    body.write_bytes(h2load_body(used=1000))
    executable = h2load.find()
    assert executable is not None
    summary = h2load.run(executable, uris, body, tmp_path / "log", requests=30, streams=4,
                         key=server.operator_key, timeout=60)
    assert (summary["answered"], summary["errors"], summary["unanswered"]) == (30, 0, 0)
    assert _data_used(server, lines) == 30 * 1000   # 30 first updates, none repeated
