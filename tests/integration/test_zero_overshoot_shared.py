"""The zero-overshoot state machine (tests/unit/test_zero_overshoot.py) on a shared
PostgreSQL engine: every command locks the line's row and reads usage and reservations
from the store instead of memory, and the same invariants must hold."""

from __future__ import annotations

import contextlib
from dataclasses import replace

from hypothesis import HealthCheck, settings

from conso.bootstrap import Services, Settings, build
from unit.test_zero_overshoot import VALIDITY, ZeroOvershoot

from .pg_support import fresh_database


class SharedZeroOvershoot(ZeroOvershoot):
    def open_services(self) -> Services:
        self.databases = contextlib.ExitStack()
        url = self.databases.enter_context(fresh_database())
        base = Settings(db=url, operator_key="k", session_validity=VALIDITY)
        return build(replace(base, shared=True), clock=lambda: self.clock[0])

    def teardown(self) -> None:
        super().teardown()
        self.databases.close()


SharedZeroOvershoot.TestCase.settings = settings(
    max_examples=12, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestSharedZeroOvershoot = SharedZeroOvershoot.TestCase
