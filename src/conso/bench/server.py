"""A real `conso serve` process on a fresh store, for the benchmark."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from conso.catalog_file import load_catalog
from conso.store import Store, open_store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BenchServer:
    """A server on a fresh store: a SQLite file in `workdir`, or, given the URL of a
    PostgreSQL server (`pg_admin_url`), a new database on it, dropped at the end.
    `shared`: the server shares its database (CONSO_SHARED), as each of several API
    nodes does; stream mode (`workers`) always does. `database`: the URL of another
    server's database to serve instead (a second node; neither created nor dropped)."""

    def __init__(self, workdir: Path, key: str, pg_admin_url: str | None = None, *,
                 stream_url: str | None = None, workers: int = 0,
                 diameter: bool = False, nchf: bool = False, shared: bool = False,
                 database: str | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        # More settings for the server (the delivery phase's CONSO_SMPP_*).
        self.env = dict(env or {})
        if shared:
            self.env["CONSO_SHARED"] = "1"
        self.stream_url = stream_url if workers else None
        self.workers = workers
        self.worker_processes: list[subprocess.Popen[bytes]] = []
        self.worker_metrics_ports: list[int] = []   # each worker's /metrics
        # Each run its own stream: nothing left over from another run is applied here.
        self.stream_name = f"BENCH_{uuid.uuid4().hex[:10].upper()}"
        self.db = workdir / "bench.db"
        self.key = key
        self.port = free_port()
        # The Diameter Gy listener's port, when the server runs one.
        self.diameter_port = free_port() if diameter else None
        # The Nchf (HTTP/2) listener's port, when the server runs one.
        self.nchf_port = free_port() if nchf else None
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "server.log"
        self.pg_admin_url = pg_admin_url
        self.pg_database: str | None = None
        self.url = database or f"sqlite:///{self.db}"

    def fresh_store(self) -> Store:
        load_catalog(None)
        if self.pg_admin_url is not None:
            import psycopg

            self.pg_database = f"conso_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(self.pg_admin_url, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.pg_database}"')
            self.url = self.pg_admin_url.rpartition("/")[0] + "/" + self.pg_database
        store = open_store(self.url)
        store.migrate()
        return store

    def _drop_database(self) -> None:
        if self.pg_admin_url is not None and self.pg_database is not None:
            import psycopg

            with psycopg.connect(self.pg_admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)')
            self.pg_database = None

    def start(self) -> None:
        env = dict(os.environ, CONSO_OPERATOR_KEY=self.key, CONSO_LOG_LEVEL="WARNING",
                   CONSO_STREAM_NAME=self.stream_name)
        for name in [name for name in env
                     if name.startswith(("CONSO_DIAMETER", "CONSO_NCHF"))]:
            del env[name]   # a listener only where the bench asks for one, open to its load
        for name in [name for name in env if name.startswith("CONSO_SMPP")]:
            del env[name]   # an SMS centre only the bench's own: never text real handsets
        env.pop("CONSO_SHARED", None)   # shared only when the bench says so
        env.update(self.env)
        extra = ["--stream", self.stream_url] if self.stream_url else []
        if self.diameter_port is not None:
            extra += ["--diameter", f"127.0.0.1:{self.diameter_port}"]
        if self.nchf_port is not None:
            extra += ["--nchf", f"127.0.0.1:{self.nchf_port}"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "conso.cli", "--log-level", "WARNING", "serve",
                 "--port", str(self.port), "--db", self.url, *extra],
                stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait_healthy()
        for n in range(self.workers if self.stream_url else 0):
            port = free_port()
            self.worker_metrics_ports.append(port)
            with (self.workdir / f"worker-{n}.log").open("wb") as log:
                self.worker_processes.append(subprocess.Popen(
                    [sys.executable, "-m", "conso.cli", "--log-level", "WARNING", "worker",
                     "--db", self.url, "--stream", str(self.stream_url),
                     "--metrics-host", "127.0.0.1", "--metrics-port", str(port)],
                    stdout=log, stderr=subprocess.STDOUT, env=env))

    def wait_workers_balanced(self, timeout: float = 60.0) -> None:
        """Until every worker is up and the stream's partitions are shared evenly among
        them (each worker rebalances every 2 s): a measurement started earlier would
        time one worker doing all the work, or a worker still starting."""
        from conso.bootstrap import Settings
        from conso.stream.ownership import fair_share

        partitions = Settings.from_env().stream_partitions
        share = fair_share(partitions, len(self.worker_processes))
        deadline = time.monotonic() + timeout
        while True:
            owned = [self._owned(port) for port in self.worker_metrics_ports]
            if all(n is not None and 0 < n <= share for n in owned) \
                    and sum(n or 0 for n in owned) == partitions:
                return
            for worker in self.worker_processes:
                if worker.poll() is not None:
                    raise RuntimeError(f"a worker stopped (exit {worker.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not share the partitions in "
                                   f"{timeout:.0f} s (owned: {owned})")
            time.sleep(0.2)

    @staticmethod
    def _owned(port: int) -> int | None:
        """A worker's conso_worker_partitions_owned; None while it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                text = answer.read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("conso_worker_partitions_owned "):
                return int(float(line.split()[1]))
        return None

    def wait_drained(self, timeout: float = 600.0) -> None:
        """Until the workers have applied (and acked) every message on the stream."""
        from conso.stream.jetstream import stream_info

        assert self.stream_url is not None
        deadline = time.monotonic() + timeout
        while stream_info(self.stream_url, self.stream_name)["messages"] > 0:
            for worker in self.worker_processes:
                if worker.poll() is not None:
                    raise RuntimeError(f"a worker stopped (exit {worker.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not drain the stream in {timeout:.0f} s")
            time.sleep(0.1)

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not answer /healthz within 60 s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        for process in [*self.worker_processes, self.process]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self.stream_url is not None:
            from conso.stream.jetstream import delete_stream

            delete_stream(self.stream_url, self.stream_name)
        self._drop_database()

    def __enter__(self) -> BenchServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
