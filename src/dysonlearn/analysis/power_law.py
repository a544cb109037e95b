"""Does the spacing depend on lr / B alone? A power law in lr and B, fitted separately.

For SGD (and momentum) at small lr the mean spacing of a degenerate pair is
<S> = sqrt(pi lr q / B) :eq:`ts-degenerate-spacing` (times 1 / (1 - beta) under the root
for momentum, :eq:`effective-lr`): a function of lr / B alone. For Adam no closed form is
known (:doc:`/theory/optimizers`), so the data must speak: fit

    <S> = c lr^a B^-b

over the points of a scan of lr and B, and test ``a == b`` (linear scaling) with the
error of ``a - b``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .fits import fit_wigner, usable_replicas
from .spacings import degenerate_groups, level_spacings
from .statistics import jackknife

__all__ = ["PowerLawFit", "fit_power_law", "fit_spacing_power_law"]

# Replica blocks of the jackknife (each point's replicas cut into this many): enough for
# the error of an error to be ~ 1 / sqrt(2 (blocks - 1)) = 13%, few enough to stay fast.
DEFAULT_BLOCKS = 32


@dataclass(frozen=True)
class PowerLawFit:
    """The fit ``<S> = c lr^a B^-b`` of a scan's mean spacings (:func:`fit_power_law`).

    Parameters
    ----------
    c, c_err : float
        The prefactor and its jackknife error.
    a, a_err : float
        The exponent of lr and its error.
    b, b_err : float
        The exponent of 1 / B and its error.
    a_minus_b, a_minus_b_err : float
        a - b and its error (jackknife of the difference, so the covariance of a and b is
        included): 0 within errors when <S> depends on lr / B alone.
    chi2_dof : float
        chi^2 per degree of freedom of the weighted fit in logs (NaN with 3 points).
    n_points : int
        The scan points fitted.
    blocks : int
        Replica blocks left out in turn by the jackknife.
    """

    c: float
    c_err: float
    a: float
    a_err: float
    b: float
    b_err: float
    a_minus_b: float
    a_minus_b_err: float
    chi2_dof: float
    n_points: int
    blocks: int

    def to_dict(self) -> dict:
        """The fields as a plain dict (NaN kept as float).

        Returns
        -------
        dict
        """
        return asdict(self)

    def linear_scaling_z(self) -> float:
        """(a - b) / its error: how many standard errors from linear scaling a == b.

        Returns
        -------
        float
        """
        if not self.a_minus_b_err > 0:
            return math.nan
        return self.a_minus_b / self.a_minus_b_err


def _wls(lr: np.ndarray, batch: np.ndarray, means: np.ndarray, weights: np.ndarray):
    """(log c, a, b) and chi^2 of log <S> = log c + a log lr - b log B, weights 1 / var."""
    design = np.column_stack([np.ones_like(lr), np.log(lr), -np.log(batch)])
    y = np.log(means)
    root = np.sqrt(weights)
    coef, *_ = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)
    chi2 = float(np.sum(weights * (y - design @ coef) ** 2))
    return coef, chi2


def fit_spacing_power_law(lr, batch_size, spacings, blocks: int | None = DEFAULT_BLOCKS
                          ) -> PowerLawFit:  # fmt: skip
    """Fit ``<S> = c lr^a B^-b`` to per-replica spacings of several scan points.

    Each point's <S> is the mean of its spacings, its error the spread of its per-replica
    means (as :func:`~dysonlearn.analysis.fit_wigner`); the fit is weighted least squares
    of log <S> in (log lr, log B) with weights (<S> / err)^2. The errors of (c, a, b) come
    from the jackknife over replicas (:func:`~dysonlearn.analysis.jackknife`): every
    point's replicas are cut into ``blocks`` blocks, block k of every point is left out
    at once (replicas of different points are independent), and the fit is repeated with
    the weights held fixed.

    Parameters
    ----------
    lr, batch_size : array_like
        (P,) each point's learning rate and batch size: at least three points not on
        one line in (log lr, log B), so that a and b are separate.
    spacings : sequence of array_like
        P arrays (R_p, ...) of spacings, replicas first (snapshots and pairs after).
    blocks : int, optional
        Replica blocks of the jackknife (capped at the fewest replicas of a point);
        None: delete-one over the fewest replicas of a point.

    Returns
    -------
    PowerLawFit

    Raises
    ------
    ValueError
        Fewer than 3 points, mismatched lengths, a point with fewer than 3 finite
        replicas or a non-positive mean, or a design that cannot separate a from b.
    """
    lr = np.asarray(lr, dtype=np.float64).ravel()
    batch = np.asarray(batch_size, dtype=np.float64).ravel()
    if not (lr.size == batch.size == len(spacings)):
        raise ValueError(f"lr, batch_size, spacings: must have one entry per point, got "
                         f"{lr.size}, {batch.size}, {len(spacings)}")  # fmt: skip
    if lr.size < 3:
        raise ValueError(f"spacings: need at least 3 scan points for (c, a, b), got {lr.size}")
    if np.any(~(lr > 0)) or np.any(~(batch > 0)):
        raise ValueError("lr, batch_size: must be > 0 (their logarithms are fitted)")
    design = np.column_stack([np.ones_like(lr), np.log(lr), np.log(batch)])
    if np.linalg.matrix_rank(design) < 3:
        raise ValueError(
            "lr, batch_size: the points must vary lr and B independently (at least three "
            "points not on one line in (log lr, log B)) to fit a and b separately"
        )
    per_replica = []
    for number, data in enumerate(spacings):
        fit = fit_wigner(data)  # finite replicas, >= 3, or ValueError
        if not fit.mean > 0:
            raise ValueError(f"spacings[{number}]: the mean spacing must be > 0, got {fit.mean}")
        data = np.asarray(data, dtype=np.float64)
        data = data.reshape(data.shape[0], -1)
        per_replica.append(data[np.all(np.isfinite(data), axis=1)].mean(axis=1))
    counts = np.array([p.size for p in per_replica])
    k = int(counts.min()) if blocks is None else int(min(blocks, counts.min()))
    means = np.array([p.mean() for p in per_replica])
    errors = np.array([p.std(ddof=1) / math.sqrt(p.size) for p in per_replica])
    if np.any(~(errors > 0)):
        raise ValueError("spacings: every point needs a non-zero spread over replicas")
    weights = (means / errors) ** 2  # 1 / var(log <S>)
    labels = [np.minimum((np.arange(n) * k) // n, k - 1) for n in counts]

    def statistic(kept: np.ndarray) -> np.ndarray:
        subset = np.array([p[np.isin(lab, kept)].mean() for p, lab in zip(per_replica, labels)])
        coef, _ = _wls(lr, batch, subset, weights)
        return np.array([coef[0], coef[1], coef[2], coef[1] - coef[2]])

    (log_c, a, b, diff), (log_c_err, a_err, b_err, diff_err) = jackknife(
        statistic, np.arange(k)
    )
    _, chi2 = _wls(lr, batch, means, weights)
    dof = lr.size - 3
    c = math.exp(log_c)
    return PowerLawFit(
        c=c, c_err=c * float(log_c_err), a=float(a), a_err=float(a_err), b=float(b),
        b_err=float(b_err), a_minus_b=float(diff), a_minus_b_err=float(diff_err),
        chi2_dof=chi2 / dof if dof > 0 else math.nan, n_points=int(lr.size), blocks=k,
    )  # fmt: skip


def fit_power_law(results, snapshots: int = 1, blocks: int | None = DEFAULT_BLOCKS
                  ) -> PowerLawFit:  # fmt: skip
    """Fit the mean spacing of a scan's degenerate pairs as ``<S> = c lr^a B^-b``.

    Each point contributes the spacings of its degenerate pairs (the groups of two equal
    levels of ``config.stationary_levels``, :func:`~dysonlearn.analysis.degenerate_groups`)
    over the last ``snapshots`` snapshots of its usable replicas; see
    :func:`fit_spacing_power_law` for the fit and its jackknife errors. SGD gives
    a = b = 1/2 :eq:`ts-degenerate-spacing`; ``a == b`` within errors is the test of the
    linear scaling rule for any optimiser (:doc:`/theory/optimizers`).

    Parameters
    ----------
    results : sequence of EnsembleResult
        The scan points (from :func:`~dysonlearn.run_experiment` or
        :func:`~dysonlearn.load`), varying lr and B; every point must have the same
        degenerate pairs.
    snapshots : int
        Pool the last ``snapshots`` snapshots of each replica.
    blocks : int, optional
        Replica blocks of the jackknife (see :func:`fit_spacing_power_law`).

    Returns
    -------
    PowerLawFit

    Raises
    ------
    ValueError
        A point without a degenerate pair, points with different pairs, or the reasons
        of :func:`fit_spacing_power_law`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> lr, B = [0.01, 0.04, 0.01, 0.04], [4, 4, 16, 16]
    >>> spacings = [np.sqrt(l / b) * rng.rayleigh(size=(200, 1)) for l, b in zip(lr, B)]
    >>> fit = fit_spacing_power_law(lr, B, spacings)
    >>> abs(fit.a - 0.5) < 4 * fit.a_err and abs(fit.b - 0.5) < 4 * fit.b_err
    True
    """
    results = list(results)
    pairs = None
    spacings, lrs, batches = [], [], []
    for number, result in enumerate(results):
        config = result.config
        found = [g for g in degenerate_groups(config.stationary_levels) if len(g) == 2]
        if not found:
            raise ValueError(f"results[{number}]: no degenerate pair of levels to fit")
        if pairs is None:
            pairs = found
        elif found != pairs:
            raise ValueError(f"results[{number}]: its degenerate pairs {found} differ from "
                             f"those of the first point {pairs}")  # fmt: skip
        keep = usable_replicas(result, snapshots)
        late = np.asarray(result.eigenvalues, dtype=np.float64)[keep, -snapshots:, :]
        spacings.append(level_spacings(late, pairs))
        lrs.append(config.lr)
        batches.append(config.batch_size)
    return fit_spacing_power_law(lrs, batches, spacings, blocks)
