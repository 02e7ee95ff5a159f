"""Free TCP ports for the servers and peers the tests start, safe when pytest-xdist runs
several workers at once (`make test` runs `pytest -n`).

A port chosen by binding port 0 is free when chosen, but it comes from the kernel's
ephemeral range, the same range that every outgoing connection of every process takes
its source port from, and that every other worker's port 0 draws from: between the
choice and the server's bind (or while a private PostgreSQL is stopped and restarted on
the same port) another worker may take it. So under xdist each worker draws its ports
from its own slice of the ports below the ephemeral range, which nothing else hands out:
worker gw0 from 20000-20999, gw1 from 21000-21999, and so on. Outside xdist (one pytest
process, as when one test file is run) the kernel chooses, as before.

This module must not keep sockets open: a port is returned unbound.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import socket
from collections.abc import Iterator

SLICE_BASE = 20000
SLICE_SIZE = 1000
_DEFAULT_EPHEMERAL_LOW = 32768


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ranges:
            return int(ranges.read().split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_EPHEMERAL_LOW


def _worker_index() -> int | None:
    """0 for xdist's gw0, 1 for gw1...; None outside xdist."""
    found = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    return int(found.group(1)) if found else None


def _kernel_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _bindable(port: int) -> bool:
    """Nobody listens on it, nor holds it in a connection (no SO_REUSEADDR: a port with a
    connection in TIME_WAIT is skipped too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _slice_ports(worker: int) -> Iterator[int] | None:
    low = SLICE_BASE + worker * SLICE_SIZE
    if low + SLICE_SIZE > _ephemeral_low():
        return None          # more workers than slices below the ephemeral range
    # Round the slice from a random start: a port just released (its server stopped)
    # comes back last.
    ports = list(range(low, low + SLICE_SIZE))
    start = random.randrange(SLICE_SIZE)
    return itertools.cycle(ports[start:] + ports[:start])


_worker = _worker_index()
_ports = _slice_ports(_worker) if _worker is not None else None


def free_port() -> int:
    """A port nobody listens on right now, from this worker's own slice under xdist."""
    if _ports is None:
        return _kernel_port()
    for _ in range(SLICE_SIZE):
        port = next(_ports)
        if _bindable(port):
            return port
    return _kernel_port()    # the whole slice busy: let the kernel choose
