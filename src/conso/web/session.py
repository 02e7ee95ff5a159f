"""Portal sessions in cookies, and CSRF tokens bound to them.

The session cookie holds a login token (the same kind the API issues): HttpOnly,
SameSite=Lax, and Secure whenever the portal is served over HTTPS. Each form
carries a CSRF token derived from the session token with HMAC, so a page of
another site cannot post to the portal on the user's behalf.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from conso.domain.text import is_clean_text

SESSION_COOKIE = "conso_session"
PRE_SESSION_COOKIE = "conso_pre"      # binds the login form's CSRF token before a session
LANGUAGE_COOKIE = "conso_lang"


def csrf_for(secret: str) -> str:
    return hmac.new(secret.encode(), b"conso-csrf", hashlib.sha256).hexdigest()


def csrf_ok(secret: str | None, given: str | None) -> bool:
    # compare_digest takes str of ASCII only: a token with any other character is wrong.
    return bool(secret and given) and (given or "").isascii() and hmac.compare_digest(
        csrf_for(secret or ""), given or "")


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded == "https"


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=_secure(request), path="/")


def pre_session(request: Request) -> str:
    """The login form's pre-session secret: the cookie's, when it is text
    (domain/text.py), else a new one."""
    given = request.cookies.get(PRE_SESSION_COOKIE)
    return given if given and is_clean_text(given) else secrets.token_urlsafe(24)
