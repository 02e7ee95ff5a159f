"""Builds the domain's per-record modules as C extensions, when it can.

Cython compiles the same .py files (its pure-Python mode; the .pxd beside a module
declares which of its classes become extension types), so the rules keep one source.
The build is optional: without Cython or a C compiler, or when a module fails to build,
the install still succeeds and conso runs those modules interpreted. CONSO_PURE_PYTHON=1
skips it. src/conso/compiled.py lists the modules and checks at import that each
extension is the build of the source beside it (from the hashes written here).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SRC = Path(__file__).resolve().parent / "src"


def compiled_modules() -> tuple[str, ...]:
    """`MODULES` of conso/compiled.py, read without importing conso."""
    tree = ast.parse((SRC / "conso" / "compiled.py").read_text("utf-8"))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "MODULES"):
            return tuple(ast.literal_eval(node.value))
    raise RuntimeError("src/conso/compiled.py has no MODULES")


def source_of(module: str) -> Path:
    return SRC.joinpath(*module.split(".")).with_suffix(".py")


def extensions() -> list[Any]:
    if os.environ.get("CONSO_PURE_PYTHON", "") not in ("", "0"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("conso: Cython is missing, the domain modules run interpreted")
        return []
    modules = [Extension(name, [str(source_of(name).relative_to(SRC.parent))])
               for name in compiled_modules()]
    try:
        built = list(cythonize(
            modules, quiet=True,
            # Annotations document, they do not type: `x: int` stays any object, as
            # interpreted (typed, Cython would refuse None or a str subclass).
            compiler_directives={"language_level": 3, "annotation_typing": False}))
    except Exception as error:  # a module Cython cannot translate: all run interpreted
        print(f"conso: Cython failed ({error}), the domain modules run interpreted")
        return []
    for extension in built:
        extension.optional = True  # a failed C build leaves it out (cythonize drops it)
    return built


class BuildExt(build_ext):
    """Builds on every core and writes, beside the modules, the hash of each source it
    built (compiled.json), from which conso.compiled tells a build from a stale one."""

    def initialize_options(self) -> None:
        super().initialize_options()
        self.built: dict[str, str] = {}

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def build_extension(self, ext: Any) -> None:
        # Raises when the build fails: an optional extension is then left out (with a
        # warning), and unrecorded.
        super().build_extension(ext)
        self.built[ext.name] = hashlib.sha256(source_of(ext.name).read_bytes()).hexdigest()

    def run(self) -> None:
        super().run()
        # Where the extensions went: the build directory (a wheel) and, for an editable
        # install, the source tree too (setuptools copies them there after the build).
        inplace = self.inplace
        folders: dict[Path, dict[str, str]] = {}
        for self.inplace in {False, bool(inplace)}:
            for name, digest in self.built.items():
                folder = Path(self.get_ext_fullpath(name)).parent
                folders.setdefault(folder, {})[name] = digest
        self.inplace = inplace
        for folder, built in folders.items():
            (folder / "compiled.json").write_text(json.dumps(built, indent=1, sort_keys=True))


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
