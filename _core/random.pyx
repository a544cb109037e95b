# cython: boundscheck=False, wraparound=False
"""Standard normal variates exactly as the kernels draw them (see dl_normal.h)."""
import numpy as np

include "_normal.pxi"
include "_bitgen.pxi"

dl_normal_setup()


def standard_normals(object bit_generator, Py_ssize_t n, str method="ziggurat"):
    """n standard normals from bit_generator, drawn as the kernels draw them.

    method "ziggurat": the kernels' default sampler (dl_normal.h); "numpy": numpy's
    random_standard_normal, i.e. ``Generator(bit_generator).standard_normal(n)``.
    """
    if method not in NORMAL_METHODS:
        raise ValueError(f"method must be one of {sorted(NORMAL_METHODS)}, got {method!r}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    cdef dl_normal_source source
    source.bitgen = bitgen_pointer(bit_generator)
    source.method = NORMAL_METHODS[method]
    source.buffer = NULL
    source.position = 0
    out = np.empty(n)
    cdef double[::1] view = out
    if n > 0:
        with nogil:
            dl_draw_normals(&source, &view[0], n)
    return out
