# The bitgen_t behind a numpy.random.BitGenerator (its capsule), as numpy's own Cython
# examples obtain it. The caller keeps the Python object alive while the pointer is used.
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from numpy.random cimport bitgen_t


cdef bitgen_t* bitgen_pointer(object bit_generator) except NULL:
    capsule = getattr(bit_generator, "capsule", None)
    if capsule is None or not PyCapsule_IsValid(capsule, b"BitGenerator"):
        raise TypeError(f"expected a numpy.random.BitGenerator, got {type(bit_generator)!r}")
    return <bitgen_t*> PyCapsule_GetPointer(capsule, b"BitGenerator")
