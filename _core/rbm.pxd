# Cimportable interface of the Gaussian RBM / PCD kernel (:eq:`rbm-action` to :eq:`pcd-update`).
#
# Layout of one replica, all C-contiguous float64:
#   weights  (n_hidden, n_visible)   row-major W
#   chains   (batch_size, n_visible) the persistent visible states phi_b
#   c_target (n_visible, n_visible)  symmetric target covariance K_phi^-1
#   chol     (n_visible, n_visible)  row-major lower Cholesky factor of c_target
#                                    (sampled-target mode only)
from libc.stdint cimport int64_t

from dysonlearn._core.optim cimport optim_t
from dysonlearn._core.status cimport DL_ESCAPED, DL_NONFINITE, DL_OK

# dl_normal_source: where the standard normals come from (a bit generator and a method,
# or a caller's buffer); declared with the ziggurat in dl_normal.h.
include "_normal.pxi"


cdef struct RBMParams:
    int n_visible
    int n_hidden
    int batch_size
    int k
    double lr               # SGD's learning rate for pcd_step / pcd_run (see rbm_sgd)
    double mu
    double sigma_h
    bint sampled_target
    bint collapsed          # sample the k-sweep transition directly (see rbm.pyx)
    # "gibbs-eigen": the state is in the target's eigenbasis, where c_target (and chol) are
    # diagonal; the gradient is low-rank
    bint eigen


cdef struct RBMWork:
    double* hidden          # (batch_size, n_hidden)
    double* target_samples  # (batch_size, n_visible), sampled-target mode
    double* delta           # (n_visible, n_visible): C_target - C_model
    double* grad            # (n_hidden, n_visible): the gradient buffer, -W delta
    double* gram            # (n_visible, n_visible) scratch, destroyed by LAPACK
    double* xmat            # (n_visible, n_visible) X = sigma_h^2 W^T W of the current W
    double* apow            # (n_visible, n_visible) A^k, collapsed sampler
    double* asq             # (n_visible, n_visible) A^2
    double* series          # (n_visible, n_visible) sum_{j<k} A^(2j)
    double* cov             # (n_visible, n_visible) Sigma_k, then its Cholesky factor
    double* tmp             # (n_visible, n_visible)
    double* visible_noise   # (batch_size, n_visible)
    double* lapack_work     # 2 n_visible + 1
    int* lapack_iwork       # 1


# Status codes of one step or one run: the shared dl_status (dysonlearn._core.status),
# under the names this interface has always had.
cdef enum:
    PCD_OK = DL_OK
    PCD_NONFINITE = DL_NONFINITE    # W left the finite numbers
    PCD_UNSTABLE = DL_ESCAPED       # max eigenvalue of sigma_h^2 W^T W reached mu^2

# Every field of p to its default (the reference RBM: 10 x 10, B = 16, k = 3, lr = 0.1,
# mu = 3, sigma_h = 1, analytic target, the collapsed sampler). Call it first, then set the
# fields that differ: a field added later (as `eigen` was in issue 15) then has its default
# instead of whatever the stack held.
cdef void rbm_params_init(RBMParams* p) noexcept nogil
cdef Py_ssize_t pcd_normals_per_step(const RBMParams* p) noexcept nogil
cdef int rbm_work_alloc(RBMWork* work, const RBMParams* p) noexcept nogil
cdef void rbm_work_free(RBMWork* work) noexcept nogil
cdef int pcd_check(const RBMParams* p, const double* weights, RBMWork* work) noexcept nogil
# The gradient of one PCD step :eq:`rbm-hidden-given-visible` to :eq:`pcd-update` into work.grad
# (the chains advance), in the units of rbm_sgd: the gradient of W is sigma_h^2 work.grad. A
# dl_status.
cdef int pcd_gradient(const RBMParams* p, const double* weights, double* chains,
                      const double* c_target, const double* chol, dl_normal_source* normals,
                      RBMWork* work) noexcept nogil
# SGD at p.lr, as pcd_step applies it (through daxpy, rounding as :eq:`pcd-update` always has).
cdef void rbm_sgd(optim_t* opt, const RBMParams* p) noexcept nogil
# pcd_gradient, SGD at p.lr, pcd_check: one whole step.
cdef int pcd_step(const RBMParams* p, double* weights, double* chains,
                  const double* c_target, const double* chol, dl_normal_source* normals,
                  RBMWork* work) noexcept nogil
cdef int64_t pcd_run(const RBMParams* p, double* weights, double* chains,
                     const double* c_target, const double* chol, dl_normal_source* normals,
                     RBMWork* work, int64_t start, int64_t stop,
                     const int64_t* snapshot_steps, Py_ssize_t n_snapshots,
                     double* eigenvalues) noexcept nogil
cdef int spectrum(const RBMParams* p, const double* weights, RBMWork* work,
                  double* eigenvalues) noexcept nogil
