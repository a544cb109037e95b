# The bitgen_t behind a numpy.random.BitGenerator (its capsule), as numpy's own Cython
# examples obtain it. The caller keeps the Python object alive while the pointer is used.
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from libc.stdlib cimport free, malloc
from numpy.random cimport bitgen_t


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
