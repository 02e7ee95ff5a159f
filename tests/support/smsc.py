"""A real SMPP 3.4 SMS centre for tests, on 127.0.0.1, in threads.

Every PDU is encoded and decoded with smpplib (`smpplib.smpp.make_pdu` /
`parse_pdu`), never with conso's codec, so a test against this peer checks that
two independent implementations understand each other on a real TCP socket.

What it does: accepts bind_transceiver (checking system_id and password),
records every submit_sm and answers submit_sm_resp with a message id (or a
status set with `fail_next`), answers enquire_link and unbind, sends deliver_sm
on request (`deliver`) and records the deliver_sm_resp; `stop()` drops every
connection and the listening socket, `start()` again listens on the same port.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gsm0338  # type: ignore[import-untyped]
import smpplib.smpp  # type: ignore[import-untyped]

ESME_ROK = 0x00
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RINVBNDSTS = 0x04


class _Sequences:
    """What smpplib expects of a "client": a request PDU built or parsed without
    one fails (`default_client` has no `next_sequence`)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence = next(self._counter)
        return self.sequence


@dataclass(frozen=True)
class BindAttempt:
    system_id: str
    password: str
    system_type: str
    interface_version: int
    status: int


@dataclass(frozen=True)
class Submitted:
    source: str
    source_ton: int
    source_npi: int
    destination: str
    dest_ton: int
    dest_npi: int
    text: str
    data_coding: int
    sm_length: int
    in_payload: bool            # the text came in the message_payload TLV
    status: int | None          # None: not answered (see `silence_next`)
    message_id: str | None
    udh: bytes = b""            # the user data header (a part of a long text)
    esm_class: int = 0
    registered_delivery: int = 0


@dataclass(frozen=True)
class DeliverResp:
    sequence: int
    status: int


def _text(value: Any) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else str(value or "")


def _decode(data_coding: int, octets: bytes) -> str:
    if data_coding == 8:
        return octets.decode("utf-16-be")
    if data_coding == 0:
        # GSM 03.38, one septet an octet, by a codec of PyPI's (not conso's).
        text: str = _GSM.decode(octets)[0]
        return text
    if data_coding == 1:
        return octets.decode("ascii")
    return octets.decode("latin-1")


_GSM = gsm0338.Codec()


class _Session:
    def __init__(self, smsc: SmscPeer, sock: socket.socket) -> None:
        self.smsc = smsc
        self.sock = sock
        self.bound = False
        self.write_lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True, name="smsc-session")

    def send(self, pdu: Any) -> None:
        with self.write_lock:
            self.sock.sendall(pdu.generate())

    def read_frame(self) -> bytes | None:
        header = self._read_exactly(4)
        if header is None:
            return None
        (length,) = struct.unpack(">L", header)
        rest = self._read_exactly(length - 4)
        return None if rest is None else header + rest

    def _read_exactly(self, count: int) -> bytes | None:
        data = b""
        while len(data) < count:
            try:
                chunk = self.sock.recv(count - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return data

    def run(self) -> None:
        try:
            while (frame := self.read_frame()) is not None:
                pdu = smpplib.smpp.parse_pdu(frame, client=self.smsc.sequences,
                                             allow_unknown_opt_params=True)
                if not self.handle(pdu):
                    break
        except OSError:
            pass
        finally:
            self.bound = False
            self.close()

    def respond(self, request: Any, command: str, status: int = ESME_ROK, **fields: Any) -> None:
        response = smpplib.smpp.make_pdu(command, client=self.smsc.sequences, status=status,
                                         **fields)
        response.sequence = request.sequence     # smpplib ignores a `sequence=` argument
        self.send(response)

    def handle(self, pdu: Any) -> bool:
        smsc = self.smsc
        if pdu.command == "bind_transceiver":
            attempt = BindAttempt(_text(pdu.system_id), _text(pdu.password),
                                  _text(pdu.system_type), pdu.interface_version,
                                  smsc.check_credentials(_text(pdu.system_id),
                                                         _text(pdu.password)))
            with smsc.lock:
                smsc.binds.append(attempt)
            self.bound = attempt.status == ESME_ROK
            if self.bound:
                self.respond(pdu, "bind_transceiver_resp", system_id="fake-smsc",
                             sc_interface_version=0x34)
            else:
                self.respond(pdu, "bind_transceiver_resp", attempt.status)
        elif pdu.command == "submit_sm":
            status, message_id = smsc.record_submit(pdu, self.bound)
            if status is not None:
                self.respond(pdu, "submit_sm_resp", status, message_id=message_id)
        elif pdu.command == "enquire_link":
            with smsc.lock:
                smsc.enquire_links += 1
            self.respond(pdu, "enquire_link_resp")
        elif pdu.command == "deliver_sm_resp":
            with smsc.lock:
                smsc.deliver_resps.append(DeliverResp(pdu.sequence, pdu.status))
        elif pdu.command == "unbind":
            with smsc.lock:
                smsc.unbinds += 1
            self.respond(pdu, "unbind_resp")
            return False
        elif pdu.command.endswith("_resp"):
            pass
        else:
            self.respond(pdu, "generic_nack", 0x03)
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class SmscPeer:
    def __init__(self, *, system_id: str = "conso", password: str = "secret") -> None:
        self.system_id = system_id
        self.password = password
        self.port = 0
        self.lock = threading.Lock()
        self.sequences = _Sequences()
        self.binds: list[BindAttempt] = []
        self.submits: list[Submitted] = []
        self.deliver_resps: list[DeliverResp] = []
        self.enquire_links = 0
        self.unbinds = 0
        self._failures: list[int | None] = []
        self._message_ids = itertools.count(1)
        self._sessions: list[_Session] = []
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._stopping = threading.Event()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> SmscPeer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stopping.clear()
        self._accepting = threading.Thread(target=self._accept, daemon=True,
                                           name="smsc-accept")
        self._accepting.start()
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection, abruptly (no unbind)."""
        self._stopping.set()
        if self._accepting is not None:
            self._accepting.join(5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self.lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
            session.thread.join(5)

    def __enter__(self) -> SmscPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            session = _Session(self, sock)
            with self.lock:
                self._sessions.append(session)
            session.thread.start()

    # ---------------------------------------------------------------- behaviour

    def check_credentials(self, system_id: str, password: str) -> int:
        if system_id != self.system_id:
            return ESME_RINVSYSID
        if password != self.password:
            return ESME_RINVPASWD
        return ESME_ROK

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer the next `count` submit_sm with `status` instead of a message id."""
        with self.lock:
            self._failures.extend([status] * count)

    def silence_next(self, count: int = 1) -> None:
        """Record the next `count` submit_sm but never answer them."""
        with self.lock:
            self._failures.extend([None] * count)

    def record_submit(self, pdu: Any, bound: bool) -> tuple[int | None, str | None]:
        payload = getattr(pdu, "message_payload", None)
        octets = payload if payload and not pdu.short_message else pdu.short_message or b""
        udh = b""
        if pdu.esm_class & 0x40 and octets:
            udh, octets = octets[:1 + octets[0]], octets[1 + octets[0]:]
        with self.lock:
            status = self._failures.pop(0) if self._failures else ESME_ROK
            if not bound:
                status = ESME_RINVBNDSTS
            message_id = f"msg-{next(self._message_ids)}" if status == ESME_ROK else None
            self.submits.append(Submitted(
                _text(pdu.source_addr), pdu.source_addr_ton, pdu.source_addr_npi,
                _text(pdu.destination_addr), pdu.dest_addr_ton, pdu.dest_addr_npi,
                _decode(pdu.data_coding, octets), pdu.data_coding, pdu.sm_length,
                bool(payload), status, message_id, udh, pdu.esm_class,
                pdu.registered_delivery))
        return status, message_id

    def deliver(self, source: str, destination: str, text: str) -> int:
        """Send a deliver_sm to the (first) bound client; returns its sequence number."""
        session = next((one for one in self.sessions() if one.bound), None)
        if session is None:
            raise AssertionError("no bound client to deliver to")
        if text.isascii():
            data_coding, octets = 0, text.encode("ascii")
        else:
            data_coding, octets = 8, text.encode("utf-16-be")
        fields: dict[str, Any] = {"short_message": octets}
        if len(octets) > 140:
            fields = {"message_payload": octets}
        pdu = smpplib.smpp.make_pdu(
            "deliver_sm", client=self.sequences, service_type="",
            source_addr_ton=1 if source.startswith("+") else 3,
            source_addr_npi=1 if source.startswith("+") else 0,
            source_addr=source.removeprefix("+"),
            dest_addr_ton=1 if destination.startswith("+") else 3,
            dest_addr_npi=1 if destination.startswith("+") else 0,
            destination_addr=destination.removeprefix("+"),
            esm_class=0, data_coding=data_coding, **fields)
        session.send(pdu)
        return int(pdu.sequence)

    # ---------------------------------------------------------------- observing

    def sessions(self) -> list[_Session]:
        with self.lock:
            return list(self._sessions)

    def bound_count(self) -> int:
        return sum(1 for session in self.sessions() if session.bound)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0,
               message: str = "condition") -> None:
    """Poll `condition` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} still false after {timeout}s")
        time.sleep(0.02)
