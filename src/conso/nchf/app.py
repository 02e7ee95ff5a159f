"""The Nchf_ConvergedCharging HTTP surface: routes, the bearer token, body limits, and
ProblemDetails for every error (nchf.md). An ASGI app, served over HTTP/2 and HTTP/1.1
by server.py; plain Starlette, because every request of the SMF passes here."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

import orjson
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from conso.errors import is_unavailable
from conso.nchf.charging import ConvergedCharging, Outcome, Problem
from conso.nchf.config import API_ROOT, NchfConfig
from conso.nchf.models import ChargingDataRequest, InvalidParam, ProblemDetails
from conso.nchf.openapi import document
from conso.ratelimit import RateLimiter

log = logging.getLogger("conso.nchf")

PROBLEM = "application/problem+json"
# A 503's Retry-After, seconds (the HTTP API's too).
STORE_RETRY_AFTER = {"Retry-After": "1"}

def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> Response:
    body = ProblemDetails(status=problem.status, detail=problem.detail, cause=problem.cause,
                          invalid_params=problem.invalid or None)
    return Response(body.model_dump_json(exclude_none=True), problem.status, headers=headers,
                    media_type=PROBLEM)


def _pointer(loc: tuple[int | str, ...]) -> str:
    """The JSON Pointer (RFC 6901) of a field; "" is the whole body ("/" would name a
    member called "")."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)


def _invalid(exc: ValidationError) -> Problem:
    errors = exc.errors(include_url=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return Problem(400, "INVALID_MSG_FORMAT", "the body is not JSON")
    missing = any(e["type"] == "missing" for e in errors)
    params = [InvalidParam(param=_pointer(e["loc"]), reason=str(e["msg"])) for e in errors[:20]]
    detail = "; ".join(f"{p.param}: {p.reason}" for p in params)
    return Problem(400, "MANDATORY_IE_MISSING" if missing else "MANDATORY_IE_INCORRECT",
                   detail or "the body breaks the schema", params)


class NchfApp:
    def __init__(self, charging: ConvergedCharging, config: NchfConfig) -> None:
        self.charging = charging
        self.config = config
        self._key = f"Bearer {config.operator_key}".encode()
        self._warnings = RateLimiter(5, timedelta(minutes=1))
        self._document = orjson.dumps(document())
        self.app = Starlette(routes=[
            Route(API_ROOT + "/chargingdata", self._create, methods=["POST"]),
            Route(API_ROOT + "/chargingdata/{ref}/update", self._update, methods=["POST"]),
            Route(API_ROOT + "/chargingdata/{ref}/release", self._release, methods=["POST"]),
            Route(API_ROOT + "/openapi.json", self._openapi, methods=["GET"]),
        ], exception_handlers={HTTPException: self._http_error, Exception: self._crash})

    async def _openapi(self, _: Request) -> Response:
        return Response(self._document, media_type="application/json")

    async def _create(self, request: Request) -> Response:
        return await self._serve(request, self.charging.create)

    async def _update(self, request: Request) -> Response:
        ref = request.path_params["ref"]
        return await self._serve(request, lambda body: self.charging.update(ref, body))

    async def _release(self, request: Request) -> Response:
        ref = request.path_params["ref"]
        return await self._serve(request, lambda body: self.charging.release(ref, body))

    async def _serve(self, request: Request,
                     operation: Callable[[ChargingDataRequest], Awaitable[Outcome]]) -> Response:
        try:
            self._authorize(request)
            body = ChargingDataRequest.model_validate_json(await self._body(request))
            outcome = await operation(body)
        except ClientDisconnect:
            # The client reset the stream (or went away) before its body was read: nobody
            # to answer, nothing counted. Not an error: a flood of HEADERS + RST_STREAM
            # ("rapid reset") must not write a stack trace per stream.
            log.debug("nchf %s: the client went away before its body was read",
                      request.url.path)
            return Response(status_code=400)
        except ValidationError as exc:
            problem = _invalid(exc)
            log.info("nchf %s refused: %s", request.url.path, problem.detail)
            return problem_response(problem)
        except Problem as problem:
            if problem.status >= 500 or problem.status == 401:
                # at most a few a minute per client: a client with a bad token must not
                # fill the log
                client = request.client.host if request.client else "?"
                if self._warnings.allow(client, datetime.now(UTC)):
                    log.warning("nchf %s from %s refused (%d): %s", request.url.path, client,
                                problem.status, problem.detail)
            else:
                log.info("nchf %s refused (%d %s): %s", request.url.path, problem.status,
                         problem.cause, problem.detail)
            return problem_response(problem)
        except Exception as exc:
            if not is_unavailable(exc):
                raise   # conso's own failure: 500, logged (_crash)
            client = request.client.host if request.client else "?"
            if self._warnings.allow(client, datetime.now(UTC)):
                log.warning("nchf %s from %s answered 503: the store is unavailable: %s",
                            request.url.path, client, exc)
            return problem_response(Problem(503, None, "the store is unavailable; retry later"),
                                    STORE_RETRY_AFTER)
        headers = outcome.headers
        location = headers.get("Location")
        if location is not None and location.startswith("/"):
            # an absolute URI, {apiRoot}/nchf-convergedcharging/v3/... (TS 29.501 4.4.1)
            headers = {**headers, "Location": str(request.base_url).rstrip("/") + location}
        if outcome.body is None:
            return Response(status_code=outcome.status, headers=headers)
        return Response(outcome.body.model_dump_json(exclude_none=True), outcome.status,
                        headers=headers, media_type="application/json")

    def _authorize(self, request: Request) -> None:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, self._key):
            raise Problem(401, None, "a valid bearer token is required")

    async def _body(self, request: Request) -> bytes:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise Problem(415, None, "the body must be application/json")
        declared = request.headers.get("content-length")
        limit = self.config.max_body
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise Problem(413, None, f"the body is over {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Problem(413, None, f"the body is over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _http_error(self, _: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        # 405 keeps its Allow header (RFC 9110)
        return problem_response(Problem(exc.status_code, None, str(exc.detail)), exc.headers)

    async def _crash(self, request: Request, exc: Exception) -> Response:
        log.exception("nchf %s failed", request.url.path)
        return problem_response(Problem(500, None, f"internal error: {type(exc).__name__}"))

