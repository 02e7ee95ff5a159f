"""The pure core of conso: catalogue, cycles, records, rating and consultation.

Nothing in this package does I/O, reads a clock or imports a framework: time and
data come in as arguments. A test in tests/unit checks that rule.
"""
