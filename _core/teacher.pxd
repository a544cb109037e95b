# Cimportable interface of the teacher-student kernel (:doc:`/theory/teacher_student`, update
# :eq:`ts-update`).
#
# One replica, all C-contiguous float64: student W (n, n), teacher W_T (n, n).
# Reference protocol only: a finite data set of P points, inputs (P, n) and per-point
# noise (P, n (n + 1) / 2) as packed upper triangles (row-major, i <= j) of Xi_p, plus the
# replica's visiting order (P,) int32.
#
# Divergence: a step fails (returns a nonzero dl_status) when an entry of W is non-finite or its
# magnitude exceeds TSParams.bound. Code that fills a TSParams itself must set `bound`
# (DBL_MAX, from libc.float, for "non-finite only", the behaviour before the bound existed).
from libc.stdint cimport int32_t, int64_t

from dysonlearn._core.optim cimport optim_t

include "_normal.pxi"

cdef enum:
    TS_WISHART = 0      # C_B from its Wishart law (Bartlett), batch-mean noise drawn directly
    TS_EXPLICIT = 1     # B explicit inputs and B explicit noise matrices per step
    TS_MEAN_NOISE = 2   # B explicit inputs, batch-mean noise drawn directly (any B)
    # From this N on the data term (W_T - W) C_B is a BLAS product (and C_B, formed from
    # explicit inputs, a dsyrk); below it the loops, whose bits every run before issue 15
    # has (BLAS wins from N ~ 6, but N = 10 is a common size whose stores must resume to the
    # same bits: 1.16 against 0.89 us a step there is the price).
    TS_BLAS_MIN_N = 24


cdef struct TSParams:
    int n
    int batch_size
    int sampler
    bint reference      # finite data set, unsymmetrised data term, singular values
    bint shuffle        # reference: a fresh visiting order every epoch
    double lr
    double noise
    double bound        # |W_ij| > bound: the replica has left the region of meaningful dynamics


cdef struct TSData:
    const double* inputs
    const double* point_noise
    int n_points
    int32_t* order


cdef struct TSWork:
    double* cov             # (n, n) batch covariance C_B
    double* xi              # (n, n) batch-mean noise Xi_B
    double* factor          # (n, n) Bartlett factor, or (B, n) explicit inputs
    double* lowrank         # (n, B) (W_T - W) X^T of the mean-noise sampler at large n
    double* sample_noise    # (B, n (n + 1) / 2) explicit per-sample noise
    double* grad            # (n, n) the data term (W_T - W) C_B
    double* dw              # (n, n) the gradient buffer handed to the optimiser
    double* gram            # (n, n); also W_T - W for the BLAS data term
    double* lapack_work     # 2 n + 1
    int* lapack_iwork


cdef int ts_work_alloc(TSWork* work, const TSParams* p) noexcept nogil
cdef void ts_work_free(TSWork* work) noexcept nogil
# The gradient of step `step` :eq:`ts-update` into work.dw (descent sign, the hand-added noise
# included); ts_sgd: SGD at p.lr for it; ts_step: gradient, SGD at p.lr and the bound
# check, a dl_status (dysonlearn._core.status).
cdef void ts_gradient(const TSParams* p, const double* weights, const double* teacher,
                      const TSData* data, int64_t step, dl_normal_source* variates,
                      TSWork* work) noexcept nogil
cdef void ts_sgd(optim_t* opt, const TSParams* p) noexcept nogil
cdef int ts_step(const TSParams* p, double* weights, const double* teacher,
                 const TSData* data, int64_t step, dl_normal_source* variates,
                 TSWork* work) noexcept nogil
cdef int ts_spectrum(const TSParams* p, const double* weights, TSWork* work,
                     double* out) noexcept nogil
cdef int64_t ts_run(const TSParams* p, double* weights, const double* teacher,
                    const TSData* data, dl_normal_source* variates, TSWork* work,
                    int64_t start, int64_t stop, const int64_t* snapshot_steps,
                    Py_ssize_t n_snapshots, double* eigenvalues) noexcept nogil
