"""Every error answer is application/problem+json (RFC 9457), mapped here once."""

from __future__ import annotations

import logging
import sqlite3
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from conso.auth import TooManyAttempts
from conso.domain.catalog import CatalogError
from conso.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge, Unauthorized
from conso.store.base import StoreError
from conso.stream.errors import StreamError

log = logging.getLogger("conso.api")

PROBLEM_TYPE = "https://conso.dev/problems/"

# The store is away (restarting, disk full): nothing was done; ask again in a moment.
STORE_RETRY_AFTER = {"Retry-After": "1"}


def problem(status: int, detail: str, *, errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + phrase.lower().replace(" ", "-").replace("'", ""),
        "title": phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json",
                        headers=headers)


def unexpected(exc: BaseException) -> JSONResponse:
    """The answer to an error nobody foresaw (logged by the caller): 503 when the
    database went away or is locked (nothing was committed; retry), 500 otherwise."""
    if isinstance(exc, StoreError | sqlite3.OperationalError | psycopg.OperationalError):
        return problem(503, "the store is unavailable; retry later", headers=STORE_RETRY_AFTER)
    return problem(500, "internal error; it has been logged")


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (RFC 9110 15.5.6), for a 405: Starlette
    names only those of the first route that matched the path, and conso has a route a
    method. Asked of the router itself, so that included routers are searched too."""
    routes = request.app.router.routes
    return ", ".join(method for method in _METHODS if any(
        route.matches({**request.scope, "method": method})[0] is Match.FULL
        for route in routes))


def _loc(parts: Any) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in parts]


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": _loc(e.get("loc", ())), "msg": str(e.get("msg", "invalid"))}
                  for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem(422, detail or "invalid request", errors=errors)

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        return problem(422, str(exc), errors=[{"loc": list(exc.loc), "msg": exc.msg}])

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        if isinstance(exc, TooManyAttempts):
            return problem(429, str(exc), headers={"Retry-After": str(exc.retry_after)})
        return problem(401, str(exc), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return problem(403, str(exc))

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return problem(404, str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return problem(409, str(exc))

    @app.exception_handler(TooLarge)
    async def _too_large(_: Request, exc: TooLarge) -> JSONResponse:
        return problem(413, str(exc))

    @app.exception_handler(psycopg.DataError)
    async def _data(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # PostgreSQL refused a value (a NUL in a text, a number out of range) that the
        # edge should have refused first (domain/text.py): still the caller's input.
        log.error("input not checked at the edge, refused by PostgreSQL on %s %s: %s",
                  request.method, request.url.path, exc)
        return problem(422, "a value of the request cannot be stored",
                       errors=[{"loc": [], "msg": "cannot be stored"}])

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> JSONResponse:
        # The client left (or was cut off for sending too slowly) before its body was
        # read: nobody reads this answer.
        log.info("client gone before its request was read: %s %s", request.method,
                 request.url.path)
        return problem(400, "the request was not received in full")

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        log.error("store error: %s", exc)
        return problem(503, "the store is unavailable; retry later", headers=STORE_RETRY_AFTER)

    @app.exception_handler(sqlite3.OperationalError)
    @app.exception_handler(psycopg.OperationalError)
    async def _database(_: Request, exc: Exception) -> JSONResponse:
        # The database went away or is locked: nothing was committed, the caller retries.
        log.error("database unavailable: %s", exc)
        return problem(503, "the store is unavailable; retry later", headers=STORE_RETRY_AFTER)

    @app.exception_handler(StreamError)
    async def _stream(_: Request, exc: StreamError) -> JSONResponse:
        # Not acknowledged by JetStream: not accepted; a retry is stored once (message id).
        log.error("stream unavailable: %s", exc)
        return problem(503, "the usage stream is unavailable; retry later")

    @app.exception_handler(CatalogError)
    async def _catalog(_: Request, exc: CatalogError) -> JSONResponse:
        log.error("catalogue error: %s", exc)
        return problem(500, "catalogue error")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return problem(exc.status_code, detail, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; it has been logged")
