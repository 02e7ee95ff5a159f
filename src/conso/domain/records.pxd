# Cython's declarations for records.py, read only when setup.py compiles it (pure-Python
# mode): UsageRecord becomes an extension type, built several times faster than a
# Python class (one per record). Its fields here must be those of the .py, untyped.
cdef class UsageRecord:
    cdef public object id, line, service, quantity, at, country, direction, amount_micros
