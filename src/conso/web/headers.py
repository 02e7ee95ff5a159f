"""Security headers on every HTTP answer: the portal's pages, /docs and the API alike.

An HTML page gets a strict Content-Security-Policy (scripts, styles and everything else
from this origin only, no inline script or style, never framed, forms posted only
here); any other answer (JSON, CSV, scripts, style sheets) gets `default-src 'none'`,
which lets a browser that opens it run nothing. Every answer also says `nosniff`,
`X-Frame-Options: DENY` and `Referrer-Policy: no-referrer`, and, when the request
came over HTTPS, `Strict-Transport-Security`.

One answer chooses its own policy: the portal's service worker (`/portal/sw.js`, served
by web/pwa.py) carries `WORKER_POLICY`, which lets the worker fetch this origin (its
pages, fragments and shell files for the offline copy) and nothing else; under
`default-src 'none'` its every fetch would be blocked.

HTTPS is read from the ASGI scope's scheme only. Uvicorn sets it from
`X-Forwarded-Proto` when the request comes from a proxy it trusts
(`--forwarded-allow-ips` / `FORWARDED_ALLOW_IPS`, by default 127.0.0.1 alone), so a
client elsewhere cannot claim HTTPS; a browser ignores the header over plain HTTP anyway.

A header the answer already carries is kept. This module sets headers and nothing
else: no routing, no authentication. `SecurityHeaders` wraps the FastAPI app; answers
written outside it (the API's fast path, its body limit and its listener's refusals) add
the same headers with `secured_send` or `security_headers`.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
               "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
               "base-uri 'none'; form-action 'self'")
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
WORKER_POLICY = "default-src 'none'; connect-src 'self'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"

_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_CSP = b"content-security-policy"
_HSTS = b"strict-transport-security"


def security_headers(headers: list[tuple[bytes, bytes]], *,
                     https: bool = False) -> list[tuple[bytes, bytes]]:
    """The headers to add to an answer that carries `headers` (raw ASGI pairs): those of
    the module docstring it does not carry yet, the policy after its content type."""
    present = {name.lower() for name, _ in headers}
    content_type = next((value for name, value in headers
                         if name.lower() == b"content-type"), b"")
    policy = PAGE_POLICY if content_type.lower().startswith(b"text/html") else OTHER_POLICY
    wanted = [*_COMMON, (_CSP, policy.encode())]
    if https:
        wanted.append((_HSTS, HSTS.encode()))
    return [(name, value) for name, value in wanted if name not in present]


def secured_send(scope: Scope, send: Send) -> Send:
    """`send` adding the security headers to the answer it starts (HSTS when the
    request of `scope` came over HTTPS)."""
    https = scope.get("scheme") == "https"

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            message["headers"] = headers + security_headers(headers, https=https)
        await send(message)

    return send_with_headers


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP answer of `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, secured_send(scope, send))
