"""`conso bench`: a reproducible benchmark of a real conso server on this machine.

Every figure is measured in the same run as its baseline; nothing here is
asserted by tests (CI runs `conso bench --quick` only to show that it works).
"""
