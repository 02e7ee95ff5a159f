"""Persistence behind a small interface: SQLite (embedded default), later PostgreSQL."""

from conso.store.base import Store, StoreError, open_store

__all__ = ["Store", "StoreError", "open_store"]
