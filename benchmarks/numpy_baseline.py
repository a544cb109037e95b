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


class DeepLinearNumpy:
    """The replica-batched NumPy deep linear step :eq:`dl-update`: its buffers and arithmetic.

    The baseline of the deep linear kernel (``_core/deep_linear.pyx``), written as a careful
    NumPy user would: the replica axis first, each product of the step one ``np.matmul``
    over all R replicas, every buffer allocated once here and reused with ``out=``, no
    Python loop over replicas. Per step, with the inputs X (R, B, n_0) and the standard
    normals xi (R, n_weights) already in :attr:`inputs` and :attr:`noise`:

        C   = X^T X                       (B C_B; the 1 / B goes on the residual)
        F_1 = W_1, F_l = W_l F_{l-1}      (forward; M = F_L)
        E   = (M - M_T) C / B             (= P_L^T E)
        G_l = (P_l^T E) F_{l-1}^T,  P_{l-1}^T E = W_l^T (P_l^T E)   (l = L .. 2; G_1 = P_1^T E)
        W  -= lr (G + (A / sqrt(B)) xi)   (every layer at once, on the (R, n_weights) array)

    :eq:`dl-gradient`, every G_l at the weights before the step, as in the kernel. It
    differs from the kernel in three ways, none against the baseline: the inputs are drawn
    explicitly (B n_0 normals; the kernel's default draws C_B from its Wishart law,
    n_0 (n_0 + 1) / 2 variates), every normal of a step comes from one shared Generator in
    two calls (so the result depends on R, unlike the kernel's generator per replica), and
    there is no divergence check (the kernel compares every weight with its escape bound
    after every step) and no optimiser other than SGD.

    Parameters
    ----------
    widths : sequence of int
        n_0, ..., n_L.
    teacher : numpy.ndarray
        (n_L, n_0) the teacher M_T, shared by the replicas.
    replicas : int
        R.
    lr, noise, batch_size : float, float, int
        alpha, A and B of :eq:`dl-update`.
    """

    def __init__(self, widths, teacher, replicas, lr, noise, batch_size):
        self.widths = [int(n) for n in widths]
        self.n_layers = len(self.widths) - 1
        n0, n_rep = self.widths[0], int(replicas)
        sizes = [self.widths[i + 1] * self.widths[i] for i in range(self.n_layers)]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.teacher = np.ascontiguousarray(teacher, dtype=np.float64)
        self.lr, self.batch_size = float(lr), int(batch_size)
        self.noise_scale = float(noise) / np.sqrt(batch_size)
        self.inputs = np.empty((n_rep, self.batch_size, n0))
        self.noise = np.empty((n_rep, int(self.offsets[-1])))
        # np.matmul on a transposed view takes a slower path than on a contiguous operand
        # (measured 2.4x at (256, 4, 4), 1.4x for X^T X at B = 16): X^T, F_{l-1}^T and
        # W_l^T are copied into contiguous buffers first.
        self._inputs_t = np.empty((n_rep, n0, self.batch_size))
        self._forward_t = [None] + [np.empty((n_rep, n0, self.widths[l]))
                                    for l in range(1, self.n_layers)]  # fmt: skip
        self._layer_t = [None, None] + [np.empty((n_rep, self.widths[l - 1], self.widths[l]))
                                        for l in range(2, self.n_layers + 1)]  # fmt: skip
        self._cov = np.empty((n_rep, n0, n0))
        self._resid = np.empty((n_rep, self.widths[-1], n0))
        # F_l (l >= 2) and P_l^T E (l = 1 .. L), each (R, n_l, n_0); the noise buffer takes
        # each G_l added onto it, through a (R, n_l, n_{l-1}) view.
        self._forward = [None, None] + [np.empty((n_rep, self.widths[l], n0))
                                        for l in range(2, self.n_layers + 1)]  # fmt: skip
        self._back = [None] + [np.empty((n_rep, self.widths[l], n0))
                               for l in range(1, self.n_layers + 1)]  # fmt: skip
        self._grad = [None] + [np.empty((n_rep, self.widths[l], self.widths[l - 1]))
                               for l in range(1, self.n_layers + 1)]  # fmt: skip

    def layers(self, array: np.ndarray) -> list:
        """Views (R, n_l, n_{l-1}) of the layers of a (R, n_weights) array, l = 1 .. L."""
        n_rep = array.shape[0]
        return [array[:, self.offsets[l - 1]:self.offsets[l]].reshape(
                    n_rep, self.widths[l], self.widths[l - 1])
                for l in range(1, self.n_layers + 1)]  # fmt: skip

    def step(self, weights: np.ndarray) -> None:
        """One step of every replica in place, from :attr:`inputs` and :attr:`noise`
        (the noise buffer is overwritten)."""
        n_layers = self.n_layers
        w = [None, *self.layers(weights)]
        dw = [None, *self.layers(self.noise)]
        np.copyto(self._inputs_t, self.inputs.transpose(0, 2, 1))
        np.matmul(self._inputs_t, self.inputs, out=self._cov)  # B C_B
        f = [None, w[1]]
        for layer in range(2, n_layers + 1):
            f.append(np.matmul(w[layer], f[layer - 1], out=self._forward[layer]))
        np.subtract(f[n_layers], self.teacher, out=self._resid)
        self._resid *= 1.0 / self.batch_size
        back = np.matmul(self._resid, self._cov, out=self._back[n_layers])  # E
        self.noise *= self.noise_scale
        for layer in range(n_layers, 1, -1):
            grad = self._grad[layer]
            f_t = self._forward_t[layer - 1]
            np.copyto(f_t, f[layer - 1].transpose(0, 2, 1))
            np.matmul(back, f_t, out=grad)  # G_l
            dw[layer] += grad
            w_t = self._layer_t[layer]
            np.copyto(w_t, w[layer].transpose(0, 2, 1))
            back = np.matmul(w_t, back, out=self._back[layer - 1])
        dw[1] += back  # G_1 = P_1^T E
        self.noise *= self.lr
        weights -= self.noise


def deep_linear_steps_numpy(
    weights: np.ndarray,
    teacher: np.ndarray,
    rng: np.random.Generator,
    widths,
    lr: float,
    noise: float,
    batch_size: int,
    steps: int,
) -> None:
    """Advance R deep linear replicas (weights (R, n_weights), each row W_1 .. W_L
    row-major, as the kernel) by ``steps`` SGD steps :eq:`dl-update` in place.

    Each step draws the B n_0 inputs and the n_weights noise normals of every replica
    from ``rng`` in two calls, then takes :meth:`DeepLinearNumpy.step`.
    """
    stepper = DeepLinearNumpy(widths, teacher, weights.shape[0], lr, noise, batch_size)
    for _ in range(steps):
        rng.standard_normal(out=stepper.inputs)
        rng.standard_normal(out=stepper.noise)
        stepper.step(weights)
