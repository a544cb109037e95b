"""Probability densities of the Coulomb-gas picture (:doc:`/theory/two_levels`,
:doc:`/theory/rbm`)."""

from __future__ import annotations

import numpy as np
from scipy.special import erf


def wigner_surmise(s):
    """P(s) = (pi/2) s exp(-pi s^2 / 4) of normalised spacings s = S / <S> (GOE)
    :eq:`wigner-surmise`.

    Parameters
    ----------
    s : array_like
        Normalised spacings; the density is 0 for s < 0.

    Returns
    -------
    numpy.ndarray
        P(s), the shape of ``s``.

    Examples
    --------
    >>> round(float(wigner_surmise(1.0)), 4)
    0.7162
    """
    s = np.asarray(s, dtype=np.float64)
    return np.where(s >= 0, 0.5 * np.pi * s * np.exp(-0.25 * np.pi * s * s), 0.0)


def wigner_cdf(s):
    """CDF(s) = 1 - exp(-pi s^2 / 4) of the Wigner surmise :eq:`wigner-surmise`.

    Parameters
    ----------
    s : array_like
        Normalised spacings; the CDF is 0 for s < 0.

    Returns
    -------
    numpy.ndarray
        The probability of a spacing below ``s``, the shape of ``s``.
    """
    s = np.asarray(s, dtype=np.float64)
    return np.where(s >= 0, -np.expm1(-0.25 * np.pi * s * s), 0.0)


def spacing_pdf(S, mean):
    """P(S) of raw spacings with mean <S> = sqrt(pi) sigma :eq:`spacing-pdf`: (pi S / (2 <S>^2))
    exp(-pi S^2 / (4 <S>^2)).

    Parameters
    ----------
    S : array_like
        Spacings S = x_{i+1} - x_i.
    mean : float
        The mean spacing <S>.

    Returns
    -------
    numpy.ndarray
        P(S), the shape of ``S``.
    """
    S = np.asarray(S, dtype=np.float64)
    return wigner_surmise(S / mean) / mean


def gaussian_pdf(x, x0, sigma):
    """Normal density of a non-degenerate level, mean x0, width sigma.

    Parameters
    ----------
    x : array_like
        Where to evaluate it.
    x0 : float
        The level's mean.
    sigma : float
        Its width (standard deviation), > 0.

    Returns
    -------
    numpy.ndarray
        The density, the shape of ``x``.
    """
    y = (np.asarray(x, dtype=np.float64) - x0) / sigma
    return np.exp(-0.5 * y * y) / (np.sqrt(2.0 * np.pi) * sigma)


def semicircle2_pdf(x, x0, sigma):
    """One-level density of a degenerate pair of common width sigma at x0 :eq:`semicircle2`.

    Integrates to 1; variance 1.5 sigma^2, fourth moment 5.75 sigma^4, Binder 4/27.

    Parameters
    ----------
    x : array_like
        Where to evaluate it.
    x0 : float
        The centre of the pair (the common stationary level).
    sigma : float
        The common width of the two levels, > 0.

    Returns
    -------
    numpy.ndarray
        The density, the shape of ``x``.
    """
    y = np.asarray(x, dtype=np.float64) - x0
    g = np.exp(-y * y / (2.0 * sigma * sigma))
    return (
        g
        / (4.0 * np.sqrt(np.pi) * sigma)
        * (2.0 * g + np.sqrt(2.0 * np.pi) * (y / sigma) * erf(y / (np.sqrt(2.0) * sigma)))
    )


def semicircle2_cdf(x, x0, sigma):
    """CDF of :eq:`semicircle2`: (1 + erf(y/sigma))/2 - exp(-y^2/(2 sigma^2)) erf(y/(sqrt(2)
    sigma))/(2 sqrt 2).

    (Integrate the two terms of :eq:`semicircle2`: the first is a normal of variance sigma^2 / 2,
    the second integrates by parts with u = y / (sqrt(2) sigma).)

    Parameters
    ----------
    x : array_like
        Where to evaluate it.
    x0 : float
        The centre of the pair.
    sigma : float
        The common width of the two levels, > 0.

    Returns
    -------
    numpy.ndarray
        The CDF, the shape of ``x``.
    """
    y = (np.asarray(x, dtype=np.float64) - x0) / sigma
    return 0.5 * (1.0 + erf(y)) - np.exp(-0.5 * y * y) * erf(y / np.sqrt(2.0)) / (
        2.0 * np.sqrt(2.0)
    )


def gaussian_cdf(x, x0, sigma):
    """Normal CDF, mean x0, width sigma.

    Parameters
    ----------
    x : array_like
        Where to evaluate it.
    x0 : float
        The mean.
    sigma : float
        The width (standard deviation), > 0.

    Returns
    -------
    numpy.ndarray
        The CDF, the shape of ``x``.
    """
    y = (np.asarray(x, dtype=np.float64) - x0) / sigma
    return 0.5 * (1.0 + erf(y / np.sqrt(2.0)))


def marchenko_pastur_pdf(y, ratio, sigma_w=1.0):
    """Density of the eigenvalues of W^T W / N_h, W_ij ~ N(0, sigma_w^2), c = N_v / N_h
    :eq:`marchenko-pastur`.

    Parameters
    ----------
    y : array_like
        Eigenvalues of W^T W / N_h.
    ratio : float
        c = N_v / N_h, in (0, 1].
    sigma_w : float, optional
        The standard deviation of the entries of W.

    Returns
    -------
    numpy.ndarray
        The density, the shape of ``y``; 0 outside the edges
        sigma_w^2 (1 -+ sqrt(c))^2.

    Raises
    ------
    ValueError
        If ``ratio`` is not in (0, 1].
    """
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio: must lie in (0, 1], got {ratio}")
    y = np.asarray(y, dtype=np.float64)
    s2 = sigma_w * sigma_w
    lo, hi = s2 * (1 - np.sqrt(ratio)) ** 2, s2 * (1 + np.sqrt(ratio)) ** 2
    inside = (y > lo) & (y < hi)
    safe = np.where(inside, y, 1.0)
    density = np.sqrt(np.clip((hi - safe) * (safe - lo), 0, None)) / (
        2 * np.pi * s2 * ratio * safe
    )
    return np.where(inside, density, 0.0)
