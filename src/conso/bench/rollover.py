"""The cycle-rollover pause: every line's cycle turns over at the same midnight.

An exclusive engine keeps each warm line's cycle usage in memory. At 00:00
Europe/Brussels on the lines' cycle day every line's new cycle is missing from that
cache (each first use loads it from the store), and a week later housekeeping lets all
the old cycles go at once. Neither may stall ingestion or authorize for more than a
second with a million lines (issue #17).

Measured in-process, and the report says so: the engine, the charging core and the
housekeeping that `bootstrap.build` builds for `conso serve`, on a SQLite store in the
bench's temporary directory, with a virtual clock (`build(clock=)`) so that midnight
comes when the bench wants it. No HTTP: a rollover pause would come from the engine's
lock and its store, which are the same in the server.

1. N lines, all with the same cycle day, written straight into the store (setup).
2. Every line's current cycle warmed: one record each an hour before midnight, through
   the engine in batches of 10,000.
3. One run of threads at the same time: ingestion (batches of 1,000 records at the
   clock's time on random lines, like the HTTP bench's batches), authorize calls on
   random lines through the charging core, and the server's housekeeping round
   (`Sweeper.run_once`) every `sweep_every` seconds and right after midnight. The clock
   starts `before_s` seconds before midnight (the baseline, same run) and the run goes
   on `after_s` seconds past it.
4. The clock jumps a week on (`housekeeping.CACHED_CYCLES_AFTER_END`): the same load
   while the housekeeping lets every old cycle go (the eviction).

A pause is the longest wait an operation of a kind saw: the larger of its longest
latency and the longest gap between two completions (the first one counted from the
window's start), over the operations started in the window.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from conso import gc_tuning
from conso.bench.loadgen import percentile
from conso.bench.synth import SynthLine, make_lines, provision
from conso.bootstrap import Services, Settings, build
from conso.charging.housekeeping import CACHED_CYCLES_AFTER_END
from conso.charging.ports import UseRequest
from conso.domain.cycle import CYCLE_TZ, MAX_CYCLE_DAY, cycle_of
from conso.domain.units import Service
from conso.store import open_store

WARM_BATCH = 10_000
SERVICES = (Service.VOICE, Service.SMS, Service.DATA)
Span = tuple[float, float]      # an operation's start and end, time.perf_counter()


@dataclass(frozen=True, slots=True)
class RolloverConfig:
    lines: int = 1_000_000
    before_s: float = 10.0       # the baseline: the load before midnight
    after_s: float = 15.0        # the load after midnight
    evict_s: float = 10.0        # the load a week later, while the old cycles go
    batch: int = 1_000           # records an ingestion batch
    authorize_threads: int = 2
    sweep_every: float = 2.0     # `conso serve` sweeps every 30 s; here more rounds
    seed: int = 17

    @classmethod
    def quick(cls, lines: int = 100_000) -> RolloverConfig:
        return cls(lines=lines, before_s=3.0, after_s=5.0, evict_s=4.0, sweep_every=1.0)


@dataclass
class RolloverRun:
    """The figures, and what a test checks them against."""

    figures: dict[str, Any] = field(default_factory=dict)
    db_url: str = ""                        # the store, left in the work directory
    midnight: datetime | None = None        # the turn, on the virtual clock
    new_cycle: date | None = None           # the lines' cycle from the turn on
    cycle_day: int = 0
    # Lines given records stamped at or after midnight, and how many each.
    after_midnight: dict[str, int] = field(default_factory=dict)


class VirtualClock:
    """The engine's clock: real time flowing on from an instant the bench sets."""

    def __init__(self, at: datetime) -> None:
        self._origin = (at, time.perf_counter())

    def __call__(self) -> datetime:
        at, started = self._origin
        return at + timedelta(seconds=time.perf_counter() - started)

    def set(self, at: datetime) -> float:
        """From now on the clock reads `at`; returns that instant's perf_counter."""
        now = time.perf_counter()
        self._origin = (at, now)    # one assignment: a reader sees the old or the new
        return now


def next_midnight(after: datetime) -> datetime:
    """A Brussels midnight a day or two after `after`, on a day a cycle can start on
    (1-28), in UTC."""
    day = (after.astimezone(CYCLE_TZ) + timedelta(days=2)).date()
    if day.day > MAX_CYCLE_DAY:
        day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return datetime.combine(day, clock_time(0), CYCLE_TZ).astimezone(UTC)


def max_pause(spans: Sequence[Span], start: float) -> float | None:
    """The longest wait: the longest operation, or the longest gap between two
    completions (the first counted from `start`); None when nothing ran."""
    if not spans:
        return None
    ends = sorted(end for _, end in spans)
    gaps = [b - a for a, b in zip([start, *ends], ends, strict=False)]
    return max(*gaps, *(end - begin for begin, end in spans))


@dataclass
class _Load:
    """One window's load on the services, in threads until `until` (perf_counter)."""

    services: Services
    lines: list[SynthLine]
    config: RolloverConfig
    until: float
    midnight: datetime
    prefix: str                 # of the records' ids: each window its own
    seed: int
    ingest: list[Span] = field(default_factory=list)
    authorize: list[Span] = field(default_factory=list)
    sweeps: list[tuple[float, float, int]] = field(default_factory=list)  # + let go
    after_midnight: dict[str, int] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)

    def run(self, sweep_at: Sequence[float]) -> None:
        mobile = [line.id for line in self.lines if not line.plan.startswith("internet")]
        works = [self._ingesting, lambda: self._sweeping(sweep_at),
                 *(self._authorizing(mobile, self.seed + 1 + n)
                   for n in range(self.config.authorize_threads))]
        threads = [threading.Thread(target=self._guarded(work), name=f"bench-rollover-{n}")
                   for n, work in enumerate(works)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.errors:
            raise RuntimeError(f"rollover load: {self.errors[0]!r}") from self.errors[0]

    def _going(self) -> bool:
        return not self.errors and time.perf_counter() < self.until

    def _guarded(self, work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as exc:   # raised by run() once every thread stopped
                self.errors.append(exc)
        return run

    def _ingesting(self) -> None:
        engine, size = self.services.engine, self.config.batch
        rng = random.Random(self.seed)
        sent = 0
        while self._going():
            chosen = [self.lines[rng.randrange(len(self.lines))].id for _ in range(size)]
            # Started when its time is read, so that it belongs to its records' side of
            # midnight (building its dicts, ~1 ms, counts in its latency).
            started = time.perf_counter()
            at = engine.clock()
            stamp = at.isoformat()
            result = engine.apply_usage([
                {"id": f"{self.prefix}{sent + n}", "line": line_id, "service": "data",
                 "quantity": 1000 + n, "at": stamp} for n, line_id in enumerate(chosen)])
            self.ingest.append((started, time.perf_counter()))
            if result.rejected or result.accepted != size:
                raise RuntimeError(f"records not taken: {result.rejected[:3]}")
            if at >= self.midnight:
                for line_id in chosen:
                    self.after_midnight[line_id] = self.after_midnight.get(line_id, 0) + 1
            sent += size

    def _authorizing(self, mobile: list[str], seed: int) -> Callable[[], None]:
        charging = self.services.charging

        def run() -> None:
            rng = random.Random(seed)
            while self._going():
                request = UseRequest(mobile[rng.randrange(len(mobile))],
                                     SERVICES[rng.randrange(len(SERVICES))])
                started = time.perf_counter()
                charging.authorize(request)
                self.authorize.append((started, time.perf_counter()))
        return run

    def _sweeping(self, sweep_at: Sequence[float]) -> None:
        for due in sweep_at:
            while self._going() and time.perf_counter() < due:
                time.sleep(min(0.01, max(0.0, due - time.perf_counter())))
            if not self._going():
                return
            started = time.perf_counter()
            let_go = self.services.sweeper.run_once()   # the server's round, as it runs it
            self.sweeps.append((started, time.perf_counter(), let_go))


def _steps(start: float, end: float, every: float) -> list[float]:
    count = int((end - start) / every) + 1
    return [start + n * every for n in range(count) if start + n * every < end]


def _side(load: _Load, start: float, end: float, batch: int) -> dict[str, Any]:
    """The figures of the operations started in [start, end)."""
    ingest = [s for s in load.ingest if start <= s[0] < end]
    authorize = [s for s in load.authorize if start <= s[0] < end]
    seconds = max(1e-9, end - start)
    ingest_pause, authorize_pause = max_pause(ingest, start), max_pause(authorize, start)
    return {
        "ingest_max_pause_ms": None if ingest_pause is None else round(ingest_pause * 1e3, 1),
        "authorize_max_pause_ms": None if authorize_pause is None
        else round(authorize_pause * 1e3, 1),
        "ingest_records_per_s": round(len(ingest) * batch / seconds),
        "authorize_per_s": round(len(authorize) / seconds),
        "authorize_p99_ms": round(percentile(sorted(e - s for s, e in authorize), 0.99)
                                  * 1e3, 2),
        "authorize_ops": len(authorize), "ingest_ops": len(ingest)}


def _warm(services: Services, lines: list[SynthLine]) -> float:
    """One record a line, in batches of 10,000: every line's cycle in the cache.
    Returns records a second."""
    engine = services.engine
    started = time.perf_counter()
    for first in range(0, len(lines), WARM_BATCH):
        stamp = engine.clock().isoformat()
        engine.apply_usage([{"id": f"warm-{line.id}", "line": line.id, "service": "data",
                             "quantity": 1000, "at": stamp}
                            for line in lines[first:first + WARM_BATCH]])
    return len(lines) / (time.perf_counter() - started)


def measure(workdir: Path, config: RolloverConfig,
            say: Callable[[str], None] = lambda _: None) -> RolloverRun:
    """The rollover phase on a fresh SQLite store in `workdir` (left there)."""
    run = RolloverRun(db_url=f"sqlite:///{workdir / 'rollover.db'}")
    midnight = run.midnight = next_midnight(datetime.now(UTC))
    run.cycle_day = midnight.astimezone(CYCLE_TZ).day
    run.new_cycle = cycle_of(midnight, run.cycle_day).start_date
    lines = make_lines(config.lines, seed=config.seed)
    say(f"rollover: {config.lines:,} lines, all of cycle day {run.cycle_day}, "
        "written to the store")
    store = open_store(run.db_url)
    try:
        store.migrate()
        provision(store, lines, midnight - timedelta(days=1), cycle_day=run.cycle_day)
    finally:
        store.close()
    # In-process, the engine would log to the console (the server's log is a file).
    logger = logging.getLogger("conso")
    level = logger.level
    logger.setLevel(logging.WARNING)
    thresholds = gc_tuning.tune()  # as `conso serve` runs it
    clock = VirtualClock(midnight - timedelta(hours=1))
    services = build(Settings(db=run.db_url, operator_key="bench-rollover"), clock=clock)
    try:
        say(f"rollover: warming every line's cycle, batches of {WARM_BATCH:,}")
        warm_rate = _warm(services, lines)
        gc.collect()   # the setup's garbage is not the windows' to collect
        say(f"rollover: the load {config.before_s:g} s before midnight and "
            f"{config.after_s:g} s after")
        start = clock.set(midnight - timedelta(seconds=config.before_s))
        turn, end = start + config.before_s, start + config.before_s + config.after_s
        first = _Load(services, lines, config, end, midnight, "t", config.seed)
        first.run(sorted({*_steps(start, end, config.sweep_every), turn + 0.05}))
        say(f"rollover: a week later, the load {config.evict_s:g} s while housekeeping "
            "lets the old cycles go")
        week = clock.set(midnight + CACHED_CYCLES_AFTER_END + timedelta(seconds=1))
        later = _Load(services, lines, config, week + config.evict_s, midnight, "e",
                      config.seed + 100)
        later.run(_steps(week, week + config.evict_s, config.sweep_every))
    finally:
        services.close()
        gc.set_threshold(*thresholds)
        logger.setLevel(level)
    run.after_midnight = dict(first.after_midnight)
    for line_id, count in later.after_midnight.items():   # the same cycle, a week on
        run.after_midnight[line_id] = run.after_midnight.get(line_id, 0) + count
    _figures(run, config, warm_rate, before=_side(first, start, turn, config.batch),
             after=_side(first, turn, end, config.batch),
             evicting=_side(later, week, week + config.evict_s, config.batch),
             sweeps=[*first.sweeps, *later.sweeps], let_go=sum(n for *_, n in later.sweeps))
    return run


def _figures(run: RolloverRun, config: RolloverConfig, warm_rate: float, *,
             before: dict[str, Any], after: dict[str, Any], evicting: dict[str, Any],
             sweeps: list[tuple[float, float, int]], let_go: int) -> None:
    longest = max((end - start for start, end, _ in sweeps), default=None)
    run.figures.update({
        "rollover_lines": config.lines,
        "rollover_warm_records_per_s": round(warm_rate),
        "rollover_baseline_ingest_max_pause_ms": before["ingest_max_pause_ms"],
        "rollover_baseline_authorize_max_pause_ms": before["authorize_max_pause_ms"],
        "rollover_ingest_max_pause_ms": after["ingest_max_pause_ms"],
        "rollover_authorize_max_pause_ms": after["authorize_max_pause_ms"],
        "rollover_evict_ingest_max_pause_ms": evicting["ingest_max_pause_ms"],
        "rollover_evict_authorize_max_pause_ms": evicting["authorize_max_pause_ms"],
        "rollover_evicted_cycles": let_go,
        "rollover_sweep_rounds": len(sweeps),
        "rollover_sweep_max_ms": None if longest is None else round(longest * 1e3, 1),
        "rollover_baseline_ingest_records_per_s": before["ingest_records_per_s"],
        "rollover_ingest_records_per_s": after["ingest_records_per_s"],
        "rollover_baseline_authorize_per_s": before["authorize_per_s"],
        "rollover_authorize_per_s": after["authorize_per_s"],
        "rollover_authorize_p99_ms": after["authorize_p99_ms"],
        "rollover_authorize_after_midnight": after["authorize_ops"],
        "rollover_records_after_midnight": after["ingest_ops"] * config.batch,
    })
