"""Free TCP ports for the servers and peers the tests start, safe when pytest-xdist runs
several workers at once (`make test` runs `pytest -n`).

A port chosen by binding port 0 is free when chosen, but it comes from the kernel's
ephemeral range, the same range that every outgoing connection of every process takes
its source port from: between the choice and the server's bind (or while a private
PostgreSQL is stopped and started again on the same port) a connection may take it.
So ports are drawn at random from below the ephemeral range (10000 up to it), which the
kernel never hands out by itself, and checked free. Under xdist that range is cut into
one slice per worker (gw0 the first, gw1 the next...): two workers of one run never
draw the same port. Drawn at random, from a generator of its own (hypothesis seeds the
`random` module), so that two runs at once (two people's `make test`) meet no more
often than two kernel choices would.

This module must not keep sockets open: a port is returned unbound.
"""

from __future__ import annotations

import os
import random
import re
import socket

LOW = 10000
_DEFAULT_EPHEMERAL_LOW = 32768
_ATTEMPTS = 200
_draw = random.SystemRandom()


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ranges:
            return int(ranges.read().split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_EPHEMERAL_LOW


def _worker() -> tuple[int, int] | None:
    """(index, count) of this xdist worker (gw0 is 0); None outside xdist."""
    found = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if found is None or not count.isdigit():
        return None
    return int(found.group(1)), int(count)


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


def _own_range() -> range | None:
    high = _ephemeral_low()
    if high - LOW < 1000:
        return None                    # an unusual ephemeral range: let the kernel choose
    worker = _worker()
    if worker is None:
        return range(LOW, high)
    index, count = worker
    size = (high - LOW) // max(count, index + 1)
    return range(LOW + index * size, LOW + (index + 1) * size)


_range = _own_range()


def free_port() -> int:
    """A port nobody listens on right now, below the ephemeral range (under xdist, in this
    worker's slice of it)."""
    if _range is None:
        return _kernel_port()
    for _ in range(_ATTEMPTS):
        port = _draw.choice(_range)
        if _bindable(port):
            return port
    return _kernel_port()              # all busy: let the kernel choose
