"""Load from other threads over loopback: keep-alive HTTP/1.1 connections.

The client is a plain socket that writes a request and reads one response by its
Content-Length: `http.client` parses every response's headers with the e-mail
parser, which costs more CPU than the server spends on an authorize, and the load
generator shares the machine's two cores with the server it measures.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from conso.bench.loadgen import percentile


class HttpError(RuntimeError):
    """The server answered with an error status, or not with HTTP."""


class Client:
    def __init__(self, port: int, key: str, timeout: float = 120.0) -> None:
        self.port = port
        self.timeout = timeout
        self._auth = f"Authorization: Bearer {key}\r\n".encode()
        self._sock: socket.socket | None = None
        self._buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""
        return sock

    def call(self, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json") -> Any:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + self._auth
        if body is not None:
            head += (f"Content-Type: {content_type}\r\n"
                     f"Content-Length: {len(body)}\r\n").encode()
        request = head + b"\r\n" + (body or b"")
        for attempt in range(3):
            try:
                if self._sock is None:
                    self._sock = self._connect()
                self._sock.sendall(request)
                status, data = self._response(self._sock)
                break
            except ConnectionError:  # a kept-alive connection the server closed
                self.close()
                if attempt == 2:
                    raise
        if status >= 400:
            raise HttpError(f"{method} {path}: {status} {data[:200]!r}")
        return orjson.loads(data) if data else None

    def _response(self, sock: socket.socket) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self._buffer:
            self._receive(sock)
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise HttpError(f"not an HTTP response: {lines[0][:80]!r}")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"transfer-encoding":
                raise HttpError("chunked answers are not expected from conso's API")
        while len(self._buffer) < length:
            self._receive(sock)
        data, self._buffer = self._buffer[:length], self._buffer[length:]
        return int(parts[1]), data

    def _receive(self, sock: socket.socket) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._buffer += chunk

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


@dataclass
class Timings:
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    count: int = 0

    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, share: float) -> float:
        return percentile(sorted(self.latencies), share)


def run_parallel(port: int, key: str, workers: int, jobs: Iterable[Any],
                 work: Callable[[Client, Any], int]) -> Timings:
    """Hand jobs to `workers` threads; `work` returns how many operations a job was."""
    queue = list(jobs)
    lock = threading.Lock()
    timings = Timings()
    errors: list[BaseException] = []

    def worker() -> None:
        client = Client(port, key)
        try:
            while not errors:
                with lock:
                    if not queue:
                        return
                    job = queue.pop()
                started = time.perf_counter()
                done = work(client, job)
                spent = time.perf_counter() - started
                with lock:
                    timings.latencies.append(spent)
                    timings.count += done
        except BaseException as exc:  # reported once, after every worker stopped
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"a load worker failed: {errors[0]}") from errors[0]
    return timings
