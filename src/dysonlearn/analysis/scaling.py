"""The linear scaling rule across a scan of (lr, B): SPEC A.4, B.5 and the article's Figs 6, 7.

For every degenerate pair of every scan point, <S> and sqrt(pi) sigma (sigma from the [A.10]
fit) are plotted against sqrt(lr f / B), with f = mu^2 - kappa (= x*) for the RBM [B.9] and
f = A^2 (the noise) for the teacher-student and linear Dyson models [C.3]. The Coulomb gas
says both are one straight line through the origin, common to all pairs and points, and
that <S> = sqrt(pi) sigma (slope 1) [A.8]. The learnt levels' centres drift with lr/B:
lambda_fit / kappa -> 1 as lr/B -> 0 (SPEC B.5).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np

from ..config import DysonConfig, RBMConfig
from .fits import SlopeFit, fit_gaussian, fit_semicircle2, fit_slope_through_origin, fit_wigner
from .spacings import degenerate_groups
from .statistics import binder_cumulant, jackknife


@dataclass(frozen=True)
class PairRow:
    lr: float
    batch_size: int
    noise: float | None
    modes: tuple[int, int]
    level: float  # x* of the pair
    scale: float  # sqrt(lr f / B)
    mean_spacing: float
    mean_spacing_err: float
    sigma: float
    sigma_err: float
    binder: float
    binder_err: float


@dataclass(frozen=True)
class LevelRow:
    """One level (a degenerate pair counts once) of one scan point."""

    lr: float
    batch_size: int
    noise: float | None
    ratio: float  # lr / B
    modes: tuple[int, ...]
    kappa: float
    lambda_fit: float
    lambda_fit_err: float

    @property
    def lambda_over_kappa(self) -> float:
        return self.lambda_fit / self.kappa


@dataclass(frozen=True)
class ScalingTable:
    """Rows per (scan point, pair) and per (scan point, level), and the common slopes."""

    pairs: tuple[PairRow, ...]
    levels: tuple[LevelRow, ...]
    spacing_slope: SlopeFit | None  # <S> against sqrt(lr f / B)
    width_slope: SlopeFit | None  # sqrt(pi) sigma against sqrt(lr f / B)
    spacing_vs_width: SlopeFit | None  # <S> against sqrt(pi) sigma: 1 expected [A.8]

    def to_dict(self) -> dict:
        def slope(fit):
            return None if fit is None else asdict(fit)

        levels = [
            asdict(row) | {"lambda_over_kappa": row.lambda_over_kappa} for row in self.levels
        ]
        return {
            "pairs": [asdict(row) for row in self.pairs],
            "levels": levels,
            "spacing_slope": slope(self.spacing_slope),
            "width_slope": slope(self.width_slope),
            "spacing_vs_width": slope(self.spacing_vs_width),
        }


def scale_factor(config, level: float, kappa: float) -> float:
    """f of the fit variable sqrt(lr f / B) for one level (see the module docstring)."""
    if isinstance(config, RBMConfig):
        return level
    if isinstance(config, DysonConfig) and config.drift == "rbm":
        return config.noise**2 * kappa**2 / (2 * level)  # [A.6] with c = 2 x* / kappa^2
    return config.noise**2


def level_kappas(config) -> np.ndarray:
    """kappa of each sorted learnt level: mu^2 - x* for the RBM, the level itself otherwise."""
    levels = config.stationary_levels
    if isinstance(config, RBMConfig):
        return config.mu**2 - levels
    if isinstance(config, DysonConfig):
        return config.level_targets
    return levels


def _lambda(config, x0: float) -> float:
    """The fitted eigenvalue of the learnt kernel: mu^2 - x0 for the RBM [B.4], else x0."""
    return config.mu**2 - x0 if isinstance(config, RBMConfig) else x0


def scaling_table(results, snapshots: int = 1) -> ScalingTable:
    """Fit every pair and level of every scan point; slopes common to all of them.

    results: EnsembleResults of one model over a scan of lr, B (and noise). The last
    ``snapshots`` snapshots of the surviving replicas are pooled.
    """
    pairs, levels = [], []
    for result in results:
        config = result.config
        late = np.asarray(result.eigenvalues)[:, -snapshots:, :]
        late = late[~np.asarray(result.failed, bool) & np.all(np.isfinite(late), axis=(1, 2))]
        if late.shape[0] < 3:
            warnings.warn(
                f"scaling_table: a point (lr={config.lr}, batch_size={config.batch_size}) has "
                f"{late.shape[0]} usable replicas; it is left out",
                stacklevel=2,
            )
            continue
        stationary = config.stationary_levels
        kappas = level_kappas(config)
        noise = getattr(config, "noise", None)
        for group in degenerate_groups(stationary):
            if len(group) == 2:
                i, j = group
                pooled = late[:, :, [i, j]]
                wigner = fit_wigner(late[:, :, j] - late[:, :, i])
                pair_fit = fit_semicircle2(pooled)
                binder, binder_err = jackknife(binder_cumulant, pooled,
                                               blocks=min(32, pooled.shape[0]))  # fmt: skip
                f = scale_factor(config, stationary[i], kappas[i])
                pairs.append(PairRow(
                    config.lr, config.batch_size, noise, (i, j), float(stationary[i]),
                    float(np.sqrt(config.lr * f / config.batch_size)), wigner.mean,
                    wigner.mean_err, pair_fit.sigma, pair_fit.sigma_err, binder, binder_err,
                ))  # fmt: skip
                fits = [((i, j), pair_fit)]
            else:
                fits = [((m,), fit_gaussian(late[:, :, m])) for m in group]
            for modes, fit in fits:
                levels.append(LevelRow(
                    config.lr, config.batch_size, noise, config.lr / config.batch_size,
                    modes, float(kappas[modes[0]]), float(_lambda(config, fit.x0)),
                    fit.x0_err,
                ))  # fmt: skip
    spacing = width = relation = None
    if pairs:
        scale = np.array([p.scale for p in pairs])
        s, s_err = (
            np.array([p.mean_spacing for p in pairs]),
            np.array([p.mean_spacing_err for p in pairs]),
        )
        w = np.sqrt(np.pi) * np.array([p.sigma for p in pairs])
        w_err = np.sqrt(np.pi) * np.array([p.sigma_err for p in pairs])
        spacing = fit_slope_through_origin(scale, s, s_err)
        width = fit_slope_through_origin(scale, w, w_err)
        relation = fit_slope_through_origin(w, s, np.hypot(s_err, w_err))
    return ScalingTable(tuple(pairs), tuple(levels), spacing, width, relation)
