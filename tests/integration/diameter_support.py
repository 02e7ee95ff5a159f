"""Helpers for the Diameter integration tests: a real `conso serve --diameter` process,
and the network's side of Gy/Ro played by an INDEPENDENT Diameter implementation,
python-diameter (its own codec, its own peer state machine): a `Pgw` (a Node with the
Credit-Control application, answering conso's Re-Auth-Requests) and a `RawPeer` (a bare
TCP socket speaking python-diameter's encoding, for the capabilities exchange, the
watchdog, disconnection and what a real node would never send).

Nothing here reads conso's code or state: answers are what python-diameter decoded
from the wire, effects are read back through the HTTP API.
"""

from __future__ import annotations

import itertools
import logging
import random
import socket
import struct
import threading
import time
import tomllib
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from diameter.message import Message
from diameter.message.avp.grouped import (
    CcMoney,
    FinalUnitIndication,
    GrantedServiceUnit,
    ImsInformation,
    MultipleServicesCreditControl,
    PsInformation,
    RequestedServiceUnit,
    ServiceInformation,
    SubscriptionId,
    UnitValue,
    UsedServiceUnit,
)
from diameter.message.commands.capabilities_exchange import CapabilitiesExchangeRequest
from diameter.message.commands.credit_control import CreditControlRequest
from diameter.message.commands.device_watchdog import DeviceWatchdogRequest
from diameter.message.commands.disconnect_peer import DisconnectPeerRequest
from diameter.message.commands.re_auth import ReAuthRequest
from diameter.node import Node
from diameter.node.application import Application, SimpleThreadingApplication

import conso

from .helpers import Api, Server, free_port, start_server, stop_server, wait_collected

# -- what the spec fixes (diameter.md) ------------------------------------------------------

CREDIT_CONTROL = 4
VENDOR_3GPP = 10415
EURO = 978
CONSO_HOST = "conso.localdomain"
CONSO_REALM = "localdomain"
PGW_REALM = "test"

INITIAL, UPDATE, TERMINATION, EVENT = 1, 2, 3, 4
DIRECT_DEBITING, REFUND_ACCOUNT, CHECK_BALANCE, PRICE_ENQUIRY = 0, 1, 2, 3
E164, IMSI = 0, 1
ORIGINATING, TERMINATING = 0, 1
ENOUGH_CREDIT, NO_CREDIT = 0, 1
TERMINATE = 0
FAILOVER_SUPPORTED = 1
AUTHORIZE_ONLY = 0

SUCCESS = 2001
UNKNOWN_PEER = 3010
END_USER_SERVICE_DENIED = 4010
CREDIT_LIMIT_REACHED = 4012
UNKNOWN_SESSION_ID = 5002
INVALID_AVP_VALUE = 5004
MISSING_AVP = 5005
NO_COMMON_APPLICATION = 5010
USER_UNKNOWN = 5030
RATING_FAILED = 5031

AVP_CC_SERVICE_SPECIFIC_UNITS = 417
AVP_CC_TOTAL_OCTETS = 421
AVP_RATING_GROUP = 432
AVP_SUBSCRIPTION_ID = 443
AVP_MSCC = 456
AVP_SERVICE_CONTEXT_ID = 461

# -- the reference catalogue the server runs with (src/conso/catalog.toml) ----------------

CATALOG: dict[str, Any] = tomllib.loads(
    (Path(conso.__file__).parent / "catalog.toml").read_text())
GROUPS: dict[str, int] = {service: int(group) for group, service
                          in CATALOG["network"]["rating_groups"].items()}
DATA, VOICE, SMS, PREMIUM = GROUPS["data"], GROUPS["voice"], GROUPS["sms"], GROUPS["premium"]
UNMAPPED_GROUP = max(int(g) for g in CATALOG["network"]["rating_groups"]) + 59
SERVICE_OF_GROUP = {group: service for service, group in GROUPS.items()}
DEFAULT_QUOTA: dict[str, int] = {
    "data": CATALOG["network"]["default_quota"]["data_bytes"],
    "voice": CATALOG["network"]["default_quota"]["voice_seconds"],
    "sms": CATALOG["network"]["default_quota"]["sms"],
}
PAYG_RATES: dict[str, Any] = CATALOG["plans"]["payg"]["rates"]
ROAMING_RATES: dict[str, Any] = CATALOG["roaming_rates"]
BLOCKED_WITH_LIMIT: list[str] = CATALOG["limit_roaming_blocked"]


def euros_to_micros(value: str | Decimal) -> int:
    return int(Decimal(value) * 1_000_000)


# 3GPP-SGSN-MCC-MNC values by country (ITU-T E.212).
MCC_MNC = {"BE": "20610", "FR": "20801", "US": "310260", "GB": "23415"}
assert "US" in BLOCKED_WITH_LIMIT and "GB" not in BLOCKED_WITH_LIMIT
assert "FR" in CATALOG["eu_eea"] and "US" not in CATALOG["eu_eea"]


# -- the server -----------------------------------------------------------------------------


@dataclass
class DiameterConso:
    """A `conso serve` with its Diameter listener on, and the operator's HTTP client."""

    server: Server
    diameter_port: int
    op: httpx.Client
    api: Api
    validity_seconds: int
    peers: frozenset[str]

    def usage(self, line: str) -> dict[str, Any]:
        return self.api.usage(line)

    def messages(self, line: str) -> list[dict[str, Any]]:
        answer = self.op.get("/api/v1/messages", params={"line": line})
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()
        return rows

    def messages_to(self, to: str) -> list[dict[str, Any]]:
        answer = self.op.get("/api/v1/messages", params={"to": to})
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()
        return rows

    def bar(self, line: str, **functions: bool) -> None:
        answer = self.op.put(f"/api/v1/lines/{line}/barring", json=functions)
        assert answer.status_code == 200, answer.text

    def set_limit(self, line: str, amount_eur: int) -> None:
        answer = self.op.put(f"/api/v1/lines/{line}/spending-limit",
                             json={"amount_eur": amount_eur})
        assert answer.status_code == 200, answer.text

    def limit(self, line: str) -> dict[str, Any]:
        answer = self.op.get(f"/api/v1/lines/{line}/spending-limit")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def line(self, plan: str = "payg", *, imsi: str | None = None,
             line_id: str | None = None, limit_eur: int | None = None) -> str:
        """A new line on a new account (and its spending limit when asked)."""
        account = self.api.account("business")
        extra: dict[str, Any] = {} if imsi is None else {"imsi": imsi}
        line = self.api.line(account, plan, line_id=line_id, **extra)
        if limit_eur is not None:
            self.set_limit(line, limit_eur)
        return line


@contextmanager
def diameter_server(workdir: Path, *, peers: Iterable[str] | None,
                    validity_seconds: int, attempts: int = 3) -> Iterator[DiameterConso]:
    """`conso serve --diameter 127.0.0.1:<free port>`, its peers allowed by
    CONSO_DIAMETER_PEERS (None: unset), sessions valid `validity_seconds`."""
    env = {"CONSO_SESSION_VALIDITY_SECONDS": str(validity_seconds)}
    allowed = frozenset(peers) if peers is not None else frozenset()
    if peers is not None:
        env["CONSO_DIAMETER_PEERS"] = ",".join(sorted(allowed))
    started: Server | None = None
    port = 0
    for attempt in range(attempts):
        port = free_port()  # free now; another process may take it before conso binds it
        try:
            started = start_server(workdir, workdir / "conso.db",
                                   extra_args=("--diameter", f"127.0.0.1:{port}"), env=env)
            break
        except pytest.fail.Exception as exc:
            if attempt + 1 == attempts or "address already in use" not in str(exc).lower():
                raise
    assert started is not None
    try:
        with started.operator() as op:
            yield DiameterConso(started, port, op, Api(op), validity_seconds, allowed)
    finally:
        stop_server(started)


# -- ids --------------------------------------------------------------------------------------

_imsis = itertools.count(random.randrange(10**8, 9 * 10**8))


def new_imsi() -> str:
    """A fresh 15-digit IMSI of a Belgian network (MCC 206, MNC 01)."""
    return f"20601{next(_imsis):010d}"


def e164_digits(line: str) -> str:
    """The Subscription-Id-Data of END_USER_E164: international digits without '+'."""
    assert line.startswith("+")
    return line[1:]


# -- what is asked, what is answered -----------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """One Multiple-Services-Credit-Control of a request, in the service's own units."""

    group: int | None                  # None: an MSCC without Rating-Group
    requested: int | None = None       # Requested-Service-Unit; None: none sent
    used: int | None = None            # Used-Service-Unit; None: none sent
    money_micros: int | None = None    # CC-Money in the Requested-Service-Unit
    currency: int = EURO
    empty_rsu: bool = False            # an RSU that names no amount (the default quota)
    split_octets: bool = False         # data used as CC-Input/Output-Octets, no total


def _units(group: int | None, amount: int, *, used: bool,
           split: bool = False) -> dict[str, int]:
    service = SERVICE_OF_GROUP.get(group) if group is not None else None
    if service == "data":
        if not used:
            return {"cc_total_octets": amount}
        uplink = {"cc_input_octets": amount // 3, "cc_output_octets": amount - amount // 3}
        # as a PGW reports it: uplink and downlink, with or without their total
        return uplink if split else {"cc_total_octets": amount, **uplink}
    if service == "voice":
        return {"cc_time": amount}
    return {"cc_service_specific_units": amount}


def _mscc(ask: Ask) -> MultipleServicesCreditControl:
    mscc = MultipleServicesCreditControl()
    if ask.group is not None:
        mscc.rating_group = ask.group
    if ask.requested is not None or ask.money_micros is not None or ask.empty_rsu:
        rsu = RequestedServiceUnit()
        if ask.requested is not None:
            for name, value in _units(ask.group, ask.requested, used=False).items():
                setattr(rsu, name, value)
        if ask.money_micros is not None:
            rsu.cc_money = money(ask.money_micros, ask.currency)
        mscc.requested_service_unit = rsu
    if ask.used is not None:
        mscc.used_service_unit = [UsedServiceUnit(**_units(ask.group, ask.used, used=True,
                                                           split=ask.split_octets))]
    return mscc


def money(micros: int, currency: int = EURO) -> CcMoney:
    """CC-Money as a PGW writes a price: cents and Exponent -2 when it is whole cents."""
    if micros % 10_000 == 0:
        return CcMoney(unit_value=UnitValue(value_digits=micros // 10_000, exponent=-2),
                       currency_code=currency)
    return CcMoney(unit_value=UnitValue(value_digits=micros, exponent=-6),
                   currency_code=currency)


@dataclass(frozen=True)
class Granted:
    """One MSCC of an answer."""

    group: int | None
    result: int | None
    units: int | None                  # Granted-Service-Unit in the service's measure
    validity: int | None
    final_action: int | None           # Final-Unit-Action when Final-Unit-Indication is there

    @property
    def final(self) -> bool:
        return self.final_action is not None


@dataclass(frozen=True)
class Cca:
    """A Credit-Control-Answer as python-diameter decoded it."""

    result: int | None
    session_id: str | None
    request_type: int | None
    request_number: int | None
    origin_host: str | None
    origin_realm: str | None
    application: int | None
    failover: int | None
    msccs: tuple[Granted, ...]
    check_balance: int | None
    cost_micros: int | None
    cost_currency: int | None
    failed_avps: tuple[tuple[int, int], ...]    # (code, vendor) of each Failed-AVP member
    error_bit: bool
    body: bytes = field(repr=False)             # the AVPs as re-encoded by python-diameter

    def group(self, group: int) -> Granted:
        found = [m for m in self.msccs if m.group == group]
        assert len(found) == 1, (group, self.msccs)
        return found[0]

    @property
    def only(self) -> Granted:
        assert len(self.msccs) == 1, self.msccs
        return self.msccs[0]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _granted_units(gsu: GrantedServiceUnit | None) -> int | None:
    if gsu is None:
        return None
    for name in ("cc_total_octets", "cc_time", "cc_service_specific_units"):
        value = getattr(gsu, name, None)
        if value is not None:
            return int(value)
    return None


def _micros(unit_value: UnitValue) -> int:
    exponent = unit_value.exponent or 0
    return int(Decimal(unit_value.value_digits).scaleb(exponent + 6))


def parse_cca(message: Message) -> Cca:
    msccs = []
    for mscc in getattr(message, "multiple_services_credit_control", None) or []:
        fui: FinalUnitIndication | None = mscc.final_unit_indication
        msccs.append(Granted(mscc.rating_group, mscc.result_code,
                             _granted_units(mscc.granted_service_unit), mscc.validity_time,
                             None if fui is None else fui.final_unit_action))
    cost = getattr(message, "cost_information", None)
    failed: list[tuple[int, int]] = []
    for one in getattr(message, "failed_avp", None) or []:
        failed += [(avp.code, avp.vendor_id) for avp in one.additional_avps]
    return Cca(
        result=getattr(message, "result_code", None),
        session_id=_text(getattr(message, "session_id", None)),
        request_type=getattr(message, "cc_request_type", None),
        request_number=getattr(message, "cc_request_number", None),
        origin_host=_text(getattr(message, "origin_host", None)),
        origin_realm=_text(getattr(message, "origin_realm", None)),
        application=getattr(message, "auth_application_id", None),
        failover=getattr(message, "cc_session_failover", None),
        msccs=tuple(msccs),
        check_balance=getattr(message, "check_balance_result", None),
        cost_micros=None if cost is None else _micros(cost.unit_value),
        cost_currency=None if cost is None else cost.currency_code,
        failed_avps=tuple(failed),
        error_bit=message.header.is_error,
        body=message.as_bytes()[20:],
    )


# -- the PGW: a python-diameter Node -----------------------------------------------------------


@dataclass(frozen=True)
class Rar:
    """A Re-Auth-Request conso sent, as the PGW received it."""

    session_id: str
    request_type: int | None
    origin_host: str | None
    destination_host: str | None
    application: int | None
    received_at: float


class Pgw:
    """A network charging function (PGW, IMS, SMSC) as a python-diameter Node connected
    to conso, with the Credit-Control application; it answers conso's RARs with
    `rar_result` and keeps them."""

    def __init__(self, host: str, port: int, *, realm: str = PGW_REALM,
                 rar_result: int = SUCCESS, ready_timeout: float = 10.0) -> None:
        self.host, self.realm, self.rar_result = host, realm, rar_result
        self.node = Node(host, realm, ip_addresses=["127.0.0.1"], tcp_port=0)
        self.node.wakeup_interval = 0.2      # timers and stop checked five times a second
        self.peer = self.node.add_peer(f"aaa://{CONSO_HOST}:{port};transport=tcp",
                                       CONSO_REALM, ["127.0.0.1"], is_persistent=True)
        self.app = SimpleThreadingApplication(CREDIT_CONTROL, is_auth_application=True,
                                              request_handler=self._request)
        # conso's RARs carry our realm as Destination-Realm: route it to the application.
        self.node.add_application(self.app, [self.peer], realms=[realm])
        self.rars: list[Rar] = []
        self._rar_seen = threading.Condition()
        # Our own identifiers: python-diameter's counters are not thread-safe and the
        # zero-overshoot test sends from several threads at once.
        self._hop = itertools.count(random.randrange(1 << 28, 1 << 30))
        self._e2e = itertools.count(((int(time.time()) & 0xFFF) << 20)
                                    | random.randrange(1 << 18))
        self._session = itertools.count(1)
        self._stopper: threading.Thread | None = None
        self.node.start()
        self.app.wait_for_ready(timeout=ready_timeout)

    # -- requests ---------------------------------------------------------------------------

    def new_session_id(self) -> str:
        """<DiameterIdentity>;<high 32 bits>;<low 32 bits> (RFC 6733 §8.8), unique."""
        return f"{self.host};{int(time.time())};{next(self._session)};{uuid.uuid4().hex[:8]}"

    def request(self, session_id: str, kind: int, number: int, asks: Sequence[Ask] = (), *,
                line: str | None = None, imsi: str | None = None,
                subscription: Sequence[tuple[int, str]] | None = None,
                country: str | None = None, role: int | None = None,
                action: int | None = None, omit: Sequence[str] = (),
                retransmit_of: Message | None = None, timeout: float = 10.0,
                ) -> tuple[Cca, CreditControlRequest]:
        """Send a CCR and wait for its CCA. The subscriber is `line` (E.164), `imsi`, or
        the Subscription-Ids given. `country` puts its 3GPP-SGSN-MCC-MNC in
        Service-Information/PS-Information; `role` puts Role-Of-Node in
        Service-Information/IMS-Information. `omit` leaves AVPs out by attribute name.
        `retransmit_of`: the same end-to-end id with the T flag."""
        ccr = CreditControlRequest()
        ccr.session_id = session_id
        ccr.origin_host = self.host.encode()
        ccr.origin_realm = self.realm.encode()
        ccr.destination_realm = CONSO_REALM.encode()
        ccr.auth_application_id = CREDIT_CONTROL
        ccr.service_context_id = "32251@3gpp.org"
        ccr.cc_request_type = kind
        ccr.cc_request_number = number
        ids = list(subscription or [])
        if line is not None:
            ids.append((E164, e164_digits(line)))
        if imsi is not None:
            ids.append((IMSI, imsi))
        if ids:
            ccr.subscription_id = [SubscriptionId(subscription_id_type=k, subscription_id_data=v)
                                   for k, v in ids]
        if action is not None:
            ccr.requested_action = action
        if asks:
            ccr.multiple_services_credit_control = [_mscc(a) for a in asks]
        if country is not None or role is not None:
            info = ServiceInformation()
            if country is not None:
                info.ps_information = PsInformation(tgpp_sgsn_mcc_mnc=MCC_MNC[country])
            if role is not None:
                info.ims_information = ImsInformation(role_of_node=role)
            ccr.service_information = info
        for name in omit:
            delattr(ccr, name)
        ccr.header.hop_by_hop_identifier = next(self._hop) & 0xFFFFFFFF
        if retransmit_of is not None:
            ccr.header.end_to_end_identifier = retransmit_of.header.end_to_end_identifier
            ccr.header.is_retransmit = True
        else:
            ccr.header.end_to_end_identifier = next(self._e2e) & 0xFFFFFFFF
        answer = self.app.send_request(ccr, timeout=timeout)
        return parse_cca(answer), ccr

    def ccr(self, session_id: str, kind: int, number: int, asks: Sequence[Ask] = (),
            **options: Any) -> Cca:
        return self.request(session_id, kind, number, asks, **options)[0]

    def initial(self, session_id: str, asks: Sequence[Ask], **options: Any) -> Cca:
        return self.ccr(session_id, INITIAL, 0, asks, **options)

    def update(self, session_id: str, number: int, asks: Sequence[Ask],
               **options: Any) -> Cca:
        return self.ccr(session_id, UPDATE, number, asks, **options)

    def terminate(self, session_id: str, number: int, asks: Sequence[Ask] = (),
                  **options: Any) -> Cca:
        return self.ccr(session_id, TERMINATION, number, asks, **options)

    def event(self, asks: Sequence[Ask], *, action: int | None = DIRECT_DEBITING,
              session_id: str | None = None, **options: Any) -> Cca:
        return self.ccr(session_id or self.new_session_id(), EVENT, 0, asks, action=action,
                        **options)

    # -- conso's requests -------------------------------------------------------------------

    def _request(self, app: Application, message: Message) -> Message:
        if isinstance(message, ReAuthRequest):
            rar = Rar(_text(message.session_id) or "", getattr(message, "re_auth_request_type",
                                                               None),
                      _text(getattr(message, "origin_host", None)),
                      _text(getattr(message, "destination_host", None)),
                      getattr(message, "auth_application_id", None), time.monotonic())
            with self._rar_seen:
                self.rars.append(rar)
                self._rar_seen.notify_all()
            answer: Message = app.generate_answer(message, result_code=self.rar_result)
            return answer
        unsupported: Message = app.generate_answer(message, result_code=3001)
        return unsupported

    def rars_for(self, session_id: str) -> list[Rar]:
        with self._rar_seen:
            return [r for r in self.rars if r.session_id == session_id]

    def wait_rar(self, session_id: str, timeout: float = 15.0, count: int = 1) -> list[Rar]:
        """The RARs received for the session, once there are `count` of them."""
        return wait_collected(
            self._rar_seen, lambda: [r for r in self.rars if r.session_id == session_id],
            count=count, timeout=timeout,
            what=lambda: f"{self.host}: no RAR for {session_id} within {timeout}s "
                         f"(received: {self.rars})")

    # -- the end ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return bool(self.node.connections)

    def stop(self, *, force: bool = False, wait: bool = True) -> None:
        """DPR/DPA, then the node's threads end (`force`: the socket is closed, no DPR:
        the PGW crashed or its link broke). python-diameter takes about 3 s to end its
        threads; `wait=False` lets that run on while the test goes on (`stop()` later
        waits for it)."""
        if self._stopper is None:
            self._stopper = threading.Thread(
                target=self.node.stop, kwargs={"wait_timeout": 5, "force": force},
                name=f"stop-{self.host}")
            self._stopper.start()
        if wait:
            self._stopper.join(20)
            assert not self._stopper.is_alive(), f"{self.host} did not stop"

    def wait_disconnected(self, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while self.connected:
            if time.monotonic() >= end:
                pytest.fail(f"{self.host} still connected after {timeout}s", pytrace=False)
            time.sleep(0.02)


def stop_all(pgws: Iterable[Pgw]) -> None:
    """Stop several PGWs at once."""
    pgws = list(pgws)
    for pgw in pgws:
        pgw.stop(wait=False)
    for pgw in pgws:
        pgw.stop()


class PgwPool:
    """PGWs started during a module, all stopped together at its end."""

    def __init__(self) -> None:
        self.started: list[Pgw] = []

    def start(self, host: str, port: int, **options: Any) -> Pgw:
        pgw = Pgw(host, port, **options)
        self.started.append(pgw)
        return pgw

    def stop(self) -> None:
        stop_all(self.started)


# -- a raw peer: python-diameter's encoding over a bare socket --------------------------------


class RawPeer:
    """A TCP connection to conso's Diameter port that sends what python-diameter encodes
    and decodes what comes back: the base protocol seen from a peer, message by message."""

    def __init__(self, port: int, host: str, *, realm: str = PGW_REALM,
                 timeout: float = 5.0) -> None:
        self.host, self.realm = host, realm
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self._ids = itertools.count(random.randrange(1 << 20, 1 << 30))

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stamp(self, message: Message) -> Message:
        ident = next(self._ids)
        message.header.hop_by_hop_identifier = ident
        message.header.end_to_end_identifier = ident
        return message

    def send(self, message: Message) -> None:
        self.sock.sendall(message.as_bytes())

    def receive(self, timeout: float = 5.0) -> Message | None:
        """The next whole message, or None when conso closed the connection."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buffer) >= 4:
                length = struct.unpack(">I", self.buffer[:4])[0] & 0xFFFFFF
                if len(self.buffer) >= length:
                    data, self.buffer = self.buffer[:length], self.buffer[length:]
                    return Message.from_bytes(data)
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk

    def exchange(self, message: Message, timeout: float = 5.0) -> Message:
        self.send(self.stamp(message))
        answer = self.receive(timeout)
        assert answer is not None, "conso closed the connection instead of answering"
        assert answer.header.hop_by_hop_identifier == message.header.hop_by_hop_identifier
        return answer

    def closed_by_peer(self, timeout: float = 5.0) -> bool:
        """Whether conso closes the connection within `timeout` (nothing else arriving)."""
        try:
            return self.receive(timeout) is None
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def cer(self, *, applications: Sequence[int] = (CREDIT_CONTROL,)) -> Message:
        cer = CapabilitiesExchangeRequest()
        cer.origin_host = self.host.encode()
        cer.origin_realm = self.realm.encode()
        cer.host_ip_address = ["127.0.0.1"]
        cer.vendor_id = 99999
        cer.product_name = "python-diameter raw peer"
        cer.origin_state_id = int(time.time())
        cer.supported_vendor_id = [VENDOR_3GPP]
        cer.auth_application_id = list(applications)
        return cer

    def dwr(self) -> Message:
        dwr = DeviceWatchdogRequest()
        dwr.origin_host = self.host.encode()
        dwr.origin_realm = self.realm.encode()
        dwr.origin_state_id = 1
        return dwr

    def dpr(self) -> Message:
        dpr = DisconnectPeerRequest()
        dpr.origin_host = self.host.encode()
        dpr.origin_realm = self.realm.encode()
        dpr.disconnect_cause = 0    # REBOOTING
        return dpr


def quiet_python_diameter() -> None:
    """python-diameter logs each connection step at WARNING (e.g. the socket being
    connected); keep the test output to what matters."""
    for name in ("diameter.node", "diameter.connection", "diameter.peer",
                 "diameter.application", "diameter.stats"):
        logging.getLogger(name).setLevel(logging.ERROR)

