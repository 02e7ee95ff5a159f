"""A COMMIT whose connection broke: the store cannot say whether it took (CommitInDoubt).
The engine then trusts nothing it holds in memory and reads it again, open sessions
included, so a retry counts what took once and a grant still sees every reservation.
On the in-memory store, with a transaction that commits and then reports the doubt."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from conso.bootstrap import Services
from conso.domain.units import Service
from conso.store.base import CommitInDoubt
from unit.charging_support import memory_services, start

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LINE = "+32470000093"
SMS_PRICE = 80_000


@pytest.fixture
def services() -> Iterator[Services]:
    svc = memory_services(lambda: NOW, validity=timedelta(minutes=10))
    svc.engine.put_account("acct", name="Doubt", kind="residential")
    svc.engine.put_line(LINE, account_id="acct", plan_id="payg", user_login=None, cycle_day=1)
    yield svc
    svc.close()


@contextmanager
def commits_in_doubt(services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Transactions commit, then fail as if the answer to COMMIT was lost."""
    real = services.store.transaction

    @contextmanager
    def took_but_unsaid() -> Iterator[object]:
        with real() as tx:
            yield tx
        raise CommitInDoubt("commit failed: server closed the connection unexpectedly")

    monkeypatch.setattr(services.store, "transaction", took_but_unsaid)
    yield
    monkeypatch.setattr(services.store, "transaction", real)


def spend(services: Services) -> int:
    line = services.engine.line(LINE)
    assert line is not None
    return services.engine.cycle_usage(line, NOW).spend_micros


def test_a_batch_whose_commit_took_unsaid_is_read_again_and_counted_once(
    services: Services, monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch = [{"id": "cdr-1", "line": LINE, "service": "sms", "quantity": 3,
              "at": NOW.isoformat()}]
    assert spend(services) == 0                       # the cycle is in memory now
    with commits_in_doubt(services, monkeypatch), pytest.raises(CommitInDoubt):
        services.engine.apply_usage(batch)
    assert spend(services) == 3 * SMS_PRICE           # read again: it took
    again = services.engine.apply_usage(batch)        # the client's retry
    assert (again.accepted, again.duplicates) == (0, 1)
    assert spend(services) == 3 * SMS_PRICE


def test_a_session_opened_in_doubt_still_holds_its_reservation(
    services: Services, monkeypatch: pytest.MonkeyPatch,
) -> None:
    line = services.engine.line(LINE)
    assert line is not None
    services.control.set_spending_limit(line, 5, "test")   # 62 SMS
    with commits_in_doubt(services, monkeypatch), pytest.raises(CommitInDoubt):
        start(services, "s1", LINE, Service.SMS, 60)
    # It took: its 60 SMS are reserved, and another session gets only what is left.
    assert start(services, "s2", LINE, Service.SMS, 60).granted == 2
    assert {s.id for s in services.engine.open_sessions()} == {"s1", "s2"}
