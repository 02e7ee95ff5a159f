"""`conso provision FILE`: accounts, users and lines from an NDJSON or CSV file, in
batches, with progress and a summary (the items of `POST /api/v1/provision`).

An NDJSON line is one item (`{"type": "line", "line_id": ..., ...}`); a CSV file has a
header naming the items' fields (`type,account_id,name,kind,login,password,role,email,
language,line_id,plan,user,cycle_day,imsi`), an empty cell leaving the field out. The
items go to a running server (`--url`, POST /api/v1/provision) or straight into a store
through the engine. The file is read as `conso ingest` reads one (ingest.py): a line
that is no item is rejected by its number and the rest goes on. Sending a file again
changes nothing: provisioning is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conso.engine import Engine
from conso.engine.bulk import MAX_ITEMS, ProvisionResult, provision
from conso.ingest import BadLine, Progress, batches, post_ndjson, read_records

Sink = Callable[[list[Any]], ProvisionResult]
CSV_INTS = ("cycle_day",)


@dataclass
class ProvisionSummary:
    items: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)   # (file line, why)


def engine_sink(engine: Engine) -> Sink:
    return lambda items: provision(engine, items)


def http_sink(url: str, key: str, timeout: float = 300.0) -> Sink:
    endpoint = url.rstrip("/") + "/api/v1/provision"

    def send(items: list[Any]) -> ProvisionResult:
        answer = post_ndjson(endpoint, key, items, timeout)
        return ProvisionResult(answer["created"], answer["updated"], answer["unchanged"],
                               [(r["index"], r["error"]) for r in answer["rejected"]])

    return send


def provision_file(path: Path, sink: Sink, *, batch_size: int = MAX_ITEMS,
                   fmt: str = "auto", progress: Progress | None = None) -> ProvisionSummary:
    """Apply the file's items in batches, in the file's order (an account before the
    lines that name it, whichever batch they fall in)."""
    summary = ProvisionSummary()
    for batch in batches(read_records(path, fmt, CSV_INTS), min(batch_size, MAX_ITEMS)):
        sent = [(number, item) for number, item in batch if not isinstance(item, BadLine)]
        rejected = [(number, item.error.replace("record: ", "item: ", 1))
                    for number, item in batch if isinstance(item, BadLine)]
        if sent:
            result = sink([item for _, item in sent])
            summary.created += result.created
            summary.updated += result.updated
            summary.unchanged += result.unchanged
            rejected.extend((sent[index][0], error) for index, error in result.rejected)
        summary.items += len(batch)
        summary.rejected.extend(sorted(rejected))
        if progress is not None:
            progress.advance(len(batch))
    if progress is not None:
        progress.finish()
    return summary
