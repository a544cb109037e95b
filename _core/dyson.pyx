# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Eigenvalue-level Dyson Brownian motion: the discrete update :eq:`dyson-bm`, solved exactly.

One step of one replica with levels x (ascending) and GOE-like noise of strength g:

    M = diag(x_i + lr K_i(x_i)) + (lr g / sqrt(B)) H,   H symmetric, H_ij ~ N(0, 1) (i < j),
                                                        H_ii ~ N(0, 2)
    x <- eigenvalues of M (ascending)

Second-order perturbation theory of this step is :eq:`dyson-bm`: drift lr K_i, Coulomb term
(lr^2 g^2 / B) sum_j 1/(x_i - x_j), diagonal noise (lr / sqrt(B)) sqrt(2) g eta_i. Solving
the 2 x 2 or n x n eigenproblem instead of adding those terms keeps the levels ordered and
is exact for the matrix model at any step size, where explicit Euler on :eq:`dyson-bm` with
re-sorting overestimates the spacing (the noise per step is a sizeable fraction of it
and the Coulomb term is stiff).

Normals per step: n (n + 1) / 2, the upper triangle of H row by row.
Drifts: DYSON_LINEAR K_i = kappa_i - x_i; DYSON_RBM K_i = 2 x (1/kappa_i - 1/(mu^2 - x))
:eq:`fp-drift`, whose levels live in [0, mu^2): a level pushed below 0 is reflected (x = xi^2 of a
singular value xi that changed sign), one that reaches mu^2 has diverged :eq:`rbm-kernel`.

Divergence: a replica fails at the step where a level goes non-finite, leaves [0, mu^2) (RBM
drift), or, given a bound (DysonParams.bound, the `bound` argument of dyson_advance), where
|x_i| exceeds it: for the linear drift the model adapter derives that bound from the
configuration's scale, far beyond any level the stationary state or the relaxation to it
reaches. Failed replicas are stopped and flagged with the step.
"""
from libc.math cimport fabs, hypot, isfinite, sqrt
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free
from libc.string cimport memcpy

from dysonlearn._core.optim cimport optim_apply, optim_sgd, optim_t

include "_linalg.pxi"
include "_bitgen.pxi"

dl_normal_setup()

DRIFTS = {"linear": DYSON_LINEAR, "rbm": DYSON_RBM}

cdef enum:
    DYSON_SMALL = 8     # up to this many levels, the step's gradient lives on the stack


cdef int dyson_work_alloc(DysonWork* work, const DysonParams* p) noexcept nogil:
    work.matrix = alloc_work(p.n * p.n + 2 * p.n + eigvals_lwork(p.n), &work.lapack_iwork)
    if work.matrix == NULL:
        return -1
    work.grad = work.matrix + p.n * p.n
    work.diagonal = work.grad + p.n
    work.lapack_work = work.diagonal + p.n
    return 0


cdef void dyson_work_free(DysonWork* work) noexcept nogil:
    free(work.matrix)
    free(work.lapack_iwork)
    work.matrix = NULL
    work.lapack_iwork = NULL


cdef inline int dyson_check(const DysonParams* p, const double* levels) noexcept nogil:
    """DL_OK when every level is finite, within the bound (DBL_MAX if none) and, RBM drift,
    in [0, mu^2); DL_NONFINITE if a level is not finite; DL_ESCAPED otherwise."""
    cdef int i, j
    for i in range(p.n):
        # False for NaN and inf too (the bound is at most DBL_MAX): one comparison a level.
        if not (fabs(levels[i]) <= p.bound):
            for j in range(p.n):
                if not isfinite(levels[j]):
                    return DL_NONFINITE
            return DL_ESCAPED
    if p.drift == DYSON_RBM and (levels[0] < 0.0 or levels[p.n - 1] >= p.mu * p.mu):
        return DL_ESCAPED
    return DL_OK


cdef inline void reflect_at_zero(int n, double* levels) noexcept nogil:
    """|x| for the levels below 0, then ascending order again (insertion sort: n is small
    and only the lowest few levels ever move)."""
    cdef int i, j
    cdef double x
    if levels[0] >= 0.0:
        return
    for i in range(n):
        if levels[i] < 0.0:
            levels[i] = -levels[i]
    for i in range(1, n):
        x = levels[i]
        j = i - 1
        while j >= 0 and levels[j] > x:
            levels[j + 1] = levels[j]
            j -= 1
        levels[j + 1] = x


cdef void dyson_sgd(optim_t* opt) noexcept nogil:
    # The gradient buffer holds minus the levels' drift increment lr K_i: the step's lr is a
    # parameter of the SDE (it scales the noise as well), so the levels take SGD at unit rate.
    optim_sgd(opt, 1.0, 1.0, 1.0, False)


cdef inline void dyson_gradient(const DysonParams* p, const double* levels,
                                const double* targets, double* grad) noexcept nogil:
    """grad = minus the drift increment lr K_i(x_i) of each level (module docstring)."""
    cdef int i
    cdef double lr = p.lr, mu2 = p.mu * p.mu
    # One loop per drift (no branch inside): the compiler vectorises both, and the
    # optimiser's loads of grad then forward from whole-vector stores.
    if p.drift == DYSON_LINEAR:
        for i in range(p.n):
            grad[i] = -(lr * (targets[i] - levels[i]))
    else:
        for i in range(p.n):
            grad[i] = -(lr * 2.0 * levels[i] * (1.0 / targets[i] - 1.0 / (mu2 - levels[i])))


cdef inline int dyson_advance_levels(const DysonParams* p, const optim_t* opt,
                                     double* levels, const double* targets, double* opt_state,
                                     int64_t step, dl_normal_source* normals,
                                     DysonWork* w) noexcept nogil:
    """One step in place: the drift through the optimiser, the noise as the matrix H, the
    eigenproblem of M. DL_OK, or DL_LAPACK_FAILED if dsyevd failed (n > 2)."""
    cdef int n = p.n, i, j
    cdef double scale = p.lr * p.noise / sqrt(<double> p.batch_size)
    cdef double diag_scale = scale * sqrt(2.0)
    cdef double mean, radius
    cdef double* m = w.matrix
    # The upper triangle of H, row by row, straight into M (column-major upper = row-major
    # lower is irrelevant here: M is symmetric and only its upper triangle is read).
    dl_draw_normals(normals, m, n * (n + 1) // 2)
    # Spread the packed draws to their places, last first so nothing is overwritten early.
    cdef int q = n * (n + 1) // 2
    for i in range(n - 1, -1, -1):
        for j in range(n - 1, i - 1, -1):
            q -= 1
            m[i + j * n] = m[q]
    # The diagonal of M before the noise: x_i + lr K_i, by the optimiser (on the stack for
    # the few levels of the usual settings, in the workspace beyond).
    cdef double grad_small[DYSON_SMALL]
    cdef double diagonal_small[DYSON_SMALL]
    cdef double* grad = w.grad
    cdef double* diagonal = w.diagonal
    if n <= DYSON_SMALL:
        grad = &grad_small[0]
        diagonal = &diagonal_small[0]
    dyson_gradient(p, levels, targets, grad)
    for i in range(n):
        diagonal[i] = levels[i]
    optim_apply(opt, diagonal, grad, opt_state, step, n)
    for i in range(n):
        m[i + i * n] = diagonal[i] + diag_scale * m[i + i * n]
        for j in range(i + 1, n):
            m[i + j * n] *= scale
    if n == 1:
        levels[0] = m[0]
    elif n == 2:
        mean = 0.5 * (m[0] + m[3])
        radius = hypot(0.5 * (m[0] - m[3]), m[2])
        levels[0] = mean - radius
        levels[1] = mean + radius
    elif sym_eigvals_upper(n, m, levels, w.lapack_work, w.lapack_iwork) != 0:
        return DL_LAPACK_FAILED
    if p.drift == DYSON_RBM:
        reflect_at_zero(n, levels)
    return DL_OK


cdef int dyson_step(const DysonParams* p, double* levels, const double* targets,
                    dl_normal_source* normals, DysonWork* w) noexcept nogil:
    """One step in place and the levels' check: a dl_status (DL_NONFINITE, DL_ESCAPED:
    outside the bound or, RBM drift, [0, mu^2); DL_LAPACK_FAILED)."""
    cdef optim_t opt
    dyson_sgd(&opt)
    cdef int status = dyson_advance_levels(p, &opt, levels, targets, NULL, 0, normals, w)
    return status if status != DL_OK else dyson_check(p, levels)


cdef struct DysonModel:
    # What the shared driver steps: the block's parameters and workspace, and the replica
    # bound last (bind).
    const DysonParams* p
    DysonWork* work
    const optim_t* opt
    const double* targets
    double* levels
    double* all_levels          # the block's (R, n) levels


# The shared driver, bound at compile time to this model's functions (_driver.pxi).
ctypedef DysonModel dl_model

include "_driver.pxi"


cdef inline void dl_model_bind(DysonModel* m, Py_ssize_t r) noexcept nogil:
    m.levels = m.all_levels + r * m.p.n


cdef inline int dl_model_check(DysonModel* m) noexcept nogil:
    return dyson_check(m.p, m.levels)


cdef inline int dl_model_step(DysonModel* m, int64_t t,
                              dl_normal_source* normals) noexcept nogil:
    cdef int status = dyson_advance_levels(m.p, m.opt, m.levels, m.targets, NULL, t, normals,
                                           m.work)
    return status if status != DL_OK else dyson_check(m.p, m.levels)


cdef inline int dl_model_spectrum(DysonModel* m, double* out) noexcept nogil:
    memcpy(out, m.levels, m.p.n * sizeof(double))
    return 0


cdef inline int dl_model_n_values(const DysonModel* m) noexcept nogil:
    return m.p.n


# No segments (_driver.pxi): the check is as cheap as the step's own arithmetic.
include "_no_segments.pxi"


cdef int64_t dyson_run(const DysonParams* p, double* levels, const double* targets,
                       dl_normal_source* normals, DysonWork* w, int64_t start,
                       int64_t stop, const int64_t* snapshot_steps, Py_ssize_t n_snapshots,
                       double* eigenvalues) noexcept nogil:
    """Advance one replica from `start` to `stop` by the shared driver; -1, or the step at
    which it failed."""
    cdef optim_t opt
    cdef DysonModel m
    cdef int status
    dyson_sgd(&opt)
    m.p = p
    m.work = w
    m.opt = &opt
    m.targets = targets
    m.all_levels = levels
    m.levels = levels
    return dl_run_replica(&m, normals, start, stop, snapshot_steps, n_snapshots,
                          eigenvalues, &status)


def dyson_advance(double[:, ::1] levels not None, const double[::1] targets not None,
                  object bit_generators, double lr, double noise, int batch_size, str drift,
                  double mu, int64_t start, int64_t stop,
                  const int64_t[::1] snapshot_steps not None,
                  double[:, :, ::1] eigenvalues not None, uint8_t[::1] failed not None,
                  int64_t[::1] fail_step not None, str normal_method="ziggurat",
                  object bound=None, uint8_t[::1] status=None):
    """Advance R replicas' levels (R, n), ascending, in place from `start` to `stop`.

    targets (n,): kappa of each sorted level (see the module docstring); eigenvalues
    (R, S, n) receives the levels at each snapshot step within [start, stop]. bound: a
    replica with a level |x_i| > bound is flagged as diverged (None: no bound). status
    (R,), if given, receives each failed replica's dl_status (STATUS).
    """
    cdef Py_ssize_t n_rep = levels.shape[0]
    cdef int n = levels.shape[1]
    if drift not in DRIFTS:
        raise ValueError(f"drift must be one of {sorted(DRIFTS)}, got {drift!r}")
    if n < 1 or batch_size < 1 or targets.shape[0] != n:
        raise ValueError(f"need n >= 1 levels, batch_size >= 1 and {n} targets")
    cdef DysonParams p
    p.n = n
    p.batch_size = batch_size
    p.drift = DRIFTS[drift]
    p.lr = lr
    p.noise = noise
    p.mu = mu
    p.bound = escape_bound(bound)
    cdef DysonModel m
    cdef DysonWork work
    cdef optim_t opt
    dyson_sgd(&opt)
    m.p = &p
    m.work = &work
    m.opt = &opt
    m.targets = &targets[0]
    m.all_levels = &levels[0, 0] if n_rep > 0 else NULL
    if dyson_work_alloc(&work, &p) != 0:
        raise MemoryError()
    try:
        drive_block(&m, &opt, bit_generators, n_rep, start, stop, snapshot_steps, eigenvalues,
                    failed, fail_step, normal_method, status)
    finally:
        dyson_work_free(&work)
