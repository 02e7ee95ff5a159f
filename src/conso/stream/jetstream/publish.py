"""Publishing usage messages to the stream and waiting for JetStream's acks.

Guarantees and their limits:

* ``Publisher.publish`` sends the items of one call in order on one connection, so
  messages of a partition are stored in the order they were given; a retried publish
  with the same message ids within the duplicate window (2 minutes) is stored once.
* It returns only once JetStream acknowledged every item; a StreamError means some may
  be stored and others not, so the caller retries all with the same ids.
* It fails fast: at once while the connection is down (nats-py reconnecting), and after
  ``timeout`` (CONSO_STREAM_PUBLISH_TIMEOUT, 2 s by default) when acks do not come, so
  that an API node answers 503 quickly instead of holding its client.

This module must not choose partitions or subjects (the caller gives subjects, see
``conso.stream.partitions``), nor create or check the stream (admin.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import nats.errors
from nats.js.api import Header, PubAck

from conso.stream.jetstream.connection import Connection, StreamError, describe

__all__ = ["Publisher"]


class Publisher:
    """Publishes to one stream over one connection; thread-safe, one sender at a time."""

    def __init__(self, conn: Connection, stream: str, *, timeout: float = 2.0) -> None:
        if timeout <= 0:
            raise ValueError(f"publish timeout must be > 0, not {timeout}")
        self._conn = conn
        self.stream = stream
        self.timeout = timeout
        self._lock: asyncio.Lock | None = None  # created on the loop

    def publish(self, items: Sequence[tuple[str, bytes, str]]) -> list[int]:
        """Publish (subject, payload, msg_id) items and wait for every ack.

        Returns their stream sequences, in the order of ``items``. The items are sent in
        order and acknowledged concurrently. ``msg_id`` goes in the Nats-Msg-Id header: a
        retry within the duplicate window is stored once (its ack carries the original
        sequence). Raises StreamError at once when the connection is down, and when any
        item is not acknowledged within the publish timeout.
        """
        if not items:
            return []
        what = f"publishing {len(items)} message(s) to stream {self.stream}"
        if self._conn.closed:
            raise StreamError(f"{what} at {self._conn.where}: connection closed")
        if not self._conn.nc.is_connected:
            # Reconnecting: an ack cannot come before NATS is back; say so now.
            raise StreamError(f"{what} at {self._conn.where}: not connected to NATS "
                              "(reconnecting)")
        return self._conn.run(self._publish(list(items)), what, timeout=self.timeout)

    async def _publish(self, items: list[tuple[str, bytes, str]]) -> list[int]:
        js = self._conn.js
        timeout = self.timeout
        where = self._conn.where
        if self._lock is None:
            self._lock = asyncio.Lock()
        futures: list[asyncio.Future[PubAck]] = []
        try:
            # One sender at a time: keeps each call's items contiguous and in order, and
            # nats-py's lazy set-up of the shared ack inbox is not safe when concurrent.
            async with self._lock:
                for subject, payload, msg_id in items:
                    headers = {Header.MSG_ID.value: msg_id} if msg_id else None
                    futures.append(await js.publish_async(
                        subject, payload, wait_stall=timeout, stream=self.stream,
                        headers=headers))
            acks = await asyncio.wait_for(
                asyncio.gather(*futures, return_exceptions=True), timeout)
        except (nats.errors.Error, OSError) as exc:  # stalled, disconnected or timed out
            acked = sum(_acked(future) for future in futures)
            for future in futures:
                future.cancel()
            raise StreamError(
                f"publishing {len(items)} message(s) to stream {self.stream} at {where}: "
                f"{len(items) - acked} not acknowledged within {timeout:g} s "
                f"({describe(exc)})") from exc
        seqs: list[int] = []
        failed: list[BaseException] = []
        for ack in acks:
            if isinstance(ack, BaseException):
                failed.append(ack)
            else:
                seqs.append(ack.seq)
        if failed:
            raise StreamError(
                f"publishing {len(items)} message(s) to stream {self.stream} at {where}: "
                f"{len(failed)} not acknowledged ({describe(failed[0])})")
        return seqs


def _acked(future: asyncio.Future[PubAck]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None
