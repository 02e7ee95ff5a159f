"""Limits of the HTTP API's listener, and the body size limit (413).

What one client may take from the server that `conso serve` runs: the size and number
of header fields, how long it may take to send a request, how many connections are
open at once, and how large a body may be. The listener (api/listener.py) enforces the
first ones while it parses; `BodyLimit` the last one, in front of every route and the
fast path. Every refusal is problem+json. This module decides no business rule.

Settings (environment of `conso serve`; `--max-connections` too):

| setting                 | default  | what                                                   |
|-------------------------|----------|--------------------------------------------------------|
| CONSO_MAX_CONNECTIONS   | 1000     | open connections; more are answered 503 at once       |
| CONSO_MAX_HEADER_BYTES  | 16384    | request line and header fields together (431, 414)    |
| CONSO_MAX_HEADERS       | 100      | header fields of a request (431)                       |
| CONSO_HEADER_TIMEOUT    | 10       | seconds to send a request's line and headers (408)     |
| CONSO_BODY_TIMEOUT      | 30       | seconds a body may pause between two reads (408)       |
| CONSO_KEEPALIVE_TIMEOUT | 5        | seconds an idle keep-alive connection stays open       |
| CONSO_MAX_BODY_BYTES    | 1048576  | a request body (413); POST /api/v1/usage takes 32 MiB  |
| CONSO_BACKLOG           | 2048     | connections the kernel queues before they are accepted |

The connection cap is lowered to half the file descriptors left under the process's
limit (`ulimit -n`), so that idle connections can never take the descriptors that new
connections, the store and /healthz need.
"""

from __future__ import annotations

import logging
import os
import resource
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conso.api.problems import problem, unexpected
from conso.api.provisioning import MAX_BODY_BYTES as PROVISION_MAX_BODY_BYTES
from conso.api.usage import MAX_BODY_BYTES as USAGE_MAX_BODY_BYTES
from conso.web.headers import secured_send

log = logging.getLogger("conso.api")

# Bodies larger than the default that a route takes, by exact path.
LARGE_BODIES: Mapping[str, int] = {"/api/v1/usage": USAGE_MAX_BODY_BYTES,
                                   "/api/v1/provision": PROVISION_MAX_BODY_BYTES}

_ENV = {
    "max_connections": "CONSO_MAX_CONNECTIONS",
    "max_header_bytes": "CONSO_MAX_HEADER_BYTES",
    "max_headers": "CONSO_MAX_HEADERS",
    "header_timeout": "CONSO_HEADER_TIMEOUT",
    "body_timeout": "CONSO_BODY_TIMEOUT",
    "keepalive_timeout": "CONSO_KEEPALIVE_TIMEOUT",
    "max_body_bytes": "CONSO_MAX_BODY_BYTES",
    "backlog": "CONSO_BACKLOG",
}


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_connections: int = 1000
    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: int = 5
    max_body_bytes: int = 1024 * 1024
    backlog: int = 2048
    file_limit: int | None = None  # the `ulimit -n` that lowered max_connections, if it did

    @classmethod
    def from_env(cls, env: Mapping[str, str], **given: Any) -> HttpLimits:
        """The limits from CONSO_* settings; `given` (a command-line option) wins when not
        None. ValueError names the setting that is not a positive number."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            name = _ENV.get(field.name)
            if name is None:
                continue
            raw = given.get(field.name)
            text = str(raw) if raw is not None else env.get(name, "").strip()
            if not text:
                continue
            kind = float if field.type in (float, "float") else int
            try:
                value = kind(text)
            except ValueError:
                value = 0
            if value <= 0:
                what = "number" if kind is float else "whole number"
                raise ValueError(f"{name}: must be a positive {what}, not {text!r}")
            values[field.name] = value
        return cls(**values)

    def within_file_limit(self) -> HttpLimits:
        """These limits with the connection cap lowered to half the file descriptors left
        under RLIMIT_NOFILE: the other half is for the connections refused at once, the
        store, the dispatcher and the network front ends."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self
        left = soft - _open_descriptors()
        cap = max(8, left // 2)
        if cap >= self.max_connections:
            return self
        return replace(self, max_connections=cap, file_limit=soft)

    def describe(self) -> str:
        cap = f"{self.max_connections} connections"
        if self.file_limit is not None:
            cap += f" (lowered for ulimit -n {self.file_limit})"
        return (f"{cap}; headers {self.max_header_bytes} bytes, {self.max_headers} fields, "
                f"{self.header_timeout:g} s to send; bodies {self.max_body_bytes} bytes "
                f"({USAGE_MAX_BODY_BYTES} for /api/v1/usage), {self.body_timeout:g} s pause; "
                f"keep-alive {self.keepalive_timeout} s")

    def body_limit(self, path: str) -> int:
        return max(LARGE_BODIES.get(path, 0), self.max_body_bytes)


def _open_descriptors() -> int:
    for where in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(where))
        except OSError:
            continue
    return 64


class BodyTooLarge(HTTPException):
    """Raised by the receive of a request whose body went over its limit. An
    HTTPException, so that FastAPI's body reading lets it through to problems.py."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is over {limit} bytes; send less at a time")


class BodyLimit:
    """ASGI: a body over its route's limit is a 413 problem+json, before it is read when
    its Content-Length says so, as soon as it goes over otherwise. Also the last word on
    errors: one that escapes the app before an answer started is a problem+json 500."""

    def __init__(self, app: ASGIApp, limits: HttpLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.body_limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await problem(413, f"the body is over {limit} bytes; send less at a time")(
                scope, receive, secured_send(scope, send))
            return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except BodyTooLarge as exc:
            if started:
                raise
            await problem(413, str(exc.detail))(scope, receive, secured_send(scope, send))
        except Exception as exc:
            if started:
                raise
            log.exception("unexpected error on %s %s", scope.get("method"), scope["path"])
            await unexpected(exc)(scope, receive, secured_send(scope, send))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
