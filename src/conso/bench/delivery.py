"""Delivery: a burst of threshold SMS from the usage answer to the SMS centre's answer.

A real `conso serve` on a fresh SQLite store, bound over SMPP (one link, window
`window`) to the bench's SMS centre (`bench/smsc.py`, its own process), which answers
each submit_sm `smsc_delay` seconds after reading it. `sms` lines each get one usage
record that crosses their 75 % data alert (SMS to the line), all in one usage call by
default: that many notifications queued in one commit. Measured from the SMS centre's
records (CLOCK_MONOTONIC, shared by the processes of one machine):

- SMS a second, first to last submit_sm_resp, and from the usage answer to the last;
- each line's delay, from the usage answer of its record to the submit_sm_resp of its
  SMS: p50, p99, max (the part of "about ten minutes" on the handset that is conso's
  and the SMS centre's acceptance);
- a single alert with the queue empty, `singles` times: the same delay;
- how full the window was on average (Little's law over the SMS centre's records):
  near `window` means the link was the limit, well below means conso did not keep it
  fed.

The baseline, in the same run: a minimal ESME (this process, asyncio, every submit_sm
encoded beforehand, nothing stored) sending as many submit_sm of the same text with the
same window to a fresh SMS centre of the same kind: what this link, this SMS centre and
this machine allow, the way the ingestion floor is what SQLite allows. A window of 1
would be no baseline worth its minutes: its rate is 1/`smsc_delay` by construction
(20 a second, 500 s for 10,000). The ideal, `window / smsc_delay`, is shown beside.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

from conso.bench.client import Client
from conso.bench.loadgen import percentile
from conso.bench.server import BenchServer, cpu_seconds
from conso.domain.alerts import AlertRule, AlertSettings, Channels, RuleKind
from conso.domain.line import Line, PlanPeriod
from conso.sms.smpp import pdu as p
from conso.sms.smpp.encoding import segments, submit_part
from conso.store import open_store
from conso.store.base import Account, Store

KEY = "bench-operator-key"
PLAN = "king"                       # 10 GB of data a cycle
RECORD_BYTES = 8_000_000_000        # 80 %: crosses the 75 % rule, and nothing else
ACCOUNT = "bench-sms"


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    sms: int = 10_000               # the burst: lines, one SMS each
    window: int = 64                # CONSO_SMPP_WINDOW
    smsc_delay: float = 0.05        # seconds the SMS centre takes to answer a submit_sm
    singles: int = 5                # single alerts with the queue empty
    batches: int = 1                # usage calls the burst's records are sent in
    timeout: float = 600.0          # for the whole burst to be answered


class Smsc:
    """The bench's SMS centre as a child process (`python -m conso.bench.smsc`)."""

    def __init__(self, workdir: Path, delay: float, name: str = "smsc") -> None:
        self.out = workdir / f"{name}.json"
        self._log = (workdir / f"{name}.err").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conso.bench.smsc", "--port", "0", "--delay", str(delay),
             "--out", str(self.out)],
            stdout=subprocess.PIPE, stderr=self._log)
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if not first.strip().isdigit():
            self.process.kill()
            raise RuntimeError(f"the bench SMSC did not start: {first!r}")
        self.port = int(first)
        self.answered = 0
        self.binds = 0
        self.wrote = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,),
                                        daemon=True, name="bench-smsc-stdout")
        self._reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            word, _, value = raw.decode().strip().partition(" ")
            with self._changed:
                if word == "answered":
                    self.answered = int(value)
                elif word == "bound":
                    self.binds += 1
                elif word == "wrote":
                    self.wrote = True
                self._changed.notify_all()

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait(self, check: Callable[[], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(check, timeout)

    def wait_answered(self, count: int, timeout: float) -> bool:
        return self.wait(lambda: self.answered >= count, timeout)

    def stop(self) -> dict[str, Any]:
        """Stop it; its records."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        self._log.close()
        if not self.out.exists():
            raise RuntimeError(f"the bench SMSC wrote no records (exit "
                               f"{self.process.returncode})")
        records: dict[str, Any] = orjson.loads(self.out.read_bytes())
        return records


def burst_lines(count: int) -> list[str]:
    return [f"+3249{n:07d}" for n in range(count)]


def provision_sms_lines(store: Store, line_ids: list[str], now: datetime) -> None:
    """Bundle lines whose only alert is 75 % of an allowance, by SMS to the line."""
    since = now - timedelta(days=40)
    settings = AlertSettings((AlertRule(RuleKind.INCLUDED_PCT, 75),), Channels(sms=True),
                             customised=True)
    with store.transaction() as tx:
        tx.accounts.put(Account(ACCOUNT, "Bench SMS operator", "business"), now)
        for line_id in line_ids:
            tx.lines.put(Line(line_id, ACCOUNT, None, 1, (PlanPeriod(since, PLAN),)), now)
            tx.lines.put_alerts(line_id, settings, "bench", now)


def crossing_body(line_ids: list[str], at: datetime, prefix: str) -> bytes:
    return b"\n".join(orjson.dumps({"id": f"{prefix}-{line_id}", "line": line_id,
                                    "service": "data", "quantity": RECORD_BYTES,
                                    "at": at.isoformat()}) for line_id in line_ids)


def _post(client: Client, body: bytes, expected: int) -> float:
    """Send one usage call; when it was answered (monotonic)."""
    answer = client.call("POST", "/api/v1/usage", body, "application/x-ndjson")
    answered = time.monotonic()
    if answer["accepted"] != expected:
        raise RuntimeError(f"usage call: {answer['accepted']} of {expected} records accepted "
                           f"({answer['rejected'][:3]})")
    return answered


def first_answers(records: dict[str, Any]) -> dict[str, float]:
    """Each destination's first submit_sm_resp (monotonic): its SMS's, as each is one
    part (`sms_submit_sm` equal to `sms_answered` in the figures says so)."""
    first: dict[str, float] = {}
    for destination, _, answered, _ in records["submits"]:
        if destination not in first or answered < first[destination]:
            first[destination] = answered
    return first


def mean_in_flight(submits: list[list[Any]]) -> float:
    """Little's law: submit_sm outstanding at the SMS centre on average, from the first
    read to the last answer."""
    if not submits:
        return 0.0
    start = min(row[1] for row in submits)
    end = max(row[2] for row in submits)
    held = sum(row[2] - row[1] for row in submits)
    return held / (end - start) if end > start else 0.0


def _rate(times: list[float]) -> float:
    """Answers a second, first to last (n - 1 intervals)."""
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (max(times) - min(times))


@dataclass
class _Burst:
    answered_at: dict[str, float]       # line -> its usage call's answer (monotonic)
    usage_answered: float               # the first usage call's answer
    usage_call: float                   # how long the first usage call took (seconds)
    cpu_at_answer: float                # the server's CPU seconds then
    cpu_at_end: float
    smsc_cpu: float
    answered: bool


def _send_burst(server: BenchServer, smsc: Smsc, lines: list[str], config: DeliveryConfig,
                now: datetime) -> _Burst:
    client = Client(server.port, KEY)
    answered_at: dict[str, float] = {}
    size = -(-len(lines) // max(1, config.batches))
    bodies = [(lines[start:start + size], crossing_body(lines[start:start + size], now, "sms"))
              for start in range(0, len(lines), size)]
    smsc_cpu = cpu_seconds(smsc.pid)
    cpu_at_answer = first_call = 0.0
    started = time.monotonic()
    for index, (chunk, body) in enumerate(bodies):
        answered = _post(client, body, len(chunk))
        if index == 0:
            cpu_at_answer = cpu_seconds(server.pid)
            first_call = answered - started
        answered_at.update(dict.fromkeys(chunk, answered))
    client.close()
    done = smsc.wait_answered(len(lines), config.timeout)
    return _Burst(answered_at, min(answered_at.values()), first_call, cpu_at_answer,
                  cpu_seconds(server.pid), cpu_seconds(smsc.pid) - smsc_cpu, done)


def _send_singles(server: BenchServer, smsc: Smsc, lines: list[str], already: int,
                  now: datetime) -> dict[str, float]:
    """One record at a time, each once the previous SMS was answered and the server had
    a moment to record it: the queue is empty each time."""
    client = Client(server.port, KEY)
    answered_at: dict[str, float] = {}
    for n, line in enumerate(lines):
        time.sleep(0.5)
        answered_at[line] = _post(client, crossing_body([line], now, "single"), 1)
        if not smsc.wait_answered(already + n + 1, 10.0):
            break
    client.close()
    return answered_at


def _outbox_counts(url: str) -> dict[str, int]:
    store = open_store(url)
    try:
        return store.outbox.counts()
    finally:
        store.close()


def _sample_text(url: str) -> str:
    store = open_store(url)
    try:
        found = store.outbox.messages(limit=1)
        return found[0].text if found else "bench"
    finally:
        store.close()


def conso_delivery(workdir: Path, config: DeliveryConfig,
                   say: Callable[[str], None]) -> dict[str, Any]:
    """The burst and the single alerts through a real server: figures, and the text of
    an SMS (for the baseline's)."""
    now = datetime.now(UTC)
    lines = burst_lines(config.sms + config.singles)
    burst, singles = lines[:config.sms], lines[config.sms:]
    workdir.mkdir(parents=True, exist_ok=True)
    smsc = Smsc(workdir, config.smsc_delay)
    try:
        env = {"CONSO_SMPP_URL": f"smpp://bench:bench@127.0.0.1:{smsc.port}",
               "CONSO_SMPP_WINDOW": str(config.window)}
        with BenchServer(workdir, KEY, env=env) as server:
            store = server.fresh_store()
            provision_sms_lines(store, lines, now)
            store.close()
            server.start()
            if not smsc.wait(lambda: smsc.binds > 0, 30.0):
                raise RuntimeError("the server did not bind to the bench SMSC within 30 s")
            say(f"delivery: {config.sms:,} threshold SMS in {config.batches} usage call(s), "
                f"window {config.window}, SMSC answering after "
                f"{config.smsc_delay * 1000:g} ms")
            sent = _send_burst(server, smsc, burst, config, now)
            if not sent.answered:
                say(f"delivery: only {smsc.answered:,} of {config.sms:,} answered within "
                    f"{config.timeout:g} s")
            say(f"delivery: {config.singles} single alerts, the queue empty")
            single_at = _send_singles(server, smsc, singles, smsc.answered, now)
        text = _sample_text(server.url)
        counts = _outbox_counts(server.url)
    finally:
        records = smsc.stop()
    answers = first_answers(records)
    figures = _burst_figures(config, sent, answers, records)
    single = sorted(answers[line] - at for line, at in single_at.items() if line in answers)
    figures["sms_single_delay_p50_ms"] = round(percentile(single, 0.5) * 1000, 1)
    figures["sms_single_delay_max_ms"] = round(max(single, default=0.0) * 1000, 1)
    figures["sms_single_answered"] = len(single)
    figures["sms_outbox_sent"] = counts.get("sent", 0)
    figures["sms_text"] = text
    return figures


def _burst_figures(config: DeliveryConfig, sent: _Burst, answers: dict[str, float],
                   records: dict[str, Any]) -> dict[str, Any]:
    times = [answers[line] for line in sent.answered_at if line in answers]
    delays = sorted(answers[line] - at for line, at in sent.answered_at.items()
                    if line in answers)
    burst_submits = [row for row in records["submits"] if row[0] in sent.answered_at]
    last = max(times, default=sent.usage_answered)
    count = len(times)
    return {
        "sms_burst": config.sms,
        "sms_window": config.window,
        "sms_smsc_delay_ms": round(config.smsc_delay * 1000, 1),
        "sms_usage_call_ms": round(sent.usage_call * 1000),   # not in the delays
        "sms_answered": count,
        "sms_submit_sm": len(burst_submits),     # more than answered: duplicates or parts
        "sms_per_s": round(_rate(times)),
        "sms_per_s_from_usage": round(count / (last - sent.usage_answered))
        if last > sent.usage_answered else 0,
        "sms_delay_p50_ms": round(percentile(delays, 0.5) * 1000, 1),
        "sms_delay_p99_ms": round(percentile(delays, 0.99) * 1000, 1),
        "sms_delay_max_ms": round(max(delays, default=0.0) * 1000, 1),
        "sms_mean_in_flight": round(mean_in_flight(burst_submits), 1),
        "sms_server_cpu_us": round((sent.cpu_at_end - sent.cpu_at_answer) * 1e6 / count)
        if count else None,
        "sms_smsc_cpu_us": round(sent.smsc_cpu * 1e6 / count) if count else None,
    }


# ---------------------------------------------------------------------------- baseline

async def _minimal_esme(port: int, pdus: list[bytes], window: int) -> None:
    """Bind, keep `window` submit_sm outstanding until every one is answered, unbind."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def read() -> tuple[int, int]:
        head = await reader.readexactly(p.HEADER_SIZE)
        length, command_id, status, _ = p.HEADER.unpack(head)
        await reader.readexactly(length - p.HEADER_SIZE)
        return command_id, status

    writer.write(p.encode_pdu(p.Pdu(p.BindTransceiver("floor", "floor"), 1)))
    command_id, status = await read()
    if command_id != p.BIND_TRANSCEIVER_RESP or status != p.ESME_ROK:
        raise RuntimeError(f"the bench SMSC refused the bind: 0x{status:02X}")
    sent, answered = min(window, len(pdus)), 0
    writer.writelines(pdus[:sent])
    while answered < len(pdus):
        command_id, status = await read()
        if command_id != p.SUBMIT_SM_RESP:
            continue
        if status != p.ESME_ROK:
            raise RuntimeError(f"the bench SMSC refused a submit_sm: 0x{status:02X}")
        answered += 1
        if sent < len(pdus):
            writer.write(pdus[sent])
            sent += 1
    writer.write(p.encode_pdu(p.Pdu(p.Unbind(), p.MAX_SEQUENCE)))
    await writer.drain()
    writer.close()


def floor_delivery(workdir: Path, config: DeliveryConfig, text: str) -> dict[str, Any]:
    """The baseline: the same number of submit_sm, of the same text, by a minimal ESME
    with the same window, to a fresh SMS centre answering after the same delay."""
    pdus = []
    sequence = 1
    for n, line in enumerate(burst_lines(config.sms)):
        for part in segments(text, reference=n & 0xFFFF):   # as the SMS channel codes it
            sequence += 1
            body = submit_part(p.to_address("8644"), p.to_address(line), part)
            pdus.append(p.encode_pdu(p.Pdu(body, sequence)))
    smsc = Smsc(workdir, config.smsc_delay, name="smsc-floor")
    try:
        started = time.monotonic()
        # Its own thread: the caller may be running an event loop of its own.
        with ThreadPoolExecutor(1) as apart:
            apart.submit(asyncio.run, _minimal_esme(smsc.port, pdus, config.window)).result()
        elapsed = time.monotonic() - started
        smsc.wait_answered(len(pdus), 10.0)
    finally:
        records = smsc.stop()
    times = [row[2] for row in records["submits"]]
    return {"floor_sms_per_s": round(_rate(times)),
            "floor_sms_elapsed_s": round(elapsed, 2),
            "floor_mean_in_flight": round(mean_in_flight(records["submits"]), 1)}


def run_delivery(workdir: Path, config: DeliveryConfig,
                 say: Callable[[str], None]) -> dict[str, Any]:
    """The delivery figures: conso's burst and single alerts, the baseline, the ratios."""
    figures = conso_delivery(workdir / "conso", config, say)
    text = figures.pop("sms_text")
    say(f"delivery baseline: a minimal ESME, {config.sms:,} submit_sm, window {config.window}")
    floor = floor_delivery(workdir, config, text)
    figures.update(floor)
    ideal = config.window / config.smsc_delay
    figures["sms_ideal_per_s"] = round(ideal)
    figures["sms_vs_floor"] = round(figures["sms_per_s"] / floor["floor_sms_per_s"], 3) \
        if floor["floor_sms_per_s"] else None
    figures["sms_vs_ideal"] = round(figures["sms_per_s"] / ideal, 3)
    figures["sms_text_chars"] = len(text)
    return figures
