"""How the line space is cut into partitions, and the names that follow from it.

Pure functions and constants: a line's partition, the subject that carries a
partition's messages, the durable consumer that reads it. Every process (API, workers,
tools) must agree on them, so they are stable across processes and Python versions.
This module must do no I/O and import nothing of NATS.
"""

from __future__ import annotations

import re
import zlib

__all__ = [
    "SUBJECT_PREFIX",
    "check_prefix",
    "consumer_name",
    "partition_of",
    "stream_subjects",
    "subject_of",
]

SUBJECT_PREFIX = "conso.usage"

_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


def partition_of(line_id: str, partitions: int) -> int:
    """The partition of a line: stable across processes and Python versions (CRC-32)."""
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, not {partitions}")
    return zlib.crc32(line_id.encode()) % partitions


def subject_of(partition: int, prefix: str = SUBJECT_PREFIX) -> str:
    """The subject that carries one partition's messages."""
    return f"{prefix}.{partition}"


def stream_subjects(prefix: str = SUBJECT_PREFIX) -> list[str]:
    """The subjects of a stream that carries every partition under ``prefix``."""
    return [f"{prefix}.*"]


def consumer_name(partition: int) -> str:
    """The durable pull consumer that reads one partition."""
    return f"conso-p{partition}"


def check_prefix(prefix: str) -> None:
    """Raise ValueError unless prefix is dot-separated tokens of letters, digits, _ and -."""
    if not _PREFIX_RE.match(prefix):
        raise ValueError(f"invalid subject prefix {prefix!r}")
