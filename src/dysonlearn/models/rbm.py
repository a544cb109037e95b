"""The Gaussian RBM as an ensemble model: initial state and PCD training (:doc:`/theory/rbm`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..config import RBMConfig
from .base import Labels, Model, optimizer_rate_factor, with_optimizer_rate

# The cost model of cost_per_replica_step sizes blocks and progress chunks: a rough estimate,
# not a measurement (``dysonlearn run --dry-run`` times a short run on the machine at hand).
# Its two rates were set with the first RBM kernel (commit 8c94f39) from timings on the
# development machine (one core); no benchmark records them, and asv's benchmark_rbm.py
# is where to re-derive them.
# - Seconds per standard normal drawn (ziggurat, SFC64): about 3.5 ns.
SECONDS_PER_NORMAL = 3.5e-9
# - Seconds per flop of the small dense products of a PCD step: about 0.25 ns (BLAS on
#   N ~ 10 matrices runs far below its peak).
SECONDS_PER_FLOP = 2.5e-10


@dataclass
class RBMState:
    """Training state of R replicas: weights (R, N_h, N_v), chains (R, B, N_v) and the
    optimiser's state (R, size), None for SGD (see :func:`dysonlearn.kernels.optimizer_state`).

    With the "gibbs-eigen" sampler the three are held in the eigenbasis of the target
    covariance C_target = U diag(levels) U^T: W U, Phi U and the state of W U (``basis``
    = U, ``levels`` its eigenvalues, ascending); :func:`final_weights` rotates them back.
    Otherwise ``basis`` and ``levels`` are None and the state is in the visible basis.
    """

    weights: np.ndarray
    chains: np.ndarray
    opt_state: np.ndarray | None = None
    basis: np.ndarray | None = None
    levels: np.ndarray | None = None


def _rotate(state: RBMState, rotation: np.ndarray) -> None:
    """Right-multiply the visible index of weights, chains and optimiser state by
    ``rotation``, in place: W -> W rotation, Phi -> Phi rotation (the optimiser's state is one
    or more arrays shaped like W, all rotating with it: only rotation-equivariant
    optimisers are allowed with "gibbs-eigen")."""
    n_rep, _, nv = state.weights.shape
    arrays = [state.weights, state.chains]
    if state.opt_state is not None:
        arrays.append(state.opt_state.reshape(n_rep, -1, nv))
    with np.errstate(invalid="ignore", over="ignore"):  # a diverged replica's W is not finite
        for array in arrays:
            for replica in array:  # one replica at a time: a copy of one, not of the block
                np.matmul(replica.copy(), rotation, out=replica)


def initial_state(
    config: RBMConfig, generators: list[np.random.Generator], shared=None
) -> RBMState:
    """W_ij ~ N(0, sigma_w^2) :eq:`rbm-kernel` and the chains' start, drawn from each replica's
    generator.

    Drawing from the replica's own stream keeps every replica a function of its seed alone.
    """
    n_rep = len(generators)
    nh, nv, nb = config.n_hidden, config.n_visible, config.batch_size
    sigma_w = float(np.sqrt(config.init_variance))
    weights = np.empty((n_rep, nh, nv))
    chains = np.empty((n_rep, nb, nv))
    chol = np.linalg.cholesky(config.target.covariance)
    for r, rng in enumerate(generators):
        weights[r] = rng.normal(0.0, sigma_w, size=(nh, nv))
        match config.chain_init:
            case "ones":
                chains[r] = 1.0
            case "zeros":
                chains[r] = 0.0
            case "normal":
                chains[r] = rng.normal(0.0, 1.0 / config.mu, size=(nb, nv))
            case "target":
                chains[r] = rng.standard_normal((nb, nv)) @ chol.T
    state = RBMState(weights, chains, _optimizer_state(config, weights))
    if config.sampler == "gibbs-eigen":
        # Rotated once per replica, here: the run then never leaves the eigenbasis, so its
        # bits do not depend on how it is cut into chunks (ensemble module docstring).
        state.levels, state.basis = np.linalg.eigh(config.target.covariance)
        _rotate(state, state.basis)
    return state


def _optimizer_state(config, weights: np.ndarray) -> np.ndarray | None:
    """The optimiser's state at step 0 (zeros; None for SGD, which keeps none)."""
    if config.optimizer.state_size(1) == 0:
        return None
    return kernels.optimizer_state(config.optimizer, weights.shape)


def advance(
    config: RBMConfig,
    state: RBMState,
    generators: list,
    start: int,
    stop: int,
    snapshot_steps: np.ndarray,
    eigenvalues: np.ndarray,
    failed: np.ndarray,
    fail_step: np.ndarray,
    normal_method: str = "ziggurat",
) -> None:
    """Train from ``start`` to ``stop`` in place; fill the snapshots that fall in that span."""
    sampled = config.target_mode == "sampled"
    if state.basis is None:
        covariance = config.target.covariance
        chol = np.linalg.cholesky(covariance) if sampled else None
    else:
        # In the eigenbasis C_target is diag(levels), its Cholesky factor diag(sqrt(levels)).
        covariance = np.diag(state.levels)
        chol = np.diag(np.sqrt(state.levels)) if sampled else None
    kernels.rbm_pcd(
        state.weights, state.chains, generators, covariance,
        lr=config.lr, mu=config.mu, sigma_h=config.sigma_h, k=config.k,
        start=start, stop=stop, snapshot_steps=snapshot_steps, target_chol=chol,
        failed=failed, fail_step=fail_step, normal_method=normal_method, eigenvalues=eigenvalues,
        sampler=config.sampler, optimizer=config.optimizer, opt_state=state.opt_state,
    )  # fmt: skip


def final_weights(state: RBMState) -> np.ndarray:
    """The weights W (R, N_h, N_v) of the trained replicas, in the visible basis.

    A state held in the target's eigenbasis ("gibbs-eigen") is rotated back first, in
    place (weights, chains and optimiser state), and is in the visible basis afterwards.
    """
    if state.basis is not None:
        _rotate(state, state.basis.T)
        state.basis = state.levels = None
    return state.weights


def cost_per_replica_step(config: RBMConfig) -> float:
    """Rough seconds per replica-step, for sizing blocks and progress chunks."""
    normals = kernels.rbm_normals_per_step(
        config.n_visible, config.n_hidden, config.batch_size, config.k,
        config.target_mode == "sampled", config.sampler,
    )  # fmt: skip
    nv, nh, nb = config.n_visible, config.n_hidden, config.batch_size
    flops = 2 * nb * nv * nh * (2 * config.k + 1)
    if config.sampler == "gibbs-eigen":
        flops = 2 * nb * nv * nh * (2 * config.k + 2)
    elif config.sampler == "collapsed":
        flops = 2 * nv**3 * (2 * config.k + 1) + 4 * nb * nv * nv + 2 * nb * nv * nh
    return normals * SECONDS_PER_NORMAL + flops * SECONDS_PER_FLOP



class RBM(Model):
    """The Gaussian RBM trained by PCD (:doc:`/theory/rbm`): spectra of sigma_h^2 W^T W.

    Its learnt levels settle at x* = mu^2 - kappa :eq:`rbm-kernel` with the width sqrt(2 lr x* / B)
    :eq:`rbm-level-width`: the scaling variable is sqrt(lr x* / B) (q = x*, slope sqrt(2 pi)).
    """

    kind = RBMConfig.kind
    config_class = RBMConfig
    name = "RBM"

    # The module's functions are the model's members (documented on Model).
    initial_state = staticmethod(initial_state)
    advance = staticmethod(advance)
    final_state = staticmethod(final_weights)
    cost_per_replica_step = staticmethod(cost_per_replica_step)

    def level_kappas(self, config):
        """kappa = mu^2 - x* of each sorted learnt level :eq:`rbm-kernel`."""
        return config.mu**2 - self.stationary_levels(config)

    def fitted_lambda(self, config, x0):
        """lambda_fit = mu^2 - x0 :eq:`rbm-kernel`."""
        return config.mu**2 - x0

    def scale_factor(self, config, level, kappa):
        """q = x* = mu^2 - kappa :eq:`rbm-level-width` (over 1 - beta under momentum,
        :eq:`effective-lr`)."""
        return with_optimizer_rate(config, level)

    def relaxation_rates(self, config):
        """omega_i = 2 x*_i / kappa_i^2 per unit t :eq:`rbm-restoring-rate` (over 1 - beta
        under momentum)."""
        x_star = np.asarray(config.stationary_levels, dtype=np.float64)
        kappa = np.asarray(self.level_kappas(config), dtype=np.float64)
        return 2 * x_star / kappa**2 * optimizer_rate_factor(config)

    def predicted_slope(self, config):
        return math.sqrt(2 * math.pi), r"prediction $\sqrt{2\pi}$"

    labels = Labels(
        level_label=r"$x^*=\mu^2-\kappa$",
        eigenvalue_label=r"eigenvalue $x$ of $\sigma_h^2 W^{T}W$",
        scale_label=r"$\sqrt{\alpha\,(\mu^2-\kappa)/B}$",
        scale_text="sqrt(alpha (mu^2 - kappa) / B)",
        slope_text="sqrt(2 pi) = 2.507",
        eigenvalue_text="eigenvalues of sigma_h^2 W^T W, ascending",
        kappa_text="eigenvalues of the target kernel K the RBM learns",
        level_text="the stationary level of x_i: x*_i = mu^2 - kappa_i",
        state_text="final weights W of each replica (hidden x visible)",
        state_axes=("replica", "hidden", "visible"),
    )

    def point_figures(self, result):
        """The initial spectrum against Marchenko-Pastur :eq:`marchenko-pastur`."""
        from .. import plots

        return [("marchenko_pastur", plots.marchenko_pastur_figure(result))]

    def scan_figures(self, results, snapshots=1):
        """The target spectrum and, when its slowest mode (largest kappa) has a stable level
        (0 < kappa < mu^2), that mode as a Fokker-Planck problem, of the first point."""
        from .. import plots
        from ..analysis.fokker_planck import FokkerPlanckMode

        config = results[0].config
        figures = [("target_spectrum", plots.target_spectrum(config.target, config.mu))]
        kappa = float(np.max(config.target.spectrum))
        if 0 < kappa < config.mu**2:
            mode = FokkerPlanckMode.from_training(kappa, config.mu, config.lr, config.batch_size)
            figures.append(("fokker_planck", plots.fokker_planck_figure(kappa, config.mu, mode.D)))
        return figures


MODEL = RBM()
