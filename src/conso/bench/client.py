"""Load from other threads over loopback: keep-alive HTTP/1.1 connections."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson


class Client:
    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {key}", "Connection": "keep-alive"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json") -> Any:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        for attempt in range(3):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt == 2:
                    raise
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
        return orjson.loads(data) if data else None

    def close(self) -> None:
        self.conn.close()


@dataclass
class Timings:
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    count: int = 0

    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_parallel(port: int, key: str, workers: int, jobs: Iterable[Any],
                 work: Callable[[Client, Any], int]) -> Timings:
    """Hand jobs to `workers` threads; `work` returns how many operations a job was."""
    queue = list(jobs)
    lock = threading.Lock()
    timings = Timings()
    errors: list[BaseException] = []

    def worker() -> None:
        client = Client(port, key)
        try:
            while not errors:
                with lock:
                    if not queue:
                        return
                    job = queue.pop()
                started = time.perf_counter()
                done = work(client, job)
                spent = time.perf_counter() - started
                with lock:
                    timings.latencies.append(spent)
                    timings.count += done
        except BaseException as exc:  # reported once, after every worker stopped
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"a load worker failed: {errors[0]}") from errors[0]
    return timings
