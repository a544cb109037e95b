"""Fits of learnt levels and spacings, with jackknife errors over replicas
(:doc:`/theory/statistics`).

Samples may be flat or carry the replica axis first, e.g. (R, S) for one level over S
snapshots or (R, S, 2) for a pair's pooled levels: errors then come from a blocked
jackknife over replicas, which are independent, so correlated snapshots of one replica
are never counted as independent information.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .densities import (
    gaussian_cdf,
    gaussian_pdf,
    semicircle2_cdf,
    semicircle2_pdf,
    wigner_cdf,
)
from .spacings import degenerate_groups
from .statistics import binder_cumulant, freedman_diaconis_bins, jackknife

_JACKKNIFE_BLOCKS = 32
# The two-level fit counts the samples in bins above this many (see _semicircle2_mle).
_BINNED_ABOVE = 100_000
_LIKELIHOOD_BINS = 4096


@dataclass(frozen=True)
class LevelFit:
    """A level density fitted by maximum likelihood: centre x0 and width sigma.

    chi2_dof compares a Freedman-Diaconis histogram with the fitted density (bins with at
    least 5 expected counts; ``dof`` degrees of freedom, those bins less 3); ks_pvalue is
    the Kolmogorov-Smirnov p-value against the fitted CDF (optimistic, as for any fitted
    law, but a sharp alarm when tiny).

    Parameters
    ----------
    model : str
        The fitted law: ``"semicircle2"`` or ``"gaussian"``.
    x0, sigma : float
        The fitted centre and width.
    x0_err, sigma_err : float
        Their jackknife errors over replicas.
    chi2_dof : float
        chi^2 per degree of freedom of the histogram against the fitted density.
    ks_pvalue : float
        The Kolmogorov-Smirnov p-value against the fitted CDF.
    n : int
        The number of samples fitted.
    dof : int
        Degrees of freedom of the chi^2 (the bins used, less 3; 0 when not fitted).
    """

    model: str
    x0: float
    sigma: float
    x0_err: float
    sigma_err: float
    chi2_dof: float
    ks_pvalue: float
    n: int
    dof: int = 0


@dataclass(frozen=True)
class WignerFit:
    """Mean spacing <S> (error over replicas) and the KS p-value of S / <S> against
    :eq:`wigner-surmise`.

    Parameters
    ----------
    mean, mean_err : float
        <S> and its error over replicas.
    ks_pvalue : float
        The Kolmogorov-Smirnov p-value of S / <S> against the Wigner surmise.
    n : int
        The number of spacings.
    """

    mean: float
    mean_err: float
    ks_pvalue: float
    n: int


@dataclass(frozen=True)
class SlopeFit:
    """y = slope * x fitted by weighted least squares through the origin.

    Parameters
    ----------
    slope, slope_err : float
        The slope and its error.
    chi2_dof : float
        chi^2 per degree of freedom (NaN for a single point).
    n : int
        The number of points.
    """

    slope: float
    slope_err: float
    chi2_dof: float
    n: int


def _by_replica(samples) -> np.ndarray:
    """(R, m) with replicas on rows (a flat array: one sample per row), finite values only."""
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 0 or data.shape[0] < 3 or data.size == 0:
        raise ValueError(f"samples: need at least 3 replicas with finite values, got shape "
                         f"{data.shape}")  # fmt: skip
    data = data.reshape(data.shape[0], -1) if data.ndim > 1 else data[:, None]
    keep = np.all(np.isfinite(data), axis=1)
    if keep.sum() < 3:
        raise ValueError("samples: need at least 3 replicas with finite values")
    return data[keep]


def _goodness(flat: np.ndarray, pdf, cdf) -> tuple[float, float, int]:
    edges = freedman_diaconis_bins(flat)
    counts, _ = np.histogram(flat, edges)
    expected = flat.size * np.diff(cdf(edges))
    keep = expected >= 5
    dof = keep.sum() - 3  # two fitted parameters and the total
    chi2 = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    chi2_dof = float(chi2 / dof) if dof > 0 else float("nan")
    return chi2_dof, float(stats.kstest(flat, cdf).pvalue), int(max(dof, 0))


def _semicircle2_mle(flat: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood (x0, sigma) of :eq:`semicircle2`, by BFGS in (x0, log sigma), started
    from the moments (variance 1.5 sigma^2) or from ``start``.

    Above :data:`_BINNED_ABOVE` samples (long time series pool that many) the likelihood is
    that of the samples counted in :data:`_LIKELIHOOD_BINS` equal bins over their range:
    each evaluation then costs the same whatever the sample size, and with bins a small
    fraction of sigma wide the estimate differs from the unbinned one by far less than
    its error. Smaller samples keep the exact likelihood."""
    if start is None:
        start = np.array([flat.mean(), np.sqrt(flat.var() / 1.5)])

    if flat.size > _BINNED_ABOVE:
        counts, edges = np.histogram(flat, _LIKELIHOOD_BINS)
        used = counts > 0

        def nll(params):
            x0, log_sigma = params
            p = np.diff(semicircle2_cdf(edges, x0, np.exp(log_sigma)))[used]
            return -np.sum(counts[used] * np.log(np.maximum(p, 1e-300)))
    else:

        def nll(params):
            x0, log_sigma = params
            density = semicircle2_pdf(flat, x0, np.exp(log_sigma))
            return -np.sum(np.log(np.maximum(density, 1e-300)))

    best = optimize.minimize(nll, [start[0], np.log(start[1])], method="BFGS")
    return np.array([best.x[0], np.exp(best.x[1])])


def fit_semicircle2(samples) -> LevelFit:
    """Fit the two-level density :eq:`semicircle2` (free x0, sigma) to a degenerate pair's pooled
    levels.

    Parameters
    ----------
    samples : array_like
        The pair's levels, flat or (R, ...) with replicas first (errors by a blocked
        jackknife over replicas).

    Returns
    -------
    LevelFit
        Model ``"semicircle2"``.

    Raises
    ------
    ValueError
        Fewer than 3 replicas with finite values.
    """
    data = _by_replica(samples)
    flat = data.ravel()
    params = _semicircle2_mle(flat)
    blocks = min(_JACKKNIFE_BLOCKS, data.shape[0])
    # Each leave-one-block-out fit starts from the full fit, which it barely moves.
    _, errors = jackknife(lambda d: _semicircle2_mle(d.ravel(), params), data, blocks=blocks)
    x0, sigma = params
    chi2_dof, ks, dof = _goodness(
        flat, lambda x: semicircle2_pdf(x, x0, sigma), lambda x: semicircle2_cdf(x, x0, sigma)
    )
    return LevelFit("semicircle2", float(x0), float(sigma), float(errors[0]), float(errors[1]),
                    chi2_dof, ks, flat.size, dof)  # fmt: skip


def fit_gaussian(samples) -> LevelFit:
    """Fit a Gaussian (the law of a non-degenerate level) by maximum likelihood.

    Parameters
    ----------
    samples : array_like
        The level's values, flat or (R, ...) with replicas first (errors by a blocked
        jackknife over replicas).

    Returns
    -------
    LevelFit
        Model ``"gaussian"``.

    Raises
    ------
    ValueError
        Fewer than 3 replicas with finite values.
    """
    data = _by_replica(samples)
    flat = data.ravel()

    def mle(d):
        d = d.ravel()
        return np.array([d.mean(), d.std()])

    (x0, sigma), errors = jackknife(mle, data, blocks=min(_JACKKNIFE_BLOCKS, data.shape[0]))
    chi2_dof, ks, dof = _goodness(
        flat, lambda x: gaussian_pdf(x, x0, sigma), lambda x: gaussian_cdf(x, x0, sigma)
    )
    return LevelFit("gaussian", float(x0), float(sigma), float(errors[0]), float(errors[1]),
                    chi2_dof, ks, flat.size, dof)  # fmt: skip


def fit_wigner(spacings) -> WignerFit:
    """<S> with its error over replicas, and the KS p-value of S / <S> against
    :eq:`wigner-surmise`.

    Parameters
    ----------
    spacings : array_like
        Flat, or (R, ...) with replicas first (then the KS test uses one spacing per
        replica, the last, so that its samples are independent).

    Returns
    -------
    WignerFit

    Raises
    ------
    ValueError
        Fewer than 3 replicas with finite values.
    """
    data = _by_replica(spacings)
    per_replica = data.mean(axis=1)
    mean = float(data.mean())
    err = float(per_replica.std(ddof=1) / np.sqrt(per_replica.size))
    independent = data[:, -1]
    ks = float(stats.kstest(independent / independent.mean(), wigner_cdf).pvalue)
    return WignerFit(mean, err, ks, data.size)


def fit_slope_through_origin(x, y, yerr) -> SlopeFit:
    """Weighted least squares of y = slope x: slope = sum(x y / e^2) / sum(x^2 / e^2).

    Parameters
    ----------
    x, y : array_like
        The points.
    yerr : array_like
        The error of each y, finite and > 0.

    Returns
    -------
    SlopeFit

    Raises
    ------
    ValueError
        Unequal lengths, no point, or an error that is not finite and > 0.

    Examples
    --------
    >>> fit = fit_slope_through_origin([1.0, 2.0], [2.0, 4.0], [0.1, 0.1])
    >>> round(fit.slope, 6)
    2.0
    """
    x, y, e = (np.asarray(a, dtype=np.float64).ravel() for a in (x, y, yerr))
    if not (x.size == y.size == e.size) or x.size < 1:
        raise ValueError("x, y, yerr: need equally many (>= 1) values")
    if np.any(e <= 0) or not np.all(np.isfinite(np.r_[x, y, e])):
        raise ValueError("yerr: every error must be finite and > 0 (and x, y finite)")
    weight = 1.0 / (e * e)
    sxx = np.sum(weight * x * x)
    slope = np.sum(weight * x * y) / sxx
    chi2 = np.sum(weight * (y - slope * x) ** 2)
    dof = x.size - 1
    return SlopeFit(float(slope), float(1.0 / np.sqrt(sxx)),
                    float(chi2 / dof) if dof > 0 else float("nan"), x.size)  # fmt: skip


@dataclass(frozen=True)
class GroupFit:
    """The fits of one degenerate group of learnt levels (one scan point).

    Parameters
    ----------
    modes : tuple of int
        The group's modes (indices into the sorted spectrum).
    pair : LevelFit or None
        A pair: :eq:`semicircle2` fitted to its pooled levels.
    wigner : WignerFit or None
        A pair: its spacing's <S> and Wigner KS test.
    binder, binder_err : float or None
        A pair: the Binder cumulant of its pooled levels and its jackknife error.
    gaussians : tuple of LevelFit
        Any other group: a Gaussian per mode.
    error : Exception or None
        Why the group's fits are missing (all of them: a group is fitted whole or not).
    """

    modes: tuple[int, ...]
    pair: LevelFit | None = None
    wigner: WignerFit | None = None
    binder: float | None = None
    binder_err: float | None = None
    gaussians: tuple[LevelFit, ...] = ()
    error: Exception | None = None


def fit_levels(stationary_levels, late) -> list[GroupFit]:
    """Fit every degenerate group of one scan point's learnt levels (:doc:`/theory/statistics`).

    The one place where the summary, the scaling table and the figures get their fits: a
    degenerate pair gets :eq:`semicircle2`, <S> with the Wigner KS test and the Binder cumulant;
    any other group a Gaussian per mode.

    Parameters
    ----------
    stationary_levels : array_like
        (N,) the levels the learnt ones settle at, ascending (they define the groups).
    late : numpy.ndarray
        (R, S, N) the usable replicas' pooled snapshots.

    Returns
    -------
    list of GroupFit
        One per group of :func:`~dysonlearn.analysis.degenerate_groups`, in order; a group
        whose fits fail (too few replicas, say) carries the exception in ``error``.
    """
    out = []
    for group in degenerate_groups(stationary_levels):
        modes = tuple(int(m) for m in group)
        try:
            if len(modes) == 2:
                i, j = modes
                pooled = late[:, :, [i, j]]
                pair = fit_semicircle2(pooled)
                wigner = fit_wigner(late[:, :, j] - late[:, :, i])
                binder, binder_err = jackknife(binder_cumulant, pooled,
                                               blocks=min(32, pooled.shape[0]))  # fmt: skip
                out.append(GroupFit(modes, pair, wigner, binder, binder_err))
            else:
                gaussians = tuple(fit_gaussian(late[:, :, m]) for m in modes)
                out.append(GroupFit(modes, gaussians=gaussians))
        except (ValueError, ArithmeticError) as exc:
            out.append(GroupFit(modes, error=exc))
    return out


def chi2_pvalue(chi2_dof: float | None, dof: int | None) -> float | None:
    """The probability of a chi^2 at least ``chi2_dof * dof`` if the fitted law were right.

    Parameters
    ----------
    chi2_dof : float or None
        chi^2 per degree of freedom of a fit.
    dof : int or None
        Its degrees of freedom.

    Returns
    -------
    float or None
        The upper tail of the chi^2 distribution with ``dof`` degrees of freedom; None when
        either is missing, not finite, or ``dof`` < 1.

    Examples
    --------
    >>> round(chi2_pvalue(1.0, 100), 2)
    0.48
    """
    if chi2_dof is None or dof is None or dof < 1 or not np.isfinite(chi2_dof):
        return None
    return float(stats.chi2.sf(chi2_dof * dof, dof))


def pooled_snapshots(result, snapshots: int | None = None) -> int:
    """How many final snapshots of every replica a statistic pools.

    Parameters
    ----------
    result : EnsembleResult
        The ensemble.
    snapshots : int, optional
        The number asked for. None (the default of every statistic): every record of a
        recorded time series (its configuration's ``record_every`` is set) except the
        initial state at step 0, and the last snapshot otherwise.

    Returns
    -------
    int
    """
    if snapshots is not None:
        return int(snapshots)
    if getattr(result.config, "is_time_series", False):
        steps = np.asarray(result.steps)
        return max(1, steps.size - int(steps.size > 1 and steps[0] == 0))
    return 1


def usable_replicas(result, snapshots: int | None = None) -> np.ndarray:
    """(R,) bool: the replicas that did not diverge and are finite throughout.

    Parameters
    ----------
    result : EnsembleResult
        The ensemble.
    snapshots : int, optional
        Look only at the last ``snapshots`` snapshots (all of them when None).

    Returns
    -------
    numpy.ndarray
        True for the replicas every statistic uses; the others are skipped.
    """
    eigs = np.asarray(result.eigenvalues, dtype=np.float64)
    if snapshots is not None:
        eigs = eigs[:, -snapshots:, :]
    return ~np.asarray(result.failed, bool) & np.all(np.isfinite(eigs), axis=(1, 2))
