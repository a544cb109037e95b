# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Eigenvalue-level Dyson Brownian motion: the discrete update [A.4], solved exactly.

One step of one replica with levels x (ascending) and GOE-like noise of strength g:

    M = diag(x_i + lr K_i(x_i)) + (lr g / sqrt(B)) H,   H symmetric, H_ij ~ N(0, 1) (i < j),
                                                        H_ii ~ N(0, 2)
    x <- eigenvalues of M (ascending)

Second-order perturbation theory of this step is [A.4]: drift lr K_i, Coulomb term
(lr^2 g^2 / B) sum_j 1/(x_i - x_j), diagonal noise (lr / sqrt(B)) sqrt(2) g eta_i. Solving
the 2 x 2 or n x n eigenproblem instead of adding those terms keeps the levels ordered and
is exact for the matrix model at any step size, where explicit Euler on [A.4] with
re-sorting overestimates the spacing (the noise per step is a sizeable fraction of it
and the Coulomb term is stiff).

Normals per step: n (n + 1) / 2, the upper triangle of H row by row.
Drifts: DYSON_LINEAR K_i = kappa_i - x_i; DYSON_RBM K_i = 2 x (1/kappa_i - 1/(mu^2 - x))
[B.10], whose levels live in [0, mu^2): a level pushed below 0 is reflected (x = xi^2 of a
singular value xi that changed sign), one that reaches mu^2 has diverged [B.4].

Divergence: a replica fails at the step where a level goes non-finite, leaves [0, mu^2) (RBM
drift), or, given a bound (DysonParams.bound, the `bound` argument of dyson_advance), where
|x_i| exceeds it: for the linear drift the model adapter derives that bound from the
configuration's scale, far beyond any level the stationary state or the relaxation to it
reaches. Failed replicas are stopped and flagged with the step.
"""
from libc.math cimport NAN, fabs, isfinite, sqrt, hypot
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

import numpy as np

include "_linalg.pxi"
include "_bitgen.pxi"

dl_normal_setup()

DRIFTS = {"linear": DYSON_LINEAR, "rbm": DYSON_RBM}


cdef int dyson_work_alloc(DysonWork* work, const DysonParams* p) noexcept nogil:
    work.matrix = alloc_work(p.n * p.n + 2 * p.n + 1, &work.lapack_iwork)
    if work.matrix == NULL:
        return -1
    work.lapack_work = work.matrix + p.n * p.n
    return 0


cdef void dyson_work_free(DysonWork* work) noexcept nogil:
    free(work.matrix)
    free(work.lapack_iwork)
    work.matrix = NULL
    work.lapack_iwork = NULL


cdef inline bint in_domain(const DysonParams* p, const double* levels) noexcept nogil:
    """Every level finite, within the bound (DBL_MAX if none) and, RBM drift, in [0, mu^2)."""
    cdef int i
    for i in range(p.n):
        # False for NaN and inf too (the bound is at most DBL_MAX): one comparison a level.
        if not (fabs(levels[i]) <= p.bound):
            return False
    if p.drift == DYSON_RBM and (levels[0] < 0.0 or levels[p.n - 1] >= p.mu * p.mu):
        return False
    return True


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


cdef int dyson_step(const DysonParams* p, double* levels, const double* targets,
                    dl_normal_source* normals, DysonWork* w) noexcept nogil:
    """One step in place; 0, or 1 if a level left the finite numbers, the bound or (RBM
    drift) [0, mu^2)."""
    cdef int n = p.n, i, j
    cdef double scale = p.lr * p.noise / sqrt(<double> p.batch_size)
    cdef double diag_scale = scale * sqrt(2.0)
    cdef double x, mu2 = p.mu * p.mu, mean, radius
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
    for i in range(n):
        x = levels[i]
        if p.drift == DYSON_LINEAR:
            x = x + p.lr * (targets[i] - x)
        else:
            x = x + p.lr * 2.0 * x * (1.0 / targets[i] - 1.0 / (mu2 - x))
        m[i + i * n] = x + diag_scale * m[i + i * n]
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
        return 1
    if p.drift == DYSON_RBM:
        reflect_at_zero(n, levels)
    return 0 if in_domain(p, levels) else 1


cdef int64_t dyson_run(const DysonParams* p, double* levels, const double* targets,
                       dl_normal_source* normals, DysonWork* w, int64_t start,
                       int64_t stop, const int64_t* snapshot_steps, Py_ssize_t n_snapshots,
                       double* eigenvalues) noexcept nogil:
    """Advance one replica from `start` to `stop`; -1, or the step at which it diverged."""
    cdef Py_ssize_t s = 0, i
    cdef int64_t t
    while s < n_snapshots and snapshot_steps[s] < start:
        s += 1
    if not in_domain(p, levels):
        return start
    if s < n_snapshots and snapshot_steps[s] == start:
        for i in range(p.n):
            eigenvalues[s * p.n + i] = levels[i]
        s += 1
    for t in range(start + 1, stop + 1):
        if dyson_step(p, levels, targets, normals, w) != 0:
            return t
        if s < n_snapshots and snapshot_steps[s] == t:
            for i in range(p.n):
                eigenvalues[s * p.n + i] = levels[i]
            s += 1
    return -1


def dyson_advance(double[:, ::1] levels not None, const double[::1] targets not None,
                  object bit_generators, double lr, double noise, int batch_size, str drift,
                  double mu, int64_t start, int64_t stop,
                  const int64_t[::1] snapshot_steps not None,
                  double[:, :, ::1] eigenvalues not None, uint8_t[::1] failed not None,
                  int64_t[::1] fail_step not None, str normals_method="ziggurat",
                  object bound=None):
    """Advance R replicas' levels (R, n), ascending, in place from `start` to `stop`.

    targets (n,): kappa of each sorted level (see the module docstring); eigenvalues
    (R, S, n) receives the levels at each snapshot step within [start, stop]. bound: a
    replica with a level |x_i| > bound is flagged as diverged (None: no bound).
    """
    cdef Py_ssize_t n_rep = levels.shape[0], r
    cdef int n = levels.shape[1]
    cdef Py_ssize_t n_snap = snapshot_steps.shape[0]
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
    cdef int method = check_block(eigenvalues, failed, fail_step, n_rep, n_snap, n,
                                  start, stop, normals_method)
    cdef bitgen_t** gens = bitgen_array(bit_generators, n_rep)
    cdef DysonWork work
    cdef dl_normal_source normals
    cdef int64_t status
    try:
        if dyson_work_alloc(&work, &p) != 0:
            raise MemoryError()
        with nogil:
            normals.buffer = NULL
            normals.position = 0
            normals.method = method
            for r in range(n_rep):
                if failed[r]:
                    continue
                normals.bitgen = gens[r]
                status = dyson_run(&p, &levels[r, 0], &targets[0], &normals, &work, start, stop,
                                   &snapshot_steps[0] if n_snap > 0 else NULL, n_snap,
                                   &eigenvalues[r, 0, 0] if n_snap > 0 else NULL)
                if status >= 0:
                    failed[r] = 1
                    fail_step[r] = status
            dyson_work_free(&work)
    finally:
        free(gens)
