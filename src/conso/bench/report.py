"""The benchmark's table, JSON and plot."""

from __future__ import annotations

import json
import os
import platform
import textwrap
from dataclasses import asdict
from pathlib import Path
from typing import Any

from conso.bench.run import BenchConfig, Results

TARGETS = {
    "ingest_records_per_s": (">=", 50_000),
    "ingest_vs_floor": (">=", 0.5),
    "notify_delay_p99_ms": ("<=", 100),
    "authorize_per_s": (">=", 5_000),
    "provision_lines_per_s": (">=", 20_000),   # SQLite; PostgreSQL's target is 10,000
    "authorize_p99_ms": ("<=", 10),
    "session_updates_per_s": (">=", 3_000),
    # A shared API node (PostgreSQL runs), issue #17's targets per node.
    "shared_authorize_per_s": (">=", 5_000),
    "shared_authorize_p99_ms": ("<=", 10),
    "shared_session_updates_per_s": (">=", 2_500),
    "diameter_ccr_per_s": (">=", 5_000),
    "diameter_ccr_p99_ms": ("<=", 10),
    "diameter_ccr_errors": ("<=", 0),
    "diameter_vs_http_sessions": (">=", 1),    # no worse than the HTTP session updates
    "nchf_updates_per_s": (">=", 3_000),
    "nchf_update_p99_ms": ("<=", 15),
    "nchf_errors": ("<=", 0),
    "nchf_h2load_updates_per_s": (">=", 3_000),  # the same target, h2load's load
    "nchf_h2load_p99_ms": ("<=", 15),
    "nchf_h2load_errors": ("<=", 0),
    "bytes_per_warm_line": ("<=", 1024),
    "scale_throughput_ratio": (">=", 0.8),
    "sms_per_s": (">=", 1_000),               # one link, window 64, SMSC at 50 ms
    "sms_delay_p99_ms": ("<=", 10_000),        # the whole burst of 10,000
    "sms_single_delay_max_ms": ("<=", 1_000),  # one alert, the queue empty
    # A million lines' cycles turning over at one midnight: no pause over a second.
    "rollover_ingest_max_pause_ms": ("<=", 1_000),
    "rollover_authorize_max_pause_ms": ("<=", 1_000),
    "rollover_evict_ingest_max_pause_ms": ("<=", 1_000),
    "rollover_evict_authorize_max_pause_ms": ("<=", 1_000),
}


def _met(key: str, value: Any) -> str:
    if key not in TARGETS or value is None:
        return ""
    op, bound = TARGETS[key]
    ok = value >= bound if op == ">=" else value <= bound
    return f"{op} {bound:,}  {'met' if ok else 'NOT met'}"


def _row(key: str, value: Any) -> str:
    shown = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{key:<40} {shown:>14}  {_met(key, value)}"


def delivery_table(figures: dict[str, Any]) -> list[str]:
    """The SMS burst's section: its figures, then the baseline they are compared with."""
    rows = [f"SMS delivery: {figures['sms_burst']:,} threshold SMS queued at once, one SMPP "
            f"link, window {figures['sms_window']}, the SMSC answering after "
            f"{figures['sms_smsc_delay_ms']:g} ms",
            f"{'figure':<40} {'value':>14}  target"]
    rows += [_row(key, value) for key, value in figures.items()
             if key.startswith("sms_") and key not in ("sms_vs_floor", "sms_vs_ideal",
                                                       "sms_ideal_per_s")]
    rows.append(f"baseline: a minimal ESME, the same window and SMSC: "
                f"{figures['floor_sms_per_s']:,} SMS/s (window {figures['floor_mean_in_flight']} "
                f"full on average); conso {figures['sms_vs_floor']} of it")
    rows.append(f"ideal: window / SMSC delay = {figures['sms_ideal_per_s']:,} SMS/s; conso "
                f"{figures['sms_vs_ideal']} of it")
    return rows


def table(results: Results) -> str:
    rows = [f"{'figure':<40} {'value':>14}  target"] if results.figures else []
    for key, value in results.figures.items():
        rows.append(_row(key, value))
    if results.scale:
        rows.append("")
        rows.append(f"{'lines':>10} {'records/s':>12} {'warm rec/s':>12} {'B/warm line':>12}")
        for point in results.scale:
            rows.append(f"{point['lines']:>10,} {point['records_per_s']:>12,} "
                        f"{point['warm_records_per_s']:>12,} {point['bytes_per_warm_line']:>12,}")
        again = results.scale[0].get("records_per_s_again")
        if again is not None:
            rows.append(f"{results.scale[0]['lines']:,} lines: the mean of a run before the "
                        f"others and one after ({again:,} records/s), the machine's drift")
    if results.delivery:
        rows += ["", *delivery_table(results.delivery)] if rows else \
            delivery_table(results.delivery)
    for note in results.notes:
        rows += ["", *textwrap.wrap(note, 88, subsequent_indent="  ")]
    return "\n".join(rows)


def write_json(results: Results, config: BenchConfig, path: Path) -> None:
    data = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "system": platform.platform()},
            "config": asdict(config),
            "figures": results.figures, "scale": results.scale, "delivery": results.delivery,
            "notes": results.notes}
    path.write_text(json.dumps(data, indent=2) + "\n")


def write_plot(results: Results, path: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the installation
        raise RuntimeError("--plot needs matplotlib: pip install 'conso[bench]'") from None
    figures = results.figures
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    bars = [("conso\nover HTTP", "ingest_records_per_s", "#0b5cad"),
            ("engine\nalone", "engine_only_records_per_s", "#5b8fd0"),
            ("domain\nalone", "domain_only_records_per_s", "#a9c4e8"),
            ("floor\n(executemany)", "floor_records_per_s", "#8c959f")]
    shown = [(name, figures[key], color) for name, key, color in bars if key in figures]
    left.bar([n for n, _, _ in shown], [v for _, v, _ in shown], color=[c for _, _, c in shown])
    left.set_ylabel("records / s")
    left.set_title("Ingestion, batches of 1,000, durable commits")
    if results.scale:
        xs = [p["lines"] for p in results.scale]
        right.plot(xs, [p["records_per_s"] for p in results.scale], marker="o")
        right.set_xscale("log")
        right.set_ylim(bottom=0)
        right.set_xlabel("lines")
        right.set_ylabel("records / s")
        right.set_title("Throughput by number of warm lines")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
