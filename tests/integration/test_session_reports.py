"""Session reports: a failed commit changes nothing; reports committed together (group
commit) behave as if applied one by one, and one that fails fails alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from conso.bootstrap import Services
from conso.domain.control import Grant
from conso.domain.units import Direction, Service
from conso.errors import NotFound
from conso.network import Report, ReportQueue
from conso.store.base import StoreError


def test_a_failed_commit_leaves_the_session_and_the_usage_as_they_were(
    engine_services: Services, monkeypatch: pytest.MonkeyPatch,
) -> None:
    control = engine_services.control
    line = engine_services.engine.line("+32470000077")
    assert line is not None
    control.set_spending_limit(line, 5, "test")
    assert control.start("s1", line.id, service=Service.SMS, direction=Direction.OUT,
                         country=None, requested=10).granted == 10
    real = engine_services.store.transaction

    @contextmanager
    def broken() -> Iterator[Any]:
        raise StoreError("disk full")
        yield  # pragma: no cover

    monkeypatch.setattr(engine_services.store, "transaction", broken)
    with pytest.raises(StoreError):
        control.update("s1", 10, 10, 1)
    monkeypatch.setattr(engine_services.store, "transaction", real)

    usage = engine_services.engine.usage_summary(engine_services.engine.line(line.id) or line)
    assert usage.services[Service.SMS].used == 0
    # The same report, sent again once the store is back, is counted once.
    assert control.update("s1", 10, 10, 1).granted == 10
    assert control.update("s1", 10, 10, 1).granted == 10
    usage = engine_services.engine.usage_summary(engine_services.engine.line(line.id) or line)
    assert usage.services[Service.SMS].used == 10
    assert control.terminate("s1", 0) == 10 * 80_000


def test_reports_committed_together_see_each_other_and_fail_alone(
    engine_services: Services,
) -> None:
    control = engine_services.control
    line = engine_services.engine.line("+32470000077")
    assert line is not None
    control.set_spending_limit(line, 5, "test")       # 62 SMS at EUR 0.08
    for session_id in ("a", "b"):
        assert control.start(session_id, line.id, service=Service.SMS,
                             direction=Direction.OUT, country=None, requested=10).granted == 10
    answers = control.update_many([
        Report("a", 10, 40, 1),        # uses its 10, asks 40: 62 - 10 - 10 (b's) = 42 left
        Report("nope", 1, 1, 1),       # unknown: fails alone
        Report("b", 10, 40, 1),        # sees a's 40 reserved: 62 - 20 - 40 = 2 left
        Report("a", 10, 40, 1),        # the same report again: the same answer
    ])
    assert answers[0] == Grant(40, False)
    assert isinstance(answers[1], NotFound)
    assert answers[2] == Grant(2, True)
    assert answers[3] == answers[0]
    usage = engine_services.engine.usage_summary(engine_services.engine.line(line.id) or line)
    assert usage.services[Service.SMS].used == 20
    stored = engine_services.store.sessions.get("b")
    assert stored is not None and stored.reserved == 2


def test_the_report_queue_answers_every_report_after_its_commit(engine_services: Services) -> None:
    control = engine_services.control
    line = engine_services.engine.line("+32470000077")
    assert line is not None
    queue = ReportQueue(control)
    queue.start()
    try:
        for n in range(20):
            control.start(f"q{n}", line.id, service=Service.DATA, direction=Direction.OUT,
                          country=None, requested=1000)
        futures = [queue.submit(Report(f"q{n}", 1000, 1000, 1)) for n in range(20)]
        futures.append(queue.submit(Report("missing", 1, 1, None)))
        assert [f.result(timeout=10).granted for f in futures[:20]] == [1000] * 20
        with pytest.raises(NotFound):
            futures[20].result(timeout=10)
    finally:
        queue.stop()
    usage = engine_services.engine.usage_summary(engine_services.engine.line(line.id) or line)
    assert usage.services[Service.DATA].used == 20 * 1000

