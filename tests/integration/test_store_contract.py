"""The store interface, held to the same contract on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from conso.domain.alerts import AlertRule, AlertSettings, Channels, RuleKind
from conso.domain.control import CreditSession, Grant
from conso.domain.cycle import Cycle
from conso.domain.line import Line, PlanPeriod
from conso.domain.outbox import OutboxMessage
from conso.domain.rating import CycleUsage
from conso.domain.units import Direction, Service
from conso.store.base import (
    Account,
    AuditEntry,
    RejectedRecord,
    Store,
    StoredRecord,
    Token,
    User,
    open_store,
)

from .pg_support import fresh_database

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CYCLE = date(2026, 11, 1)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path}/c.db")
        opened.migrate()
        yield opened
        opened.close()
        return
    with fresh_database() as url:
        opened = open_store(url)
        opened.migrate()
        yield opened
        opened.close()


def _line(store: Store, line_id: str = "+32470000001", **changes: object) -> Line:
    with store.transaction() as tx:
        tx.put_account(Account("a", "A", "business"), NOW)
        tx.put_user(User("u", "a", "hash", "user", "u@example.com", "fr"), NOW)
    line = Line(line_id, "a", "u", 1, (PlanPeriod(NOW - timedelta(days=3), "king"),))
    for key, value in changes.items():
        line = Line(**{**{f: getattr(line, f) for f in line.__slots__}, key: value})
    with store.transaction() as tx:
        tx.put_line(line, NOW)
    return line


def _record(record_id: str, quantity: int, meter: str = "data", charge: int = 0,
            line: str = "+32470000001") -> StoredRecord:
    service = meter  # the meters used here are named after their service
    return StoredRecord(record_id, line, CYCLE, service, "out", quantity, 0, "BE",
                        NOW, charge, meter)


def test_migrations_apply_once(store: Store) -> None:
    assert store.migrate() == []
    store.ping()


def test_accounts_users_and_lines_round_trip(store: Store) -> None:
    line = _line(store, barred=frozenset({"premium"}), spending_limit_micros=5_000_000)
    assert store.get_account("a") == Account("a", "A", "business")
    assert store.get_user("u") == User("u", "a", "hash", "user", "u@example.com", "fr")
    assert store.get_line(line.id) == line
    changed = Line(line.id, "a", None, 1, (*line.plans, PlanPeriod(NOW, "kong")))
    with store.transaction() as tx:
        tx.put_line(changed, NOW)
    assert store.get_lines([line.id, "+32400000000"]) == {line.id: changed}
    assert store.account_line_ids("a") == [line.id]
    assert store.user_line_ids("u") == []


def test_records_are_unique_and_sum_into_cycle_usage(store: Store) -> None:
    _line(store)
    with store.transaction() as tx:
        tx.insert_records([_record("r1", 10**12, charge=7), _record("r2", 5, "sms", 3)], NOW)
        tx.save_cycles([("+32470000001", CycleUsage(Cycle(CYCLE), {}, 0, 0,
                                                    frozenset({"included_pct:90:data"})))],
                       NOW)
    assert store.existing_record_ids(["r1", "r3", "r2"]) == {"r1", "r2"}
    usage = store.load_cycle("+32470000001", CYCLE)
    assert usage is not None
    assert (usage.meters, usage.spend_micros, usage.records, usage.fired) == (
        {"data": 10**12, "sms": 5}, 10, 2, frozenset({"included_pct:90:data"}))
    assert store.load_cycle("+32470000001", date(2026, 10, 1)) is None
    assert store.hourly_usage("+32470000001", CYCLE, "data") == [
        (datetime(2026, 11, 25, 10, tzinfo=UTC), 10**12)]
    with pytest.raises(Exception), store.transaction() as tx:  # noqa: B017
        tx.insert_records([_record("r1", 1)], NOW)        # the id is the key: refused
    assert store.load_cycle("+32470000001", CYCLE) == usage  # and nothing changed


def test_rejected_records_are_kept(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_rejected([RejectedRecord("x", '{"id": "x"}', "quantity: negative")], NOW)
    assert store.rejected_records(10) == [RejectedRecord("x", '{"id": "x"}',
                                                         "quantity: negative")]


def _message(message_id: str, at: datetime = NOW) -> OutboxMessage:
    return OutboxMessage(message_id, "sms", "8644", "+32470000001", None, "hello",
                         "+32470000001", {"kind": "included_pct", "value": 90}, at)


def test_the_outbox_lifecycle(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_messages([_message("m1"), _message("m2", NOW + timedelta(seconds=1))])
        tx.insert_messages([_message("m1")])              # the same id: ignored
    assert [m.id for m in store.due_messages(NOW + timedelta(seconds=5), 10)] == ["m1", "m2"]
    assert store.next_due_at() == NOW
    with store.transaction() as tx:
        tx.mark_sending("m1", NOW)
        tx.mark_sending("m2", NOW)
    with store.transaction() as tx:
        assert tx.requeue_interrupted(NOW) == 2
        tx.mark_sent("m1", NOW)
        tx.mark_retry("m2", "down", NOW + timedelta(minutes=1))
    assert store.due_messages(NOW + timedelta(seconds=5), 10) == []
    m1, m2 = store.messages(line_id="+32470000001")
    assert (m1.status, m1.attempts, m1.sent_at) == ("sent", 1, NOW)
    assert (m2.status, m2.last_error) == ("queued", "down")
    with store.transaction() as tx:
        tx.mark_failed("m2", "refused")
    assert store.message("m2") is not None
    assert [m.id for m in store.messages(to="+32470000001", newest_first=True)] == ["m2", "m1"]
    assert store.messages(since=NOW + timedelta(seconds=1)) == [store.message("m2")]


def test_alert_settings_sessions_audit_and_tokens(store: Store) -> None:
    line = _line(store)
    settings = AlertSettings((AlertRule(RuleKind.EXTRA_EUR, 5),),
                             Channels(True, "+32470000099", None), customised=True)
    session = CreditSession("s1", line.id, Service.DATA, Direction.OUT, "BE", NOW, NOW,
                            reserved=10, granted_total=10, last_request=1,
                            last_answer=Grant(10, False))
    with store.transaction() as tx:
        tx.put_alerts(line.id, settings, "admin", NOW)
        tx.put_session(session)
        tx.audit(AuditEntry(NOW, "admin", line.id, "barring", {"data": False},
                            {"data": True}))
        tx.put_token("digest", Token("u", NOW + timedelta(hours=1)), NOW)
    assert store.get_alerts(line.id) == settings
    assert store.get_alerts_many([line.id, "other"]) == {line.id: settings}
    assert store.get_session("s1") == session
    assert store.open_sessions() == [session]
    assert store.audit_log(line.id, 10)[0].after == {"data": True}
    assert store.get_token("digest") == Token("u", NOW + timedelta(hours=1))
    with store.transaction() as tx:
        assert tx.delete_expired_tokens(NOW + timedelta(hours=2)) == 1
        tx.put_alerts(line.id, None, None, NOW)
    assert store.get_token("digest") is None
    assert store.get_alerts(line.id) is None


def test_a_transaction_takes_the_writer_at_its_first_statement(store: Store) -> None:
    """A command reads and rates before it writes: until then it must not hold the writer
    (nor wait for it), and a transaction that writes nothing commits nothing."""
    _line(store)
    writing = threading.Event()
    release = threading.Event()

    def long_writer() -> None:
        with store.transaction() as tx:
            tx.insert_records([_record("held", 1)], NOW)
            writing.set()
            release.wait(10)

    holder = threading.Thread(target=long_writer)
    holder.start()
    try:
        assert writing.wait(10)
        finished = threading.Event()

        def reader_only() -> None:
            with store.transaction():
                store.existing_record_ids(["held"])  # reads go to the readers, not the tx
            finished.set()

        other = threading.Thread(target=reader_only)
        other.start()
        assert finished.wait(5), "a transaction without statements waited for the writer"
        other.join()
        assert store.existing_record_ids(["held"]) == set()  # not committed yet
    finally:
        release.set()
        holder.join()
    assert store.existing_record_ids(["held"]) == {"held"}
