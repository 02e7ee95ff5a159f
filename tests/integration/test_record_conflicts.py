"""One record id, one record: sent again as it was, it is a duplicate (counted once);
sent again with other content, it is rejected as an `id_conflict` naming what differs,
and what was counted stays as it was. On the in-memory store, SQLite and PostgreSQL
(owned, and shared by several processes), through the engine and through the stream
intake's screening."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from conso.bootstrap import Services, Settings, build
from conso.store import Store, open_store
from conso.store.base import Account, StoredRecord
from conso.store.sqlite import SQLiteStore

from .pg_support import fresh_database

LINE = "+32470000077"
OTHER_LINE = "+32470000078"


@pytest.fixture(params=["memory", "sqlite", "postgres", "postgres-shared"])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    with contextlib.ExitStack() as stack:
        if request.param == "memory":
            built = build(Settings(operator_key="k"), store=open_store("memory:"))
        elif request.param == "sqlite":
            built = build(Settings(db=f"sqlite:///{tmp_path}/c.db", operator_key="k"))
        else:
            url = stack.enter_context(fresh_database())
            built = build(Settings(db=url, operator_key="k",
                                   shared=request.param == "postgres-shared"))
        stack.callback(built.close)
        built.engine.put_account("a", name="A", kind="business")
        for line_id in (LINE, OTHER_LINE):
            built.engine.put_line(line_id, account_id="a", plan_id="payg", user_login=None,
                                  cycle_day=None)
        yield built


def _record(record_id: str, **changes: Any) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    body: dict[str, Any] = {"id": record_id, "line": LINE, "service": "voice",
                            "quantity": 60, "at": at.isoformat(), "country": "BE"}
    body.update(changes)
    return body


def _voice_used(services: Services, line_id: str = LINE) -> int:
    line = services.engine.line(line_id)
    assert line is not None
    return services.engine.cycle_usage(line, datetime.now(UTC)).meter("voice")


def _answer(services: Services, records: list[dict[str, Any]]) -> tuple[int, int, list[Any]]:
    result = services.engine.apply_usage(records)
    return (result.accepted, result.duplicates,
            [(r.index, r.id, r.error.split(" (")[0]) for r in result.rejected])


def test_a_record_sent_again_as_it_was_is_a_duplicate(services: Services) -> None:
    sent = _record("dup-1")
    assert _answer(services, [sent]) == (1, 0, [])
    # The same instant written with another offset, and the home country left out.
    at = datetime.fromisoformat(sent["at"]).astimezone(timezone(timedelta(hours=-3)))
    again = {k: v for k, v in sent.items() if k != "country"} | {"at": at.isoformat()}
    assert _answer(services, [sent, again]) == (0, 2, [])
    assert _voice_used(services) == 60


@pytest.mark.parametrize(("changes", "named"), [
    ({"quantity": 61}, "quantity: 60 before, 61 now"),
    ({"line": OTHER_LINE}, f"line: '{LINE}' before, '{OTHER_LINE}' now"),
    ({"country": "FR"}, "country: BE before, FR now"),
    ({"direction": "in"}, "direction: out before, in now"),
    ({"service": "sms", "quantity": 60}, "service: voice before, sms now"),
], ids=["quantity", "line", "country", "direction", "service"])
def test_an_id_sent_again_with_other_content_is_rejected_and_changes_nothing(
        services: Services, changes: dict[str, Any], named: str) -> None:
    sent = _record("conflict-1")
    assert _answer(services, [sent]) == (1, 0, [])
    other = sent | changes
    result = services.engine.apply_usage([_record("fresh-1"), other])
    assert (result.accepted, result.duplicates) == (1, 0)
    [rejection] = result.rejected
    assert (rejection.index, rejection.id) == (1, "conflict-1")
    assert rejection.error.startswith("id_conflict: id 'conflict-1' was sent before with "
                                      "other content ("), rejection.error
    assert named in rejection.error
    assert _voice_used(services) == 120 and _voice_used(services, OTHER_LINE) == 0
    # Kept, as every rejected record is, for the operator to see.
    kept = services.store.usage.rejected(10)
    assert (kept[0].record_id, kept[0].error) == ("conflict-1", rejection.error)


def test_another_time_under_a_used_id_is_a_conflict(services: Services) -> None:
    sent = _record("late-1")
    assert _answer(services, [sent]) == (1, 0, [])
    later = (datetime.fromisoformat(sent["at"]) + timedelta(seconds=1)).isoformat()
    assert _answer(services, [sent | {"at": later}]) == (
        0, 0, [(0, "late-1", "id_conflict: id 'late-1' was sent before with other content")])


def test_a_conflict_within_one_batch_keeps_the_first_record(services: Services) -> None:
    first = _record("batch-1")
    assert _answer(services, [first, first | {"quantity": 30}, dict(first)]) == (
        1, 1, [(1, "batch-1", "id_conflict: id 'batch-1' was sent before with other content")])
    assert _voice_used(services) == 60


def test_the_stream_intake_rejects_a_conflict_and_drops_a_duplicate(
        services: Services) -> None:
    sent = _record("stream-1")
    assert _answer(services, [sent]) == (1, 0, [])
    result, to_stream = services.engine.screen([dict(sent), sent | {"quantity": 1},
                                                _record("stream-2")])
    assert (result.accepted, result.duplicates) == (1, 1)
    assert [(r.index, r.error.split(":")[0]) for r in result.rejected] == [(1, "id_conflict")]
    assert [raw["id"] for _, raw in to_stream] == ["stream-2"]
    assert services.store.usage.rejected(1)[0].record_id == "stream-1"


# -- the store: what a record id was stored with -------------------------------------------

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with contextlib.ExitStack() as stack:
        url = {"memory": "memory:", "sqlite": f"sqlite:///{tmp_path}/c.db"}.get(
            request.param) or stack.enter_context(fresh_database())
        opened = open_store(url)
        stack.callback(opened.close)
        opened.migrate()
        with opened.transaction() as tx:
            tx.accounts.put(Account("a", "A", "business"), NOW)
        yield opened


def _stored(record_id: str, quantity: int) -> StoredRecord:
    at = datetime(2026, 11, 24, 10, 15, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    return StoredRecord(record_id, LINE, date(2026, 11, 1), "premium", "out", quantity,
                        1_500_000, "FR", at, 1_500_000, "premium")


def test_records_by_id_gives_back_what_was_stored(store: Store) -> None:
    with store.transaction() as tx:
        tx.usage.insert_records([_stored("r1", 1), _stored("r2", 0)], NOW)
    found = store.usage.records_by_id(["r2", "nowhere", "r1"])
    assert found == {"r1": _stored("r1", 1), "r2": _stored("r2", 0)}
    assert store.usage.records_by_id([]) == {}
    if isinstance(store, SQLiteStore):      # merged out of usage_recent: still found
        assert store.merge_recent() == 2
        assert store.usage.records_by_id(["r1", "r2"]) == found
