"""Streaming transport: usage batches carried through NATS JetStream between API and workers."""
