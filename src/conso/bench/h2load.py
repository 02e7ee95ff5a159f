"""h2load (nghttp2's HTTP/2 load generator, Debian's `nghttp2-client`) against the Nchf
listener, where it measures something honest.

h2load sends one body to every URI, so it cannot send what an SMF sends a resource over
time (each update one invocationSequenceNumber higher: the same number again is a
retransmission, answered from the stored answer and counting nothing), nor open new
resources (a create's ChargingDataRef is derived from its body: the same body again is
the first create again). What it can send honestly is the FIRST update of many fresh
resources: `nchf_load --prepare N` opens them and writes one update URI each, and h2load
sends each URI once (`--input-file`, one connection: h2load starts every connection at
the file's first URI), 16 streams in flight, the same body (invocationSequenceNumber 1)
to each. A load generator written in C beside the Python one (`nchf_load`): what the
server does when the client costs the two cores next to nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from conso.bench.loadgen import percentile


def find() -> str | None:
    """The h2load executable, when installed (`apt-get install nghttp2-client`)."""
    return shutil.which("h2load")


def command(executable: str, uris: Path, body: Path, log: Path, *, requests: int,
            streams: int, key: str) -> list[str]:
    """h2load sending each of `requests` URIs of `uris` once over one connection (h2c,
    prior knowledge, as for an http:// URI), `streams` in flight, `body` POSTed."""
    return [executable, "--clients", "1", "--threads", "1",
            "--max-concurrent-streams", str(streams), "--requests", str(requests),
            "--input-file", str(uris), "--data", str(body),
            "--header", f"authorization: Bearer {key}",
            "--header", "content-type: application/json", "--log-file", str(log)]


def read_log(log: Path) -> dict[str, Any]:
    """h2load's per-request log (start in microseconds since the epoch, status,
    microseconds to the end of the answer): rate, p50/p99, answers other than 200."""
    starts: list[int] = []
    ends: list[int] = []
    latencies: list[int] = []
    codes: dict[str, int] = {}
    for row in log.read_text().splitlines():
        parts = row.split("\t")
        if len(parts) < 3:
            continue
        start, status, spent = int(parts[0]), parts[1], int(parts[2])
        starts.append(start)
        ends.append(start + spent)
        latencies.append(spent)
        if status != "200":
            codes[status] = codes.get(status, 0) + 1
    latencies.sort()


    elapsed = (max(ends) - min(starts)) / 1e6 if starts else 0.0
    return {"answered": len(latencies), "seconds": round(elapsed, 3),
            "per_s": len(latencies) / elapsed if elapsed else 0.0,
            "p50_ms": percentile(latencies, 0.5) / 1000,
            "p99_ms": percentile(latencies, 0.99) / 1000,
            "errors": sum(codes.values()), "error_codes": codes}


def run(executable: str, uris: Path, body: Path, log: Path, *, requests: int, streams: int,
        key: str, timeout: float) -> dict[str, Any]:
    done = subprocess.run(command(executable, uris, body, log, requests=requests,
                                  streams=streams, key=key),
                          capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0 or not log.exists():
        raise RuntimeError(f"h2load failed ({done.returncode}): "
                           f"{(done.stdout + done.stderr).decode()[-2000:]}")
    summary = read_log(log)
    summary["unanswered"] = max(0, requests - summary["answered"])
    return summary
