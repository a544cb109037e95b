"""The eigenvalue-level Dyson Brownian motion as an ensemble model ([A.4])."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..config import DysonConfig


@dataclass
class DysonState:
    """The levels of R replicas, (R, N), ascending."""

    levels: np.ndarray


def initial_state(
    config: DysonConfig, generators: list, shared: np.random.Generator | None = None
) -> DysonState:
    """The starting levels: given, or the spectrum of a small random matrix per replica."""
    n = config.n_modes
    if config.init_levels is not None:
        levels = np.sort(np.asarray(config.init_levels, dtype=np.float64))
        return DysonState(np.tile(levels, (len(generators), 1)))
    levels = np.empty((len(generators), n))
    for r, rng in enumerate(generators):
        draw = rng.normal(0.0, config.init_std, (n, n))
        if config.drift == "linear":
            levels[r] = np.linalg.eigvalsh(np.triu(draw) + np.triu(draw, 1).T)
        else:  # the RBM's X = W^T W at initialisation [B.4]
            levels[r] = np.clip(np.linalg.eigvalsh(draw.T @ draw), 0.0, None)
    return DysonState(levels)


def advance(
    config: DysonConfig, state: DysonState, generators: list, start: int, stop: int,
    snapshot_steps: np.ndarray, eigenvalues: np.ndarray, failed: np.ndarray,
    fail_step: np.ndarray, normal_method: str = "ziggurat",
) -> None:  # fmt: skip
    """Advance from ``start`` to ``stop`` in place; fill the snapshots in that span."""
    kernels.dyson(
        state.levels, config.level_targets, generators, lr=config.lr, noise=config.noise,
        batch_size=config.batch_size, start=start, stop=stop, drift=config.drift,
        mu=config.mu or 0.0, snapshot_steps=snapshot_steps, failed=failed,
        fail_step=fail_step, normal_method=normal_method, eigenvalues=eigenvalues,
    )  # fmt: skip


def final_weights(state: DysonState) -> np.ndarray:
    return state.levels


def cost_per_replica_step(config: DysonConfig) -> float:
    n = config.n_modes
    return 4e-9 * n * (n + 1) / 2 + (2e-8 if n <= 2 else 1e-9 * n**3 + 2e-6)


def bytes_per_replica(config: DysonConfig) -> float:
    return 8.0 * config.n_modes
