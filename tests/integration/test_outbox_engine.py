"""The transactional outbox at engine level (rules.md, "Notifications"): a usage
batch that crosses a threshold writes its notifications in the same transaction
as the usage; real SQLite store in tmp_path, no HTTP, no dispatcher running."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conso.api.schemas import AlertsIn
from conso.bootstrap import Services, Settings, build
from conso.sms.inbound import InboundSms, Outcome
from conso.store.sql import outbox as sql_outbox

from .notify_support import outbox_rows

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)      # November cycle (cycle_day 1)
NOVEMBER_AT = "2026-11-20T12:00:00+01:00"
OCTOBER_AT = "2026-10-20T12:00:00+02:00"
GB = 10**9
KING_VOICE = 300 * 60
KING_DATA = 10 * GB
PASSWORD = "correct-horse-battery"
EMAIL_FROM = "conso <noreply@conso.test>"

_ids = itertools.count(1)


def rec(line: str, service: str, quantity: int, at: str = NOVEMBER_AT,
        record_id: str | None = None) -> dict[str, Any]:
    return {"id": record_id or f"cdr-{next(_ids):06d}", "line": line, "service": service,
            "quantity": quantity, "at": at}


@dataclass
class World:
    services: Services
    db_path: Path
    account: str = "acct-1"

    @property
    def engine(self) -> Any:
        return self.services.engine

    def user(self, login: str, language: str = "en", email: str | None = None,
             role: str = "user") -> str:
        self.engine.put_user(self.account, login, password=PASSWORD, role=role, email=email,
                             language=language)
        return login

    def line(self, line_id: str, plan: str = "king", user: str | None = None) -> str:
        self.engine.put_line(line_id, account_id=self.account, plan_id=plan, user_login=user,
                             cycle_day=1)
        return line_id

    def alerts(self, line_id: str, body: dict[str, Any]) -> None:
        line = self.engine.line(line_id)
        assert line is not None
        self.engine.put_alerts(line, AlertsIn.model_validate(body).choice(), "test")

    def feed(self, records: list[dict[str, Any]]) -> Any:
        return self.engine.apply_usage(records)

    def messages(self, line_id: str | None = None) -> list[Any]:
        return [m for m in self.services.store.outbox.messages()
                if line_id is None or m.line_id == line_id]


def open_world(db_path: Path, clock: Callable[[], datetime] = lambda: NOW) -> World:
    # A fixed instant: cycles are deterministic.
    services = build(Settings(db=f"sqlite:///{db_path}", operator_key="k",
                              email_from=EMAIL_FROM), clock=clock)
    return World(services, db_path)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    one = open_world(tmp_path / "c.db")
    one.engine.put_account(one.account, name="Fleet", kind="business")
    yield one
    one.services.close()


def rule(kind: str, value: int, service: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {"kind": kind, "value": value}
    if service is not None:
        view["service"] = service
    return view


def summary(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["channel"], r["sender"], r["recipient"], r["line_id"],
             orjson_key(r["rule"]), r["status"], r["attempts"]) for r in rows]


def orjson_key(value: dict[str, Any] | None) -> tuple[Any, ...] | None:
    return None if value is None else tuple(sorted(value.items()))


# -- written with the usage -------------------------------------------------------------


def test_crossing_queues_an_sms_from_8644_in_the_same_commit(world: World) -> None:
    line = world.line("+32470000001", user=world.user("ann"))
    result = world.feed([rec(line, "data", 9 * GB)])
    assert (result.accepted, result.duplicates, result.rejected) == (1, 0, [])
    # Right after apply_usage returns, another connection sees the row: it is committed.
    rows = outbox_rows(world.db_path)
    assert summary(rows) == [("sms", "8644", line, line,
                              orjson_key(rule("included_pct", 90, "data")), "queued", 0)]
    assert "90%" in rows[0]["text"] and "9.0 GB of 10 GB" in rows[0]["text"]
    assert rows[0]["subject"] is None
    # The store's own view agrees.
    stored = world.messages()
    assert [(m.id, m.status, m.rule) for m in stored] == [
        (rows[0]["id"], "queued", rule("included_pct", 90, "data"))]


def test_usage_and_its_notifications_commit_or_fail_together(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    line = world.line("+32470000002", user=world.user("bob"))
    batch = [rec(line, "voice", KING_VOICE)]

    def broken(self: Any, messages: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error (staged)")

    monkeypatch.setattr(sql_outbox.SqlOutboxWrites, "insert", broken)
    with pytest.raises(sqlite3.OperationalError):
        world.feed(batch)
    monkeypatch.undo()
    # Nothing of the batch was committed: neither the record nor the fired threshold.
    conn = sqlite3.connect(f"file:{world.db_path}?mode=ro", uri=True)
    try:
        assert conn.execute("SELECT COUNT(*) FROM usage_records").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM cycle_usage").fetchone() == (0,)
    finally:
        conn.close()
    assert outbox_rows(world.db_path) == []
    line_obj = world.engine.line(line)
    assert world.engine.usage_summary(line_obj).services["voice"].used == 0
    # Sent again, the batch counts once and its notification is queued once.
    result = world.feed(batch)
    assert result.accepted == 1
    assert [r["rule"] for r in outbox_rows(world.db_path)] == [
        rule("included_pct", 100, "voice")]


def test_a_second_number_and_an_email_get_one_row_each(world: World) -> None:
    line = world.line("+32470000003", user=world.user("cem"))
    world.alerts(line, {"rules": [{"kind": "included_pct", "value": 90}],
                        "channels": {"sms": True, "second_number": "+32470000099",
                                     "email": "fleet@example.com"}})
    world.feed([rec(line, "voice", KING_VOICE * 9 // 10)])
    rows = outbox_rows(world.db_path)
    voice90 = orjson_key(rule("included_pct", 90, "voice"))
    assert sorted(summary(rows)) == sorted([
        ("sms", "8644", line, line, voice90, "queued", 0),
        ("sms", "8644", "+32470000099", line, voice90, "queued", 0),
        ("email", EMAIL_FROM, "fleet@example.com", line, voice90, "queued", 0),
    ])
    assert len({r["id"] for r in rows}) == 3
    sms_texts = {r["text"] for r in rows if r["channel"] == "sms"}
    assert len(sms_texts) == 1                               # the same news on each channel
    email_row = next(r for r in rows if r["channel"] == "email")
    assert email_row["subject"] and "90%" in email_row["subject"]
    # The e-mail tells it in full (with the line and a link); the news is the SMS's.
    news = sms_texts.pop().removeprefix("conso: ")
    assert news[0].upper() + news[1:] in email_row["text"]
    assert line in email_row["text"]


def test_email_only_and_no_channel_at_all(world: World) -> None:
    quiet = world.line("+32470000004", user=world.user("dee"))
    world.alerts(quiet, {"rules": [{"kind": "included_pct", "value": 90}],
                         "channels": {"sms": False}})
    mail = world.line("+32470000005", user=world.user("eve"))
    world.alerts(mail, {"rules": [{"kind": "included_pct", "value": 90}],
                        "channels": {"sms": False, "email": "eve@example.com"}})
    world.feed([rec(quiet, "sms", 450), rec(mail, "sms", 450)])
    assert [(r["channel"], r["recipient"]) for r in outbox_rows(world.db_path)] == [
        ("email", "eve@example.com")]


def test_replayed_records_queue_nothing_new(world: World) -> None:
    line = world.line("+32470000006", user=world.user("fay"))
    batch = [rec(line, "data", 5 * GB), rec(line, "data", 5 * GB), rec(line, "sms", 500)]
    first = world.feed(batch)
    assert first.accepted == 3
    rows = outbox_rows(world.db_path)
    assert sorted(orjson_key(r["rule"]) for r in rows) == sorted([
        orjson_key(rule("included_pct", 100, "data")),
        orjson_key(rule("included_pct", 100, "sms"))])
    again = world.feed(batch)
    assert (again.accepted, again.duplicates) == (0, 3)
    assert outbox_rows(world.db_path) == rows
    # Duplicates inside one batch count once too.
    twice = world.feed([batch[0], batch[0]])
    assert (twice.accepted, twice.duplicates) == (0, 2)
    assert outbox_rows(world.db_path) == rows
    # After a restart (fresh caches from the store) the replay is still a no-op,
    # and thresholds fired before the restart stay fired.
    world.services.close()
    reopened = open_world(world.db_path)
    world.services = reopened.services                  # closed by the fixture
    replay = reopened.feed(batch)
    assert (replay.accepted, replay.duplicates) == (0, 3)
    more = reopened.feed([rec(line, "data", GB), rec(line, "sms", 1)])
    assert more.accepted == 2
    assert outbox_rows(world.db_path) == rows


def test_a_record_in_the_next_cycle_rearms_thresholds(world: World) -> None:
    line = world.line("+32470000007", user=world.user("gus"))
    world.feed([rec(line, "voice", KING_VOICE * 9 // 10, at=OCTOBER_AT)])
    world.feed([rec(line, "voice", KING_VOICE * 9 // 10, at=NOVEMBER_AT)])
    rows = outbox_rows(world.db_path)
    assert [r["rule"] for r in rows] == [rule("included_pct", 90, "voice")] * 2
    assert rows[0]["id"] != rows[1]["id"]
    assert "31 Oct 2026" in rows[0]["text"]          # the October cycle's last day
    assert "30 Nov 2026" in rows[1]["text"]
    # Within November it does not fire again.
    world.feed([rec(line, "voice", 60, at=NOVEMBER_AT)])
    assert len(outbox_rows(world.db_path)) == 2


def test_a_late_record_for_the_previous_cycle_notifies_for_that_cycle(world: World) -> None:
    line = world.line("+32470000008", user=world.user("hal"))
    world.feed([rec(line, "data", 9 * GB, at=OCTOBER_AT)])          # October: 90 %
    world.feed([rec(line, "data", 9 * GB, at=NOVEMBER_AT)])         # November: 90 %
    assert len(outbox_rows(world.db_path)) == 2
    # A record of the last evening of October arrives late, in November.
    late = world.feed([rec(line, "data", 2 * GB, at="2026-10-31T23:30:00+01:00")])
    assert late.accepted == 1
    rows = outbox_rows(world.db_path)
    assert len(rows) == 3
    assert rows[2]["rule"] == rule("included_pct", 100, "data")
    assert "1 Nov 2026" in rows[2]["text"], rows[2]["text"]      # October's renewal
    line_obj = world.engine.line(line)
    october = world.engine.usage_summary(line_obj, datetime(2026, 10, 20, tzinfo=UTC))
    november = world.engine.usage_summary(line_obj)
    assert october.services["data"].used == 11 * GB
    assert november.services["data"].used == 9 * GB
    # November's 100 % is still armed.
    world.feed([rec(line, "data", GB, at=NOVEMBER_AT)])
    rows = outbox_rows(world.db_path)
    assert len(rows) == 4
    assert rows[3]["rule"] == rule("included_pct", 100, "data")
    assert "1 Dec 2026" in rows[3]["text"]                       # November's renewal


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["you have used", "30 Nov 2026"]),
    ("fr", ["vous avez utilisé", "30/11/2026"]),
    ("nl", ["u hebt", "30/11/2026"]),
])
def test_the_users_language_is_used(world: World, language: str, words: list[str]) -> None:
    line = world.line("+32470000009", user=world.user(f"ida-{language}", language=language))
    world.feed([rec(line, "sms", 450)])
    (row,) = outbox_rows(world.db_path)
    for word in words:
        assert word in row["text"], row["text"]


def test_a_line_without_user_gets_english(world: World) -> None:
    line = world.line("+32470000010")
    world.feed([rec(line, "sms", 450)])
    (row,) = outbox_rows(world.db_path)
    assert "you have used" in row["text"]


def test_extra_spend_default_at_50_eur(world: World) -> None:
    line = world.line("+32470000011", user=world.user("jo"))
    # 300 min included, then 0.20 EUR a minute: 250 more minutes is EUR 50.
    world.feed([rec(line, "voice", KING_VOICE)])
    world.feed([rec(line, "voice", 249 * 60)])
    assert [r["rule"] for r in outbox_rows(world.db_path)] == [
        rule("included_pct", 100, "voice")]
    world.feed([rec(line, "voice", 60)])
    rows = outbox_rows(world.db_path)
    assert rows[-1]["rule"] == rule("extra_eur", 50)
    assert "€50.00" in rows[-1]["text"]


def test_payg_euro_amounts_count_all_spend(world: World) -> None:
    line = world.line("+32470000012", plan="payg", user=world.user("kim"))
    world.feed([rec(line, "sms", 100)])                     # EUR 8, no rule chosen yet
    assert outbox_rows(world.db_path) == []
    world.alerts(line, {"rules": [{"kind": "extra_eur", "value": 10}]})
    world.feed([rec(line, "sms", 24)])                      # EUR 9.92
    assert outbox_rows(world.db_path) == []
    world.feed([rec(line, "sms", 1)])                       # EUR 10.00
    rows = outbox_rows(world.db_path)
    assert [(r["sender"], r["recipient"], r["rule"]) for r in rows] == [
        ("8644", line, rule("extra_eur", 10))]


def test_internet_lines_get_email_reminders(world: World) -> None:
    user = world.user("lou", language="nl", email="lou@example.com")
    line = world.line("home-lou", plan="internet-150", user=user)
    world.feed([rec(line, "data", 135 * GB)])
    world.feed([rec(line, "data", 15 * GB)])
    rows = outbox_rows(world.db_path)
    assert [(r["channel"], r["sender"], r["recipient"], r["rule"]) for r in rows] == [
        ("email", EMAIL_FROM, "lou@example.com", rule("volume_pct", 90)),
        ("email", EMAIL_FROM, "lou@example.com", rule("volume_pct", 100)),
    ]
    assert "maandvolume" in rows[0]["text"]
    unlimited = world.line("home-lou-2", plan="internet-unlimited", user=user)
    world.feed([rec(unlimited, "data", 2_700 * GB)])
    rows = outbox_rows(world.db_path, unlimited)
    assert [(r["channel"], r["rule"]) for r in rows] == [("email", rule("heavy_user", 90))]


def test_every_message_is_queued_in_one_pass_for_a_big_batch(world: World) -> None:
    lines = [world.line(f"+3247100{i:04d}") for i in range(50)]
    batch = [rec(line, "data", KING_DATA) for line in lines]
    world.feed(batch)
    rows = outbox_rows(world.db_path)
    assert sorted(r["recipient"] for r in rows) == sorted(lines)
    assert {r["status"] for r in rows} == {"queued"}


# -- replies from 1921 -------------------------------------------------------------------


def test_consult_reply_and_help_from_1921_in_the_users_language(world: World) -> None:
    line = world.line("+32470000013", user=world.user("max", language="fr"))
    world.feed([rec(line, "sms", 12)])
    inbound = InboundSms(world.services.charging, clock=lambda: NOW)
    assert inbound.handle(line, "1921", "  consult ") is Outcome.CONSULT
    assert inbound.handle(line, "1921", "SOLDE") is Outcome.HELP
    rows = outbox_rows(world.db_path)
    assert [(r["channel"], r["sender"], r["recipient"], r["rule"], r["status"]) for r in rows] == [
        ("sms", "1921", line, None, "queued"), ("sms", "1921", line, None, "queued")]
    assert "488 SMS" in rows[0]["text"] and "30/11/2026" in rows[0]["text"]
    assert "envoyez CONSULT au 1921" in rows[1]["text"]


def test_unknown_senders_and_other_numbers_get_nothing(world: World) -> None:
    line = world.line("+32470000014", user=world.user("ned"))
    inbound = InboundSms(world.services.charging, clock=lambda: NOW)
    assert inbound.handle("+32479999999", "1921", "CONSULT") is Outcome.IGNORED
    assert inbound.handle("not-a-number", "1921", "CONSULT") is Outcome.IGNORED
    assert inbound.handle(line, "8644", "CONSULT") is Outcome.IGNORED
    assert outbox_rows(world.db_path) == []


def test_the_eleventh_text_within_an_hour_gets_no_reply(world: World) -> None:
    line = world.line("+32470000015", user=world.user("oz"))
    other = world.line("+32470000016", user=world.user("pia"))
    clock = [NOW]
    inbound = InboundSms(world.services.charging, clock=lambda: clock[0])   # 10 an hour by default
    for minute in range(10):
        clock[0] = NOW + timedelta(minutes=minute)
        assert inbound.handle(line, "1921", "CONSULT") is Outcome.CONSULT
    clock[0] = NOW + timedelta(minutes=59)
    assert inbound.handle(line, "1921", "CONSULT") is Outcome.RATE_LIMITED
    assert inbound.handle(line, "1921", "HELP") is Outcome.RATE_LIMITED
    assert len(outbox_rows(world.db_path, line)) == 10
    # Another sender is not affected; an hour after the first text, one more is allowed.
    assert inbound.handle(other, "1921", "CONSULT") is Outcome.CONSULT
    clock[0] = NOW + timedelta(minutes=60)
    assert inbound.handle(line, "1921", "CONSULT") is Outcome.CONSULT
    assert len(outbox_rows(world.db_path, line)) == 11


def limit_notices(db_path: Path) -> list[dict[str, Any]]:
    """The outbox less the SMS telling the user their limit was set (rule null)."""
    return [r for r in outbox_rows(db_path) if r["rule"] is not None]


def test_spending_limit_sends_sms_from_8644_at_50_90_and_100_pct(world: World) -> None:
    line = world.line("+32470000017", plan="payg", user=world.user("quinn"))
    # Whatever channels the line chose, the limit's own notice is an SMS to the line.
    world.alerts(line, {"rules": [], "channels": {"sms": False, "email": "q@example.com"}})
    world.services.control.set_spending_limit(world.engine.line(line), 10, "test")
    world.feed([rec(line, "sms", 62)])                      # EUR 4.96
    assert limit_notices(world.db_path) == []
    world.feed([rec(line, "sms", 1)])                       # EUR 5.04: 50 %
    world.feed([rec(line, "sms", 50)])                      # EUR 9.04: 90 %
    world.feed([rec(line, "sms", 12)])                      # EUR 10.00: 100 %
    world.feed([rec(line, "sms", 5)])                       # over: counted, no new notice
    rows = limit_notices(world.db_path)
    assert [(r["channel"], r["sender"], r["recipient"], r["rule"]) for r in rows] == [
        ("sms", "8644", line, rule("limit_pct", 50)),
        ("sms", "8644", line, rule("limit_pct", 90)),
        ("sms", "8644", line, rule("limit_pct", 100)),
    ]
    assert "€10.00" in rows[0]["text"] and "€5.04" in rows[0]["text"]
    assert "€10.00" in rows[2]["text"]


def test_spending_limit_jump_past_all_steps_sends_100_only(world: World) -> None:
    line = world.line("+32470000018", plan="payg", user=world.user("rae", language="nl"))
    world.services.control.set_spending_limit(world.engine.line(line), 5, "test")
    world.feed([rec(line, "sms", 100)])                     # EUR 8 at once
    rows = limit_notices(world.db_path)
    assert [r["rule"] for r in rows] == [rule("limit_pct", 100)]
    assert "uitgavenlimiet" in rows[0]["text"] and "€ 5,00" in rows[0]["text"]


def test_a_new_spending_limit_notifies_again_at_50_pct_of_it(world: World) -> None:
    line = world.line("+32470000019", plan="payg", user=world.user("sam"))
    world.services.control.set_spending_limit(world.engine.line(line), 10, "test")
    world.feed([rec(line, "sms", 63)])                      # EUR 5.04: 50 % of EUR 10
    world.services.control.set_spending_limit(world.engine.line(line), 20, "test")
    world.feed([rec(line, "sms", 63)])                      # EUR 10.08: 50 % of EUR 20
    rows = limit_notices(world.db_path)
    assert [r["rule"] for r in rows] == [rule("limit_pct", 50)] * 2
    assert "€20.00" in rows[1]["text"]


def test_an_internet_line_given_to_another_user_mails_the_new_user(world: World) -> None:
    first = world.user("tom", email="tom@example.com")
    second = world.user("uma", email="uma@example.com", language="fr")
    line = world.line("home-tom", plan="internet-150", user=first)
    world.feed([rec(line, "data", GB)])
    world.line(line, plan="internet-150", user=second)      # the line changes hands
    world.feed([rec(line, "data", 134 * GB)])               # 90 % of 150 GB
    (row,) = outbox_rows(world.db_path)
    assert row["recipient"] == "uma@example.com"
