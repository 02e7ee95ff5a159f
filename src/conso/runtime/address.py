"""The HOST:PORT a front end listens on (`--diameter`, `--nchf`)."""

from __future__ import annotations


def parse_listen(value: str, *, example: str = "127.0.0.1:3868") -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets) to (host, port); ValueError says what is wrong."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r}: expected HOST:PORT, e.g. {example}")
    return host.strip("[]"), int(port)
