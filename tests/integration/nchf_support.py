"""Helpers for the Nchf integration tests: a real `conso serve --nchf --diameter` process,
and the 5G core's side of Nchf_ConvergedCharging (TS 32.291) played over REAL HTTP/2:

- `Smf`: an SMF / SMSF as an httpx client speaking HTTP/2 with prior knowledge (h2c) to
  the `http://` API root, every answer checked to have crossed HTTP/2;
- `charging_request` / `Use`: ChargingDataRequest bodies written from TS 32.291's names,
  units in the rating group's own measure;
- `NotifySink`: the SMF's callback endpoint, a real HTTP server on loopback that records
  every ChargingNotifyRequest it is sent (and can be started late, on a port chosen
  before, to play an SMF that is away);
- `H2Flood`: a bare TCP socket speaking HTTP/2 frame by frame (the `h2` library and
  hyperframe), for the floods a hostile or broken peer sends.

Nothing here reads conso's code or state: answers are what crossed the wire, effects
are read back through the operator's HTTP API.
"""

from __future__ import annotations

import itertools
import json
import random
import socket
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import h2.config
import h2.connection
import h2.exceptions
import httpx
import pytest
from hyperframe.frame import PingFrame, SettingsFrame

import conso

from .helpers import (
    OPERATOR_KEY,
    Api,
    Server,
    free_port,
    start_server,
    stop_server,
    wait_collected,
)

# -- what the spec fixes (nchf.md, TS 32.291) -------------------------------------------------

API_ROOT = "/nchf-convergedcharging/v3"
PROBLEM_JSON = "application/problem+json"

# ResultCode (per rating group) and ProblemDetails causes (TS 32.291 table 6.1.7.3-1).
SUCCESS = "SUCCESS"
QUOTA_LIMIT_REACHED = "QUOTA_LIMIT_REACHED"
END_USER_SERVICE_DENIED = "END_USER_SERVICE_DENIED"
RATING_FAILED = "RATING_FAILED"
USER_UNKNOWN = "USER_UNKNOWN"
END_USER_REQUEST_DENIED = "END_USER_REQUEST_DENIED"
CHARGING_FAILED = "CHARGING_FAILED"
TERMINATE = "TERMINATE"
REAUTHORIZATION = "REAUTHORIZATION"

# -- the reference catalogue the server runs with (src/conso/catalog.toml) ----------------

CATALOG: dict[str, Any] = tomllib.loads(
    (Path(conso.__file__).parent / "catalog.toml").read_text())
GROUPS: dict[str, int] = {service: int(group) for group, service
                          in CATALOG["network"]["rating_groups"].items()}
DATA, VOICE, SMS, PREMIUM = GROUPS["data"], GROUPS["voice"], GROUPS["sms"], GROUPS["premium"]
UNMAPPED_GROUP = max(int(g) for g in CATALOG["network"]["rating_groups"]) + 61
SERVICE_OF_GROUP = {group: service for service, group in GROUPS.items()}
DEFAULT_QUOTA: dict[str, int] = {
    "data": CATALOG["network"]["default_quota"]["data_bytes"],
    "voice": CATALOG["network"]["default_quota"]["voice_seconds"],
    "sms": CATALOG["network"]["default_quota"]["sms"],
}
PAYG_RATES: dict[str, Any] = CATALOG["plans"]["payg"]["rates"]
BLOCKED_WITH_LIMIT: list[str] = CATALOG["limit_roaming_blocked"]

# The MCC of a serving PLMN, by country (ITU-T E.212).
MCC = {"BE": "206", "FR": "208", "US": "310", "GB": "234"}
assert "US" in BLOCKED_WITH_LIMIT and "FR" in CATALOG["eu_eea"]


# -- ids --------------------------------------------------------------------------------------

_imsis = itertools.count(random.randrange(10**8, 9 * 10**8))


def new_imsi() -> str:
    """A fresh 15-digit IMSI of a Belgian network (MCC 206, MNC 02: not the Diameter
    tests' 01, so the two never collide)."""
    return f"20602{next(_imsis):010d}"


def supi(imsi: str) -> str:
    return f"imsi-{imsi}"


def gpsi(line: str) -> str:
    """The GPSI of a line: msisdn- and its international digits without '+'."""
    assert line.startswith("+")
    return f"msisdn-{line[1:]}"


def timestamp() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


# -- what is asked ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    """One multipleUnitUsage item, in the rating group's own measure (bytes, seconds,
    messages)."""

    group: int
    requested: int | None = None      # requestedUnit; None: none sent (the default quota)
    used: int | None = None           # one usedUnitContainer; None: none sent
    split: bool = False               # data used as uplink + downlink, no total


def _units(group: int, amount: int, *, used: bool, split: bool = False) -> dict[str, int]:
    service = SERVICE_OF_GROUP.get(group)
    if service == "data":
        if not used:
            return {"totalVolume": amount}
        parts = {"uplinkVolume": amount // 3, "downlinkVolume": amount - amount // 3}
        return parts if split else {"totalVolume": amount, **parts}
    if service == "voice":
        return {"time": amount}
    return {"serviceSpecificUnits": amount}


def usage_item(use: Use, sequence: int = 1) -> dict[str, Any]:
    item: dict[str, Any] = {"ratingGroup": use.group}
    if use.requested is not None:
        item["requestedUnit"] = _units(use.group, use.requested, used=False)
    if use.used is not None:
        item["usedUnitContainer"] = [{
            "localSequenceNumber": sequence,
            **_units(use.group, use.used, used=True, split=use.split),
            "triggers": [{"triggerType": "QUOTA_EXHAUSTED",
                          "triggerCategory": "IMMEDIATE_REPORT"}],
        }]
    return item


def user_location(country: str) -> dict[str, Any]:
    """A 5G NR cell of a network of `country` (its MCC; the MNC does not matter)."""
    plmn = {"mcc": MCC[country], "mnc": "01"}
    return {"nrLocation": {"tai": {"plmnId": plmn, "tac": "00a1b2"},
                           "ncgi": {"plmnId": plmn, "nrCellId": "00000a0b1"}}}


def charging_request(
    sequence: int, uses: Sequence[Use] = (), *, imsi: str | None = None,
    line: str | None = None, node: str = "SMF", notify_uri: str | None = None,
    country: str | None = None, one_time_event: bool = False, event_type: str = "IEC",
    retransmission: bool | None = None, sms: bool = False,
    charging_id: str | None = None,
) -> dict[str, Any]:
    """A ChargingDataRequest. The subscriber is `imsi` (subscriberIdentifier, a SUPI)
    and/or `line` (pDUSessionChargingInformation.userInformation.servedGPSI);
    `country` puts the serving cell in userLocationinfo (of the PDU session, or of the
    SMS when `sms`). Each create carries a fresh sMFchargingId unless `charging_id`:
    two PDU sessions never send the same body, whatever their timestamps."""
    body: dict[str, Any] = {
        "nfConsumerIdentification": {"nodeFunctionality": node,
                                     "nFName": "5d1c7f4e-2b8a-4c3e-9f6a-1b2c3d4e5f60"},
        "invocationTimeStamp": timestamp(),
        "invocationSequenceNumber": sequence,
    }
    if imsi is not None:
        body["subscriberIdentifier"] = supi(imsi)
    if one_time_event:
        body["oneTimeEvent"] = True
        body["oneTimeEventType"] = event_type      # immediate or post event charging
    if retransmission is not None:
        body["retransmissionIndicator"] = retransmission
    if notify_uri is not None:
        body["notifyUri"] = notify_uri
    if uses:
        body["multipleUnitUsage"] = [usage_item(u, sequence) for u in uses]
    if sms:
        info: dict[str, Any] = {}
        if country is not None:
            info["userLocationinfo"] = user_location(country)
        if info:
            body["sMSChargingInformation"] = info
        if line is not None:
            body["pDUSessionChargingInformation"] = {
                "userInformation": {"servedGPSI": gpsi(line)}}
        return body
    pdu: dict[str, Any] = {"sMFchargingId": charging_id or uuid.uuid4().hex}
    if line is not None:
        pdu["userInformation"] = {"servedGPSI": gpsi(line)}
    if country is not None:
        pdu["userLocationinfo"] = user_location(country)
    body["pDUSessionChargingInformation"] = pdu
    return body


# -- what is answered ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One multipleUnitInformation item of a ChargingDataResponse."""

    group: int
    result: str | None
    granted: dict[str, int] | None         # grantedUnit as sent
    validity: int | None
    final_action: str | None

    @property
    def final(self) -> bool:
        return self.final_action is not None

    @property
    def units(self) -> int | None:
        """The granted amount in the rating group's measure (None: no grantedUnit)."""
        if self.granted is None:
            return None
        service = SERVICE_OF_GROUP.get(self.group)
        name = {"data": "totalVolume", "voice": "time"}.get(service or "",
                                                            "serviceSpecificUnits")
        assert set(self.granted) == {name}, (self.group, self.granted)
        return self.granted[name]


@dataclass(frozen=True)
class Answer:
    """An HTTP answer of conso's Nchf API, as it crossed the wire."""

    status: int
    body: dict[str, Any] | None
    content_type: str
    location: str | None
    http_version: str
    text: str = field(repr=False)

    @property
    def ref(self) -> str:
        """The ChargingDataRef of a create's Location."""
        assert self.location is not None, self
        prefix = f"{API_ROOT}/chargingdata/"
        path = httpx.URL(urljoin("http://conso.invalid/", self.location)).path
        assert path.startswith(prefix), self.location
        ref = path[len(prefix):]
        assert ref and "/" not in ref, self.location
        return ref

    @property
    def units(self) -> tuple[Unit, ...]:
        assert self.body is not None
        found: list[Unit] = []
        for item in self.body.get("multipleUnitInformation") or []:
            fui = item.get("finalUnitIndication")
            found.append(Unit(item["ratingGroup"], item.get("resultCode"),
                              item.get("grantedUnit"), item.get("validityTime"),
                              None if fui is None else fui["finalUnitAction"]))
        return tuple(found)

    def group(self, group: int) -> Unit:
        found = [u for u in self.units if u.group == group]
        assert len(found) == 1, (group, self.body)
        return found[0]

    @property
    def only(self) -> Unit:
        assert len(self.units) == 1, self.body
        return self.units[0]

    @property
    def cause(self) -> str | None:
        assert self.body is not None
        cause: str | None = self.body.get("cause")
        return cause

    def problem(self, status: int) -> dict[str, Any]:
        """A ProblemDetails answer with this status; returns its body."""
        assert self.status == status, (self.status, self.text)
        assert self.content_type.startswith(PROBLEM_JSON), self.content_type
        assert self.body is not None and self.body.get("status") == status, self.body
        assert isinstance(self.body.get("detail"), str) and self.body["detail"]
        # 3GPP's error bodies are oneOf [ProblemDetails, ChargingDataResponse]: a body
        # with both invocation fields would match both and break the schema.
        assert not {"invocationTimeStamp", "invocationSequenceNumber"} <= set(self.body)
        return self.body

    def invalid_params(self) -> set[str]:
        body = self.problem(400)
        params = body.get("invalidParams")
        assert isinstance(params, list) and params, body
        for one in params:
            assert isinstance(one.get("param"), str) and one["param"].startswith("/"), one
        return {p["param"] for p in params}


def answer_of(response: httpx.Response) -> Answer:
    content_type = response.headers.get("content-type", "")
    body = response.json() if response.content else None
    return Answer(response.status_code, body, content_type, response.headers.get("location"),
                  response.http_version, response.text)


# -- the SMF: an HTTP/2 client -------------------------------------------------------------------


class Smf:
    """An SMF (or SMSF) talking to conso's Nchf API over HTTP/2 with prior knowledge (h2c):
    httpx with `http1=False, http2=True` on an http:// URL."""

    def __init__(self, base_url: str, token: str | None = OPERATOR_KEY, *,
                 timeout: float = 20.0) -> None:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url + API_ROOT, http1=False, http2=True,
                                   headers=headers, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Smf:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, path: str, body: Any = None, *, content: bytes | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        if content is None:
            content = json.dumps(body).encode()
        sent = {"content-type": "application/json", **(headers or {})}
        response = self.client.post(path, content=content, headers=sent)
        assert response.http_version == "HTTP/2", response.http_version
        return answer_of(response)

    def create(self, body: dict[str, Any], **options: Any) -> Answer:
        return self.post("/chargingdata", body, **options)

    def update(self, ref: str, body: dict[str, Any], **options: Any) -> Answer:
        return self.post(f"/chargingdata/{ref}/update", body, **options)

    def release(self, ref: str, body: dict[str, Any], **options: Any) -> Answer:
        return self.post(f"/chargingdata/{ref}/release", body, **options)


# -- the server ------------------------------------------------------------------------------


@dataclass
class NchfConso:
    """A `conso serve` with its Nchf and Diameter listeners on, and the operator's HTTP
    client."""

    server: Server
    nchf_port: int
    diameter_port: int
    op: httpx.Client
    api: Api
    validity_seconds: int

    @property
    def nchf_url(self) -> str:
        return f"http://127.0.0.1:{self.nchf_port}"

    def smf(self, token: str | None = OPERATOR_KEY) -> Smf:
        return Smf(self.nchf_url, token)

    def line(self, plan: str = "payg", *, imsi: str | None = None,
             line_id: str | None = None, limit_eur: int | None = None) -> str:
        """A new line on a new account (its IMSI and spending limit when asked)."""
        account = self.api.account("business")
        extra: dict[str, Any] = {} if imsi is None else {"imsi": imsi}
        line = self.api.line(account, plan, line_id=line_id, **extra)
        if limit_eur is not None:
            self.set_limit(line, limit_eur)
        return line

    def set_imsi(self, line: str, account: str, plan: str, imsi: str) -> None:
        answer = self.op.put(f"/api/v1/lines/{line}",
                             json={"account_id": account, "plan": plan, "imsi": imsi})
        assert answer.status_code in (200, 201), answer.text

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

    def usage(self, line: str) -> dict[str, int]:
        """What the usage answer says: units used per service (`<service>_roaming`: of
        them, abroad), extra and spent money."""
        body = self.api.usage(line)
        found = {service: int(v["used"]) for service, v in body["services"].items()}
        found.update({f"{service}_roaming": int(v["roaming_used"])
                      for service, v in body["services"].items() if "roaming_used" in v})
        found["extra_micros"] = int(body["extra_micros"])
        found["extra_cents"] = int(body["extra_cents"])
        limit = body["spending_limit"]
        found["spent_cents"] = -1 if limit is None else int(limit["spent_cents"])
        return found

    def messages_to(self, to: str) -> list[dict[str, Any]]:
        answer = self.op.get("/api/v1/messages", params={"to": to})
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()
        return rows


@contextmanager
def nchf_server(workdir: Path, *, validity_seconds: int, env: dict[str, str] | None = None,
                attempts: int = 3) -> Iterator[NchfConso]:
    """`conso serve --nchf 127.0.0.1:<free port> --diameter 127.0.0.1:<free port>`, any
    Diameter peer allowed, sessions valid `validity_seconds`."""
    settings = {"CONSO_SESSION_VALIDITY_SECONDS": str(validity_seconds), **(env or {})}
    started: Server | None = None
    nchf = diameter = 0
    for attempt in range(attempts):
        # free now; another process may take them before conso binds them
        nchf, diameter = free_port(), free_port()
        try:
            started = start_server(workdir, workdir / "conso.db", env=settings, extra_args=(
                "--nchf", f"127.0.0.1:{nchf}", "--diameter", f"127.0.0.1:{diameter}"))
            break
        except pytest.fail.Exception as exc:
            if attempt + 1 == attempts or "address already in use" not in str(exc).lower():
                raise
    assert started is not None
    try:
        with started.operator() as op:
            yield NchfConso(started, nchf, diameter, op, Api(op), validity_seconds)
    finally:
        stop_server(started)


# -- the SMF's callback endpoint -------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """A POST the notify server received."""

    path: str
    content_type: str
    body: Any
    received_at: float


class NotifySink:
    """A real HTTP/1.1 server on loopback recording every POST (the SMF's notifyUri
    endpoint), answering `status` (204 by default). The port is chosen when built, so
    a notifyUri can name it before the server is up (`start()` later)."""

    def __init__(self, status: int = 204) -> None:
        self.port = free_port()
        self.status = status
        self.received: list[Notification] = []
        self._seen = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> NotifySink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw
                with sink._seen:
                    sink.received.append(Notification(
                        self.path, self.headers.get("content-type", ""), body,
                        time.monotonic()))
                    sink._seen.notify_all()
                self.send_response(sink.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={
            "poll_interval": 0.05}, name=f"notify-sink-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def to(self, path: str) -> list[Notification]:
        with self._seen:
            return [n for n in self.received if n.path == path]

    def wait(self, path: str, timeout: float = 10.0, count: int = 1) -> list[Notification]:
        """The notifications POSTed to `path`, once there are `count` of them."""
        return wait_collected(
            self._seen, lambda: [n for n in self.received if n.path == path],
            count=count, timeout=timeout,
            what=lambda: f"no notification to {path} within {timeout}s "
                         f"(received: {self.received})")


# -- a raw HTTP/2 connection ---------------------------------------------------------------------


@dataclass
class Flooded:
    """What a flood did: frames (or streams) written, and whether conso cut the link."""

    written: int = 0
    cut_by_server: bool = False
    error: str | None = None


class RawH2:
    """One HTTP/2 connection with prior knowledge on a bare socket: the connection
    preface and SETTINGS from the `h2` library, then either floods (frames written as
    fast as the socket takes them, and nothing read: the peer's answers pile up on
    conso's side) or many requests in flight at once (`pipeline`)."""

    def __init__(self, port: int, *, timeout: float = 20.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8"))
        self.h2.initiate_connection()
        self.sock.sendall(self.h2.data_to_send())

    def close(self) -> None:
        self.sock.close()

    def _blast(self, frame: bytes, count: int, batch: int = 500) -> Flooded:
        done = Flooded()
        chunk = frame * batch
        try:
            while done.written < count:
                self.sock.sendall(chunk)
                done.written += batch
        except OSError as exc:          # reset, broken pipe, or a send that timed out
            done.cut_by_server = not isinstance(exc, TimeoutError)
            done.error = repr(exc)
        return done

    def pings(self, count: int) -> Flooded:
        frame = PingFrame(0)
        frame.opaque_data = b"flooding"
        return self._blast(frame.serialize(), count)

    def settings(self, count: int) -> Flooded:
        frame = SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 65_535,
                                           SettingsFrame.MAX_FRAME_SIZE: 16_384})
        return self._blast(frame.serialize(), count)

    def rapid_reset(self, count: int, path: str, token: str = OPERATOR_KEY) -> Flooded:
        """HEADERS of a POST (no body yet) then RST_STREAM(CANCEL) at once, stream after
        stream ("rapid reset", CVE-2023-44487): never more than one stream open."""
        headers = [(":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"),
                   (":path", path), ("authorization", f"Bearer {token}"),
                   ("content-type", "application/json")]
        done = Flooded()
        stream = 1
        try:
            while done.written < count:
                for _ in range(100):
                    self.h2.send_headers(stream, headers)
                    self.h2.reset_stream(stream, error_code=8)   # CANCEL
                    stream += 2
                    done.written += 1
                self.sock.sendall(self.h2.data_to_send())
        except (OSError, h2.exceptions.ProtocolError) as exc:
            done.cut_by_server = isinstance(exc, OSError) and not isinstance(exc,
                                                                            TimeoutError)
            done.error = repr(exc)
        return done

    def pipeline(self, count: int, path: str, *, token: str | None = OPERATOR_KEY,
                 in_flight: int = 50, timeout: float = 20.0) -> list[int | str]:
        """`count` bodiless POSTs to `path` on this one connection, `in_flight` streams at
        a time, reading the answers as they come: each one's status, in the order sent
        (or what ended the connection instead: "GOAWAY ...", "reset", "no answer")."""
        headers = [(":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"),
                   (":path", path), ("content-type", "application/json")]
        if token is not None:
            headers.append(("authorization", f"Bearer {token}"))
        self.sock.settimeout(timeout)
        answers: dict[int, int | str] = {}
        streams: list[int] = []
        ended: str | None = None
        while len(streams) < count and ended is None:
            batch = []
            for _ in range(min(in_flight, count - len(streams))):
                stream = self.h2.get_next_available_stream_id()
                self.h2.send_headers(stream, headers, end_stream=True)
                batch.append(stream)
            streams += batch
            self.sock.sendall(self.h2.data_to_send())
            while ended is None and any(s not in answers for s in batch):
                data = self.sock.recv(1 << 16)
                if not data:
                    ended = "closed"
                    break
                for event in self.h2.receive_data(data):
                    if isinstance(event, h2.events.ResponseReceived):
                        status = dict(event.headers or [])[":status"]
                        answers[event.stream_id] = int(status)
                    elif isinstance(event, h2.events.DataReceived):
                        self.h2.acknowledge_received_data(event.flow_controlled_length,
                                                          event.stream_id)
                    elif isinstance(event, h2.events.StreamReset):
                        answers.setdefault(event.stream_id, "reset")
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        ended = f"GOAWAY {event.error_code!r} after {event.last_stream_id}"
                self.sock.sendall(self.h2.data_to_send())
        return [answers.get(s, ended or "no answer") for s in streams]

    def closed_by_peer(self, timeout: float = 5.0) -> bool:
        """Whether conso closes the connection within `timeout` (reading what it sent)."""
        self.sock.settimeout(timeout)
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end:
                if not self.sock.recv(1 << 16):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
        return False
