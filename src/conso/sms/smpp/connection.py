"""One TCP connection to the SMSC: framed reads, locked writes, and the requests
waiting for their response, matched by sequence number.

The reader side (`read_pdu`) belongs to the session thread alone; `send`,
`request` and `abort` may be called from any thread.

Not here: binding, keep-alive, reconnecting (`conso.sms.smpp.session`), the PDU
bytes (`conso.sms.smpp.pdu`).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from conso.sms.smpp import pdu as p
from conso.sms.smpp.errors import ConnectionLost

log = logging.getLogger("conso.smpp")


class Connection:
    """One TCP connection: framed reads (reader thread only), locked writes, and
    the requests waiting for their response."""

    def __init__(self, sock: socket.socket, peer: str) -> None:
        self.sock = sock
        self.peer = peer
        self.last_received = time.monotonic()
        self.link_check: tuple[Future[p.Pdu], float] | None = None
        self._buffer = bytearray()
        self._write_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pending: dict[int, Future[p.Pdu]] = {}
        self._aborted = False
        self._selector = selectors.DefaultSelector()    # not select(): fds above 1024
        self._selector.register(sock, selectors.EVENT_READ)

    @property
    def aborted(self) -> bool:
        return self._aborted

    def send(self, pdu: p.Pdu) -> None:
        data = p.encode_pdu(pdu)
        with self._write_lock:
            if self._aborted:
                raise ConnectionLost(f"connection to {self.peer} is closed")
            log.debug("sending %s seq %d status %d to %s", type(pdu.body).__name__,
                      pdu.sequence_number, pdu.command_status, self.peer)
            try:
                self.sock.sendall(data)
            except OSError as exc:
                self.abort()
                raise ConnectionLost(f"sending to {self.peer} failed: {exc}") from exc

    def request(self, pdu: p.Pdu,
                on_done: Callable[[Future[p.Pdu]], None] | None = None) -> Future[p.Pdu]:
        """Send a request; the future gets its response (or ConnectionLost). `on_done`
        is attached before the request leaves, so it runs on the reader's thread, in
        the order the responses came, never after what the SMSC sent next."""
        future: Future[p.Pdu] = Future()
        if on_done is not None:
            future.add_done_callback(on_done)
        with self._lock:
            if self._aborted:
                raise ConnectionLost(f"connection to {self.peer} is closed")
            self._pending[pdu.sequence_number] = future
        try:
            self.send(pdu)
        except BaseException:
            self.forget(pdu.sequence_number)
            raise
        return future

    def resolve(self, response: p.Pdu) -> bool:
        with self._lock:
            future = self._pending.pop(response.sequence_number, None)
        if future is None:
            return False
        future.set_result(response)
        return True

    def forget(self, sequence_number: int) -> None:
        with self._lock:
            self._pending.pop(sequence_number, None)

    def read_pdu(self, wait: float) -> p.Pdu | None:
        """The next PDU, or None when none is complete after `wait` seconds.
        Raises ConnectionLost at end of stream and PduError for bad bytes."""
        frame = self._take_frame()
        if frame is None:
            try:
                if not self._selector.select(wait):
                    return None
                chunk = self.sock.recv(65536)
            except (OSError, ValueError) as exc:
                raise ConnectionLost(f"reading from {self.peer} failed: {exc}") from exc
            if not chunk:
                raise ConnectionLost(f"{self.peer} closed the connection")
            self._buffer += chunk
            frame = self._take_frame()
            if frame is None:
                return None
        self.last_received = time.monotonic()
        return p.decode_pdu(frame)

    def _take_frame(self) -> bytes | None:
        if len(self._buffer) < p.HEADER_SIZE:
            return None
        length = p.decode_header(bytes(self._buffer[:p.HEADER_SIZE])).command_length
        if len(self._buffer) < length:
            return None
        frame = bytes(self._buffer[:length])
        del self._buffer[:length]
        return frame

    def abort(self) -> None:
        """Stop the connection from any thread: the reader sees the end of stream."""
        self._aborted = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def close(self, reason: str) -> None:
        """Abort, fail every waiting request, release the socket (session thread)."""
        self.abort()
        with self._lock:
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionLost(reason))
        self._selector.close()
        self.sock.close()
