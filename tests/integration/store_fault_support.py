"""Traffic for the store-fault tests: usage batches sent from a thread without pause, each
retried with the same record ids until it is answered 200 (as a network's mediation
does), with a read and an authorize between batches. Every answer is kept; the thread
asserts nothing (the test does), it notes what breaks the rules of a store fault: an
answer other than 200 or a 503 problem+json with Retry-After, or one slower than the
bound."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from .helpers import PROBLEM_JSON, Server, now_utc, rfc3339

# No answer may take longer than this, fault or not (a hang is a failure).
ANSWER_BOUND_S = 15.0
BATCH = 20
KB = 1000


@dataclass(frozen=True)
class Answer:
    what: str          # "usage", "read", "authorize"
    status: int        # -1: no answer within the bound; 0: the connection failed
    sent: float        # time.monotonic() when sent
    took: float


@dataclass
class Traffic:
    server: Server
    lines: list[str]
    answers: list[Answer] = field(default_factory=list)
    # Records of the batches answered 200: id -> (line, bytes).
    answered: dict[str, tuple[str, int]] = field(default_factory=dict)
    # Every batch sent, by its first record's id, and those answered 503 at least once.
    batches: dict[str, list[str]] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    pending: list[dict[str, Any]] | None = None   # the batch not answered 200 yet
    violations: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _paused: threading.Event = field(default_factory=threading.Event)
    _idle: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _numbers: Any = field(default_factory=itertools.count)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._paused.clear()
        if self._thread is not None:
            self._thread.join(ANSWER_BOUND_S * 3)
            assert not self._thread.is_alive(), "the traffic thread did not stop"

    def pause(self) -> None:
        """Send nothing more once the request in flight is answered (returns then)."""
        self._idle.clear()
        self._paused.set()
        assert self._idle.wait(ANSWER_BOUND_S * 3), "the traffic thread did not pause"

    def resume(self) -> None:
        self._paused.clear()

    def usage_answers(self) -> list[Answer]:
        return [a for a in list(self.answers) if a.what == "usage"]

    def wait_for(self, status: int, *, after: float, timeout: float) -> Answer:
        """The first usage answer with `status` sent after `after` (monotonic time)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for answer in self.usage_answers():
                if answer.status == status and answer.sent >= after:
                    return answer
            time.sleep(0.02)
        seen = sorted({a.status for a in self.usage_answers() if a.sent >= after})
        raise AssertionError(f"no usage answer {status} within {timeout}s (seen: {seen}); "
                             f"violations: {self.violations[:5]}\n{self.server.stderr()[-3000:]}")

    def drain(self) -> None:
        """Send the batch still refused until it is answered 200 (the traffic stopped)."""
        with self.server.operator() as client:
            end = time.monotonic() + ANSWER_BOUND_S * 2
            while self.pending is not None and time.monotonic() < end:
                self._send(client, self.pending)
                if self.pending is not None:
                    time.sleep(0.2)
        assert self.pending is None, "a batch was never answered 200"

    # -- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        client = httpx.Client(base_url=self.server.base_url, timeout=ANSWER_BOUND_S,
                              headers={"Authorization": f"Bearer {self.server.operator_key}"})
        try:
            for n in itertools.count():
                if self._stop.is_set():
                    return
                if self._paused.is_set():
                    self._idle.set()
                    time.sleep(0.01)
                    continue
                batch = self.pending if self.pending is not None else self._new_batch()
                self._send(client, batch)
                line = self.lines[n % len(self.lines)]
                self._call(client, "read", "GET", f"/api/v1/lines/{line}/usage", None)
                self._call(client, "authorize", "POST", "/api/v1/authorize",
                           {"line": line, "service": "data"})
                if self.pending is not None:
                    time.sleep(0.05)   # refused: again soon (Retry-After is a ceiling here)
        finally:
            client.close()

    def _new_batch(self) -> list[dict[str, Any]]:
        at = rfc3339(now_utc())
        batch = []
        for _ in range(BATCH):
            n = next(self._numbers)
            batch.append({"id": f"fault-{self._tag}-{n}", "line": self.lines[n % len(self.lines)],
                          "service": "data", "quantity": (n % 7 + 1) * KB, "at": at})
        self.batches[batch[0]["id"]] = [r["id"] for r in batch]
        return batch

    def _send(self, client: httpx.Client, batch: list[dict[str, Any]]) -> None:
        answer = self._call(client, "usage", "POST", "/api/v1/usage", batch)
        if answer is None:
            self.pending = batch
            return
        if answer.status_code == 200:
            body = answer.json()
            if body["accepted"] + body["duplicates"] != len(batch) or body["rejected"]:
                self.violations.append(f"batch {batch[0]['id']}: {body}")
            for r in batch:
                self.answered[r["id"]] = (r["line"], r["quantity"])
            self.pending = None
        else:
            self.refused.add(batch[0]["id"])
            self.pending = batch

    def _call(self, client: httpx.Client, what: str, method: str, path: str,
              body: Any) -> httpx.Response | None:
        sent = time.monotonic()
        try:
            answer = client.request(method, path, json=body)
        except httpx.TimeoutException:
            self.answers.append(Answer(what, -1, sent, time.monotonic() - sent))
            self.violations.append(f"{what}: no answer within {ANSWER_BOUND_S}s")
            return None
        except httpx.TransportError as exc:
            self.answers.append(Answer(what, 0, sent, time.monotonic() - sent))
            self.violations.append(f"{what}: {exc!r}")
            return None
        took = time.monotonic() - sent
        self.answers.append(Answer(what, answer.status_code, sent, took))
        if answer.status_code == 503:
            kind = answer.headers.get("content-type", "")
            if not kind.startswith(PROBLEM_JSON) or "retry-after" not in answer.headers:
                self.violations.append(f"{what}: 503 without problem+json and Retry-After: "
                                       f"{kind} {dict(answer.headers)}")
        elif answer.status_code != 200:
            self.violations.append(f"{what}: {answer.status_code} {answer.text[:300]}")
        if took > ANSWER_BOUND_S:
            self.violations.append(f"{what}: answered after {took:.1f}s")
        return answer


def refused_span(traffic: Traffic, *, after: float) -> tuple[float, float]:
    """From the first usage answer other than 200 sent after `after` to the first 200
    after it: (when it began, how long it lasted), in monotonic seconds."""
    answers = sorted((a for a in traffic.usage_answers() if a.sent >= after),
                     key=lambda a: a.sent)
    first_bad = next(a for a in answers if a.status != 200)
    back = next(a for a in answers if a.status == 200 and a.sent > first_bad.sent)
    return first_bad.sent, back.sent + back.took - first_bad.sent
