"""Reading a catalogue file (the default one ships inside the package)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from conso.domain.catalog import Catalog, CatalogError, parse_catalog


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate a catalogue; None loads the reference catalogue."""
    if path is None:
        text = resources.files("conso").joinpath("catalog.toml").read_text("utf-8")
        source = "default catalogue (conso/catalog.toml)"
    else:
        source = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise CatalogError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from None
    return parse_catalog(data, source)
