"""Authentication: the operator key and user tokens from a login.

Tokens are random, stored as SHA-256 digests with an expiry; a lost database
copy grants nothing. Failed logins are logged without the password.

Logins are throttled in the store (store/sql/logins.py), so every API node shares the
counts and a restart keeps them:

- Before a password is checked, the attempt is counted for its client address, then
  for its login name, in one transaction, each by one statement that answers the new
  count. Concurrent attempts (threads, processes, nodes) each get a count of their
  own, so at most the limit of them are checked: the check and the count are one act.
- Limits, per window of 15 minutes from the window's first attempt: 10 per login name
  (known or not: a 429 tells nothing about whether a login exists) and 30 per client
  address (an IPv6 address by its /64, which one host usually holds whole). Beyond,
  the answer is TooManyAttempts (429) with the seconds left in the window.
- A refused attempt is rolled back: it counts nothing, so a lock-out ends when its
  window does, however hard it is hammered meanwhile. Bounded, never extended.
- A success clears its login's count, gives its attempt back to the address, and
  remembers that the login succeeded from there (30 days).
- No permanent denial of a user: whoever keeps a login locked (10 wrong passwords
  every 15 minutes, from anywhere) locks it for new addresses only. A locked login
  still lets through attempts from an address it succeeded from in the last 30 days,
  as long as that address made at most 10 attempts in its own window; such a success
  reopens the login. Guessing stays bounded: 10 a window from elsewhere, and from a
  remembered address (an attacker would have to share it) 10 a window at most.

The client address is what the ASGI server says: behind a reverse proxy, the proxy's,
unless uvicorn is told to trust the proxy's X-Forwarded-For (it does so for 127.0.0.1
by default; FORWARDED_ALLOW_IPS names others). Every client would otherwise share one
address, and its 30 attempts.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from conso.access import OPERATOR, Principal, Role
from conso.errors import Unauthorized
from conso.security import (
    burn_password_check,
    new_token,
    same_secret,
    token_digest,
    verify_password,
)
from conso.store.base import Attempts, Store, StoreTransaction, Token

log = logging.getLogger("conso.auth")

TOKEN_LIFETIME = timedelta(hours=12)
# Failed logins per login name before it is refused for the rest of the window:
# enough for typing errors, far too few for guessing a password.
MAX_FAILED_LOGINS = 10
# Failed logins from one client address, whatever the login names: room for an office
# behind one address, not for one client trying login after login.
MAX_FAILED_PER_CLIENT = 30
FAILED_LOGIN_WINDOW = timedelta(minutes=15)
# An address a login succeeded from this recently gets through that login's lock-out.
KNOWN_CLIENT_FOR = timedelta(days=30)
# How often a process deletes ended windows and forgotten addresses.
PRUNE_EVERY = timedelta(minutes=5)
# Where attempts are counted (the store's scopes), and the longest subject kept: login
# names have at most 64 characters, so a longer one is nobody's.
BY_LOGIN = "login"
BY_CLIENT = "client"
MAX_SUBJECT = 128


class TooManyAttempts(Unauthorized):
    """Too many failed logins for this login name or from this client address; try again
    in `retry_after` seconds (HTTP 429 with Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        minutes = math.ceil(retry_after / 60)
        super().__init__(f"too many failed logins; try again in {minutes} "
                         f"minute{'' if minutes == 1 else 's'}")
        self.retry_after = retry_after


def client_key(host: str | None) -> str:
    """The address a client's attempts are counted under: an IPv4 address as it is (also
    written as IPv6), an IPv6 address by its /64, anything else as given."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:MAX_SUBJECT]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime


def _refused(what: str, attempts: Attempts, now: datetime) -> TooManyAttempts:
    left = attempts.window_start + FAILED_LOGIN_WINDOW - now
    log.warning("login refused %s: too many failed attempts", what)
    return TooManyAttempts(max(1, math.ceil(left.total_seconds())))


def _recent(success: datetime | None, now: datetime) -> bool:
    return success is not None and success > now - KNOWN_CLIENT_FOR


class Authenticator:
    def __init__(self, store: Store, operator_key: str, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._operator_key = operator_key
        self._clock = clock
        self._pruned: datetime | None = None

    def login(self, login: str, password: str, *, client: str | None) -> IssuedToken:
        """A token for the right password; Unauthorized for a wrong one, TooManyAttempts
        when throttled (see the module docstring). `client`: the caller's address."""
        where = client_key(client)
        subject = login[:MAX_SUBJECT]
        self._admit(subject, where)
        issued = self._check(login, password)  # a wrong password stays counted
        with self._store.transaction() as tx:  # rows in _admit's order: no deadlock
            tx.logins.return_attempt(BY_CLIENT, where)
            tx.logins.clear_attempts(BY_LOGIN, subject)
            tx.logins.succeeded(subject, where, self._clock())
        return issued

    def verify(self, login: str, password: str, *, client: str | None) -> None:
        """Check a user's password as a login does, without issuing a token (a password
        change asks for the current one): throttled and counted like a login, so that it
        is no way round the limits. Unauthorized when wrong, TooManyAttempts when
        throttled."""
        where = client_key(client)
        subject = login[:MAX_SUBJECT]
        self._admit(subject, where)
        user = self._store.users.get(login)
        if user is None or not verify_password(password, user.password_hash):
            log.info("password check refused for %r", login)
            raise Unauthorized("wrong password")  # and the attempt stays counted
        with self._store.transaction() as tx:
            tx.logins.return_attempt(BY_CLIENT, where)
            tx.logins.clear_attempts(BY_LOGIN, subject)

    def _admit(self, login: str, client: str) -> None:
        """Count this attempt for its address and its login, or refuse it (and count
        nothing: the transaction rolls back)."""
        now = self._clock()
        self._prune(now)
        with self._store.transaction() as tx:
            by_client = tx.logins.count_attempt(BY_CLIENT, client, now, FAILED_LOGIN_WINDOW,
                                                MAX_FAILED_PER_CLIENT + 1)
            if by_client.count > MAX_FAILED_PER_CLIENT:
                raise _refused(f"from {client!r}", by_client, now)
            by_login = tx.logins.count_attempt(BY_LOGIN, login, now, FAILED_LOGIN_WINDOW,
                                               MAX_FAILED_LOGINS + 1)
            if by_login.count > MAX_FAILED_LOGINS and not (
                    by_client.count <= MAX_FAILED_LOGINS
                    and _recent(tx.logins.last_success(login, client), now)):
                raise _refused(f"for {login!r} from {client!r}", by_login, now)

    def _prune(self, now: datetime) -> None:
        """Now and then, delete windows that ended and addresses no longer remembered."""
        if self._pruned is not None and now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        try:
            with self._store.transaction() as tx:
                tx.logins.prune(now - FAILED_LOGIN_WINDOW, now - KNOWN_CLIENT_FOR)
        except Exception as exc:  # housekeeping (e.g. a deadlock with another node's
            # attempt on PostgreSQL): the next prune takes what this one left
            log.warning("pruning login attempts failed: %s", exc)

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
