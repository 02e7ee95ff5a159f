"""The engine's cache: finished cycles are let go and come back exactly from their rows."""

from __future__ import annotations

from datetime import UTC, datetime

from conso.bootstrap import Services


def test_finished_cycles_leave_the_cache_and_come_back_from_their_rows(
    engine_services: Services,
) -> None:
    engine = engine_services.engine
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
