"""Security headers on the answers written outside the FastAPI app (web/headers.py): the
fast path's (api/fastpath.py), the body limit's 413 and last-resort 500 (api/limits.py).
In-process, with an inner app that answers 599 when it is reached, so that every
answer here is the layer's own. (The listener's refusals: tests/integration/
test_raw_answer_headers.py, over a real server.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conso.api.fastpath import FastPath
from conso.api.limits import BodyLimit, HttpLimits
from conso.bootstrap import Services, Settings, build
from conso.charging.ports import SessionStart, Units
from conso.domain.units import Service
from conso.web.headers import (
    HSTS,
    OTHER_POLICY,
    PAGE_POLICY,
    SecurityHeaders,
    security_headers,
)
from support.aio import run_apart

LINE = "+32470000077"
KEY = "k"


async def _never(scope: Any, receive: Any, send: Any) -> None:
    """The app behind the layer: reached, it answers 599 (no header of its own)."""
    await send({"type": "http.response.start", "status": 599, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _crash(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("a bug")


@pytest.fixture
def services() -> Iterator[Services]:
    built = build(Settings(db="memory:", operator_key=KEY))
    built.start()
    built.engine.put_account("a", name="A", kind="business")
    built.engine.put_line(LINE, account_id="a", plan_id="payg", user_login=None,
                          cycle_day=None)
    yield built
    built.close()


def _post(app: Any, path: str, *, https: bool = False, **options: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        base = "https://conso.test" if https else "http://conso.test"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=base) as client:
            return await client.post(path, **options)

    return run_apart(run())


def assert_api_headers(answer: httpx.Response, *, https: bool = False) -> None:
    assert answer.headers["x-content-type-options"] == "nosniff", answer.headers
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["content-security-policy"] == OTHER_POLICY
    assert answer.headers.get("strict-transport-security") == (HSTS if https else None)


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_a_fast_path_authorize_carries_the_api_headers(services: Services,
                                                       https: bool) -> None:
    answer = _post(FastPath(_never, services), "/api/v1/authorize", https=https,
                   json={"line": LINE, "service": "sms"},
                   headers={"authorization": f"Bearer {KEY}"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"allowed": True, "reason": None}
    assert_api_headers(answer, https=https)


def test_a_fast_path_session_update_carries_the_api_headers(services: Services) -> None:
    services.charging.start(SessionStart("s-1", LINE, [Units("", Service.DATA, requested=10)]))
    answer = _post(FastPath(_never, services), "/api/v1/sessions/s-1/update",
                   json={"used": 1, "requested": 10},
                   headers={"authorization": f"Bearer {KEY}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["granted"] == 10
    assert_api_headers(answer)


def test_an_answer_the_fast_path_hands_on_carries_the_headers_once(
        services: Services) -> None:
    # Not the operator: replayed to the app (which adds the headers itself, as
    # SecurityHeaders does in conso's), whose answer is passed on with each header once.
    answer = _post(FastPath(SecurityHeaders(_never), services), "/api/v1/authorize",
                   json={"line": LINE, "service": "sms"})
    assert answer.status_code == 599
    assert_api_headers(answer)
    for name in ("x-content-type-options", "x-frame-options", "referrer-policy",
                 "content-security-policy"):
        assert len(answer.headers.get_list(name)) == 1, answer.headers


def test_a_413_and_a_last_resort_500_of_the_body_limit_carry_the_api_headers() -> None:
    limited = BodyLimit(_never, HttpLimits(max_body_bytes=10))
    declared = _post(limited, "/api/v1/lines/x", content=b"x" * 100)
    assert declared.status_code == 413, declared.text
    assert declared.headers["content-type"].startswith("application/problem+json")
    assert_api_headers(declared)

    async def chunks() -> Any:          # no Content-Length: over the limit while read
        for _ in range(10):
            yield b"x" * 10

    async def reading(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await _never(scope, receive, send)

    streamed = _post(BodyLimit(reading, HttpLimits(max_body_bytes=10)), "/api/v1/lines/x",
                     content=chunks())
    assert streamed.status_code == 413, streamed.text
    assert_api_headers(streamed)

    crashed = _post(BodyLimit(_crash, HttpLimits()), "/api/v1/lines/x", https=True,
                    content=b"{}")
    assert crashed.status_code == 500, crashed.text
    assert_api_headers(crashed, https=True)


def test_security_headers_keep_what_an_answer_carries() -> None:
    page = security_headers([(b"content-type", b"text/html; charset=utf-8")])
    assert (b"content-security-policy", PAGE_POLICY.encode()) in page
    kept = security_headers([(b"Content-Security-Policy", b"x"), (b"x-frame-options", b"y")],
                            https=True)
    assert {name for name, _ in kept} == {b"x-content-type-options", b"referrer-policy",
                                          b"strict-transport-security"}
