"""The eigenvalue-level Dyson Brownian motion as an ensemble model (:eq:`dyson-bm`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .. import kernels
from ..config import DysonConfig
from .base import Labels, Model

# Escape bound of the linear drift: a level beyond ESCAPE_FACTOR times the configuration's
# scale (see escape_bound) has diverged. 1e6 for the reasons given in
# models/teacher_student.py, whose levels these are (:eq:`ts-mean-spacing`); here the argument is
# even simpler, because the noise is additive: for 0 < lr < 2 the drift contracts x - kappa by
# |1 - lr| < 1 each step and the noise matrix moves the levels by at most its norm
# (Weyl), so the levels stay within a few stationary widths of kappa once they have relaxed
# from the start, and the Gaussian tails make 1e6 times the scale unreachable. Only lr >= 2
# (no stationary state: each step multiplies x - kappa by |1 - lr| >= 1) gets there. The RBM
# drift needs no bound: its levels live in [0, mu^2) and leaving it is divergence already.
ESCAPE_FACTOR = 1e6


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
        else:  # the RBM's X = W^T W at initialisation :eq:`rbm-kernel`
            levels[r] = np.clip(np.linalg.eigvalsh(draw.T @ draw), 0.0, None)
    return DysonState(levels)


def advance(
    config: DysonConfig, state: DysonState, generators: list, start: int, stop: int,
    snapshot_steps: np.ndarray, eigenvalues: np.ndarray, failed: np.ndarray,
    fail_step: np.ndarray, normal_method: str = "ziggurat",
) -> None:  # fmt: skip
    """Advance from ``start`` to ``stop`` in place; fill the snapshots in that span.

    A replica whose levels leave the finite numbers, :func:`escape_bound` (linear drift) or
    [0, mu^2) (RBM drift) is flagged in ``failed`` / ``fail_step`` and skipped from then on.
    """
    kernels.dyson(
        state.levels, config.level_targets, generators, lr=config.lr, noise=config.noise,
        batch_size=config.batch_size, start=start, stop=stop, drift=config.drift,
        mu=config.mu or 0.0, snapshot_steps=snapshot_steps, failed=failed,
        fail_step=fail_step, normal_method=normal_method, eigenvalues=eigenvalues,
        bound=escape_bound(config),
    )  # fmt: skip


def escape_bound(config: DysonConfig) -> float | None:
    """The magnitude of a level beyond which a replica has diverged (linear drift).

    ``ESCAPE_FACTOR`` (1e6, the module's comment says why) times the configuration's scale
    ``max(1, max |kappa|, start, g sqrt(N), 2 sqrt(N) sigma)``: the targets, the largest
    starting level (``max |init_levels|``, or the semicircle edge ``2 sqrt(N) init_std`` of
    the random start), the noise g and the spread of N repelling levels of width sigma
    :eq:`level-width` (left out at lr >= 2, where no stationary state exists).

    Parameters
    ----------
    config : DysonConfig
        The configuration being trained.

    Returns
    -------
    float or None
        The bound passed to :func:`dysonlearn.kernels.dyson`; None for the "rbm" drift
        (whose domain [0, mu^2) is checked instead) or when the bound is not finite.
    """
    if config.drift != "linear":
        return None
    root_n = math.sqrt(config.n_modes)
    if config.init_levels is not None:
        start = float(np.max(np.abs(np.asarray(config.init_levels, dtype=np.float64))))
    else:
        start = 2.0 * root_n * float(config.init_std)
    scales = [1.0, float(np.max(np.abs(config.level_targets))), start,
              root_n * float(config.noise)]  # fmt: skip
    if config.lr < 2:
        scales.append(2.0 * root_n * float(np.max(config.level_widths)))
    bound = ESCAPE_FACTOR * max(scales)
    return bound if math.isfinite(bound) else None


def final_levels(state: DysonState) -> np.ndarray:
    """The levels (R, N) of the trained replicas, ascending (what ``keep_weights`` keeps)."""
    return state.levels


# The cost model of cost_per_replica_step sizes blocks and progress chunks: rough estimates,
# not measurements (``dysonlearn run --dry-run`` times a short run on the machine at hand).
# The coefficients were set with the Dyson kernel (commit 85626ed) from timings on the
# development machine (one core); no benchmark records them. Seconds:
SECONDS_PER_NORMAL = 4e-9  # per normal of the N (N + 1) / 2 of a GOE-like noise matrix
SECONDS_PER_STEP_CLOSED_FORM = 2e-8  # a step of N <= 2 levels (eigenvalues in closed form)
SECONDS_PER_EIGEN_CUBE = 1e-9  # per N^3 of the symmetric eigenproblem of a step (N > 2)
SECONDS_PER_EIGEN_CALL = 2e-6  # the fixed cost of that LAPACK call


def cost_per_replica_step(config: DysonConfig) -> float:
    """Rough seconds per replica-step, for sizing blocks and progress chunks."""
    n = config.n_modes
    if n <= 2:
        step = SECONDS_PER_STEP_CLOSED_FORM
    else:
        step = SECONDS_PER_EIGEN_CUBE * n**3 + SECONDS_PER_EIGEN_CALL
    return SECONDS_PER_NORMAL * n * (n + 1) / 2 + step


class Dyson(Model):
    """The eigenvalue-level Dyson Brownian motion :eq:`dyson-bm`: its levels are the spectrum.

    The "linear" drift is the teacher-student model's (levels at kappa, q = A^2); the "rbm"
    drift is the RBM's :eq:`fp-drift` (levels at x* = mu^2 - kappa, curvature c = 2 x* / kappa^2
    :eq:`rbm-restoring-rate`, so that :eq:`level-width` gives q = A^2 kappa^2 / (2 x*)).
    """

    kind = DysonConfig.kind
    config_class = DysonConfig
    name = "Dyson"

    # The module's functions are the model's members (documented on Model).
    initial_state = staticmethod(initial_state)
    advance = staticmethod(advance)
    final_state = staticmethod(final_levels)
    cost_per_replica_step = staticmethod(cost_per_replica_step)

    def level_kappas(self, config):
        """The kappa that drives each sorted level (``config.level_targets``)."""
        return config.level_targets

    def scale_factor(self, config, level, kappa):
        """q = A^2 (linear drift); A^2 kappa^2 / (2 x*) for the RBM drift (:eq:`level-width` with c
        = 2 x* /
        kappa^2)."""
        if config.drift == "rbm":
            return config.noise**2 * kappa**2 / (2 * level)
        return config.noise**2

    def finite_lr_factors(self, config):
        """f_i = 1 / sqrt(1 - alpha c_i / 2) with c_i = V''(x*_i): 1 (linear drift),
        2 x* / kappa^2 (RBM drift)."""
        with np.errstate(divide="ignore", invalid="ignore"):  # NaN where alpha c >= 2
            factors = 1 / np.sqrt(1 - config.lr * config._curvature() / 2)
        return np.where(np.isfinite(factors), factors, np.nan)

    def relaxation_rates(self, config):
        """The curvature c_i of the drift at each level: 1 (linear drift), 2 x* / kappa^2
        (RBM drift, :eq:`rbm-restoring-rate`)."""
        return np.asarray(config._curvature(), dtype=np.float64)

    labels = Labels(
        eigenvalue_label=r"level $x$",
        eigenvalue_text="levels of the Dyson Brownian motion, ascending",
        kappa_text="target levels (kappa)",
        state_text="final levels of each replica",
        state_axes=("replica", "mode"),
    )

    def labels_for(self, config):
        """The RBM drift settles at x* = mu^2 - kappa, and its scaling variable has
        A^2 kappa^2 / (2 x*) in place of A^2."""
        if config.drift == "rbm":
            return replace(
                self.labels,
                level_label=r"$x^*=\mu^2-\kappa$",
                scale_label=r"$\sqrt{\alpha A^2\kappa^2/(2x^*B)}$",
                scale_text="sqrt(alpha A^2 kappa^2 / (2 x* B))",
                level_text="the stationary level of x_i: x*_i = mu^2 - kappa_i",
            )
        return self.labels


MODEL = Dyson()

