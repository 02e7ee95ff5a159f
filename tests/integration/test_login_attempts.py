"""Login throttling on memory, SQLite and PostgreSQL: the store's counts (atomic, reset
with their window, capped, pruned) and the Authenticator's rules on them, driven by a
test's clock (auth.py's docstring says the rules)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conso.auth import (
    BY_CLIENT,
    BY_LOGIN,
    FAILED_LOGIN_WINDOW,
    KNOWN_CLIENT_FOR,
    MAX_FAILED_LOGINS,
    Authenticator,
    TooManyAttempts,
)
from conso.errors import Unauthorized
from conso.security import hash_password
from conso.store import Store, open_store
from conso.store.base import Account, Attempts, User

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
PASSWORD = "correct-horse-battery"
HASH = hash_password(PASSWORD)


def count(store: Store, subject: str, at: datetime, cap: int = 100) -> Attempts:
    with store.transaction() as tx:
        return tx.logins.count_attempt(BY_LOGIN, subject, at, WINDOW, cap)


# -- the store ------------------------------------------------------------------------


def test_attempts_count_in_their_window_and_start_again_after_it(store: Store) -> None:
    assert count(store, "ann", T0) == Attempts(1, T0)
    assert count(store, "ann", T0 + timedelta(minutes=14)) == Attempts(2, T0)
    assert count(store, "bob", T0) == Attempts(1, T0)  # a subject of its own
    with store.transaction() as tx:  # and a scope of its own
        assert tx.logins.count_attempt(BY_CLIENT, "ann", T0, WINDOW, 5) == Attempts(1, T0)
    later = T0 + WINDOW
    assert count(store, "ann", later) == Attempts(1, later)
    assert store.logins.attempts(BY_LOGIN, "ann") == Attempts(1, later)
    assert store.logins.attempts(BY_LOGIN, "nobody") is None


def test_a_count_stops_at_its_cap(store: Store) -> None:
    assert [count(store, "ann", T0, cap=3).count for _ in range(5)] == [1, 2, 3, 3, 3]


def test_an_attempt_given_back_cleared_or_rolled_back(store: Store) -> None:
    count(store, "ann", T0)
    count(store, "ann", T0)
    with store.transaction() as tx:
        tx.logins.return_attempt(BY_LOGIN, "ann")
        tx.logins.return_attempt(BY_LOGIN, "nobody")  # nothing to give back: nothing
    assert store.logins.attempts(BY_LOGIN, "ann") == Attempts(1, T0)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.logins.count_attempt(BY_LOGIN, "ann", T0, WINDOW, 100)
        raise RuntimeError("refused")
    assert store.logins.attempts(BY_LOGIN, "ann") == Attempts(1, T0)
    with store.transaction() as tx:
        tx.logins.clear_attempts(BY_LOGIN, "ann")
    assert store.logins.attempts(BY_LOGIN, "ann") is None


def test_successes_are_remembered_per_login_and_client(store: Store) -> None:
    with store.transaction() as tx:
        tx.logins.succeeded("ann", "192.0.2.1", T0)
        tx.logins.succeeded("ann", "192.0.2.1", T0 + timedelta(hours=1))
        assert tx.logins.last_success("ann", "192.0.2.1") == T0 + timedelta(hours=1)
    assert store.logins.last_success("ann", "192.0.2.1") == T0 + timedelta(hours=1)
    assert store.logins.last_success("ann", "192.0.2.2") is None
    assert store.logins.last_success("bob", "192.0.2.1") is None


def test_pruning_deletes_ended_windows_and_old_successes(store: Store) -> None:
    count(store, "old", T0)
    count(store, "new", T0 + timedelta(minutes=10))
    with store.transaction() as tx:
        tx.logins.succeeded("ann", "192.0.2.1", T0)
        tx.logins.succeeded("ann", "192.0.2.2", T0 + timedelta(days=2))
    with store.transaction() as tx:
        assert tx.logins.prune(T0 + timedelta(minutes=5), T0 + timedelta(days=1)) == 2
    assert store.logins.attempts(BY_LOGIN, "old") is None
    assert store.logins.attempts(BY_LOGIN, "new") is not None
    assert store.logins.last_success("ann", "192.0.2.1") is None
    assert store.logins.last_success("ann", "192.0.2.2") is not None


def test_concurrent_attempts_each_get_a_count_of_their_own(store: Store, tmp_path: Path) -> None:
    """From 40 threads at once (on PostgreSQL, half of them through a second store on the
    same database, as another API node): no two attempts see the same count."""
    stores = [store]
    if store.url.startswith("postgresql"):
        stores.append(open_store(store.url))
    go = threading.Barrier(40)

    def one(n: int) -> int:
        go.wait(timeout=30)
        return count(stores[n % len(stores)], "ann", T0, cap=1000).count

    try:
        with ThreadPoolExecutor(40) as pool:
            counts = sorted(pool.map(one, range(40)))
    finally:
        for other in stores[1:]:
            other.close()
    assert counts == list(range(1, 41))


# -- the rules, on a test's clock -------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(store: Store, clock: Clock) -> Authenticator:
    with store.transaction() as tx:
        tx.accounts.put(Account("a", "A", "business"), T0)
        tx.users.put(User("admin", "a", HASH, "admin", None, "en"), T0)
    return Authenticator(store, "operator-key", clock)


def fail(auth: Authenticator, times: int, client: str, login: str = "admin") -> None:
    for _ in range(times):
        with pytest.raises(Unauthorized) as refused:
            auth.login(login, "wrong", client=client)
        assert not isinstance(refused.value, TooManyAttempts)


def throttled(auth: Authenticator, client: str, password: str = PASSWORD,
              login: str = "admin") -> int:
    """The Retry-After of a refused attempt (fails if it was not refused)."""
    with pytest.raises(TooManyAttempts) as refused:
        auth.login(login, password, client=client)
    return refused.value.retry_after


def test_the_lockout_ends_with_its_window_however_hard_it_is_hammered(
    auth: Authenticator, clock: Clock,
) -> None:
    fail(auth, MAX_FAILED_LOGINS, "192.0.2.1")
    assert throttled(auth, "192.0.2.1") == 900
    for minute in range(1, 15):  # refused attempts count nothing: nothing is extended
        clock.now = T0 + timedelta(minutes=minute)
        assert throttled(auth, "192.0.2.2") == (15 - minute) * 60
    clock.now = T0 + FAILED_LOGIN_WINDOW
    assert auth.login("admin", PASSWORD, client="192.0.2.1").token


def test_a_lockout_lets_through_an_address_the_login_succeeded_from(
    auth: Authenticator, clock: Clock,
) -> None:
    auth.login("admin", PASSWORD, client="192.0.2.1")
    clock.now = T0 + timedelta(days=29)
    fail(auth, MAX_FAILED_LOGINS, "198.51.100.7")
    throttled(auth, "198.51.100.7")
    throttled(auth, "192.0.2.2")
    fail(auth, 1, "192.0.2.1")  # checked: a wrong password from there is a 401
    assert auth.login("admin", PASSWORD, client="192.0.2.1").token
    assert auth.login("admin", PASSWORD, client="192.0.2.2").token  # the login reopened


def test_an_address_remembered_too_long_ago_or_failing_too_often_is_not_let_through(
    auth: Authenticator, clock: Clock,
) -> None:
    auth.login("admin", PASSWORD, client="192.0.2.1")
    clock.now = T0 + timedelta(days=1)
    auth.login("admin", PASSWORD, client="192.0.2.9")
    clock.now = T0 + KNOWN_CLIENT_FOR
    fail(auth, MAX_FAILED_LOGINS, "198.51.100.7")
    throttled(auth, "192.0.2.1")  # forgotten
    assert auth.login("admin", PASSWORD, client="192.0.2.9").token  # remembered
    # An attacker sharing a remembered address gets 10 tries a window there, no more.
    fail(auth, MAX_FAILED_LOGINS, "198.51.100.7")
    fail(auth, MAX_FAILED_LOGINS, "192.0.2.9")
    throttled(auth, "192.0.2.9")


def test_an_address_is_refused_after_30_failures_over_any_logins(
    auth: Authenticator, clock: Clock,
) -> None:
    for n in range(30):
        fail(auth, 1, "2001:db8:1:2::7", login=f"guess-{n}")
    assert throttled(auth, "2001:db8:1:2::8") == 900  # the same /64
    clock.now = T0 + timedelta(minutes=5)
    assert throttled(auth, "2001:db8:1:2::7") == 600
    assert auth.login("admin", PASSWORD, client="2001:db8:1:3::7").token
    clock.now = T0 + FAILED_LOGIN_WINDOW
    assert auth.login("admin", PASSWORD, client="2001:db8:1:2::7").token


def test_successes_do_not_use_up_an_address(auth: Authenticator) -> None:
    for _ in range(31):
        auth.login("admin", PASSWORD, client="192.0.2.1")
    fail(auth, MAX_FAILED_LOGINS, "192.0.2.1")


def test_ended_windows_are_pruned(auth: Authenticator, store: Store, clock: Clock) -> None:
    fail(auth, 3, "192.0.2.1")
    assert store.logins.attempts(BY_LOGIN, "admin") == Attempts(3, T0)
    clock.now = T0 + timedelta(hours=1)
    fail(auth, 1, "192.0.2.1", login="someone")
    assert store.logins.attempts(BY_LOGIN, "admin") is None
    assert store.logins.attempts(BY_CLIENT, "192.0.2.1") == Attempts(1, clock.now)
