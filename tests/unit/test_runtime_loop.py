"""The runtime bridge (conso.runtime.LoopThread): synchronous threads driving an asyncio loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from conso.runtime import LoopClosedError, LoopThread, LoopTimeoutError


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    bridge = LoopThread("test-runtime-loop")
    try:
        yield bridge
    finally:
        bridge.close(timeout=5)


async def _answer(value: int) -> int:
    await asyncio.sleep(0)
    return value


async def _fail() -> None:
    await asyncio.sleep(0)
    raise KeyError("no such line")


async def _raise_timeout() -> None:
    raise TimeoutError("the coroutine's own timeout")


def test_run_returns_the_coroutine_value(loop: LoopThread) -> None:
    assert loop.run(_answer(42)) == 42
    assert loop.submit(_answer(7)).result(timeout=5) == 7


def test_run_raises_the_coroutine_exception_as_is(loop: LoopThread) -> None:
    with pytest.raises(KeyError, match="no such line"):
        loop.run(_fail())


def test_a_timeout_of_the_coroutine_is_not_the_bridge_timeout(loop: LoopThread) -> None:
    with pytest.raises(TimeoutError, match="own timeout") as caught:
        loop.run(_raise_timeout(), timeout=5)
    assert not isinstance(caught.value, LoopTimeoutError)


def test_run_times_out_and_cancels_the_coroutine(loop: LoopThread) -> None:
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(LoopTimeoutError, match=r"no answer within 0\.05 s"):
        loop.run(forever(), timeout=0.05)
    assert cancelled.wait(5)
    assert loop.run(_answer(1)) == 1  # the loop still serves


def test_close_joins_the_thread_and_is_idempotent() -> None:
    bridge = LoopThread("test-runtime-close")
    threads = [t for t in threading.enumerate() if t.name == "test-runtime-close"]
    assert len(threads) == 1
    assert not bridge.closed
    bridge.close(timeout=5)
    bridge.close(timeout=5)
    assert bridge.closed
    assert not threads[0].is_alive()


def test_submit_and_run_after_close_raise_loop_closed() -> None:
    bridge = LoopThread("test-runtime-closed")
    bridge.close(timeout=5)
    with pytest.raises(LoopClosedError):
        bridge.submit(_answer(1))
    with pytest.raises(LoopClosedError):
        bridge.run(_answer(1))


def test_close_while_a_thread_waits_raises_loop_closed_in_that_thread() -> None:
    bridge = LoopThread("test-runtime-close-waiting")
    started = threading.Event()
    outcome: list[BaseException] = []

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    def wait() -> None:
        try:
            bridge.run(forever())
        except BaseException as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert started.wait(5)
    bridge.close(timeout=5)
    waiter.join(5)
    assert len(outcome) == 1
    assert isinstance(outcome[0], LoopClosedError)


def test_blocking_run_from_the_loop_thread_is_refused(loop: LoopThread) -> None:
    async def reentrant() -> str:
        try:
            loop.run(_answer(1))
        except RuntimeError as exc:
            return str(exc)
        return "not refused"

    assert "its own event-loop thread" in loop.run(reentrant())
