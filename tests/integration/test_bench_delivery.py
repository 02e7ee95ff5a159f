"""The bench's SMS delivery phase at a tiny size, end to end: its SMS centre (its own
process), a real server bound to it over SMPP, the burst, the single alerts and the
baseline. Checks the report's fields and that their values are sane; never a time."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from conso.bench.delivery import DeliveryConfig, Smsc, run_delivery
from conso.bench.report import delivery_table
from conso.bench.run import BenchConfig, Progress, Results, run
from conso.sms.smpp import pdu as p
from conso.sms.smpp.encoding import submit_sm
from support.aio import run_apart

pytestmark = pytest.mark.slow


def test_the_delivery_phase_reports_every_sms_answered(tmp_path: Path) -> None:
    said: list[str] = []
    figures = run_delivery(tmp_path, DeliveryConfig(sms=50, singles=2, timeout=60),
                           said.append)
    assert figures["sms_burst"] == 50
    assert figures["sms_answered"] == 50
    assert figures["sms_submit_sm"] == 50          # one part each, none sent twice
    assert figures["sms_single_answered"] == 2
    assert figures["sms_outbox_sent"] == 52        # the server recorded them all sent
    assert figures["sms_window"] == 64
    for key in ("sms_per_s", "sms_per_s_from_usage", "floor_sms_per_s", "sms_ideal_per_s",
                "sms_vs_floor", "sms_vs_ideal", "sms_mean_in_flight"):
        assert figures[key] > 0, key
    # Each delay is at least the SMS centre's own; percentiles in order.
    smsc_delay = figures["sms_smsc_delay_ms"]
    assert smsc_delay <= figures["sms_delay_p50_ms"] <= figures["sms_delay_p99_ms"] \
        <= figures["sms_delay_max_ms"]
    assert smsc_delay <= figures["sms_single_delay_p50_ms"] \
        <= figures["sms_single_delay_max_ms"]
    assert figures["sms_mean_in_flight"] <= 64
    assert any("baseline" in line for line in said)
    section = "\n".join(delivery_table(figures))
    assert "sms_per_s" in section and "baseline" in section


def test_sms_only_runs_the_delivery_phase_alone() -> None:
    config = BenchConfig(sms=20, sms_singles=1, sms_only=True)
    results = run(config, Progress())
    assert results.figures == {} and results.scale == []
    assert results.delivery["sms_answered"] == 20


async def _exchange(port: int) -> list[p.Pdu]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers: list[p.Pdu] = []

    async def read() -> p.Pdu:
        head = await reader.readexactly(p.HEADER_SIZE)
        rest = await reader.readexactly(p.decode_header(head).command_length - p.HEADER_SIZE)
        return p.decode_pdu(head + rest)

    writer.write(p.encode_pdu(p.Pdu(p.BindTransceiver("a", "b"), 1)))
    answers.append(await read())
    for sequence, number in ((2, "+32470000001"), (3, "+32470000002")):
        writer.write(p.encode_pdu(p.Pdu(submit_sm("8644", number, "hi"), sequence)))
    writer.write(p.encode_pdu(p.Pdu(p.EnquireLink(), 4)))
    answers += [await read() for _ in range(3)]
    writer.write(p.encode_pdu(p.Pdu(p.Unbind(), 5)))
    answers.append(await read())
    writer.close()
    return answers


def test_the_bench_smsc_answers_and_records(tmp_path: Path) -> None:
    smsc = Smsc(tmp_path, 0.05)
    try:
        answers = run_apart(_exchange(smsc.port))
        assert smsc.wait_answered(2, 10)
    finally:
        records = smsc.stop()
    kinds = [type(answer.body).__name__ for answer in answers]
    # enquire_link is answered at once, the submit_sm after the delay.
    assert kinds == ["BindTransceiverResp", "EnquireLinkResp", "SubmitSmResp", "SubmitSmResp",
                     "UnbindResp"]
    assert all(answer.command_status == p.ESME_ROK for answer in answers)
    assert sorted(answer.sequence_number for answer in answers[2:4]) == [2, 3]
    assert records["binds"] == 1
    assert sorted(row[0] for row in records["submits"]) == ["+32470000001", "+32470000002"]
    for _, received, answered, _ in records["submits"]:
        assert answered > received


def test_the_bench_smsc_prints_its_port_and_writes_on_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "records.json"
    process = subprocess.Popen([sys.executable, "-m", "conso.bench.smsc", "--port", "0",
                                "--out", str(out)], stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline().strip().isdigit()
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert process.stdout.read().strip() == b"wrote 0"
    assert orjson.loads(out.read_bytes()) == {"submits": [], "binds": 0}


def test_the_report_prints_the_delivery_section_alone() -> None:
    from conso.bench.report import table

    figures = {"sms_burst": 10, "sms_window": 64, "sms_smsc_delay_ms": 50.0,
               "sms_per_s": 1200, "sms_delay_p99_ms": 120.0, "sms_single_delay_max_ms": 52.0,
               "floor_sms_per_s": 1250, "floor_mean_in_flight": 62.0, "sms_vs_floor": 0.96,
               "sms_ideal_per_s": 1280, "sms_vs_ideal": 0.938}
    shown = table(Results(delivery=figures))
    assert shown.startswith("SMS delivery: 10 threshold SMS")
    assert ">= 1,000  met" in shown
    assert "1,250 SMS/s" in shown
