"""JetStream transport for usage batches: partitioned by line, consumed in order per partition.

In stream mode the API process publishes every accepted batch of usage records to a
work-queue stream, one subject per partition of the line space
(``conso.stream.partitions``), and answers its HTTP client only once JetStream
acknowledged every message (publish.py). Worker processes each take over some partitions
(ownership is decided elsewhere) and consume each one strictly in stream order, acking a
message only after their database transaction, which also records the partition's last
applied stream sequence, committed (consume.py).

The modules: connection.py (a nats-py client on the runtime's event-loop thread, NATS
errors as ``StreamError``), admin.py (create, check, read and delete the stream),
publish.py, consume.py, and client.py (``JetStream``, which the API and workers hold).
This package re-exports their public names; it must not grow code of its own.
"""

from conso.stream.jetstream.admin import (
    DEFAULT_STREAM,
    DUPLICATE_WINDOW,
    delete_stream,
    stream_info,
)
from conso.stream.jetstream.client import JetStream
from conso.stream.jetstream.connection import StreamError, redact
from conso.stream.jetstream.consume import ACK_WAIT, Delivery, PartitionConsumer
from conso.stream.partitions import SUBJECT_PREFIX, consumer_name, partition_of, subject_of

__all__ = [
    "ACK_WAIT",
    "DEFAULT_STREAM",
    "DUPLICATE_WINDOW",
    "SUBJECT_PREFIX",
    "Delivery",
    "JetStream",
    "PartitionConsumer",
    "StreamError",
    "consumer_name",
    "delete_stream",
    "partition_of",
    "redact",
    "stream_info",
    "subject_of",
]
