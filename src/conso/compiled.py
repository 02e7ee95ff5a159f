"""Which of conso's modules run compiled, and the guard that keeps a build from
outliving its source.

`pip install` (`make install`) compiles the modules of `MODULES` with Cython in its
pure-Python mode (setup.py): the same .py files, built as C extensions beside them, so
the rules keep one source. The build is optional: without Cython or a C compiler, or
when it fails, conso runs the interpreted modules, which behave the same (the property
tests run both: tests/unit/test_compiled_domain.py).

An extension module is used only while it is the build of the source beside it. The
build writes each module's source hash to `compiled.json` beside the modules; the
finder that `install` puts first on `sys.meta_path` loads the .py instead of the
extension of a module whose source changed since (an edit, a checkout: until the next
`make install`) or that the build did not make. With CONSO_PURE_PYTHON=1 in the
environment every one is interpreted.

`report()` says which ones run compiled, and why the others do not:
`python -c 'import conso.compiled as c; print(*c.report(), sep="\n")'`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

# The modules built at install: a record's validation and its rating, most of the
# domain's time a record (compiling alerts, text, units and cycle too saved no more than
# the machine's noise, for twice the build time). setup.py reads this tuple: a literal.
MODULES = ("conso.domain.records", "conso.domain.rating")
MANIFEST = "compiled.json"     # {module: sha256 of the source it was built from}
PURE_ENV = "CONSO_PURE_PYTHON"


def source_hash(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()


def pure_forced() -> bool:
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def _source_of(fullname: str, path: Sequence[str]) -> Path | None:
    leaf = fullname.rpartition(".")[2] + ".py"
    for entry in path:
        candidate = Path(entry) / leaf
        if candidate.is_file():
            return candidate
    return None


def manifest(folder: Path) -> dict[str, str]:
    """The hashes of the sources the build made extensions of, in `folder` (none: no build)."""
    try:
        found = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def why_interpreted(fullname: str, source: Path) -> str | None:
    """Why `fullname` must load from its source rather than its extension, or None when
    its extension (if there is one) is the build of this very source."""
    if pure_forced():
        return f"{PURE_ENV}=1"
    built = manifest(source.parent).get(fullname)
    if built is None:
        return "not built (no Cython or C compiler at install, or the build failed)"
    if built != source_hash(source.read_bytes()):
        return "its source changed since the build (make install builds it again)"
    return None


class _SourceGuard(importlib.abc.MetaPathFinder):
    """Loads a module of `MODULES` from its .py when its extension is missing, stale or
    not wanted; leaves it to the regular finders (extension first) otherwise."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULES or path is None:
            return None
        source = _source_of(fullname, path)
        if source is None or why_interpreted(fullname, source) is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def install() -> None:
    """Put the guard first on `sys.meta_path` (once), before any module of `MODULES` loads."""
    if not any(isinstance(finder, _SourceGuard) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SourceGuard())


def is_compiled(module: ModuleType) -> bool:
    return isinstance(getattr(module, "__loader__", None),
                      importlib.machinery.ExtensionFileLoader)


def in_use() -> dict[str, bool]:
    """For each module of `MODULES` (imported if need be): True when it runs compiled."""
    return {name: is_compiled(importlib.import_module(name)) for name in MODULES}


def report() -> list[str]:
    """One line a module of `MODULES`: compiled, or interpreted and why."""
    lines = []
    for name, compiled in in_use().items():
        if compiled:
            lines.append(f"{name}: compiled")
            continue
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        why = why_interpreted(name, origin) if origin is not None else None
        lines.append(f"{name}: interpreted ({why or 'no extension'})")
    return lines
