"""Authentication: the operator key and user tokens from a login.

Tokens are random, stored as SHA-256 digests with an expiry; a lost database
copy grants nothing. Failed logins are logged without the password.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from conso.access import OPERATOR, Principal, Role
from conso.errors import Unauthorized
from conso.ratelimit import RateLimiter
from conso.security import (
    burn_password_check,
    new_token,
    same_secret,
    token_digest,
    verify_password,
)
from conso.store.base import Store, StoreTransaction, Token

log = logging.getLogger("conso.auth")

TOKEN_LIFETIME = timedelta(hours=12)
# Failed logins per login name before it is refused for the rest of the window:
# enough for typing errors, far too few for guessing a password.
MAX_FAILED_LOGINS = 10
FAILED_LOGIN_WINDOW = timedelta(minutes=15)


class TooManyAttempts(Unauthorized):
    """Too many failed logins for this login name; try again later (HTTP 429)."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime


class Authenticator:
    def __init__(self, store: Store, operator_key: str, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._operator_key = operator_key
        self._clock = clock
        self._failures = RateLimiter(MAX_FAILED_LOGINS, FAILED_LOGIN_WINDOW)

    def login(self, login: str, password: str) -> IssuedToken:
        if self._failures.blocked(login, self._clock()):
            log.warning("login %r refused: too many failed attempts", login)
            raise TooManyAttempts("too many failed logins; try again in 15 minutes")
        try:
            return self._check(login, password)
        except Unauthorized:
            self._failures.allow(login, self._clock())
            raise

    def _check(self, login: str, password: str) -> IssuedToken:
        user = self._store.users.get(login)
        if user is None:
            burn_password_check(password)
            log.info("login refused for unknown login %r", login)
            raise Unauthorized("wrong login or password")
        if not verify_password(password, user.password_hash):
            log.info("login refused for %r: wrong password", login)
            raise Unauthorized("wrong login or password")
        now = self._clock()
        token = new_token()
        expires = now + TOKEN_LIFETIME
        with self._store.transaction() as tx:
            tx.tokens.delete_expired(now)
            tx.tokens.put(token_digest(token), Token(login, expires), now)
        log.info("login %r (%s)", login, user.role)
        return IssuedToken(token, expires)

    def logout(self, token: str) -> None:
        with self._store.transaction() as tx:
            tx.tokens.delete(token_digest(token))

    def principal(self, bearer: str | None) -> Principal:
        """Who a bearer token belongs to; Unauthorized when nobody."""
        if not bearer:
            raise Unauthorized("missing bearer token")
        if same_secret(bearer, self._operator_key):
            return OPERATOR
        token = self._store.tokens.get(token_digest(bearer))
        if token is None or token.expires_at <= self._clock():
            raise Unauthorized("invalid or expired token")
        user = self._store.users.get(token.login)
        if user is None:
            raise Unauthorized("invalid or expired token")
        return Principal(Role(user.role), login=user.login, account_id=user.account_id)


def revoke_user_tokens(tx: StoreTransaction, login: str, *, keep: str | None = None) -> int:
    """Revoke every token of `login` (but `keep`, a token, when given) in the transaction
    that changes their password or role: no session outlives the credentials it was
    opened with. Answers how many were revoked."""
    revoked = tx.tokens.delete_of_user(login, keep=None if keep is None else token_digest(keep))
    if revoked:
        log.info("%d token(s) of %r revoked", revoked, login)
    return revoked
