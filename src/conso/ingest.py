"""Feeding record files (NDJSON or CSV) to conso, in batches, with progress.

Records go either to a running server over HTTP (`--url`), or straight into a
store through the engine when no server holds it. Re-sending a batch is safe:
record ids make ingestion idempotent, so a batch whose answer was lost in a
network error is simply sent again.

The file is read one physical line at a time, as bytes, each line decoded alone: a
line that is not UTF-8, not JSON, or not a CSV row of the header's columns is a
rejection with its line number, never sent, and the lines after it go on. A CSV
record therefore holds no line break. No record is validated here (the engine does).
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

import orjson

from conso.engine import BatchResult, Engine, Rejection

_CSV_INTS = ("quantity", "amount_cents")
_RETRIES = 4


@dataclass
class Summary:
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, Rejection]] = field(default_factory=list)  # (file line, why)


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line of the file that is no record (not UTF-8, not JSON, a broken CSV row):
    rejected here, with why, and never sent; the lines after it go on."""

    error: str
    id: str | None = None


class BadHeader(RuntimeError):
    """A CSV file whose first line cannot name its columns: no row can be read."""


def _csv_record(row: dict[str, str], ints: tuple[str, ...] = _CSV_INTS) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in row.items():
        if value == "":
            continue
        if key in ints:
            try:
                record[key] = int(value)
            except ValueError:
                record[key] = value  # left for validation to reject with the field's name
        else:
            record[key] = value
    return record


def _lines(path: Path) -> Iterator[tuple[int, str | BadLine]]:
    """The file's non-blank lines, by number, each decoded alone: a line that is not
    UTF-8 is a `BadLine` and the next one is read as if nothing happened."""
    with path.open("rb") as handle:
        for number, read in enumerate(handle, start=1):
            # Spreadsheets often start a "CSV UTF-8" file with a byte order mark.
            raw = (read.removeprefix(b"\xef\xbb\xbf") if number == 1 else read).rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, BadLine(f"record: not UTF-8 (byte 0x{raw[exc.start]:02x} at "
                                      f"position {exc.start + 1} of the line)")


def _csv_row(text: str) -> list[str] | str:
    """One physical line as CSV fields, or why it is no CSV row: a quote left open is
    this row's fault and swallows nothing after it (a record holds no line break)."""
    try:
        return next(csv.reader([text], strict=True), [])
    except csv.Error as exc:
        if str(exc) == "unexpected end of data":
            return "a quoted field is not closed on its line"
        return str(exc)


def _csv_records(lines: Iterable[tuple[int, str | BadLine]], path: Path,
                 ints: tuple[str, ...] = _CSV_INTS) -> Iterator[tuple[int, Any]]:
    columns: list[str] | None = None
    for number, text in lines:
        if columns is None:
            header = _csv_row(text) if isinstance(text, str) else text.error
            if not isinstance(header, list):
                raise BadHeader(f"{path}: line {number}: the CSV header cannot be read: "
                                f"{header.removeprefix('record: ')}")
            columns = header
            continue
        if isinstance(text, BadLine):
            yield number, text
            continue
        row = _csv_row(text)
        if not isinstance(row, list):
            yield number, BadLine(f"record: not a CSV row: {row}")
            continue
        if len(row) > len(columns):
            record_id = row[columns.index("id")] if "id" in columns else None
            yield number, BadLine(f"record: {len(row)} columns, the header names "
                                  f"{len(columns)}", record_id or None)
            continue
        # A short row leaves its last columns empty (optional fields left off).
        yield number, _csv_record(dict(zip(columns, row, strict=False)), ints)


def _ndjson_records(lines: Iterable[tuple[int, str | BadLine]]) -> Iterator[tuple[int, Any]]:
    for number, text in lines:
        if isinstance(text, BadLine):
            yield number, text
            continue
        try:
            # As the API decodes a body: strict JSON, no NaN, no lone surrogate.
            yield number, orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield number, BadLine(f"record: not valid JSON ({exc.msg} at position "
                                  f"{exc.colno} of the line)")


def read_records(path: Path, fmt: str = "auto",
                 ints: tuple[str, ...] = _CSV_INTS) -> Iterator[tuple[int, Any]]:
    """(line number, decoded record) pairs, one physical line each; a line that is no
    record yields a `BadLine`. CSV columns named in `ints` hold whole numbers (an empty
    cell is left out). A CSV file whose header cannot be read raises `BadHeader`."""
    if fmt == "auto":
        fmt = "csv" if path.suffix.lower() == ".csv" else "ndjson"
    if fmt == "csv":
        return _csv_records(_lines(path), path, ints)
    return _ndjson_records(_lines(path))


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


def post_ndjson(endpoint: str, key: str, items: list[Any], timeout: float = 60.0) -> Any:
    """POST items as NDJSON with the operator key; the decoded answer. A 5xx or a
    network error is retried with backoff (a batch is idempotent); a 4xx, or the last
    failure, raises RuntimeError saying what the server answered."""
    body = b"\n".join(json.dumps(item).encode() for item in items)
    for attempt in range(_RETRIES + 1):
        request = urllib.request.Request(endpoint, data=body, method="POST", headers={
            "Content-Type": "application/x-ndjson", "Authorization": f"Bearer {key}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt == _RETRIES:
                detail = exc.read().decode(errors="replace")
                raise RuntimeError(f"{endpoint} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            if attempt == _RETRIES:
                raise RuntimeError(f"cannot reach {endpoint}: {exc}") from None
        time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


def http_sink(url: str, key: str, timeout: float = 60.0) -> Sink:
    endpoint = url.rstrip("/") + "/api/v1/usage"

    def send(records: list[Any]) -> BatchResult:
        answer = post_ndjson(endpoint, key, records, timeout)
        return BatchResult(
            accepted=answer["accepted"], duplicates=answer["duplicates"],
            rejected=[Rejection(r["index"], r.get("id"), r["error"]) for r in answer["rejected"]],
        )

    return send


class Progress:
    """A one-line progress bar on a terminal, a line every few seconds otherwise."""

    def __init__(self, total: int | None, out: TextIO = sys.stderr, *,
                 unit: str = "records") -> None:
        self.total = total
        self.unit = unit
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
            text = (f"[{bar:<30}] {share:6.1%} {self.done:,}/{self.total:,} {self.unit} "
                    f"{rate:,.0f}/s")
        else:
            text = f"{self.done:,} {self.unit} {rate:,.0f}/s"
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
    """Feed the file's records in batches; lines that are no record are rejected here,
    by their number, and the rest of the file goes on."""
    summary = Summary()
    for batch in batches(read_records(path, fmt), batch_size):
        sent = [(number, item) for number, item in batch if not isinstance(item, BadLine)]
        rejected = [(number, Rejection(index, item.id, item.error))
                    for index, (number, item) in enumerate(batch) if isinstance(item, BadLine)]
        if sent:
            result = sink([record for _, record in sent])
            summary.accepted += result.accepted
            summary.duplicates += result.duplicates
            rejected.extend((sent[r.index][0], r) for r in result.rejected)
        summary.records += len(batch)
        summary.rejected.extend(sorted(rejected, key=lambda item: item[0]))
        if progress is not None:
            progress.advance(len(batch))
    if progress is not None:
        progress.finish()
    return summary
