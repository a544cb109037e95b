"""Degenerate groups of a target spectrum and the spacings of learnt levels (SPEC D)."""

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

    Returns every group, singletons included, in ascending order of level.
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
    """Spacings S = x_j - x_i of sorted eigenvalues (..., N) for index pairs (i, j): (..., P)."""
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
