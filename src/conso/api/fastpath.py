"""A fast path for the network's hottest calls: authorize and session updates.

The network asks these thousands of times a second, where FastAPI's dependency
injection, validation and thread hop cost more than the decision itself. This
ASGI layer answers the well-formed requests of the operator directly, with the
same charging-core calls and the same JSON; anything else (a bad body, a body not
said to be JSON, another caller, an error, a line or session id that is not text) is
replayed to the FastAPI app, which answers as for any route; an error nobody foresaw
is a problem+json 500 (or 503 when the store is away), never uvicorn's plain text.
An authorize runs on the event loop only when the core can answer at once
(`wait=False`); otherwise it waits in a worker thread, so a usage batch never
stalls the loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from functools import partial
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conso.api.control import MAX_REQUEST_NUMBER, session_update
from conso.api.problems import unexpected
from conso.bootstrap import Services
from conso.charging.ports import Busy, SessionAnswer, UseRequest
from conso.charging.views import grant_view
from conso.domain.control import Decision
from conso.domain.text import is_clean_text
from conso.domain.units import MICROS_PER_CENT, Direction, Service
from conso.errors import ConsoError
from conso.security import same_secret
from conso.store.base import StoreError
from conso.web.headers import secured_send

log = logging.getLogger("conso.api")

_UPDATE = re.compile(r"^/api/v1/sessions/([^/]{1,128})/update$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}\Z")
_MAX_BODY = 4096
_SERVICES = {s.value: s for s in Service}
_DIRECTIONS = {d.value: d for d in Direction}
_UNITS = 10**12


class _Fallback(Exception):
    """Not for the fast path: let the FastAPI app answer."""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise _Fallback
    return value


class FastPath:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        update = _UPDATE.match(path) if path.startswith("/api/v1/sessions/") else None
        if (path != "/api/v1/authorize" and update is None) or (
                update is not None and not is_clean_text(update.group(1))):
            await self.app(scope, receive, send)
            return
        send = secured_send(scope, send)   # its own answers bypass the app's headers
        body, more = await _read(receive)
        try:
            if more or not self._operator(scope) or not _json_body(scope):
                raise _Fallback
            data = orjson.loads(body)
            if not isinstance(data, dict):
                raise _Fallback
            answer = await (self._authorize(data) if update is None
                            else self._update(update.group(1), data))
        except (_Fallback, orjson.JSONDecodeError, ConsoError, StoreError):
            # The routes answer the same request with their problem+json errors.
            await self.app(scope, _replay(body, more, receive), send)
            return
        except Exception as exc:
            log.exception("fast path: unexpected error on POST %s", path)
            await unexpected(exc)(scope, receive, send)
            return
        await _respond(send, answer)

    def _operator(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                text = value.decode("latin-1")
                return text[:7].lower() == "bearer " and same_secret(
                    text[7:].strip(), self.services.operator_key)
        return False

    async def _authorize(self, data: dict[str, Any]) -> bytes:
        if set(data) - {"line", "service", "direction", "country", "amount_cents"}:
            raise _Fallback
        line = data.get("line")
        service = _SERVICES.get(_text(data.get("service")))
        direction = _DIRECTIONS.get(_text(data.get("direction", "out")))
        country, amount = data.get("country"), data.get("amount_cents")
        if not isinstance(line, str) or not 1 <= len(line) <= 64 or service is None \
                or direction is None or not is_clean_text(line):
            raise _Fallback
        if country is not None and (not isinstance(country, str) or not _COUNTRY.match(country)):
            raise _Fallback
        micros = None if amount is None else _int(amount, 0, 10**7) * MICROS_PER_CENT
        request = UseRequest(line, service, direction, country.upper() if country else None,
                             micros)
        core = self.services.charging
        # Following other API nodes: answer from the cache once it holds every change
        # committed before this request (a fence shared with the requests beside it).
        fence = core.fence()
        if fence is not None and not fence.reached:
            await fence.wait_async()
        try:
            decision: Decision = core.authorize(request, wait=False, fence=fence)
        except Busy:
            decision = await run_in_threadpool(partial(core.authorize, request, fence=fence))
        return orjson.dumps({"allowed": decision.allowed, "reason": decision.reason})

    async def _update(self, session_id: str, data: dict[str, Any]) -> bytes:
        if set(data) - {"used", "requested", "request_number"}:
            raise _Fallback
        used = _int(data.get("used"), 0, _UNITS)
        requested = _int(data.get("requested"), 0, _UNITS)
        number = data.get("request_number")
        if number is not None:
            number = _int(number, 0, MAX_REQUEST_NUMBER)
        # Group commit: the report waits for the commit it shares with its neighbours.
        future = self.services.reports.submit(
            session_update(session_id, used, requested, number))
        answer: SessionAnswer = await asyncio.wrap_future(future)
        return orjson.dumps(grant_view(answer.first))


def _json_body(scope: Scope) -> bool:
    """Whether the body is said to be JSON, as FastAPI reads it: application/json or
    application/*+json. Another (or none) is the routes' 422, whatever the body holds."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (
                media.startswith(b"application/") and media.endswith(b"+json"))
    return False


async def _read(receive: Receive) -> tuple[bytes, bool]:
    """The body, or (what was read, True) when it is too large for the fast path."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False
        if size > _MAX_BODY:
            return b"".join(chunks), True


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay


async def _respond(send: Send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
