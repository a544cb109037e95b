# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Teacher-student model with noise added by hand: the hot loop (:doc:`/theory/teacher_student`).

One step of one replica, :eq:`ts-update`:

    W <- W + lr [ (1/2) ((W_T - W) C_B + C_B (W_T - W)) + A Xi_B ]

with C_B = (1/B) sum_b x_b x_b^T, x_b ~ N(0, 1_n), and Xi_B the batch mean of B symmetric
noise matrices with off-diagonal N(0, 1) and diagonal N(0, 2) entries.

Samplers (fresh data every step):
  TS_WISHART     C_B = L L^T / B by Bartlett's decomposition of Wishart(B, 1_n): L lower
                 triangular, L_ii^2 ~ chi^2(B - i), L_ij ~ N(0, 1) (i > j); Xi_B drawn
                 directly with off-diagonal variance 1/B and diagonal 2/B. Exact in
                 distribution, needs B >= n, and costs n (n + 1) + n variates a step instead
                 of B n (n + 3) / 2 + B n.
  TS_EXPLICIT    B inputs and B noise matrices, averaged: the definition itself.
  TS_MEAN_NOISE  B explicit inputs (C_B their exact batch covariance, any B), Xi_B drawn
                 directly as by TS_WISHART: B n + n (n + 1) / 2 normals. The mean of B
                 independent GOE-like matrices is Gaussian with the same covariance
                 structure divided by B, so Xi_B has exactly the law of the explicit mean.
Variates per step, in this order. Wishart: for each row i, chi^2(B - i) then the i
normals L_i0 .. L_i,i-1; then the n (n + 1) / 2 normals of Xi_B (upper triangle, row-major).
Explicit: B n normals of the inputs (row b = x_b), then B n (n + 1) / 2 normals, the upper
triangles of the B noise matrices. Mean-noise: B n normals of the inputs (row b = x_b), then
the n (n + 1) / 2 normals of Xi_B (upper triangle, row-major).

From n = TS_BLAS_MIN_N on, the products are BLAS calls: C_B from explicit inputs by dsyrk,
the data term (W_T - W) C_B by dgemm, and for the mean-noise sampler with 3 B < 2 n the data
term as ((W_T - W) X^T) X / B without forming C_B (4 B n^2 flops instead of B n^2 + 2 n^3).
Below it, the loops as they always were (the same bits).

Reference protocol (the published code): a finite data set of P points with per-point
noise, visited in batches of B (in a fresh random order each epoch when shuffling), the
unsymmetrised data term (W_T - W) C_B, and singular values of the (then non-symmetric) W
as the spectrum. The spectrum is otherwise the ascending eigenvalues of the symmetric W.

Divergence: a step fails when an entry of W is non-finite or, given a bound (TSParams.bound,
the `bound` argument of ts_advance), when |W_ij| exceeds it: a replica that far out has left
the region where :eq:`ts-update` describes learning (the model adapter derives the bound from the
configuration's scale). The replica is then stopped and flagged with the step. The check is
one comparison per entry of W, against DBL_MAX when no bound is given, so that it also
catches inf and NaN; it never changes the arithmetic of a replica that does not fail.
"""
from libc.math cimport fabs, isfinite, sqrt
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free
from libc.string cimport memcpy, memset

from dysonlearn._core.optim cimport (
    optim_apply, optim_apply_symmetric_2x2, optim_configure, optim_sgd,
    optim_state_block, optim_state_size,
)

include "_linalg.pxi"
include "_bitgen.pxi"
include "_wishart.pxi"

dl_normal_setup()

SAMPLERS = {"wishart": TS_WISHART, "explicit": TS_EXPLICIT, "mean-noise": TS_MEAN_NOISE}
BLAS_MIN_N = TS_BLAS_MIN_N


cdef int ts_work_alloc(TSWork* work, const TSParams* p) noexcept nogil:
    cdef Py_ssize_t n = p.n, nb = p.batch_size, m = n * (n + 1) // 2
    cdef Py_ssize_t factor = n * n if n * n > nb * n else nb * n
    # Only the explicit sampler holds B noise matrices; the others draw one.
    cdef Py_ssize_t noise = nb * m if p.sampler == TS_EXPLICIT else m
    cdef Py_ssize_t lowrank = n * nb if ts_lowrank(p) else 0
    cdef Py_ssize_t total = 5 * n * n + factor + noise + lowrank + eigvals_lwork(n)
    cdef double* block = alloc_work(total, &work.lapack_iwork)
    if block == NULL:
        return -1
    work.cov = block
    work.xi = work.cov + n * n
    work.grad = work.xi + n * n
    work.gram = work.grad + n * n
    work.dw = work.gram + n * n
    work.factor = work.dw + n * n
    work.sample_noise = work.factor + factor
    work.lowrank = work.sample_noise + noise
    work.lapack_work = work.lowrank + lowrank
    return 0


cdef inline bint ts_lowrank(const TSParams* p) noexcept nogil:
    """Whether the data term is ((W_T - W) X^T) X / B from the inputs X, C_B never formed:
    the mean-noise sampler on fresh data, from TS_BLAS_MIN_N on, when its 4 B n^2 flops
    are fewer than the B n^2 + 2 n^3 of forming C_B and multiplying by it (3 B < 2 n)."""
    return (p.sampler == TS_MEAN_NOISE and not p.reference and p.n >= TS_BLAS_MIN_N
            and 3 * p.batch_size < 2 * p.n)


cdef void inputs_covariance(int n, int nb, const double* x, double* cov) noexcept nogil:
    """cov = X^T X / B of the inputs x (B, n) row-major, both triangles: the loop below
    TS_BLAS_MIN_N (the explicit sampler's bits), dsyrk from there on."""
    cdef int i, j, b
    cdef double inv_b = 1.0 / nb, acc
    if n >= TS_BLAS_MIN_N:
        # Column-major upper triangle = row-major lower triangle; mirrored after.
        gram_upper(nb, n, inv_b, x, cov)
        for i in range(n):
            for j in range(i + 1, n):
                cov[i * n + j] = cov[j * n + i]
        return
    for i in range(n):
        for j in range(i + 1):
            acc = 0.0
            for b in range(nb):
                acc += x[b * n + i] * x[b * n + j]
            cov[i * n + j] = acc * inv_b
            cov[j * n + i] = acc * inv_b


cdef void ts_work_free(TSWork* work) noexcept nogil:
    free(work.cov)
    free(work.lapack_iwork)
    work.cov = NULL
    work.lapack_iwork = NULL


cdef inline void unpack_noise(int n, const double* packed, double scale, double* xi) noexcept nogil:
    """xi += scale * the symmetric matrix whose upper triangle (row-major) is packed."""
    cdef int i, j, q = 0
    for i in range(n):
        for j in range(i, n):
            xi[i * n + j] += scale * packed[q]
            if j != i:
                xi[j * n + i] += scale * packed[q]
            q += 1


cdef void fresh_batch(const TSParams* p, dl_normal_source* variates, TSWork* w) noexcept nogil:
    """C_B and Xi_B of one batch of fresh data, by the configured sampler."""
    cdef int n = p.n, nb = p.batch_size, i, b
    cdef int m = n * (n + 1) // 2
    cdef double inv_b = 1.0 / nb, sqrt2 = sqrt(2.0)
    cdef double* L = w.factor
    memset(w.xi, 0, n * n * sizeof(double))
    if p.sampler == TS_WISHART:
        wishart_covariance(n, nb, variates, L, w.cov)
        # Xi_B directly: off-diagonal N(0, 1/B), diagonal N(0, 2/B).
        dl_draw_normals(variates, w.sample_noise, m)
        unpack_noise(n, w.sample_noise, sqrt(inv_b), w.xi)
        for i in range(n):
            w.xi[i * n + i] *= sqrt2
    elif p.sampler == TS_MEAN_NOISE:
        # The B inputs explicitly; C_B only if the data term needs it (not ts_lowrank).
        dl_draw_normals(variates, L, nb * n)
        if not ts_lowrank(p):
            inputs_covariance(n, nb, L, w.cov)
        # Xi_B directly, as for Wishart: the mean of B independent noise matrices has
        # exactly the law N(0, 1/B) off the diagonal, N(0, 2/B) on it.
        dl_draw_normals(variates, w.sample_noise, m)
        unpack_noise(n, w.sample_noise, sqrt(inv_b), w.xi)
        for i in range(n):
            w.xi[i * n + i] *= sqrt2
    else:
        dl_draw_normals(variates, L, nb * n)
        inputs_covariance(n, nb, L, w.cov)
        dl_draw_normals(variates, w.sample_noise, nb * m)
        for b in range(nb):
            unpack_noise(n, w.sample_noise + b * m, inv_b, w.xi)
        for i in range(n):
            w.xi[i * n + i] *= sqrt2


cdef void data_batch(const TSParams* p, const TSData* data, int64_t step,
                     dl_normal_source* variates, TSWork* w) noexcept nogil:
    """C_B and Xi_B of the batch of the finite data set that step `step` visits."""
    cdef int n = p.n, nb = p.batch_size, i, j, b, point
    cdef int m = n * (n + 1) // 2
    cdef int64_t n_batches = data.n_points // nb
    cdef int64_t batch = (step - 1) % n_batches
    cdef int64_t q
    cdef int32_t swap
    cdef double inv_b = 1.0 / nb
    cdef const double* x
    if batch == 0 and p.shuffle:
        # A new epoch: Fisher-Yates shuffle of the visiting order.
        for q in range(data.n_points - 1, 0, -1):
            j = <int> dl_draw_index(variates, <uint64_t> q)
            swap = data.order[q]
            data.order[q] = data.order[j]
            data.order[j] = swap
    memset(w.cov, 0, n * n * sizeof(double))
    memset(w.xi, 0, n * n * sizeof(double))
    for b in range(nb):
        point = data.order[batch * nb + b]
        x = data.inputs + <Py_ssize_t> point * n
        for i in range(n):
            for j in range(n):
                w.cov[i * n + j] += inv_b * x[i] * x[j]
        unpack_noise(n, data.point_noise + <Py_ssize_t> point * m, inv_b, w.xi)


cdef inline int escaped(const TSParams* p, const double* weights,
                        Py_ssize_t count) noexcept nogil:
    """DL_OK if every |W_ij| <= bound; else DL_NONFINITE if an entry is not finite,
    DL_ESCAPED if one exceeds the bound and all are finite.

    `not (|w| <= bound)` is true for NaN, for inf (bound is at most DBL_MAX) and beyond the
    bound: one comparison per entry on the path every surviving replica takes.
    """
    cdef Py_ssize_t i, j
    for i in range(count):
        if not (fabs(weights[i]) <= p.bound):
            for j in range(i, count):
                if not isfinite(weights[j]):
                    return DL_NONFINITE
            return DL_ESCAPED
    return DL_OK


cdef inline void wishart_gradient_2x2(const TSParams* p, const double* weights,
                                      const double* teacher, dl_normal_source* variates,
                                      double* dw) noexcept nogil:
    """The N = 2 Wishart gradient written out: the article's setting, and the tightest loop.

    Same variates in the same order as the general path: chi^2(B), chi^2(B - 1), L_10,
    then Xi_B's upper triangle (0,0), (0,1), (1,1).
    """
    cdef double inv_b = 1.0 / p.batch_size
    cdef double a = dl_draw_chisquare(variates, p.batch_size)
    cdef double b = dl_draw_chisquare(variates, p.batch_size - 1)
    cdef double z[4]
    dl_draw_normals(variates, z, 4)
    # C_B = L L^T / B with L = [[sqrt(a), 0], [z0, sqrt(b)]].
    cdef double c00 = a * inv_b, c01 = sqrt(a) * z[0] * inv_b, c11 = (z[0] * z[0] + b) * inv_b
    cdef double d00 = teacher[0] - weights[0], d01 = teacher[1] - weights[1]
    cdef double d11 = teacher[3] - weights[3]
    cdef double noise_off = p.noise * sqrt(inv_b), noise_diag = noise_off * sqrt(2.0)
    # ((W_T - W) C_B + C_B (W_T - W)) / 2, entry by entry.
    cdef double g00 = d00 * c00 + d01 * c01
    cdef double g11 = d01 * c01 + d11 * c11
    cdef double g01 = 0.5 * (d00 * c01 + d01 * c11 + d01 * c00 + d11 * c01)
    dw[0] = -(g00 + noise_diag * z[1])
    dw[1] = -(g01 + noise_off * z[2])
    dw[2] = dw[1]
    dw[3] = -(g11 + noise_diag * z[3])


cdef inline int wishart_step_2x2(const TSParams* p, const optim_t* opt, double* weights,
                                 const double* teacher, double* opt_state, int64_t step,
                                 dl_normal_source* variates) noexcept nogil:
    """The whole N = 2 Wishart step, its gradient on the stack: the optimiser's update, W_10
    copied from W_01 (W stays exactly symmetric), then escaped()'s verdict on the three
    distinct entries."""
    cdef double dw[4]
    wishart_gradient_2x2(p, weights, teacher, variates, dw)
    optim_apply_symmetric_2x2(opt, weights, dw, opt_state, step)
    if (fabs(weights[0]) <= p.bound and fabs(weights[1]) <= p.bound
            and fabs(weights[3]) <= p.bound):
        return DL_OK
    if isfinite(weights[0]) and isfinite(weights[1]) and isfinite(weights[3]):
        return DL_ESCAPED
    return DL_NONFINITE


cdef inline bint fast_2x2(const TSParams* p) noexcept nogil:
    return p.n == 2 and p.sampler == TS_WISHART and not p.reference


cdef void data_term(const TSParams* p, const double* weights, const double* teacher,
                    TSWork* w) noexcept nogil:
    """w.grad = (W_T - W) C_B (its transpose is C_B (W_T - W): both factors are symmetric).

    From TS_BLAS_MIN_N on a dgemm (W_T - W in w.gram); for the mean-noise sampler with
    ts_lowrank, ((W_T - W) X^T) X / B from the inputs X in w.factor, two dgemm of inner size
    B. Row-major arrays are the column-major transposes BLAS sees: row-major D C is
    column-major C^T D^T."""
    cdef int n = p.n, nb = p.batch_size, i, j, k
    cdef double acc, one = 1.0, zero = 0.0, inv_b = 1.0 / p.batch_size
    cdef double* d = w.gram
    if n >= TS_BLAS_MIN_N:
        for i in range(n * n):
            d[i] = teacher[i] - weights[i]
        if ts_lowrank(p):
            # w.lowrank (n, B) row-major = D X^T; column-major (B, n) = X D^T.
            dgemm(b'T', b'N', &nb, &n, &n, &one, w.factor, &n, d, &n, &zero, w.lowrank, &nb)
            # grad row-major = (D X^T) X / B; column-major X^T (D X^T)^T / B.
            dgemm(b'N', b'N', &n, &n, &nb, &inv_b, w.factor, &n, w.lowrank, &nb, &zero,
                  w.grad, &n)
        else:
            dgemm(b'N', b'N', &n, &n, &n, &one, w.cov, &n, d, &n, &zero, w.grad, &n)
        return
    for i in range(n):
        for j in range(n):
            acc = 0.0
            for k in range(n):
                acc += (teacher[i * n + k] - weights[i * n + k]) * w.cov[k * n + j]
            w.grad[i * n + j] = acc


cdef void ts_gradient(const TSParams* p, const double* weights, const double* teacher,
                      const TSData* data, int64_t step, dl_normal_source* variates,
                      TSWork* w) noexcept nogil:
    """The gradient of step `step` :eq:`ts-update` into w.dw, descent sign: minus the bracket of
    :eq:`ts-update`,
    the hand-added noise included (it is part of the gradient estimate)."""
    cdef int n = p.n, i, j
    cdef double* g = w.grad
    if fast_2x2(p):
        wishart_gradient_2x2(p, weights, teacher, variates, w.dw)
        return
    if p.reference:
        data_batch(p, data, step, variates, w)
    else:
        fresh_batch(p, variates, w)
    data_term(p, weights, teacher, w)
    if p.reference:
        for i in range(n * n):
            w.dw[i] = -(g[i] + p.noise * w.xi[i])
    else:
        for i in range(n):
            for j in range(n):
                w.dw[i * n + j] = -(0.5 * (g[i * n + j] + g[j * n + i]) + p.noise * w.xi[i * n + j])


cdef inline void ts_update(const TSParams* p, const optim_t* opt, double* weights,
                           const double* dw, double* opt_state, int64_t step) noexcept nogil:
    """The optimiser's update of W from the gradient dw; the N = 2 Wishart path keeps W
    exactly symmetric by copying W_01 to W_10, as it always has."""
    if fast_2x2(p):
        optim_apply_symmetric_2x2(opt, weights, dw, opt_state, step)
    else:
        optim_apply(opt, weights, dw, opt_state, step, p.n * p.n)


cdef void ts_sgd(optim_t* opt, const TSParams* p) noexcept nogil:
    # The gradient buffer is the gradient itself; SGD in the C loop, as :eq:`ts-update` always was.
    optim_sgd(opt, p.lr, 1.0, p.lr, False)


cdef int ts_step(const TSParams* p, double* weights, const double* teacher,
                 const TSData* data, int64_t step, dl_normal_source* variates,
                 TSWork* w) noexcept nogil:
    """One step :eq:`ts-update` of one replica in place, SGD at p.lr; a dl_status: DL_NONFINITE if W
    left the finite numbers, DL_ESCAPED if an entry exceeds p.bound."""
    cdef optim_t opt
    ts_sgd(&opt, p)
    ts_gradient(p, weights, teacher, data, step, variates, w)
    ts_update(p, &opt, weights, w.dw, NULL, step)
    return escaped(p, weights, p.n * p.n)


cdef int ts_spectrum(const TSParams* p, const double* weights, TSWork* w,
                     double* out) noexcept nogil:
    """Ascending eigenvalues of the symmetric W, or (reference) singular values of W;
    LAPACK's info."""
    cdef int n = p.n, i, info
    if p.reference:
        # Singular values as square roots of the eigenvalues of W^T W, clipped at 0 (NaN,
        # from a W^T W that overflowed, stays NaN for the driver to see).
        gram_upper(n, n, 1.0, weights, w.gram)
        info = sym_eigvals_upper(n, w.gram, out, w.lapack_work, w.lapack_iwork)
        for i in range(n):
            if out[i] > 0:
                out[i] = sqrt(out[i])
            elif out[i] <= 0:
                out[i] = 0.0
        return info
    memcpy(w.gram, weights, n * n * sizeof(double))
    return sym_eigvals_upper(n, w.gram, out, w.lapack_work, w.lapack_iwork)


cdef struct TSModel:
    # What the shared driver steps: the block's parameters, workspace, optimiser and data,
    # and the replica bound last (bind).
    const TSParams* p
    TSWork* work
    const optim_t* opt
    double* weights
    const double* teacher
    double* opt_state
    TSData data
    double* all_weights             # the block's (R, n, n) students and (R, n, n) teachers
    const double* all_teachers
    double* all_opt_state
    const double* all_inputs        # reference protocol: (D, P, n), (D, P, n (n + 1) / 2),
    const double* all_point_noise   # (R,) data set of each replica, (R, P) visiting orders
    const int64_t* dataset_index
    int32_t* all_orders


# The shared driver, bound at compile time to this model's functions (_driver.pxi).
ctypedef TSModel dl_model

include "_driver.pxi"


cdef inline void dl_model_bind(TSModel* m, Py_ssize_t r) noexcept nogil:
    cdef Py_ssize_t n2 = m.p.n * m.p.n, d, m_noise = m.p.n * (m.p.n + 1) // 2
    m.weights = m.all_weights + r * n2
    m.teacher = m.all_teachers + r * n2
    m.opt_state = (m.all_opt_state + r * optim_state_size(m.opt, n2)
                   if m.all_opt_state != NULL else NULL)
    if m.p.reference:
        d = m.dataset_index[r]
        m.data.inputs = m.all_inputs + d * m.data.n_points * m.p.n
        m.data.point_noise = m.all_point_noise + d * m.data.n_points * m_noise
        m.data.order = m.all_orders + r * m.data.n_points


cdef inline int dl_model_check(TSModel* m) noexcept nogil:
    return escaped(m.p, m.weights, m.p.n * m.p.n)


cdef inline int dl_model_step(TSModel* m, int64_t t, dl_normal_source* variates) noexcept nogil:
    if fast_2x2(m.p):
        return wishart_step_2x2(m.p, m.opt, m.weights, m.teacher, m.opt_state, t, variates)
    ts_gradient(m.p, m.weights, m.teacher, &m.data, t, variates, m.work)
    ts_update(m.p, m.opt, m.weights, m.work.dw, m.opt_state, t)
    return escaped(m.p, m.weights, m.p.n * m.p.n)


cdef inline int dl_model_spectrum(TSModel* m, double* out) noexcept nogil:
    return ts_spectrum(m.p, m.weights, m.work, out)


cdef inline int dl_model_n_values(const TSModel* m) noexcept nogil:
    return m.p.n


# No segments (_driver.pxi): the check is as cheap as the step's own arithmetic.
include "_no_segments.pxi"


cdef int64_t ts_run(const TSParams* p, double* weights, const double* teacher,
                    const TSData* data, dl_normal_source* variates, TSWork* w,
                    int64_t start, int64_t stop, const int64_t* snapshot_steps,
                    Py_ssize_t n_snapshots, double* eigenvalues) noexcept nogil:
    """Advance one replica from `start` to `stop` (SGD at p.lr), by the shared driver; -1,
    or the step at which it failed (`start` itself when the state it is handed is already
    outside the bound)."""
    cdef optim_t opt
    cdef TSModel m
    cdef int status
    ts_sgd(&opt, p)
    m.p = p
    m.work = w
    m.opt = &opt
    m.weights = weights
    m.teacher = teacher
    m.opt_state = NULL
    m.data = data[0]
    return dl_run_replica(&m, variates, start, stop, snapshot_steps, n_snapshots,
                          eigenvalues, &status)


cdef TSParams _params(int n, int batch_size, str sampler, bint reference, bint shuffle,
                      double lr, double noise, object bound=None) except *:
    if n < 1 or batch_size < 1:
        raise ValueError("n and batch_size must be >= 1")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {sorted(SAMPLERS)}, got {sampler!r}")
    if SAMPLERS[sampler] == TS_WISHART and batch_size < n and not reference:
        raise ValueError(f"sampler: 'wishart' needs batch_size >= n = {n}, got batch_size "
                         f"{batch_size} (use 'mean-noise': explicit inputs, any batch size)")
    cdef TSParams p
    p.n = n
    p.batch_size = batch_size
    p.sampler = SAMPLERS[sampler]
    p.reference = reference
    p.shuffle = shuffle
    p.lr = lr
    p.noise = noise
    p.bound = escape_bound(bound)
    return p


cdef int _check_reference(int n, int batch_size, Py_ssize_t n_rep,
                          const double[:, :, ::1] inputs, const double[:, :, ::1] point_noise,
                          const int64_t[::1] dataset_index, int32_t[:, ::1] order) except -1:
    """Validate the reference protocol's data set; its number of points P."""
    if point_noise is None or dataset_index is None or order is None:
        raise ValueError("the reference protocol needs inputs, point_noise, "
                         "dataset_index and order")
    cdef Py_ssize_t r, n_points = inputs.shape[1]
    if (inputs.shape[2] != n or point_noise.shape[0] != inputs.shape[0]
            or point_noise.shape[1] != n_points or point_noise.shape[2] != n * (n + 1) // 2
            or dataset_index.shape[0] != n_rep or order.shape[0] != n_rep
            or order.shape[1] != n_points):
        raise ValueError("inconsistent shapes of the reference data set")
    if n_points < batch_size:
        raise ValueError("the data set must hold at least one batch")
    for r in range(n_rep):
        if not 0 <= dataset_index[r] < inputs.shape[0]:
            raise ValueError(f"dataset_index[{r}] out of range")
    return <int> n_points


def ts_advance(double[:, :, ::1] weights not None, const double[:, :, ::1] teachers not None,
               object bit_generators, double lr, double noise, int batch_size, str sampler,
               int64_t start, int64_t stop, const int64_t[::1] snapshot_steps not None,
               double[:, :, ::1] eigenvalues not None, uint8_t[::1] failed not None,
               int64_t[::1] fail_step not None, str normal_method="ziggurat",
               const double[:, :, ::1] inputs=None, const double[:, :, ::1] point_noise=None,
               const int64_t[::1] dataset_index=None, int32_t[:, ::1] order=None,
               bint shuffle=True, object bound=None, uint8_t[::1] status=None,
               object optimizer=None, double[:, ::1] opt_state=None):
    """Advance R teacher-student replicas in place from `start` to `stop` without the GIL.

    weights (R, n, n) students; teachers (R, n, n); one BitGenerator per replica. The
    reference protocol is on when `inputs` (D, P, n) is given, with point_noise
    (D, P, n (n + 1) / 2), dataset_index (R,) (which of the D data sets each replica
    visits) and order (R, P) int32 (each replica's visiting order, updated in place).
    eigenvalues (R, S, n) receives the spectrum at each snapshot step in [start, stop].
    bound: a replica with an entry |W_ij| > bound is flagged as diverged (None: only
    non-finite entries are). status (R,), if given, receives each failed replica's
    dl_status (STATUS). optimizer: the plain-dict form of a dysonlearn.optim optimiser
    (None: SGD); opt_state (R, its state size for n^2 weights) the replicas' optimiser
    state, updated in place (None when it keeps none). Step t (start < t <= stop) is the
    optimiser's 1-based step count.
    """
    cdef Py_ssize_t n_rep = weights.shape[0]
    cdef int n = weights.shape[1]
    cdef bint reference = inputs is not None
    cdef TSParams p = _params(n, batch_size, sampler, reference, shuffle, lr, noise, bound)
    if weights.shape[2] != n or teachers.shape[0] != n_rep or teachers.shape[1] != n \
            or teachers.shape[2] != n:
        raise ValueError(f"weights and teachers must both have shape ({n_rep}, {n}, {n})")
    cdef TSModel m
    cdef TSWork work
    cdef optim_t opt
    ts_sgd(&opt, &p)
    optim_configure(&opt, optimizer, lr, 1.0)
    m.p = &p
    m.work = &work
    m.opt = &opt
    m.all_weights = &weights[0, 0, 0] if n_rep > 0 else NULL
    m.all_teachers = &teachers[0, 0, 0] if n_rep > 0 else NULL
    m.all_opt_state = optim_state_block(&opt, n_rep, n * n, opt_state)
    m.data.n_points = 0
    m.data.inputs = NULL
    m.data.point_noise = NULL
    m.data.order = NULL
    if reference:
        m.data.n_points = _check_reference(n, batch_size, n_rep, inputs, point_noise,
                                           dataset_index, order)
        m.all_inputs = &inputs[0, 0, 0]
        m.all_point_noise = &point_noise[0, 0, 0]
        m.dataset_index = &dataset_index[0] if n_rep > 0 else NULL
        m.all_orders = &order[0, 0] if n_rep > 0 else NULL
    if ts_work_alloc(&work, &p) != 0:
        raise MemoryError()
    try:
        drive_block(&m, &opt, bit_generators, n_rep, start, stop, snapshot_steps, eigenvalues,
                    failed, fail_step, normal_method, status)
    finally:
        ts_work_free(&work)


def variates_per_step(int n, int batch_size, str sampler):
    """Variates (normals and chi-squared values) one fresh-data step of one replica draws."""
    cdef TSParams p = _params(n, batch_size, sampler, False, False, 0.0, 0.0)
    cdef Py_ssize_t m = n * (n + 1) // 2
    if p.sampler == TS_WISHART:
        return n + n * (n - 1) // 2 + m
    if p.sampler == TS_MEAN_NOISE:
        return batch_size * n + m
    return batch_size * (n + m)


def ts_step_given_variates(double[:, ::1] weights not None, const double[:, ::1] teacher not None,
                           const double[::1] variates not None, double lr, double noise,
                           int batch_size, str sampler, object bound=None,
                           object optimizer=None, double[:, ::1] opt_state=None,
                           int64_t step=1):
    """One fresh-data step of one replica with the variates supplied by the caller.

    The same arithmetic as `ts_advance`; `variates` in the documented order, where a
    chi-squared variate is given as its value. optimizer and opt_state (this replica's
    state, shape (1, state size)) as for `ts_advance`; step: the optimiser's 1-based step
    count. Returns the dl_status: 0, or 1 if W became non-finite, 2 if an entry exceeds
    `bound`.
    """
    cdef int n = weights.shape[0]
    cdef TSParams p = _params(n, batch_size, sampler, False, False, lr, noise, bound)
    cdef TSWork work
    cdef dl_normal_source src
    cdef optim_t opt
    cdef double* state
    cdef int status
    ts_sgd(&opt, &p)
    optim_configure(&opt, optimizer, lr, 1.0)
    state = optim_state_block(&opt, 1, n * n, opt_state)
    if teacher.shape[0] != n or teacher.shape[1] != n or weights.shape[1] != n:
        raise ValueError(f"weights and teacher must both have shape ({n}, {n})")
    if variates.shape[0] != variates_per_step(n, batch_size, sampler):
        raise ValueError(f"need exactly {variates_per_step(n, batch_size, sampler)} variates")
    src.bitgen = NULL
    src.buffer = &variates[0]
    src.position = 0
    if ts_work_alloc(&work, &p) != 0:
        raise MemoryError()
    ts_gradient(&p, &weights[0, 0], &teacher[0, 0], NULL, step, &src, &work)
    ts_update(&p, &opt, &weights[0, 0], work.dw, state, step)
    status = escaped(&p, &weights[0, 0], n * n)
    ts_work_free(&work)
    return status
