"""A fresh PostgreSQL database per test, or a clear skip when there is no server.

CI sets CONSO_REQUIRE_SERVICES=1: there a missing server fails instead of skipping.
CONSO_TEST_POSTGRES_URL names the server (default: trust auth on 127.0.0.1:5432).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADMIN_URL = os.environ.get("CONSO_TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/test")


def _admin() -> object:
    try:
        import psycopg

        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # no driver, no server, no rights: all mean "not here"
        reason = f"PostgreSQL not reachable at {ADMIN_URL}: {exc}"
        if os.environ.get("CONSO_REQUIRE_SERVICES") == "1":
            pytest.fail(reason + " (CONSO_REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(reason)


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create an empty database, yield its URL, drop it afterwards."""
    admin = _admin()
    name = f"conso_t_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    base, _, _ = ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
        admin.close()  # type: ignore[attr-defined]
