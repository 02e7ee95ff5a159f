"""Service-layer errors. The API maps each of them to problem+json in one place."""

from __future__ import annotations


class ConsoError(Exception):
    """Base of the errors a caller can act on."""


class InvalidInput(ConsoError):
    """A field has a value that is not allowed (HTTP 422)."""

    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(f"{'.'.join(str(p) for p in loc)}: {msg}")
        self.loc = loc
        self.msg = msg


class NotFound(ConsoError):
    """No such thing, or the caller may not know it exists (HTTP 404)."""


class Conflict(ConsoError):
    """The request contradicts the current state (HTTP 409)."""


class Forbidden(ConsoError):
    """The caller is known but may not do this (HTTP 403)."""


class Unauthorized(ConsoError):
    """No valid credentials (HTTP 401)."""


class TooLarge(ConsoError):
    """The request's body is over the size a route takes (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is over {limit} bytes; send less at a time")
        self.limit = limit


class Busy(ConsoError):
    """A call that was asked not to wait found the engine busy with a command."""


class Unavailable(Exception):
    """Something conso depends on is away for a moment (the store restarting, its disk
    full): nothing was done, and the same call later may succeed. Every front end
    answers it as "busy, retry" (HTTP 503 with Retry-After, DIAMETER_TOO_BUSY)."""


# The database drivers' own "away for a moment", known by module and name so that a front
# end needs no driver import; tests/unit/test_store_unavailable_names.py holds the names
# to the real classes.
_DRIVERS_AWAY = frozenset({("psycopg", "OperationalError"), ("sqlite3", "OperationalError")})


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the store (or another dependency) is away for a moment."""
    return isinstance(exc, Unavailable) or any(
        (kind.__module__, kind.__qualname__) in _DRIVERS_AWAY for kind in type(exc).__mro__)
