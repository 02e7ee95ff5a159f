"""The demo's stories (src/conso/demo.py, issue 16): chloe's pay-per-use line reaches its
EUR 10 limit and stops there, bruno roams in the United States near his roaming data
cap and gets its 80 % SMS, the live traffic keeps a believable pace, and seeding again
in the same cycle changes nothing. On the engine and a SQLite file, with a clock the
test moves (no sleeping)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conso import demo
from conso.bootstrap import Services, Settings, build
from conso.domain.units import MICROS_PER_EURO, Service

EUR = MICROS_PER_EURO


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(params=[datetime(2026, 11, 2, 9, 0, tzinfo=UTC),     # early in a cycle
                        datetime(2026, 11, 24, 18, 0, tzinfo=UTC)],  # late in it
                ids=["day-2", "day-24"])
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Services, Clock]]:
    clock = Clock(request.param)
    services = build(Settings(db=f"sqlite:///{tmp_path / 'demo.db'}", operator_key="k"),
                     clock=clock)
    demo.seed(services.engine)
    yield services, clock
    services.close()


def texts(services: Services, line: str, sender: str = "8644") -> list[str]:
    return [m.text for m in services.store.outbox.messages()
            if m.line_id == line and m.sender == sender]


def rules(services: Services, line: str) -> list[str]:
    return [f"{m.rule['kind']}:{m.rule['value']}" for m in services.store.outbox.messages()
            if m.line_id == line and m.rule is not None]


def run(services: Services, clock: Clock, ticks: int) -> demo.TrafficGenerator:
    traffic = demo.TrafficGenerator(services.engine)
    for _ in range(ticks):
        clock.at += timedelta(seconds=2)
        result = services.engine.apply_usage(traffic.tick())
        assert result.rejected == []
    return traffic


def spend(services: Services, line_id: str) -> int:
    line = services.engine.line(line_id)
    assert line is not None
    return services.engine.usage_summary(line).extra_micros


def test_chloe_starts_near_her_limit_then_reaches_it_and_spends_no_more(
    seeded: tuple[Services, Clock],
) -> None:
    services, clock = seeded
    line = services.engine.line(demo.CHLOE)
    assert line is not None and line.spending_limit_micros == demo.LIMIT_EUR * EUR
    assert 9 * EUR <= spend(services, demo.CHLOE) <= demo.LIMIT_SPENT_MICROS
    assert rules(services, demo.CHLOE) == ["limit_pct:50", "limit_pct:90"]
    # The admin's limit was told to her, in Dutch.
    assert any("uitgavenlimiet van € 10,00" in t and "ingesteld" in t
               for t in texts(services, demo.CHLOE))
    run(services, clock, 300)                      # 10 minutes of demo
    assert rules(services, demo.CHLOE)[-1] == "limit_pct:100"
    assert spend(services, demo.CHLOE) == demo.LIMIT_EUR * EUR   # reached, not passed


def test_bruno_roams_in_the_us_and_gets_the_caps_80_pct_sms(
    seeded: tuple[Services, Clock],
) -> None:
    services, clock = seeded
    line = services.engine.line(demo.BRUNO)
    assert line is not None
    roaming = services.engine.usage_summary(line).services[Service.DATA].roaming_used
    assert roaming > 0
    assert "roaming_cap_pct:80" not in rules(services, demo.BRUNO)
    run(services, clock, 60)                       # two minutes
    assert "roaming_cap_pct:80" in rules(services, demo.BRUNO)
    assert any("itinérance hors UE/EEE" in t for t in texts(services, demo.BRUNO))


def test_the_live_pace_is_a_months_habits_compressed(seeded: tuple[Services, Clock]) -> None:
    services, clock = seeded
    line = services.engine.line(demo.DIRK)
    assert line is not None
    before = services.engine.usage_summary(line).services[Service.DATA].used
    run(services, clock, 30)                       # one minute: 7.5 simulated hours
    after = services.engine.usage_summary(line).services[Service.DATA].used
    month = demo.HABITS[demo.DIRK].data_bytes
    simulated = 30 * demo.SIMULATED_MINUTES / demo.MINUTES_PER_MONTH
    assert month * simulated * 0.5 <= after - before <= month * simulated * 1.5
    # Nothing like the old demo's hundreds of euros in minutes.
    assert spend(services, demo.ALICE) < 20 * EUR


def test_seeding_again_in_the_same_cycle_changes_nothing(
    seeded: tuple[Services, Clock],
) -> None:
    services, clock = seeded
    before = {line: spend(services, line) for line in demo.HABITS}
    messages = len(services.store.outbox.messages())
    clock.at += timedelta(hours=5)
    demo.seed(services.engine)
    assert {line: spend(services, line) for line in demo.HABITS} == before
    assert len(services.store.outbox.messages()) == messages
