"""The layers' import rules, checked on the source (design.md, "Network front ends").

- the domain imports nothing of conso above it (test_domain_is_pure.py has the details);
- the charging core imports no front end, nor the composition root;
- the engine imports neither the charging core nor a front end; the store nothing above it;
- network front ends (SMS, and Diameter and Nchf when they come) import only the
  core's port, the domain's value types, the runtime bridge and a few pure helpers;
- front ends never import each other (the HTTP API and the portal are one front end).

Every import counts, also those inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "conso"

# Front ends, by the packages they are made of.
FRONT_ENDS = {
    "http": ("conso.api", "conso.web"),
    "sms": ("conso.sms",),
    "diameter": ("conso.diameter",),
    "nchf": ("conso.nchf",),
}
NETWORK_FRONT_ENDS = ("sms", "diameter", "nchf")
# What a network front end may import besides its own package and the standard library.
FRONT_END_MAY_IMPORT = (
    "conso.charging.ports",
    "conso.domain",
    "conso.runtime",
    "conso.errors",
    "conso.notify.channels.base",   # the channel port it implements for its pushes
    "conso.notify.templates",       # the texts it answers with (pure)
    "conso.notify.compose",         # outbox messages of those texts (pure)
    "conso.ratelimit",              # an in-process counter (pure)
)
ABOVE_ENGINE = ("conso.charging", "conso.bootstrap", "conso.cli",
                *(p for packages in FRONT_ENDS.values() for p in packages))
ABOVE_STORE = ("conso.engine", "conso.notify", "conso.stream", *ABOVE_ENGINE)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def imports_of(path: Path, package: str) -> Iterator[str]:
    """Every module a file imports (relative imports resolved against `package`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from conso.x import y` may import the module conso.x.y
                yield f"{base}.{alias.name}" if (SRC / Path(*base.split("."),
                                                              alias.name)).exists() \
                    or (SRC / Path(*base.split("."), alias.name + ".py")).exists() else base


def modules_under(prefix: str) -> list[tuple[str, Path]]:
    root = SRC / Path(*prefix.split("."))
    paths = sorted(root.rglob("*.py")) if root.is_dir() else \
        [root.with_suffix(".py")] if root.with_suffix(".py").exists() else []
    return [(module_name(p), p) for p in paths]


def within(module: str, prefixes: tuple[str, ...] | list[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def conso_imports(path: Path, package: str | None = None) -> set[str]:
    found = imports_of(path, package_of(path) if package is None else package)
    return {m for m in found if within(m, ("conso",))}


def violations(prefix: str, *, forbidden: tuple[str, ...] = (),
               allowed: tuple[str, ...] | None = None) -> list[str]:
    found = []
    for name, path in modules_under(prefix):
        for imported in sorted(conso_imports(path)):
            if within(imported, (prefix,)):
                continue
            if forbidden and within(imported, forbidden):
                found.append(f"{name} imports {imported}")
            if allowed is not None and not within(imported, allowed):
                found.append(f"{name} imports {imported}")
    return found


def test_the_domain_imports_nothing_above_it() -> None:
    assert violations("conso.domain", allowed=()) == []


def test_the_charging_core_imports_no_front_end() -> None:
    front = tuple(p for packages in FRONT_ENDS.values() for p in packages)
    assert violations("conso.charging", forbidden=(*front, "conso.bootstrap", "conso.cli",
                                                    "conso.stream")) == []


def test_the_engine_imports_neither_the_core_nor_a_front_end() -> None:
    assert violations("conso.engine", forbidden=ABOVE_ENGINE) == []


def test_the_store_imports_nothing_above_it() -> None:
    assert violations("conso.store", forbidden=ABOVE_STORE) == []


@pytest.mark.parametrize("front_end", NETWORK_FRONT_ENDS)
def test_a_network_front_end_imports_only_the_port_the_domain_and_the_runtime(
    front_end: str,
) -> None:
    for package in FRONT_ENDS[front_end]:
        assert violations(package, allowed=FRONT_END_MAY_IMPORT) == []


@pytest.mark.parametrize("front_end", sorted(FRONT_ENDS))
def test_front_ends_never_import_each_other(front_end: str) -> None:
    others = tuple(p for name, packages in FRONT_ENDS.items() if name != front_end
                   for p in packages)
    for package in FRONT_ENDS[front_end]:
        assert violations(package, forbidden=others) == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The rules above can fail: a front end importing the engine, the store (late, in
    a function) or, relatively, its own helpers is seen as it is."""
    module = tmp_path / "probe.py"
    module.write_text("from conso.engine import Engine\nimport conso.charging.ports\n"
                      "from . import keywords\n"
                      "def late() -> None:\n    from conso.store import open_store\n")
    imported = conso_imports(module, "conso.sms")
    assert imported == {"conso.engine", "conso.charging.ports", "conso.sms.keywords",
                        "conso.store"}
    assert sorted(m for m in imported if not within(m, (*FRONT_END_MAY_IMPORT, "conso.sms"))
                  ) == ["conso.engine", "conso.store"]
