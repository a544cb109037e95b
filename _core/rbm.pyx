# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Gaussian RBM trained by persistent contrastive divergence: the hot loop.

One PCD step of one replica, :eq:`rbm-hidden-given-visible` to :eq:`pcd-update`, with B persistent
visible chains:

    h    = sigma_h^2 W phi + sigma_h eps_h                 :eq:`rbm-hidden-given-visible`  (eta = 0)
    k x: phi = W^T h / mu^2 + eps_phi / mu                 :eq:`rbm-visible-given-hidden`
         h   = sigma_h^2 W phi + sigma_h eps_h             :eq:`rbm-hidden-given-visible`
                                                   (skipped after the last phi)
    C_model = (1/B) sum_b phi_b phi_b^T
    W      += lr sigma_h^2 W (C_target - C_model)          :eq:`pcd-update`

In sampled-target mode C_target is replaced by (1/B) sum_b t_b t_b^T with t_b = L z_b,
L L^T = K_phi^-1.

The collapsed sampler draws the same k-sweep transition of the chains in one go. With h
marginalised, one sweep phi -> h -> phi is Gaussian and linear in phi:

    phi' = A phi + (sigma_h / mu^2) W^T eps_h + eps_phi / mu,
    A = sigma_h^2 W^T W / mu^2 = X / mu^2,
    Cov(noise) = Q = sigma_h^2 W^T W / mu^4 + 1 / mu^2 = (1 + A) / mu^2,

so k sweeps give phi_k = A^k phi_0 + xi, xi ~ N(0, Sigma_k) with
Sigma_k = sum_{j<k} A^j Q A^j = (1 + A) sum_{j<k} A^(2j) / mu^2 (A and Q commute: both are
functions of X). Sampling it costs B N_v normals per step instead of k B (N_v + N_h), and
a few N_v^3 products and one Cholesky factorisation of Sigma_k per step. As k -> infinity
Sigma_k -> (mu^2 - X)^-1 = K^-1 :eq:`rbm-kernel`, the model's covariance. Same law, fewer variates.

The "gibbs-eigen" sampler takes the same Gibbs sweeps in the eigenbasis of the target
covariance, C_target = U Lambda U^T: the caller passes W U, the chains Phi U, c_target = Lambda
(diagonal) and, with a sampled target, chol = Lambda^(1/2) (dysonlearn.models.rbm rotates
once per replica and back at the end). The law is the same, since a standard normal vector
rotated is a standard normal vector and the spectrum of W^T W is invariant; what changes is
the gradient, whose target term is then a diagonal scaling (eigen_gradient): the step costs
O(k B N_v N_h) and no N_v^2 N_h product.

From N_v, N_h >= 200 (B a multiple of 8, a CPU with AVX2 or AVX-512), "gibbs-eigen" makes
its products with the chains itself (dl_skinny.h: no packing of W, which BLAS redoes on
every call for only B rows of work), and with SGD and the analytic target computes the
gradient and the update in one pass over W (eigen_sgd_step). Same draws, same law; the
last bits differ from BLAS's (docs/guide/performance.rst, "The products of the eigenbasis
sweeps").

A replica has diverged when W is not finite or when the largest eigenvalue of
X = sigma_h^2 W^T W reaches mu^2 (:eq:`rbm-kernel`: K = mu^2 - X must stay positive).

Gradient and update are separate: pcd_gradient writes -W delta (the gradient of W up to
the factor sigma_h^2, descent sign) into a buffer, and the shared optimiser (optim.pxd)
applies it; SGD's W <- W - (lr sigma_h^2) grad is the update :eq:`pcd-update` above, bit for bit.

Order of the standard normals drawn in one step (this order defines the kernel and is
what the deterministic entry point `pcd_step_given_normals` consumes):

    gibbs:      eps_h (B, N_h); then for j < k: eps_phi (B, N_v), and eps_h (B, N_h) if
                j < k - 1; then, sampled-target mode only, z (B, N_v).
    gibbs-eigen: the same draws, each transposed, chain index fastest: eps_h (N_h, B), then
                for j < k: eps_phi (N_v, B), and eps_h (N_h, B) if j < k - 1; then,
                sampled-target mode only, z (N_v, B) (hidden_given_visible).
    collapsed:  xi's standard normals (B, N_v) (xi_b = L z_b, L L^T = Sigma_k); then,
                sampled-target mode only, z (B, N_v).

Layout: the batch of chains, a row-major (B, N_v) array, is the column-major (N_v, B)
matrix Phi^T, so every product of the step is one BLAS call over all chains at once.
Replicas are independent and their state (W, chains: about 2 KB at N = 10) stays in L1 for
all the steps of that replica; the loop is replica-outer, step-inner for that reason.
"""
from libc.math cimport ceil, fabs, isfinite
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import numpy as np

from dysonlearn._core.optim cimport (
    OPTIM_SGD, optim_apply, optim_configure, optim_sgd, optim_state_block,
    optim_state_size,
)

include "_linalg.pxi"
include "_bitgen.pxi"

dl_normal_setup()


cdef extern from "dl_skinny.h" nogil:
    enum:
        DL_SKINNY_NONE
        DL_SKINNY_AVX2
        DL_SKINNY_AVX512
    int dl_skinny_isa()
    void dl_skinny_nn(int isa, int B, int N, int K, double alpha, const double* A,
                      const double* S, int lds, double beta, double* C)
    void dl_skinny_nt(int isa, int B, int N, int K, double alpha, const double* A,
                      const double* S, int lds, double beta, double* C)
    double dl_skinny_eigen_sgd(int isa, int B, int N, int M, const double* phit,
                               const double* P, const double* lam, double inv_b,
                               double rate, double* Wt)


# "gibbs-eigen"'s products with the B chains are the hand-written ones of dl_skinny.h (no
# packing of W, 1.5x BLAS's speed at N = 300, B = 16) when this CPU has them, B is a
# multiple of 8 and both layers have at least SKINNY_MIN_N units; otherwise BLAS's. Below
# SKINNY_MIN_N OpenBLAS's small-matrix kernels are as fast, and the fingerprints of the
# small runs keep BLAS's bits. The two give different last bits (each sums in its order).
cdef int SKINNY_MIN_N = 200
cdef int SKINNY_DETECTED = dl_skinny_isa()
cdef int skinny_isa = SKINNY_DETECTED
SKINNY_ISAS = {"none": DL_SKINNY_NONE, "avx2": DL_SKINNY_AVX2, "avx512": DL_SKINNY_AVX512}
SKINNY_NAMES = {value: name for name, value in SKINNY_ISAS.items()}


cdef inline int skinny(const RBMParams* p) noexcept nogil:
    """The instruction set of the step's skinny products, DL_SKINNY_NONE for BLAS."""
    if (p.eigen and p.batch_size % 8 == 0 and p.n_visible >= SKINNY_MIN_N
            and p.n_hidden >= SKINNY_MIN_N):
        return skinny_isa
    return DL_SKINNY_NONE


def _set_skinny(str isa):
    """Which skinny products "gibbs-eigen" uses, for tests and measurements: "auto" (what
    this CPU has, the default), "avx512", "avx2" or "none" (BLAS); returns the old setting's
    name. Refuses an instruction set this CPU lacks."""
    global skinny_isa
    old = SKINNY_NAMES[skinny_isa]
    wanted = SKINNY_DETECTED if isa == "auto" else SKINNY_ISAS.get(isa)
    if wanted is None:
        raise ValueError(f"isa must be 'auto' or one of {sorted(SKINNY_ISAS)}, got {isa!r}")
    if wanted > SKINNY_DETECTED:
        raise ValueError(f"this CPU does not run the {isa!r} products "
                         f"(it has {SKINNY_NAMES[SKINNY_DETECTED]!r})")
    skinny_isa = wanted
    return old


def _skinny_sgd(double[::1, :] w not None, double[::1, :] phi not None,
                double[::1, :] p not None, double[::1] lam not None, double rate,
                str isa="auto"):
    """w (N x M, Fortran order) <- w - rate (-lam_i w + (1/B) phi^T p), in place, by
    dl_skinny_eigen_sgd, for tests: phi (B, N) and p (B, M) Fortran-ordered. Returns the
    sum of the squares of the new w."""
    cdef int level = SKINNY_DETECTED if isa == "auto" else SKINNY_ISAS[isa]
    cdef int nb = phi.shape[0], n = w.shape[0], m = w.shape[1], i, b
    if level == DL_SKINNY_NONE or level > SKINNY_DETECTED:
        raise ValueError(f"no {isa!r} products on this CPU")
    if phi.shape[1] != n or p.shape[0] != nb or p.shape[1] != m or lam.shape[0] != n:
        raise ValueError("shapes: w (N, M), phi (B, N), p (B, M), lam (N,)")
    phit = np.empty((n, nb), order="F")
    cdef double[::1, :] pt = phit
    for i in range(n):
        for b in range(nb):
            pt[i, b] = phi[b, i]
    return dl_skinny_eigen_sgd(level, nb, n, m, &pt[0, 0], &p[0, 0], &lam[0], 1.0 / nb,
                               rate, &w[0, 0])


def _skinny_isa():
    """The instruction set of this CPU's skinny products: "avx512", "avx2" or "none"."""
    return SKINNY_NAMES[SKINNY_DETECTED]


def _skinny_product(str kind, double alpha, double[::1, :] a not None,
                    double[::1, :] s not None, double beta, double[::1, :] c not None,
                    str isa="auto"):
    """c <- alpha a s + beta c ("nn", s K x N) or alpha a s^T + beta c ("nt", s N x K) by
    dl_skinny.h, in place, for tests: a (B, K) and c (B, N) Fortran-ordered, B a multiple
    of 8."""
    cdef int level = SKINNY_DETECTED if isa == "auto" else SKINNY_ISAS[isa]
    cdef int nb = a.shape[0], k = a.shape[1], n = c.shape[1]
    if level == DL_SKINNY_NONE or level > SKINNY_DETECTED:
        raise ValueError(f"no {isa!r} products on this CPU")
    if nb % 8 or c.shape[0] != nb:
        raise ValueError("a and c must have the same rows, a multiple of 8")
    if kind == "nn" and (s.shape[0], s.shape[1]) == (k, n):
        dl_skinny_nn(level, nb, n, k, alpha, &a[0, 0], &s[0, 0], k, beta, &c[0, 0])
    elif kind == "nt" and (s.shape[0], s.shape[1]) == (n, k):
        dl_skinny_nt(level, nb, n, k, alpha, &a[0, 0], &s[0, 0], n, beta, &c[0, 0])
    else:
        raise ValueError(f"kind {kind!r} with shapes a ({nb}, {k}), "
                         f"s ({s.shape[0]}, {s.shape[1]}), c ({c.shape[0]}, {n})")


cdef void rbm_params_init(RBMParams* p) noexcept nogil:
    p.n_visible = 10
    p.n_hidden = 10
    p.batch_size = 16
    p.k = 3
    p.lr = 0.1
    p.mu = 3.0
    p.sigma_h = 1.0
    p.sampled_target = False
    p.collapsed = True
    p.eigen = False


cdef Py_ssize_t pcd_normals_per_step(const RBMParams* p) noexcept nogil:
    cdef Py_ssize_t nb = p.batch_size
    cdef Py_ssize_t n = p.k * nb * (p.n_visible + p.n_hidden)
    if p.collapsed:
        n = nb * p.n_visible
    if p.sampled_target:
        n += nb * p.n_visible
    return n


cdef int rbm_work_alloc(RBMWork* work, const RBMParams* p) noexcept nogil:
    cdef Py_ssize_t nv = p.n_visible, nh = p.n_hidden, nb = p.batch_size
    cdef Py_ssize_t total = nb * nh + 2 * nb * nv + 8 * nv * nv + nh * nv + eigvals_lwork(nv)
    cdef double* block = alloc_work(total, &work.lapack_iwork)
    if block == NULL:
        return -1
    work.hidden = block
    work.target_samples = work.hidden + nb * nh
    work.visible_noise = work.target_samples + nb * nv
    work.delta = work.visible_noise + nb * nv
    work.grad = work.delta + nv * nv
    work.gram = work.grad + nh * nv
    work.xmat = work.gram + nv * nv
    work.apow = work.xmat + nv * nv
    work.asq = work.apow + nv * nv
    work.series = work.asq + nv * nv
    work.cov = work.series + nv * nv
    work.tmp = work.cov + nv * nv
    work.lapack_work = work.tmp + nv * nv
    return 0


cdef void rbm_work_free(RBMWork* work) noexcept nogil:
    free(work.hidden)
    free(work.lapack_iwork)
    work.hidden = NULL
    work.lapack_iwork = NULL


# The divergence check (:eq:`rbm-kernel`): the exact test is the Cholesky factorisation of
# mu^2 - X, X = sigma_h^2 W^T W as dsyrk computes it (below_bound), O(N_v^3) on top of the
# O(N_h N_v^2) Gram matrix. Two sufficient bounds come first and decide most steps for a
# fraction of that cost; each is taken with the margin CHECK_MARGIN, so that whenever one of
# them passes, the factorisation would have succeeded too (the argument is in the docs,
# :doc:`/guide/performance`): the flags, the steps they name and every other bit are those
# of the exact test at every step.
#   1. lambda_max(X) <= tr X = sigma_h^2 ||W||_F^2: O(N_h N_v), summed in the finiteness scan;
#   2. lambda_max(X) <= max_i sum_j |X_ij| (Gershgorin), once X is formed: O(N_v^2).
# The exact test runs only when both fail. X is formed only when the collapsed sampler needs
# it (every step) or the first bound fails.
cdef double CHECK_MARGIN = 1.0 - 1.0 / 1024.0

# How pcd_check decides (module state, set by _set_check_mode; for tests and measurements):
cdef enum:
    CHECK_BOUNDS = 0    # the bounds, then the exact test, at every step
    CHECK_EXACT = 1     # the exact test at every step (the arithmetic before issue 15)
    CHECK_FINITE = 2    # finiteness only: what a step costs without the check (measurement)
    # The default: the bounds and the exact test at the end of segments of unchecked steps
    # (explicit sweeps at N_v >= SEGMENT_MIN_N), with rollback (rbm_segment_steps,
    # dl_run_segments in _driver.pxi); elsewhere CHECK_BOUNDS.
    CHECK_SEGMENTS = 3
cdef int check_mode = CHECK_SEGMENTS


cdef inline bint sum_squares(Py_ssize_t n, const double* x, double* out) noexcept nogil:
    """sum_i x_i^2 into out; False (out unset) when an entry is not finite.

    Four partial sums, added at the end: one running sum is a chain of dependent additions
    (about 1.3 ms at N = 1000, a tenth of a step), four are not. The sum only feeds the trace
    bound, whose margin (CHECK_MARGIN, SEGMENT_EDGE) dwarfs any difference in rounding, so
    no verdict and no bit of a run depends on the order. A sum of squares is finite exactly
    when every entry is (NaN and infinity propagate, squares never cancel), or when it
    overflows: only then are the entries scanned one by one.
    """
    cdef Py_ssize_t i, n4 = n - n % 4
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    for i in range(0, n4, 4):
        s0 += x[i] * x[i]
        s1 += x[i + 1] * x[i + 1]
        s2 += x[i + 2] * x[i + 2]
        s3 += x[i + 3] * x[i + 3]
    for i in range(n4, n):
        s0 += x[i] * x[i]
    s0 = (s0 + s1) + (s2 + s3)
    if not isfinite(s0):
        for i in range(n):
            if not isfinite(x[i]):
                return False
    out[0] = s0
    return True


cdef inline void form_xmat(const RBMParams* p, const double* weights, RBMWork* work) noexcept nogil:
    """work.xmat <- X = sigma_h^2 W^T W, full and symmetric (dsyrk's upper triangle mirrored)."""
    cdef Py_ssize_t i, j, nv = p.n_visible
    gram_upper(p.n_hidden, p.n_visible, p.sigma_h * p.sigma_h, weights, work.xmat)
    for j in range(nv):
        for i in range(j + 1, nv):
            work.xmat[i + j * nv] = work.xmat[j + i * nv]


cdef inline bint rows_below(Py_ssize_t n, const double* x, double bound) noexcept nogil:
    """Whether every row sum_i |x_ij| of the full n x n matrix x is below bound (Gershgorin's
    bound on its spectrum); stops at the first row that reaches it, so that a bound that
    cannot hold (large N) costs about one row, not n^2."""
    cdef Py_ssize_t i, j
    cdef double row
    for j in range(n):
        row = 0.0
        for i in range(n):
            row += fabs(x[i + j * n])
        if not row < bound:
            return False
    return True


cdef int pcd_check(const RBMParams* p, const double* weights, RBMWork* work) noexcept nogil:
    """DL_OK, DL_NONFINITE or DL_ESCAPED for the state W (:eq:`rbm-kernel`).

    The status of the exact test (W finite, then the Cholesky factorisation of mu^2 - X),
    decided by the cheapest of the tests above that is conclusive. With the collapsed
    sampler, leaves X = sigma_h^2 W^T W (full, symmetric) in work.xmat: its next step needs
    exactly this matrix, so it is formed once per step.
    """
    cdef Py_ssize_t nw = p.n_hidden * p.n_visible
    cdef double s2 = p.sigma_h * p.sigma_h, mu2 = p.mu * p.mu
    cdef double bound = mu2 * CHECK_MARGIN, squares = 0.0
    cdef bint traced
    if not sum_squares(nw, weights, &squares):
        return DL_NONFINITE
    cdef bint bounds = check_mode == CHECK_BOUNDS or check_mode == CHECK_SEGMENTS
    traced = bounds and s2 * squares < bound
    if p.collapsed or not (traced or check_mode == CHECK_FINITE):
        form_xmat(p, weights, work)
    if check_mode == CHECK_FINITE or traced:
        return DL_OK
    if bounds and rows_below(p.n_visible, work.xmat, bound):
        return DL_OK
    memcpy(work.gram, work.xmat, p.n_visible * p.n_visible * sizeof(double))
    if not below_bound(p.n_visible, mu2, work.gram):
        return DL_ESCAPED
    return DL_OK


CHECK_MODES = {"bounds": CHECK_BOUNDS, "exact": CHECK_EXACT, "finite": CHECK_FINITE,
               "segments": CHECK_SEGMENTS}


def _set_check_mode(str mode):
    """Set how the divergence check decides, for tests and measurements; returns the old mode.

    "segments" (the default): "bounds" at every step where segments do not apply (the
    collapsed sampler, N_v < SEGMENT_MIN_N); otherwise the exact test with a margin at the
    end of segments of unchecked steps, with rollback (docs/guide/performance.rst);
    "bounds": the sufficient bounds, then the exact test when they fail, at every step;
    "exact": the Cholesky test at every step (the code before the bounds; same flags);
    "finite": finiteness only, no eigenvalue test (to time a step without its check: never
    for results). Process-wide, not thread-safe: set it before starting kernels.
    """
    global check_mode
    if mode not in CHECK_MODES:
        raise ValueError(f"mode must be one of {sorted(CHECK_MODES)}, got {mode!r}")
    old = [name for name, code in CHECK_MODES.items() if code == check_mode][0]
    check_mode = CHECK_MODES[mode]
    return old


cdef int collapsed_sweeps(const RBMParams* p, double* chains, dl_normal_source* normals,
                          RBMWork* w) noexcept nogil:
    """chains <- A^k chains + xi, xi ~ N(0, Sigma_k) (module docstring); needs w.xmat.

    All matrices are polynomials in the symmetric X, hence symmetric: storage order is
    irrelevant for them. Returns DL_ESCAPED if Sigma_k is not positive definite (it is
    whenever max x < mu^2, which pcd_check enforces).
    """
    cdef int nv = p.n_visible, nb = p.batch_size, i, j, info = 0
    cdef int n2 = nv * nv, top = max(p.k, 2 * p.k - 2)
    cdef double inv_mu2 = 1.0 / (p.mu * p.mu), one = 1.0, zero = 0.0
    cdef double* a = w.tmp
    cdef double* power = w.asq      # the current power of A ...
    cdef double* spare = w.cov      # ... and the buffer the next one is written to
    cdef double* swap
    for i in range(n2):
        a[i] = w.xmat[i] * inv_mu2
        w.series[i] = 0.0
        power[i] = a[i]
    for i in range(nv):
        w.series[i * (nv + 1)] = 1.0
    memcpy(w.apow, a, n2 * sizeof(double))
    # Successive powers A^2 .. A^max(k, 2k - 2): keep A^k, add the even ones up to
    # A^(2k - 2) into sum_{j<k} A^(2j). One product per power: 2k - 3 of them for k >= 2.
    for j in range(2, top + 1):
        dgemm(b'N', b'N', &nv, &nv, &nv, &one, power, &nv, a, &nv, &zero, spare, &nv)
        swap = power
        power = spare
        spare = swap
        if j == p.k:
            memcpy(w.apow, power, n2 * sizeof(double))
        if j % 2 == 0 and j <= 2 * p.k - 2:
            for i in range(n2):
                w.series[i] += power[i]
    # Sigma_k = (1 + A) series / mu^2, into the spare buffer; then its Cholesky factor.
    for i in range(nv):
        a[i * (nv + 1)] += 1.0
    dgemm(b'N', b'N', &nv, &nv, &nv, &inv_mu2, a, &nv, w.series, &nv, &zero, spare, &nv)
    dpotrf(b'L', &nv, spare, &nv, &info)
    if info != 0:
        return DL_ESCAPED
    # xi = L z for every chain (column-major Z^T (N_v, B)), then phi' = A^k phi + xi.
    dl_draw_normals(normals, w.visible_noise, nb * nv)
    dtrmm(b'L', b'L', b'N', b'N', &nv, &nb, &one, spare, &nv, w.visible_noise, &nv)
    dgemm(b'N', b'N', &nv, &nb, &nv, &one, w.apow, &nv, chains, &nv, &one, w.visible_noise,
          &nv)
    memcpy(chains, w.visible_noise, nb * nv * sizeof(double))
    return DL_OK


cdef int spectrum(const RBMParams* p, const double* weights, RBMWork* work,
                  double* eigenvalues) noexcept nogil:
    """Ascending eigenvalues of X = sigma_h^2 W^T W into eigenvalues[0:n_visible]."""
    gram_upper(p.n_hidden, p.n_visible, p.sigma_h * p.sigma_h, weights, work.gram)
    return sym_eigvals_upper(p.n_visible, work.gram, eigenvalues, work.lapack_work,
                             work.lapack_iwork)


cdef inline void hidden_given_visible(const RBMParams* p, const double* weights,
                                      const double* chains, double* hidden) noexcept nogil:
    """:eq:`rbm-hidden-given-visible` H = s2 W Phi + sigma_h E, with the noise E already in
    `hidden` (scaled by beta inside the dgemm: the step allocates and copies nothing).
    Visible basis: H^T (N_h, B) and Phi^T (N_v, B) column-major, H^T = s2 W Phi^T + ...;
    "gibbs-eigen": H (B, N_h) and Phi (B, N_v) column-major (chain index fastest), so
    that the product has the B-row operand first and no transposed N x N operand (BLAS
    runs that up to 1.7x slower at N = 100): H = s2 Phi W^T + ... (W^T is the
    column-major storage of W)."""
    cdef int nv = p.n_visible, nh = p.n_hidden, nb = p.batch_size
    cdef double s2 = p.sigma_h * p.sigma_h, sigma_h = p.sigma_h
    cdef int isa = skinny(p)
    if isa != DL_SKINNY_NONE:
        dl_skinny_nn(isa, nb, nh, nv, s2, chains, weights, nv, sigma_h, hidden)
    elif p.eigen:
        dgemm(b'N', b'N', &nb, &nh, &nv, &s2, <double*> chains, &nb, <double*> weights, &nv,
              &sigma_h, hidden, &nb)
    else:
        dgemm(b'T', b'N', &nh, &nb, &nv, &s2, <double*> weights, &nv, <double*> chains, &nv,
              &sigma_h, hidden, &nh)


cdef inline void visible_given_hidden(const RBMParams* p, const double* weights,
                                      const double* hidden, double* chains) noexcept nogil:
    """:eq:`rbm-visible-given-hidden` Phi = W^T H / mu^2 + E / mu, the noise E already in
    `chains`; the layouts of hidden_given_visible."""
    cdef int nv = p.n_visible, nh = p.n_hidden, nb = p.batch_size
    cdef double inv_mu = 1.0 / p.mu
    cdef double inv_mu2 = inv_mu * inv_mu
    cdef int isa = skinny(p)
    if isa != DL_SKINNY_NONE:
        dl_skinny_nt(isa, nb, nv, nh, inv_mu2, hidden, weights, nv, inv_mu, chains)
    elif p.eigen:
        dgemm(b'N', b'T', &nb, &nv, &nh, &inv_mu2, <double*> hidden, &nb, <double*> weights,
              &nv, &inv_mu, chains, &nb)
    else:
        dgemm(b'N', b'N', &nv, &nb, &nh, &inv_mu2, <double*> weights, &nv, <double*> hidden,
              &nh, &inv_mu, chains, &nv)


cdef void gibbs_sweeps(const RBMParams* p, const double* weights, double* chains,
                       dl_normal_source* normals, RBMWork* work) noexcept nogil:
    """One phi -> h draw, then k times (h -> phi, phi -> h), the last h skipped
    :eq:`rbm-hidden-given-visible`, :eq:`rbm-visible-given-hidden`; the chains keep the
    final phi. "gibbs" and "gibbs-eigen" (whose chains are held transposed within a kernel
    call, transpose_chains) differ only in the layout of the products."""
    cdef int nv = p.n_visible, nh = p.n_hidden, nb = p.batch_size, j
    dl_draw_normals(normals, work.hidden, nb * nh)
    hidden_given_visible(p, weights, chains, work.hidden)
    for j in range(p.k):
        dl_draw_normals(normals, chains, nb * nv)
        visible_given_hidden(p, weights, work.hidden, chains)
        if j + 1 < p.k:
            dl_draw_normals(normals, work.hidden, nb * nh)
            hidden_given_visible(p, weights, chains, work.hidden)


cdef void rbm_sgd(optim_t* opt, const RBMParams* p) noexcept nogil:
    # The gradient of W is sigma_h^2 work.grad; SGD's step (lr sigma_h) sigma_h is rounded
    # as :eq:`pcd-update` always was, and applied through daxpy, which rounds as the former fused
    # dsymm update W += rate delta W did (a multiply-add per entry).
    optim_sgd(opt, p.lr, p.sigma_h * p.sigma_h, p.lr * p.sigma_h * p.sigma_h, True)


cdef void eigen_gradient(const RBMParams* p, const double* weights, const double* chains,
                         const double* c_target, const double* chol,
                         dl_normal_source* normals, RBMWork* work) noexcept nogil:
    """The gradient -W (C_target - C_model) in the target's eigenbasis ("gibbs-eigen").

    There C_target = Lambda is diagonal, so the gradient needs no N_v x N_v product:

        analytic:  grad = -W Lambda + (1/B) (W Phi^T) Phi
        sampled:   grad = -(1/B) (W T^T) T + (1/B) (W Phi^T) Phi,   T = Z Lambda^(1/2)

    two (four) products of W with the B chains, 4 B N_h N_v flops (8 with a sampled
    target), instead of B N_v^2 + 2 N_h N_v^2 (dsyrk, dsymm). With the chains Phi and the
    target samples T column-major (B, N_v) (gibbs_sweeps), the column-major storage of
    grad, grad^T (N_v, N_h), is -Lambda W^T + (1/B) Phi^T (Phi W^T); work.hidden (free after
    the sweeps) holds the (B, N_h) product Phi W^T, then T W^T.
    """
    cdef int nv = p.n_visible, nh = p.n_hidden, nb = p.batch_size, i, j
    cdef double one = 1.0, zero = 0.0, inv_b = 1.0 / nb, minus_inv_b = -1.0 / nb
    cdef double* grad = work.grad
    cdef double* lam = work.delta  # free in the eigenbasis (delta is the visible basis's)
    cdef double* col
    cdef double scale
    cdef int isa = skinny(p)
    if isa != DL_SKINNY_NONE:
        dl_skinny_nn(isa, nb, nh, nv, one, chains, weights, nv, zero, work.hidden)
    else:
        dgemm(b'N', b'N', &nb, &nh, &nv, &one, <double*> chains, &nb, <double*> weights,
              &nv, &zero, work.hidden, &nb)
    if p.sampled_target:
        # T = Z Lambda^(1/2): chol is the diagonal matrix Lambda^(1/2); column i of T is
        # unit i of the B samples.
        dl_draw_normals(normals, work.target_samples, nb * nv)
        for i in range(nv):
            col = work.target_samples + i * nb
            scale = chol[i * (nv + 1)]
            for j in range(nb):
                col[j] *= scale
        dgemm(b'T', b'N', &nv, &nh, &nb, &inv_b, <double*> chains, &nb, work.hidden, &nb,
              &zero, grad, &nv)
        if isa != DL_SKINNY_NONE:
            dl_skinny_nn(isa, nb, nh, nv, one, work.target_samples, weights, nv, zero,
                         work.hidden)
        else:
            dgemm(b'N', b'N', &nb, &nh, &nv, &one, work.target_samples, &nb,
                  <double*> weights, &nv, &zero, work.hidden, &nb)
        dgemm(b'T', b'N', &nv, &nh, &nb, &minus_inv_b, work.target_samples, &nb, work.hidden,
              &nb, &one, grad, &nv)
        return
    # Lambda gathered into a vector first: read in place, its entries lie a row apart, each
    # on its own page at large N, and the strided reads cost more than the products' packing.
    for i in range(nv):
        lam[i] = c_target[i * (nv + 1)]
    for j in range(nh):
        for i in range(nv):
            grad[i + j * nv] = -lam[i] * weights[i + j * nv]
    dgemm(b'T', b'N', &nv, &nh, &nb, &inv_b, <double*> chains, &nb, work.hidden, &nb,
          &one, grad, &nv)


cdef int transpose_chains(double* chains, Py_ssize_t n_rep, int nb, int nv,
                          bint to_eigen) noexcept nogil:
    """Each replica's (B, N_v) row-major chains to column-major (to_eigen) or back, in
    place: the layout of the "gibbs-eigen" products (hidden_given_visible). A copy, exact;
    -1 if out of memory."""
    cdef Py_ssize_t r, b, i, size = <Py_ssize_t> nb * nv
    cdef double* tmp = <double*> malloc(max(size, 1) * sizeof(double))
    cdef double* block
    if tmp == NULL:
        return -1
    for r in range(n_rep):
        block = chains + r * size
        memcpy(tmp, block, size * sizeof(double))
        for b in range(nb):
            for i in range(nv):
                if to_eigen:
                    block[b + i * nb] = tmp[i + b * nv]
                else:
                    block[i + b * nv] = tmp[b + i * nb]
    free(tmp)
    return 0


cdef int pcd_gradient(const RBMParams* p, const double* weights, double* chains,
                      const double* c_target, const double* chol, dl_normal_source* normals,
                      RBMWork* work) noexcept nogil:
    """The chains' k sweeps, then the gradient -W (C_target - C_model) into work.grad.

    :eq:`pcd-update` ascends sigma_h^2 W delta, delta = C_target - C_model: the gradient of W is
    sigma_h^2 work.grad (the scale rbm_sgd declares). The collapsed sampler needs
    work.xmat to hold X of the incoming W, which pcd_check (run on every state before it
    is stepped) guarantees. DL_OK, or DL_ESCAPED if Sigma_k is not positive definite.
    """
    cdef int nv = p.n_visible, nh = p.n_hidden, nb = p.batch_size
    cdef double one = 1.0, zero = 0.0, minus_one = -1.0
    cdef double inv_b = 1.0 / nb, minus_inv_b = -1.0 / nb

    if p.collapsed:
        if collapsed_sweeps(p, chains, normals, work) != DL_OK:
            return DL_ESCAPED
    else:
        gibbs_sweeps(p, weights, chains, normals, work)
    if p.eigen:
        eigen_gradient(p, weights, chains, c_target, chol, normals, work)
        return DL_OK

    # delta = C_target - C_model (upper triangle).
    if p.sampled_target:
        # t_b = L z_b: chol is row-major lower L, i.e. column-major upper L^T.
        dl_draw_normals(normals, work.target_samples, nb * nv)
        dtrmm(b'L', b'U', b'T', b'N', &nv, &nb, &one, <double*> chol, &nv,
              work.target_samples, &nv)
        dsyrk(b'U', b'N', &nv, &nb, &inv_b, work.target_samples, &nv, &zero, work.delta, &nv)
    else:
        memcpy(work.delta, c_target, nv * nv * sizeof(double))
    dsyrk(b'U', b'N', &nv, &nb, &minus_inv_b, chains, &nv, &one, work.delta, &nv)

    # grad = -W delta; column-major grad^T = -delta W^T (delta symmetric).
    dsymm(b'L', b'U', &nv, &nh, &minus_one, work.delta, &nv, <double*> weights, &nv, &zero,
          work.grad, &nv)
    return DL_OK


cdef double eigen_sgd_step(const RBMParams* p, const optim_t* opt, int isa, double* weights,
                           double* chains, const double* c_target, dl_normal_source* normals,
                           RBMWork* work) noexcept nogil:
    """pcd_update for "gibbs-eigen" with the skinny products, SGD and the analytic target:
    the sweeps, P = Phi W^T, then gradient and update in one pass over W
    (dl_skinny_eigen_sgd: -W Lambda + (1/B) P^T Phi and W <- W - rate g, with Phi^T in
    work.visible_noise and Lambda in work.delta, both free in the eigenbasis). Where W
    does not fit in the cache, the three passes of BLAS and the optimiser (the gradient's
    first term, the rank-B product into it, the update) cost more than the products.
    Returns the sum of the squares of the new W (not finite when W is not), which the
    segments' cheap check then need not read W again for."""
    cdef int nv = p.n_visible, nh = p.n_hidden, nb = p.batch_size, i, b
    cdef double* phit = work.visible_noise
    cdef double* lam = work.delta
    gibbs_sweeps(p, weights, chains, normals, work)
    dl_skinny_nn(isa, nb, nh, nv, 1.0, chains, weights, nv, 0.0, work.hidden)
    for i in range(nv):
        lam[i] = c_target[i * (nv + 1)]
        for b in range(nb):
            phit[i + b * nv] = chains[b + i * nb]
    return dl_skinny_eigen_sgd(isa, nb, nv, nh, phit, work.hidden, lam, 1.0 / nb, opt.rate,
                               weights)


cdef inline bint fused_sgd(const RBMParams* p, const optim_t* opt) noexcept nogil:
    """Whether pcd_update takes eigen_sgd_step."""
    return skinny(p) != DL_SKINNY_NONE and opt.kind == OPTIM_SGD and not p.sampled_target


cdef int pcd_update(const RBMParams* p, const optim_t* opt, double* weights, double* chains,
                    const double* c_target, const double* chol, dl_normal_source* normals,
                    RBMWork* work, double* opt_state, int64_t t) noexcept nogil:
    """One step's update of W and the chains in place, before any check: the gradient
    (pcd_gradient), then the optimiser (optim_apply, 1-based step count t); with the
    skinny products, SGD and the analytic target, eigen_sgd_step. A dl_status."""
    if fused_sgd(p, opt):
        eigen_sgd_step(p, opt, skinny(p), weights, chains, c_target, normals, work)
        return DL_OK
    cdef int status = pcd_gradient(p, weights, chains, c_target, chol, normals, work)
    if status == DL_OK:
        optim_apply(opt, weights, work.grad, opt_state, t, p.n_hidden * p.n_visible)
    return status


cdef int pcd_step(const RBMParams* p, double* weights, double* chains,
                  const double* c_target, const double* chol, dl_normal_source* normals,
                  RBMWork* work) noexcept nogil:
    """One PCD step :eq:`rbm-hidden-given-visible` to :eq:`pcd-update` of one replica in place, SGD
    at p.lr; pcd_check's status."""
    cdef optim_t opt
    rbm_sgd(&opt, p)
    cdef int status = pcd_update(p, &opt, weights, chains, c_target, chol, normals, work,
                                 NULL, 0)
    return status if status != DL_OK else pcd_check(p, weights, work)


cdef struct RBMSegment:
    # The segments of the divergence check (dl_run_segments in _driver.pxi): their length
    # and the saved state of the replica they roll back to.
    int64_t steps               # the most steps of a segment (rbm_segment_steps), >= 2
    Py_ssize_t opt_size         # the optimiser state of one replica, doubles
    double* weights             # (N_h, N_v)
    double* chains              # (B, N_v)
    double* opt_state           # opt_size (NULL when 0)


cdef struct RBMModel:
    # What the shared driver steps: the block's parameters, workspace and optimiser, and
    # the replica bound last (bind).
    const RBMParams* p
    RBMWork* work
    const optim_t* opt
    const double* c_target
    const double* chol
    double* weights
    double* chains
    double* opt_state
    double* all_weights         # the block's (R, N_h, N_v), (R, B, N_v) and optimiser state
    double* all_chains
    double* all_opt_state
    RBMSegment* seg             # segments of unchecked steps (NULL: none, check every step)


# The segments (docs/guide/performance.rst): a replica certified clear of the edge -- the
# largest eigenvalue of X below SEGMENT_EDGE mu^2 -- runs up to rbm_segment_steps steps with
# only finiteness and the trace bound checked, then the exact test; a failure, or an end
# state near the edge, rolls the segment back (state and generator) and replays it with the
# full check at every step. They apply to the explicit sweeps from N_v = SEGMENT_MIN_N
# (below, the bounds decide most steps and the exact test is cheap; the collapsed sampler
# forms X every step anyway). The length makes the exact test about SEGMENT_SHARE of the
# steps' flops, at most SEGMENT_MAX_STEPS steps (a rollback replays at most that many).
cdef double SEGMENT_EDGE = 1.0 - 1.0 / 8.0
cdef int SEGMENT_MIN_N = 32
cdef double SEGMENT_SHARE = 1.0 / 32.0
cdef int64_t SEGMENT_MAX_STEPS = 64


# The shared driver, bound at compile time to this model's functions (_driver.pxi).
ctypedef RBMModel dl_model

include "_driver.pxi"


cdef inline void dl_model_bind(RBMModel* m, Py_ssize_t r) noexcept nogil:
    cdef Py_ssize_t nw = m.p.n_hidden * m.p.n_visible
    m.weights = m.all_weights + r * nw
    m.chains = m.all_chains + r * m.p.batch_size * m.p.n_visible
    m.opt_state = (m.all_opt_state + r * optim_state_size(m.opt, nw)
                   if m.all_opt_state != NULL else NULL)


cdef inline int dl_model_check(RBMModel* m) noexcept nogil:
    return pcd_check(m.p, m.weights, m.work)


cdef inline int dl_model_step(RBMModel* m, int64_t t, dl_normal_source* normals) noexcept nogil:
    cdef int status = pcd_update(m.p, m.opt, m.weights, m.chains, m.c_target, m.chol, normals,
                                 m.work, m.opt_state, t)
    return status if status != DL_OK else pcd_check(m.p, m.weights, m.work)


cdef int64_t rbm_segment_steps(const RBMParams* p) noexcept nogil:
    """The most steps of a segment between two exact tests; 1: none (check every step).

    From the flop counts: the exact test, N_h N_v^2 (X) + N_v^3 / 3 (Cholesky), is to be
    SEGMENT_SHARE of the steps' 4 k B N_v N_h (the sweeps' products) + 4 B N_v N_h; at most
    SEGMENT_MAX_STEPS.
    """
    if check_mode != CHECK_SEGMENTS or p.collapsed or p.n_visible < SEGMENT_MIN_N:
        return 1
    cdef double nv = p.n_visible, nh = p.n_hidden, nb = p.batch_size
    cdef double exact = nh * nv * nv + nv * nv * nv / 3.0
    cdef double step = 4.0 * p.k * nb * nv * nh + 4.0 * nb * nv * nh
    cdef double steps = min(ceil(exact / (SEGMENT_SHARE * step)), <double> SEGMENT_MAX_STEPS)
    return <int64_t> steps if steps >= 2.0 else 1


cdef int rbm_segment_alloc(RBMSegment* seg, const RBMParams* p,
                           Py_ssize_t opt_size) noexcept nogil:
    """The saved state of the segments (seg.steps set by the caller); -1 when memory is
    short."""
    cdef Py_ssize_t nw = p.n_hidden * p.n_visible, nc = p.batch_size * p.n_visible
    seg.opt_size = opt_size
    seg.weights = <double*> malloc((nw + nc + opt_size) * sizeof(double))
    if seg.weights == NULL:
        return -1
    seg.chains = seg.weights + nw
    seg.opt_state = seg.chains + nc if opt_size > 0 else NULL
    return 0


cdef inline int rbm_cheap_check(const RBMParams* p, const double* weights) noexcept nogil:
    """The check inside a segment: DL_NONFINITE, DL_OK when the trace bound certifies the
    state clear of the edge (tr X < SEGMENT_EDGE mu^2), DL_UNSURE otherwise."""
    cdef Py_ssize_t nw = p.n_hidden * p.n_visible
    cdef double squares = 0.0
    if not sum_squares(nw, weights, &squares):
        return DL_NONFINITE
    return trace_verdict(p, squares)


cdef inline int trace_verdict(const RBMParams* p, double squares) noexcept nogil:
    """rbm_cheap_check's verdict from the finite sum of the squares of W."""
    if p.sigma_h * p.sigma_h * squares < p.mu * p.mu * SEGMENT_EDGE:
        return DL_OK
    return DL_UNSURE


cdef int pcd_check_margin(const RBMParams* p, const double* weights,
                          RBMWork* work) noexcept nogil:
    """pcd_check's verdict, with DL_OK split: DL_OK when the state is certified clear of the
    edge (max eigenvalue of X below SEGMENT_EDGE mu^2, by the trace, Gershgorin or the
    Cholesky factorisation of SEGMENT_EDGE mu^2 - X), DL_UNSURE when it lives but is not.

    The verdict is the exact test's: SEGMENT_EDGE < CHECK_MARGIN, so whenever a test at the
    edge succeeds the factorisation of mu^2 - X would have (the margin argument of
    pcd_check); otherwise the tests of pcd_check decide.
    """
    cdef double mu2 = p.mu * p.mu, edge = p.mu * p.mu * SEGMENT_EDGE
    cdef double bound = mu2 * CHECK_MARGIN
    cdef Py_ssize_t nw = p.n_hidden * p.n_visible, n2 = p.n_visible * p.n_visible
    cdef double trace, squares = 0.0
    if not sum_squares(nw, weights, &squares):
        return DL_NONFINITE
    trace = p.sigma_h * p.sigma_h * squares
    if trace < edge:
        return DL_OK
    form_xmat(p, weights, work)
    if rows_below(p.n_visible, work.xmat, edge):
        return DL_OK
    memcpy(work.gram, work.xmat, n2 * sizeof(double))
    if below_bound(p.n_visible, edge, work.gram):
        return DL_OK
    if trace < bound or rows_below(p.n_visible, work.xmat, bound):
        return DL_UNSURE
    memcpy(work.gram, work.xmat, n2 * sizeof(double))
    if below_bound(p.n_visible, mu2, work.gram):
        return DL_UNSURE
    return DL_ESCAPED


cdef inline int64_t dl_model_segment(RBMModel* m) noexcept nogil:
    return m.seg.steps if m.seg != NULL else 1


cdef inline void dl_model_save(RBMModel* m) noexcept nogil:
    memcpy(m.seg.weights, m.weights, m.p.n_hidden * m.p.n_visible * sizeof(double))
    memcpy(m.seg.chains, m.chains, m.p.batch_size * m.p.n_visible * sizeof(double))
    if m.seg.opt_size > 0:
        memcpy(m.seg.opt_state, m.opt_state, m.seg.opt_size * sizeof(double))


cdef inline void dl_model_restore(RBMModel* m) noexcept nogil:
    memcpy(m.weights, m.seg.weights, m.p.n_hidden * m.p.n_visible * sizeof(double))
    memcpy(m.chains, m.seg.chains, m.p.batch_size * m.p.n_visible * sizeof(double))
    if m.seg.opt_size > 0:
        memcpy(m.opt_state, m.seg.opt_state, m.seg.opt_size * sizeof(double))


cdef inline int dl_model_step_unchecked(RBMModel* m, int64_t t,
                                        dl_normal_source* normals) noexcept nogil:
    cdef double squares
    cdef int status
    if fused_sgd(m.p, m.opt):
        # The update's own sum of squares spares the check a pass over W; a W that is not
        # finite is told from one whose sum overflowed by rbm_cheap_check's scan.
        squares = eigen_sgd_step(m.p, m.opt, skinny(m.p), m.weights, m.chains, m.c_target,
                                 normals, m.work)
        if isfinite(squares):
            return trace_verdict(m.p, squares)
        return rbm_cheap_check(m.p, m.weights)
    status = pcd_update(m.p, m.opt, m.weights, m.chains, m.c_target, m.chol, normals,
                        m.work, m.opt_state, t)
    return status if status != DL_OK else rbm_cheap_check(m.p, m.weights)


cdef inline int dl_model_check_margin(RBMModel* m) noexcept nogil:
    return pcd_check_margin(m.p, m.weights, m.work)


cdef inline int dl_model_spectrum(RBMModel* m, double* out) noexcept nogil:
    return spectrum(m.p, m.weights, m.work, out)


cdef inline int dl_model_n_values(const RBMModel* m) noexcept nogil:
    return m.p.n_visible


cdef int64_t pcd_run(const RBMParams* p, double* weights, double* chains,
                     const double* c_target, const double* chol, dl_normal_source* normals,
                     RBMWork* work, int64_t start, int64_t stop,
                     const int64_t* snapshot_steps, Py_ssize_t n_snapshots,
                     double* eigenvalues) noexcept nogil:
    """Advance one replica from step `start` to `stop` (SGD at p.lr), recording snapshots.

    The shared driver's dl_run_replica: the spectrum at every snapshot step t with
    start <= t <= stop is written to eigenvalues[s * n_visible:(s + 1) * n_visible], s the
    snapshot's index. Returns -1 if the replica is alive at `stop`, otherwise the step at
    which it failed (`start` if the incoming state already violates :eq:`rbm-kernel`); later
    snapshots are left untouched.
    """
    cdef optim_t opt
    cdef RBMModel m
    cdef int status
    rbm_sgd(&opt, p)
    m.p = p
    m.work = work
    m.opt = &opt
    m.c_target = c_target
    m.chol = chol
    m.all_weights = weights
    m.all_chains = chains
    m.all_opt_state = NULL
    m.seg = NULL
    dl_model_bind(&m, 0)
    return dl_run_replica(&m, normals, start, stop, snapshot_steps, n_snapshots, eigenvalues,
                          &status)


SAMPLERS = ("gibbs", "collapsed", "gibbs-eigen")


cdef RBMParams _params(int n_visible, int n_hidden, int batch_size, int k, double lr,
                       double mu, double sigma_h, bint sampled, str sampler) except *:
    if n_visible < 1 or n_hidden < 1 or batch_size < 1 or k < 1:
        raise ValueError("n_visible, n_hidden, batch_size and k must all be >= 1")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    cdef RBMParams p
    rbm_params_init(&p)
    p.n_visible = n_visible
    p.n_hidden = n_hidden
    p.batch_size = batch_size
    p.k = k
    p.lr = lr
    p.mu = mu
    p.sigma_h = sigma_h
    p.sampled_target = sampled
    p.collapsed = sampler == "collapsed"
    p.eigen = sampler == "gibbs-eigen"
    return p


def _segment_steps(int n_visible, int n_hidden, int batch_size, int k,
                   str sampler="gibbs", bint sampled_target=False):
    """The most steps of a segment of the divergence check under the current check mode
    (1: the check runs at every step), for tests and measurements."""
    cdef RBMParams p = _params(n_visible, n_hidden, batch_size, k, 0.0, 1.0, 1.0,
                               sampled_target, sampler)
    return rbm_segment_steps(&p)


cdef void _check_diagonal(const double[:, ::1] matrix, str name) except *:
    cdef Py_ssize_t i, j
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if i != j and matrix[i, j] != 0.0:
                raise ValueError(
                    f"{name}: the 'gibbs-eigen' sampler needs it diagonal (the state in the "
                    f"eigenbasis of the target covariance), got entry ({i}, {j}) = "
                    f"{matrix[i, j]!r}")


cdef void _check_eigenbasis(const RBMParams* p, const double[:, ::1] c_target,
                            const double[:, ::1] chol) except *:
    """The "gibbs-eigen" sampler's c_target and chol (if given) must be diagonal: the state
    is in the eigenbasis of the target covariance. Nothing to check for the others."""
    if p.eigen:
        _check_diagonal(c_target, "c_target")
        if chol is not None:
            _check_diagonal(chol, "chol")


def normals_per_step(int n_visible, int n_hidden, int batch_size, int k, bint sampled_target,
                     str sampler="collapsed"):
    """Number of standard normals one PCD step of one replica consumes."""
    cdef RBMParams p = _params(n_visible, n_hidden, batch_size, k, 0.0, 1.0, 1.0,
                               sampled_target, sampler)
    return pcd_normals_per_step(&p)


def pcd_advance(double[:, :, ::1] weights not None, double[:, :, ::1] chains not None,
                object bit_generators, const double[:, ::1] c_target not None,
                const double[:, ::1] chol, double lr, double mu, double sigma_h, int k,
                int64_t start, int64_t stop, const int64_t[::1] snapshot_steps not None,
                double[:, :, ::1] eigenvalues not None, uint8_t[::1] failed not None,
                int64_t[::1] fail_step not None, str normal_method="ziggurat",
                str sampler="collapsed", uint8_t[::1] status=None, object optimizer=None,
                double[:, ::1] opt_state=None):
    """Advance R replicas in place from step `start` to `stop` without the GIL.

    weights (R, N_h, N_v), chains (R, B, N_v), bit_generators: R numpy BitGenerators, one
    per replica; c_target (N_v, N_v); chol (N_v, N_v) lower Cholesky factor of c_target for
    sampled-target mode, or None for the analytic target. snapshot_steps (S,) increasing;
    eigenvalues (R, S, N_v) receives the ascending spectrum of sigma_h^2 W^T W at each
    snapshot step within [start, stop]. Replicas with failed[r] set are skipped; a replica
    that fails gets failed[r] = 1, fail_step[r] = the step and, if given, status[r] = its
    dl_status (STATUS). `normal_method` is "ziggurat" (dl_normal.h, the fast default) or
    "numpy" (numpy's random_standard_normal: the stream of Generator.standard_normal). The
    caller owns the generators and must not use them from another thread meanwhile.
    optimizer: the plain-dict form of a dysonlearn.optim optimiser (None: SGD), applied to
    the gradient sigma_h^2 work.grad; opt_state (R, its state size for N_h N_v weights)
    the replicas' optimiser state, updated in place (None when it keeps none). Step t
    (start < t <= stop) is the optimiser's 1-based step count.
    """
    cdef Py_ssize_t n_rep = weights.shape[0]
    cdef int nh = weights.shape[1], nv = weights.shape[2], nb = chains.shape[1]
    cdef RBMParams p = _params(nv, nh, nb, k, lr, mu, sigma_h, chol is not None, sampler)
    if chains.shape[0] != n_rep or chains.shape[2] != nv:
        raise ValueError(f"chains must have shape ({n_rep}, B, {nv})")
    if c_target.shape[0] != nv or c_target.shape[1] != nv:
        raise ValueError(f"c_target must have shape ({nv}, {nv})")
    if chol is not None and (chol.shape[0] != nv or chol.shape[1] != nv):
        raise ValueError(f"chol must have shape ({nv}, {nv})")
    _check_eigenbasis(&p, c_target, chol)
    cdef RBMWork work
    cdef optim_t opt
    cdef RBMModel m
    rbm_sgd(&opt, &p)
    optim_configure(&opt, optimizer, lr, sigma_h * sigma_h)
    m.p = &p
    m.work = &work
    m.opt = &opt
    m.c_target = &c_target[0, 0]
    m.chol = &chol[0, 0] if chol is not None else NULL
    m.all_weights = &weights[0, 0, 0] if n_rep > 0 else NULL
    m.all_chains = &chains[0, 0, 0] if n_rep > 0 else NULL
    m.all_opt_state = optim_state_block(&opt, n_rep, nh * nv, opt_state)
    cdef RBMSegment seg
    seg.steps = rbm_segment_steps(&p)
    seg.weights = NULL
    m.seg = &seg if seg.steps > 1 else NULL
    if rbm_work_alloc(&work, &p) != 0:
        raise MemoryError()
    if m.seg != NULL and rbm_segment_alloc(&seg, &p, optim_state_size(&opt, nh * nv)) != 0:
        rbm_work_free(&work)
        raise MemoryError()
    try:
        if p.eigen and n_rep > 0 and transpose_chains(m.all_chains, n_rep, nb, nv, True):
            raise MemoryError()
        try:
            drive_block(&m, &opt, bit_generators, n_rep, start, stop, snapshot_steps, eigenvalues,
                        failed, fail_step, normal_method, status)
        finally:
            if p.eigen and n_rep > 0 and transpose_chains(m.all_chains, n_rep, nb, nv, False):
                raise MemoryError()
    finally:
        rbm_work_free(&work)
        free(seg.weights)


def pcd_step_given_normals(double[:, ::1] weights not None, double[:, ::1] chains not None,
                           const double[::1] normals not None,
                           const double[:, ::1] c_target not None, const double[:, ::1] chol,
                           double lr, double mu, double sigma_h, int k,
                           str sampler="collapsed", object optimizer=None,
                           double[:, ::1] opt_state=None, int64_t step=1):
    """One PCD step of one replica with the standard normals supplied by the caller.

    The same arithmetic as `pcd_advance`; `normals` must hold exactly
    `normals_per_step(...)` values in the documented order. optimizer and opt_state (this
    replica's state, shape (1, state size)) as for `pcd_advance`; step: the optimiser's
    1-based step count. Returns the status code (0 ok, 1 non-finite W, 2 unstable: max
    eigenvalue of sigma_h^2 W^T W >= mu^2).
    """
    cdef int nh = weights.shape[0], nv = weights.shape[1], nb = chains.shape[0]
    cdef RBMParams p = _params(nv, nh, nb, k, lr, mu, sigma_h, chol is not None, sampler)
    if chains.shape[1] != nv or c_target.shape[0] != nv or c_target.shape[1] != nv:
        raise ValueError("inconsistent shapes of weights, chains and c_target")
    _check_eigenbasis(&p, c_target, chol)
    if normals.shape[0] != pcd_normals_per_step(&p):
        raise ValueError(f"need exactly {pcd_normals_per_step(&p)} normals")
    cdef RBMWork work
    cdef dl_normal_source src
    cdef optim_t opt
    cdef int status
    cdef double* state
    rbm_sgd(&opt, &p)
    optim_configure(&opt, optimizer, lr, sigma_h * sigma_h)
    state = optim_state_block(&opt, 1, nh * nv, opt_state)
    src.bitgen = NULL
    src.buffer = &normals[0]
    src.position = 0
    if rbm_work_alloc(&work, &p) != 0:
        raise MemoryError()
    if p.eigen and transpose_chains(&chains[0, 0], 1, nb, nv, True):
        rbm_work_free(&work)
        raise MemoryError()
    status = pcd_check(&p, &weights[0, 0], &work)  # also forms X for the collapsed sampler
    if status == DL_OK:
        status = pcd_update(&p, &opt, &weights[0, 0], &chains[0, 0], &c_target[0, 0],
                            &chol[0, 0] if chol is not None else NULL, &src, &work, state,
                            step)
    if status == DL_OK:
        status = pcd_check(&p, &weights[0, 0], &work)
    rbm_work_free(&work)
    if p.eigen and transpose_chains(&chains[0, 0], 1, nb, nv, False):
        raise MemoryError()
    return status
