# What every block kernel's Python entry point shares: the bitgen_t behind each replica's
# numpy.random.BitGenerator (its capsule, as numpy's own Cython examples obtain it; the
# caller keeps the Python objects alive while the pointers are used), and the checks of
# the bookkeeping arrays, so that no kernel can be handed a buffer it would overrun.
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from libc.float cimport DBL_MAX
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc
from numpy.random cimport bitgen_t

NORMAL_METHODS = {"ziggurat": DL_NORMALS_ZIGGURAT, "numpy": DL_NORMALS_NUMPY}


cdef bitgen_t* bitgen_pointer(object bit_generator) except NULL:
    capsule = getattr(bit_generator, "capsule", None)
    if capsule is None or not PyCapsule_IsValid(capsule, b"BitGenerator"):
        raise TypeError(f"expected a numpy.random.BitGenerator, got {type(bit_generator)!r}")
    return <bitgen_t*> PyCapsule_GetPointer(capsule, b"BitGenerator")


cdef bitgen_t** bitgen_array(object bit_generators, Py_ssize_t n) except NULL:
    """malloc'ed array of the n generators' bitgen_t pointers; the caller frees it."""
    if len(bit_generators) != n:
        raise ValueError(f"need one bit generator per replica ({n}), got {len(bit_generators)}")
    cdef bitgen_t** gens = <bitgen_t**> malloc(max(n, 1) * sizeof(bitgen_t*))
    if gens == NULL:
        raise MemoryError()
    cdef Py_ssize_t r
    try:
        for r in range(n):
            gens[r] = bitgen_pointer(bit_generators[r])
    except BaseException:
        free(gens)
        raise
    return gens


cdef int check_block(double[:, :, ::1] eigenvalues, uint8_t[::1] failed,
                     int64_t[::1] fail_step, Py_ssize_t n_rep, Py_ssize_t n_snap,
                     Py_ssize_t n, int64_t start, int64_t stop,
                     str normal_method) except -1:
    """Validate a block's output arrays and step range; the normal method's code."""
    if (eigenvalues.shape[0] != n_rep or eigenvalues.shape[1] != n_snap
            or eigenvalues.shape[2] != n):
        raise ValueError(f"eigenvalues must have shape ({n_rep}, {n_snap}, {n})")
    if failed.shape[0] != n_rep or fail_step.shape[0] != n_rep:
        raise ValueError(f"failed and fail_step must have length {n_rep}")
    if start < 0 or stop < start:
        raise ValueError("need 0 <= start <= stop")
    if normal_method not in NORMAL_METHODS:
        raise ValueError(f"normal_method must be one of {sorted(NORMAL_METHODS)}, "
                         f"got {normal_method!r}")
    return NORMAL_METHODS[normal_method]


cdef double escape_bound(object bound) except? -1.0:
    """A kernel's divergence bound as its steps compare with it: None (or inf) becomes
    DBL_MAX, so that `not (|x| <= bound)` then flags exactly the non-finite values."""
    if bound is None:
        return DBL_MAX
    cdef double value = bound
    if not value > 0.0:
        raise ValueError(f"bound must be a positive number or None, got {bound!r}")
    return value if value < DBL_MAX else DBL_MAX
