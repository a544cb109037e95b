# The optimiser seam: every model's step writes its gradient into a buffer, and
# optim_apply turns it into the update of the parameters, from per-replica optimiser state
# carried beside the model's other state. cimport it from dysonlearn._core.optim.
#
# Conventions (those of torch.optim, so that issue 13's optimisers slot in unchanged):
#   g is the gradient of the loss in the model's own parametrisation, descent sign: SGD
#   steps w <- w - lr g. A model whose buffer holds the gradient up to a constant factor
#   says so through `scale` (the gradient is scale * g) and `rate` (SGD's step lr * scale,
#   rounded as that model's update always rounded it: the RBM's (lr sigma_h) sigma_h of
#   :eq:`pcd-update`); `blas` selects BLAS daxpy for the SGD update of a model whose update
#   used to be a BLAS call (the RBM's dsymm with beta = 1: daxpy rounds exactly as it did),
#   the plain C loop w[i] - rate g[i] otherwise (teacher-student, Dyson). optim_sgd() fills
#   all three.
#   Per-replica state: optim_state_size(opt, n) doubles per replica for n parameters, zero
#   for SGD. `step` is the 1-based step count (Adam's bias correction).
#
# Adding an optimiser (issue 13): a kind code below, its state size in optim_state_size,
# its update in optim_apply; nothing in the models changes.
from libc.stdint cimport int64_t, intptr_t
from scipy.linalg.cython_blas cimport daxpy


cdef extern from "dl_optim.h" nogil:
    void dl_sgd_update(double* w, const double* g, double rate, intptr_t n)

cdef enum optim_kind:
    OPTIM_SGD = 0           # w <- w - lr g


ctypedef struct optim_t:
    int kind
    double lr
    double beta1            # momentum's beta, Adam's beta1 (unused by SGD)
    double beta2            # Adam's beta2 (unused by SGD)
    double eps              # Adam's epsilon, added after the square root (unused by SGD)
    double weight_decay     # AdamW's decoupled decay (unused by SGD)
    # How the model's gradient buffer relates to the gradient (see above):
    double scale
    double rate
    bint blas


cdef inline void optim_sgd(optim_t* opt, double lr, double scale, double rate,
                           bint blas) noexcept nogil:
    """Plain SGD at learning rate lr for a model whose buffer holds gradient / scale."""
    opt.kind = OPTIM_SGD
    opt.lr = lr
    opt.beta1 = 0.0
    opt.beta2 = 0.0
    opt.eps = 0.0
    opt.weight_decay = 0.0
    opt.scale = scale
    opt.rate = rate
    opt.blas = blas


cdef inline Py_ssize_t optim_state_size(const optim_t* opt, Py_ssize_t n) noexcept nogil:
    """Doubles of per-replica state the optimiser keeps for n parameters (0 for SGD)."""
    return 0


cdef inline int optim_apply(const optim_t* opt, double* w, const double* g, double* state,
                            int64_t step, Py_ssize_t n) noexcept nogil:
    """w[0:n] <- the optimiser's update of w given the gradient buffer g[0:n]; 0, or -1 for
    an unknown kind. state: this replica's optim_state_size(opt, n) doubles (NULL if 0)."""
    cdef int count = <int> n, inc = 1
    cdef double alpha = -opt.rate
    if opt.kind != OPTIM_SGD:
        return -1
    if opt.blas:
        daxpy(&count, &alpha, <double*> g, &inc, w, &inc)
    else:
        dl_sgd_update(w, g, opt.rate, n)   # w[i] -= rate g[i], scalar (dl_optim.h)
    return 0
