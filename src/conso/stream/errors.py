"""The stream's error, in a module that imports no NATS client: the API maps it to a
503 without loading the transport."""

from __future__ import annotations


class StreamError(RuntimeError):
    """NATS/JetStream refused, failed or did not answer in time (the message says where)."""
