# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Deep linear teacher-student model with noise added by hand: the hot loop
(:doc:`/theory/deep_linear`).

The student is the end-to-end map M = W_L ... W_1 of L layers W_l (n_l, n_{l-1}); the loss
of a batch is |(M - M_T) x|^2 / 2 averaged over its B inputs x_b ~ N(0, 1_{n_0}), i.e.
tr((M - M_T) C_B (M - M_T)^T) / 2 with C_B = (1/B) sum_b x_b x_b^T. One step of one replica,
:eq:`dl-gradient` and :eq:`dl-update`:

    G_l = (W_L ... W_{l+1})^T (M - M_T) C_B (W_{l-1} ... W_1)^T
    W_l <- optimiser(W_l, G_l + (A / sqrt(B)) xi_l),   xi_l i.i.d. N(0, 1) entries

every layer's gradient taken at the weights before the step; SGD is W_l <- W_l - lr (...).

Samplers of C_B (fresh data every step):
  DLN_WISHART   C_B = L L^T / B by Bartlett's decomposition of Wishart(B, 1_{n_0}): L lower
                triangular, L_ii^2 ~ chi^2(B - i), L_ij ~ N(0, 1) (i > j). Exact in
                distribution; needs B >= n_0; n_0 (n_0 + 1) / 2 variates instead of B n_0.
  DLN_EXPLICIT  B inputs x_b, C_B = X^T X / B: the definition (any B).
Variates per step, in this order. Wishart: for each row i of L, chi^2(B - i) then the i
normals L_i0 .. L_i,i-1. Explicit: B n_0 normals (row b = x_b). Then, for both, the
n_weights normals xi of the hand-added noise in the order of the replica's weight vector:
layer 1's n_1 n_0 entries row-major, then layer 2's, ..., layer L's.

Layout: a replica's layers are one row-major vector, W_1 first (layer l at offsets[l - 1]),
the teacher M_T (n_L, n_0) row-major and shared by the block. The products run forward
(F_l = W_l F_{l-1}, F_1 = W_1, M = F_L), then backward from E = (M - M_T) C_B: with
P_l^T E the backward product (P_L^T E = E, P_{l-1}^T E = W_l^T (P_l^T E)), G_l = (P_l^T E)
F_{l-1}^T (G_1 = P_1^T E): 3 L - 1 products of at most max(n)^2 n_0 multiply-adds. A
product of DLN_BLAS_MIN_FLOPS multiply-adds or more is a dgemm, a smaller one a plain loop
(below about 5^3 multiply-adds a dgemm call costs more than its arithmetic: deep_linear.pxd).

Spectrum: the singular values of M, ascending (min(n_0, n_L) of them), as the square roots
of the eigenvalues of M^T M (or M M^T, the smaller), clipped at 0. With `record_layers`, each
layer's singular values follow in the same record, the same way (min(n_{l-1}, n_l) of W_l,
layer 1 first): the end-to-end values are computed first and keep their bits, and no
variate is drawn for a record, so recording the layers changes nothing else.

Divergence: a step fails when a weight is non-finite or, given a bound (the `bound` argument
of dln_advance), when |W_ij| exceeds it; the replica is then stopped and flagged with the
step. The check compares every weight once and changes no arithmetic.
"""
from libc.math cimport fabs, isfinite, sqrt
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free
from libc.string cimport memset

import numpy as np

from dysonlearn._core.optim cimport (
    optim_apply, optim_configure, optim_sgd, optim_state_block,
)

include "_linalg.pxi"
include "_bitgen.pxi"
include "_wishart.pxi"

dl_normal_setup()

SAMPLERS = {"wishart": DLN_WISHART, "explicit": DLN_EXPLICIT}
BLAS_MIN_FLOPS = DLN_BLAS_MIN_FLOPS


cdef inline int max_width(const DLParams* p) noexcept nogil:
    cdef int layer, widest = 0
    for layer in range(1, p.n_layers + 1):
        if p.widths[layer] > widest:
            widest = p.widths[layer]
    return widest


cdef inline Py_ssize_t forward_offset(const DLParams* p, int layer) noexcept nogil:
    """Where F_l (n_l, n_0) starts in work.forward: n_0 (n_1 + ... + n_{l-1})."""
    cdef Py_ssize_t j, rows = 0
    for j in range(1, layer):
        rows += p.widths[j]
    return rows * p.widths[0]


cdef inline int layer_values(const DLParams* p, int layer) noexcept nogil:
    """The singular values of layer `layer` (1 .. L): min(n_{l-1}, n_l)."""
    cdef int rows = p.widths[layer], cols = p.widths[layer - 1]
    return rows if rows < cols else cols


cdef inline int record_width(const DLParams* p) noexcept nogil:
    """The values of one snapshot: min(n_0, n_L), plus every layer's when recorded."""
    cdef int layer, n0 = p.widths[0], nl = p.widths[p.n_layers]
    cdef int total = n0 if n0 < nl else nl
    if p.record_layers:
        for layer in range(1, p.n_layers + 1):
            total += layer_values(p, layer)
    return total


cdef int dln_work_alloc(DLWork* work, const DLParams* p) noexcept nogil:
    cdef Py_ssize_t n0 = p.widths[0], nl = p.widths[p.n_layers], nb = p.batch_size
    cdef Py_ssize_t k = n0 if n0 < nl else nl
    cdef int layer
    if p.record_layers:
        for layer in range(1, p.n_layers + 1):
            if layer_values(p, layer) > k:
                k = layer_values(p, layer)
    cdef Py_ssize_t factor = n0 * n0 if n0 * n0 > nb * n0 else nb * n0
    cdef Py_ssize_t forward = forward_offset(p, p.n_layers + 1)
    cdef Py_ssize_t back = 2 * max_width(p) * n0
    cdef Py_ssize_t total = (n0 * n0 + factor + forward + back + nl * n0 + p.n_weights
                             + k * k + eigvals_lwork(k))
    cdef double* block = alloc_work(total, &work.lapack_iwork)
    if block == NULL:
        return -1
    work.cov = block
    work.factor = work.cov + n0 * n0
    work.forward = work.factor + factor
    work.back = work.forward + forward
    work.resid = work.back + back
    work.dw = work.resid + nl * n0
    work.gram = work.dw + p.n_weights
    work.lapack_work = work.gram + k * k
    return 0


cdef void dln_work_free(DLWork* work) noexcept nogil:
    free(work.cov)
    free(work.lapack_iwork)
    work.cov = NULL
    work.lapack_iwork = NULL


cdef inline void matmul(bint ta, bint tb, int m, int n, int k, const double* a, int lda,
                        const double* b, int ldb, double beta, double* c) noexcept nogil:
    """Row-major c (m, n) = op(a) op(b) + beta c, beta 0 (c not read) or 1; op(x) = x or
    x^T (ta, tb); lda, ldb the row lengths of a and b as stored.

    From DLN_BLAS_MIN_FLOPS multiply-adds on a dgemm: the row-major product is the
    column-major c^T = op(b)^T op(a)^T, so the factors swap and the flags stay."""
    cdef int i, j, q
    cdef double acc, one = 1.0
    if <Py_ssize_t> m * n * k >= DLN_BLAS_MIN_FLOPS:
        dgemm(b'T' if tb else b'N', b'T' if ta else b'N', &n, &m, &k, &one, <double*> b, &ldb,
              <double*> a, &lda, &beta, c, &n)
        return
    for i in range(m):
        for j in range(n):
            acc = 0.0
            for q in range(k):
                acc += ((a[q * lda + i] if ta else a[i * lda + q])
                        * (b[j * ldb + q] if tb else b[q * ldb + j]))
            if beta == 0.0:
                c[i * n + j] = acc
            else:
                c[i * n + j] += acc


cdef void fresh_covariance(const DLParams* p, dl_normal_source* variates,
                           DLWork* w) noexcept nogil:
    """C_B of one batch of fresh inputs, by the configured sampler (both triangles)."""
    cdef int n = p.widths[0], nb = p.batch_size, i, j, k
    cdef double inv_b = 1.0 / nb, acc
    cdef double* L = w.factor
    if p.sampler == DLN_WISHART:
        wishart_covariance(n, nb, variates, L, w.cov)
        return
    dl_draw_normals(variates, L, nb * n)
    if <Py_ssize_t> nb * n * n >= 2 * DLN_BLAS_MIN_FLOPS:
        # Column-major upper triangle of X^T X = row-major lower triangle; mirrored after.
        gram_upper(nb, n, inv_b, L, w.cov)
        for i in range(n):
            for j in range(i + 1, n):
                w.cov[i * n + j] = w.cov[j * n + i]
        return
    for i in range(n):
        for j in range(i + 1):
            acc = 0.0
            for k in range(nb):
                acc += L[k * n + i] * L[k * n + j]
            w.cov[i * n + j] = acc * inv_b
            w.cov[j * n + i] = acc * inv_b


cdef const double* end_to_end(const DLParams* p, const double* weights,
                              DLWork* w) noexcept nogil:
    """M = W_L ... W_1 (n_L, n_0), the forward products F_l kept in w.forward on the way
    (F_1 is W_1 itself); a pointer to M."""
    cdef int layer, n0 = p.widths[0]
    cdef const double* prev = weights
    cdef double* out
    for layer in range(2, p.n_layers + 1):
        out = w.forward + forward_offset(p, layer)
        matmul(False, False, p.widths[layer], n0, p.widths[layer - 1],
               weights + p.offsets[layer - 1], p.widths[layer - 1], prev, n0, 0.0, out)
        prev = out
    return prev


cdef void dln_gradient(const DLParams* p, const double* weights, const double* teacher,
                       dl_normal_source* variates, DLWork* w) noexcept nogil:
    """Every layer's gradient :eq:`dl-gradient` plus the hand-added noise into w.dw, in the
    layout of the weights (descent sign: SGD steps W <- W - lr dw)."""
    cdef int layer, n0 = p.widths[0], nl = p.widths[p.n_layers]
    cdef Py_ssize_t i, size
    cdef double scale = p.noise / sqrt(<double> p.batch_size)
    cdef const double* m
    cdef const double* q
    cdef double* cur = w.back
    cdef double* other = w.back + max_width(p) * n0
    cdef double* swap
    cdef double* dwl
    fresh_covariance(p, variates, w)
    # The noise first, scaled, so that each layer's product adds onto it (beta = 1).
    dl_draw_normals(variates, w.dw, p.n_weights)
    for i in range(p.n_weights):
        w.dw[i] *= scale
    m = end_to_end(p, weights, w)
    for i in range(nl * n0):
        w.resid[i] = m[i] - teacher[i]
    # E = (M - M_T) C_B, then backwards: P_l^T E in cur for l = L, L - 1, ..., 1.
    matmul(False, False, nl, n0, n0, w.resid, n0, w.cov, n0, 0.0, cur)
    for layer in range(p.n_layers, 0, -1):
        dwl = w.dw + p.offsets[layer - 1]
        if layer == 1:
            size = <Py_ssize_t> p.widths[1] * n0
            for i in range(size):
                dwl[i] += cur[i]
            break
        q = weights if layer == 2 else w.forward + forward_offset(p, layer - 1)
        # G_l = (P_l^T E) F_{l-1}^T, then P_{l-1}^T E = W_l^T (P_l^T E).
        matmul(False, True, p.widths[layer], p.widths[layer - 1], n0, cur, n0, q, n0, 1.0,
               dwl)
        matmul(True, False, p.widths[layer - 1], n0, p.widths[layer],
               weights + p.offsets[layer - 1], p.widths[layer - 1], cur, n0, 0.0, other)
        swap = cur
        cur = other
        other = swap


cdef inline int escaped(const DLParams* p, const double* weights) noexcept nogil:
    """DL_OK if every |W_ij| <= bound; else DL_NONFINITE if a weight is not finite,
    DL_ESCAPED if one exceeds the bound and all are finite (one comparison per weight:
    `not (|w| <= bound)` is true for NaN and inf too)."""
    cdef Py_ssize_t i, j, count = p.n_weights
    for i in range(count):
        if not (fabs(weights[i]) <= p.bound):
            for j in range(i, count):
                if not isfinite(weights[j]):
                    return DL_NONFINITE
            return DL_ESCAPED
    return DL_OK


cdef int singular_values(int rows, int cols, const double* a, DLWork* w,
                         double* out) noexcept nogil:
    """Ascending singular values of the row-major (rows, cols) a: square roots of the
    eigenvalues of its smaller Gram matrix, clipped at 0 (NaN stays NaN); LAPACK's info."""
    cdef int k, i, info
    cdef double one = 1.0, zero = 0.0
    if cols <= rows:
        k = cols
        gram_upper(rows, cols, 1.0, a, w.gram)
    else:
        # The row-major a is the column-major (cols, rows) a^T: its 'T' Gram is a a^T.
        k = rows
        dsyrk(b'U', b'T', &rows, &cols, &one, <double*> a, &cols, &zero, w.gram, &rows)
    info = sym_eigvals_upper(k, w.gram, out, w.lapack_work, w.lapack_iwork)
    for i in range(k):
        if out[i] > 0:
            out[i] = sqrt(out[i])
        elif out[i] <= 0:
            out[i] = 0.0
    return info


cdef int dln_spectrum(const DLParams* p, const double* weights, DLWork* w,
                      double* out) noexcept nogil:
    """Ascending singular values of M = W_L ... W_1, then (p.record_layers) of each layer;
    LAPACK's info (the first nonzero one)."""
    cdef int layer, info
    cdef int n0 = p.widths[0], nl = p.widths[p.n_layers]
    info = singular_values(nl, n0, end_to_end(p, weights, w), w, out)
    if not p.record_layers:
        return info
    out += n0 if n0 < nl else nl
    for layer in range(1, p.n_layers + 1):
        if info == 0:
            info = singular_values(p.widths[layer], p.widths[layer - 1],
                                   weights + p.offsets[layer - 1], w, out)
        out += layer_values(p, layer)
    return info


cdef struct DLModel:
    # What the shared driver steps: the block's parameters, workspace, optimiser, teacher,
    # and the replica bound last (bind).
    const DLParams* p
    DLWork* work
    const optim_t* opt
    const double* teacher
    double* weights
    double* opt_state
    double* all_weights         # (R, n_weights)
    double* all_opt_state       # (R, optimiser state size for n_weights) or NULL
    Py_ssize_t opt_size


# The shared driver, bound at compile time to this model's functions (_driver.pxi).
ctypedef DLModel dl_model

include "_driver.pxi"


cdef inline void dl_model_bind(DLModel* m, Py_ssize_t r) noexcept nogil:
    m.weights = m.all_weights + r * m.p.n_weights
    m.opt_state = m.all_opt_state + r * m.opt_size if m.all_opt_state != NULL else NULL


cdef inline int dl_model_check(DLModel* m) noexcept nogil:
    return escaped(m.p, m.weights)


cdef inline int dl_model_step(DLModel* m, int64_t t, dl_normal_source* variates) noexcept nogil:
    dln_gradient(m.p, m.weights, m.teacher, variates, m.work)
    optim_apply(m.opt, m.weights, m.work.dw, m.opt_state, t, m.p.n_weights)
    return escaped(m.p, m.weights)


cdef inline int dl_model_spectrum(DLModel* m, double* out) noexcept nogil:
    return dln_spectrum(m.p, m.weights, m.work, out)


cdef inline int dl_model_n_values(const DLModel* m) noexcept nogil:
    return record_width(m.p)


# No segments (_driver.pxi): the check is one comparison per weight, far below a step.
include "_no_segments.pxi"


cdef class _Shape:
    """The widths and layer offsets a DLParams points at, kept alive for a call."""
    cdef int[::1] widths
    cdef Py_ssize_t[::1] offsets
    cdef DLParams p


cdef _Shape _params(object widths, int batch_size, str sampler, double lr, double noise,
                    object bound=None, bint record_layers=False):
    cdef _Shape shape = _Shape()
    values = [int(n) for n in widths]
    if len(values) < 2 or min(values) < 1:
        raise ValueError(f"widths: must be at least two integers >= 1 (n_0, ..., n_L), "
                         f"got {values}")
    if batch_size < 1:
        raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler: must be one of {sorted(SAMPLERS)}, got {sampler!r}")
    if SAMPLERS[sampler] == DLN_WISHART and batch_size < values[0]:
        raise ValueError(f"sampler: 'wishart' needs batch_size >= n_0 = {values[0]}, got "
                         f"batch_size {batch_size} (use 'explicit': any batch size)")
    shape.widths = np.asarray(values, dtype=np.intc)
    offsets = np.zeros(len(values), dtype=np.intp)
    offsets[1:] = np.cumsum([values[i] * values[i - 1] for i in range(1, len(values))])
    shape.offsets = offsets
    shape.p.n_layers = len(values) - 1
    shape.p.widths = &shape.widths[0]
    shape.p.offsets = &shape.offsets[0]
    shape.p.n_weights = offsets[-1]
    shape.p.batch_size = batch_size
    shape.p.sampler = SAMPLERS[sampler]
    shape.p.lr = lr
    shape.p.noise = noise
    shape.p.bound = escape_bound(bound)
    shape.p.record_layers = record_layers
    return shape


cdef int _check_teacher(const DLParams* p, const double[:, ::1] teacher) except -1:
    if teacher.shape[0] != p.widths[p.n_layers] or teacher.shape[1] != p.widths[0]:
        raise ValueError(f"teacher: must have shape (n_L, n_0) = ({p.widths[p.n_layers]}, "
                         f"{p.widths[0]}), got ({teacher.shape[0]}, {teacher.shape[1]})")
    return 0


def dln_advance(double[:, ::1] weights not None, const double[:, ::1] teacher not None,
                object widths, object bit_generators, double lr, double noise, int batch_size,
                str sampler, int64_t start, int64_t stop,
                const int64_t[::1] snapshot_steps not None,
                double[:, :, ::1] eigenvalues not None, uint8_t[::1] failed not None,
                int64_t[::1] fail_step not None, str normal_method="ziggurat",
                object bound=None, uint8_t[::1] status=None, object optimizer=None,
                double[:, ::1] opt_state=None, bint record_layers=False):
    """Advance R deep linear replicas in place from `start` to `stop` without the GIL.

    weights (R, n_weights): each replica's layers W_1 .. W_L concatenated row-major; teacher
    (n_L, n_0), shared; widths (n_0, ..., n_L); one BitGenerator per replica. eigenvalues (R, S,
    min(n_0, n_L)) receives the singular values of W_L ... W_1 at each snapshot step in [start,
    stop]; with record_layers, (R, S, record width): those, then each layer's (min(n_{l-1}, n_l)
    values, W_1's first). bound: a replica with a weight |W_ij| > bound is flagged as diverged
    (None: only non-finite weights are). status (R,), if given, receives each failed replica's
    dl_status. optimizer: the plain-dict form of a dysonlearn.optim optimiser (None: SGD);
    opt_state (R, its state size for n_weights) updated in place.
    """
    cdef _Shape shape = _params(widths, batch_size, sampler, lr, noise, bound, record_layers)
    cdef DLParams* p = &shape.p
    cdef Py_ssize_t n_rep = weights.shape[0]
    if weights.shape[1] != p.n_weights:
        raise ValueError(f"weights: must have shape (R, {p.n_weights}) for widths "
                         f"{list(widths)}, got ({n_rep}, {weights.shape[1]})")
    _check_teacher(p, teacher)
    cdef DLModel m
    cdef DLWork work
    cdef optim_t opt
    optim_sgd(&opt, lr, 1.0, lr, False)
    optim_configure(&opt, optimizer, lr, 1.0)
    m.p = p
    m.work = &work
    m.opt = &opt
    m.teacher = &teacher[0, 0]
    m.all_weights = &weights[0, 0] if n_rep > 0 else NULL
    m.all_opt_state = optim_state_block(&opt, n_rep, p.n_weights, opt_state)
    m.opt_size = opt_state.shape[1] if m.all_opt_state != NULL else 0
    if dln_work_alloc(&work, p) != 0:
        raise MemoryError()
    try:
        drive_block(&m, &opt, bit_generators, n_rep, start, stop, snapshot_steps, eigenvalues,
                    failed, fail_step, normal_method, status)
    finally:
        dln_work_free(&work)


def variates_per_step(object widths, int batch_size, str sampler):
    """Variates (normals and chi-squared values) one step of one replica draws."""
    cdef _Shape shape = _params(widths, batch_size, sampler, 0.0, 0.0)
    cdef Py_ssize_t n0 = shape.p.widths[0]
    batch = n0 * (n0 + 1) // 2 if shape.p.sampler == DLN_WISHART else batch_size * n0
    return batch + shape.p.n_weights


def dln_step_given_variates(double[::1] weights not None, const double[:, ::1] teacher not None,
                            object widths, const double[::1] variates not None, double lr,
                            double noise, int batch_size, str sampler, object bound=None,
                            object optimizer=None, double[:, ::1] opt_state=None,
                            int64_t step=1):
    """One step of one replica with the variates supplied by the caller: the arithmetic of
    `dln_advance`, `variates` in the documented order (a chi-squared variate given as its
    value). Returns the dl_status."""
    cdef _Shape shape = _params(widths, batch_size, sampler, lr, noise, bound)
    cdef DLParams* p = &shape.p
    cdef DLWork work
    cdef dl_normal_source src
    cdef optim_t opt
    cdef double* state
    cdef int status
    if weights.shape[0] != p.n_weights:
        raise ValueError(f"weights: must have {p.n_weights} entries for widths "
                         f"{list(widths)}, got {weights.shape[0]}")
    _check_teacher(p, teacher)
    expected = variates_per_step(widths, batch_size, sampler)
    if variates.shape[0] != expected:
        raise ValueError(f"variates: need exactly {expected}, got {variates.shape[0]}")
    optim_sgd(&opt, lr, 1.0, lr, False)
    optim_configure(&opt, optimizer, lr, 1.0)
    state = optim_state_block(&opt, 1, p.n_weights, opt_state)
    src.bitgen = NULL
    src.buffer = &variates[0]
    src.position = 0
    if dln_work_alloc(&work, p) != 0:
        raise MemoryError()
    dln_gradient(p, &weights[0], &teacher[0, 0], &src, &work)
    optim_apply(&opt, &weights[0], work.dw, state, step, p.n_weights)
    status = escaped(p, &weights[0])
    dln_work_free(&work)
    return status
