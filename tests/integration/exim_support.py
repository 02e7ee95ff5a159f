"""A private Exim for a test: Debian's MTA on loopback, on a free port, with its own
configuration, spool and maildir in a temporary directory, stopped at the end.

Exim comes from `scripts/ensure-exim.sh` (Debian's exim4-daemon-light). Without it the
tests skip, except under CONSO_REQUIRE_SERVICES=1 (CI), where they fail.

What this Exim does with a recipient, by its local part:
- `refuse@...`      550 at RCPT (a mailbox that does not exist);
- `defer-once@...`  451 at RCPT the first time (a flag file remembers it), then accepted;
- `slow@...`        the answer to the final dot comes `slow_seconds` late (the DATA ACL's
                    `delay`, as a content-scanning MTA's would);
- anything else     accepted; every accepted message is delivered to one maildir, with
                    the Return-path (the envelope sender) and Envelope-to that Exim adds.

Running Exim with `-C <our config>` as root: Exim keeps root for the daemon (the caller
is root), but a delivery process it re-executes with an untrusted configuration (one
not listed in TRUSTED_CONFIG_LIST, /etc/exim4/trusted_configs) gives up root ("exim
user lost privilege for using -C option") and runs as the Exim user; and Exim never
delivers as root (never_users is fixed to root at build time). So the spool, the
maildir and the flag directory belong to the Exim user (Debian-exim), the transport
delivers as that user, and the temporary directory is made outside pytest's (whose
parent is 0700, out of reach of that user). No system file is changed. Not as root,
Exim refuses to start a listening daemon ("exim: permission denied"): the tests skip.
"""

from __future__ import annotations

import contextlib
import email
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from .helpers import free_port

STARTUP_DEADLINE = 15.0

CONFIG = """\
# A private Exim for conso's tests (tests/integration/exim_support.py).
primary_hostname = mta.conso.test
qualify_domain = conso.test
spool_directory = {work}/spool
log_file_path = {work}/log/%slog
pid_file_path = {work}/exim.pid
local_interfaces = <; 127.0.0.1
keep_environment =
host_lookup =
rfc1413_hosts =
rfc1413_query_timeout = 0s
tls_advertise_hosts =
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
log_selector = +received_recipients +smtp_confirmation

begin acl

acl_rcpt:
  deny    local_parts = refuse
          message = 5.1.1 <$local_part@$domain>: no such mailbox
  defer   local_parts = defer-once
          condition = ${{if exists{{{work}/flags/${{sha1:$local_part@$domain}}}}{{no}}{{yes}}}}
          condition = ${{run{{{touch} {work}/flags/${{sha1:$local_part@$domain}}}}{{yes}}{{yes}}}}
          message = 4.3.0 <$local_part@$domain>: try again later
  warn    local_parts = slow
          set acl_m_slow = yes
  accept

acl_data:
  warn    condition = ${{if def:acl_m_slow}}
          delay = {slow_seconds}s
  accept

begin routers

everything:
  driver = accept
  transport = to_maildir

begin transports

to_maildir:
  driver = appendfile
  directory = {work}/maildir
  maildir_format
  create_directory
  delivery_date_add
  envelope_to_add
  return_path_add
  user = {user}
  mode = 0640
"""


def exim_binary() -> str | None:
    for name in ("exim4", "exim"):
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
        if found:
            return found
    return None


def require_exim() -> str:
    """Exim's path; skips the test without it (fails under CONSO_REQUIRE_SERVICES=1)."""
    found = exim_binary()
    reason = None
    if found is None:
        reason = ("Exim is not installed (bash scripts/ensure-exim.sh installs Debian's "
                  "exim4-daemon-light)")
    elif os.geteuid() != 0:
        # Exim starts a listening daemon (-bd) for root and its admin users only
        # ("exim: permission denied"), and gives up root for a -C configuration.
        reason = "a private Exim daemon needs root here (as in CI)"
    if found is not None and reason is None:
        return found
    if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (CONSO_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(str(reason))


@dataclass
class Exim:
    binary: str
    port: int
    work: Path
    process: subprocess.Popen[bytes]

    @property
    def maildir(self) -> Path:
        return self.work / "maildir"

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """What was delivered (to `to` only, when given), oldest first."""
        found = []
        for folder in ("new", "cur"):
            path = self.maildir / folder
            if path.is_dir():
                found.extend(sorted(path.iterdir(), key=lambda p: p.stat().st_mtime_ns))
        parsed = [email.message_from_bytes(p.read_bytes(), policy=default_policy)
                  for p in found]
        return [m for m in parsed if to is None or str(m["Envelope-to"]) == to]

    def mainlog(self) -> str:
        path = self.work / "log" / "mainlog"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        """Every log and the daemon's output, for a failure's message."""
        parts = []
        for path in sorted((self.work / "log").glob("*log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')}")
        for name in ("stdout", "stderr"):
            path = self.work / f"exim.{name}"
            if path.exists():
                parts.append(f"--- exim.{name}\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def stop(self) -> None:
        """End the daemon and what it forked (its own process group), by its pid."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # a delivery still running


def _exim_user(binary: str, config: Path) -> str:
    """The user Exim gives up root for (Debian: Debian-exim)."""
    answer = subprocess.run([binary, "-C", str(config), "-bP", "exim_user"],
                            capture_output=True, text=True, timeout=10, check=False)
    name = answer.stdout.strip().partition("=")[2].strip()
    if answer.returncode != 0 or not name:
        raise RuntimeError(f"exim -bP exim_user failed: {answer.stdout}{answer.stderr}")
    return name


def _write_config(path: Path, work: Path, user: str, slow_seconds: float) -> None:
    touch = shutil.which("touch") or "/usr/bin/touch"
    path.write_text(CONFIG.format(work=work, user=user, touch=touch,
                                  slow_seconds=round(slow_seconds)))
    path.chmod(0o644)  # Exim refuses a configuration that others may write


def _wait_ready(exim: Exim) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if exim.process.poll() is not None:
            raise RuntimeError(f"exim exited with {exim.process.returncode}\n{exim.logs()}")
        try:
            with socket.create_connection(("127.0.0.1", exim.port), timeout=2) as sock:
                if sock.recv(512).startswith(b"220"):
                    sock.sendall(b"QUIT\r\n")
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"exim did not answer on port {exim.port}\n{exim.logs()}")


@contextlib.contextmanager
def exim_server(*, slow_seconds: float = 12.0) -> Iterator[Exim]:
    """A private Exim on 127.0.0.1 (a free port), ready when this yields."""
    binary = require_exim()
    work = Path(tempfile.mkdtemp(prefix="conso-exim-"))
    if any(c.isspace() for c in str(work)):
        raise RuntimeError(f"{work}: Exim's ${{run}} needs a path without spaces")
    process: subprocess.Popen[bytes] | None = None
    try:
        work.chmod(0o755)
        config = work / "exim.conf"
        _write_config(config, work, "root", slow_seconds)   # to ask Exim for its user
        user = _exim_user(binary, config)
        _write_config(config, work, user, slow_seconds)
        for sub in ("spool", "maildir", "flags", "log"):
            (work / sub).mkdir(exist_ok=True)  # exim -bP may have made the spool
            shutil.chown(work / sub, user, user)
        port = free_port()
        with (work / "exim.stdout").open("wb") as out, (work / "exim.stderr").open("wb") as err:
            # -bdf: the listening daemon, in the foreground; -oX: its port. No -q: no
            # queue runner; every message is delivered as soon as it is accepted.
            process = subprocess.Popen(
                [binary, "-C", str(config), "-bdf", "-oX", str(port)],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        exim = Exim(binary, port, work, process)
        try:
            _wait_ready(exim)
            yield exim
        finally:
            exim.stop()
    finally:
        if process is None or process.poll() is not None:
            shutil.rmtree(work, ignore_errors=True)


def wait_delivered(exim: Exim, to: str, count: int, deadline: float = 20.0
                   ) -> list[EmailMessage]:
    """The messages delivered to `to` once there are `count` of them."""
    until = time.monotonic() + deadline
    while True:
        found = exim.messages(to)
        if len(found) >= count or time.monotonic() > until:
            return found
        time.sleep(0.05)
