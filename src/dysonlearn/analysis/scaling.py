"""The linear scaling rule across a scan of (lr, B): :doc:`/theory/framework`, :doc:`/theory/rbm`
and the article's Figs 6, 7.

For every degenerate pair of every scan point, <S> and sqrt(pi) sigma (sigma from the
:eq:`semicircle2` fit) are plotted against sqrt(lr q / B), with q given by the model
(``Model.scale_factor``): q = mu^2 - kappa (= x*) for the RBM :eq:`rbm-level-width`, q = A^2 (the
noise) for the teacher-student and linear Dyson models :eq:`ts-degenerate-spacing`. The Coulomb gas
says both are one straight line through the origin, common to all pairs and points, and
that <S> = sqrt(pi) sigma (slope 1) :eq:`spacing-pdf`. The learnt levels' centres drift with lr/B:
lambda_fit / kappa -> 1 as lr/B -> 0 (:doc:`/theory/rbm`).

Diverged replicas are skipped; a scan point left with fewer than 3 usable replicas (all
diverged, say) gives no rows and is listed in ``ScalingTable.skipped`` with its counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..models import model_for
from .fits import (
    GroupFit,
    SlopeFit,
    fit_levels,
    fit_slope_through_origin,
    pooled_snapshots,
    usable_replicas,
)


@dataclass(frozen=True)
class PairRow:
    lr: float
    batch_size: int
    noise: float | None
    modes: tuple[int, int]
    level: float  # x* of the pair
    scale: float  # sqrt(lr q / B)
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

    Parameters
    ----------
    pairs : tuple of PairRow
        One row per (scan point, degenerate pair): its mean spacing and width with errors.
    levels : tuple of LevelRow
        One row per (scan point, level).
    spacing_slope : SlopeFit or None
        <S> against sqrt(lr q / B).
    width_slope : SlopeFit or None
        sqrt(pi) sigma against sqrt(lr q / B).
    spacing_vs_width : SlopeFit or None
        <S> against sqrt(pi) sigma: 1 expected :eq:`spacing-pdf`.
    skipped : tuple of SkippedPoint
        The scan points that gave no rows, and why.
    """

    pairs: tuple[PairRow, ...]
    levels: tuple[LevelRow, ...]
    spacing_slope: SlopeFit | None  # <S> against sqrt(lr q / B)
    width_slope: SlopeFit | None  # sqrt(pi) sigma against sqrt(lr q / B)
    spacing_vs_width: SlopeFit | None  # <S> against sqrt(pi) sigma: 1 expected :eq:`spacing-pdf`
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


def _slope(x, y, err) -> SlopeFit | None:
    """fit_slope_through_origin over the rows it can use (finite, error > 0); None if none."""
    x, y, err = (np.asarray(a, dtype=np.float64) for a in (x, y, err))
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(err) & (err > 0)
    if not keep.any():
        return None
    return fit_slope_through_origin(x[keep], y[keep], err[keep])


def scaling_table(results, snapshots: int | None = None, fits=None) -> ScalingTable:
    """Fit every pair and level of every scan point; slopes common to all of them.

    The model of each point (:func:`dysonlearn.models.model_for`) gives the scaling
    variable's f, each level's kappa and the fitted lambda.

    Parameters
    ----------
    results : list of EnsembleResult
        One model over a scan of lr, B (and noise).
    snapshots : int, optional
        The last ``snapshots`` snapshots of the surviving replicas are pooled (default:
        :func:`~dysonlearn.analysis.fits.pooled_snapshots`, the last one, or every record
        of a time series).
    fits : list, optional
        Per result, its :func:`~dysonlearn.analysis.fits.fit_levels` of those snapshots
        (or None to fit here): lets a caller that has them (the summary) not fit twice.

    Returns
    -------
    ScalingTable
        Diverged replicas are skipped; a point with fewer than 3 usable replicas, or whose
        fits fail, gives no rows and is listed in ``skipped`` with the counts and the reason.
    """
    pairs, levels, skipped = [], [], []
    fits = [None] * len(results) if fits is None else list(fits)
    for result, point_fits in zip(results, fits, strict=True):
        config = result.config
        noise = getattr(config, "noise", None)
        failed = np.asarray(result.failed, bool)
        pool = pooled_snapshots(result, snapshots)
        usable = usable_replicas(result, pool)
        late = np.asarray(result.eigenvalues)[usable, -pool:, :]
        # No warning for a skipped point: the table carries it, and the summary, the
        # Markdown and the figures built from the table name it (a warning would repeat
        # once per figure).
        reason = _too_few(failed, late.shape[0])
        if reason is None:
            if point_fits is None:
                point_fits = fit_levels(config.stationary_levels, late)
            error = next((g.error for g in point_fits if g.error is not None), None)
            if error is not None:
                reason = f"its fits failed ({error})"
        if reason is not None:
            skipped.append(SkippedPoint(
                config.lr, config.batch_size, noise, int(failed.size), int(failed.sum()),
                int(usable.sum()), reason,
            ))  # fmt: skip
            continue
        point_pairs, point_levels = _point_rows(config, point_fits, noise)
        pairs += point_pairs
        levels += point_levels
    return ScalingTable(tuple(pairs), tuple(levels), *_common_slopes(pairs), tuple(skipped))


def _too_few(failed: np.ndarray, usable: int) -> str | None:
    """Why a point with fewer than 3 usable replicas gives no rows, or None."""
    if usable >= 3:
        return None
    if failed.size and failed.all():
        return f"all {failed.size} replicas diverged"
    return f"{usable} usable replicas ({int(failed.sum())} of {failed.size} diverged)"


def _common_slopes(pairs: list[PairRow]) -> tuple:
    """The slopes of <S> and sqrt(pi) sigma against sqrt(lr q / B), and of <S> against
    sqrt(pi) sigma, over every pair row (all None without rows)."""
    if not pairs:
        return None, None, None
    scale = np.array([p.scale for p in pairs])
    s = np.array([p.mean_spacing for p in pairs])
    s_err = np.array([p.mean_spacing_err for p in pairs])
    w = np.sqrt(np.pi) * np.array([p.sigma for p in pairs])
    w_err = np.sqrt(np.pi) * np.array([p.sigma_err for p in pairs])
    return (_slope(scale, s, s_err), _slope(scale, w, w_err),
            _slope(w, s, np.hypot(s_err, w_err)))  # fmt: skip


def _point_rows(config, fits: list[GroupFit], noise) -> tuple[list[PairRow], list[LevelRow]]:
    """The pair and level rows of one scan point from its fits (none of them failed)."""
    model = model_for(config)
    pairs, levels = [], []
    stationary = model.stationary_levels(config)
    kappas = model.level_kappas(config)
    for group in fits:
        if group.pair is not None:
            i, j = group.modes
            f = model.scale_factor(config, stationary[i], kappas[i])
            pairs.append(PairRow(
                config.lr, config.batch_size, noise, (i, j), float(stationary[i]),
                float(np.sqrt(config.lr * f / config.batch_size)), group.wigner.mean,
                group.wigner.mean_err, group.pair.sigma, group.pair.sigma_err, group.binder,
                group.binder_err,
            ))  # fmt: skip
            point = [(group.modes, group.pair)]
        else:
            point = [((m,), fit) for m, fit in zip(group.modes, group.gaussians, strict=True)]
        for modes, fit in point:
            levels.append(LevelRow(
                config.lr, config.batch_size, noise, config.lr / config.batch_size,
                modes, float(kappas[modes[0]]), float(model.fitted_lambda(config, fit.x0)),
                fit.x0_err,
            ))  # fmt: skip
    return pairs, levels
