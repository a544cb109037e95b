# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Teacher-student model with noise added by hand: the hot loop (SPEC section C).

One step of one replica, [C.1]:

    W <- W + lr [ (1/2) ((W_T - W) C_B + C_B (W_T - W)) + A Xi_B ]

with C_B = (1/B) sum_b x_b x_b^T, x_b ~ N(0, 1_n), and Xi_B the batch mean of B symmetric
noise matrices with off-diagonal N(0, 1) and diagonal N(0, 2) entries.

Samplers (fresh data every step):
  TS_WISHART   C_B = L L^T / B by Bartlett's decomposition of Wishart(B, 1_n): L lower
               triangular, L_ii^2 ~ chi^2(B - i), L_ij ~ N(0, 1) (i > j); Xi_B drawn directly
               with off-diagonal variance 1/B and diagonal 2/B. Exact in distribution, needs
               B >= n, and costs n (n + 1) + n variates a step instead of B n (n + 3) / 2 + B n.
  TS_EXPLICIT  B inputs and B noise matrices, averaged: the definition itself.
Variates per step, in this order. Wishart: for each row i, chi^2(B - i) then the i
normals L_i0 .. L_i,i-1; then the n (n + 1) / 2 normals of Xi_B (upper triangle, row-major).
Explicit: B n normals of the inputs (row b = x_b), then B n (n + 1) / 2 normals, the upper
triangles of the B noise matrices.

Reference protocol (the published code): a finite data set of P points with per-point
noise, visited in batches of B (in a fresh random order each epoch when shuffling), the
unsymmetrised data term (W_T - W) C_B, and singular values of the (then non-symmetric) W
as the spectrum. The spectrum is otherwise the ascending eigenvalues of the symmetric W.

Divergence: a step fails when an entry of W is non-finite or, given a bound (TSParams.bound,
the `bound` argument of ts_advance), when |W_ij| exceeds it: a replica that far out has left
the region where [C.1] describes learning (the model adapter derives the bound from the
configuration's scale). The replica is then stopped and flagged with the step. The check is
one comparison per entry of W, against DBL_MAX when no bound is given, so that it also
catches inf and NaN; it never changes the arithmetic of a replica that does not fail.
"""
from libc.math cimport NAN, fabs, isfinite, sqrt
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

import numpy as np

include "_linalg.pxi"
include "_bitgen.pxi"

dl_normal_setup()

SAMPLERS = {"wishart": TS_WISHART, "explicit": TS_EXPLICIT}


cdef int ts_work_alloc(TSWork* work, const TSParams* p) noexcept nogil:
    cdef Py_ssize_t n = p.n, nb = p.batch_size, m = n * (n + 1) // 2
    cdef Py_ssize_t factor = n * n if n * n > nb * n else nb * n
    cdef Py_ssize_t total = 4 * n * n + factor + nb * m + 2 * n + 1
    cdef double* block = alloc_work(total, &work.lapack_iwork)
    if block == NULL:
        return -1
    work.cov = block
    work.xi = work.cov + n * n
    work.grad = work.xi + n * n
    work.gram = work.grad + n * n
    work.factor = work.gram + n * n
    work.sample_noise = work.factor + factor
    work.lapack_work = work.sample_noise + nb * m
    return 0


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
    cdef int n = p.n, nb = p.batch_size, i, j, k, b
    cdef int m = n * (n + 1) // 2
    cdef double inv_b = 1.0 / nb, acc, sqrt2 = sqrt(2.0)
    cdef double* L = w.factor
    memset(w.xi, 0, n * n * sizeof(double))
    if p.sampler == TS_WISHART:
        memset(L, 0, n * n * sizeof(double))
        for i in range(n):
            L[i * n + i] = sqrt(dl_draw_chisquare(variates, nb - i))
            if i > 0:
                dl_draw_normals(variates, L + i * n, i)
        for i in range(n):
            for j in range(i + 1):
                acc = 0.0
                for k in range(j + 1):
                    acc += L[i * n + k] * L[j * n + k]
                w.cov[i * n + j] = acc * inv_b
                w.cov[j * n + i] = acc * inv_b
        # Xi_B directly: off-diagonal N(0, 1/B), diagonal N(0, 2/B).
        dl_draw_normals(variates, w.sample_noise, m)
        unpack_noise(n, w.sample_noise, sqrt(inv_b), w.xi)
        for i in range(n):
            w.xi[i * n + i] *= sqrt2
    else:
        dl_draw_normals(variates, L, nb * n)
        for i in range(n):
            for j in range(i + 1):
                acc = 0.0
                for b in range(nb):
                    acc += L[b * n + i] * L[b * n + j]
                w.cov[i * n + j] = acc * inv_b
                w.cov[j * n + i] = acc * inv_b
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
    """0 if every |W_ij| <= bound; 1 if an entry is non-finite, 2 if one exceeds the bound.

    `not (|w| <= bound)` is true for NaN, for inf (bound is at most DBL_MAX) and beyond the
    bound: one comparison per entry on the path every surviving replica takes.
    """
    cdef Py_ssize_t i
    for i in range(count):
        if not (fabs(weights[i]) <= p.bound):
            return 2 if isfinite(weights[i]) else 1
    return 0


cdef inline int wishart_step_2x2(const TSParams* p, double* weights, const double* teacher,
                                  dl_normal_source* variates) noexcept nogil:
    """The N = 2 Wishart step written out: the article's setting, and the tightest loop.

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
    weights[0] += p.lr * (g00 + noise_diag * z[1])
    weights[1] += p.lr * (g01 + noise_off * z[2])
    weights[2] = weights[1]
    weights[3] += p.lr * (g11 + noise_diag * z[3])
    # weights[2] is a copy of weights[1]: the other three entries decide.
    if fabs(weights[0]) <= p.bound and fabs(weights[1]) <= p.bound \
            and fabs(weights[3]) <= p.bound:
        return 0
    return 2 if isfinite(weights[0]) and isfinite(weights[1]) and isfinite(weights[3]) else 1


cdef int ts_step(const TSParams* p, double* weights, const double* teacher,
                 const TSData* data, int64_t step, dl_normal_source* variates,
                 TSWork* w) noexcept nogil:
    """One step [C.1] of one replica in place; 0, or 1 if W left the finite numbers, 2 if
    an entry exceeds p.bound."""
    cdef int n = p.n, i, j, k
    cdef double acc
    cdef double* g = w.grad
    if n == 2 and p.sampler == TS_WISHART and not p.reference:
        return wishart_step_2x2(p, weights, teacher, variates)
    if p.reference:
        data_batch(p, data, step, variates, w)
    else:
        fresh_batch(p, variates, w)
    # g = (W_T - W) C_B (its transpose is C_B (W_T - W): both factors are symmetric).
    for i in range(n):
        for j in range(n):
            acc = 0.0
            for k in range(n):
                acc += (teacher[i * n + k] - weights[i * n + k]) * w.cov[k * n + j]
            g[i * n + j] = acc
    if p.reference:
        for i in range(n * n):
            weights[i] += p.lr * (g[i] + p.noise * w.xi[i])
    else:
        for i in range(n):
            for j in range(n):
                weights[i * n + j] += p.lr * (
                    0.5 * (g[i * n + j] + g[j * n + i]) + p.noise * w.xi[i * n + j]
                )
    return escaped(p, weights, n * n)


cdef int ts_spectrum(const TSParams* p, const double* weights, TSWork* w,
                     double* out) noexcept nogil:
    """Ascending eigenvalues of the symmetric W, or (reference) singular values of W."""
    cdef int n = p.n, i, info
    if p.reference:
        # Singular values as square roots of the eigenvalues of W^T W, clipped at 0.
        gram_upper(n, n, 1.0, weights, w.gram)
        info = sym_eigvals_upper(n, w.gram, out, w.lapack_work, w.lapack_iwork)
        for i in range(n):
            out[i] = sqrt(out[i]) if out[i] > 0 else 0.0
        return info
    memcpy(w.gram, weights, n * n * sizeof(double))
    return sym_eigvals_upper(n, w.gram, out, w.lapack_work, w.lapack_iwork)


cdef int64_t ts_run(const TSParams* p, double* weights, const double* teacher,
                    const TSData* data, dl_normal_source* variates, TSWork* w,
                    int64_t start, int64_t stop, const int64_t* snapshot_steps,
                    Py_ssize_t n_snapshots, double* eigenvalues) noexcept nogil:
    """Advance one replica from `start` to `stop`; -1, or the step at which it diverged
    (`start` itself when the state it is handed is already outside the bound)."""
    cdef Py_ssize_t s = 0
    cdef int64_t t
    while s < n_snapshots and snapshot_steps[s] < start:
        s += 1
    if escaped(p, weights, p.n * p.n) != 0:
        return start
    if s < n_snapshots and snapshot_steps[s] == start:
        ts_spectrum(p, weights, w, eigenvalues + s * p.n)
        s += 1
    for t in range(start + 1, stop + 1):
        if ts_step(p, weights, teacher, data, t, variates, w) != 0:
            return t
        if s < n_snapshots and snapshot_steps[s] == t:
            ts_spectrum(p, weights, w, eigenvalues + s * p.n)
            s += 1
    return -1


cdef TSParams _params(int n, int batch_size, str sampler, bint reference, bint shuffle,
                      double lr, double noise, object bound=None) except *:
    if n < 1 or batch_size < 1:
        raise ValueError("n and batch_size must be >= 1")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {sorted(SAMPLERS)}, got {sampler!r}")
    if SAMPLERS[sampler] == TS_WISHART and batch_size < n and not reference:
        raise ValueError(f"the Wishart sampler needs batch_size >= n ({n})")
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


def ts_advance(double[:, :, ::1] weights not None, const double[:, :, ::1] teachers not None,
               object bit_generators, double lr, double noise, int batch_size, str sampler,
               int64_t start, int64_t stop, const int64_t[::1] snapshot_steps not None,
               double[:, :, ::1] eigenvalues not None, uint8_t[::1] failed not None,
               int64_t[::1] fail_step not None, str normals_method="ziggurat",
               const double[:, :, ::1] inputs=None, const double[:, :, ::1] point_noise=None,
               const int64_t[::1] dataset_index=None, int32_t[:, ::1] order=None,
               bint shuffle=True, object bound=None):
    """Advance R teacher-student replicas in place from `start` to `stop` without the GIL.

    weights (R, n, n) students; teachers (R, n, n); one BitGenerator per replica. The
    reference protocol is on when `inputs` (D, P, n) is given, with point_noise
    (D, P, n (n + 1) / 2), dataset_index (R,) (which of the D data sets each replica
    visits) and order (R, P) int32 (each replica's visiting order, updated in place).
    eigenvalues (R, S, n) receives the spectrum at each snapshot step in [start, stop].
    bound: a replica with an entry |W_ij| > bound is flagged as diverged (None: only
    non-finite entries are).
    """
    cdef Py_ssize_t n_rep = weights.shape[0], r
    cdef int n = weights.shape[1]
    cdef Py_ssize_t n_snap = snapshot_steps.shape[0]
    cdef bint reference = inputs is not None
    cdef TSParams p = _params(n, batch_size, sampler, reference, shuffle, lr, noise, bound)
    if weights.shape[2] != n or teachers.shape[0] != n_rep or teachers.shape[1] != n \
            or teachers.shape[2] != n:
        raise ValueError(f"weights and teachers must both have shape ({n_rep}, {n}, {n})")
    cdef int n_points = 0
    if reference:
        if point_noise is None or dataset_index is None or order is None:
            raise ValueError("the reference protocol needs inputs, point_noise, "
                             "dataset_index and order")
        n_points = inputs.shape[1]
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
    cdef int method = check_block(eigenvalues, failed, fail_step, n_rep, n_snap, n,
                                  start, stop, normals_method)
    cdef bitgen_t** gens = bitgen_array(bit_generators, n_rep)
    cdef TSWork work
    cdef TSData data
    cdef dl_normal_source variates
    cdef int64_t status
    data.inputs = NULL
    data.point_noise = NULL
    data.order = NULL
    data.n_points = n_points
    try:
        if ts_work_alloc(&work, &p) != 0:
            raise MemoryError()
        with nogil:
            variates.buffer = NULL
            variates.position = 0
            variates.method = method
            for r in range(n_rep):
                if failed[r]:
                    continue
                variates.bitgen = gens[r]
                if reference:
                    data.inputs = &inputs[dataset_index[r], 0, 0]
                    data.point_noise = &point_noise[dataset_index[r], 0, 0]
                    data.order = &order[r, 0]
                status = ts_run(&p, &weights[r, 0, 0], &teachers[r, 0, 0], &data, &variates,
                                &work, start, stop,
                                &snapshot_steps[0] if n_snap > 0 else NULL, n_snap,
                                &eigenvalues[r, 0, 0] if n_snap > 0 else NULL)
                if status >= 0:
                    failed[r] = 1
                    fail_step[r] = status
            ts_work_free(&work)
    finally:
        free(gens)


def variates_per_step(int n, int batch_size, str sampler):
    """Variates (normals and chi-squared values) one fresh-data step of one replica draws."""
    cdef TSParams p = _params(n, batch_size, sampler, False, False, 0.0, 0.0)
    cdef Py_ssize_t m = n * (n + 1) // 2
    if p.sampler == TS_WISHART:
        return n + n * (n - 1) // 2 + m
    return batch_size * (n + m)


def ts_step_given_variates(double[:, ::1] weights not None, const double[:, ::1] teacher not None,
                           const double[::1] variates not None, double lr, double noise,
                           int batch_size, str sampler, object bound=None):
    """One fresh-data step of one replica with the variates supplied by the caller.

    The same arithmetic as `ts_advance`; `variates` in the documented order, where a
    chi-squared variate is given as its value. Returns 0, or 1 if W became non-finite, 2 if
    an entry exceeds `bound`.
    """
    cdef int n = weights.shape[0]
    cdef TSParams p = _params(n, batch_size, sampler, False, False, lr, noise, bound)
    cdef TSWork work
    cdef dl_normal_source src
    cdef int status
    if teacher.shape[0] != n or teacher.shape[1] != n or weights.shape[1] != n:
        raise ValueError(f"weights and teacher must both have shape ({n}, {n})")
    if variates.shape[0] != variates_per_step(n, batch_size, sampler):
        raise ValueError(f"need exactly {variates_per_step(n, batch_size, sampler)} variates")
    src.bitgen = NULL
    src.buffer = &variates[0]
    src.position = 0
    if ts_work_alloc(&work, &p) != 0:
        raise MemoryError()
    status = ts_step(&p, &weights[0, 0], &teacher[0, 0], NULL, 1, &src, &work)
    ts_work_free(&work)
    return status
