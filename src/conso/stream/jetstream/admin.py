"""The usage stream itself: create it, check it, read its state, delete it.

A missing stream is created (subjects ``{prefix}.*``, work-queue retention, file
storage, 2-minute duplicate window, discard old) with its partition count recorded on
it; an existing one is checked (subjects, retention, a recorded count) and keeps its
count. ``stream_info`` and ``delete_stream`` open a connection of their own, for
monitoring, tests and the bench.

This module must not publish or consume messages (publish.py, consume.py do).
"""

from __future__ import annotations

import logging
import re

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo

from conso.stream.jetstream.connection import Connection, StreamError, describe
from conso.stream.partitions import SUBJECT_PREFIX, stream_subjects

__all__ = [
    "DEFAULT_STREAM",
    "DUPLICATE_WINDOW",
    "delete_stream",
    "ensure_stream",
    "read_info",
    "stream_info",
]

DEFAULT_STREAM = "CONSO_USAGE"
DUPLICATE_WINDOW = 120.0  # seconds during which a Nats-Msg-Id is remembered

_META_KEY = "conso_partitions"
_DESCRIPTION_RE = re.compile(r"\b(\d+) partitions\b")

log = logging.getLogger(__name__)


def ensure_stream(conn: Connection, stream: str, partitions: int | None,
                  prefix: str = SUBJECT_PREFIX) -> int:
    """Create the stream if missing, check it if not; returns its partition count.

    A missing stream needs ``partitions``; an existing one keeps its count, which
    ``partitions``, when given, must equal. Raises StreamError otherwise.
    """
    return conn.run(_ensure_stream(conn, stream, partitions, prefix), f"ensuring stream {stream}")


def read_info(conn: Connection, stream: str) -> dict[str, int]:
    """{"messages": n, "partitions": p, "last_seq": s} of a stream, over an open connection."""
    return _info_dict(conn.run(conn.js.stream_info(stream), f"reading stream {stream}"))


def stream_info(url: str, stream: str = DEFAULT_STREAM, *,
                timeout: float = 10.0) -> dict[str, int]:
    """{"messages": n, "partitions": p, "last_seq": s} of a stream, for monitoring and tests."""
    conn = Connection(url, timeout, f"nats-info-{stream}")
    try:
        try:
            info = conn.run(conn.js.stream_info(stream), f"reading stream {stream}")
        except StreamError as exc:
            if isinstance(exc.__cause__, nats.js.errors.NotFoundError):
                raise StreamError(f"stream {stream} not found at {conn.where}") from None
            raise
        return _info_dict(info)
    finally:
        conn.close()


def delete_stream(url: str, stream: str, *, timeout: float = 10.0) -> bool:
    """Delete a stream and its consumers; False when there was none (tests, bench)."""
    conn = Connection(url, timeout, f"nats-admin-{stream}")
    try:
        try:
            return conn.run(conn.js.delete_stream(stream), f"deleting stream {stream}")
        except StreamError as exc:
            if isinstance(exc.__cause__, nats.js.errors.NotFoundError):
                return False
            raise
    finally:
        conn.close()


async def _ensure_stream(conn: Connection, stream: str, partitions: int | None,
                         prefix: str) -> int:
    js: JetStreamContext = conn.js
    try:
        info = await js.stream_info(stream)
    except nats.js.errors.NotFoundError:
        if partitions is None:
            raise StreamError(
                f"stream {stream} does not exist at {conn.where} and no partition "
                "count was given to create it") from None
        config = StreamConfig(
            name=stream,
            description=f"conso usage, {partitions} partitions",
            subjects=stream_subjects(prefix),
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW,
            metadata={_META_KEY: str(partitions)},
        )
        try:
            info = await js.add_stream(config)
            log.info("created stream %s (%d partitions) at %s", stream, partitions, conn.where)
        except nats.js.errors.BadRequestError as exc:
            # Another process may have created it first, with another configuration.
            try:
                info = await js.stream_info(stream)
            except nats.js.errors.NotFoundError:
                raise StreamError(f"cannot create stream {stream} at {conn.where}: "
                                  f"{describe(exc)}") from exc
    return _check_stream(info, stream, partitions, prefix, conn.where)


def _check_stream(info: StreamInfo, stream: str, partitions: int | None, prefix: str,
                  where: str) -> int:
    config = info.config
    subjects = stream_subjects(prefix)
    if config.subjects != subjects:
        raise StreamError(f"stream {stream} at {where} has subjects "
                          f"{config.subjects}, expected {subjects}")
    if config.retention != RetentionPolicy.WORK_QUEUE:
        raise StreamError(f"stream {stream} at {where} has retention "
                          f"{config.retention}, expected workqueue")
    stored = _stored_partitions(config)
    if stored is None:
        raise StreamError(f"stream {stream} at {where} records no partition count "
                          f"(metadata {_META_KEY} or description 'N partitions')")
    if partitions is not None and partitions != stored:
        raise StreamError(f"stream {stream} at {where} has {stored} partitions, "
                          f"but {partitions} were asked for")
    return stored


def _stored_partitions(config: StreamConfig) -> int | None:
    """The partition count recorded on the stream: metadata (server >= 2.10), else description.

    Servers before 2.10 silently drop stream metadata, hence the description as well.
    """
    if config.metadata and config.metadata.get(_META_KEY, "").isdigit():
        return int(config.metadata[_META_KEY])
    match = _DESCRIPTION_RE.search(config.description or "")
    return int(match.group(1)) if match else None


def _info_dict(info: StreamInfo) -> dict[str, int]:
    return {
        "messages": info.state.messages,
        "partitions": _stored_partitions(info.config) or 0,
        "last_seq": info.state.last_seq,
    }
