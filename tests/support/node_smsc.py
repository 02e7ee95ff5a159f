"""An SMS centre that nobody in this project wrote, for integration tests.

`NodeSmsc` runs tests/peers/smsc-node/smsc.js, an SMPP 3.4 server built on the npm
package `smpp` (0.5.1) under Node.js, as a subprocess on 127.0.0.1, and drives it with
JSON lines on its stdin (one command a line, one answer a line on stdout, matched by
id by a reader thread; the other stdout lines are events, kept in `events()`).

Every PDU is encoded and decoded by that library, so a test against this peer checks
conso's codec against an independent implementation on a real socket. Install the peer
with scripts/ensure-node-peers.sh (`npm ci`); `node_smsc_available()` says why a test
must skip when it is not there.

A submit record (`submits()`, `state()["submits"]`) is a dict with the keys:
index, session, sequence_number, service_type, source_addr_ton, source_addr_npi,
source_addr, dest_addr_ton, dest_addr_npi, destination_addr, esm_class, protocol_id,
priority_flag, schedule_delivery_time, validity_period, registered_delivery,
replace_if_present_flag, data_coding, sm_default_msg_id, sm_length,
short_message (hex of the raw octets, UDH included), udh (hex, UDH length octet
included, or None), text (the text as the smpp library decodes it: lossy, data_coding 0
is read as GSM 03.38), tlvs (name -> value: ints for integer TLVs, hex for octet TLVs
such as message_payload, "0xTTTT" keys for TLVs the library does not know), message_id
(None when refused or frozen), status (the command_status answered or to be answered;
None while frozen), answered, dropped (the answer was due while frozen or after the
connection closed), received_at, answered_at (time.time() seconds).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

REPO_ROOT = Path(__file__).resolve().parents[2]
PEER_DIR = REPO_ROOT / "tests" / "peers" / "smsc-node"
SCRIPT = PEER_DIR / "smsc.js"
SMPP_PACKAGE = PEER_DIR / "node_modules" / "smpp" / "package.json"
SMPP_VERSION = "0.5.1"
MIN_NODE_MAJOR = 18
INSTALL_HINT = "run scripts/ensure-node-peers.sh"

ESME_ROK = 0x00
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RINVDSTADR = 0x0B
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58

ReceiptForm = Literal["tlv", "text", "both"]
DeliverMode = Literal["udh", "udh16", "sar"]
State = dict[str, Any]


class NodeSmscError(RuntimeError):
    """The peer refused a command, did not answer in time, or is not running."""


def node_binary() -> str | None:
    """The Node.js to run: $CONSO_NODE, else `node` on PATH."""
    return os.environ.get("CONSO_NODE") or shutil.which("node")


@functools.cache
def _node_major(node: str) -> int | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True,
                             timeout=15, check=True).stdout.strip()
        return int(out.lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def node_smsc_available() -> str | None:
    """None when the peer can run here; otherwise why not (a reason to skip)."""
    node = node_binary()
    if node is None:
        return f"Node.js (`node`) is not installed; {INSTALL_HINT}"
    major = _node_major(node)
    if major is None:
        return f"`{node} --version` failed"
    if major < MIN_NODE_MAJOR:
        return f"Node.js {major} is too old (need >= {MIN_NODE_MAJOR})"
    if not SCRIPT.is_file():
        return f"{SCRIPT} is missing"
    if not SMPP_PACKAGE.is_file():
        return f"the npm package smpp is not installed in {PEER_DIR}; {INSTALL_HINT}"
    try:
        version = json.loads(SMPP_PACKAGE.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError) as exc:
        return f"cannot read {SMPP_PACKAGE}: {exc}"
    if version != SMPP_VERSION:
        return f"smpp {version} is installed, not {SMPP_VERSION}; {INSTALL_HINT}"
    return None


class _Pending:
    __slots__ = ("done", "response")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: dict[str, Any] | None = None


class NodeSmsc:
    """The node SMPP server as a subprocess; `start()` (or `with`) launches it."""

    def __init__(self, *, system_id: str = "conso", password: str = "secret",
                 port: int = 0, smsc_id: str = "node-smsc", host: str = "127.0.0.1",
                 command_timeout: float = 10.0, start_timeout: float = 15.0) -> None:
        self.system_id = system_id
        self.password = password
        self.host = host
        self.smsc_id = smsc_id
        self.command_timeout = command_timeout
        self.start_timeout = start_timeout
        self._requested_port = port
        self._port: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._write_lock = threading.Lock()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._events: list[dict[str, Any]] = []
        self._stderr: deque[str] = deque(maxlen=200)
        self._eof = False
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> NodeSmsc:
        """Launch the process and wait for its listening port."""
        if self._proc is not None:
            raise NodeSmscError("already started")
        reason = node_smsc_available()
        node = node_binary()
        if reason is not None or node is None:
            raise NodeSmscError(reason or "no node")
        self._proc = subprocess.Popen(
            [node, str(SCRIPT), str(self._requested_port), "--host", self.host,
             "--system-id", self.system_id, "--password", self.password,
             "--smsc-id", self.smsc_id],
            cwd=PEER_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(self._proc.stdout,),
                             daemon=True, name="node-smsc-stdout"),
            threading.Thread(target=self._read_stderr, args=(self._proc.stderr,),
                             daemon=True, name="node-smsc-stderr"),
        ]
        for thread in self._threads:
            thread.start()
        with self._changed:
            self._changed.wait_for(lambda: self._port is not None or self._eof,
                                   self.start_timeout)
            port = self._port
        if port is None:
            self.stop()
            raise NodeSmscError(f"node SMSC did not start listening within "
                                f"{self.start_timeout:g}s: {self.stderr_text()!r}")
        return self

    @property
    def port(self) -> int:
        if self._port is None:
            raise NodeSmscError("not started")
        return self._port

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the node process: the SMSC dies at once, mid-burst, sockets reset."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self._reap(5.0)

    def stop(self) -> None:
        """End the process: close its stdin (it exits), terminate, kill if need be."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with self._write_lock, contextlib.suppress(OSError, ValueError):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                proc.wait(3.0)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(3.0)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self._reap(5.0)

    def _reap(self, timeout: float) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()

    def __enter__(self) -> NodeSmsc:
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------ commands

    def command(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """Send one command; its answer (without "id" and "ok"), or NodeSmscError."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise NodeSmscError("not started")
        ident = next(self._ids)
        pending = _Pending()
        with self._lock:
            if self._eof:
                raise NodeSmscError(f"node SMSC has exited: {self.stderr_text()!r}")
            self._pending[ident] = pending
        line = json.dumps({"id": ident, "cmd": cmd, **fields}) + "\n"
        try:
            with self._write_lock:
                proc.stdin.write(line)
                proc.stdin.flush()
        except (OSError, ValueError) as exc:
            with self._lock:
                self._pending.pop(ident, None)
            raise NodeSmscError(f"cannot send {cmd!r} to the node SMSC: {exc}") from exc
        if not pending.done.wait(self.command_timeout):
            with self._lock:
                self._pending.pop(ident, None)
            raise NodeSmscError(f"no answer to {cmd!r} within {self.command_timeout:g}s")
        response = pending.response
        if response is None:
            raise NodeSmscError(f"node SMSC exited before answering {cmd!r}: "
                                f"{self.stderr_text()!r}")
        if not response.get("ok"):
            raise NodeSmscError(f"{cmd}: {response.get('error')}")
        return {k: v for k, v in response.items() if k not in ("id", "ok")}

    def delay(self, seconds: float) -> None:
        """Answer every later submit_sm `seconds` after it came (each on its own timer)."""
        self.command("delay", seconds=seconds)

    def freeze(self) -> None:
        """Answer no PDU at all from now on (submits are still recorded), sockets open."""
        self.command("freeze")

    def unfreeze(self) -> None:
        """Answer again; what came in while frozen stays unanswered."""
        self.command("unfreeze")

    def throttle(self, count: int, status: int = ESME_RTHROTTLED) -> None:
        """Refuse the next `count` submit_sm with `status` (replaces an earlier throttle/fail;
        count 0 cancels)."""
        self.command("throttle", count=count, status=status)

    def fail(self, count: int, status: int) -> None:
        """Same as throttle, for any command_status."""
        self.command("fail", count=count, status=status)

    def auto_receipt(self, stat: str | None, delay: float = 0.0,
                     form: ReceiptForm = "tlv") -> None:
        """After each accepted submit_sm, send a delivery receipt with `stat` (DELIVRD,
        EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, ENROUTE) `delay` seconds
        later on the same session; None turns it off."""
        self.command("auto_receipt", stat=stat, delay=delay, form=form)

    def receipt(self, message_id: str, stat: str, form: ReceiptForm = "tlv", *,
                session: int | None = None) -> dict[str, Any]:
        """Send one receipt now; {"session", "deliver" (index), "sequence"}."""
        return self.command("receipt", message_id=message_id, stat=stat, form=form,
                            session=session)

    def deliver(self, source: str, destination: str, text: str, *,
                mode: DeliverMode | None = None, parts: int = 1, data_coding: int = 0,
                order: list[int] | None = None, ref: int | None = None,
                session: int | None = None) -> dict[str, Any]:
        """Send a mobile-originated text as deliver_sm, in `parts` parts (a mode is needed
        for more than one: "udh" 8-bit ref, "udh16" 16-bit ref, "sar" TLVs), in `order`
        (1-based part numbers) if given. Returns {"session", "ref", "delivers" (indexes),
        "sequences", "short_messages" (hex)}."""
        return self.command("deliver", source=source, destination=destination, text=text,
                            mode=mode, parts=parts, data_coding=data_coding, order=order,
                            ref=ref, session=session)

    def send_raw(self, data: bytes) -> list[int]:
        """Write `data` as it is on every bound connection; every PDU that comes back on
        those connections afterwards is in state()["raw_replies"] (and a raw_reply event).
        Returns the session numbers written to."""
        return list(self.command("send_raw", hex=data.hex())["sessions"])

    def state(self) -> State:
        """{"submits", "binds", "deliver_resps", "delivers", "received", "raw_replies",
        "sessions" (open count), "session_list", "frozen", "delay", "override",
        "auto_receipt", "listening", "port"}."""
        return self.command("state")

    def submits(self) -> list[dict[str, Any]]:
        return list(self.state()["submits"])

    def binds(self) -> list[dict[str, Any]]:
        return list(self.state()["binds"])

    def deliver_resps(self) -> list[dict[str, Any]]:
        return list(self.state()["deliver_resps"])

    def close_connections(self) -> int:
        """Destroy every connection and stop listening; the number of connections dropped."""
        return int(self.command("close")["closed"])

    def listen(self) -> None:
        """Listen again, on the same port."""
        self.command("listen")

    # ------------------------------------------------------------------ waiting

    def wait_for(self, predicate: Callable[[State], bool], timeout: float = 5.0,
                 interval: float = 0.02) -> State:
        """Poll state() until `predicate(state)` holds; that state, or TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.state()
            if predicate(current):
                return current
            if time.monotonic() >= deadline:
                raise TimeoutError(f"node SMSC state did not satisfy the condition within "
                                   f"{timeout:g}s (sessions={current['sessions']}, "
                                   f"submits={len(current['submits'])}, "
                                   f"binds={len(current['binds'])})")
            time.sleep(interval)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The event lines so far ({"event": name, ...}), all or those named `name`."""
        with self._lock:
            return [e for e in self._events if name is None or e.get("event") == name]

    def wait_event(self, name: str, predicate: Callable[[dict[str, Any]], bool] | None = None,
                   timeout: float = 5.0) -> dict[str, Any]:
        """The first event named `name` (matching `predicate`), waiting for it."""
        def found() -> dict[str, Any] | None:
            for event in self._events:
                if event.get("event") == name and (predicate is None or predicate(event)):
                    return event
            return None
        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None or self._eof, timeout):
                raise TimeoutError(f"no {name!r} event within {timeout:g}s")
            event = found()
        if event is None:
            raise NodeSmscError(f"node SMSC exited before a {name!r} event")
        return event

    def stderr_text(self) -> str:
        return "".join(self._stderr)

    # ------------------------------------------------------------------ reader threads

    def _read_stdout(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                self._on_line(line)
        except (OSError, ValueError):
            pass
        finally:
            with self._changed:
                self._eof = True
                pending, self._pending = self._pending, {}
                self._changed.notify_all()
            for waiter in pending.values():
                waiter.done.set()     # response None: the process is gone

    def _on_line(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        try:
            message = json.loads(line)
        except ValueError:
            self._stderr.append(f"(not JSON on stdout) {line}\n")
            return
        if not isinstance(message, dict):
            return
        if "event" not in message and "id" in message:
            with self._lock:
                waiter = self._pending.pop(message["id"], None)
            if waiter is not None:
                waiter.response = message
                waiter.done.set()
            elif message.get("ok") is False:
                self._stderr.append(f"(unmatched refusal) {line}\n")
            return
        with self._changed:
            self._events.append(message)
            if message.get("event") == "listening" and self._port is None:
                self._port = int(message["port"])
            self._changed.notify_all()

    def _read_stderr(self, stream: IO[str]) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in stream:
                self._stderr.append(line)


@contextlib.contextmanager
def running_node_smsc(**options: Any) -> Iterator[NodeSmsc]:
    """`with running_node_smsc(password="pw") as smsc:` — started, stopped at the end."""
    with NodeSmsc(**options) as smsc:
        yield smsc


class NodeSmscFactory:
    """Starts peers on demand and stops them all at the end: for a pytest fixture,

        @pytest.fixture
        def node_smsc_factory() -> Iterator[NodeSmscFactory]:
            with NodeSmscFactory() as factory:
                yield factory
    """

    def __init__(self, **defaults: Any) -> None:
        self._defaults = defaults
        self._started: list[NodeSmsc] = []

    def __call__(self, **options: Any) -> NodeSmsc:
        smsc = NodeSmsc(**{**self._defaults, **options}).start()
        self._started.append(smsc)
        return smsc

    def stop_all(self) -> None:
        while self._started:
            self._started.pop().stop()

    def __enter__(self) -> NodeSmscFactory:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop_all()
