"""Feeding record files (NDJSON or CSV) to conso, in batches, with progress.

Records go either to a running server over HTTP (`--url`), or straight into a
store through the engine when no server holds it. Re-sending a batch is safe:
record ids make ingestion idempotent, so a batch whose answer was lost in a
network error is simply sent again.
"""

from __future__ import annotations

import csv
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from conso.engine import BatchResult, Engine, Rejection

_CSV_INTS = ("quantity", "amount_cents")
_RETRIES = 4


@dataclass
class Summary:
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, Rejection]] = field(default_factory=list)  # (file line, why)


def _csv_record(row: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or value == "":
            continue
        if key in _CSV_INTS:
            try:
                record[key] = int(value)
            except ValueError:
                record[key] = value  # left for validation to reject with the field's name
        else:
            record[key] = value
    return record


def read_records(path: Path, fmt: str = "auto") -> Iterator[tuple[int, Any]]:
    """(line number, decoded record) pairs; an undecodable line yields None."""
    if fmt == "auto":
        fmt = "csv" if path.suffix.lower() == ".csv" else "ndjson"
    # utf-8-sig: spreadsheets often start a "CSV UTF-8" file with a byte order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if fmt == "csv":
            reader = csv.DictReader(handle)
            for row in reader:
                yield reader.line_num, _csv_record(row)
            return
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                yield number, json.loads(raw)
            except json.JSONDecodeError:
                yield number, None


def batches(items: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    batch: list[tuple[int, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


Sink = Callable[[list[Any]], BatchResult]


def engine_sink(engine: Engine) -> Sink:
    return engine.apply_usage


def http_sink(url: str, key: str, timeout: float = 60.0) -> Sink:
    endpoint = url.rstrip("/") + "/api/v1/usage"

    def send(records: list[Any]) -> BatchResult:
        body = b"\n".join(json.dumps(r).encode() for r in records)
        for attempt in range(_RETRIES + 1):
            request = urllib.request.Request(endpoint, data=body, method="POST", headers={
                "Content-Type": "application/x-ndjson", "Authorization": f"Bearer {key}"})
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    answer = json.loads(response.read())
                break
            except urllib.error.HTTPError as exc:
                if exc.code < 500 or attempt == _RETRIES:
                    detail = exc.read().decode(errors="replace")
                    raise RuntimeError(f"{endpoint} answered {exc.code}: {detail}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == _RETRIES:
                    raise RuntimeError(f"cannot reach {endpoint}: {exc}") from None
            time.sleep(0.5 * 2**attempt)
        return BatchResult(
            accepted=answer["accepted"], duplicates=answer["duplicates"],
            rejected=[Rejection(r["index"], r.get("id"), r["error"]) for r in answer["rejected"]],
        )

    return send


class Progress:
    """A one-line progress bar on a terminal, a line every few seconds otherwise."""

    def __init__(self, total: int | None, out: TextIO = sys.stderr) -> None:
        self.total = total
        self.out = out
        self.done = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._tty = out.isatty()

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self._tty or now - self._last >= 5.0:
            self._last = now
            self._draw(final=False)

    def finish(self) -> None:
        self._draw(final=True)

    def _draw(self, *, final: bool) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * 30)
            text = f"[{bar:<30}] {share:6.1%} {self.done:,}/{self.total:,} records {rate:,.0f}/s"
        else:
            text = f"{self.done:,} records {rate:,.0f}/s"
        if self._tty:
            self.out.write("\r" + text + ("\n" if final else ""))
        else:
            self.out.write(text + "\n")
        self.out.flush()


def count_records(path: Path) -> int:
    with path.open("rb") as handle:
        lines = sum(1 for raw in handle if raw.strip())
    return lines - 1 if path.suffix.lower() == ".csv" and lines else lines


def ingest(path: Path, sink: Sink, *, batch_size: int = 1000, fmt: str = "auto",
           progress: Progress | None = None) -> Summary:
    summary = Summary()
    for batch in batches(read_records(path, fmt), batch_size):
        result = sink([record for _, record in batch])
        summary.records += len(batch)
        summary.accepted += result.accepted
        summary.duplicates += result.duplicates
        summary.rejected.extend((batch[r.index][0], r) for r in result.rejected)
        if progress is not None:
            progress.advance(len(batch))
    if progress is not None:
        progress.finish()
    return summary
