"""Diameter Gy load: CCR-UPDATEs back to back from sessions spread over a few connections.

Run in a process of its own (`python -m conso.bench.diameter_load`, by `run.py`), as the
HTTP load runs outside the server: it prints one JSON object on standard output.

It must cost the server's two cores little, so it is lean: asyncio protocols and
callbacks (no task per request), conso's own codec to build each session's requests
once (an update is its prebuilt bytes with the hop-by-hop and end-to-end ids and the
CC-Request-Number patched in), and a minimal reader that splits the answers by their
length and reads only the top-level Result-Code. Each connection first exchanges
capabilities (CER/CEA), then each session opens (CCR-INITIAL) and sends CCR-UPDATEs
one at a time, the next as soon as the last is answered.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from conso.bench.loadgen import connect, cpu_seconds, percentile
from conso.diameter import codec
from conso.diameter.dictionary import (
    BASE,
    CREDIT_CONTROL,
    FLAG_PROXIABLE,
    FLAG_REQUEST,
    Avp,
    Command,
    RequestType,
    Result,
)

REALM = "bench.localdomain"
DESTINATION_REALM = "localdomain"
SERVICE_CONTEXT = "32251@3gpp.org"   # 3GPP TS 32.251: PS charging (Gy)
DATA_RATING_GROUP = 10               # the catalogue's [network.rating_groups] data
E164 = 0
_IDS = struct.Struct(">II")
_U32 = struct.Struct(">I")
_AVP = struct.Struct(">II")


def result_code(data: bytes, offset: int, end: int) -> int:
    """The top-level Result-Code of the message at data[offset:end]; 0 when it has none."""
    offset += codec.HEADER
    while offset + 8 <= end:
        code, word = _AVP.unpack_from(data, offset)
        length = word & 0xFFFFFF
        if length < 8:
            break
        if code == Avp.RESULT_CODE and not word & 0x80000000:
            value: int = _U32.unpack_from(data, offset + 8)[0]
            return value
        offset += (length + 3) & ~3
    return 0


def capabilities_request(origin_host: str, hop_by_hop: int, end_to_end: int) -> bytes:
    return codec.message(Command.CAPABILITIES_EXCHANGE, BASE, [
        codec.utf8(Avp.ORIGIN_HOST, origin_host),
        codec.utf8(Avp.ORIGIN_REALM, REALM),
        codec.address(Avp.HOST_IP_ADDRESS, bytes([127, 0, 0, 1])),
        codec.u32(Avp.VENDOR_ID, 0),
        codec.utf8(Avp.PRODUCT_NAME, "conso-bench", mandatory=False),
        codec.u32(Avp.AUTH_APPLICATION_ID, CREDIT_CONTROL),
    ], flags=FLAG_REQUEST, hop_by_hop=hop_by_hop, end_to_end=end_to_end)


def _octets(code: int, octets: int) -> bytes:
    return codec.grouped(code, [codec.u64(Avp.CC_TOTAL_OCTETS, octets)])


def _common(session_id: str, origin_host: str, kind: RequestType) -> list[bytes]:
    return [codec.utf8(Avp.SESSION_ID, session_id),
            codec.utf8(Avp.ORIGIN_HOST, origin_host),
            codec.utf8(Avp.ORIGIN_REALM, REALM),
            codec.utf8(Avp.DESTINATION_REALM, DESTINATION_REALM),
            codec.u32(Avp.AUTH_APPLICATION_ID, CREDIT_CONTROL),
            codec.utf8(Avp.SERVICE_CONTEXT_ID, SERVICE_CONTEXT),
            codec.u32(Avp.CC_REQUEST_TYPE, kind)]


def initial_request(session_id: str, origin_host: str, msisdn: str, *, requested: int,
                    hop_by_hop: int, end_to_end: int) -> bytes:
    """CCR-INITIAL for data on the line whose E.164 number is `msisdn` (no '+')."""
    return codec.message(Command.CREDIT_CONTROL, CREDIT_CONTROL, [
        *_common(session_id, origin_host, RequestType.INITIAL),
        codec.u32(Avp.CC_REQUEST_NUMBER, 0),
        codec.grouped(Avp.SUBSCRIPTION_ID, [codec.u32(Avp.SUBSCRIPTION_ID_TYPE, E164),
                                            codec.utf8(Avp.SUBSCRIPTION_ID_DATA, msisdn)]),
        codec.grouped(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL, [
            _octets(Avp.REQUESTED_SERVICE_UNIT, requested),
            codec.u32(Avp.RATING_GROUP, DATA_RATING_GROUP)]),
    ], flags=FLAG_REQUEST | FLAG_PROXIABLE, hop_by_hop=hop_by_hop, end_to_end=end_to_end)


class UpdateTemplate:
    """A session's CCR-UPDATE built once; `render` patches in what changes per request."""

    def __init__(self, session_id: str, origin_host: str, used: int, requested: int) -> None:
        before = _common(session_id, origin_host, RequestType.UPDATE)
        number = codec.u32(Avp.CC_REQUEST_NUMBER, 0)
        after = codec.grouped(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL, [
            _octets(Avp.REQUESTED_SERVICE_UNIT, requested),
            _octets(Avp.USED_SERVICE_UNIT, used),
            codec.u32(Avp.RATING_GROUP, DATA_RATING_GROUP)])
        whole = codec.message(Command.CREDIT_CONTROL, CREDIT_CONTROL, [*before, number, after],
                              flags=FLAG_REQUEST | FLAG_PROXIABLE, hop_by_hop=0, end_to_end=0)
        at = codec.HEADER + sum(len(a) for a in before) + 8   # the CC-Request-Number's value
        self.head = whole[:12]
        self.middle = whole[20:at]
        self.tail = whole[at + 4:]

    def render(self, hop_by_hop: int, end_to_end: int, number: int) -> bytes:
        return (self.head + _IDS.pack(hop_by_hop, end_to_end) + self.middle
                + _U32.pack(number) + self.tail)


class Waiter:
    """An answer awaited by the setup (CEA, CCA-INITIAL): its Result-Code."""

    def __init__(self) -> None:
        self.future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def answered(self, code: int) -> None:
        if not self.future.done():
            self.future.set_result(code)


@dataclass
class Tally:
    running: bool = True
    measuring: bool = False
    answered: int = 0
    errors: int = 0
    codes: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    server_requests: int = 0


class Peer(asyncio.Protocol):
    """One connection, as a network element (a PGW) holds it: answers matched to their
    requests by hop-by-hop id."""

    def __init__(self, origin_host: str, tally: Tally) -> None:
        self.origin_host = origin_host
        self.tally = tally
        self.transport: asyncio.Transport | None = None
        self.rest = b""
        self.pending: dict[int, Session | Waiter] = {}
        self.hop = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        for waiter in self.pending.values():
            if isinstance(waiter, Waiter) and not waiter.future.done():
                waiter.future.set_exception(ConnectionError("the server closed the connection"))

    def data_received(self, data: bytes) -> None:
        if self.rest:
            data = self.rest + data
        size = len(data)
        offset = 0
        while size - offset >= codec.HEADER:
            length = int.from_bytes(data[offset + 1:offset + 4], "big")
            if length < codec.HEADER:   # not Diameter: what is in flight stays unanswered
                assert self.transport is not None
                self.transport.close()
                return
            if size - offset < length:
                break
            end = offset + length
            hop_by_hop, end_to_end = _IDS.unpack_from(data, offset + 12)
            if data[offset + 4] & FLAG_REQUEST:
                self._answer_request(data, offset, end, hop_by_hop, end_to_end)
            else:
                waiter = self.pending.pop(hop_by_hop, None)
                if waiter is not None:
                    waiter.answered(result_code(data, offset, end))
            offset = end
        self.rest = data[offset:]

    def _answer_request(self, data: bytes, offset: int, end: int, hop_by_hop: int,
                        end_to_end: int) -> None:
        """A request of the server's (a watchdog, a re-auth): answered 2001."""
        self.tally.server_requests += 1
        command = int.from_bytes(data[offset + 5:offset + 8], "big")
        application = _U32.unpack_from(data, offset + 8)[0]
        message = codec.decode(bytes(data[offset:end]))
        session = message.avps.find(Avp.SESSION_ID)
        avps = [codec.avp(Avp.SESSION_ID, session.data)] if session is not None else []
        avps += [codec.u32(Avp.RESULT_CODE, Result.SUCCESS),
                 codec.utf8(Avp.ORIGIN_HOST, self.origin_host),
                 codec.utf8(Avp.ORIGIN_REALM, REALM)]
        self.write(codec.message(command, application, avps,
                                 flags=data[offset + 4] & FLAG_PROXIABLE,
                                 hop_by_hop=hop_by_hop, end_to_end=end_to_end))

    def next_hop(self) -> int:
        self.hop = (self.hop + 1) & 0xFFFFFFFF
        return self.hop

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    async def ask(self, build: bytes) -> int:
        """Send a setup request whose hop-by-hop id is its bytes' own; its Result-Code."""
        waiter = Waiter()
        self.pending[_IDS.unpack_from(build, 12)[0]] = waiter
        self.write(build)
        return await asyncio.wait_for(waiter.future, 30)


class Session:
    """One credit-control session: one CCR-UPDATE outstanding at a time."""

    __slots__ = ("e2e", "number", "peer", "sent", "tally", "template")

    def __init__(self, peer: Peer, template: UpdateTemplate, e2e: int) -> None:
        self.peer = peer
        self.template = template
        self.tally = peer.tally
        self.number = 0
        self.e2e = e2e
        self.sent = 0.0

    def send(self) -> None:
        peer = self.peer
        hop = peer.next_hop()
        self.number += 1
        self.e2e = (self.e2e + 1) & 0xFFFFFFFF
        peer.pending[hop] = self
        self.sent = time.perf_counter()
        peer.write(self.template.render(hop, self.e2e, self.number))

    def answered(self, code: int) -> None:
        spent = time.perf_counter() - self.sent
        tally = self.tally
        if code != Result.SUCCESS:
            tally.errors += 1
            tally.codes[code] = tally.codes.get(code, 0) + 1
        if tally.measuring:
            tally.answered += 1
            tally.latencies.append(spent)
        if tally.running:
            self.send()


async def _connect(port: int, origin_host: str, tally: Tally) -> Peer:
    peer = await connect(port, lambda: Peer(origin_host, tally))
    code = await peer.ask(capabilities_request(origin_host, peer.next_hop(), 1))
    if code != Result.SUCCESS:
        raise RuntimeError(f"CER of {origin_host} answered {code}")
    return peer


async def run_load(port: int, msisdns: Sequence[str], *, connections: int, seconds: float,
                   warmup: float, used: int = 1000, requested: int = 1000,
                   server_pid: int | None = None) -> dict[str, object]:
    """Open a session on each line (`msisdns`), the sessions spread evenly over
    `connections`; then send CCR-UPDATEs back to back for `warmup` + `seconds`, counting
    the answers and their latency during the last `seconds` only."""
    tally = Tally()
    stamp = int(time.time())
    peers = [await _connect(port, f"bench-pgw-{n}.{REALM}", tally) for n in range(connections)]
    sessions: list[Session] = []
    initial_refused: dict[int, int] = {}
    opens = []
    for n, msisdn in enumerate(msisdns):
        peer = peers[n % connections]
        session_id = f"{peer.origin_host};{stamp};{n};bench"
        opens.append(peer.ask(initial_request(session_id, peer.origin_host, msisdn,
                                              requested=requested, hop_by_hop=peer.next_hop(),
                                              end_to_end=n + 1)))
        sessions.append(Session(peer, UpdateTemplate(session_id, peer.origin_host, used,
                                                     requested), (n + 1) << 20))
    codes = await asyncio.gather(*opens)
    running = []
    for session, code in zip(sessions, codes, strict=True):
        if code == Result.SUCCESS:
            running.append(session)
        else:
            initial_refused[code] = initial_refused.get(code, 0) + 1
    if not running:
        raise RuntimeError(f"every CCR-INITIAL was refused: {initial_refused}")
    for session in running:
        session.send()
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
    while any(peer.pending for peer in peers) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    for peer in peers:
        assert peer.transport is not None
        peer.transport.close()
    ordered = sorted(tally.latencies)

    answered = tally.answered
    return {
        "sessions": len(running), "connections": connections,
        "initial_refused": sum(initial_refused.values()),
        "initial_codes": {str(k): v for k, v in initial_refused.items()},
        "seconds": round(elapsed, 3), "answered": answered,
        "per_s": answered / elapsed if elapsed else 0.0,
        "p50_ms": percentile(ordered, 0.5) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "errors": tally.errors, "error_codes": {str(k): v for k, v in tally.codes.items()},
        "unanswered": sum(len(peer.pending) for peer in peers),
        "server_requests": tally.server_requests,
        "client_cpu_us_per_ccr": client_cpu * 1e6 / answered if answered else None,
        "server_cpu_us_per_ccr": server_cpu * 1e6 / answered if answered and server_pid
        else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conso.bench.diameter_load",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("msisdns", nargs="+", help="E.164 numbers of the lines, no '+'")
    args = parser.parse_args(argv)
    result = asyncio.run(run_load(args.port, args.msisdns, connections=args.connections,
                                  seconds=args.seconds, warmup=args.warmup,
                                  server_pid=args.server_pid))
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
