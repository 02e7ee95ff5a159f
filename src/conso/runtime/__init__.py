"""The one bridge from conso's synchronous, threaded code to asyncio code.

conso is synchronous and threaded (the engine, the store, the workers, the CLI); some
libraries it drives are asyncio-only (nats-py for the stream, and whichever front end
needs one next). Every such caller goes through ``LoopThread``: an event loop of its own,
in a daemon thread, which synchronous threads hand coroutines to and wait on.

This package must not know any protocol: it imports no library beyond the standard one,
and maps no library's errors (a caller turns the coroutine's exceptions into its own, as
``conso.stream.jetstream`` does into ``StreamError``). It must not hold a process-wide
loop either: each user starts, owns and closes its own ``LoopThread``.
"""

from conso.runtime.loop import LoopClosedError, LoopThread, LoopTimeoutError

__all__ = ["LoopClosedError", "LoopThread", "LoopTimeoutError"]
