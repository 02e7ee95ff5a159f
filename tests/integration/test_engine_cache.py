"""The engine's cache: finished cycles are let go and come back exactly from the records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conso.bootstrap import Services, Settings, build


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build(Settings(db=f"sqlite:///{tmp_path}/c.db", operator_key="k"))
    built.engine.put_account("a", name="A", kind="business")
    built.engine.put_line("+32470000077", account_id="a", plan_id="payg", user_login=None,
                          cycle_day=None)
    yield built
    built.close()


def test_finished_cycles_leave_the_cache_and_come_back_from_the_records(
    services: Services,
) -> None:
    engine = services.engine
    line = engine.line("+32470000077")
    assert line is not None
    last_month = datetime(2026, 10, 15, 12, tzinfo=UTC)
    engine.apply_usage([{"id": "old-1", "line": line.id, "service": "sms", "quantity": 3,
                         "at": last_month.isoformat()}])
    before = engine.cycle_usage(line, last_month)
    assert engine.evict_cycles(datetime(2026, 11, 2, tzinfo=UTC)) >= 1
    assert engine.evict_cycles(datetime(2026, 11, 2, tzinfo=UTC)) == 0
    again = engine.cycle_usage(line, last_month)
    assert again is not before
    assert (again.meters, again.spend_micros, again.records) == (
        before.meters, before.spend_micros, before.records)
