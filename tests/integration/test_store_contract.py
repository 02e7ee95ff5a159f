"""The store interface, held to the same contract on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from conso.domain.alerts import AlertRule, AlertSettings, Channels, RuleKind
from conso.domain.control import Grant
from conso.domain.cycle import Cycle
from conso.domain.line import Line, PlanPeriod
from conso.domain.outbox import OutboxMessage, SentPart
from conso.domain.rating import CycleUsage, NetworkOvershoot
from conso.domain.sessions import CreditSession, Quota, Status
from conso.domain.units import Direction, Service
from conso.store import Store, StoreError, open_store, prune
from conso.store.base import (
    Account,
    AuditEntry,
    RejectedRecord,
    StaleOffset,
    StoredRecord,
    Token,
    User,
)
from conso.store.sql import SqlStore
from conso.store.sqlite import SQLiteStore

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CYCLE = date(2026, 11, 1)


def _line(store: Store, line_id: str = "+32470000001", **changes: object) -> Line:
    with store.transaction() as tx:
        tx.accounts.put(Account("a", "A", "business"), NOW)
        tx.users.put(User("u", "a", "hash", "user", "u@example.com", "fr"), NOW)
    line = Line(line_id, "a", "u", 1, (PlanPeriod(NOW - timedelta(days=3), "king"),))
    for key, value in changes.items():
        line = Line(**{**{f: getattr(line, f) for f in line.__slots__}, key: value})
    with store.transaction() as tx:
        tx.lines.put(line, NOW)
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
    assert store.accounts.get("a") == Account("a", "A", "business")
    assert store.users.get("u") == User("u", "a", "hash", "user", "u@example.com", "fr")
    assert store.lines.get(line.id) == line
    changed = Line(line.id, "a", None, 1, (*line.plans, PlanPeriod(NOW, "kong")))
    with store.transaction() as tx:
        tx.lines.put(changed, NOW)
    assert store.lines.get_many([line.id, "+32400000000"]) == {line.id: changed}
    assert store.lines.of_account("a") == [line.id]
    assert store.lines.of_user("u") == []


def test_records_are_unique_and_their_cycle_loads_as_saved(store: Store) -> None:
    _line(store)
    saved = CycleUsage(Cycle(CYCLE), {"data": 10**12, "sms": 5}, 10, 2,
                       frozenset({"included_pct:90:data"}))
    with store.transaction() as tx:
        tx.usage.insert_records([_record("r1", 10**12, charge=7), _record("r2", 5, "sms", 3)], NOW)
        tx.usage.save_cycles([("+32470000001", saved)], NOW)
    assert store.usage.existing_record_ids(["r1", "r3", "r2"]) == {"r1", "r2"}
    usage = store.usage.load_cycle("+32470000001", CYCLE)
    assert usage == saved and usage is not saved
    assert store.usage.load_cycle("+32470000001", date(2026, 10, 1)) is None
    assert store.usage.hourly("+32470000001", CYCLE, "data") == [
        (datetime(2026, 11, 25, 10, tzinfo=UTC), 10**12)]
    with pytest.raises(Exception), store.transaction() as tx:  # noqa: B017
        tx.usage.insert_records([_record("r1", 1)], NOW)        # the id is the key: refused
    assert store.usage.load_cycle("+32470000001", CYCLE) == usage  # and nothing changed


def test_a_cycle_is_its_saved_row_after_records_another_batch_and_a_prune(
        store: Store) -> None:
    """A cycle's usage is its cycle_usage row, written in the transaction of the records
    that changed it (the engine's flush), and loaded as one row: the same after a first
    batch, after a second, and (SQL stores: memory is never pruned) once `conso prune`
    has removed its records."""
    line = _line(store)
    other = _line(store, "+32470000002").id
    first = CycleUsage(Cycle(CYCLE), {"data": 10**12, "sms": 5}, 10, 2,
                       frozenset({"included_pct:90:data"}))
    with store.transaction() as tx:
        tx.usage.insert_records([_record("r1", 10**12, charge=7), _record("r2", 5, "sms", 3)], NOW)
        tx.usage.save_cycles([(line.id, first)], NOW)
    assert store.usage.load_cycles([(line.id, CYCLE), (other, CYCLE)]) == {
        (line.id, CYCLE): first}
    second = CycleUsage(Cycle(CYCLE), {"data": 10**12 + 40, "sms": 5}, 21, 3, first.fired,
                        NetworkOvershoot((("data", 40),), 11))
    elsewhere = CycleUsage(Cycle(CYCLE), {"voice": 60}, 90, 1)
    with store.transaction() as tx:
        tx.usage.insert_records([_record("r3", 40, charge=11),
                                 _record("r4", 60, "voice", 90, line=other)], NOW)
        tx.usage.save_cycles([(line.id, second), (other, elsewhere)], NOW)
    totals = {(line.id, CYCLE): second, (other, CYCLE): elsewhere}
    assert store.usage.load_cycles([(line.id, CYCLE), (other, CYCLE)]) == totals
    if not isinstance(store, SqlStore):
        return
    if isinstance(store, SQLiteStore):
        store.merge_recent()          # prune takes merged records only
    later = datetime(2028, 1, 15, tzinfo=UTC)     # CYCLE is older than the 2 kept
    planned = prune.plan(store, 2, later)
    assert planned.cycles == {CYCLE: 4}
    assert prune.prune(store, planned).records == 4
    assert store.usage.load_cycles([(line.id, CYCLE), (other, CYCLE)]) == totals
    assert store.usage.records_page(line.id, CYCLE) == []
    assert store.usage.cycle_pruned(line.id, CYCLE)
    assert store.usage.cycle_starts(line.id, 10) == [CYCLE]
    assert prune.prune(store, prune.plan(store, 2, later)).records == 0
    assert store.usage.load_cycles([(line.id, CYCLE), (other, CYCLE)]) == totals


def test_rejected_records_are_kept(store: Store) -> None:
    with store.transaction() as tx:
        tx.usage.insert_rejected([RejectedRecord("x", '{"id": "x"}', "quantity: negative")], NOW)
    assert store.usage.rejected(10) == [RejectedRecord("x", '{"id": "x"}',
                                                         "quantity: negative")]


def _message(message_id: str, at: datetime = NOW) -> OutboxMessage:
    return OutboxMessage(message_id, "sms", "8644", "+32470000001", None, "hello",
                         "+32470000001", {"kind": "included_pct", "value": 90}, at)


def test_the_outbox_lifecycle(store: Store) -> None:
    with store.transaction() as tx:
        tx.outbox.insert([_message("m1"), _message("m2", NOW + timedelta(seconds=1))])
        tx.outbox.insert([_message("m1")])              # the same id: ignored
    assert [m.id for m in store.outbox.due(NOW + timedelta(seconds=5), 10)] == ["m1", "m2"]
    assert store.outbox.next_due_at() == NOW
    with store.transaction() as tx:
        tx.outbox.mark_sending("m1", NOW)
        tx.outbox.mark_sending("m2", NOW)
    with store.transaction() as tx:
        assert tx.outbox.requeue_interrupted(NOW) == 2
        tx.outbox.mark_sent("m1", NOW)
        tx.outbox.mark_retry("m2", "down", NOW + timedelta(minutes=1), NOW)
    assert store.outbox.due(NOW + timedelta(seconds=5), 10) == []
    m1, m2 = store.outbox.messages(line_id="+32470000001")
    assert (m1.status, m1.attempts, m1.sent_at) == ("sent", 1, NOW)
    assert (m2.status, m2.last_error) == ("queued", "down")
    with store.transaction() as tx:
        tx.outbox.mark_failed("m2", "refused", NOW + timedelta(seconds=2))
    failed = store.outbox.get("m2")
    assert failed is not None
    assert (failed.status, failed.status_changed_at) == ("failed", NOW + timedelta(seconds=2))
    newest = store.outbox.messages(to="+32470000001", newest_first=True)
    assert [m.id for m in newest] == ["m2", "m1"]
    assert store.outbox.messages(since=NOW + timedelta(seconds=1)) == [store.outbox.get("m2")]


def test_receipts_move_a_sent_message_once_every_part_says_so(store: Store) -> None:
    later = NOW + timedelta(seconds=30)
    with store.transaction() as tx:
        tx.outbox.insert([_message("m1"), _message("m2")])
        tx.outbox.mark_sending("m1", NOW)
        tx.outbox.mark_sent("m1", NOW, [SentPart("smsc-a", "x1", 1), SentPart("smsc-a", "x2", 2)])
        tx.outbox.mark_sending("m2", NOW)
        tx.outbox.mark_sent("m2", NOW, [SentPart("smsc-a", "y1", 1)])
    with store.transaction() as tx:
        assert tx.outbox.apply_receipt("smsc-a", "x1", "delivered", later) == "m1"
        assert tx.outbox.apply_receipt("smsc-b", "x2", "delivered", later) is None  # other SMSC
        assert tx.outbox.apply_receipt("smsc-a", "nope", "delivered", later) is None
        assert tx.outbox.apply_receipt("smsc-a", "y1", None, later) == "m2"      # ENROUTE
    assert store.outbox.get("m1").status == "sent"       # type: ignore[union-attr]
    with store.transaction() as tx:
        assert tx.outbox.apply_receipt("smsc-a", "x2", "delivered", later) == "m1"
        tx.outbox.apply_receipt("smsc-a", "y1", "expired", later)
    m1, m2 = store.outbox.get("m1"), store.outbox.get("m2")
    assert m1 is not None and m2 is not None
    assert (m1.status, m1.status_changed_at, m2.status) == ("delivered", later, "expired")
    history = store.outbox.history(["m1", "m2", "unknown"])
    assert [(c.status, c.at) for c in history["m1"]] == [
        ("queued", NOW), ("sent", NOW), ("delivered", later)]
    assert [c.status for c in history["m2"]] == ["queued", "sent", "expired"]
    assert history["unknown"] == []
    assert store.outbox.channel_counts() == {("sms", "delivered"): 1, ("sms", "expired"): 1}
    with store.transaction() as tx:        # a late receipt does not move a final message
        tx.outbox.apply_receipt("smsc-a", "y1", "delivered", later)
    assert store.outbox.get("m2").status == "expired"    # type: ignore[union-attr]


def test_alert_settings_sessions_audit_and_tokens(store: Store) -> None:
    line = _line(store)
    settings = AlertSettings((AlertRule(RuleKind.EXTRA_EUR, 5),),
                             Channels(True, "+32470000099", None), customised=True)
    session = CreditSession("s1", line.id, "BE", NOW, NOW,
                            {"data": Quota(Service.DATA, reserved=10, granted_total=10)},
                            last_request=1, last_answer=(("data", Grant(10, False)),))
    with store.transaction() as tx:
        tx.lines.put_alerts(line.id, settings, "admin", NOW)
        tx.sessions.put(session)
        tx.lines.audit(AuditEntry(NOW, "admin", line.id, "barring", {"data": False},
                            {"data": True}))
        tx.tokens.put("digest", Token("u", NOW + timedelta(hours=1)), NOW)
    assert store.lines.alerts(line.id) == settings
    assert store.lines.alerts_many([line.id, "other"]) == {line.id: settings}
    assert store.sessions.get("s1") == session
    assert store.sessions.open() == [session]
    assert store.lines.audit_log(line.id, 10)[0].after == {"data": True}
    assert store.tokens.get("digest") == Token("u", NOW + timedelta(hours=1))
    with store.transaction() as tx:
        assert tx.tokens.delete_expired(NOW + timedelta(hours=2)) == 1
        tx.lines.put_alerts(line.id, None, None, NOW)
    assert store.tokens.get("digest") is None
    assert store.lines.alerts(line.id) is None


def test_a_transaction_takes_the_writer_at_its_first_statement(store: Store) -> None:
    """A command reads and rates before it writes: until then it must not hold the writer
    (nor wait for it), and a transaction that writes nothing commits nothing."""
    _line(store)
    writing = threading.Event()
    release = threading.Event()

    def long_writer() -> None:
        with store.transaction() as tx:
            tx.usage.insert_records([_record("held", 1)], NOW)
            writing.set()
            release.wait(10)

    holder = threading.Thread(target=long_writer)
    holder.start()
    try:
        assert writing.wait(10)
        finished = threading.Event()

        def reader_only() -> None:
            with store.transaction():
                store.usage.existing_record_ids(["held"])  # reads go to the readers, not the tx
            finished.set()

        other = threading.Thread(target=reader_only)
        other.start()
        assert finished.wait(5), "a transaction without statements waited for the writer"
        other.join()
        assert store.usage.existing_record_ids(["held"]) == set()  # not committed yet
    finally:
        release.set()
        holder.join()
    assert store.usage.existing_record_ids(["held"]) == {"held"}


def test_a_user_stays_in_its_account_and_plan_periods_are_only_added(store: Store) -> None:
    line = _line(store)
    with store.transaction() as tx:
        tx.accounts.put(Account("b", "B", "residential"), NOW)
        tx.users.put(User("u", "b", "hash2", "admin", None, "nl"), NOW)
    assert store.users.get("u") == User("u", "a", "hash2", "admin", None, "nl")
    first = line.plans[0]
    later = PlanPeriod(NOW, "kong")
    with store.transaction() as tx:  # the first period again, changed: left as it was
        tx.lines.put(Line(line.id, "a", "u", 1, (PlanPeriod(first.effective_from, "payg"),
                                                  later)), NOW)
    stored = store.lines.get(line.id)
    assert stored is not None and stored.plans == (first, later)


def _sessions_line(store: Store) -> Line:
    return _line(store, "+32470000002")


def _multi_group_session(line_id: str) -> CreditSession:
    return CreditSession(
        "s2", line_id, "FR", NOW, NOW + timedelta(seconds=30),
        {"10": Quota(Service.DATA, Direction.OUT, 500, 1_500, 1_000, 120),
         "20": Quota(Service.VOICE, Direction.IN, 60, 60, 0, 0)},
        reports=2, last_request=3,
        last_answer=(("10", Grant(500, False)), ("20", Grant(60, True, "spending limit"))),
        origin="diameter", push_to="aaa://pgw.example.net")


def test_a_session_keeps_its_quotas_per_rating_group(store: Store) -> None:
    line = _sessions_line(store)
    session = _multi_group_session(line.id)
    empty = CreditSession("s3", line.id, "BE", NOW, NOW)  # no rating group asked yet
    with store.transaction() as tx:
        tx.sessions.put(session)
        tx.sessions.put(empty)
    stored = store.sessions.get("s2")
    assert stored == session
    assert stored is not None and list(stored.quotas) == ["10", "20"]
    assert (stored.status, stored.origin, stored.push_to) == (
        Status.OPEN, "diameter", "aaa://pgw.example.net")
    assert store.sessions.get("s3") == empty
    assert {s.id for s in store.sessions.open([line.id])} == {"s2", "s3"}
    # A report and the end: the quotas change, the status is an enum again once read.
    session.begin_report(NOW + timedelta(minutes=1))
    session.report("10", 400, NOW + timedelta(minutes=1))
    session.charge("10", 80)
    session.close(NOW + timedelta(minutes=1))
    with store.transaction() as tx:
        tx.sessions.put(session)
    stored = store.sessions.get("s2")
    assert stored == session
    assert stored is not None and stored.status is Status.CLOSED
    assert stored.closed_at == NOW + timedelta(minutes=1)
    assert [s.id for s in store.sessions.open([line.id])] == ["s3"]
    assert store.sessions.lines_of(["s2", "s3", "nope"]) == {"s2": line.id, "s3": line.id}


def _sql(store: Store) -> SqlStore:
    if not isinstance(store, SqlStore):
        pytest.skip("rows written before rating groups exist only in a database")
    return store


def test_a_session_row_keeps_its_columns_from_before_rating_groups(store: Store) -> None:
    sql = _sql(store)
    line = _sessions_line(store)
    with store.transaction() as tx:
        tx.sessions.put(_multi_group_session(line.id))
    row = sql._reader().execute(
        "SELECT service, direction, reserved, granted_total, used_total, charged_micros, "
        "status, origin FROM cc_sessions WHERE id = 's2'").fetchone()
    assert tuple(row) == ("data", "out", 560, 1_560, 1_000, 120, "open", "diameter")


def test_a_session_row_from_before_rating_groups_reads_as_one_quota(store: Store) -> None:
    sql = _sql(store)
    line = _sessions_line(store)
    with sql._write_lock:  # as an older conso wrote it: no quotas, origin, push_to
        sql._writer.execute(
            "INSERT INTO cc_sessions (id, line_id, service, direction, country, reserved, "
            "granted_total, used_total, charged_micros, reports, last_request, last_answer, "
            "status, opened_at, last_seen, closed_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            ("old", line.id, "voice", "in", "BE", 60, 180, 120, 9_000, 2, 4,
             '[60, false, null]', "expired", NOW.isoformat(), NOW.isoformat(),
             NOW.isoformat()))
    stored = store.sessions.get("old")
    assert stored == CreditSession(
        "old", line.id, "BE", NOW, NOW,
        {"": Quota(Service.VOICE, Direction.IN, 60, 180, 120, 9_000)},  # the HTTP API's group
        reports=2, last_request=4, last_answer=(("", Grant(60, False)),),
        status=Status.EXPIRED, closed_at=NOW, origin="http", push_to=None)
    assert stored is not None and stored.status is Status.EXPIRED


def test_a_claim_an_offset_and_a_token_each_succeed_once(store: Store) -> None:
    _line(store)
    with store.transaction() as tx:
        tx.outbox.insert([_message("m1")])
    with store.transaction() as tx:
        assert tx.outbox.mark_sending("m1", NOW)
    with store.transaction() as tx:
        assert not tx.outbox.mark_sending("m1", NOW)       # claimed already
        assert not tx.outbox.mark_sending("nope", NOW)
    with store.transaction() as tx:
        tx.offsets.advance(3, 10, 0, NOW)
    with pytest.raises(StaleOffset), store.transaction() as tx:
        tx.offsets.advance(3, 12, 0, NOW)                  # another worker moved it
    with store.transaction() as tx:
        tx.offsets.advance(3, 12, 10, NOW)
    assert store.offsets.all() == {3: 12}
    token = Token("u", NOW + timedelta(hours=1))
    with store.transaction() as tx:
        tx.tokens.put("t", token, NOW)
    with pytest.raises(Exception), store.transaction() as tx:  # noqa: B017
        tx.tokens.put("t", token, NOW)                     # the hash is the key
    assert store.tokens.get("t") == token
    with store.transaction() as tx:
        tx.tokens.delete("t")
    assert store.tokens.get("t") is None


def test_every_token_of_a_user_is_deleted_at_once(store: Store) -> None:
    _line(store)
    with store.transaction() as tx:
        tx.users.put(User("v", "a", "hash", "user", None, "en"), NOW)
        for digest, login in (("u1", "u"), ("u2", "u"), ("u3", "u"), ("v1", "v")):
            tx.tokens.put(digest, Token(login, NOW + timedelta(hours=1)), NOW)
    with store.transaction() as tx:
        tx.tokens.put("u4", Token("u", NOW + timedelta(hours=1)), NOW)
        # Tokens stored by this very transaction go too, except the one kept.
        assert tx.tokens.delete_of_user("u", keep="u2") == 3
    assert [store.tokens.get(d) is None for d in ("u1", "u2", "u3", "u4", "v1")] == [
        True, False, True, True, False]
    with store.transaction() as tx:
        assert tx.tokens.delete_of_user("u") == 1
        assert tx.tokens.delete_of_user("nobody") == 0
    assert store.tokens.get("u2") is None
    assert store.tokens.get("v1") == Token("v", NOW + timedelta(hours=1))


def test_a_transaction_that_fails_leaves_nothing_behind(store: Store) -> None:
    line = _line(store)
    with store.transaction() as tx:
        tx.outbox.insert([_message("m0")])

    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.transaction() as tx:
        tx.accounts.put(Account("a", "Renamed", "business"), NOW)
        tx.lines.put(Line(line.id, "a", "u", 9, line.plans), NOW)
        tx.lines.put_alerts(line.id, AlertSettings((), Channels()), "admin", NOW)
        tx.lines.audit(AuditEntry(NOW, "admin", line.id, "barring", None, None))
        tx.usage.insert_records([_record("r1", 5)], NOW)
        tx.usage.save_cycles([(line.id, CycleUsage(Cycle(CYCLE), fired=frozenset({"x"})))],
                             NOW)
        tx.usage.insert_rejected([RejectedRecord(None, "{}", "id: missing")], NOW)
        tx.outbox.insert([_message("m1")])
        assert tx.outbox.mark_sending("m0", NOW)
        tx.sessions.put(_multi_group_session(line.id))
        tx.tokens.put("t", Token("u", NOW), NOW)
        tx.offsets.advance(1, 5, 0, NOW)
        assert store.usage.existing_record_ids(["r1"]) == set()  # not before the commit
        raise Boom
    account = store.accounts.get("a")
    stored = store.lines.get(line.id)
    assert account is not None and account.name == "A"
    assert stored is not None and stored.cycle_day == 1
    assert store.lines.alerts(line.id) is None
    assert store.lines.audit_log(line.id, 10) == []
    assert store.usage.existing_record_ids(["r1"]) == set()
    assert store.usage.load_cycle(line.id, CYCLE) is None
    assert store.usage.rejected(10) == []
    assert [(m.id, m.status) for m in store.outbox.messages()] == [("m0", "queued")]
    assert store.sessions.get("s2") is None
    assert store.tokens.get("t") is None
    assert store.offsets.all() == {}
    # The store takes the next transaction; one failing halfway keeps none of its writes.
    with store.transaction() as tx:
        tx.usage.insert_records([_record("r1", 5)], NOW)
    with pytest.raises(Exception), store.transaction() as tx:  # noqa: B017
        tx.outbox.insert([_message("m9")])
        tx.usage.insert_records([_record("r2", 1), _record("r1", 1)], NOW)  # r1: stored
    assert store.outbox.get("m9") is None
    assert store.usage.existing_record_ids(["r1", "r2"]) == {"r1"}


def test_memory_is_a_store_url() -> None:
    opened = open_store("memory:")
    assert opened.url == "memory:" and opened.migrate() == []
    with pytest.raises(StoreError):
        open_store("mysql://nowhere")


def test_a_line_is_found_by_its_imsi_and_an_imsi_names_one_line(store: Store) -> None:
    line = _line(store, imsi="206011234567890")
    assert store.lines.get(line.id) == line
    assert store.lines.get_many([line.id])[line.id].imsi == "206011234567890"
    assert store.lines.by_imsi("206011234567890") == line.id
    assert store.lines.by_imsi("206019999999999") is None
    other = Line("+32470000009", "a", None, 1, (PlanPeriod(NOW, "payg"),),
                 imsi="206011234567890")
    # Refused like a record id stored twice (the engine checks first: this is the guard).
    with pytest.raises(Exception), store.transaction() as tx:  # noqa: B017
        tx.lines.put(other, NOW)
    assert store.lines.get(other.id) is None
