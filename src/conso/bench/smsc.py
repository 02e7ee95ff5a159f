"""An SMPP 3.4 SMS centre for `conso bench`: a bench peer, not a test peer.

It answers fast and records when, so that the bench can measure conso's sending path
against an SMS centre with a known latency. It checks nothing a test peer would (the
tests' SMSC, `tests/support/smsc.py`, uses an independent codec, smpplib, to check that
conso speaks SMPP correctly); this one speaks conso's own codec (`conso.sms.smpp.pdu`),
so it costs little CPU beside the server it measures on the same cores.

    python -m conso.bench.smsc --port 0 --delay 0.05 --out records.json

- accepts any bind_transceiver (any system_id and password);
- answers every submit_sm with submit_sm_resp (ESME_ROK, a fresh message_id) `--delay`
  seconds after reading it, each on its own timer: a window of submit_sm in flight is
  answered in parallel, as a real SMS centre's would be;
- answers enquire_link and unbind; anything else gets generic_nack;
- sends no delivery receipts.

Standard output, one line each, flushed: the listening port first; then `bound ID` for
each bind; then `answered N` (N submit_sm answered so far) whenever N changed, at most
every 10 ms. On SIGTERM (or SIGINT) it writes its records as JSON to `--out`, then
prints `wrote N` and exits: `{"submits": [[destination, received, answered,
answered_wall], ...], "binds": B}`, one row per submit_sm in the order answered, the
times from `time.monotonic()` (CLOCK_MONOTONIC: comparable with another process's on
the same machine) and `time.time()`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path

import orjson

from conso.sms.smpp import pdu as p

_PROGRESS_EVERY = 0.01


class Records:
    def __init__(self) -> None:
        self.submits: list[tuple[str, float, float, float]] = []
        self.binds = 0
        self._next_id = 0

    def message_id(self) -> str:
        self._next_id += 1
        return f"{self._next_id:x}"

    def dump(self) -> bytes:
        return orjson.dumps({"submits": self.submits, "binds": self.binds})


class SmscProtocol(asyncio.Protocol):
    """One ESME's connection: framing, and each PDU answered."""

    def __init__(self, records: Records, delay: float) -> None:
        self.records = records
        self.delay = delay
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= p.HEADER_SIZE:
            try:
                length = p.decode_header(bytes(self.buffer[:p.HEADER_SIZE])).command_length
            except p.PduError:
                self._close()
                return
            if len(self.buffer) < length:
                return
            frame = bytes(self.buffer[:length])
            del self.buffer[:length]
            try:
                pdu = p.decode_pdu(frame)
            except p.PduError as exc:
                if exc.sequence_number is None:
                    self._close()
                    return
                self._send(p.Pdu(p.GenericNack(), exc.sequence_number, exc.command_status))
                continue
            self._handle(pdu)

    def _handle(self, pdu: p.Pdu) -> None:
        body = pdu.body
        if isinstance(body, p.SubmitSm):
            received = time.monotonic()
            destination = p.from_address(body.destination)
            self.loop.call_later(self.delay, self._answer, pdu.sequence_number, destination,
                                 received)
        elif isinstance(body, p.BindTransceiver):
            self.records.binds += 1
            self._send(p.Pdu(p.BindTransceiverResp("bench-smsc"), pdu.sequence_number))
            print(f"bound {body.system_id}", flush=True)
        elif isinstance(body, p.EnquireLink):
            self._send(p.Pdu(p.EnquireLinkResp(), pdu.sequence_number))
        elif isinstance(body, p.Unbind):
            self._send(p.Pdu(p.UnbindResp(), pdu.sequence_number))
            self._close()
        elif not pdu.is_response:
            self._send(p.Pdu(p.GenericNack(), pdu.sequence_number, p.ESME_RINVCMDID))

    def _answer(self, sequence: int, destination: str, received: float) -> None:
        if self.transport is None:
            return      # the ESME went away: nothing answered, nothing recorded
        self._send(p.Pdu(p.SubmitSmResp(self.records.message_id()), sequence))
        self.records.submits.append((destination, received, time.monotonic(), time.time()))

    def _send(self, pdu: p.Pdu) -> None:
        if self.transport is not None:
            self.transport.write(p.encode_pdu(pdu))

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _progress(records: Records, stop: asyncio.Event) -> None:
    shown = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _PROGRESS_EVERY)
        if len(records.submits) != shown:
            shown = len(records.submits)
            print(f"answered {shown}", flush=True)


async def serve(host: str, port: int, delay: float, out: Path | None) -> None:
    loop = asyncio.get_running_loop()
    records = Records()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await loop.create_server(lambda: SmscProtocol(records, delay), host, port)
    print(server.sockets[0].getsockname()[1], flush=True)
    await _progress(records, stop)
    server.close()
    if out is not None:
        out.write_bytes(records.dump())
    print(f"wrote {len(records.submits)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conso.bench.smsc",
                                     description="An SMPP SMS centre for the bench.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--delay", type=float, default=0.05,
                        help="seconds before each submit_sm_resp (default 0.05)")
    parser.add_argument("--out", type=Path, help="where to write the records on SIGTERM")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.delay, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
