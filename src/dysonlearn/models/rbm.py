"""The Gaussian RBM as an ensemble model: initial state and PCD training (SPEC B)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..config import RBMConfig

# Measured on the reference machines: about 3.5 ns a standard normal (ziggurat, SFC64).
_SECONDS_PER_NORMAL = 3.5e-9


@dataclass
class RBMState:
    """Training state of R replicas: weights (R, N_h, N_v) and chains (R, B, N_v)."""

    weights: np.ndarray
    chains: np.ndarray


def initial_state(
    config: RBMConfig, generators: list[np.random.Generator], shared=None
) -> RBMState:
    """W_ij ~ N(0, sigma_w^2) [B.4] and the chains' start, drawn from each replica's generator.

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
    return RBMState(weights, chains)


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
    covariance = config.target.covariance
    chol = np.linalg.cholesky(covariance) if config.target_mode == "sampled" else None
    kernels.rbm_pcd(
        state.weights, state.chains, generators, covariance,
        lr=config.lr, mu=config.mu, sigma_h=config.sigma_h, k=config.k,
        start=start, stop=stop, snapshot_steps=snapshot_steps, target_chol=chol,
        failed=failed, fail_step=fail_step, normal_method=normal_method, eigenvalues=eigenvalues,
        sampler=config.sampler,
    )  # fmt: skip


def final_weights(state: RBMState) -> np.ndarray:
    return state.weights


def cost_per_replica_step(config: RBMConfig) -> float:
    """Rough seconds per replica-step, for sizing blocks and progress chunks."""
    normals = kernels.rbm_normals_per_step(
        config.n_visible, config.n_hidden, config.batch_size, config.k,
        config.target_mode == "sampled", config.sampler,
    )  # fmt: skip
    nv, nh, nb = config.n_visible, config.n_hidden, config.batch_size
    flops = 2 * nb * nv * nh * (2 * config.k + 1)
    if config.sampler == "collapsed":
        flops = 2 * nv**3 * (2 * config.k + 1) + 4 * nb * nv * nv + 2 * nb * nv * nh
    return normals * _SECONDS_PER_NORMAL + flops * 2.5e-10


def bytes_per_replica(config: RBMConfig) -> float:
    """Memory of one replica's training state (the configuration's own estimate)."""
    return float(config.state_bytes_per_replica)
