"""The NATS server of the stream tests, or a clear skip when there is none.

CI sets CONSO_REQUIRE_SERVICES=1: there a missing server fails instead of skipping.
CONSO_TEST_NATS_URL names the server (default: JetStream on 127.0.0.1:4222).
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

NATS_URL = os.environ.get("CONSO_TEST_NATS_URL", "nats://127.0.0.1:4222")


def require_nats() -> None:
    split = urlsplit(NATS_URL)
    address = (split.hostname or "127.0.0.1", split.port or 4222)
    try:
        socket.create_connection(address, timeout=3).close()
    except OSError as exc:
        reason = f"NATS not reachable at {address[0]}:{address[1]}: {exc}"
        if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
            pytest.fail(reason + " (CONSO_REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(reason)
