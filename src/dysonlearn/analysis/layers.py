"""Each layer's spectrum of a deep linear network (:doc:`/theory/deep_linear`): the pairs of
singular values a degenerate teacher pair gives every layer, their spacing against the
Wigner surmise and against the free diffusion :eq:`dl-layer-spacing`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .fits import fit_wigner
from .spacings import degenerate_groups, level_spacings

WIGNER_SMALL_FRACTION = 1.0 - math.exp(-math.pi / 16.0)
"""P(S < <S>/2) of the Wigner surmise :eq:`wigner-surmise`, 1 - exp(-pi/16) = 0.178: a pair
that repels."""
POISSON_SMALL_FRACTION = 1.0 - math.exp(-0.5)
"""P(S < <S>/2) of Poisson spacings, 1 - exp(-1/2) = 0.393: no repulsion."""


@dataclass(frozen=True)
class LayerPairFit:
    """One layer's pair of singular values for one degenerate pair of the teacher, at one
    snapshot.

    Parameters
    ----------
    layer : int
        l, 1 for W_1 up to L.
    modes : tuple of int
        The teacher's pair (i, j): indices of the ascending end-to-end spectrum.
    values : tuple of int
        The same pair in the layer's ascending singular values (the layer's largest
        values carry the teacher's modes; a wider layer has more, near zero, below them).
    step : int
        The snapshot's training step.
    mean, mean_err : float
        <S_l> over the replicas and its standard error.
    ks_pvalue : float
        Kolmogorov-Smirnov p-value of S_l / <S_l> against the Wigner surmise.
    small_fraction : float
        The fraction of spacings below <S_l> / 2 (Wigner: 0.178, Poisson: 0.393).
    n : int
        The number of spacings (replicas analysed).
    predicted : float or None
        :meth:`DeepLinearConfig.layer_pair_spacing
        <dysonlearn.DeepLinearConfig.layer_pair_spacing>` at ``step`` when the replicas
        started exactly balanced (``init = "balanced"``, ``init_std = 0``) under SGD; None
        otherwise (the initial imbalance then adds to the diffusion).
    """

    layer: int
    modes: tuple
    values: tuple
    step: int
    mean: float
    mean_err: float
    ks_pvalue: float
    small_fraction: float
    n: int
    predicted: float | None


def layer_pairs(config, layer: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The teacher's degenerate pairs as a layer's singular values carry them.

    Parameters
    ----------
    config : DeepLinearConfig
        The configuration (its teacher and widths).
    layer : int
        l in 1 .. L.

    Returns
    -------
    list of ((int, int), (int, int))
        For each pair of adjacent levels in a degenerate group of the teacher's singular
        values: its indices in the end-to-end spectrum and in the layer's (a pair the layer
        is too narrow to carry is left out).

    Raises
    ------
    ValueError
        If ``layer`` is not in 1 .. L.
    """
    if not 1 <= layer <= config.n_layers:
        raise ValueError(f"layer: must be in 1 .. {config.n_layers}, got {layer!r}")
    offset = config.layer_modes[layer - 1] - config.n_modes
    out = []
    for group in degenerate_groups(config.stationary_levels):
        for i, j in zip(group[:-1], group[1:]):
            if i + offset >= 0:
                out.append(((i, j), (i + offset, j + offset)))
    return out


def layer_pair_fits(result, snapshot: int = -1) -> list[LayerPairFit]:
    """The spacing of every layer's pairs (:func:`layer_pairs`) at one snapshot.

    One snapshot, not several pooled: a layer's pair keeps opening as the layers diffuse
    :eq:`dl-layer-spacing`, so snapshots at different steps do not sample one law.

    Parameters
    ----------
    result : EnsembleResult
        A deep linear ensemble (its ``layer_eigenvalues`` recorded).
    snapshot : int
        The snapshot's index (default: the last).

    Returns
    -------
    list of LayerPairFit
        Layer by layer, pair by pair; empty when the result has no layer spectra, no
        degenerate pair, or fewer than 3 replicas alive and finite at the snapshot.
    """
    layers = result.layer_eigenvalues
    if layers is None:
        return []
    config = result.config
    step = int(np.asarray(result.steps)[snapshot])
    # The free diffusion is the whole spread only from exactly balanced layers under SGD.
    predicted = None
    if getattr(config, "init", None) == "balanced" and config.init_std == 0:
        predicted = float(config.layer_pair_spacing(step))
        if not math.isfinite(predicted):
            predicted = None
    out = []
    for layer, values in enumerate(layers, start=1):
        at = np.asarray(values)[:, snapshot, :]
        alive = ~np.asarray(result.failed, bool) & np.all(np.isfinite(at), axis=1)
        if alive.sum() < 3:
            continue
        for modes, index in layer_pairs(config, layer):
            s = level_spacings(at[alive], [index])[:, 0]
            fit = fit_wigner(s[:, None])
            out.append(LayerPairFit(
                layer, modes, index, step, fit.mean, fit.mean_err, fit.ks_pvalue,
                float(np.mean(s < 0.5 * fit.mean)), fit.n, predicted,
            ))  # fmt: skip
    return out
