"""Persistence behind a small interface (base.py): SQLite (the embedded default),
PostgreSQL (production) and an in-memory store (tests), opened by URL.

This module only chooses and opens an implementation, importing it on demand (no
database driver is loaded by importing `conso.store`); it holds no SQL and no rule.
"""

from __future__ import annotations

from conso.store.base import Store, StoreError

__all__ = ["Store", "StoreError", "open_store"]


def open_store(url: str) -> Store:
    """Open the store a URL names: `sqlite:///path` (the default), `postgresql://...`,
    or `memory:` (nothing kept beyond the process: for tests)."""
    if url == "memory:" or url.startswith("memory://"):
        from conso.store.memory import MemoryStore

        return MemoryStore(url)
    if url.startswith("sqlite:") or "://" not in url:
        from conso.store.sqlite import SQLiteStore

        return SQLiteStore.from_url(url)
    if url.startswith(("postgresql://", "postgres://")):
        from conso.store.postgres import PostgresStore

        return PostgresStore.from_url(url)
    raise StoreError(f"unknown store URL {url!r}; expected sqlite:///PATH, "
                     "postgresql://... or memory:")
