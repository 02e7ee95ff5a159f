"""A session report whose commit fails changes nothing: not the store, not memory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conso.bootstrap import Services, Settings, build
from conso.domain.units import Direction, Service
from conso.store.base import StoreError


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build(Settings(db=f"sqlite:///{tmp_path}/c.db", operator_key="k"))
    built.engine.put_account("a", name="A", kind="business")
    built.engine.put_line("+32470000077", account_id="a", plan_id="payg", user_login=None,
                          cycle_day=None)
    yield built
    built.close()


def test_a_failed_commit_leaves_the_session_and_the_usage_as_they_were(
    services: Services, monkeypatch: pytest.MonkeyPatch,
) -> None:
    control = services.control
    line = services.engine.line("+32470000077")
    assert line is not None
    control.set_spending_limit(line, 5, "test")
    assert control.start("s1", line.id, service=Service.SMS, direction=Direction.OUT,
                         country=None, requested=10).granted == 10
    real = services.store.transaction

    @contextmanager
    def broken() -> Iterator[Any]:
        raise StoreError("disk full")
        yield  # pragma: no cover

    monkeypatch.setattr(services.store, "transaction", broken)
    with pytest.raises(StoreError):
        control.update("s1", 10, 10, 1)
    monkeypatch.setattr(services.store, "transaction", real)

    usage = services.engine.usage_summary(services.engine.line(line.id) or line)
    assert usage.services[Service.SMS].used == 0
    # The same report, sent again once the store is back, is counted once.
    assert control.update("s1", 10, 10, 1).granted == 10
    assert control.update("s1", 10, 10, 1).granted == 10
    usage = services.engine.usage_summary(services.engine.line(line.id) or line)
    assert usage.services[Service.SMS].used == 10
    assert control.terminate("s1", 0) == 10 * 80_000
