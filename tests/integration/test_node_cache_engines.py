"""The per-node cache, engine by engine: two shared engines in one process on one
PostgreSQL database, each with its own change feed (as two API nodes have). A user
changed through one is who the other writes to at its next command (the language of
the notifications it composes), and a line changed while the other reads it is not
kept stale (sessions and limits across nodes: test_two_api_processes.py and
test_node_cache.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from conso.bootstrap import Services, Settings, build
from conso.charging.ports import UseRequest
from conso.domain.control import Decision
from conso.domain.sessions import CreditSession
from conso.domain.units import Direction, Service
from conso.store.sql.sessions import SqlSessionReads

from .pg_support import fresh_database

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
AT = "2026-11-20T12:00:00+01:00"
GB = 10**9
LINE = "+32470000001"


@pytest.fixture
def nodes() -> Iterator[tuple[Services, Services]]:
    with fresh_database() as url:
        settings = Settings(db=url, operator_key="k", shared=True)
        first = build(settings, clock=lambda: NOW)
        try:
            second = build(settings, clock=lambda: NOW)
            try:
                yield first, second
            finally:
                second.close()
        finally:
            first.close()


def _record(n: int, quantity: int) -> dict[str, object]:
    return {"id": f"cdr-{n}", "line": LINE, "service": "data", "quantity": quantity, "at": AT}


def _texts(services: Services) -> list[str]:
    return [m.text for m in services.store.outbox.messages(line_id=LINE)]


def test_a_user_changed_on_one_node_is_who_the_other_writes_to(
        nodes: tuple[Services, Services]) -> None:
    a, b = nodes
    a.engine.put_account("acct", name="Fleet", kind="business")
    a.engine.put_user("acct", "ann", password="correct-horse-battery", role="user",
                      email=None, language="en")
    a.engine.put_line(LINE, account_id="acct", plan_id="king", user_login="ann", cycle_day=1)

    b.engine.apply_usage([_record(1, 9 * GB + GB // 10)])      # 91 %: in English
    assert [t.startswith("conso: ") for t in _texts(b)] == [True]

    a.engine.put_user("acct", "ann", password=None, role="user", email=None, language="fr")
    b.engine.apply_usage([_record(2, GB)])                       # 101 %: now in French
    texts = _texts(b)
    assert len(texts) == 2
    assert any(t.startswith("conso : ") for t in texts), texts



def test_a_line_changed_while_a_node_reads_it_is_not_kept_stale(
        nodes: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch) -> None:
    """A node reads a line missing from its cache outside its lock; when another node
    commits a change to that line during the read, and the announcement arrives before
    the read is kept, what was read is used for that answer only (it was read after the
    request's fence) and not kept: the next answer comes from the change."""
    a, b = nodes
    a.engine.put_account("acct", name="Fleet", kind="business")
    line = a.engine.put_line(LINE, account_id="acct", plan_id="king", user_login=None,
                             cycle_day=1).value
    read_open = SqlSessionReads.open
    changed: list[bool] = []

    def open_while_a_bars_data(self: SqlSessionReads,
                               line_ids: Sequence[str] | None = None) -> list[CreditSession]:
        found = read_open(self, line_ids)
        if self is b.store.sessions and not changed:
            changed.append(True)
            a.control.set_barring(line, {"data": True}, "admin")
            assert b.feed is not None
            b.feed.fence().wait()      # b has heard it: it waits to be applied
        return found

    monkeypatch.setattr(SqlSessionReads, "open", open_while_a_bars_data)
    data = UseRequest(LINE, Service.DATA, Direction.OUT, None, None)
    assert b.charging.authorize(data).allowed        # read before the barring committed
    assert changed and LINE not in b.engine.state.lines
    assert b.charging.authorize(data) == Decision(False, "barred:data")
    assert LINE in b.engine.state.lines              # the second read was kept
