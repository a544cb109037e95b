# Cimportable interface of the deep linear teacher-student kernel (:doc:`/theory/deep_linear`,
# update :eq:`dl-update`).
#
# One replica: its L layers W_1 (n_1, n_0), ..., W_L (n_L, n_{L-1}) concatenated row-major
# into one float64 vector of DLParams.n_weights doubles (layer l starts at offsets[l - 1]);
# the teacher M_T (n_L, n_0) row-major, shared by the replicas of a block.
#
# Divergence: a step fails (returns a nonzero dl_status) when a weight is non-finite or its
# magnitude exceeds DLParams.bound (DBL_MAX, from libc.float, for "non-finite only").
from libc.stdint cimport int64_t

from dysonlearn._core.optim cimport optim_t

include "_normal.pxi"

cdef enum:
    DLN_WISHART = 0      # C_B from its Wishart law (Bartlett factor), needs B >= n_0
    DLN_EXPLICIT = 1     # B explicit inputs x_b, C_B = X^T X / B (any B)
    # From this many multiply-adds on, a product is a dgemm; below it a plain loop. Measured
    # on one core (OpenBLAS, widths [n, n, n], B = 16, a step): n = 4 (64 a product) 0.40 us
    # with loops against 0.45-0.50 with dgemm; n = 6 (216) 0.90 against 0.69; n = 10 3.1-3.3
    # against 1.9-2.2.
    DLN_BLAS_MIN_FLOPS = 128


cdef struct DLParams:
    int n_layers            # L >= 1
    const int* widths       # (L + 1,) n_0 .. n_L
    const Py_ssize_t* offsets   # (L + 1,) start of each layer in the replica's vector; last = total
    Py_ssize_t n_weights    # sum_l n_l n_{l-1}
    int batch_size
    int sampler
    double lr
    double noise
    double bound            # |W_ij| > bound: the replica has left the region of meaningful dynamics
    int record_layers       # nonzero: a snapshot also records each layer's singular values


cdef struct DLWork:
    double* cov             # (n_0, n_0) batch covariance C_B
    double* factor          # (n_0, n_0) Bartlett factor, or (B, n_0) explicit inputs
    double* forward         # sum_{l=1}^{L} n_l n_0: F_l = W_l ... W_1 (F_1 unused: W_1 itself)
    double* back            # 2 max_l n_l n_0: P_l^T E, ping-pong
    double* resid           # (n_L, n_0) M - M_T
    double* dw              # (n_weights,) the gradient buffer handed to the optimiser
    # (k, k), k the largest of min(n_0, n_L) and, when the layers are recorded,
    # min(n_{l-1}, n_l): M^T M or M M^T, or a layer's Gram matrix
    double* gram
    double* lapack_work     # eigvals_lwork(k)
    int* lapack_iwork


cdef int dln_work_alloc(DLWork* work, const DLParams* p) noexcept nogil
cdef void dln_work_free(DLWork* work) noexcept nogil
# The gradient of one step :eq:`dl-gradient` into work.dw (descent sign, the hand-added noise
# included); dln_spectrum: the end-to-end map's singular values, ascending, then (when
# DLParams.record_layers) each layer's, W_1's first; LAPACK's info.
cdef void dln_gradient(const DLParams* p, const double* weights, const double* teacher,
                       dl_normal_source* variates, DLWork* work) noexcept nogil
cdef int dln_spectrum(const DLParams* p, const double* weights, DLWork* work,
                      double* out) noexcept nogil
