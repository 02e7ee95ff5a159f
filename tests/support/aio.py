"""Running a coroutine from a test, whatever else runs: the browser tests' Playwright
session keeps an event loop running on the main thread for the rest of the suite, and
asyncio.run() refuses to start another there. The coroutine gets a thread of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(1) as apart:
        return apart.submit(asyncio.run, coroutine).result()
