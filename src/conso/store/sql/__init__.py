"""The SQL behind both stores, SQLite (../sqlite.py) and PostgreSQL (../postgres.py),
split by concern: `connection` (protocols, lazy writer, helpers), `store` (connect,
migrate, transactions) and one module per aggregate holding its SQL. Nothing here
knows which database is underneath, and nothing here holds a business rule.
"""

from conso.store.sql.connection import Connection, Cursor
from conso.store.sql.store import SqlStore, SqlTx

__all__ = ["Connection", "Cursor", "SqlStore", "SqlTx"]
