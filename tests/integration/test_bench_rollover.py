"""The bench's operator-scale phases at a tiny size: the cycle-rollover pause (figures
there, measured over the turn: what was ingested after midnight is counted in the new
cycle), the engine's sliced eviction of finished cycles it relies on, and applied
records/s in stream mode with 1 and 2 workers (PostgreSQL and NATS). Never a
wall-clock assertion: only that the figures exist, are sane and measure what they say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conso.bench.report import table
from conso.bench.rollover import RolloverConfig, VirtualClock, max_pause, measure, next_midnight
from conso.bench.run import BenchConfig, Progress, Results, stream_workers
from conso.bench.synth import make_batches, make_lines, provision
from conso.catalog_file import load_catalog
from conso.cli import main
from conso.domain.cycle import CYCLE_TZ, Cycle, cycle_of
from conso.engine import Engine
from conso.store import open_store

from .nats_support import NATS_URL, require_nats
from .pg_support import ADMIN_URL, fresh_database

PAUSES = ("rollover_baseline_ingest_max_pause_ms", "rollover_baseline_authorize_max_pause_ms",
          "rollover_ingest_max_pause_ms", "rollover_authorize_max_pause_ms",
          "rollover_evict_ingest_max_pause_ms", "rollover_evict_authorize_max_pause_ms")


def test_rollover_phase_measures_the_turn_and_the_eviction(tmp_path: Path) -> None:
    lines = 1_500
    run = measure(tmp_path, RolloverConfig(lines=lines, before_s=0.8, after_s=1.2,
                                           evict_s=0.8, batch=200, sweep_every=0.3))
    figures = run.figures
    assert figures["rollover_lines"] == lines
    for key in PAUSES:
        assert isinstance(figures[key], float) and figures[key] > 0, key
    # Operations ran on both sides of midnight, and the housekeeping ran with them.
    assert figures["rollover_records_after_midnight"] > 0
    assert figures["rollover_authorize_after_midnight"] > 0
    assert figures["rollover_sweep_rounds"] >= 3
    # A week on, every line's warmed cycle (and only those: the new ones run a month)
    # was let go.
    assert figures["rollover_evicted_cycles"] == lines
    assert run.midnight is not None and run.new_cycle is not None
    assert Cycle(run.new_cycle).start == run.midnight   # the turn is the cycle's start

    # What was ingested after midnight is in the new cycle, as many records as sent;
    # the old cycle keeps the warm-up's record.
    assert run.after_midnight
    store = open_store(run.db_url)
    try:
        new = store.usage.load_cycles([(line_id, run.new_cycle)
                                       for line_id in run.after_midnight])
        for line_id, count in run.after_midnight.items():
            assert new[(line_id, run.new_cycle)].records == count, line_id
        old_start = cycle_of(run.midnight - timedelta(seconds=1), run.cycle_day).start_date
        assert old_start < run.new_cycle
        some = sorted(run.after_midnight)[:50]
        old = store.usage.load_cycles([(line_id, old_start) for line_id in some])
        assert all(old[(line_id, old_start)].records >= 1 for line_id in some)
    finally:
        store.close()

    shown = table(Results(figures=figures))
    assert "rollover_ingest_max_pause_ms" in shown
    assert "<= 1,000" in shown


def test_engine_lets_go_of_finished_cycles_only_slice_by_slice() -> None:
    """More cached cycles than one slice of the eviction (10,000): every finished one
    goes, the current ones stay, and a finished one reads the same from the store."""
    midnight = next_midnight(datetime.now(UTC))
    day = midnight.astimezone(CYCLE_TZ).day
    clock = VirtualClock(midnight - timedelta(hours=1))
    store = open_store("memory:")
    store.migrate()
    lines = make_lines(12_000)
    provision(store, lines, midnight - timedelta(days=1), cycle_day=day)
    engine = Engine(store, load_catalog(None), clock=clock)
    for first in range(0, len(lines), 10_000):
        stamp = clock().isoformat()
        result = engine.apply_usage([{"id": f"w-{line.id}", "line": line.id, "service": "data",
                                      "quantity": 1000, "at": stamp}
                                     for line in lines[first:first + 10_000]])
        assert result.accepted == len(lines[first:first + 10_000])
    clock.set(midnight + timedelta(minutes=1))
    current = lines[:100]
    engine.apply_usage([{"id": f"n-{line.id}", "line": line.id, "service": "data",
                         "quantity": 1000, "at": clock().isoformat()} for line in current])

    assert engine.evict_cycles(midnight - timedelta(seconds=1)) == 0   # not ended before
    assert engine.evict_cycles(midnight + timedelta(seconds=1)) == len(lines)
    assert engine.evict_cycles(midnight + timedelta(seconds=1)) == 0   # nothing left
    # Gone from memory, not from the books: the old cycle reloads from its row.
    line = engine.line(lines[-1].id)
    assert line is not None
    before = midnight - timedelta(minutes=30)
    assert engine.cycle_usage(line, before).records == 1
    # The current cycles stayed, with their record.
    kept = engine.line(current[0].id)
    assert kept is not None
    assert engine.cycle_usage(kept, clock()).records == 1
    store.close()


def test_max_pause_is_the_longest_wait() -> None:
    assert max_pause([], 0.0) is None
    # Completions at 1, 2 and 5: the gap of 3 is the longest wait.
    assert max_pause([(0.5, 1.0), (1.5, 2.0), (4.5, 5.0)], 0.0) == 3.0
    # One operation of 4 s, its completion 4.5 s after the window's start.
    assert max_pause([(0.5, 4.5)], 0.0) == 4.5
    assert max_pause([(0.0, 4.0)], -0.1) == pytest.approx(4.1)


def test_rollover_only_needs_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--rollover-only", "--rollover-lines", "0"]) == 2
    assert "--rollover-lines" in capsys.readouterr().err



def test_stream_phase_measures_one_and_two_workers() -> None:
    with fresh_database():   # skips (or fails in CI) when PostgreSQL is not here
        pass
    require_nats()
    now = datetime.now(UTC)
    lines = make_lines(300)
    bodies = list(make_batches(lines, 2_000, 500, now))
    config = BenchConfig(pg_admin_url=ADMIN_URL, stream_url=NATS_URL, clients=2)
    results = Results()
    stream_workers(config, Progress(), results, lines=lines, bodies=bodies, now=now)
    figures = results.figures
    assert figures["stream_applied_1_worker_per_s"] > 0
    assert figures["stream_applied_2_workers_per_s"] > 0
    assert figures["stream_2_vs_1_workers"] > 0
    assert any("cores" in note and "NATS" in note for note in results.notes)
