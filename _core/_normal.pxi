# Standard normals for the kernels: declarations of dl_normal.h (see there for the method).
from libc.stdint cimport intptr_t, uint64_t
from numpy.random cimport bitgen_t

cdef extern from "dl_normal.h" nogil:
    enum:
        DL_NORMALS_ZIGGURAT
        DL_NORMALS_NUMPY
    ctypedef struct dl_normal_source:
        bitgen_t* bitgen
        int method
        const double* buffer
        intptr_t position
    void dl_normal_setup()
    void dl_draw_normals(dl_normal_source* src, double* out, intptr_t n)
    double dl_draw_chisquare(dl_normal_source* src, double dof)
    uint64_t dl_draw_index(dl_normal_source* src, uint64_t max)
