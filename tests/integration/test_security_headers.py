"""Security headers on every answer of `conso serve`: the portal's pages, /docs, the API.

Pages: a strict Content-Security-Policy (nothing inline, nothing from elsewhere, never
framed); everything else: `default-src 'none'`. All: nosniff, X-Frame-Options DENY,
Referrer-Policy, and HSTS when the request came over HTTPS (from a proxy uvicorn trusts).
The pages themselves hold no inline script, event handler or style attribute, which the
policy would block, and /docs names no other origin.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

import httpx
import pytest

from .helpers import PASSWORD, Api, Server, login

PAGE_POLICY = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
    "img-src": "'self' data:", "object-src": "'none'", "frame-ancestors": "'none'",
    "base-uri": "'none'", "form-action": "'self'",
}
API_POLICY = {"default-src": "'none'", "frame-ancestors": "'none'"}


def policy(answer: httpx.Response) -> dict[str, str]:
    text = answer.headers.get("content-security-policy", "")
    return {d.split()[0]: " ".join(d.split()[1:]) for d in text.split(";") if d.strip()}


def assert_common_headers(answer: httpx.Response) -> None:
    assert answer.headers.get("x-content-type-options") == "nosniff", answer.headers
    assert answer.headers.get("x-frame-options") == "DENY", answer.headers
    assert answer.headers.get("referrer-policy") == "no-referrer", answer.headers
    assert "strict-transport-security" not in answer.headers   # plain HTTP here


def assert_page(answer: httpx.Response) -> None:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert_common_headers(answer)
    assert policy(answer) == PAGE_POLICY


class _Inline(HTMLParser):
    """What a strict policy would block in a page: inline scripts, handlers, styles."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.urls: list[str] = []
        self._script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        self.blocked += [f"<{tag} {n}=...>" for n in names if n == "style" or n.startswith("on")]
        if tag == "style":
            self.blocked.append("<style>")
        self._script_without_src = tag == "script" and not names.get("src")
        self.urls += [v for n, v in attrs if n in ("src", "href", "action") and v]

    def handle_data(self, data: str) -> None:
        if self._script_without_src and data.strip():
            self.blocked.append(f"<script>{data.strip()[:40]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script_without_src = False


def inline_parts(html: str) -> _Inline:
    parser = _Inline()
    parser.feed(html)
    return parser


@pytest.fixture
def admin_portal(server: Server, api: Api) -> tuple[httpx.Client, str]:
    """A portal session of an admin, and the line of their account."""
    account_id = api.account()
    admin = api.user(account_id, role="admin")
    line = api.line(account_id, "king-business", user=admin)
    client = server.client()
    client.cookies.set("conso_session", login(server, admin, PASSWORD))
    return client, line


def test_portal_pages_carry_the_strict_policy(server: Server,
                                              admin_portal: tuple[httpx.Client, str]) -> None:
    with server.client() as anon:
        assert_page(anon.get("/portal/login"))
    client, line = admin_portal
    with client:
        for path in ("/portal", f"/portal/lines/{quote(line)}",
                     f"/portal/lines/{quote(line)}/live", "/portal/fleet/live"):
            answer = client.get(path)
            assert_page(answer)
            assert inline_parts(answer.text).blocked == [], path


def test_portal_redirects_and_forms_answers_carry_the_headers(
        server: Server, admin_portal: tuple[httpx.Client, str]) -> None:
    with server.client() as anon:
        redirect = anon.get("/portal")
        assert redirect.status_code == 303
        assert_common_headers(redirect)
        assert policy(redirect)["frame-ancestors"] == "'none'"
    client, line = admin_portal
    with client:
        refused = client.post(f"/portal/lines/{quote(line)}/barring", data={"csrf": "forged"})
        assert refused.status_code == 403
        assert_common_headers(refused)
        assert policy(refused)["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/v1/me", 401),
    ("GET", "/api/v1/plans", 401),
    ("POST", "/api/v1/auth/login", 422),
    ("GET", "/openapi.json", 200),
    ("GET", "/healthz", 200),
    ("GET", "/metrics", 200),
    ("GET", "/no/such/thing", 404),
    ("GET", "/static/app.js", 200),
])
def test_api_answers_carry_the_api_policy(anon: httpx.Client, method: str, path: str,
                                          status: int) -> None:
    answer = anon.request(method, path)
    assert answer.status_code == status, answer.text
    assert_common_headers(answer)
    assert policy(answer) == API_POLICY


def test_api_answers_of_a_user_and_the_operator_carry_the_headers(
        server: Server, op: httpx.Client, api: Api) -> None:
    user = api.user(api.account())
    with server.client(login(server, user)) as client:
        for answer in (client.get("/api/v1/me"), op.get("/api/v1/plans")):
            assert answer.status_code == 200, answer.text
            assert_common_headers(answer)
            assert policy(answer) == API_POLICY


def test_hsts_only_when_the_request_came_over_https(anon: httpx.Client) -> None:
    assert "strict-transport-security" not in anon.get("/portal/login").headers
    # The tests' server sits behind "a proxy" on 127.0.0.1, which uvicorn trusts.
    for path in ("/portal/login", "/api/v1/me", "/docs"):
        answer = anon.get(path, headers={"X-Forwarded-Proto": "https"})
        hsts = answer.headers.get("strict-transport-security", "")
        assert re.fullmatch(r"max-age=\d{8,}; includeSubDomains", hsts), answer.headers


def test_docs_is_served_from_this_origin_under_the_strict_policy(anon: httpx.Client) -> None:
    docs = anon.get("/docs")
    assert_page(docs)
    parts = inline_parts(docs.text)
    assert parts.blocked == []
    assert "//" not in docs.text                      # no other origin named at all
    assets = [u for u in parts.urls if u.startswith("/static/")]
    assert any(u.endswith(".js") for u in assets) and any(u.endswith(".css") for u in assets)
    for url in assets:
        answer = anon.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["content-type"].split(";")[0] in (
            "text/javascript", "application/javascript", "text/css"), url
    licence = anon.get("/static/swagger-ui.LICENSE")
    assert licence.status_code == 200 and "Apache License" in licence.text
    assert anon.get("/docs/oauth2-redirect").status_code == 404   # no inline-script page left
