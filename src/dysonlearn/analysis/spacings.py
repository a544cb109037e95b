"""Degenerate groups of a target spectrum and the spacings of learnt levels
(:doc:`/theory/statistics`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def degenerate_groups(
    spectrum, tol: float = 1e-8, mu: float | None = None
) -> list[tuple[int, ...]]:
    """Indices of the ascending learnt levels grouped into runs of equal levels.

    ``spectrum`` is the ascending stationary spectrum of the learnt matrix (the teacher's
    kappa, ``config.stationary_levels``, ...); for the RBM pass the target's kappa with
    ``mu``: the learnt levels are then x* = mu^2 - kappa, sorted ascending (which reverses
    the order of kappa), and the indices address the sorted learnt eigenvalues directly.
    Levels closer than ``tol`` times the spectrum's scale are one group.

    Parameters
    ----------
    spectrum : array_like
        (N,) the ascending stationary spectrum, or the target's kappa with ``mu``.
    tol : float, optional
        Relative distance below which two levels are one group.
    mu : float, optional
        The RBM's mass: ``spectrum`` is then kappa, and the groups index x* = mu^2 - kappa.

    Returns
    -------
    list of tuple of int
        Every group, singletons included, in ascending order of level.

    Raises
    ------
    ValueError
        If ``spectrum`` is not one-dimensional or not ascending.

    Examples
    --------
    >>> degenerate_groups([2.0, 2.0, 3.0])
    [(0, 1), (2,)]
    """
    levels = np.asarray(spectrum, dtype=np.float64)
    if mu is not None:
        levels = np.sort(mu * mu - levels)
    if levels.ndim != 1:
        raise ValueError(f"spectrum: must be one-dimensional, got shape {levels.shape}")
    if np.any(np.diff(levels) < 0):
        raise ValueError("spectrum: must be sorted ascending")
    scale = max(float(np.max(np.abs(levels), initial=0.0)), 1.0)
    groups: list[list[int]] = []
    for i, x in enumerate(levels):
        if groups and x - levels[groups[-1][-1]] <= tol * scale:
            groups[-1].append(i)
        else:
            groups.append([i])
    return [tuple(g) for g in groups]


def level_spacings(eigenvalues, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Spacings S = x_j - x_i of sorted eigenvalues for index pairs (i, j).

    Parameters
    ----------
    eigenvalues : array_like
        (..., N) ascending spectra, e.g. (replica, snapshot, mode).
    pairs : sequence of (int, int)
        P pairs of mode indices (i, j).

    Returns
    -------
    numpy.ndarray
        (..., P) the spacings, one per pair.

    Raises
    ------
    ValueError
        If a pair is not two mode indices below N.
    """
    eigs = np.asarray(eigenvalues, dtype=np.float64)
    pairs = [tuple(p) for p in pairs]
    for p in pairs:
        if len(p) != 2 or not all(0 <= q < eigs.shape[-1] for q in p):
            raise ValueError(f"pairs: each must be two mode indices < {eigs.shape[-1]}, got {p}")
    if not pairs:
        return np.empty(eigs.shape[:-1] + (0,))
    lower = np.array([p[0] for p in pairs])
    upper = np.array([p[1] for p in pairs])
    return eigs[..., upper] - eigs[..., lower]
