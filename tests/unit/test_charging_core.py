"""The charging core through its port, on the in-memory store: sessions with several
rating groups, group commit, one-time events, price enquiries, re-authorization pushes.
(The zero-overshoot state machine is test_zero_overshoot.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conso.bootstrap import Services
from conso.charging.group_commit import ReportQueue
from conso.charging.ports import (
    Event,
    Reauthorization,
    SessionEnd,
    SessionStart,
    SessionUpdate,
    Units,
    UseRequest,
)
from conso.domain.control import Grant
from conso.domain.sessions import Status
from conso.domain.units import Direction, Service
from conso.errors import Conflict, InvalidInput, NotFound
from conso.store.base import StoreError
from unit.charging_support import (
    FakeChannel,
    end,
    memory_services,
    start,
    update,
    update_request,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PAYG = "+32470000077"
BUNDLE = "+32470000078"
OUT = Direction.OUT
SMS_PRICE = 80_000          # payg: EUR 0.08 an SMS
VOICE_PER_MINUTE = 150_000  # payg: EUR 0.15 a minute, billed per second


@pytest.fixture
def clock() -> list[datetime]:
    return [NOW]


@pytest.fixture
def services(clock: list[datetime]) -> Iterator[Services]:
    svc = memory_services(lambda: clock[0], validity=timedelta(minutes=10))
    engine = svc.engine
    engine.put_account("acct", name="Core", kind="residential")
    engine.put_line(PAYG, account_id="acct", plan_id="payg", user_login=None, cycle_day=1)
    engine.put_line(BUNDLE, account_id="acct", plan_id="king", user_login=None, cycle_day=1)
    yield svc
    svc.close()


def limit(services: Services, euros: int) -> None:
    line = services.engine.line(PAYG)
    assert line is not None
    services.control.set_spending_limit(line, euros, "test")


def spend(services: Services, line_id: str = PAYG) -> int:
    line = services.engine.line(line_id)
    assert line is not None
    return services.engine.cycle_usage(line, services.engine.clock()).spend_micros


# -- sessions of one service, as the operator's HTTP API has them ------------------------

def test_a_failed_commit_leaves_the_session_and_the_usage_as_they_were(
    services: Services, monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit(services, 5)
    assert start(services, "s1", PAYG, Service.SMS, 10).granted == 10
    real = services.store.transaction

    @contextmanager
    def broken() -> Iterator[Any]:
        raise StoreError("disk full")
        yield  # pragma: no cover

    monkeypatch.setattr(services.store, "transaction", broken)
    with pytest.raises(StoreError):
        update(services, "s1", 10, 10, 1)
    monkeypatch.setattr(services.store, "transaction", real)
    assert spend(services) == 0
    # The same report, sent again once the store is back, is counted once.
    assert update(services, "s1", 10, 10, 1).granted == 10
    assert update(services, "s1", 10, 10, 1).granted == 10
    assert spend(services) == 10 * SMS_PRICE
    assert end(services, "s1", 0) == 10 * SMS_PRICE


def test_updates_committed_together_see_each_other_and_fail_alone(services: Services) -> None:
    limit(services, 5)       # 62 SMS at EUR 0.08
    for session_id in ("a", "b"):
        assert start(services, session_id, PAYG, Service.SMS, 10).granted == 10
    answers = services.charging.update_many([
        update_request("a", 10, 40, 1),   # uses its 10, asks 40: 62 - 10 - 10 (b's) = 42 left
        update_request("nope", 1, 1, 1),  # unknown: fails alone
        update_request("b", 10, 40, 1),   # sees a's 40 reserved: 62 - 20 - 40 = 2 left
        update_request("a", 10, 40, 1),   # the same update again: the same answer
    ])
    assert not isinstance(answers[0], Exception)
    assert answers[0].first == Grant(40, False)
    assert isinstance(answers[1], NotFound)
    assert not isinstance(answers[2], Exception)
    assert answers[2].first == Grant(2, True)
    assert answers[3] == answers[0]
    assert spend(services) == 20 * SMS_PRICE
    stored = services.store.sessions.get("b")
    assert stored is not None and stored.reserved == 2


def test_the_report_queue_answers_every_update_after_its_commit(services: Services) -> None:
    queue = ReportQueue(services.charging)
    queue.start()
    try:
        for n in range(20):
            start(services, f"q{n}", PAYG, Service.DATA, 1000)
        futures = [queue.submit(update_request(f"q{n}", 1000, 1000, 1)) for n in range(20)]
        futures.append(queue.submit(update_request("missing", 1, 1)))
        assert [f.result(timeout=10).first.granted for f in futures[:20]] == [1000] * 20
        with pytest.raises(NotFound):
            futures[20].result(timeout=10)
    finally:
        queue.stop()
    line = services.engine.line(PAYG)
    assert line is not None
    assert services.engine.usage_summary(line).services[Service.DATA].used == 20 * 1000


def test_a_session_not_heard_from_within_its_validity_is_expired_on_its_next_update(
    services: Services, clock: list[datetime],
) -> None:
    limit(services, 5)
    assert start(services, "s", PAYG, Service.SMS, 10).granted == 10
    clock[0] = NOW + timedelta(minutes=11)
    with pytest.raises(Conflict, match="expired"):
        update(services, "s", 1, 1, 1)
    stored = services.store.sessions.get("s")
    assert stored is not None and stored.status is Status.EXPIRED and stored.reserved == 0
    with pytest.raises(Conflict, match="is expired"):
        end(services, "s", 0)
    assert spend(services) == 0


def test_the_same_end_again_gets_its_first_answer_and_counts_nothing_twice(
    services: Services,
) -> None:
    start(services, "s", PAYG, Service.SMS, 10)
    done = SessionEnd("s", (Units("", used=3),), request_number=2)
    first = services.charging.end(done)
    assert first.charged_micros == 3 * SMS_PRICE
    assert services.charging.end(done) == first
    assert spend(services) == 3 * SMS_PRICE
    with pytest.raises(Conflict, match="is closed"):
        services.charging.end(SessionEnd("s", (Units("", used=3),)))


def test_an_older_request_sent_again_after_a_newer_one_counts_nothing(
    services: Services,
) -> None:
    start(services, "s", PAYG, Service.SMS, 10)
    first = services.charging.update(SessionUpdate("s", (Units("", used=2, requested=5),), 1))
    latest = services.charging.update(SessionUpdate("s", (Units("", used=1, requested=5),), 2))
    late = services.charging.update(SessionUpdate("s", (Units("", used=2, requested=5),), 1))
    assert late == latest != first     # the latest answer; the network has moved on
    assert spend(services) == 3 * SMS_PRICE


def test_a_session_asking_for_nothing_yet_is_open(services: Services) -> None:
    assert start(services, "s", PAYG, Service.SMS, 0).granted == 0
    answer = services.charging.update(SessionUpdate("s", (Units("", requested=2),), 1))
    assert answer.first.granted == 2


def test_sessions_are_for_voice_data_and_sms(services: Services) -> None:
    with pytest.raises(InvalidInput) as refused:
        start(services, "p", PAYG, Service.PREMIUM, 1)
    assert refused.value.loc == ("service",)   # a field, never an HTTP location


# -- several rating groups in one session ----------------------------------------------

def test_a_session_grants_each_rating_group_against_the_others_reservations(
    services: Services,
) -> None:
    limit(services, 5)   # EUR 5: 62 SMS, or 2,000 seconds of calls
    answer = services.charging.start(SessionStart("multi", PAYG, (
        Units("30", Service.SMS, OUT, requested=50),        # EUR 4.00 reserved
        Units("20", Service.VOICE, OUT, requested=1000),    # EUR 1.00 left: 400 seconds
    )))
    assert [group for group, _ in answer.grants] == ["30", "20"]
    assert answer.grant("30") == Grant(50, False)
    assert answer.grant("20").granted == 400 and answer.grant("20").final
    stored = services.store.sessions.get("multi")
    assert stored is not None and set(stored.quotas) == {"30", "20"}
    assert stored.reserved == 450


def test_each_rating_group_reported_is_rated_as_its_own_record(services: Services) -> None:
    services.charging.start(SessionStart("multi", PAYG, (
        Units("30", Service.SMS, OUT, requested=5),
        Units("20", Service.VOICE, OUT, requested=60),
    )))
    answer = services.charging.update(SessionUpdate("multi", (
        Units("30", used=2, requested=5), Units("20", used=60, requested=60)), 1))
    assert answer.charged_micros == 2 * SMS_PRICE + VOICE_PER_MINUTE
    line = services.engine.line(PAYG)
    assert line is not None
    cycle = services.engine.cycle_usage(line, NOW).cycle.start_date
    ids = sorted(r.id for r in services.store.usage.line_records(PAYG, cycle))
    assert ids == ["session:multi:1:20", "session:multi:1:30"]
    final = services.charging.end(SessionEnd("multi", (Units("30", used=1),)))
    assert final.charged_micros == 3 * SMS_PRICE + VOICE_PER_MINUTE
    assert spend(services) == final.charged_micros


def test_an_update_may_add_a_rating_group_but_must_name_its_service(
    services: Services,
) -> None:
    start(services, "s", BUNDLE, Service.DATA, 1000)
    with pytest.raises(InvalidInput) as refused:
        services.charging.update(SessionUpdate("s", (Units("20", used=0, requested=60),), 1))
    assert refused.value.loc == ("group",)
    answer = services.charging.update(SessionUpdate("s", (
        Units("", used=1000, requested=0), Units("20", Service.VOICE, OUT, requested=60)), 2))
    assert answer.grant("20") == Grant(60, False)
    stored = services.store.sessions.get("s")
    assert stored is not None and set(stored.quotas) == {"", "20"}


# -- one-time events, balance and price --------------------------------------------------

def test_an_event_is_debited_at_once_and_counted_once(services: Services) -> None:
    sms = Event("smsf-1", UseRequest(PAYG, Service.SMS))
    answer = services.charging.event(sms)
    assert (answer.granted, answer.reason, answer.charged_micros) == (1, None, SMS_PRICE)
    assert services.charging.event(sms).allowed
    assert spend(services) == SMS_PRICE


def test_an_event_the_money_left_cannot_buy_is_refused_and_counts_nothing(
    services: Services,
) -> None:
    limit(services, 5)
    premium = UseRequest(PAYG, Service.PREMIUM, amount_micros=4_990_000)
    assert services.charging.event(Event("buy-1", premium)).allowed
    refused = services.charging.event(Event("buy-2", premium))
    assert (refused.granted, refused.reason) == (0, "spending_limit")
    assert services.charging.event(Event("sms-2", UseRequest(PAYG, Service.SMS))).reason \
        == "spending_limit"
    assert spend(services) == 4_990_000


def test_a_barred_event_is_refused(services: Services) -> None:
    line = services.engine.line(PAYG)
    assert line is not None
    services.control.set_barring(line, {"premium": True}, "admin")
    answer = services.charging.event(
        Event("buy", UseRequest(PAYG, Service.PREMIUM, amount_micros=100)))
    assert (answer.granted, answer.reason) == (0, "barred:premium")
    assert spend(services) == 0


def test_a_price_enquiry_prices_and_checks_the_balance_and_counts_nothing(
    services: Services,
) -> None:
    limit(services, 5)
    sms = services.charging.price(UseRequest(PAYG, Service.SMS), 10)
    assert (sms.micros, sms.enough) == (10 * SMS_PRICE, True)
    too_many = services.charging.price(UseRequest(PAYG, Service.SMS), 63)
    assert (too_many.micros, too_many.enough, too_many.reason) == (
        63 * SMS_PRICE, False, "spending_limit")
    assert services.charging.check_balance(UseRequest(PAYG, Service.SMS), 62)
    assert not services.charging.check_balance(UseRequest(PAYG, Service.SMS), 63)
    bundle = services.charging.price(UseRequest(BUNDLE, Service.SMS), 10)
    assert (bundle.micros, bundle.enough) == (0, True)   # in the bundle
    assert spend(services) == 0


def test_consult_tells_the_usage_and_the_language(services: Services) -> None:
    start(services, "s", PAYG, Service.SMS, 2)
    end(services, "s", 2)
    found = services.charging.consult(PAYG)
    assert found is not None and found.language == "en"
    assert found.summary.extra_micros == 2 * SMS_PRICE
    assert services.charging.consult("+32479999999") is None


# -- pushes to the network ------------------------------------------------------------

def test_barring_a_line_pushes_a_reauthorization_to_each_session_that_can_be_told(
    services: Services,
) -> None:
    peer = FakeChannel("diameter")
    services.register_channel("diameter", peer)
    services.charging.start(SessionStart(
        "gy-1", PAYG, (Units("10", Service.DATA, OUT, requested=1000),),
        origin="diameter", push_to="pgw.example.net"))
    start(services, "http-1", PAYG, Service.DATA, 1000)   # the HTTP API pushes nothing
    line = services.engine.line(PAYG)
    assert line is not None
    services.control.set_barring(line, {"data": True}, "admin")
    services.dispatcher.run_once()
    assert [(m.to, Reauthorization.of(m)) for m in peer.sent] == [
        ("pgw.example.net", Reauthorization("gy-1", PAYG, "barring"))]
    # The subscriber's message history does not show it: only the SMS telling them of
    # the barring (from 8644).
    shown = services.store.outbox.messages(line_id=PAYG)
    assert [(m.channel, m.sender) for m in shown] == [("sms", "8644")]
    services.control.set_spending_limit(line, 10, "admin")
    services.dispatcher.run_once()
    assert [Reauthorization.of(m).reason for m in peer.sent] == ["barring", "spending_limit"]


# -- how front ends name subscribers and services ---------------------------------------

def test_a_subscriber_is_found_by_msisdn_or_imsi(services: Services) -> None:
    services.engine.put_line(PAYG, account_id="acct", plan_id="payg", user_login=None,
                             cycle_day=1, imsi="206011234567890", keep_imsi=False)
    core = services.charging
    assert core.subscriber(msisdn=PAYG.removeprefix("+")) == PAYG
    assert core.subscriber(imsi="206011234567890") == PAYG
    assert core.subscriber(msisdn="32479999999") is None
    assert core.subscriber(imsi="206019999999999") is None
    assert core.subscriber(msisdn="+32470000077") is None   # digits only, as Diameter has it
    assert core.subscriber() is None


def test_the_network_names_services_by_rating_group(services: Services) -> None:
    network = services.charging.network()
    assert network.service_of(10) is Service.DATA
    assert network.default_quota[Service.VOICE] == 300
