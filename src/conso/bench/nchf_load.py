"""Nchf_ConvergedCharging load: updates back to back on charging data resources spread
over a few HTTP/2 connections, as SMFs send them.

Run in a process of its own (`python -m conso.bench.nchf_load`, by `run.py`), like the
Diameter load: it prints one JSON object on standard output.

An equivalent of h2load (nghttp2) that h2load cannot be here: h2load repeats one body,
and an update repeating its invocationSequenceNumber is a retransmission, answered from
the stored answer and counted nothing. This one speaks HTTP/2 over cleartext with prior
knowledge (h2c) through the `h2` library on asyncio protocols (no task per request), as
the SMF does: each connection first opens its resources (POST /chargingdata, 201 and
the ChargingDataRef from the `Location` header), then each resource has one update
outstanding at a time, the next sent as soon as the last is answered, its
invocationSequenceNumber one higher. Bodies are serialised once; only the sequence
number is patched in. Every answer is checked: status 200 (errors counted by status),
and a rating group answered other than SUCCESS counted apart. At the end the resources
are released (204).

`--prepare N` instead only opens N resources (16 creates in flight) and writes their
update URIs, one a line, for h2load's `--input-file`: each is then updated once, a first
update, which h2load can send honestly.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import orjson
from hpack import Encoder
from hpack.hpack import encode_integer
from hpack.table import HeaderTable

from conso.bench.loadgen import connect, cpu_seconds, percentile

API_ROOT = "/nchf-convergedcharging/v3"
DATA_RATING_GROUP = 10          # the catalogue's [network.rating_groups] data
_SENTINEL = 4_294_967_295       # the sequence number's place in a serialised body
_SUCCESS = b'"resultCode":"SUCCESS"'

_H2_CONFIG = h2.config.H2Configuration(
    client_side=True, header_encoding=None, validate_outbound_headers=False,
    normalize_outbound_headers=False, validate_inbound_headers=False,
    normalize_inbound_headers=False)


# The HPACK static table (RFC 7541 appendix A): whole fields, and names, by index.
_STATIC_FIELDS: dict[tuple[bytes, bytes], int] = {}
_STATIC_NAMES: dict[bytes, int] = {}
for _index, (_name, _value) in enumerate(HeaderTable.STATIC_TABLE, 1):
    _STATIC_FIELDS.setdefault((_name, _value), _index)
    _STATIC_NAMES.setdefault(_name, _index)


class StaticEncoder(Encoder):
    """HPACK that never touches the dynamic table: each field is indexed when the static
    table holds it whole, otherwise a literal without indexing (RFC 7541 6.1, 6.2.2), so
    the same headers always encode to the same bytes and a header block is encoded once
    (the `hpack` encoder h2 uses searches its tables for every field of every request,
    in Python: a third of this client's CPU). Any decoder reads it; only a table size
    change the server asks for is still signalled."""

    def __init__(self) -> None:
        super().__init__()
        self._blocks: dict[tuple[tuple[bytes, bytes], ...], bytes] = {}

    @staticmethod
    def field(name: bytes, value: bytes) -> bytes:
        index = _STATIC_FIELDS.get((name, value))
        if index is not None:
            whole = encode_integer(index, 7)
            whole[0] |= 0x80
            return bytes(whole)
        index = _STATIC_NAMES.get(name)
        if index is not None:
            head = bytes(encode_integer(index, 4))
        else:
            head = b"\x00" + bytes(encode_integer(len(name), 7)) + name
        return head + bytes(encode_integer(len(value), 7)) + value

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        key: tuple[tuple[bytes, bytes], ...] = tuple(headers)
        block = self._blocks.get(key)
        if block is None:
            if len(self._blocks) > 4096:
                self._blocks.clear()
            block = self._blocks[key] = b"".join(self.field(bytes(n), bytes(v))
                                                 for n, v in key)
        if self.header_table.resized:
            self.header_table.resized = False
            return self._encode_table_size_change() + block
        return block


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def create_body(msisdn: str, charging_id: int, stamp: str, *, requested: int) -> bytes:
    """A ChargingDataRequest opening a data session on the line `msisdn` (no '+'), named
    by its GPSI. `charging_id` (the PDU session's, TS 32.291) makes each body, and so
    each ChargingDataRef, its own."""
    return orjson.dumps({
        "nfConsumerIdentification": {"nodeFunctionality": "SMF"},
        "invocationTimeStamp": stamp,
        "invocationSequenceNumber": 0,
        "pDUSessionChargingInformation": {"chargingId": charging_id,
                                          "userInformation": {"servedGPSI":
                                                              f"msisdn-{msisdn}"}},
        "multipleUnitUsage": [{"ratingGroup": DATA_RATING_GROUP,
                               "requestedUnit": {"totalVolume": requested}}],
    })


class BodyTemplate:
    """A request body serialised once; `render` patches in its invocationSequenceNumber."""

    def __init__(self, *, used: int, requested: int | None, stamp: str) -> None:
        item: dict[str, object] = {"ratingGroup": DATA_RATING_GROUP}
        if requested is not None:
            item["requestedUnit"] = {"totalVolume": requested}
        item["usedUnitContainer"] = [{"localSequenceNumber": 1, "totalVolume": used}]
        whole = orjson.dumps({
            "nfConsumerIdentification": {"nodeFunctionality": "SMF"},
            "invocationTimeStamp": stamp,
            "invocationSequenceNumber": _SENTINEL,
            "multipleUnitUsage": [item],
        })
        self.head, _, self.tail = whole.partition(str(_SENTINEL).encode())

    def render(self, number: int) -> bytes:
        return self.head + str(number).encode() + self.tail


@dataclass
class Tally:
    running: bool = True
    measuring: bool = False
    answered: int = 0                 # while measuring
    updated: int = 0                  # every 200, from the first update to the last
    errors: int = 0
    not_granted: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    def error(self, code: str) -> None:
        self.errors += 1
        self.codes[code] = self.codes.get(code, 0) + 1


@dataclass(slots=True)
class Answer:
    status: int = 0
    location: bytes = b""
    body: bytes = b""


class Waiter:
    """An answer awaited by the setup and the end (creates, releases)."""

    __slots__ = ("answer", "future")

    def __init__(self) -> None:
        self.future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.answer = Answer()

    def ended(self) -> None:
        if not self.future.done():
            self.future.set_result(self.answer)

    def failed(self, why: str) -> None:
        if not self.future.done():
            self.future.set_exception(ConnectionError(why))


class Peer(asyncio.Protocol):
    """One HTTP/2 connection (h2c, prior knowledge), as an SMF keeps it."""

    def __init__(self, port: int, key: str, tally: Tally) -> None:
        self.tally = tally
        self.transport: asyncio.Transport | None = None
        self.conn = h2.connection.H2Connection(config=_H2_CONFIG)
        self.conn.encoder = StaticEncoder()
        self.authority = f"127.0.0.1:{port}".encode()
        self.bearer = f"Bearer {key}".encode()
        self.pending: dict[int, Resource | Waiter] = {}
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.conn.initiate_connection()
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for waiter in self.pending.values():
            if isinstance(waiter, Waiter):
                waiter.failed("the server closed the connection")

    def data_received(self, data: bytes) -> None:
        conn = self.conn
        try:
            events = conn.receive_data(data)
        except Exception as exc:  # not HTTP/2: what is in flight stays unanswered
            self.tally.error(f"protocol: {type(exc).__name__}")
            assert self.transport is not None
            self.transport.close()
            return
        pending = self.pending
        for event in events:
            if isinstance(event, h2.events.DataReceived):
                waiter = pending.get(event.stream_id)
                if waiter is not None:
                    waiter.answer.body += event.data
                if event.flow_controlled_length:
                    conn.acknowledge_received_data(event.flow_controlled_length,
                                                   event.stream_id)
            elif isinstance(event, h2.events.ResponseReceived):
                waiter = pending.get(event.stream_id)
                if waiter is not None:
                    answer = waiter.answer
                    for name, value in event.headers:
                        if name == b":status":
                            answer.status = int(value)
                        elif name == b"location":
                            answer.location = bytes(value)
            elif isinstance(event, h2.events.StreamEnded):
                waiter = pending.pop(event.stream_id, None)
                if waiter is not None:
                    waiter.ended()
            elif isinstance(event, h2.events.StreamReset):
                waiter = pending.pop(event.stream_id, None)
                if isinstance(waiter, Waiter):
                    waiter.failed(f"stream reset ({event.error_code})")
                elif waiter is not None:
                    waiter.reset(event.error_code)
            elif isinstance(event, h2.events.ConnectionTerminated):
                # GOAWAY: nothing more is sent here; what is in flight stays unanswered
                self.tally.error(f"goaway {event.error_code}")
                self.closed = True
        self.flush()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def post(self, path: bytes, body: bytes, waiter: Resource | Waiter) -> None:
        """Send a request (written out by the next flush)."""
        conn = self.conn
        stream = conn.get_next_available_stream_id()
        waiter.answer = Answer()
        self.pending[stream] = waiter
        conn.send_headers(stream, [
            (b":method", b"POST"), (b":scheme", b"http"), (b":authority", self.authority),
            (b":path", path), (b"authorization", self.bearer),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode())])
        conn.send_data(stream, body, end_stream=True)

    async def ask(self, path: bytes, body: bytes) -> Answer:
        waiter = Waiter()
        self.post(path, body, waiter)
        self.flush()
        return await asyncio.wait_for(waiter.future, 30)


class Resource:
    """One charging data resource: one update outstanding at a time."""

    __slots__ = ("answer", "number", "path", "peer", "sent", "tally", "template")

    def __init__(self, peer: Peer, ref: bytes, template: BodyTemplate) -> None:
        self.peer = peer
        self.tally = peer.tally
        self.path = ref + b"/update"
        self.template = template
        self.number = 0
        self.sent = 0.0
        self.answer = Answer()

    def send(self) -> None:
        if self.peer.closed:
            return
        self.number += 1
        self.sent = time.perf_counter()
        self.peer.post(self.path, self.template.render(self.number), self)

    def ended(self) -> None:
        spent = time.perf_counter() - self.sent
        tally = self.tally
        answer = self.answer
        if answer.status != 200:
            tally.error(str(answer.status))
        else:
            tally.updated += 1
            if _SUCCESS not in answer.body:
                tally.not_granted += 1
        if tally.measuring:
            tally.answered += 1
            tally.latencies.append(spent)
        if tally.running:
            self.send()   # flushed by the peer once this read's events are handled

    def reset(self, code: int) -> None:
        self.tally.error(f"reset {code}")
        if self.tally.running:
            self.send()


async def _connect(port: int, key: str, tally: Tally) -> Peer:
    return await connect(port, lambda: Peer(port, key, tally))


async def _create_all(peers: Sequence[Peer], msisdns: Sequence[str], count: int, *,
                      in_flight: int, requested: int) -> tuple[list[tuple[Peer, bytes]],
                                                               dict[str, int], float]:
    """Open `count` resources, resource n on line n (cycling) and connection n (cycling),
    `in_flight` creates outstanding at a time: (peer, ref path) of each opened, the
    statuses of the refused, the seconds spent."""
    stamp = _timestamp()
    base = time.time_ns() // 1000 & 0x7FFFFFFF   # another run on the same server: new refs
    create = f"{API_ROOT}/chargingdata".encode()
    opened: list[tuple[Peer, bytes] | None] = [None] * count
    refused: dict[str, int] = {}
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            peer = peers[n % len(peers)]
            body = create_body(msisdns[n % len(msisdns)], (base + n) & 0xFFFFFFFF, stamp,
                               requested=requested)
            try:
                answer = await peer.ask(create, body)
            except (ConnectionError, TimeoutError):   # reset, or the connection lost
                refused["no answer"] = refused.get("no answer", 0) + 1
                continue
            # Location is absolute ({apiRoot}/...): the path is what the next requests use
            path = urlsplit(answer.location.decode("latin-1")).path.encode()
            if answer.status == 201 and path.startswith(create + b"/"):
                opened[n] = (peer, path)
            else:
                refused[str(answer.status)] = refused.get(str(answer.status), 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(in_flight, count))))
    return [o for o in opened if o is not None], refused, time.perf_counter() - started


async def run_load(port: int, key: str, msisdns: Sequence[str], *, connections: int,
                   seconds: float, warmup: float, used: int = 1000, requested: int = 1000,
                   server_pid: int | None = None) -> dict[str, object]:
    """Open a resource on each line (`msisdns`), spread evenly over `connections`; then
    send updates back to back for `warmup` + `seconds`, counting the answers and their
    latency during the last `seconds` only; then release every resource."""
    tally = Tally()
    peers = [await _connect(port, key, tally) for _ in range(connections)]
    opened, refused, _ = await _create_all(peers, msisdns, len(msisdns),
                                           in_flight=len(msisdns), requested=requested)
    if not opened:
        raise RuntimeError(f"every create was refused: {refused}")
    stamp = _timestamp()
    template = BodyTemplate(used=used, requested=requested, stamp=stamp)
    resources = [Resource(peer, ref, template) for peer, ref in opened]
    for resource in resources:
        resource.send()
    for peer in peers:
        peer.flush()
    await asyncio.sleep(warmup)
    client_cpu, server_cpu = cpu_seconds(None), cpu_seconds(server_pid) if server_pid else 0.0
    started = time.perf_counter()
    tally.measuring = True
    await asyncio.sleep(seconds)
    tally.measuring = False
    tally.running = False
    elapsed = time.perf_counter() - started
    client_cpu = cpu_seconds(None) - client_cpu
    server_cpu = (cpu_seconds(server_pid) - server_cpu) if server_pid else 0.0
    deadline = time.monotonic() + 30
    while any(peer.pending and not peer.closed for peer in peers) \
            and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    unanswered = sum(len(peer.pending) for peer in peers)
    last = BodyTemplate(used=used, requested=None, stamp=stamp)
    releases = await asyncio.gather(
        *(r.peer.ask(r.path[:-len(b"/update")] + b"/release", last.render(r.number + 1))
          for r in resources if not r.peer.closed), return_exceptions=True)
    released = sum(1 for a in releases if isinstance(a, Answer) and a.status == 204)
    for peer in peers:
        assert peer.transport is not None
        peer.transport.close()
    ordered = sorted(tally.latencies)

    answered = tally.answered
    return {
        "resources": len(resources), "connections": connections,
        "create_refused": sum(refused.values()), "create_codes": refused,
        "seconds": round(elapsed, 3), "answered": answered,
        "per_s": answered / elapsed if elapsed else 0.0,
        "p50_ms": percentile(ordered, 0.5) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "errors": tally.errors, "error_codes": tally.codes,
        "not_granted": tally.not_granted, "unanswered": unanswered,
        "updated": tally.updated, "released": released,
        "release_errors": len(resources) - released,
        "client_cpu_us_per_update": client_cpu * 1e6 / answered if answered else None,
        "server_cpu_us_per_update": server_cpu * 1e6 / answered if answered and server_pid
        else None,
    }


async def prepare(port: int, key: str, msisdns: Sequence[str], count: int, uris: Path, *,
                  connections: int, in_flight: int, requested: int = 1000,
                  server_pid: int | None = None) -> dict[str, object]:
    """Open `count` resources on the lines (cycling) and write their update URIs to
    `uris`, one a line: h2load's `--input-file`."""
    tally = Tally()
    peers = [await _connect(port, key, tally) for _ in range(connections)]
    server_cpu = cpu_seconds(server_pid) if server_pid else 0.0
    opened, refused, elapsed = await _create_all(peers, msisdns, count, in_flight=in_flight,
                                                 requested=requested)
    server_cpu = (cpu_seconds(server_pid) - server_cpu) if server_pid else 0.0
    for peer in peers:
        assert peer.transport is not None
        peer.transport.close()
    base = f"http://127.0.0.1:{port}"
    uris.write_text("".join(f"{base}{ref.decode()}/update\n" for _, ref in opened))
    return {"created": len(opened), "create_refused": sum(refused.values()),
            "create_codes": refused, "seconds": round(elapsed, 3),
            "creates_per_s": len(opened) / elapsed if elapsed else 0.0,
            "server_cpu_us_per_create": server_cpu * 1e6 / len(opened)
            if opened and server_pid else None}


def h2load_body(used: int = 1000, requested: int = 1000) -> bytes:
    """The body h2load sends to each resource `prepare` opened: its first update."""
    return BodyTemplate(used=used, requested=requested, stamp=_timestamp()).render(1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conso.bench.nchf_load",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None,
                                     fromfile_prefix_chars="@")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--prepare", type=int, metavar="N",
                        help="only open N resources and write their update URIs to --uris")
    parser.add_argument("--uris", type=Path, help="with --prepare: the file to write")
    parser.add_argument("--in-flight", type=int, default=16, help="with --prepare")
    parser.add_argument("msisdns", nargs="+", help="E.164 numbers of the lines, no '+' "
                        "(@FILE: read from FILE, one a line)")
    args = parser.parse_args(argv)
    key = os.environ.get("CONSO_OPERATOR_KEY")
    if not key:
        parser.error("the bearer token is read from CONSO_OPERATOR_KEY")
    if args.prepare is not None:
        if args.uris is None:
            parser.error("--prepare needs --uris")
        result = asyncio.run(prepare(args.port, key, args.msisdns, args.prepare, args.uris,
                                     connections=args.connections, in_flight=args.in_flight,
                                     server_pid=args.server_pid))
    else:
        result = asyncio.run(run_load(args.port, key, args.msisdns,
                                      connections=args.connections, seconds=args.seconds,
                                      warmup=args.warmup, server_pid=args.server_pid))
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
