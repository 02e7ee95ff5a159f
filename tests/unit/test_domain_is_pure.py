"""conso.domain does no I/O, reads no clock and imports no framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import conso.domain

DOMAIN_DIR = Path(conso.domain.__file__).parent
DOMAIN_MODULES = sorted(DOMAIN_DIR.glob("*.py"))
PACKAGE = ["conso", "domain"]

# Standard-library modules that compute without touching the outside world.
PURE_STDLIB = {
    "__future__", "abc", "bisect", "collections", "dataclasses", "datetime", "decimal",
    "enum", "fractions", "functools", "heapq", "itertools", "math", "numbers", "operator",
    "re", "statistics", "string", "types", "typing", "unicodedata", "zoneinfo",
}
FORBIDDEN = {
    "sqlite3", "socket", "http", "urllib", "asyncio", "subprocess", "os", "io", "pathlib",
    "fastapi", "starlette", "uvicorn", "httpx", "orjson", "conso.store", "conso.api",
    "conso.engine", "time", "logging", "threading", "shutil", "tempfile", "random",
    "importlib", "sys", "conso.catalog_file", "prometheus_client",
}
CLOCK_READS = {"now", "utcnow", "today"}
IMPURE_BUILTINS = {"open", "print", "input", "__import__", "eval", "exec"}


def imported_modules(tree: ast.Module) -> list[str]:
    """Absolute names of every module a module imports (relative ones resolved)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = PACKAGE[: len(PACKAGE) - (node.level - 1)]
                names.append(".".join([*package, *([node.module] if node.module else [])]))
            else:
                assert node.module is not None
                names.append(node.module)
    return names


def is_allowed(module: str) -> bool:
    return (module.split(".", maxsplit=1)[0] in PURE_STDLIB
            or module == "conso.domain" or module.startswith("conso.domain."))


def is_forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN)


def impure_calls(tree: ast.Module) -> list[str]:
    """Clock reads (x.now(), x.utcnow(), x.today()) and I/O builtins, with line numbers."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in CLOCK_READS:
            found.append(f"line {node.lineno}: {ast.unparse(func)}()")
        elif isinstance(func, ast.Name) and func.id in IMPURE_BUILTINS:
            found.append(f"line {node.lineno}: {func.id}()")
    return found


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"), filename=str(path))


def test_the_domain_package_has_the_expected_modules() -> None:
    names = {path.stem for path in DOMAIN_MODULES}
    assert {"units", "catalog", "cycle", "records", "line", "rating", "consult", "forecast",
            "ids"} <= names


def test_no_forbidden_module_counts_as_pure() -> None:
    assert not {bad for bad in FORBIDDEN if is_allowed(bad)}


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda p: p.name)
def test_domain_modules_import_only_pure_stdlib_and_the_domain(path: Path) -> None:
    modules = imported_modules(parse(path))
    assert [m for m in modules if is_forbidden(m)] == []
    assert [m for m in modules if not is_allowed(m)] == []


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda p: p.name)
def test_domain_modules_read_no_clock_and_do_no_io(path: Path) -> None:
    assert impure_calls(parse(path)) == []


def test_the_checks_catch_a_clock_read_and_a_forbidden_import() -> None:
    tree = ast.parse(
        "import os\n"
        "from datetime import date, datetime\n"
        "from ..store import base\n"
        "from .units import Service\n"
        "from conso.engine import Engine\n"
        "stamp = datetime.now()\n"
        "day = date.today()\n"
        "with open('x') as f: pass\n"
    )
    modules = imported_modules(tree)
    assert "conso.domain.units" in modules
    assert [m for m in modules if not is_allowed(m)] == ["os", "conso.store", "conso.engine"]
    assert [m for m in modules if is_forbidden(m)] == ["os", "conso.store", "conso.engine"]
    assert impure_calls(tree) == ["line 6: datetime.now()", "line 7: date.today()",
                                  "line 8: open()"]
