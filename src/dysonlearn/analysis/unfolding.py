"""Spectral unfolding for N > 2 levels (:doc:`/theory/statistics`): map levels to unit mean
spacing.

Level statistics (spacing distributions, number variance) compare with the universal
laws only after the smooth part of the level density is removed. Unfolding maps each level
E to N_smooth(E), a smooth approximation of the staircase (the number of levels below E per
spectrum), so that the unfolded levels have mean spacing 1 everywhere in the spectrum and
their spacings can be compared with ``wigner_surmise`` directly.

The adjacent-gap ratio (``gap_ratio``) needs no unfolding: the local density cancels in the
ratio of two neighbouring gaps. Prefer it when the density is not known well.

Methods::

    "polynomial"        least-squares polynomial of ``degree`` in E fitted to the empirical
                        staircase (numpy.polynomial.Polynomial.fit).
    "spline"            least-squares cubic spline of the staircase with ``knots`` interior
                        knots at quantiles of the levels (scipy.interpolate
                        LSQUnivariateSpline): smooth on the scale of N / (knots + 1) levels.
    "semicircle"        N F(E) with the Wigner semicircle CDF F; centre and radius from the
                        mean and the second moment (radius^2 = 4 variance): GOE-like spectra.
    "marchenko_pastur"  N F(E) with the Marchenko-Pastur CDF of the eigenvalues of
                        W^T W / N_h :eq:`marchenko-pastur` (integrated numerically from
                        ``marchenko_pastur_pdf``), with sigma_w^2 = mean and
                        ratio = variance / mean^2 fitted, or given as ``ratio=``,
                        ``sigma_w=``: spectra of Gram matrices at initialisation.

The empirical methods pool all the levels of the leading axes into one staircase (divided
by the number of spectra), so one smooth map serves the whole ensemble; the analytic ones
fit their parameters on the pooled levels. Pass spectra that share one density: e.g. one
snapshot of an ensemble, ``result.eigenvalues[:, s, :]`` (not the whole (R, S, N) array of a
training run, whose density changes with s), and no NaN levels of diverged replicas
(``result.spectra_at(step)`` leaves them out). Near the spectral edges fits are poorest;
drop a few levels there (e.g. keep the middle half) before comparing spacing laws.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import Polynomial
from scipy.interpolate import LSQUnivariateSpline

from .densities import marchenko_pastur_pdf

METHODS = ("polynomial", "spline", "semicircle", "marchenko_pastur")
_MP_GRID = 4096


def unfold(
    eigs,
    method: str = "polynomial",
    degree: int = 5,
    *,
    knots: int | None = None,
    ratio: float | None = None,
    sigma_w: float | None = None,
) -> np.ndarray:
    """Unfolded levels with unit mean spacing, same shape as ``eigs`` (..., N), N > 2.

    Each level is mapped on its own, so the levels need not be sorted; sorted input gives
    sorted output (up to wiggles of a fitted map at the very edges).

    Parameters
    ----------
    eigs : array_like
        Spectra (..., N), finite; the leading axes are pooled.
    method : {"polynomial", "spline", "semicircle", "marchenko_pastur"}
        How the smooth staircase is made (see the module docstring).
    degree : int, optional
        Polynomial degree (method "polynomial"), >= 1.
    knots : int, optional
        Interior knots of the spline (method "spline"); default max(1, N // 20).
    ratio : float, optional
        Marchenko-Pastur ratio c = N_v / N_h in (0, 1]; fitted when None.
    sigma_w : float, optional
        Marchenko-Pastur weight scale (mean level sigma_w^2); fitted when None.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``eigs``: N_smooth(E) of each level.

    Raises
    ------
    ValueError
        Fewer than 3 levels per spectrum, non-finite levels, an unknown method or a
        parameter out of range.
    """
    levels = _check_levels(eigs)
    if method not in METHODS:
        raise ValueError(f"method: must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    n = levels.shape[-1]
    pooled = levels.ravel()
    if method == "polynomial":
        return _polynomial(levels, pooled, n, degree)
    if method == "spline":
        return _spline(levels, pooled, n, knots)
    if method == "semicircle":
        return n * semicircle_cdf(levels, *_semicircle_parameters(pooled))
    return n * marchenko_pastur_cdf(levels, *_mp_parameters(pooled, ratio, sigma_w))


def semicircle_cdf(x, center: float = 0.0, radius: float = 1.0) -> np.ndarray:
    """CDF of the Wigner semicircle of ``radius`` about ``center``:
    1/2 + (u sqrt(1 - u^2) + arcsin u) / pi, u = (x - center) / radius clipped to [-1, 1].

    Parameters
    ----------
    x : array_like
        Where to evaluate it.
    center : float, optional
        The centre of the semicircle.
    radius : float, optional
        Its radius, positive and finite.

    Returns
    -------
    numpy.ndarray
        The CDF, the shape of ``x``.

    Raises
    ------
    ValueError
        If ``radius`` is not positive and finite.
    """
    if not 0 < radius < np.inf:
        raise ValueError(f"radius: must be positive and finite, got {radius}")
    u = np.clip((np.asarray(x, dtype=np.float64) - center) / radius, -1.0, 1.0)
    return 0.5 + (u * np.sqrt(1.0 - u * u) + np.arcsin(u)) / np.pi


def marchenko_pastur_cdf(y, ratio: float, sigma_w: float = 1.0) -> np.ndarray:
    """CDF of ``marchenko_pastur_pdf`` (eigenvalues of W^T W / N_h, c = ratio <= 1)
    :eq:`marchenko-pastur`.

    Integrated numerically in the angle theta of y = y- + (y+ - y-) (1 - cos theta) / 2,
    which turns the square-root edges (and the 1/sqrt(y) edge at c = 1) into a smooth
    integrand: midpoint rule on 4096 intervals, relative error ~1e-7.

    Parameters
    ----------
    y : array_like
        Eigenvalues of W^T W / N_h.
    ratio : float
        c = N_v / N_h, in (0, 1].
    sigma_w : float, optional
        The standard deviation of the entries of W, positive and finite.

    Returns
    -------
    numpy.ndarray
        The CDF, the shape of ``y``.

    Raises
    ------
    ValueError
        If ``ratio`` or ``sigma_w`` is out of range.
    """
    if not 0 < sigma_w < np.inf:
        raise ValueError(f"sigma_w: must be positive and finite, got {sigma_w}")
    s2 = sigma_w * sigma_w
    lo, hi = s2 * (1 - np.sqrt(ratio)) ** 2, s2 * (1 + np.sqrt(ratio)) ** 2
    theta = np.linspace(0.0, np.pi, _MP_GRID + 1)
    mid = 0.5 * (theta[1:] + theta[:-1])
    y_mid = lo + 0.5 * (hi - lo) * (1.0 - np.cos(mid))
    integrand = marchenko_pastur_pdf(y_mid, ratio, sigma_w) * 0.5 * (hi - lo) * np.sin(mid)
    cdf = np.concatenate([[0.0], np.cumsum(integrand)])
    cdf /= cdf[-1]  # exact normalisation; the quadrature total is 1 - O(1e-7)
    y = np.asarray(y, dtype=np.float64)
    u = np.clip((y - lo) / (hi - lo), 0.0, 1.0)
    return np.interp(np.arccos(1.0 - 2.0 * u), theta, cdf)


def _check_levels(eigs) -> np.ndarray:
    levels = np.asarray(eigs, dtype=np.float64)
    if levels.ndim < 1 or levels.shape[-1] <= 2:
        got = levels.shape[-1] if levels.ndim else "a scalar"
        raise ValueError(
            f"eigs: unfolding needs spectra (..., N) with N > 2 levels, got N = {got} "
            "(for N = 2 normalise the spacing by its mean instead)"
        )
    if levels.size == 0:
        raise ValueError(f"eigs: no spectra to unfold, got shape {levels.shape}")
    if not np.isfinite(levels).all():
        raise ValueError(
            "eigs: has non-finite levels (NaN rows of diverged replicas? use "
            "result.spectra_at(step))"
        )
    if np.ptp(levels) == 0:
        raise ValueError("eigs: all levels are equal; there is no density to unfold")
    return levels


def _staircase(pooled: np.ndarray, n_spectra: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct levels and the staircase at them: levels below per spectrum, each level
    counted half at its own position (so that N levels span (0, N)); ties share one point
    at the mean of their ranks."""
    x = np.sort(pooled)
    values, first, counts = np.unique(x, return_index=True, return_counts=True)
    return values, (first + 0.5 * counts) / n_spectra


def _polynomial(levels, pooled, n, degree) -> np.ndarray:
    if isinstance(degree, bool) or not isinstance(degree, int | np.integer) or degree < 1:
        raise ValueError(f"degree: must be an integer >= 1, got {degree!r}")
    x, y = _staircase(pooled, pooled.size // n)
    if x.size <= degree:
        raise ValueError(
            f"degree: {degree} needs more than {degree} distinct levels, have {x.size}"
        )
    return Polynomial.fit(x, y, int(degree))(levels)


def _spline(levels, pooled, n, knots) -> np.ndarray:
    if knots is None:
        knots = max(1, n // 20)
    if isinstance(knots, bool) or not isinstance(knots, int | np.integer) or knots < 1:
        raise ValueError(f"knots: must be an integer >= 1, got {knots!r}")
    x, y = _staircase(pooled, pooled.size // n)
    # Knots at quantiles of the distinct levels: equal numbers of data between knots.
    inner = np.unique(x[np.linspace(0, x.size - 1, int(knots) + 2).round().astype(int)[1:-1]])
    inner = inner[(inner > x[0]) & (inner < x[-1])]
    if x.size < 4 * (inner.size + 1) or inner.size == 0:
        raise ValueError(
            f"knots: {knots} interior knots need at least {4 * (int(knots) + 1)} distinct "
            f"levels, have {x.size}"
        )
    spline = LSQUnivariateSpline(x, y, inner, k=3)
    # Beyond the data the spline extrapolates its end cubics; the extreme levels are in the
    # data, so evaluating at the input levels stays inside.
    return spline(levels.ravel()).reshape(levels.shape)


def _semicircle_parameters(pooled) -> tuple[float, float]:
    center = float(np.mean(pooled))
    return center, 2.0 * float(np.sqrt(np.mean((pooled - center) ** 2)))


def _mp_parameters(pooled, ratio, sigma_w) -> tuple[float, float]:
    mean, var = float(np.mean(pooled)), float(np.var(pooled))
    if sigma_w is None:
        if mean <= 0:
            raise ValueError(
                f"eigs: Marchenko-Pastur levels are positive on average, got mean {mean:.3g}"
            )
        sigma_w = np.sqrt(mean)
    elif not 0 < sigma_w < np.inf:
        raise ValueError(f"sigma_w: must be positive and finite, got {sigma_w}")
    if ratio is None:
        ratio = var / sigma_w**4
        if not 0 < ratio <= 1:
            raise ValueError(
                f"ratio: the fitted c = variance / sigma_w^4 = {ratio:.4g} is outside (0, 1]; "
                "Marchenko-Pastur needs N_v <= N_h (pass the non-zero levels, or ratio=)"
            )
    elif not 0 < ratio <= 1:
        raise ValueError(f"ratio: must lie in (0, 1], got {ratio}")
    return float(ratio), float(sigma_w)
