"""conso: real-time mobile consumption control for operators and their customers."""

from conso import compiled as _compiled

__version__ = "0.1.0"

# Before any domain module loads: a compiled module is used only while it is the build
# of its source (compiled.py).
_compiled.install()
