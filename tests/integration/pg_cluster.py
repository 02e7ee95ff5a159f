"""A private PostgreSQL cluster for one test, started with Debian's binaries, that the test
may stop and start again (pg_support.py's shared server must not be stopped).

`initdb` and `pg_ctl` from /usr/lib/postgresql/<version>/bin (or PATH); as root they run
as the `postgres` user (PostgreSQL refuses to run as root). Without them the test is
skipped, or fails under CONSO_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from .helpers import free_port


def _unavailable(reason: str) -> None:
    if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + " (CONSO_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def _binaries() -> Path | None:
    """The newest Debian PostgreSQL's bin directory, or the one of pg_ctl on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path else None


@dataclass
class Cluster:
    """A running (or stopped) private cluster: its data directory, port and database."""

    bin: Path
    root: Path
    port: int
    run_as: Sequence[str]      # the command prefix that runs a binary as its owner

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str, timeout: float = 60.0) -> None:
        command = [*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.data), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed ({done.returncode}):\n"
                                 f"{done.stdout}\n{done.stderr}\n{self.log_tail()}")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=60")
        self.pg_ctl("start", "-w", "-t", "60", "-l", str(self.log), "-o", options)

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-w", "-t", "60", "-m", mode)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """initdb a cluster in a fresh directory, start it on a free port; stop and remove it
    at the end."""
    binaries = _binaries()
    if binaries is None or not (binaries / "initdb").exists():
        _unavailable("no PostgreSQL binaries (initdb, pg_ctl) on this machine")
    assert binaries is not None
    run_as: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no postgres user to run PostgreSQL")
        runuser = shutil.which("runuser")
        if runuser is None:
            _unavailable("running as root without runuser to run PostgreSQL as postgres")
        assert runuser is not None
        run_as = [runuser, "-u", "postgres", "--"]
    # Not under pytest's tmp_path: the postgres user must be able to reach the directory.
    root = Path(tempfile.mkdtemp(prefix="conso-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(binaries, root, free_port(), run_as)
    started = False
    try:
        done = subprocess.run(
            [*run_as, str(binaries / "initdb"), "-D", str(cluster.data), "-A", "trust",
             "-U", "postgres", "--no-sync", "-E", "UTF8"],
            capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            _unavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
        cluster.start()
        started = True
        yield cluster
    finally:
        if started:
            with suppress(Exception):
                cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def wait_accepting(cluster: Cluster, deadline: float = 30.0) -> None:
    import psycopg

    end = time.monotonic() + deadline
    while True:
        try:
            psycopg.connect(cluster.url(), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)
