"""Schema migrations: numbered SQL files applied in order, each once.

`NNNN_name.sql` is for every database (written for SQLite; PostgreSQL's store rewrites
its types). Where the two must differ, `NNNN_name.sqlite.sql` and
`NNNN_name.postgres.sql` carry the same number, one for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

DIALECTS = ("sqlite", "postgres")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(dialect: str = "sqlite") -> list[Migration]:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    found: list[Migration] = []
    for entry in resources.files(__name__).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        number, _, rest = entry.name.partition("_")
        name = rest.removesuffix(".sql")
        stem, _, only = name.rpartition(".")
        if stem and only in DIALECTS:
            if only != dialect:
                continue
            name = stem
        found.append(Migration(int(number), name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found
