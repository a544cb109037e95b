# Cimportable interface of the eigenvalue-level Dyson Brownian motion kernel (:eq:`dyson-bm`).
#
# One replica: levels x (n,) ascending, float64; targets (n,) per sorted level:
# kappa_i for the linear drift, the RBM's kappa_i of level i for the RBM drift :eq:`fp-drift`.
#
# Divergence: a step fails when a level is non-finite, outside [0, mu^2) for the RBM drift, or
# of magnitude above DysonParams.bound. Code that fills a DysonParams itself must set `bound`
# (DBL_MAX, from libc.float, for no bound: the behaviour before the bound existed).
from libc.stdint cimport int64_t

include "_normal.pxi"

cdef enum:
    DYSON_LINEAR = 0    # drift kappa_i - x_i (the teacher-student model, :eq:`ts-mean-spacing`)
    DYSON_RBM = 1       # drift 2 x (1/kappa_i - 1/(mu^2 - x)) per mode :eq:`fp-drift`


cdef struct DysonParams:
    int n
    int batch_size
    int drift
    double lr
    double noise
    double mu
    double bound        # |x_i| > bound: the replica has left the region of meaningful dynamics


cdef struct DysonWork:
    double* matrix          # (n, n)
    double* grad            # (n,) the gradient buffer: minus each level's drift increment
    double* diagonal        # (n,) x + lr K(x), the diagonal of M before the noise
    double* lapack_work     # 2 n + 1
    int* lapack_iwork


cdef int dyson_work_alloc(DysonWork* work, const DysonParams* p) noexcept nogil
cdef void dyson_work_free(DysonWork* work) noexcept nogil
# One step and the levels' check: a dl_status (dysonlearn._core.status).
cdef int dyson_step(const DysonParams* p, double* levels, const double* targets,
                    dl_normal_source* normals, DysonWork* work) noexcept nogil
cdef int64_t dyson_run(const DysonParams* p, double* levels, const double* targets,
                       dl_normal_source* normals, DysonWork* work, int64_t start,
                       int64_t stop, const int64_t* snapshot_steps, Py_ssize_t n_snapshots,
                       double* eigenvalues) noexcept nogil
