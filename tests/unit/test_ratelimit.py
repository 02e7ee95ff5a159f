"""The sliding-window limiter behind login throttling and texts to 1921."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conso.ratelimit import RateLimiter

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_a_key_is_allowed_up_to_its_limit_then_refused() -> None:
    limiter = RateLimiter(3, timedelta(minutes=1))
    assert [limiter.allow("a", T0) for _ in range(4)] == [True, True, True, False]
    assert limiter.blocked("a", T0)
    assert limiter.allow("b", T0)  # another key has its own budget


def test_events_leave_the_window() -> None:
    limiter = RateLimiter(2, timedelta(minutes=1))
    assert limiter.allow("a", T0)
    assert limiter.allow("a", T0 + timedelta(seconds=30))
    assert not limiter.allow("a", T0 + timedelta(seconds=59))
    assert limiter.allow("a", T0 + timedelta(seconds=61))  # the first one left


def test_blocked_counts_nothing() -> None:
    limiter = RateLimiter(1, timedelta(minutes=1))
    for _ in range(5):
        assert not limiter.blocked("a", T0)
    assert limiter.allow("a", T0)
    assert limiter.blocked("a", T0)
