# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Gaussian RBM trained by persistent contrastive divergence: the hot loop.

One PCD step of one replica, SPEC [B.2]-[B.6], with B persistent visible chains:

    h    = sigma_h^2 W phi + sigma_h eps_h                 [B.2]  (eta = 0)
    k x: phi = W^T h / mu^2 + eps_phi / mu                 [B.3]
         h   = sigma_h^2 W phi + sigma_h eps_h             [B.2]  (skipped after the last phi)
    C_model = (1/B) sum_b phi_b phi_b^T
    W      += lr sigma_h^2 W (C_target - C_model)          [B.6]

In sampled-target mode C_target is replaced by (1/B) sum_b t_b t_b^T with t_b = L z_b,
L L^T = K_phi^-1. A replica has diverged when W is not finite or when the largest
eigenvalue of X = sigma_h^2 W^T W reaches mu^2 ([B.4]: K = mu^2 - X must stay positive).

Order of the standard normals drawn in one step (this order defines the kernel and is
what the deterministic entry point `pcd_step_given_normals` consumes):

    eps_h (B, N_h); then for j < k: eps_phi (B, N_v), and eps_h (B, N_h) if j < k - 1;
    then, sampled-target mode only, z (B, N_v).

Layout: the batch of chains, a row-major (B, N_v) array, is the column-major (N_v, B)
matrix Phi^T, so every product of the step is one BLAS call over all chains at once.
Replicas are independent and their state (W, chains: about 2 KB at N = 10) stays in L1 for
all the steps of that replica; the loop is replica-outer, step-inner for that reason.
"""
from libc.math cimport NAN, isfinite
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import numpy as np

include "_linalg.pxi"
include "_bitgen.pxi"

dl_normal_setup()



cdef Py_ssize_t pcd_normals_per_step(const RBMParams* p) noexcept nogil:
    cdef Py_ssize_t nb = p.batch_size
    cdef Py_ssize_t n = p.k * nb * (p.n_visible + p.n_hidden)
    if p.sampled_target:
        n += nb * p.n_visible
    return n


cdef int rbm_work_alloc(RBMWork* work, const RBMParams* p) noexcept nogil:
    cdef Py_ssize_t nv = p.n_visible, nh = p.n_hidden, nb = p.batch_size
    cdef Py_ssize_t total = nb * nh + nb * nv + 2 * nv * nv + nh * nv + 2 * nv + 1
    cdef double* block = alloc_work(total, &work.lapack_iwork)
    if block == NULL:
        return -1
    work.hidden = block
    work.target_samples = work.hidden + nb * nh
    work.delta = work.target_samples + nb * nv
    work.weights_old = work.delta + nv * nv
    work.gram = work.weights_old + nh * nv
    work.lapack_work = work.gram + nv * nv
    return 0


cdef void rbm_work_free(RBMWork* work) noexcept nogil:
    free(work.hidden)
    free(work.lapack_iwork)
    work.hidden = NULL
    work.lapack_iwork = NULL


cdef int pcd_check(const RBMParams* p, const double* weights, RBMWork* work) noexcept nogil:
    """PCD_OK, PCD_NONFINITE or PCD_UNSTABLE for the state W ([B.4])."""
    cdef Py_ssize_t i
    cdef double s2 = p.sigma_h * p.sigma_h
    for i in range(p.n_hidden * p.n_visible):
        if not isfinite(weights[i]):
            return PCD_NONFINITE
    gram_upper(p.n_hidden, p.n_visible, s2, weights, work.gram)
    if not below_bound(p.n_visible, p.mu * p.mu, work.gram):
        return PCD_UNSTABLE
    return PCD_OK


cdef int spectrum(const RBMParams* p, const double* weights, RBMWork* work,
                  double* eigenvalues) noexcept nogil:
    """Ascending eigenvalues of X = sigma_h^2 W^T W into eigenvalues[0:n_visible]."""
    gram_upper(p.n_hidden, p.n_visible, p.sigma_h * p.sigma_h, weights, work.gram)
    return sym_eigvals_upper(p.n_visible, work.gram, eigenvalues, work.lapack_work,
                             work.lapack_iwork)


cdef int pcd_step(const RBMParams* p, double* weights, double* chains,
                  const double* c_target, const double* chol, dl_normal_source* normals,
                  RBMWork* work) noexcept nogil:
    """One PCD step [B.2]-[B.6] of one replica, in place; returns pcd_check's status."""
    cdef int nv = p.n_visible, nh = p.n_hidden, nb = p.batch_size, j
    cdef double s2 = p.sigma_h * p.sigma_h
    cdef double inv_mu = 1.0 / p.mu
    cdef double inv_mu2 = inv_mu * inv_mu
    cdef double sigma_h = p.sigma_h
    cdef double one = 1.0, zero = 0.0
    cdef double inv_b = 1.0 / nb, minus_inv_b = -1.0 / nb
    cdef double rate = p.lr * s2
    cdef double* hidden = work.hidden

    # [B.2] H^T (N_h, B) = s2 W Phi^T + sigma_h E: the noise is written first, then scaled
    # by beta inside the same dgemm, so the step allocates and copies nothing.
    dl_draw_normals(normals, hidden, nb * nh)
    dgemm(b'T', b'N', &nh, &nb, &nv, &s2, weights, &nv, chains, &nv, &sigma_h, hidden, &nh)
    for j in range(p.k):
        # [B.3] Phi^T (N_v, B) = W^T H^T / mu^2 + E / mu; chains keep this final phi.
        dl_draw_normals(normals, chains, nb * nv)
        dgemm(b'N', b'N', &nv, &nb, &nh, &inv_mu2, weights, &nv, hidden, &nh, &inv_mu,
              chains, &nv)
        if j + 1 < p.k:
            dl_draw_normals(normals, hidden, nb * nh)
            dgemm(b'T', b'N', &nh, &nb, &nv, &s2, weights, &nv, chains, &nv, &sigma_h,
                  hidden, &nh)

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

    # [B.6] W += lr s2 W delta; column-major W^T += lr s2 delta W^T (delta symmetric).
    memcpy(work.weights_old, weights, nh * nv * sizeof(double))
    dsymm(b'L', b'U', &nv, &nh, &rate, work.delta, &nv, work.weights_old, &nv, &one,
          weights, &nv)
    return pcd_check(p, weights, work)


cdef int64_t pcd_run(const RBMParams* p, double* weights, double* chains,
                     const double* c_target, const double* chol, dl_normal_source* normals,
                     RBMWork* work, int64_t start, int64_t stop,
                     const int64_t* snapshot_steps, Py_ssize_t n_snapshots,
                     double* eigenvalues) noexcept nogil:
    """Advance one replica from step `start` to `stop`, recording snapshots.

    The spectrum at every snapshot step t with start <= t <= stop is written to
    eigenvalues[s * n_visible:(s + 1) * n_visible], s the snapshot's index. Returns -1 if
    the replica is alive at `stop`, otherwise the step at which it diverged (`start` if the
    incoming state already violates [B.4]); later snapshots are left untouched.
    """
    cdef Py_ssize_t s = 0
    cdef int64_t t
    while s < n_snapshots and snapshot_steps[s] < start:
        s += 1
    if pcd_check(p, weights, work) != PCD_OK:
        return start
    if s < n_snapshots and snapshot_steps[s] == start:
        spectrum(p, weights, work, eigenvalues + s * p.n_visible)
        s += 1
    for t in range(start + 1, stop + 1):
        if pcd_step(p, weights, chains, c_target, chol, normals, work) != PCD_OK:
            return t
        if s < n_snapshots and snapshot_steps[s] == t:
            spectrum(p, weights, work, eigenvalues + s * p.n_visible)
            s += 1
    return -1


cdef RBMParams _params(int n_visible, int n_hidden, int batch_size, int k, double lr,
                       double mu, double sigma_h, bint sampled) except *:
    if n_visible < 1 or n_hidden < 1 or batch_size < 1 or k < 1:
        raise ValueError("n_visible, n_hidden, batch_size and k must all be >= 1")
    cdef RBMParams p
    p.n_visible = n_visible
    p.n_hidden = n_hidden
    p.batch_size = batch_size
    p.k = k
    p.lr = lr
    p.mu = mu
    p.sigma_h = sigma_h
    p.sampled_target = sampled
    return p


def normals_per_step(int n_visible, int n_hidden, int batch_size, int k, bint sampled_target):
    """Number of standard normals one PCD step of one replica consumes."""
    cdef RBMParams p = _params(n_visible, n_hidden, batch_size, k, 0.0, 1.0, 1.0,
                               sampled_target)
    return pcd_normals_per_step(&p)


def pcd_advance(double[:, :, ::1] weights not None, double[:, :, ::1] chains not None,
                object bit_generators, const double[:, ::1] c_target not None,
                const double[:, ::1] chol, double lr, double mu, double sigma_h, int k,
                int64_t start, int64_t stop, const int64_t[::1] snapshot_steps not None,
                double[:, :, ::1] eigenvalues not None, uint8_t[::1] failed not None,
                int64_t[::1] fail_step not None, str normals_method="ziggurat"):
    """Advance R replicas in place from step `start` to `stop` without the GIL.

    weights (R, N_h, N_v), chains (R, B, N_v), bit_generators: R numpy BitGenerators, one
    per replica; c_target (N_v, N_v); chol (N_v, N_v) lower Cholesky factor of c_target for
    sampled-target mode, or None for the analytic target. snapshot_steps (S,) increasing;
    eigenvalues (R, S, N_v) receives the ascending spectrum of sigma_h^2 W^T W at each
    snapshot step within [start, stop]. Replicas with failed[r] set are skipped; a replica
    that diverges gets failed[r] = 1 and fail_step[r] = the step. `normals_method` is "ziggurat"
    (dl_normal.h, the fast default) or "numpy" (numpy's random_standard_normal: the stream
    of Generator.standard_normal). The caller owns the generators and must not use them
    from another thread meanwhile.
    """
    cdef Py_ssize_t n_rep = weights.shape[0], r
    cdef int nh = weights.shape[1], nv = weights.shape[2], nb = chains.shape[1]
    cdef Py_ssize_t n_snap = snapshot_steps.shape[0]
    cdef RBMParams p = _params(nv, nh, nb, k, lr, mu, sigma_h, chol is not None)
    if chains.shape[0] != n_rep or chains.shape[2] != nv:
        raise ValueError(f"chains must have shape ({n_rep}, B, {nv})")
    if c_target.shape[0] != nv or c_target.shape[1] != nv:
        raise ValueError(f"c_target must have shape ({nv}, {nv})")
    if chol is not None and (chol.shape[0] != nv or chol.shape[1] != nv):
        raise ValueError(f"chol must have shape ({nv}, {nv})")
    cdef int method = check_block(eigenvalues, failed, fail_step, n_rep, n_snap, nv,
                                  start, stop, normals_method)

    cdef bitgen_t** gens = bitgen_array(bit_generators, n_rep)
    cdef RBMWork work
    cdef dl_normal_source normals
    cdef int64_t status
    cdef const double* chol_ptr = &chol[0, 0] if chol is not None else NULL
    try:
        if rbm_work_alloc(&work, &p) != 0:
            raise MemoryError()
        with nogil:
            normals.buffer = NULL
            normals.position = 0
            normals.method = method
            for r in range(n_rep):
                if failed[r]:
                    continue
                normals.bitgen = gens[r]
                status = pcd_run(&p, &weights[r, 0, 0], &chains[r, 0, 0], &c_target[0, 0],
                                 chol_ptr, &normals, &work, start, stop,
                                 &snapshot_steps[0] if n_snap > 0 else NULL, n_snap,
                                 &eigenvalues[r, 0, 0] if n_snap > 0 else NULL)
                if status >= 0:
                    failed[r] = 1
                    fail_step[r] = status
            rbm_work_free(&work)
    finally:
        free(gens)


def pcd_step_given_normals(double[:, ::1] weights not None, double[:, ::1] chains not None,
                           const double[::1] normals not None,
                           const double[:, ::1] c_target not None, const double[:, ::1] chol,
                           double lr, double mu, double sigma_h, int k):
    """One PCD step of one replica with the standard normals supplied by the caller.

    The same arithmetic as `pcd_advance`; `normals` must hold exactly
    `normals_per_step(...)` values in the documented order. Returns the status code
    (0 ok, 1 non-finite W, 2 unstable: max eigenvalue of sigma_h^2 W^T W >= mu^2).
    """
    cdef int nh = weights.shape[0], nv = weights.shape[1], nb = chains.shape[0]
    cdef RBMParams p = _params(nv, nh, nb, k, lr, mu, sigma_h, chol is not None)
    if chains.shape[1] != nv or c_target.shape[0] != nv or c_target.shape[1] != nv:
        raise ValueError("inconsistent shapes of weights, chains and c_target")
    if normals.shape[0] != pcd_normals_per_step(&p):
        raise ValueError(f"need exactly {pcd_normals_per_step(&p)} normals")
    cdef RBMWork work
    cdef dl_normal_source src
    cdef int status
    src.bitgen = NULL
    src.buffer = &normals[0]
    src.position = 0
    if rbm_work_alloc(&work, &p) != 0:
        raise MemoryError()
    status = pcd_step(&p, &weights[0, 0], &chains[0, 0], &c_target[0, 0],
                      &chol[0, 0] if chol is not None else NULL, &src, &work)
    rbm_work_free(&work)
    return status

