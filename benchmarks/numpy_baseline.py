"""Replica-batched plain-NumPy PCD for the Gaussian RBM: the baseline of the benchmarks.

The same PCD step as the compiled kernel, :eq:`rbm-hidden-given-visible` to :eq:`pcd-update` with
eta = 0, written the way a careful NumPy user would: every array carries the replica axis first, so
each product of the step is one ``np.matmul`` call over all R replicas, and the standard normals of
one step come from one ``numpy.random.Generator`` in two batched calls. Work buffers are allocated
once per call and reused with ``out=``, so the loop allocates nothing per step. It is meant to be a
fair competitor, not a strawman: no Python loop over replicas or chains.

It deliberately differs from the kernel in two ways, both in the baseline's favour:
it does not check for divergence (:eq:`rbm-kernel`; the kernel tests positivity of mu^2 - sigma_h^2
W^T W by a Cholesky factorisation after every step), and its stream of normals is shared
by all replicas (so its results depend on R, unlike the kernel's one generator per replica).
"""

from __future__ import annotations

import numpy as np


def pcd_steps_numpy(
    W: np.ndarray,
    phi: np.ndarray,
    rng: np.random.Generator,
    c_target: np.ndarray,
    lr: float,
    mu: float,
    sigma_h: float,
    k: int,
    steps: int,
) -> None:
    """Advance R Gaussian RBMs by ``steps`` PCD steps in place :eq:`rbm-hidden-given-visible` to
    :eq:`pcd-update`.

    One step, per replica, with B persistent chains (rows of phi):

        h   = sigma_h^2 phi W^T + sigma_h eps               :eq:`rbm-hidden-given-visible`
        k x: phi = h W / mu^2 + eps / mu                    :eq:`rbm-visible-given-hidden`
             h   = sigma_h^2 phi W^T + sigma_h eps          :eq:`rbm-hidden-given-visible`
                                                        (not after the last phi)
        C_model = phi^T phi / B
        W  += lr sigma_h^2 W (C_target - C_model)           :eq:`pcd-update`

    Args:
        W: (R, N_h, N_v) C-contiguous float64 weights, updated in place.
        phi: (R, B, N_v) C-contiguous float64 persistent chains, updated in place.
        rng: the one Generator all normals are drawn from.
        c_target: (N_v, N_v) target covariance K_phi^-1 :eq:`pcd-update` (analytic-target mode).
        lr, mu, sigma_h, k: learning rate, model parameters :eq:`rbm-action`, Gibbs sweeps per
        step. steps: number of PCD steps.
    """
    n_rep, n_hid, n_vis = W.shape
    batch = phi.shape[1]
    s2 = sigma_h * sigma_h
    rate = lr * s2
    scaled_target = rate * np.asarray(c_target, dtype=np.float64)

    # All normals of one step in two calls: k hidden draws (one before the sweeps, k - 1
    # inside) and k visible draws. Few large calls amortise NumPy's per-call overhead.
    eps_h = np.empty((k, n_rep, batch, n_hid))
    eps_phi = np.empty((k, n_rep, batch, n_vis))
    h = np.empty((n_rep, batch, n_hid))
    # The weights enter the Gibbs sweeps scaled and (for :eq:`rbm-hidden-given-visible`)
    # transposed; both scaled copies are made once per step, contiguous, rather than rescaling
    # every product.
    w_h = np.empty((n_rep, n_vis, n_hid))  # sigma_h^2 W^T
    w_phi = np.empty_like(W)  # W / mu^2
    # np.matmul on a transposed view goes through a slower path than on a contiguous
    # operand (measured ~1.4x at R = 256): copy phi^T once per step for C_model.
    phi_t = np.empty((n_rep, n_vis, batch))
    delta = np.empty((n_rep, n_vis, n_vis))
    dw = np.empty_like(W)
    w_t = W.transpose(0, 2, 1)
    phi_t_view = phi.transpose(0, 2, 1)

    for _ in range(steps):
        rng.standard_normal(out=eps_h)
        rng.standard_normal(out=eps_phi)
        if sigma_h != 1.0:  # a multiplication by one would be a wasted pass over the noise
            eps_h *= sigma_h
        eps_phi *= 1.0 / mu
        np.multiply(w_t, s2, out=w_h)
        np.multiply(W, 1.0 / (mu * mu), out=w_phi)

        np.matmul(phi, w_h, out=h)  # :eq:`rbm-hidden-given-visible`
        h += eps_h[0]
        for j in range(k):
            # :eq:`rbm-visible-given-hidden`; the chains keep the final phi
            np.matmul(h, w_phi, out=phi)
            phi += eps_phi[j]
            if j + 1 < k:
                np.matmul(phi, w_h, out=h)  # :eq:`rbm-hidden-given-visible`
                h += eps_h[j + 1]

        # delta = lr s2 (C_target - phi^T phi / B), then :eq:`pcd-update`: W += W delta.
        np.copyto(phi_t, phi_t_view)
        np.matmul(phi_t, phi, out=delta)
        delta *= -rate / batch
        delta += scaled_target
        np.matmul(W, delta, out=dw)
        W += dw


# Up to this N the symmetric noise is built by one matmul with a scatter matrix (the fastest
# way at N = 2 and 10). Beyond it that matrix, N (N + 1) / 2 x N^2 doubles, and its O(N^4)
# product would dominate the step (at N = 30: 3.3 MB, and 0.8 Mflop per replica against the
# 2 N^3 = 54 kflop of the step), so the packed draws are written to their two places by
# indexing, O(N^2).
_SCATTER_MAX_N = 10


def _noise_scatter(n: int, scale: float) -> tuple[np.ndarray, int]:
    """(m, n n) matrix taking the m = n (n + 1) / 2 packed normals of a symmetric noise
    matrix to its n n entries, off-diagonal times scale, diagonal times sqrt(2) scale: one
    matmul then builds the noise of all replicas (faster than fancy indexing at small n)."""
    rows, cols = np.triu_indices(n)
    scatter = np.zeros((rows.size, n * n))
    for q, (i, j) in enumerate(zip(rows, cols, strict=True)):
        value = scale * (np.sqrt(2.0) if i == j else 1.0)
        scatter[q, i * n + j] = value
        scatter[q, j * n + i] = value
    return scatter, rows.size


class _SymmetricNoise:
    """Symmetric noise matrices of R replicas from packed standard normals: off-diagonal
    N(0, scale^2), diagonal N(0, 2 scale^2), written into a (R, n n) array.

    Small n: one matmul with :func:`_noise_scatter`. Larger n: the packed draws, scaled by
    a per-entry factor, written to the upper and the lower triangle by flat indices.
    ``by_index`` forces one way (default: the scatter matmul up to n = _SCATTER_MAX_N).
    """

    def __init__(self, n: int, scale: float, by_index: bool | None = None):
        rows, cols = np.triu_indices(n)
        self.m = rows.size
        self.small = n <= _SCATTER_MAX_N if by_index is None else not by_index
        if self.small:
            self.scatter, _ = _noise_scatter(n, scale)
        else:
            self.factor = np.where(rows == cols, np.sqrt(2.0) * scale, scale)
            self.upper = rows * n + cols
            self.lower = cols * n + rows

    def fill(self, packed: np.ndarray, out: np.ndarray) -> None:
        """Write the noise of the (R, m) standard normals ``packed`` (scaled in place when
        n is large) into ``out`` (R, n n)."""
        if self.small:
            np.matmul(packed, self.scatter, out=out)
            return
        packed *= self.factor
        out[:, self.upper] = packed
        out[:, self.lower] = packed


def teacher_student_steps_numpy(
    W: np.ndarray,
    teachers: np.ndarray,
    rng: np.random.Generator,
    lr: float,
    noise: float,
    batch_size: int,
    steps: int,
) -> None:
    """Advance R teacher-student replicas (W (R, N, N)) by ``steps`` steps in place
    :eq:`ts-update`.

    Replica-batched, drawing its inputs explicitly as a NumPy user would:

        x_b ~ N(0, 1_N), C_B = (1/B) sum_b x_b x_b^T            (B N normals per replica)
        Xi_B symmetric, off-diagonal N(0, 1/B), diagonal N(0, 2/B)  (drawn directly)
        W  += lr [ ((W_T - W) C_B + C_B (W_T - W)) / 2 + A Xi_B ]

    (W_T - W) C_B + C_B (W_T - W) is G + G^T with G = (W_T - W) C_B (both symmetric).
    """
    n_rep, n, _ = W.shape
    symmetric = _SymmetricNoise(n, lr * noise / np.sqrt(batch_size))
    m = symmetric.m
    inputs = np.empty((n_rep, batch_size, n))
    packed = np.empty((n_rep, m))
    xi = np.empty((n_rep, n * n))
    cov = np.empty((n_rep, n, n))
    grad = np.empty((n_rep, n, n))
    for _ in range(steps):
        rng.standard_normal(out=inputs)
        np.matmul(inputs.transpose(0, 2, 1), inputs, out=cov)  # B C_B
        rng.standard_normal(out=packed)
        symmetric.fill(packed, xi)  # lr A Xi_B
        np.subtract(teachers, W, out=grad)
        np.matmul(grad, cov, out=grad)
        grad += grad.transpose(0, 2, 1)
        grad *= 0.5 * lr / batch_size
        W += grad
        W += xi.reshape(n_rep, n, n)


def dyson_steps_numpy(
    levels: np.ndarray,
    targets: np.ndarray,
    rng: np.random.Generator,
    lr: float,
    noise: float,
    batch_size: int,
    steps: int,
) -> None:
    """Advance R replicas of the eigenvalue-level Dyson motion (levels (R, N)) in place
    :eq:`dyson-bm`.

    Linear drift; each step re-diagonalises diag(x + lr (kappa - x)) + (lr g / sqrt(B)) H
    with ``np.linalg.eigvalsh`` over the stack of R matrices.
    """
    n_rep, n = levels.shape
    symmetric = _SymmetricNoise(n, lr * noise / np.sqrt(batch_size))
    m = symmetric.m
    packed = np.empty((n_rep, m))
    matrix = np.empty((n_rep, n * n))
    diagonal = np.arange(n) * (n + 1)
    for _ in range(steps):
        rng.standard_normal(out=packed)
        symmetric.fill(packed, matrix)
        matrix[:, diagonal] += levels + lr * (targets - levels)
        levels[:] = np.linalg.eigvalsh(matrix.reshape(n_rep, n, n))
