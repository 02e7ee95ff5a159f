"""The Nchf listener: hypercorn, on an event loop of its own (`runtime.LoopThread`).

hypercorn because it speaks HTTP/2, over cleartext with prior knowledge (h2c, as SBI
peers in a trusted network use it) and HTTP/1.1 on the same port, and over TLS with
ALPN; uvicorn, which serves the operator API, speaks no HTTP/2. Limits against abusive
clients: concurrent streams per connection, header sizes, the body size (app.py), and
idle connections closed.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.types import ASGIApp

from conso.nchf.config import NchfConfig
from conso.runtime import LoopThread

log = logging.getLogger("conso.nchf")


class NchfServer:
    def __init__(self, app: ASGIApp, config: NchfConfig) -> None:
        self.app = app
        self.config = config
        self.port = config.port
        self._loop: LoopThread | None = None
        self._stop: asyncio.Event | None = None
        self._socket: socket.socket | None = None

    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        sock.listen(1024)
        sock.setblocking(False)
        self._socket = sock
        self.port = sock.getsockname()[1]
        hyper = Config()
        hyper.bind = [f"fd://{sock.fileno()}"]
        hyper.accesslog = None
        hyper.errorlog = logging.getLogger("conso.nchf.http")
        hyper.h2_max_concurrent_streams = 100
        hyper.h2_max_header_list_size = 16 * 1024
        hyper.h11_max_incomplete_size = 16 * 1024
        hyper.keep_alive_timeout = 75
        hyper.graceful_timeout = 5
        if self.config.tls_cert and self.config.tls_key:
            hyper.certfile = self.config.tls_cert
            hyper.keyfile = self.config.tls_key
        self._loop = LoopThread("conso-nchf")
        self._loop.run(self._ready())
        self._loop.submit(self._serve(hyper))
        log.info("nchf: listening on %s://%s:%d (HTTP/2 and HTTP/1.1)", self.config.scheme,
                 self.config.host, self.port)

    async def _ready(self) -> None:
        self._stop = asyncio.Event()

    async def _serve(self, hyper: Config) -> None:
        assert self._stop is not None
        try:
            await serve(self.app, hyper, shutdown_trigger=self._stop.wait,  # type: ignore[arg-type]
                        mode="asgi")
        except Exception:
            log.exception("nchf: the HTTP/2 server stopped")

    async def _shutdown(self) -> None:
        if self._stop is not None:
            self._stop.set()
        await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            self._loop.run(self._shutdown(), timeout=10)
        finally:
            self._loop.close(10)
            self._loop = None
            if self._socket is not None:
                self._socket.close()
