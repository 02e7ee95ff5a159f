"""A real `conso serve` process on a fresh store, for the benchmark."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from types import TracebackType

from conso.catalog_file import load_catalog
from conso.store.base import Store, open_store


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


class BenchServer:
    """A server on a fresh store: a SQLite file in `workdir`, or, given the URL of a
    PostgreSQL server (`pg_admin_url`), a new database on it, dropped at the end."""

    def __init__(self, workdir: Path, key: str, pg_admin_url: str | None = None) -> None:
        self.db = workdir / "bench.db"
        self.key = key
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "server.log"
        self.pg_admin_url = pg_admin_url
        self.pg_database: str | None = None
        self.url = f"sqlite:///{self.db}"

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
        env = dict(os.environ, CONSO_OPERATOR_KEY=self.key, CONSO_LOG_LEVEL="WARNING")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "conso.cli", "--log-level", "WARNING", "serve",
                 "--port", str(self.port), "--db", self.url],
                stdout=log, stderr=subprocess.STDOUT, env=env)
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
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._drop_database()

    def __enter__(self) -> BenchServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
