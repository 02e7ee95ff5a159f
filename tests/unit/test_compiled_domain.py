"""The domain's compiled modules (setup.py, conso.compiled): in use when built, never
used once their source changed, and the same rules as the interpreted ones.

The suite runs whichever the install gave (compiled when the build succeeded); here the
property and example tests of those modules run once more with every one interpreted,
and generated records go through both, compiled and interpreted, side by side.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import conso
import conso.compiled
from conso.catalog_file import load_catalog
from conso.domain import rating, records
from conso.domain.cycle import Cycle
from conso.domain.rating import CycleUsage
from conso.domain.units import Direction, Service

UNIT = Path(__file__).resolve().parent
PACKAGE = Path(conso.__file__).resolve().parent
COMPILED = {name for name, compiled in conso.compiled.in_use().items() if compiled}
needs_a_build = pytest.mark.skipif(not COMPILED, reason="no domain module compiled here")

# The tests of the compiled modules (conso.compiled.MODULES), run again interpreted.
PROPERTY_TESTS = ["test_records.py", "test_rating.py", "test_rating_properties.py",
                  "test_zero_overshoot.py", "test_network_overshoot.py",
                  "test_roaming_cap.py", "test_control.py", "test_consult.py"]

CATALOG = load_catalog(None)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def run_python(code: str, *, path: Path | None = None, pure: bool = False,
               args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != conso.compiled.PURE_ENV}
    if pure:
        env[conso.compiled.PURE_ENV] = "1"
    if path is not None:
        env["PYTHONPATH"] = str(path)
    return subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=UNIT.parents[1],
                          capture_output=True, text=True, timeout=600, check=False)


IN_USE = ("import json, conso, conso.compiled as c\n"
          "print(conso.__file__)\n"
          "print(json.dumps(c.in_use()))\n")


def in_use(**kwargs: Any) -> tuple[str, dict[str, bool]]:
    done = run_python(IN_USE, **kwargs)
    assert done.returncode == 0, done.stderr
    where, found = done.stdout.splitlines()
    return where, json.loads(found)


def test_every_module_it_lists_exists_and_is_a_domain_module() -> None:
    for name in conso.compiled.MODULES:
        assert name.startswith("conso.domain.")
        assert (PACKAGE.parent / Path(*name.split("."))).with_suffix(".py").is_file()


def test_the_built_modules_are_the_ones_in_use() -> None:
    manifest = conso.compiled.manifest(PACKAGE / "domain")
    for name in conso.compiled.MODULES:
        source = (PACKAGE.parent / Path(*name.split("."))).with_suffix(".py")
        current = manifest.get(name) == conso.compiled.source_hash(source.read_bytes())
        assert (name in COMPILED) == (current and not conso.compiled.pure_forced()), name
    assert conso.compiled.is_compiled(records) == ("conso.domain.records" in COMPILED)


def a_compiler_is_here() -> bool:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return shutil.which(compiler) is not None and headers.is_file()


@pytest.mark.skipif(conso.compiled.pure_forced(), reason="CONSO_PURE_PYTHON=1")
@pytest.mark.skipif(not a_compiler_is_here(), reason="no C compiler or Python headers here")
def test_the_install_built_every_module_where_it_could() -> None:
    built = conso.compiled.manifest(PACKAGE / "domain")
    assert set(built) == set(conso.compiled.MODULES), (
        "the install built none or some of the modules: `make install` builds them "
        "(not with CONSO_PURE_PYTHON=1); see its output for why not")


def test_with_conso_pure_python_every_module_is_interpreted() -> None:
    _, found = in_use(pure=True)
    assert set(found) == set(conso.compiled.MODULES)
    assert not any(found.values())


@pytest.fixture
def package_copy(tmp_path: Path) -> Iterator[Path]:
    """A copy of the installed package, extensions and build hashes included."""
    shutil.copytree(PACKAGE, tmp_path / "conso",
                    ignore=shutil.ignore_patterns("__pycache__"))
    yield tmp_path


@needs_a_build
def test_a_module_whose_source_changed_since_the_build_runs_interpreted(
        package_copy: Path) -> None:
    source = package_copy / "conso" / "domain" / "records.py"
    source.write_text(source.read_text("utf-8") + "\n# edited after the build\n", "utf-8")
    where, found = in_use(path=package_copy)
    assert where.startswith(str(package_copy))
    assert found["conso.domain.records"] is False
    assert {name for name, compiled in found.items() if compiled} == (
        COMPILED - {"conso.domain.records"})


@needs_a_build
def test_extensions_without_the_builds_hashes_are_not_used(package_copy: Path) -> None:
    (package_copy / "conso" / "domain" / conso.compiled.MANIFEST).unlink()
    _, found = in_use(path=package_copy)
    assert not any(found.values())


@needs_a_build
def test_the_property_tests_pass_interpreted_too() -> None:
    code = ("import sys, pytest, conso.compiled as c\n"
            "assert not any(c.in_use().values()), c.in_use()\n"
            "sys.exit(pytest.main(sys.argv[1:]))\n")
    done = run_python(code, pure=True, args=(
        "-p", "no:xdist", "-p", "no:cacheprovider", "-q",
        *(str(UNIT / name) for name in PROPERTY_TESTS)))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout


# -- compiled and interpreted side by side, on the same generated inputs -----------------

def interpreted(module: ModuleType) -> ModuleType:
    """The module's source, run interpreted under another name (what it imports stays
    the modules in use)."""
    name = f"interpreted_{module.__name__.rpartition('.')[2]}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(module.__file__ or "").with_name(module.__name__.rpartition(".")[2]
                                                         + ".py"))
        assert spec is not None and spec.loader is not None
        found = importlib.util.module_from_spec(spec)
        sys.modules[name] = found      # dataclasses look their module up
        spec.loader.exec_module(found)
    return sys.modules[name]


RAW_RECORDS = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=5), st.sampled_from(["r1", "r 2", "r\x003"])),
     "line": st.one_of(st.sampled_from(["+32470000001", ""]), st.integers(0, 9)),
     "service": st.sampled_from(["voice", "sms", "data", "premium", "callme", "fax", 1]),
     "quantity": st.one_of(st.integers(-2, 10**14), st.booleans(), st.floats(0, 9)),
     "at": st.one_of(
         st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2027, 1, 1),
                      timezones=st.sampled_from([UTC, None])).map(datetime.isoformat),
         st.sampled_from(["2026-11-24T10:15:00Z", "2026-11-24 10:15:00+01:00", "x"]))},
    optional={"country": st.sampled_from(["BE", "fr", "US", "BEL", "", None, 7]),
              "direction": st.sampled_from(["out", "in", "IN", None, 0]),
              "amount_cents": st.one_of(st.integers(-1, 10**8), st.none(), st.just(0.5))})


def outcome(module: ModuleType, obj: dict[str, Any]) -> tuple[Any, ...]:
    try:
        found = module.parse_record(obj, home_country="BE", now=NOW,
                                    max_future=timedelta(hours=24))
    except ValueError as error:
        return ("rejected", getattr(error, "field", None), str(error))
    return ("accepted", type(found).__name__, dataclasses.astuple(found))


@given(RAW_RECORDS)
def test_compiled_and_interpreted_validation_agree(obj: dict[str, Any]) -> None:
    assert outcome(records, obj) == outcome(interpreted(records), obj)


QUANTITIES = st.one_of(st.integers(0, 120), st.integers(0, 70_000),
                       st.integers(0, 60 * 10**9))


@st.composite
def usage_records(draw: st.DrawFn) -> records.UsageRecord:
    service = draw(st.sampled_from(list(Service)))
    return records.UsageRecord(
        id="r", line="+32470000001", service=service,
        quantity=1 if service is Service.PREMIUM else draw(QUANTITIES),
        at=NOW, country=draw(st.sampled_from(["BE", "FR", "US", "CH"])),
        direction=draw(st.sampled_from(list(Direction))) if service is Service.VOICE
        else Direction.OUT,
        amount_micros=draw(st.integers(0, 10**6)) if service is Service.PREMIUM else 0)


@given(st.sampled_from(sorted(CATALOG.plans)), st.lists(usage_records(), max_size=30))
def test_compiled_and_interpreted_rating_agree(plan_id: str,
                                               drawn: list[records.UsageRecord]) -> None:
    plan = CATALOG.plans[plan_id]
    pure = interpreted(rating)
    usage = CycleUsage(Cycle(NOW.date().replace(day=1)))
    for record in drawn:
        try:
            compiled = dataclasses.astuple(rating.rate(record, plan, CATALOG, usage))
        except ValueError as error:
            with pytest.raises(ValueError) as caught:
                pure.rate(record, plan, CATALOG, usage)
            assert str(caught.value) == str(error)
            continue
        assert dataclasses.astuple(pure.rate(record, plan, CATALOG, usage)) == compiled
        usage.add(rating.rate(record, plan, CATALOG, usage))
