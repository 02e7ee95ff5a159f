"""The security-headers middleware in-process: every answer, even an unhandled error's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from conso.api.app import create_app
from conso.bootstrap import Settings, build
from conso.web.headers import HSTS, OTHER_POLICY, PAGE_POLICY, SecurityHeaders


@pytest.fixture
def app() -> Iterator[FastAPI]:
    services = build(Settings(db="memory:", operator_key="k"))
    built = create_app(services)

    @built.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    yield built
    services.close()


def test_an_unhandled_error_still_carries_the_headers(app: FastAPI) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    answer = client.get("/boom")
    assert answer.status_code == 500
    assert answer.headers["content-security-policy"] == OTHER_POLICY
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_pages_get_the_page_policy_and_https_gets_hsts(app: FastAPI) -> None:
    plain = TestClient(app).get("/portal/login")
    assert plain.headers["content-security-policy"] == PAGE_POLICY
    assert "strict-transport-security" not in plain.headers
    secure = TestClient(app, base_url="https://testserver").get("/portal/login")
    assert secure.headers["strict-transport-security"] == HSTS
    assert TestClient(app).get("/openapi.json").headers[
        "content-security-policy"] == OTHER_POLICY


def test_a_header_the_answer_sets_itself_is_kept() -> None:
    inner = FastAPI()

    @inner.get("/framable")
    def framable() -> Response:
        return Response("x", media_type="text/html",
                        headers={"Content-Security-Policy": "frame-ancestors 'self'"})

    answer = TestClient(SecurityHeaders(inner)).get("/framable")
    assert answer.headers.get_list("content-security-policy") == ["frame-ancestors 'self'"]
    assert answer.headers["x-frame-options"] == "DENY"
