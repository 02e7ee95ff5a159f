"""The in-process sliding-window limiter behind texts to 1921 (logins are throttled in
the store: tests/integration/test_login_attempts.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
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


def test_concurrent_callers_never_pass_the_limit_together() -> None:
    limiter = RateLimiter(10, timedelta(minutes=1))
    go = threading.Barrier(50)

    def one(_: int) -> bool:
        go.wait(timeout=10)
        return limiter.allow("a", T0)

    with ThreadPoolExecutor(50) as pool:
        assert sum(pool.map(one, range(50))) == 10


def test_keys_whose_events_left_the_window_are_dropped() -> None:
    limiter = RateLimiter(2, timedelta(minutes=1))
    for n in range(100):
        limiter.allow(f"sender-{n}", T0)
    assert not limiter.blocked("sender-0", T0 + timedelta(minutes=2))  # looked at: dropped
    assert len(limiter) == 99
    limiter.allow("another", T0 + timedelta(minutes=2))  # a sweep drops the others
    assert len(limiter) == 1


def test_a_limit_of_zero_allows_nothing() -> None:
    limiter = RateLimiter(0, timedelta(minutes=1))
    assert not limiter.allow("a", T0)
    assert limiter.blocked("a", T0)
