"""Probability densities of the Coulomb-gas picture (SPEC A.5, B.4)."""

from __future__ import annotations

import numpy as np
from scipy.special import erf


def wigner_surmise(s):
    """P(s) = (pi/2) s exp(-pi s^2 / 4) of normalised spacings s = S / <S> (GOE) [A.9]."""
    s = np.asarray(s, dtype=np.float64)
    return np.where(s >= 0, 0.5 * np.pi * s * np.exp(-0.25 * np.pi * s * s), 0.0)


def wigner_cdf(s):
    """CDF(s) = 1 - exp(-pi s^2 / 4) of the Wigner surmise [A.9]."""
    s = np.asarray(s, dtype=np.float64)
    return np.where(s >= 0, -np.expm1(-0.25 * np.pi * s * s), 0.0)


def spacing_pdf(S, mean):
    """P(S) of raw spacings with mean <S> = sqrt(pi) sigma [A.8]: (pi S / (2 <S>^2))
    exp(-pi S^2 / (4 <S>^2))."""
    S = np.asarray(S, dtype=np.float64)
    return wigner_surmise(S / mean) / mean


def gaussian_pdf(x, x0, sigma):
    """Normal density of a non-degenerate level, mean x0, width sigma."""
    y = (np.asarray(x, dtype=np.float64) - x0) / sigma
    return np.exp(-0.5 * y * y) / (np.sqrt(2.0 * np.pi) * sigma)


def semicircle2_pdf(x, x0, sigma):
    """One-level density of a degenerate pair of common width sigma at x0 [A.10].

    Integrates to 1; variance 1.5 sigma^2, fourth moment 5.75 sigma^4, Binder 4/27.
    """
    y = np.asarray(x, dtype=np.float64) - x0
    g = np.exp(-y * y / (2.0 * sigma * sigma))
    return (
        g
        / (4.0 * np.sqrt(np.pi) * sigma)
        * (2.0 * g + np.sqrt(2.0 * np.pi) * (y / sigma) * erf(y / (np.sqrt(2.0) * sigma)))
    )


def semicircle2_cdf(x, x0, sigma):
    """CDF of [A.10]: (1 + erf(y/sigma))/2 - exp(-y^2/(2 sigma^2)) erf(y/(sqrt(2) sigma))/(2 sqrt 2).

    (Integrate the two terms of [A.10]: the first is a normal of variance sigma^2 / 2, the
    second integrates by parts with u = y / (sqrt(2) sigma).)
    """
    y = (np.asarray(x, dtype=np.float64) - x0) / sigma
    return 0.5 * (1.0 + erf(y)) - np.exp(-0.5 * y * y) * erf(y / np.sqrt(2.0)) / (
        2.0 * np.sqrt(2.0)
    )


def gaussian_cdf(x, x0, sigma):
    """Normal CDF, mean x0, width sigma."""
    y = (np.asarray(x, dtype=np.float64) - x0) / sigma
    return 0.5 * (1.0 + erf(y / np.sqrt(2.0)))


def marchenko_pastur_pdf(y, ratio, sigma_w=1.0):
    """Density of the eigenvalues of W^T W / N_h, W_ij ~ N(0, sigma_w^2), c = N_v / N_h [B.7]."""
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
