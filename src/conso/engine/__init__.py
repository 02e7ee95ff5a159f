"""The one write path: every change to accounts, users, lines, usage and sessions.

Public interface: `Engine` (commands through `Engine.unit_of_work`, reads that share
its caches), `UnitOfWork`, and the result types. Modules: engine.py (the engine and
its reads), uow.py (a command = one transaction; publish after commit), cache.py (the
hot state in memory), usage.py (usage batches), provisioning.py (accounts, users and
their passwords, lines, notification settings), bulk.py (provisioning in batches of
10,000 in one transaction), checks.py (the field rules both share), history.py (reads:
a line's cycles and the itemised records of a cycle, paged by keyset, as CSV). Nothing outside this
package touches the engine's lock or caches.
"""

from conso.engine.engine import Engine, LineView, utc_now
from conso.engine.provisioning import Put
from conso.engine.uow import Batch, BatchResult, Rejection, UnitOfWork
from conso.engine.usage import MAX_BATCH

__all__ = ["MAX_BATCH", "Batch", "BatchResult", "Engine", "LineView", "Put", "Rejection",
           "UnitOfWork", "utc_now"]
