"""Putting the parts of a concatenated text sent to 1921 back together.

A long text reaches conso as several deliver_sm, each with its part number (a user
data header or the SAR TLVs, read by `conso.sms.smpp.encoding.read_user_data`), in
any order, sometimes twice (an SMSC delivers again when a deliver_sm_resp got lost).
`Reassembler` keeps the parts until all have come and then gives the whole text,
once. Sets that stay incomplete are dropped after a while, so that a lost part costs
memory for `ttl` seconds only.

Pure: no I/O and no threads of its own; a lock makes one instance safe to share
between the links to several SMSCs (the parts of one text may come over different
links).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from conso.sms.smpp.encoding import InboundText, mend_surrogates

Key = tuple[str, str, int, int]     # source, destination, reference, total


@dataclass(slots=True)
class _Parts:
    since: float
    parts: dict[int, str] = field(default_factory=dict)


class Reassembler:
    """Parts in, whole texts out.

    A set of parts is known by (source, destination, reference, total). Its whole
    text is given once, when its last part comes; a part that repeats one already
    held is ignored, and so is, for `ttl` seconds after the text was given, a part
    that repeats one of the given text's parts (a late duplicate). A different part
    under the same key in that time starts a new text (the sender reused the
    reference).

    `expired` counts the incomplete sets dropped after `ttl` seconds, `evicted` those
    dropped because more than `max_pending` were open (the oldest goes first).
    """

    def __init__(self, *, ttl: float = 300.0, max_pending: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0:
            raise ValueError(f"ttl {ttl} is not positive")
        if max_pending < 1:
            raise ValueError(f"max_pending {max_pending} is less than 1")
        self.ttl = ttl
        self.max_pending = max_pending
        self.expired = 0
        self.evicted = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._open: OrderedDict[Key, _Parts] = OrderedDict()      # oldest first
        self._done: OrderedDict[Key, _Parts] = OrderedDict()      # given texts' parts

    def add(self, source: str, destination: str, text: InboundText) -> str | None:
        """The whole text when `text` was its last missing part (parts in number
        order, whatever order they came in); None while parts are missing or when
        `text` repeats a part. A text that is no part is given back at once."""
        concat = text.concat
        if concat is None:
            return mend_surrogates(text.text)
        key: Key = (source, destination, concat.reference, concat.total)
        with self._lock:
            now = self._clock()
            self._purge(now)
            done = self._done.get(key)
            if done is not None:
                if done.parts.get(concat.number) == text.text:
                    return None
                del self._done[key]
            held = self._open.get(key)
            if held is None:
                held = self._open[key] = _Parts(now)
                while len(self._open) > self.max_pending:
                    self._open.popitem(last=False)
                    self.evicted += 1
            if concat.number in held.parts:
                return None
            held.parts[concat.number] = text.text
            if len(held.parts) < concat.total:
                return None
            del self._open[key]
            self._done[key] = _Parts(now, held.parts)
            while len(self._done) > self.max_pending:
                self._done.popitem(last=False)
            return mend_surrogates("".join(held.parts[n] for n in range(1, concat.total + 1)))

    def pending(self) -> int:
        """How many incomplete sets are held (after dropping those older than ttl)."""
        with self._lock:
            self._purge(self._clock())
            return len(self._open)

    def _purge(self, now: float) -> None:
        limit = now - self.ttl
        while self._open:
            key, held = next(iter(self._open.items()))
            if held.since >= limit:
                break
            del self._open[key]
            self.expired += 1
        while self._done:
            key, held = next(iter(self._done.items()))
            if held.since >= limit:
                break
            del self._done[key]
