"""The benchmark phases, each measured end to end over HTTP (one over Diameter, one over
HTTP/2 on the Nchf interface) against a real server."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from conso.bench import h2load
from conso.bench.breakdown import budget, decoded, domain_rate, engine_rate
from conso.bench.client import Client, Timings, run_parallel
from conso.bench.delivery import DeliveryConfig, run_delivery
from conso.bench.nchf_load import h2load_body
from conso.bench.provisioning import bulk_rate, put_rate
from conso.bench.rollover import RolloverConfig, measure
from conso.bench.server import BenchServer, cpu_seconds, rss_kib
from conso.bench.synth import SynthLine, make_batches, make_lines, provision, warm_batches
from conso.compiled import in_use
from conso.store import open_store

KEY = "bench-operator-key"
BATCH = 1000
PROBES = 200   # pay-per-use lines, the last ones, that the notification delay is measured on


@dataclass(frozen=True, slots=True)
class BenchConfig:
    lines: int = 100_000
    records: int = 300_000
    clients: int = 2
    authorize_requests: int = 40_000
    authorize_clients: int = 16
    sessions: int = 1_000
    updates_per_session: int = 8
    provision_lines: int = 50_000     # POST /provision, batches of 10,000; 0: not run
    provision_put_lines: int = 500    # its baseline: one PUT a line
    diameter_sessions: int = 16       # CCR-UPDATE load: sessions, one request outstanding each
    diameter_connections: int = 4
    diameter_seconds: float = 10.0    # measured, after diameter_warmup seconds not counted
    diameter_warmup: float = 1.0
    nchf_resources: int = 16          # Nchf update load: charging data resources, one
    nchf_connections: int = 4         # update outstanding each (16 streams in flight)
    nchf_seconds: float = 10.0        # measured, after nchf_warmup seconds not counted
    nchf_warmup: float = 1.0
    nchf_h2load_requests: int = 10_000  # with h2load installed: first updates of as many
                                        # fresh resources; 0: not run
    scale: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    scale_records: int = 300_000      # enough for each point to include its share of merges
    pg_admin_url: str | None = None   # benchmark PostgreSQL instead of SQLite
    workers: int = 0                  # with PostgreSQL: stream mode, this many workers
    stream_url: str = "nats://127.0.0.1:4222"
    sms: int = 10_000                 # delivery: threshold SMS queued at once; 0: not run
    sms_window: int = 64              # CONSO_SMPP_WINDOW of its one link
    sms_smsc_delay: float = 0.05      # seconds the bench SMSC takes to answer a submit_sm
    sms_singles: int = 5              # single alerts sent with the queue empty
    sms_only: bool = False            # the delivery phase alone
    # Cycle rollover (rollover.py), on SQLite runs: lines whose cycles all turn over at
    # one midnight; 0: not run.
    rollover_lines: int = 1_000_000
    rollover_quick: bool = False      # its short windows (3 s, 5 s, 4 s)
    rollover_only: bool = False       # the rollover phase alone
    # With PostgreSQL: applied records/s in stream mode with each of these numbers of
    # workers, each on a fresh database, the main run's records; (): not run.
    stream_workers: tuple[int, ...] = (1, 2)

    @classmethod
    def quick(cls) -> BenchConfig:
        return cls(lines=2_000, records=20_000, authorize_requests=3_000, sessions=100,
                   provision_lines=20_000, provision_put_lines=200,
                   updates_per_session=4, scale=(1_000, 10_000), scale_records=10_000,
                   diameter_seconds=2.0, diameter_warmup=0.5, nchf_seconds=2.0,
                   nchf_warmup=0.5, nchf_h2load_requests=1_000, sms=1_000,
                   rollover_lines=100_000, rollover_quick=True)

    @property
    def rollover(self) -> RolloverConfig:
        if self.rollover_quick:
            return RolloverConfig.quick(self.rollover_lines)
        return RolloverConfig(lines=self.rollover_lines)

    @property
    def shared(self) -> bool:
        """The main run's API shares its database (PostgreSQL runs: as API nodes do)."""
        return self.pg_admin_url is not None

    @property
    def delivery(self) -> DeliveryConfig:
        return DeliveryConfig(sms=self.sms, window=self.sms_window,
                              smsc_delay=self.sms_smsc_delay, singles=self.sms_singles)


@dataclass
class Results:
    figures: dict[str, Any] = field(default_factory=dict)
    scale: list[dict[str, Any]] = field(default_factory=list)
    delivery: dict[str, Any] = field(default_factory=dict)   # the SMS burst's figures
    # How figures were taken, printed under the table (what a reader must know).
    notes: list[str] = field(default_factory=list)


class Progress:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", file=sys.stderr, flush=True)


def _ingest(server: BenchServer, bodies: list[bytes],
            clients: int) -> tuple[Timings, dict[str, int]]:
    counts = {"accepted": 0, "duplicates": 0, "rejected": 0}
    lock = threading.Lock()

    def post(client: Client, body: bytes) -> int:
        answer = client.call("POST", "/api/v1/usage", body, "application/x-ndjson")
        with lock:
            counts["accepted"] += answer["accepted"]
            counts["duplicates"] += answer["duplicates"]
            counts["rejected"] += len(answer["rejected"])
        return body.count(b"\n") + 1

    return run_parallel(server.port, KEY, clients, reversed(bodies), post), counts


def _main_ingestion(server: BenchServer, bodies: list[bytes], config: BenchConfig,
                    figures: dict[str, Any]) -> tuple[Timings, dict[str, int]]:
    started = time.perf_counter()
    timings, counts = _ingest(server, bodies, config.clients)
    figures["ingest_records_per_s"] = round(timings.rate())
    if server.stream_url is not None:
        # Answered once on the stream; applied when the workers have drained it.
        figures["stream_accept_records_per_s"] = round(timings.rate())
        server.wait_drained()
        timings.elapsed = time.perf_counter() - started
        figures["workers"] = config.workers
        figures["ingest_records_per_s"] = round(timings.rate())
    return timings, counts


def floor_baseline(bodies: list[bytes], workdir: Path) -> float:
    """The same records, decoded and inserted by a plain executemany into one table,
    one durable transaction per batch, like conso's commits: records per second."""
    path = workdir / "floor.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE records (id TEXT PRIMARY KEY, line TEXT, service TEXT, "
                 "quantity INTEGER, at TEXT, country TEXT)")
    count = 0
    started = time.perf_counter()
    for body in bodies:
        rows = []
        for raw in body.split(b"\n"):
            r = orjson.loads(raw)
            rows.append((r["id"], r["line"], r["service"], r["quantity"], r["at"],
                         r.get("country")))
        conn.execute("BEGIN")
        conn.executemany("INSERT OR IGNORE INTO records VALUES (?,?,?,?,?,?)", rows)
        conn.execute("COMMIT")
        count += len(rows)
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def notification_delays(server: BenchServer, probes: list[SynthLine], now: datetime) -> Timings:
    """From the usage answer to the outbox row, read by another connection, per probe."""
    client = Client(server.port, KEY)
    reader = open_store(server.url)
    timings = Timings()
    for n, line in enumerate(probes):
        client.call("PUT", f"/api/v1/lines/{line.id}/alerts",
                    orjson.dumps({"rules": [{"kind": "extra_eur", "value": 5}],
                                  "channels": {"sms": True}}))
        body = orjson.dumps([{"id": f"probe-{n}", "line": line.id, "service": "premium",
                              "amount_cents": 600, "at": now.isoformat()}])
        client.call("POST", "/api/v1/usage", body)
        answered = time.perf_counter()
        while not reader.outbox.messages(line_id=line.id, limit=1):
            if time.perf_counter() - answered > 10:
                raise RuntimeError(f"no notification for {line.id} within 10 s")
        timings.latencies.append(time.perf_counter() - answered)
        timings.count += 1
    reader.close()
    client.close()
    return timings


def authorize_load(server: BenchServer, lines: list[SynthLine], requests: int,
                   clients: int) -> Timings:
    rng = random.Random(5)
    mobile = [line for line in lines if not line.plan.startswith("internet")]
    bodies = [orjson.dumps({"line": rng.choice(mobile).id,
                            "service": rng.choice(["voice", "sms", "data", "premium"]),
                            "amount_cents": 100}) for _ in range(requests)]

    def call(client: Client, body: bytes) -> int:
        client.call("POST", "/api/v1/authorize", body)
        return 1

    return run_parallel(server.port, KEY, clients, bodies, call)


def session_load(server: BenchServer, lines: list[SynthLine], sessions: int, updates: int,
                 clients: int) -> Timings:
    """Sessions on pay-per-use lines under a EUR 50 limit; only those granted run on."""
    payg = [line for line in lines if line.plan == "payg"][:sessions]
    setup = Client(server.port, KEY)
    started: list[str] = []
    for n, line in enumerate(payg):
        setup.call("PUT", f"/api/v1/lines/{line.id}/spending-limit", b'{"amount_eur": 50}')
        answer = setup.call("POST", "/api/v1/sessions", orjson.dumps(
            {"session_id": f"bench-{n}", "line": line.id, "service": "data",
             "requested": 100_000}))
        if answer["granted"]:
            started.append(f"bench-{n}")  # a line the main run took past EUR 50 is refused
    setup.close()
    jobs = [session_id for _ in range(updates) for session_id in started]

    def update(client: Client, session_id: str) -> int:
        client.call("POST", f"/api/v1/sessions/{session_id}/update",
                    b'{"used": 1000, "requested": 1000}')
        return 1

    return run_parallel(server.port, KEY, clients, jobs, update)


def diameter_lines(lines: list[SynthLine], config: BenchConfig) -> list[SynthLine]:
    """Lines like the HTTP session updates' (pay-per-use, to be put under the same EUR 50
    limit) that neither they nor the notification probes use; bundle lines if too few."""
    payg = [line for line in lines if line.plan == "payg"]
    free = payg[config.sessions:max(config.sessions, len(payg) - PROBES)]
    chosen = free[:config.diameter_sessions]
    missing = config.diameter_sessions - len(chosen)
    if missing > 0:
        chosen += [line for line in lines if line.plan in ("king", "kong")][-missing:]
    return chosen


def diameter_load(server: BenchServer, lines: list[SynthLine],
                  config: BenchConfig) -> dict[str, Any]:
    """CCR-UPDATEs over Diameter from another process (`diameter_load.py`), one session
    on each line given: its JSON summary."""
    assert server.diameter_port is not None
    setup = Client(server.port, KEY)
    for line in lines:
        if line.plan == "payg":
            setup.call("PUT", f"/api/v1/lines/{line.id}/spending-limit", b'{"amount_eur": 50}')
    setup.close()
    timeout = 120 + config.diameter_warmup + config.diameter_seconds
    done = subprocess.run(
        [sys.executable, "-m", "conso.bench.diameter_load", "--port", str(server.diameter_port),
         "--connections", str(config.diameter_connections),
         "--seconds", str(config.diameter_seconds), "--warmup", str(config.diameter_warmup),
         "--server-pid", str(server.pid), *(line.id.lstrip("+") for line in lines)],
        capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the Diameter load failed: {done.stderr.decode()[-2000:]}")
    summary: dict[str, Any] = orjson.loads(done.stdout)
    return summary


def nchf_lines(lines: list[SynthLine], config: BenchConfig) -> list[SynthLine]:
    """Lines like the Diameter load's (pay-per-use, under the same EUR 50 limit) that no
    other phase uses; bundle lines if too few."""
    taken = {line.id for line in diameter_lines(lines, config)}
    payg = [line for line in lines if line.plan == "payg"]
    free = [line for line in payg[config.sessions:max(config.sessions, len(payg) - PROBES)]
            if line.id not in taken]
    chosen = free[:config.nchf_resources]
    missing = config.nchf_resources - len(chosen)
    if missing > 0:
        bundles = [line for line in lines
                   if line.plan in ("king", "kong") and line.id not in taken]
        chosen += bundles[-missing:]
    return chosen


def h2load_lines(lines: list[SynthLine], config: BenchConfig) -> list[SynthLine]:
    """Bundle lines the other phases leave alone, one for each resource h2load updates
    (a line's open sessions are all weighed on each of its grants: one each keeps the
    work per update that of the other loads); cycled when there are not as many."""
    taken = {line.id for line in [*diameter_lines(lines, config), *nchf_lines(lines, config)]}
    bundles = [line for line in lines if line.plan in ("king", "kong", "king-business",
                                                       "kong-business")
               and line.id not in taken]
    return bundles[:config.nchf_h2load_requests]


def _nchf_process(server: BenchServer, args: list[str], timeout: float) -> dict[str, Any]:
    assert server.nchf_port is not None
    done = subprocess.run(
        [sys.executable, "-m", "conso.bench.nchf_load", "--port", str(server.nchf_port),
         "--server-pid", str(server.pid), *args],
        capture_output=True, timeout=timeout, check=False,
        env=dict(os.environ, CONSO_OPERATOR_KEY=server.key))
    if done.returncode != 0:
        raise RuntimeError(f"the Nchf load failed: {done.stderr.decode()[-2000:]}")
    summary: dict[str, Any] = orjson.loads(done.stdout)
    return summary


def nchf_load(server: BenchServer, lines: list[SynthLine], config: BenchConfig) -> dict[str, Any]:
    """Nchf updates over HTTP/2 from another process (`nchf_load.py`), one charging data
    resource on each line given: its JSON summary."""
    setup = Client(server.port, KEY)
    for line in lines:
        if line.plan == "payg":
            setup.call("PUT", f"/api/v1/lines/{line.id}/spending-limit", b'{"amount_eur": 50}')
    setup.close()
    return _nchf_process(server, [
        "--connections", str(config.nchf_connections), "--seconds", str(config.nchf_seconds),
        "--warmup", str(config.nchf_warmup), *(line.id.lstrip("+") for line in lines)],
        timeout=120 + config.nchf_warmup + config.nchf_seconds)


def nchf_h2load(server: BenchServer, lines: list[SynthLine], config: BenchConfig,
                workdir: Path, executable: str) -> dict[str, Any]:
    """h2load's first updates of fresh resources (h2load.py says why only those): the
    creates by `nchf_load --prepare`, 16 in flight, then each resource's update URI sent
    once by h2load, 16 streams in flight on one connection."""
    wanted = config.nchf_h2load_requests
    numbers, uris = workdir / "h2load-lines", workdir / "h2load-uris"
    numbers.write_text("".join(line.id.lstrip("+") + "\n" for line in lines))
    created = _nchf_process(server, [
        "--prepare", str(wanted), "--uris", str(uris),
        "--connections", str(config.nchf_connections),
        "--in-flight", str(config.nchf_resources), f"@{numbers}"],
        timeout=120 + wanted / 50)
    if not created["created"]:
        raise RuntimeError(f"every create was refused: {created['create_codes']}")
    body, log = workdir / "h2load-body.json", workdir / "h2load.log"
    body.write_bytes(h2load_body())
    before = cpu_seconds(server.pid)
    summary = h2load.run(executable, uris, body, log, requests=created["created"],
                         streams=config.nchf_resources, key=server.key,
                         timeout=120 + wanted / 50)
    spent = cpu_seconds(server.pid) - before
    summary["server_cpu_us_per_update"] = spent * 1e6 / summary["answered"] \
        if summary["answered"] else None
    summary["created"] = created
    return summary


def scale_point(lines_count: int, records: int, clients: int, progress: Progress,
                pg_admin_url: str | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="conso-bench-") as tmp, \
            BenchServer(Path(tmp), KEY, pg_admin_url) as server:
        lines = make_lines(lines_count)
        store = server.fresh_store()
        provision(store, lines, now)
        store.close()
        server.start()
        base_rss = rss_kib(server.pid)
        progress.say(f"scale {lines_count:,} lines: warming every line")
        warm, _ = _ingest(server, list(warm_batches(lines, BATCH, now)), clients)
        warm_rss = rss_kib(server.pid)
        progress.say(f"scale {lines_count:,} lines: {records:,} records")
        bodies = list(make_batches(lines, records, BATCH, now, prefix="s"))
        timings, _ = _ingest(server, bodies, clients)
    return {"lines": lines_count, "records_per_s": round(timings.rate()),
            "warm_records_per_s": round(warm.rate()),
            "rss_base_kib": base_rss, "rss_warm_kib": warm_rss,
            "bytes_per_warm_line": round((warm_rss - base_rss) * 1024 / lines_count)}


def run(config: BenchConfig, progress: Progress) -> Results:
    if config.sms_only:
        return Results(delivery=delivery(config, progress))
    if config.rollover_only:
        results = Results()
        _rollover(config, progress, results)
        return results
    # The domain's per-record modules as the server runs them (the same install).
    results = Results(figures={
        "domain_modules": "compiled" if all(in_use().values()) else "interpreted"})
    figures = results.figures
    now = datetime.now(UTC)
    if config.shared:
        results.notes.append(
            "PostgreSQL: the API runs shared (CONSO_SHARED=1, as each of several API nodes "
            "on one database does): shared_authorize_* and shared_session_update* are a "
            "shared node's figures; shared_authorize_per_s with the lines in the node's "
            "cache (the same requests ran once before: shared_authorize_cold_per_s), "
            "against a second node on the same database without its cache "
            "(shared_authorize_uncached_per_s)")
    with tempfile.TemporaryDirectory(prefix="conso-bench-") as tmp:
        workdir = Path(tmp)
        lines = make_lines(config.lines)
        progress.say(f"synthetic operator: {config.lines:,} lines; {config.records:,} records")
        bodies = list(make_batches(lines, config.records, BATCH, now))
        with BenchServer(workdir, KEY, config.pg_admin_url, stream_url=config.stream_url,
                         workers=config.workers, diameter=True, nchf=True,
                         shared=config.shared) as server:
            store = server.fresh_store()
            provision(store, lines, now)
            store.close()
            server.start()
            if config.workers:
                server.wait_workers_balanced()
            progress.say("ingestion: batches of 1,000 records over HTTP")
            timings, counts = _main_ingestion(server, bodies, config, figures)
            figures.update(ingest_batch_p50_ms=round(timings.percentile(0.5) * 1000, 1),
                           ingest_batch_p99_ms=round(timings.percentile(0.99) * 1000, 1))
            figures.update({f"ingest_{k}": v for k, v in counts.items()})
            progress.say("floor: the same records by a plain executemany")
            floor = floor_baseline(bodies, workdir)
            figures["floor_records_per_s"] = round(floor)
            figures["ingest_vs_floor"] = round(timings.rate() / floor, 3)
            if config.pg_admin_url is None:
                progress.say("breakdown: the same records in-process, engine and domain alone")
                batches = decoded(bodies)
                budget(figures, floor, engine_rate(batches, lines, now, workdir),
                       domain_rate(batches, lines, now))
            _provisioning(server, config, progress, figures)
            progress.say("notification delay: usage answer to outbox row")
            delays = notification_delays(
                server, [line for line in lines if line.plan == "payg"][-PROBES:], now)
            figures.update(notify_delay_p50_ms=round(delays.percentile(0.5) * 1000, 3),
                           notify_delay_p99_ms=round(delays.percentile(0.99) * 1000, 3))
            _authorize_and_sessions(server, lines, config, progress, figures, workdir=workdir)
            progress.say(f"diameter: CCR-UPDATE, {config.diameter_sessions} sessions over "
                         f"{config.diameter_connections} connections, "
                         f"{config.diameter_seconds:g} s")
            _diameter_figures(diameter_load(server, diameter_lines(lines, config), config),
                              figures)
            progress.say(f"nchf: updates over HTTP/2, {config.nchf_resources} resources over "
                         f"{config.nchf_connections} connections, {config.nchf_seconds:g} s")
            _nchf_figures(nchf_load(server, nchf_lines(lines, config), config), figures)
            _nchf_h2load(server, lines, config, workdir=workdir, progress=progress,
                         figures=figures)
    results.delivery = delivery(config, progress) if config.sms else {}
    if not config.workers:
        _scaling(config, progress, results)
    if config.pg_admin_url is None:
        _rollover(config, progress, results)
    else:
        stream_workers(config, progress, results, lines=lines, bodies=bodies, now=now)
    return results


def _rollover(config: BenchConfig, progress: Progress, results: Results) -> None:
    """The cycle-rollover pause (rollover.py), in-process on SQLite."""
    if not config.rollover_lines:
        return
    settings = config.rollover
    with tempfile.TemporaryDirectory(prefix="conso-bench-rollover-") as tmp:
        done = measure(Path(tmp), settings, progress.say)
    results.figures.update(done.figures)
    results.notes.append(
        f"rollover: {settings.lines:,} lines of cycle day {done.cycle_day}, measured "
        "in-process (the engine, charging core and housekeeping as `conso serve` builds "
        "them, a SQLite store in a temporary directory, a virtual clock; no HTTP): "
        f"{settings.before_s:g} s of load before midnight (baseline), {settings.after_s:g} "
        f"s after it, {settings.evict_s:g} s a week later while housekeeping lets the old "
        "cycles go (evict); ingestion in batches of 1,000 and authorize from "
        f"{settings.authorize_threads} threads at once; a pause is an operation's longest "
        "wait (its latency or the gap between two completions)")


def stream_workers(config: BenchConfig, progress: Progress, results: Results, *,
                    lines: list[SynthLine], bodies: list[bytes], now: datetime) -> None:
    """Applied records/s in stream mode with each number of workers, each on a fresh
    database and stream, the same records: POSTed, then until the stream is drained."""
    if not config.stream_workers:
        return
    assert config.pg_admin_url is not None
    figures = results.figures
    records = sum(body.count(b"\n") + 1 for body in bodies)
    rates: dict[int, float] = {}
    for workers in config.stream_workers:
        with tempfile.TemporaryDirectory(prefix="conso-bench-stream-") as tmp, \
                BenchServer(Path(tmp), KEY, config.pg_admin_url, stream_url=config.stream_url,
                            workers=workers) as server:
            store = server.fresh_store()
            provision(store, lines, now)
            store.close()
            server.start()
            server.wait_workers_balanced()
            progress.say(f"stream: {records:,} records applied by {workers} worker(s)")
            started = time.perf_counter()
            _, counts = _ingest(server, bodies, config.clients)
            server.wait_drained()
            rates[workers] = records / (time.perf_counter() - started)
            if not counts["accepted"]:
                raise RuntimeError(f"stream mode accepted none of the records: {counts}")
        name = "1_worker" if workers == 1 else f"{workers}_workers"
        figures[f"stream_applied_{name}_per_s"] = round(rates[workers])
    if 1 in rates and 2 in rates:
        figures["stream_2_vs_1_workers"] = round(rates[2] / rates[1], 2)
    counted = " and by ".join(str(n) for n in config.stream_workers)
    results.notes.append(
        f"stream: {records:,} records POSTed to a stream-mode API, applied by {counted} "
        "`conso worker` processes (each run a fresh database and stream), timed until "
        f"drained; this machine has {os.cpu_count()} cores, shared by the API, the workers, "
        "PostgreSQL, NATS and the load generator")


def _authorize_and_sessions(server: BenchServer, lines: list[SynthLine], config: BenchConfig,
                            progress: Progress, figures: dict[str, Any], *,
                            workdir: Path) -> None:
    """Authorize and session-update load; a shared API's figures are named shared_*.

    Shared, the same requests run three times: first on a node whose cache does not
    hold the lines yet (each line read from the database once: `_cold`), then as
    measured (a node at work holds the lines it serves), and against a baseline in the
    same run: a second API node on the same database with CONSO_NODE_CACHE=0."""
    mode = "shared_" if config.shared else ""
    progress.say(f"authorize: {config.authorize_requests:,} requests, "
                 f"{config.authorize_clients} clients")
    if config.shared:
        cold = authorize_load(server, lines, config.authorize_requests,
                              config.authorize_clients)
        figures["shared_authorize_cold_per_s"] = round(cold.rate())
    auth = authorize_load(server, lines, config.authorize_requests, config.authorize_clients)
    figures[f"{mode}authorize_per_s"] = round(auth.rate())
    figures[f"{mode}authorize_p50_ms"] = round(auth.percentile(0.5) * 1000, 2)
    figures[f"{mode}authorize_p99_ms"] = round(auth.percentile(0.99) * 1000, 2)
    if config.shared:
        progress.say("authorize: the same requests on a node without its cache (baseline)")
        uncached = _uncached_authorize(server, lines, config, workdir)
        figures["shared_authorize_uncached_per_s"] = round(uncached)
        figures["shared_authorize_vs_uncached"] = round(auth.rate() / uncached, 2)
    progress.say("credit-control session updates")
    sessions = session_load(server, lines, config.sessions, config.updates_per_session,
                            config.authorize_clients)
    figures[f"{mode}session_updates_per_s"] = round(sessions.rate())
    figures[f"{mode}session_update_p50_ms"] = round(sessions.percentile(0.5) * 1000, 2)
    figures[f"{mode}session_update_p99_ms"] = round(sessions.percentile(0.99) * 1000, 2)


def _uncached_authorize(server: BenchServer, lines: list[SynthLine], config: BenchConfig,
                        workdir: Path) -> float:
    """Authorize/s of a second shared API node on `server`'s database whose node cache
    is off (CONSO_NODE_CACHE=0: every request reads the database)."""
    (workdir / "uncached").mkdir(exist_ok=True)
    beside = BenchServer(workdir / "uncached", KEY, shared=True, database=server.url,
                         env={"CONSO_NODE_CACHE": "0"})
    try:
        beside.start()
        return authorize_load(beside, lines, config.authorize_requests,
                              config.authorize_clients).rate()
    finally:
        beside.stop()


def _provisioning(server: BenchServer, config: BenchConfig, progress: Progress,
                  figures: dict[str, Any]) -> None:
    """Lines a second by POST /provision, against one PUT a line in the same run."""
    if not config.provision_lines:
        return
    progress.say(f"provisioning: {config.provision_lines:,} lines by POST /provision, "
                 f"{config.provision_put_lines} by PUT (the baseline)")
    bulk = bulk_rate(server.port, KEY, config.provision_lines)
    put = put_rate(server.port, KEY, config.provision_put_lines, first=config.provision_lines)
    figures["provision_lines_per_s"] = round(bulk)
    figures["provision_put_lines_per_s"] = round(put)
    figures["provision_vs_put"] = round(bulk / put, 1)


def delivery(config: BenchConfig, progress: Progress) -> dict[str, Any]:
    """The SMS burst through a server of its own, on SQLite, bound to the bench's SMS
    centre (`bench/delivery.py`), and its baseline."""
    with tempfile.TemporaryDirectory(prefix="conso-bench-sms-") as tmp:
        return run_delivery(Path(tmp), config.delivery, progress.say)


def _diameter_figures(load: dict[str, Any], figures: dict[str, Any]) -> None:
    """The Diameter rows, beside the HTTP session updates they are compared with."""
    figures["diameter_ccr_per_s"] = round(load["per_s"])
    figures["diameter_ccr_p50_ms"] = round(load["p50_ms"], 2)
    figures["diameter_ccr_p99_ms"] = round(load["p99_ms"], 2)
    figures["diameter_ccr_errors"] = load["errors"] + load["initial_refused"] \
        + load["unanswered"]
    figures["diameter_sessions"] = load["sessions"]
    http = figures.get("session_updates_per_s") or figures.get("shared_session_updates_per_s")
    figures["diameter_vs_http_sessions"] = round(load["per_s"] / http, 2) if http else None
    for side in ("server", "client"):
        spent = load[f"{side}_cpu_us_per_ccr"]
        figures[f"diameter_{side}_cpu_us_ccr"] = round(spent) if spent is not None \
            else None
    codes: dict[str, int] = {}
    for code, count in [*load["initial_codes"].items(), *load["error_codes"].items()]:
        codes[code] = codes.get(code, 0) + count
    if codes:  # which Result-Codes the errors were
        figures["diameter_error_codes"] = codes


def _nchf_figures(load: dict[str, Any], figures: dict[str, Any]) -> None:
    """The Nchf rows, beside the HTTP session updates they are compared with."""
    figures["nchf_updates_per_s"] = round(load["per_s"])
    figures["nchf_update_p50_ms"] = round(load["p50_ms"], 2)
    figures["nchf_update_p99_ms"] = round(load["p99_ms"], 2)
    figures["nchf_errors"] = load["errors"] + load["create_refused"] + load["unanswered"] \
        + load["release_errors"]
    figures["nchf_resources"] = load["resources"]
    http = figures.get("session_updates_per_s") or figures.get("shared_session_updates_per_s")
    figures["nchf_vs_http_sessions"] = round(load["per_s"] / http, 2) if http else None
    for side in ("server", "client"):
        spent = load[f"{side}_cpu_us_per_update"]
        figures[f"nchf_{side}_cpu_us_update"] = round(spent) if spent is not None else None
    if load["not_granted"]:  # answered 200, a rating group refused (the limit reached)
        figures["nchf_not_granted"] = load["not_granted"]
    codes: dict[str, int] = {}
    for code, count in [*load["create_codes"].items(), *load["error_codes"].items()]:
        codes[code] = codes.get(code, 0) + count
    if codes:  # which statuses the errors were
        figures["nchf_error_codes"] = codes


def _nchf_h2load(server: BenchServer, lines: list[SynthLine], config: BenchConfig, *,
                 workdir: Path, progress: Progress, figures: dict[str, Any]) -> None:
    """The h2load rows, when h2load is installed."""
    if not config.nchf_h2load_requests:
        return
    executable = h2load.find()
    if executable is None:
        progress.say("nchf: h2load not installed (apt-get install nghttp2-client): "
                     "its rows skipped")
        return
    progress.say(f"nchf: h2load, first updates of {config.nchf_h2load_requests:,} fresh "
                 f"resources, {config.nchf_resources} streams in flight")
    load = nchf_h2load(server, h2load_lines(lines, config), config, workdir, executable)
    created = load["created"]
    figures["nchf_creates_per_s"] = round(created["creates_per_s"])
    figures["nchf_server_cpu_us_create"] = round(created["server_cpu_us_per_create"]) \
        if created["server_cpu_us_per_create"] is not None else None
    figures["nchf_h2load_updates_per_s"] = round(load["per_s"])
    figures["nchf_h2load_p50_ms"] = round(load["p50_ms"], 2)
    figures["nchf_h2load_p99_ms"] = round(load["p99_ms"], 2)
    figures["nchf_h2load_errors"] = load["errors"] + load["unanswered"] \
        + created["create_refused"]
    spent = load["server_cpu_us_per_update"]
    figures["nchf_h2load_server_cpu_us"] = round(spent) if spent is not None else None
    codes: dict[str, int] = {}
    for code, count in [*created["create_codes"].items(), *load["error_codes"].items()]:
        codes[code] = codes.get(code, 0) + count
    if codes:
        figures["nchf_h2load_error_codes"] = codes


def _scaling(config: BenchConfig, progress: Progress, results: Results) -> None:
    """Throughput with each number of warm lines, and memory per warm line."""
    figures = results.figures
    for count in config.scale:
        results.scale.append(scale_point(count, config.scale_records, config.clients, progress,
                                         config.pg_admin_url))
    if results.scale:
        last = results.scale[-1]
        figures["bytes_per_warm_line"] = last["bytes_per_warm_line"]
        figures["bytes_per_warm_line_at"] = last["lines"]
        first = results.scale[0]
        if len(results.scale) > 1:
            # The smallest point again, after the largest: this shared machine's speed
            # drifts over minutes, and the ratio compares points minutes apart. The
            # baseline is the mean of the two runs that bracket the others.
            again = scale_point(first["lines"], config.scale_records, config.clients,
                                progress, config.pg_admin_url)
            first["records_per_s_again"] = again["records_per_s"]
            first["records_per_s"] = round((first["records_per_s"]
                                            + again["records_per_s"]) / 2)
        base = first["records_per_s"]
        figures["scale_throughput_ratio"] = round(last["records_per_s"] / base, 3) \
            if base else None
