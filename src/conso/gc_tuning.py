"""Garbage-collector thresholds for a long-running conso process.

An engine keeps every warm line's state in Python objects: ten million of them at a
million lines. With CPython's default thresholds a full collection walks them all
every time the heap has grown by a quarter (about every million records ingested at
that size, a second each), and young collections run every 700 allocations, a few
hundred times a batch. Measured in-process on 1M warm lines, 300,000 records: 1.85 s
of the run's ~14 s in the collector by default, none with these thresholds (38 against
52 µs a record); on 10k lines 26 against 27 µs.

Reference counting frees everything that is not part of a cycle at once; the
thresholds only delay the collection of cycles (asyncio and HTTP objects, mostly),
to every 100,000 allocations for the young ones.
"""

from __future__ import annotations

import gc

THRESHOLDS = (100_000, 50, 100)


def tune() -> tuple[int, int, int]:
    """Set conso's thresholds; return the ones before, to restore them."""
    before = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    return before
