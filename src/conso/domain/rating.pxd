# Cython's declarations for rating.py, read only when setup.py compiles it (pure-Python
# mode): Rating (one per record) becomes an extension type. Its fields here must be those
# of the .py, untyped.
cdef class Rating:
    cdef public object meter, quantity, from_bundle, charge_micros
