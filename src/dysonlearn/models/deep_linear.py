"""The deep linear teacher-student model as an ensemble model (:doc:`/theory/deep_linear`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..config import DeepLinearConfig
from .base import Labels, Model, Record, optimizer_rate_factor, with_optimizer_rate

# Escape bound: a replica with a weight beyond ESCAPE_FACTOR times the configuration's scale
# max(1, max kappa, init_std, A) has diverged. As for the teacher-student model (see
# models/teacher_student.py): the layers start within 10 init_std, balanced layers at the
# teacher carry singular values kappa^(1/L) <= max(1, kappa), and the stationary
# fluctuations are of order sqrt(lr / B) A; 1e6 times the largest of these is never reached
# by a replica that learns, and is reached within a few dozen steps by one whose dynamics
# expand (lr too large for the curvature :eq:`dl-curvature`), long before overflow.
ESCAPE_FACTOR = 1e6


@dataclass
class DeepLinearState:
    """The block's layers (R, n_weights), each replica's W_1 .. W_L row-major one after the
    other; the teacher (n_L, n_0), shared; the optimiser's (R, size) state (None for SGD)."""

    weights: np.ndarray
    teacher: np.ndarray
    opt_state: np.ndarray | None = None


def initial_state(config: DeepLinearConfig, generators: list, shared=None) -> DeepLinearState:
    """Per replica, from its own generator: every entry of every layer N(0, init_std^2), in
    the order of the weight vector (W_1 row-major first); with ``init = "balanced"`` added
    to the teacher's balanced factorisation (the same draws)."""
    weights = np.empty((len(generators), config.n_weights))
    for r, rng in enumerate(generators):
        weights[r] = rng.normal(0.0, config.init_std, config.n_weights)
    if config.init == "balanced":
        weights += np.concatenate([layer.ravel() for layer in config.balanced_layers])
    opt_state = None
    if config.optimizer.state_size(1) != 0:
        opt_state = kernels.optimizer_state(config.optimizer, weights.shape)
    return DeepLinearState(weights, config.teacher_matrix, opt_state)


def advance(
    config: DeepLinearConfig, state: DeepLinearState, generators: list, start: int,
    stop: int, snapshot_steps: np.ndarray, eigenvalues: np.ndarray, failed: np.ndarray,
    fail_step: np.ndarray, normal_method: str = "ziggurat", records: dict | None = None,
) -> None:  # fmt: skip
    """Train from ``start`` to ``stop`` in place; fill the snapshots in that span: the
    end-to-end singular values into ``eigenvalues`` and, when ``records`` holds them
    (:func:`records`), each layer's.

    A replica whose layers leave the finite numbers or :func:`escape_bound` is flagged in
    ``failed`` / ``fail_step`` at that step and skipped from then on.
    """
    layers = None
    if records:
        layers = [records[name] for name in layer_record_names(config)]
    kernels.deep_linear(
        state.weights, state.teacher, generators, widths=config.widths, lr=config.lr,
        noise=config.noise, batch_size=config.batch_size, start=start, stop=stop,
        sampler=config.sampler, snapshot_steps=snapshot_steps, failed=failed,
        fail_step=fail_step, normal_method=normal_method, eigenvalues=eigenvalues,
        bound=escape_bound(config), optimizer=config.optimizer, opt_state=state.opt_state,
        layer_eigenvalues=layers,
    )  # fmt: skip


# Each layer's singular values are kept as the record "layer_eigenvalues/<l>" (l = 1 .. L):
# in the store, one dataset per layer in the point's group "layer_eigenvalues".
LAYER_RECORD = "layer_eigenvalues/{}"


def layer_record_names(config: DeepLinearConfig) -> list[str]:
    """The names of the per-layer records, layer 1 first."""
    return [LAYER_RECORD.format(layer) for layer in range(1, len(config.widths))]


def records(config: DeepLinearConfig) -> dict:
    """Each layer's singular values at every snapshot: min(n_{l-1}, n_l) values of W_l,
    ascending."""
    widths = config.widths
    return {
        name: Record(min(widths[layer], widths[layer + 1]),
                     f"singular values of layer W_{layer + 1} ({widths[layer + 1]} x "
                     f"{widths[layer]}), ascending; NaN after the replica diverged",
                     "singular_value")
        for layer, name in enumerate(layer_record_names(config))
    }  # fmt: skip


def escape_bound(config: DeepLinearConfig) -> float | None:
    """The magnitude of a weight beyond which the replica has diverged.

    Parameters
    ----------
    config : DeepLinearConfig
        The configuration being trained.

    Returns
    -------
    float or None
        ``ESCAPE_FACTOR`` (1e6) times ``max(1, max kappa, init_std, A)``, kappa the teacher's
        singular values; None when that is not finite.
    """
    kappa = config.teacher_singular_values
    scale = max(1.0, float(np.max(kappa)) if kappa.size else 0.0, float(config.init_std),
                float(config.noise))  # fmt: skip
    bound = ESCAPE_FACTOR * scale
    return bound if math.isfinite(bound) else None


def final_layers(state: DeepLinearState) -> np.ndarray:
    """The layers (R, n_weights) of the trained replicas: W_1 .. W_L, each row-major, one
    after the other (``np.split`` at the cumulative sums of n_l n_{l-1} separates them)."""
    return state.weights


# The cost model of cost_per_replica_step sizes blocks and progress chunks: rough estimates
# from the kernel's timings on one core of the development machine (widths [4, 4, 4],
# B = 16: about 0.4 us a step; [10, 10, 10]: 1.9 us), not measurements of the machine at
# hand (``dysonlearn run --dry-run`` times a short run). Seconds:
SECONDS_PER_STEP = 1e-7  # the fixed cost of one step (call, bookkeeping, snapshot check)
SECONDS_PER_NORMAL = 3.5e-9  # per variate drawn (batch and noise)
SECONDS_PER_PRODUCT_FLOP = 1.5e-9  # per multiply-add of the 3 L - 1 products


def cost_per_replica_step(config: DeepLinearConfig) -> float:
    """Rough seconds per replica-step, for sizing blocks and progress chunks."""
    n0, nb = config.widths[0], config.batch_size
    batch = n0 * (n0 + 1) / 2 if config.sampler == "wishart" else nb * n0
    flops = n0 * n0 * config.widths[-1] + 3 * n0 * config.n_weights
    if config.sampler == "explicit":
        flops += nb * n0 * n0 / 2
    return (SECONDS_PER_NORMAL * (batch + config.n_weights)
            + SECONDS_PER_PRODUCT_FLOP * flops + SECONDS_PER_STEP)  # fmt: skip


class DeepLinear(Model):
    """The deep linear teacher-student model with noise added by hand
    (:doc:`/theory/deep_linear`): singular values of the end-to-end map W_L ... W_1.

    They settle at the teacher's singular values kappa with the width
    sigma = sqrt(lr A^2 / (2 B)) / sqrt(1 - lr lambda / 2) :eq:`dl-level-width`: q = A^2 / 2,
    slope sqrt(pi) against sqrt(lr q / B), for every depth.
    """

    kind = DeepLinearConfig.kind
    config_class = DeepLinearConfig
    name = "deep linear"

    initial_state = staticmethod(initial_state)
    advance = staticmethod(advance)
    final_state = staticmethod(final_layers)
    cost_per_replica_step = staticmethod(cost_per_replica_step)
    records = staticmethod(records)

    def scale_factor(self, config, level, kappa):
        """q = A^2 / 2 :eq:`dl-level-width` (the i.i.d. noise on a non-symmetric map puts
        half its variance into the symmetric part that moves the singular values); times
        1 / (1 - beta) under momentum :eq:`effective-lr`, NaN under Adam."""
        return with_optimizer_rate(config, config.noise**2 / 2)

    def finite_lr_factors(self, config):
        """f_i = 1 / sqrt(1 - lr lambda_i / 2), lambda_i :eq:`dl-curvature`; under momentum
        the heavy-ball (Nesterov) width over its small-lr limit sqrt(lr_eff A^2 / (2 B))
        :eq:`effective-lr` (NaN where :attr:`~dysonlearn.DeepLinearConfig.level_widths`
        is)."""
        small = math.sqrt(config.lr * optimizer_rate_factor(config) * config.noise**2
                          / (2 * config.batch_size))  # fmt: skip
        with np.errstate(invalid="ignore", divide="ignore"):
            return config.level_widths / small if small > 0 else np.full(config.n_modes, np.nan)

    def relaxation_rates(self, config):
        """lambda_i :eq:`dl-curvature` per unit t = lr * step; times 1 / (1 - beta) under
        momentum :eq:`effective-lr`, NaN under Adam."""
        return config.curvatures * optimizer_rate_factor(config)  # (SGD: times 1, exact)

    def point_figures(self, result):
        """Each layer's pairs of singular values against the Wigner surmise, when the
        teacher has a degenerate pair (:func:`~dysonlearn.plots.layer_spacing_figure`)."""
        from .. import analysis, plots

        if not analysis.layer_pair_fits(result):
            return []
        return [("layer_spacings", plots.layer_spacing_figure(result))]

    labels = Labels(
        level_symbol=r"\kappa",
        level_label=r"teacher $\kappa$",
        eigenvalue_label=r"singular value $x$ of $W_L \cdots W_1$",
        scale_label=r"$\sqrt{\alpha A^2/(2B)}$",
        scale_text="sqrt(alpha A^2 / (2 B))",
        eigenvalue_text="singular values of the end-to-end map W_L ... W_1, ascending",
        kappa_text="singular values of the teacher",
        level_text="the stationary level of x_i: x*_i = kappa_i",
        state_text="final layers W_1 ... W_L of each replica, row-major, concatenated",
        state_axes=("replica", "weight"),
    )


MODEL = DeepLinear()
