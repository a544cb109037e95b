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
#   The kinds: SGD, heavy-ball momentum (plain or Nesterov), Adam and AdamW, with the update
#   equations of torch.optim (dysonlearn.optim's docstring) on g = scale * buffer. State
#   layout per replica: momentum v (n doubles); Adam/AdamW m then s (2n doubles).
#   SGD keeps its fused path (rate, blas) bit for bit; the others use lr and scale.
#
# Adding an optimiser: a kind code below, its state size in optim_state_size, its update in
# optim_apply (the loop in dl_optim.h), its name in optim_configure; nothing in the models
# changes.
from libc.stdint cimport int64_t, intptr_t
from libc.stdlib cimport malloc
from scipy.linalg.cython_blas cimport daxpy


cdef extern from "dl_optim.h" nogil:
    void dl_sgd_update(double* w, const double* g, double rate, intptr_t n)
    void dl_momentum_update(double* w, const double* buf, double* v, double lr, double beta,
                            double scale, int nesterov, intptr_t n)
    void dl_adam_bias(double lr, double beta1, double beta2, double eps, int64_t t,
                      double* step, double* eps_hat)
    void dl_adam_update(double* w, const double* buf, double* state, double lr, double beta1,
                        double beta2, double decay, double scale, double step, double eps_hat,
                        intptr_t n, intptr_t stride)

cdef enum optim_kind:
    OPTIM_SGD = 0           # w <- w - lr g
    OPTIM_MOMENTUM = 1      # v <- beta1 v + g, w <- w - lr v
    OPTIM_NESTEROV = 2      # v <- beta1 v + g, w <- w - lr (g + beta1 v)
    OPTIM_ADAM = 3          # bias-corrected moments, eps after the square root
    OPTIM_ADAMW = 4         # w <- w (1 - lr weight_decay), then Adam


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
    # Adam's bias corrections (step, eps_hat of dl_adam_bias) of steps schedule_first + i, i <
    # schedule_len, computed once per call for all replicas (optim_schedule); NULL: pow
    # at every step. Either way the same numbers (dl_adam_bias).
    const double* schedule
    int64_t schedule_first
    int64_t schedule_len


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
    opt.schedule = NULL
    opt.schedule_first = 0
    opt.schedule_len = 0


cdef inline void optim_momentum(optim_t* opt, double lr, double beta, bint nesterov,
                                double scale) noexcept nogil:
    """Heavy-ball momentum beta at learning rate lr (Nesterov's variant if nesterov), for a
    model whose buffer holds gradient / scale."""
    optim_sgd(opt, lr, scale, lr * scale, False)
    opt.kind = OPTIM_NESTEROV if nesterov else OPTIM_MOMENTUM
    opt.beta1 = beta


cdef inline void optim_adam(optim_t* opt, double lr, double beta1, double beta2, double eps,
                            double scale) noexcept nogil:
    """Adam at learning rate lr for a model whose buffer holds gradient / scale."""
    optim_sgd(opt, lr, scale, lr * scale, False)
    opt.kind = OPTIM_ADAM
    opt.beta1 = beta1
    opt.beta2 = beta2
    opt.eps = eps


cdef inline void optim_adamw(optim_t* opt, double lr, double beta1, double beta2, double eps,
                             double weight_decay, double scale) noexcept nogil:
    """AdamW (decoupled weight decay) at learning rate lr, buffer = gradient / scale."""
    optim_adam(opt, lr, beta1, beta2, eps, scale)
    opt.kind = OPTIM_ADAMW
    opt.weight_decay = weight_decay


cdef inline Py_ssize_t optim_state_size(const optim_t* opt, Py_ssize_t n) noexcept nogil:
    """Doubles of per-replica state the optimiser keeps for n parameters: 0 for SGD, n for
    momentum (v), 2n for Adam and AdamW (m, then s)."""
    if opt.kind == OPTIM_MOMENTUM or opt.kind == OPTIM_NESTEROV:
        return n
    if opt.kind == OPTIM_ADAM or opt.kind == OPTIM_ADAMW:
        return 2 * n
    return 0


cdef inline int optim_configure(optim_t* opt, object spec, double lr,
                                double scale) except -1:
    """Fill opt from an optimiser's plain-dict form (dysonlearn.optim's to_dict()), for a
    model whose buffer holds gradient / scale. None or kind "sgd" leave opt untouched (the
    model has set up its own SGD, whose rounding the fingerprints fix); 1 if it did so,
    0 otherwise. ValueError for an unknown kind."""
    if spec is None:
        return 1
    kind = spec.get("kind", "sgd")
    if kind == "sgd":
        return 1
    if kind == "momentum":
        optim_momentum(opt, lr, float(spec["beta"]), bool(spec["nesterov"]), scale)
    elif kind == "adam":
        optim_adam(opt, lr, float(spec["beta1"]), float(spec["beta2"]), float(spec["eps"]),
                   scale)
    elif kind == "adamw":
        optim_adamw(opt, lr, float(spec["beta1"]), float(spec["beta2"]), float(spec["eps"]),
                    float(spec["weight_decay"]), scale)
    else:
        raise ValueError(f"optimizer.kind: must be one of 'sgd', 'momentum', 'adam', "
                         f"'adamw', got {kind!r}")
    return 0


cdef enum:
    OPTIM_SCHEDULE_MAX = 65536      # steps of bias corrections tabulated per call (1 MB)


cdef inline double* optim_schedule(optim_t* opt, int64_t start, int64_t stop) except? NULL:
    """For Adam and AdamW, tabulate the bias corrections of steps start + 1 .. stop (at most
    OPTIM_SCHEDULE_MAX of them; later steps compute theirs) into opt.schedule: two pow
    calls a step for the whole block instead of for every replica-step. Returns the table
    for the caller to free() after the run (NULL if none is needed)."""
    cdef int64_t i, n = stop - start
    cdef double* table
    if not (opt.kind == OPTIM_ADAM or opt.kind == OPTIM_ADAMW) or n <= 0:
        return NULL
    if n > OPTIM_SCHEDULE_MAX:
        n = OPTIM_SCHEDULE_MAX
    table = <double*> malloc(2 * n * sizeof(double))
    if table == NULL:
        raise MemoryError()
    for i in range(n):
        dl_adam_bias(opt.lr, opt.beta1, opt.beta2, opt.eps, start + 1 + i, &table[2 * i],
                     &table[2 * i + 1])
    opt.schedule = table
    opt.schedule_first = start + 1
    opt.schedule_len = n
    return table


cdef inline double* optim_state_block(const optim_t* opt, Py_ssize_t n_rep, Py_ssize_t n,
                                      double[:, ::1] state) except? NULL:
    """The block's (n_rep, optim_state_size(opt, n)) state array checked, as a pointer
    (NULL when the optimiser keeps no state or there are no replicas)."""
    cdef Py_ssize_t size = optim_state_size(opt, n)
    if size == 0:
        if state is not None and (state.shape[0] != n_rep or state.shape[1] != 0):
            raise ValueError(f"opt_state: the optimiser keeps no state: pass None or a "
                             f"({n_rep}, 0) array")
        return NULL
    if state is None:
        raise ValueError(f"opt_state: the optimiser keeps {size} doubles per replica: pass "
                         f"a ({n_rep}, {size}) float64 array")
    if state.shape[0] != n_rep or state.shape[1] != size:
        raise ValueError(f"opt_state: must have shape ({n_rep}, {size}), got "
                         f"({state.shape[0]}, {state.shape[1]})")
    return &state[0, 0] if n_rep > 0 else NULL


cdef inline int optim_apply_part(const optim_t* opt, double* w, const double* g,
                                 double* state, int64_t step, Py_ssize_t n,
                                 Py_ssize_t total) noexcept nogil:
    """optim_apply on n consecutive weights of a vector of `total` whose state is laid out
    for `total` (w, g and state point at the first of the n; each of the state's arrays is
    `total` doubles apart). n = total is optim_apply."""
    cdef int count = <int> n, inc = 1
    cdef double alpha = -opt.rate
    cdef double step_size, eps_hat
    cdef int64_t i = step - opt.schedule_first
    if opt.kind == OPTIM_MOMENTUM or opt.kind == OPTIM_NESTEROV:
        dl_momentum_update(w, g, state, opt.lr, opt.beta1, opt.scale,
                           opt.kind == OPTIM_NESTEROV, n)
        return 0
    if opt.kind == OPTIM_ADAM or opt.kind == OPTIM_ADAMW:
        if opt.schedule != NULL and 0 <= i < opt.schedule_len:
            step_size = opt.schedule[2 * i]
            eps_hat = opt.schedule[2 * i + 1]
        else:
            dl_adam_bias(opt.lr, opt.beta1, opt.beta2, opt.eps, step, &step_size, &eps_hat)
        dl_adam_update(w, g, state, opt.lr, opt.beta1, opt.beta2,
                       opt.weight_decay if opt.kind == OPTIM_ADAMW else 0.0, opt.scale,
                       step_size, eps_hat, n, total)
        return 0
    if opt.kind != OPTIM_SGD:
        return -1
    if opt.blas:
        daxpy(&count, &alpha, <double*> g, &inc, w, &inc)
    else:
        dl_sgd_update(w, g, opt.rate, n)   # w[i] -= rate g[i], scalar (dl_optim.h)
    return 0


cdef inline int optim_apply(const optim_t* opt, double* w, const double* g, double* state,
                            int64_t step, Py_ssize_t n) noexcept nogil:
    """w[0:n] <- the optimiser's update of w given the gradient buffer g[0:n]; 0, or -1 for
    an unknown kind. state: this replica's optim_state_size(opt, n) doubles (NULL if 0)."""
    return optim_apply_part(opt, w, g, state, step, n, n)


cdef inline void optim_apply_symmetric_2x2(const optim_t* opt, double* w, const double* g,
                                           double* state, int64_t step) noexcept nogil:
    """optim_apply on a symmetric 2 x 2 matrix (row-major, g symmetric too), then entry 1
    copied to entry 2. SGD and momentum update all four entries (SGD as it always did);
    Adam and AdamW, whose square root and division per entry are most of a small model's
    step, update the three distinct entries only and copy entry 1's state to entry 2's,
    which then equals it as a full update gives from a symmetric state (a zero start or
    any state this function returned)."""
    cdef Py_ssize_t k, arrays
    if not (opt.kind == OPTIM_ADAM or opt.kind == OPTIM_ADAMW):
        # SGD and momentum: a multiply-add an entry, cheaper than splitting the loop.
        optim_apply(opt, w, g, state, step, 4)
    else:
        optim_apply_part(opt, w, g, state, step, 2, 4)
        optim_apply_part(opt, w + 3, g + 3, state + 3, step, 1, 4)
        arrays = optim_state_size(opt, 4) // 4
        for k in range(arrays):
            state[4 * k + 2] = state[4 * k + 1]
    w[2] = w[1]
