"""conso: real-time mobile consumption control for operators and their customers."""

__version__ = "0.1.0"
