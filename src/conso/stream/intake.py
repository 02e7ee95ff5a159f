"""The API side of stream mode: POST /usage hands accepted records to JetStream.

Records are validated here (a bad record is answered and kept at once, as without
a stream), grouped by the partition of their line, and published one message per
partition; the answer comes only once JetStream has stored every message. A
message's id is a digest of its records, so a client that retries the same batch
within the stream's duplicate window is stored once; after that, the worker's
record ids still count each record once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import orjson

from conso.engine import BatchResult, Engine
from conso.stream.jetstream import JetStream
from conso.stream.partitions import partition_of

log = logging.getLogger("conso.stream")


def encode_message(records: Sequence[Any]) -> tuple[bytes, str]:
    """A partition's share of a batch as one stream message, and its id."""
    payload = orjson.dumps({"records": list(records)})
    return payload, hashlib.sha256(payload).hexdigest()[:32]


def decode_message(data: bytes) -> list[Any]:
    """The records of a message; a message that is not one (written by something else)
    becomes one record that the engine rejects and keeps, rather than a stuck partition."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        return [data.decode("utf-8", "replace")[:2000]]
    if isinstance(body, dict) and isinstance(body.get("records"), list):
        return list(body["records"])
    return [body]


class StreamIntake:
    def __init__(self, engine: Engine, stream: JetStream) -> None:
        self.engine = engine
        self.stream = stream

    def submit(self, raw_records: Sequence[Any]) -> BatchResult:
        """Validate, publish, and answer once the stream has the records."""
        result, accepted = self.engine.screen(raw_records)
        by_partition: dict[int, list[Any]] = {}
        partitions = self.stream.partitions
        for line, raw in accepted:
            by_partition.setdefault(partition_of(line, partitions), []).append(raw)
        items = []
        for partition, records in sorted(by_partition.items()):
            payload, msg_id = encode_message(records)
            items.append((partition, payload, msg_id))
        if items:
            self.stream.publish(items)
        log.debug("usage batch: %d records to the stream in %d message(s), %d duplicates, "
                  "%d rejected", result.accepted, len(items), result.duplicates,
                  len(result.rejected))
        return result

    def close(self) -> None:
        self.stream.close()
