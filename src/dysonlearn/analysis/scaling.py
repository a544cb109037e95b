"""The linear scaling rule across a scan of (lr, B): SPEC A.4, B.5 and the article's Figs 6, 7.

For every degenerate pair of every scan point, <S> and sqrt(pi) sigma (sigma from the [A.10]
fit) are plotted against sqrt(lr f / B), with f = mu^2 - kappa (= x*) for the RBM [B.9] and
f = A^2 (the noise) for the teacher-student and linear Dyson models [C.3]. The Coulomb gas
says both are one straight line through the origin, common to all pairs and points, and
that <S> = sqrt(pi) sigma (slope 1) [A.8]. The learnt levels' centres drift with lr/B:
lambda_fit / kappa -> 1 as lr/B -> 0 (SPEC B.5).

Diverged replicas are skipped; a scan point left with fewer than 3 usable replicas (all
diverged, say) gives no rows and is listed in ``ScalingTable.skipped`` with its counts.
"""

from __future__ import annotations

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
class SkippedPoint:
    """A scan point that gives no rows: too few usable replicas, or its fits failed."""

    lr: float
    batch_size: int
    noise: float | None
    replicas: int
    failed: int  # diverged
    usable: int  # neither diverged nor non-finite in the pooled snapshots
    reason: str


@dataclass(frozen=True)
class ScalingTable:
    """Rows per (scan point, pair) and per (scan point, level), and the common slopes.

    A slope is None when no rows (or no rows with a positive, finite error) are left to
    fit; ``skipped`` lists the scan points that gave no rows, and why.
    """

    pairs: tuple[PairRow, ...]
    levels: tuple[LevelRow, ...]
    spacing_slope: SlopeFit | None  # <S> against sqrt(lr f / B)
    width_slope: SlopeFit | None  # sqrt(pi) sigma against sqrt(lr f / B)
    spacing_vs_width: SlopeFit | None  # <S> against sqrt(pi) sigma: 1 expected [A.8]
    skipped: tuple[SkippedPoint, ...] = ()

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
            "skipped_points": [asdict(point) for point in self.skipped],
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


def _slope(x, y, err) -> SlopeFit | None:
    """fit_slope_through_origin over the rows it can use (finite, error > 0); None if none."""
    x, y, err = (np.asarray(a, dtype=np.float64) for a in (x, y, err))
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(err) & (err > 0)
    if not keep.any():
        return None
    return fit_slope_through_origin(x[keep], y[keep], err[keep])


def scaling_table(results, snapshots: int = 1) -> ScalingTable:
    """Fit every pair and level of every scan point; slopes common to all of them.

    Parameters
    ----------
    results : list of EnsembleResult
        One model over a scan of lr, B (and noise).
    snapshots : int
        The last ``snapshots`` snapshots of the surviving replicas are pooled.

    Returns
    -------
    ScalingTable
        Diverged replicas are skipped; a point with fewer than 3 usable replicas, or whose
        fits fail, gives no rows and is listed in ``skipped`` with its counts and the reason.
    """
    pairs, levels, skipped = [], [], []
    for result in results:
        config = result.config
        noise = getattr(config, "noise", None)
        failed = np.asarray(result.failed, bool)
        late = np.asarray(result.eigenvalues)[:, -snapshots:, :]
        usable = ~failed & np.all(np.isfinite(late), axis=(1, 2))
        late = late[usable]

        # No warning for a skipped point: the table carries it, and the summary, the
        # Markdown and the figures built from the table name it (a warning would repeat
        # once per figure).
        reason = None
        if late.shape[0] < 3:
            if failed.size and failed.all():
                reason = f"all {failed.size} replicas diverged"
            else:
                reason = (f"{late.shape[0]} usable replicas ({int(failed.sum())} of "
                          f"{failed.size} diverged)")  # fmt: skip
        else:
            try:
                point_pairs, point_levels = _point_rows(config, late, noise)
            except (ValueError, ArithmeticError) as exc:
                reason = f"its fits failed ({exc})"
        if reason is not None:
            skipped.append(SkippedPoint(
                config.lr, config.batch_size, noise, int(failed.size), int(failed.sum()),
                int(usable.sum()), reason,
            ))  # fmt: skip
            continue
        pairs += point_pairs
        levels += point_levels
    spacing = width = relation = None
    if pairs:
        scale = np.array([p.scale for p in pairs])
        s, s_err = (
            np.array([p.mean_spacing for p in pairs]),
            np.array([p.mean_spacing_err for p in pairs]),
        )
        w = np.sqrt(np.pi) * np.array([p.sigma for p in pairs])
        w_err = np.sqrt(np.pi) * np.array([p.sigma_err for p in pairs])
        spacing = _slope(scale, s, s_err)
        width = _slope(scale, w, w_err)
        relation = _slope(w, s, np.hypot(s_err, w_err))
    return ScalingTable(tuple(pairs), tuple(levels), spacing, width, relation, tuple(skipped))


def _point_rows(config, late: np.ndarray, noise) -> tuple[list[PairRow], list[LevelRow]]:
    """The pair and level rows of one scan point from its usable replicas (R', S, N)."""
    pairs, levels = [], []
    stationary = config.stationary_levels
    kappas = level_kappas(config)
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
    return pairs, levels
