"""What every test of the suite shares, whether it runs alone or under pytest-xdist.

`make test` runs the tests marked `serial` alone, then all the others on several workers
at once (`pytest -n`, one file per worker at a time): see the Makefile and README "Tests".
This module keeps that safe:
- Hypothesis's per-example deadline (200 ms by default) is lifted, and its "too slow"
  health check silenced: both measure the machine, which another worker (or another
  person) loads, and no test here asserts a time through them. A test that sets its
  own `@settings(deadline=...)` keeps it.
- The tests that need the machine to themselves are marked `serial` here, by file, when
  their own file does not say it (a test file may also write
  `pytestmark = pytest.mark.serial`).

It must not start anything: fixtures live next to the tests that use them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("conso", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("conso")

TESTS = Path(__file__).resolve().parent

# Files whose tests measure the machine: run by `make test` before the parallel run,
# with nothing else of the suite running. Each says why.
SERIAL_FILES = {
    # Lighthouse's performance score (>= 90) is computed from the page's main-thread
    # work as measured on this machine: another worker's load costs it points.
    "e2e/test_lighthouse.py",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            where = item.path.resolve().relative_to(TESTS).as_posix()
        except ValueError:
            continue
        if where in SERIAL_FILES:
            item.add_marker(pytest.mark.serial)
