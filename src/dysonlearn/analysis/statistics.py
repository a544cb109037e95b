"""Estimators with errors: jackknife, Binder cumulant, gap ratio, histogram bins
(:doc:`/theory/statistics`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def jackknife(
    statistic: Callable[[np.ndarray], float | np.ndarray],
    data,
    blocks: int | None = None,
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Jackknife estimate and standard error of ``statistic(data)`` over the first axis.

    With ``blocks=None`` each entry along axis 0 is left out in turn (delete-one); with
    ``blocks=k`` the data are cut into k contiguous blocks, left out one at a time (use it
    when consecutive entries are correlated, or to save time on large ensembles). Pass the
    replica axis first: replicas are independent, so the error is honest even when the
    values within one replica (its snapshots, its modes) are correlated.

    Parameters
    ----------
    statistic : callable
        Maps an array (a subset of ``data`` along axis 0) to a number or an array.
    data : array_like
        The data, entries along axis 0 (replicas first).
    blocks : int, optional
        Number of contiguous blocks left out in turn (2 <= blocks <= len(data)); default:
        delete-one.

    Returns
    -------
    estimate : float or numpy.ndarray
        The statistic on all the data.
    error : float or numpy.ndarray
        Its jackknife standard error.

    Raises
    ------
    ValueError
        If ``blocks`` is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> estimate, error = jackknife(np.mean, np.arange(10.0))
    >>> estimate, round(error, 4)
    (4.5, 0.9574)
    """
    data = np.asarray(data)
    n = data.shape[0]
    if blocks is None:
        blocks = n
    if not 2 <= blocks <= n:
        raise ValueError(f"blocks: must be between 2 and the number of entries {n}, got {blocks}")
    edges = np.linspace(0, n, blocks + 1).astype(int)
    full = np.asarray(statistic(data), dtype=np.float64)
    leave_out = np.array(
        [
            statistic(np.concatenate([data[: edges[b]], data[edges[b + 1] :]]))
            for b in range(blocks)
        ],
        dtype=np.float64,
    )
    mean = leave_out.mean(axis=0)
    error = np.sqrt((blocks - 1) / blocks * np.sum((leave_out - mean) ** 2, axis=0))
    if full.ndim == 0:
        return float(full), float(error)
    return full, error


def binder_cumulant(samples) -> float:
    """U = 1 - <y^4> / (3 <y^2>^2) of the samples centred on their mean
    (:doc:`/theory/two_levels`).

    0 for a Gaussian (a non-degenerate level), 4/27 = 0.1481 for the pooled levels of a
    degenerate pair :eq:`semicircle2`. Its error: ``jackknife(binder_cumulant,
    samples_by_replica)``.

    Parameters
    ----------
    samples : array_like
        The samples (any shape; flattened).

    Returns
    -------
    float
        U.
    """
    y = np.asarray(samples, dtype=np.float64).ravel()
    y = y - y.mean()
    second = np.mean(y * y)
    return float(1.0 - np.mean(y**4) / (3.0 * second * second))


def gap_ratio(eigenvalues) -> float:
    """Mean adjacent-gap ratio <min(d_n, d_n+1) / max(d_n, d_n+1)> of sorted spectra (..., N).

    Needs no unfolding: 0.5307 for GOE, 0.3863 for Poisson levels (:doc:`/theory/statistics`).

    Parameters
    ----------
    eigenvalues : array_like
        (..., N) spectra, N >= 3 (sorted here).

    Returns
    -------
    float
        The mean ratio over all spectra and gaps.

    Raises
    ------
    ValueError
        If a spectrum has fewer than 3 levels.
    """
    levels = np.sort(np.asarray(eigenvalues, dtype=np.float64), axis=-1)
    if levels.shape[-1] < 3:
        raise ValueError("eigenvalues: the gap ratio needs at least 3 levels per spectrum")
    gaps = np.diff(levels, axis=-1)
    lo = np.minimum(gaps[..., 1:], gaps[..., :-1])
    hi = np.maximum(gaps[..., 1:], gaps[..., :-1])
    return float(np.mean(lo / hi))


# A heavy tail (a few replicas far out, as near the edge of stability) makes the range many
# thousand interquartile ranges wide; FD's width would then ask for millions of bins.
MAX_BINS = 1000


def freedman_diaconis_bins(x) -> np.ndarray:
    """Histogram bin edges of width 2 IQR / n^(1/3) spanning the data (:doc:`/theory/statistics`).

    At most ``MAX_BINS`` bins: beyond that (a heavy tail) the bins are widened to span the
    data in ``MAX_BINS``. Non-finite values are ignored.

    Parameters
    ----------
    x : array_like
        The data (any shape; flattened).

    Returns
    -------
    numpy.ndarray
        The bin edges, increasing.

    Raises
    ------
    ValueError
        If fewer than two values are finite.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size < 2:
        raise ValueError("x: need at least two finite values")
    q75, q25 = np.percentile(x, [75, 25])
    width = 2.0 * (q75 - q25) / np.cbrt(x.size)
    lo, hi = x.min(), x.max()
    if width <= 0 or hi <= lo:
        return np.array([lo - 0.5, hi + 0.5])
    count = max(1, int(min(np.ceil((hi - lo) / width), MAX_BINS)))
    if count == MAX_BINS:
        width = max(width, (hi - lo) / MAX_BINS)
    return np.linspace(lo, lo + count * width, count + 1)
