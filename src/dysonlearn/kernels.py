"""Array-level access to the compiled kernels: advance user-owned state in place.

These functions are the one path from Python into ``dysonlearn._core``: ``run_ensemble``
calls them, and so can a custom training loop that wants to change the learning rate
between calls, anneal, or stop on its own criterion while the inner loop stays in C.

Shapes follow the package's axis order (replica, ..., mode):
    weights (R, N_h, N_v), chains (R, B, N_v), eigenvalues (R, S, N_v).
State arrays must be C-contiguous float64; they are updated in place, never copied.
Randomness: one NumPy BitGenerator (or Generator) per replica; the kernel consumes its
stream in a fixed documented order, so a replica's path depends only on its generator.
Standard normals are drawn by ``normal_method``: "ziggurat" (the package's branch-free
ziggurat, ``_core/dl_normal.h``, the default: less than half the cost of NumPy's) or
"numpy" (NumPy's own sampler: the kernel then consumes exactly the stream of
``numpy.random.Generator(bit_generator).standard_normal``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._core import random as _random
from ._core import rbm as _rbm

NORMAL_METHODS = ("ziggurat", "numpy")


def _state_array(name: str, array: np.ndarray, ndim: int, shape_doc: str) -> np.ndarray:
    if (
        not isinstance(array, np.ndarray)
        or array.dtype != np.float64
        or array.ndim != ndim
        or not array.flags.c_contiguous
        or not array.flags.writeable
    ):
        got = (
            f"{array.dtype} array of shape {array.shape}"
            if isinstance(array, np.ndarray)
            else type(array).__name__
        )
        raise ValueError(
            f"{name}: must be a writeable C-contiguous float64 array of shape {shape_doc} "
            f"(it is updated in place), got {got}"
        )
    return array


def bit_generators(generators: Sequence) -> list[np.random.BitGenerator]:
    """BitGenerators from a sequence of numpy Generators or BitGenerators."""
    out = []
    for i, g in enumerate(generators):
        if isinstance(g, np.random.Generator):
            g = g.bit_generator
        if not isinstance(g, np.random.BitGenerator):
            raise TypeError(
                f"generators[{i}]: expected a numpy Generator or BitGenerator, got {g!r}"
            )
        out.append(g)
    return out


def standard_normals(generator, n: int, normal_method: str = "ziggurat") -> np.ndarray:
    """n standard normals drawn from one generator exactly as the kernels draw them."""
    (bit_generator,) = bit_generators([generator])
    _check_normal_method(normal_method)
    return _random.standard_normals(bit_generator, int(n), normal_method)


def _check_normal_method(normal_method: str) -> None:
    if normal_method not in NORMAL_METHODS:
        raise ValueError(
            f"normal_method: must be one of {', '.join(map(repr, NORMAL_METHODS))}, "
            f"got {normal_method!r}"
        )


def rbm_normals_per_step(
    n_visible: int, n_hidden: int, batch_size: int, k: int, sampled_target: bool = False
) -> int:
    """Standard normals one PCD step of one replica draws: k B (N_v + N_h) [+ B N_v]."""
    return _rbm.normals_per_step(n_visible, n_hidden, batch_size, k, sampled_target)


def rbm_pcd(
    weights: np.ndarray,
    chains: np.ndarray,
    generators: Sequence,
    c_target: np.ndarray,
    *,
    lr: float,
    mu: float,
    sigma_h: float = 1.0,
    k: int = 3,
    stop: int,
    start: int = 0,
    snapshot_steps: Sequence[int] | np.ndarray = (),
    target_chol: np.ndarray | None = None,
    failed: np.ndarray | None = None,
    fail_step: np.ndarray | None = None,
    normal_method: str = "ziggurat",
) -> np.ndarray:
    """Train R Gaussian RBMs by PCD from step ``start`` to ``stop``, in place [B.2]-[B.6].

    Args:
        weights: (R, N_h, N_v) weights W, updated in place.
        chains: (R, B, N_v) persistent visible chains, updated in place.
        generators: R numpy Generators or BitGenerators, one per replica.
        c_target: (N_v, N_v) target covariance K_phi^-1 (analytic-target mode).
        lr, mu, sigma_h, k: learning rate, model parameters [B.1], Gibbs sweeps per step.
        stop, start: the steps start+1 .. stop are taken.
        snapshot_steps: increasing steps; the spectrum of sigma_h^2 W^T W is recorded at
            every one of them within [start, stop].
        target_chol: (N_v, N_v) lower Cholesky factor of c_target: switches to
            sampled-target mode (B fresh target samples per step).
        failed, fail_step: (R,) uint8 and int64 divergence flags, updated in place;
            replicas already flagged are skipped. Fresh ones are made if None.
        normal_method: "ziggurat" (default) or "numpy", see the module docstring.

    Returns:
        eigenvalues (R, S, N_v): ascending spectra at the snapshots, NaN where a snapshot
        lies outside [start, stop] or after the replica diverged.
    """
    weights = _state_array("weights", weights, 3, "(R, N_h, N_v)")
    chains = _state_array("chains", chains, 3, "(R, B, N_v)")
    n_rep, _, n_vis = weights.shape
    gens = bit_generators(generators)
    steps = np.ascontiguousarray(snapshot_steps, dtype=np.int64).reshape(-1)
    if np.any(np.diff(steps) <= 0):
        raise ValueError(f"snapshot_steps: must be strictly increasing, got {steps.tolist()}")
    failed = np.zeros(n_rep, np.uint8) if failed is None else failed
    fail_step = np.full(n_rep, -1, np.int64) if fail_step is None else fail_step
    for name, arr, dtype in (("failed", failed, np.uint8), ("fail_step", fail_step, np.int64)):
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.shape != (n_rep,):
            raise ValueError(f"{name}: must be a {np.dtype(dtype)} array of shape ({n_rep},)")
    _check_normal_method(normal_method)
    c_target = np.ascontiguousarray(c_target, dtype=np.float64)
    chol = None if target_chol is None else np.ascontiguousarray(target_chol, dtype=np.float64)
    eigenvalues = np.full((n_rep, steps.size, n_vis), np.nan)
    _rbm.pcd_advance(
        weights, chains, gens, c_target, chol, float(lr), float(mu), float(sigma_h), int(k),
        int(start), int(stop), steps, eigenvalues, failed, fail_step, normal_method,
    )  # fmt: skip
    return eigenvalues


def rbm_pcd_step_given_normals(
    weights: np.ndarray,
    chains: np.ndarray,
    normals: np.ndarray,
    c_target: np.ndarray,
    *,
    lr: float,
    mu: float,
    sigma_h: float = 1.0,
    k: int = 3,
    target_chol: np.ndarray | None = None,
) -> int:
    """One PCD step of one replica (weights (N_h, N_v), chains (B, N_v)) with given normals.

    The arithmetic of :func:`rbm_pcd` exactly, with the standard normals supplied in the
    kernel's order: eps_h (B, N_h); for j < k: eps_phi (B, N_v) and, if j < k - 1,
    eps_h (B, N_h); in sampled mode then z (B, N_v). Returns 0 (ok), 1 (W not finite) or
    2 (max eigenvalue of sigma_h^2 W^T W >= mu^2).
    """
    weights = _state_array("weights", weights, 2, "(N_h, N_v)")
    chains = _state_array("chains", chains, 2, "(B, N_v)")
    normals = np.ascontiguousarray(normals, dtype=np.float64).reshape(-1)
    chol = None if target_chol is None else np.ascontiguousarray(target_chol, dtype=np.float64)
    return _rbm.pcd_step_given_normals(
        weights, chains, normals, np.ascontiguousarray(c_target, dtype=np.float64), chol,
        float(lr), float(mu), float(sigma_h), int(k),
    )  # fmt: skip
