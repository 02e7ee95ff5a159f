"""A Diameter peer on a raw socket, for the bad-input and crash tests of the Diameter
front end (test_diameter_bad_input.py, test_diameter_crash.py).

Well-formed requests are built by python-diameter (an implementation independent of
conso's codec) and conso's answers are decoded by it, so the bytes on the wire are
judged by someone else than the code that wrote them. Bad inputs are made from those
bytes with conso's codec helpers.
"""

from __future__ import annotations

import itertools
import socket
import time
from dataclasses import dataclass
from typing import Any

from diameter.message import Message as PyMessage
from diameter.message.avp.grouped import (
    RequestedServiceUnit,
    UsedServiceUnit,
    VendorSpecificApplicationId,
)
from diameter.message.commands.capabilities_exchange import CapabilitiesExchangeRequest
from diameter.message.commands.credit_control import CreditControlRequest
from diameter.message.commands.device_watchdog import DeviceWatchdogRequest
from diameter.message.commands.disconnect_peer import DisconnectPeerRequest
from diameter.message.commands.session_termination import SessionTerminationRequest

from conso.diameter import codec

CREDIT_CONTROL = 4
INITIAL, UPDATE, TERMINATION, EVENT = 1, 2, 3, 4
DATA_GROUP = 10                      # the reference catalogue's data rating group
FLAG_R, FLAG_P, FLAG_E, FLAG_T = 0x80, 0x40, 0x20, 0x10
REALM = b"test.example"

_ids = itertools.count(0x1000)


def next_id() -> int:
    return next(_ids) & 0xFFFFFFFF


def header(raw: bytes) -> tuple[int, int, int, int, int, int, int]:
    """(version, length, flags, command, application, hop-by-hop, end-to-end)."""
    return codec.header(raw)


def flags_of(raw: bytes) -> int:
    return raw[4]


def with_hop_by_hop(raw: bytes, hop_by_hop: int) -> bytes:
    return raw[:12] + hop_by_hop.to_bytes(4, "big") + raw[16:]


def retransmitted(raw: bytes, hop_by_hop: int) -> bytes:
    """The same request with the T flag and a new hop-by-hop id (RFC 6733 §5.5.4)."""
    again = bytearray(with_hop_by_hop(raw, hop_by_hop))
    again[4] |= FLAG_T
    return bytes(again)


def cer(host: str, *, auth_apps: tuple[int, ...] = (CREDIT_CONTROL,),
        vendor_specific: tuple[int, ...] = ()) -> bytes:
    request = CapabilitiesExchangeRequest()
    request.header.hop_by_hop_identifier = next_id()
    request.header.end_to_end_identifier = next_id()
    request.origin_host = host.encode()
    request.origin_realm = REALM
    request.host_ip_address = ["127.0.0.1"]
    request.vendor_id = 10415
    request.product_name = "conso-tests"
    request.supported_vendor_id = [10415]
    request.auth_application_id = list(auth_apps)
    request.vendor_specific_application_id = [
        VendorSpecificApplicationId(vendor_id=10415, auth_application_id=app)
        for app in vendor_specific]
    return bytes(request.as_bytes())


def ccr(host: str, session_id: str, kind: int, number: int, *,
        subscriber: str | None = None, used: int | None = None,
        requested: int | None = None, rating_group: int = DATA_GROUP,
        hop_by_hop: int | None = None, end_to_end: int | None = None) -> bytes:
    """A Credit-Control-Request as a PGW sends it, for data (CC-Total-Octets)."""
    request = CreditControlRequest()
    request.header.application_id = CREDIT_CONTROL
    request.header.hop_by_hop_identifier = next_id() if hop_by_hop is None else hop_by_hop
    request.header.end_to_end_identifier = next_id() if end_to_end is None else end_to_end
    request.session_id = session_id
    request.origin_host = host.encode()
    request.origin_realm = REALM
    request.destination_realm = b"localdomain"
    request.service_context_id = "32251@3gpp.org"
    request.cc_request_type = kind
    request.cc_request_number = number
    if subscriber is not None:
        request.add_subscription_id(0, subscriber)
    request.add_multiple_services_credit_control(
        rating_group=rating_group,
        requested_service_unit=None if requested is None
        else RequestedServiceUnit(cc_total_octets=requested),
        used_service_unit=None if used is None else UsedServiceUnit(cc_total_octets=used))
    return bytes(request.as_bytes())


def dwr(host: str) -> bytes:
    request = DeviceWatchdogRequest()
    request.header.hop_by_hop_identifier = next_id()
    request.header.end_to_end_identifier = next_id()
    request.origin_host = host.encode()
    request.origin_realm = REALM
    return bytes(request.as_bytes())


def dpr(host: str) -> bytes:
    request = DisconnectPeerRequest()
    request.header.hop_by_hop_identifier = next_id()
    request.header.end_to_end_identifier = next_id()
    request.origin_host = host.encode()
    request.origin_realm = REALM
    request.disconnect_cause = 0   # REBOOTING
    return bytes(request.as_bytes())


def str_request(host: str, session_id: str) -> bytes:
    """A Session-Termination-Request: a command of application 4 conso does not serve."""
    request = SessionTerminationRequest()
    request.header.application_id = CREDIT_CONTROL
    request.header.hop_by_hop_identifier = next_id()
    request.header.end_to_end_identifier = next_id()
    request.session_id = session_id
    request.origin_host = host.encode()
    request.origin_realm = REALM
    request.destination_realm = b"localdomain"
    request.auth_application_id = CREDIT_CONTROL
    request.termination_cause = 1
    return bytes(request.as_bytes())


def rebuild(raw: bytes, avps: list[bytes], *, flags: int | None = None,
            command: int | None = None, application: int | None = None) -> bytes:
    """A message with the header of `raw` (some fields replaced) and these AVPs."""
    _, _, old_flags, old_command, old_application, hbh, e2e = codec.header(raw)
    return codec.message(old_command if command is None else command,
                         old_application if application is None else application, avps,
                         flags=old_flags if flags is None else flags,
                         hop_by_hop=hbh, end_to_end=e2e)


def top_avps(raw: bytes) -> list[codec.Avp]:
    return codec.split(raw, codec.HEADER, len(raw))


def decode(raw: bytes) -> Any:
    """conso's answer as python-diameter reads it."""
    return PyMessage.from_bytes(raw)


def failed_avps(answer: Any) -> list[Any]:
    """The AVPs inside the answer's Failed-AVP(s), as python-diameter decoded them."""
    found: list[Any] = []
    for failed in getattr(answer, "failed_avp", None) or []:
        found.extend(failed.additional_avps)
    return found


@dataclass
class Peer:
    """One connection to conso, read and written from the test's thread."""

    sock: socket.socket
    host: str
    buffer: bytes = b""

    @classmethod
    def connect(cls, port: int, host: str, timeout: float = 10.0) -> Peer:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        return cls(sock, host)

    @classmethod
    def opened(cls, port: int, host: str) -> Peer:
        """Connected, capabilities exchanged (2001)."""
        peer = cls.connect(port, host)
        answer = peer.ask(cer(host))
        assert decode(answer).result_code == 2001
        return peer

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self, timeout: float = 10.0) -> bytes | None:
        """The next whole message, or None when conso closed the connection."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buffer) >= 4:
                length = int.from_bytes(self.buffer[1:4], "big")
                if length >= codec.HEADER and len(self.buffer) >= length:
                    message, self.buffer = self.buffer[:length], self.buffer[length:]
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer within {timeout}s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.buffer += chunk

    def ask(self, request: bytes, timeout: float = 10.0) -> bytes:
        self.send(request)
        answer = self.receive(timeout)
        assert answer is not None, "conso closed the connection instead of answering"
        return answer

    def closed_by_conso(self, timeout: float = 5.0) -> list[bytes]:
        """Wait until conso closes the connection; the messages it sent before."""
        sent: list[bytes] = []
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(max(0.01, deadline - time.monotonic()))
            if message is None:
                return sent
            sent.append(message)

    def close(self) -> None:
        self.sock.close()
