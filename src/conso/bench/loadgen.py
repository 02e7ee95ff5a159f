"""What the bench's load processes share: CPU time read from /proc, latency
percentiles, and connecting to a server that may still be starting."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

_P = TypeVar("_P", bound=asyncio.Protocol)


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user and system) of a process so far; of this one when pid is None."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(ordered: Sequence[float], share: float) -> float:
    """The value below which `share` of the sorted values fall; 0 when there are none."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def connect(port: int, factory: Callable[[], _P], *, within: float = 30.0) -> _P:
    """A connection to 127.0.0.1:port, retried for `within` seconds while it is refused."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + within
    while True:
        try:
            _, protocol = await loop.create_connection(factory, "127.0.0.1", port)
            return protocol
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
