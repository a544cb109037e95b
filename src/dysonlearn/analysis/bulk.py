"""Statistics of many levels (:doc:`/theory/statistics`): unfolded bulk spacings against the
Wigner surmise, the gap ratio against GOE and Poisson, and the Marchenko-Pastur law of an
initial spectrum.

Both take an :class:`~dysonlearn.EnsembleResult` or plain arrays of eigenvalues with the
replica axis first, and give their errors over replicas, which are independent.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from .densities import wigner_cdf
from .statistics import jackknife
from .unfolding import METHODS, marchenko_pastur_cdf, unfold

GOE_GAP_RATIO = 0.5307
"""The mean gap ratio :eq:`gap-ratio` of large GOE matrices (Atas, Bogomolny, Giraud and
Roux, Phys. Rev. Lett. 110 (2013) 084101, numerically; the 3 x 3 surmise gives 0.5359)."""

POISSON_GAP_RATIO = 2.0 * math.log(2.0) - 1.0
"""The mean gap ratio :eq:`gap-ratio` of independent (Poisson) levels, 2 ln 2 - 1 = 0.3863."""

_JACKKNIFE_BLOCKS = 64


@dataclass(frozen=True)
class BulkStatistics:
    """Unfolded spacings of the bulk of many spectra and their gap ratio
    (:func:`bulk_statistics`).

    Parameters
    ----------
    spacings : numpy.ndarray
        (R, S, M) unfolded spacings s of the bulk, normalised to mean 1 over all of them:
        R replicas, S spectra each, M spacings per spectrum.
    mean_spacing : float
        The mean unfolded spacing before that normalisation (1 for a perfect unfolding).
    ks_statistic, ks_pvalue : float
        Kolmogorov-Smirnov distance and p-value of the tested spacings against the Wigner
        surmise :eq:`wigner-surmise`.
    poisson_ks_pvalue : float
        The same against the Poisson law P(s) = exp(-s).
    ks_sample : int
        The number of spacings the KS tests use (every ``stride``-th of each spectrum).
    gap_ratio, gap_ratio_err : float
        The mean gap ratio :eq:`gap-ratio` of the bulk levels and its jackknife error over
        replicas.
    n_replicas, n_levels : int
        R, and the levels N of each spectrum.
    bulk : tuple of int
        The levels kept, ``range(*bulk)`` of the ascending spectrum.
    method : str
        The unfolding method of :func:`~dysonlearn.analysis.unfold`.
    """

    spacings: np.ndarray
    mean_spacing: float
    ks_statistic: float
    ks_pvalue: float
    poisson_ks_pvalue: float
    ks_sample: int
    gap_ratio: float
    gap_ratio_err: float
    n_replicas: int
    n_levels: int
    bulk: tuple[int, int]
    method: str

    def gap_ratio_z(self, reference: float = GOE_GAP_RATIO) -> float:
        """(r - reference) / error: how many standard errors the gap ratio lies from a value.

        Parameters
        ----------
        reference : float, optional
            The value to compare with (default :data:`GOE_GAP_RATIO`; also
            :data:`POISSON_GAP_RATIO`).

        Returns
        -------
        float
            The distance in standard errors (inf when the error is 0).
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.divide(self.gap_ratio - reference, self.gap_ratio_err))

    def to_dict(self) -> dict:
        """Plain JSON-able numbers: every field but the spacings, and the two z-values.

        Returns
        -------
        dict
        """
        out = {k: v for k, v in asdict(self).items() if k != "spacings"}
        out["bulk"] = list(self.bulk)
        out["gap_ratio_z_goe"] = self.gap_ratio_z(GOE_GAP_RATIO)
        out["gap_ratio_z_poisson"] = self.gap_ratio_z(POISSON_GAP_RATIO)
        return out


@dataclass(frozen=True)
class MarchenkoPasturTest:
    """A Kolmogorov-Smirnov test of initial eigenvalues against Marchenko-Pastur
    (:func:`marchenko_pastur_test`).

    Parameters
    ----------
    statistic, pvalue : float
        The KS distance and its p-value (eigenvalues treated as independent; see
        :func:`marchenko_pastur_test`).
    ratio : float
        c = min(N_v, N_h) / max(N_v, N_h), in (0, 1].
    sigma_w : float
        The standard deviation of the entries of W.
    n_spectra, n_levels : int
        The spectra tested and the non-zero levels of each, min(N_v, N_h).
    transposed : bool
        True when N_v > N_h: the levels tested are those of W W^T / N_v.
    """

    statistic: float
    pvalue: float
    ratio: float
    sigma_w: float
    n_spectra: int
    n_levels: int
    transposed: bool

    def to_dict(self) -> dict:
        """Plain JSON-able numbers.

        Returns
        -------
        dict
        """
        return asdict(self)


def _replica_spectra(spectra, snapshots: int | None) -> np.ndarray:
    """(R, S, N) finite spectra: a result's usable replicas at its last snapshots, or an
    array (R, N) / (R, S, N)."""
    if hasattr(spectra, "eigenvalues") and hasattr(spectra, "failed"):
        from .fits import usable_replicas

        snapshots = 1 if snapshots is None else snapshots
        if isinstance(snapshots, bool) or not isinstance(snapshots, int) or snapshots < 1:
            raise ValueError(f"snapshots: must be an integer >= 1, got {snapshots!r}")
        keep = usable_replicas(spectra, snapshots)
        return np.asarray(spectra.eigenvalues, dtype=np.float64)[keep, -snapshots:, :]
    if snapshots is not None:
        raise ValueError("snapshots: only for an EnsembleResult; slice an array yourself")
    eigs = np.asarray(spectra, dtype=np.float64)
    if eigs.ndim == 2:
        eigs = eigs[:, None, :]
    if eigs.ndim != 3:
        raise ValueError(
            f"spectra: must be (replica, N) or (replica, snapshot, N), got shape {eigs.shape}"
        )
    if not np.isfinite(eigs).all():
        raise ValueError(
            "spectra: has non-finite levels (diverged replicas? pass the EnsembleResult, "
            "whose diverged replicas are left out)"
        )
    return eigs


def bulk_statistics(
    spectra,
    *,
    snapshots: int | None = None,
    bulk: float = 0.5,
    method: str = "spline",
    stride: int = 3,
    **unfold_options,
) -> BulkStatistics:
    """Unfolded bulk spacings against the Wigner surmise and the gap ratio of many spectra
    (:doc:`/theory/statistics`).

    All spectra are unfolded by one smooth staircase (:func:`~dysonlearn.analysis.unfold`,
    pooled over replicas and snapshots, which must therefore share one level density).
    The middle fraction ``bulk`` of each ascending spectrum is kept (the edges, where the
    density varies fastest, are unfolded worst), and its unfolded spacings are divided by
    their overall mean. The Kolmogorov-Smirnov tests against the Wigner surmise
    :eq:`wigner-surmise` and against exp(-s) assume independent spacings; neighbouring
    spacings of one spectrum are anti-correlated, so they use every ``stride``-th spacing
    of each spectrum. The gap ratio :eq:`gap-ratio` needs no unfolding: it is the mean over
    the raw bulk levels, with its jackknife error over replicas :eq:`jackknife-error`.

    Parameters
    ----------
    spectra : EnsembleResult or array_like
        An ensemble (its usable replicas at its last ``snapshots`` snapshots), or ascending
        spectra (R, N) or (R, S, N) with independent replicas first, N >= 8.
    snapshots : int, optional
        For an ensemble: how many final snapshots to pool (default 1). Snapshots of one
        replica that are closer than its decorrelation time add little to the KS test and
        make its p-value optimistic.
    bulk : float, optional
        The fraction of each spectrum's levels kept, centred, in (0, 1]; at least 4 levels.
    method : str, optional
        The unfolding method (see :func:`~dysonlearn.analysis.unfold`); default "spline".
    stride : int, optional
        The KS tests use spacings 0, stride, 2 stride, ... of each spectrum's bulk, >= 1.
    **unfold_options
        Passed to :func:`~dysonlearn.analysis.unfold` (``knots``, ``degree``, ...).

    Returns
    -------
    BulkStatistics

    Raises
    ------
    ValueError
        Spectra of the wrong shape or with non-finite levels, fewer than 2 replicas,
        ``bulk``, ``stride`` or ``method`` out of range, or an unfolding that fails (see
        :func:`~dysonlearn.analysis.unfold`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> a = rng.normal(size=(40, 200, 200))
    >>> goe = np.linalg.eigvalsh((a + a.transpose(0, 2, 1)) / 2)
    >>> stats = bulk_statistics(goe)
    >>> abs(stats.gap_ratio_z()) < 3, stats.ks_pvalue > 0.01
    (True, True)
    """
    if method not in METHODS:
        raise ValueError(f"method: must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    if isinstance(bulk, bool) or not isinstance(bulk, int | float) or not 0 < bulk <= 1:
        raise ValueError(f"bulk: must be a fraction in (0, 1], got {bulk!r}")
    if isinstance(stride, bool) or not isinstance(stride, int | np.integer) or stride < 1:
        raise ValueError(f"stride: must be an integer >= 1, got {stride!r}")
    eigs = np.sort(_replica_spectra(spectra, snapshots), axis=-1)
    replicas, _, n = eigs.shape
    if replicas < 2:
        raise ValueError(f"spectra: need at least 2 replicas for an error, got {replicas}")
    keep = int(round(bulk * n))
    if keep < 4:
        raise ValueError(
            f"bulk: keeps {keep} of {n} levels per spectrum; at least 4 are needed "
            "(a larger bulk or more levels)"
        )
    lo = (n - keep) // 2
    hi = lo + keep
    unfolded = unfold(eigs, method, **unfold_options)[..., lo:hi]
    raw = np.diff(unfolded, axis=-1)
    mean = float(raw.mean())
    if not mean > 0:
        raise ValueError(
            f"method: the {method!r} unfolding gives a mean bulk spacing {mean:.3g}; "
            "it does not follow the level density (try another method or fewer knots)"
        )
    spacings = raw / mean
    sample = spacings[..., ::stride].ravel()
    wigner = stats.kstest(sample, wigner_cdf)
    poisson = stats.kstest(sample, "expon")
    levels = eigs[..., lo:hi]
    blocks = min(replicas, _JACKKNIFE_BLOCKS)
    ratio, ratio_err = jackknife(_mean_gap_ratio, levels, blocks=blocks)
    return BulkStatistics(
        spacings=spacings, mean_spacing=mean, ks_statistic=float(wigner.statistic),
        ks_pvalue=float(wigner.pvalue), poisson_ks_pvalue=float(poisson.pvalue),
        ks_sample=int(sample.size), gap_ratio=float(ratio), gap_ratio_err=float(ratio_err),
        n_replicas=int(replicas), n_levels=int(n), bulk=(int(lo), int(hi)), method=method,
    )  # fmt: skip


def _mean_gap_ratio(levels: np.ndarray) -> float:
    """The mean of :eq:`gap-ratio` over every spectrum and gap of ascending ``levels``."""
    gaps = np.diff(levels, axis=-1)
    lo = np.minimum(gaps[..., 1:], gaps[..., :-1])
    hi = np.maximum(gaps[..., 1:], gaps[..., :-1])
    with np.errstate(invalid="ignore"):
        r = np.where(hi > 0, lo / np.where(hi > 0, hi, 1.0), 1.0)  # two equal zero gaps: r = 1
    return float(r.mean())


def marchenko_pastur_test(
    spectra,
    *,
    n_visible: int | None = None,
    n_hidden: int | None = None,
    sigma_w: float | None = None,
    sigma_h: float = 1.0,
) -> MarchenkoPasturTest:
    """A Kolmogorov-Smirnov test of initial RBM spectra against Marchenko-Pastur
    :eq:`marchenko-pastur`, for square and non-square layers.

    The eigenvalues x of sigma_h^2 W^T W (W of shape N_h x N_v, entries N(0, sigma_w^2))
    divided by sigma_h^2 N_h follow :eq:`marchenko-pastur` with c = N_v / N_h when
    N_v <= N_h. When N_v > N_h, W^T W has N_v - N_h zero eigenvalues; its N_h others are
    those of W W^T and, divided by sigma_h^2 N_v, follow :eq:`marchenko-pastur` with
    c = N_h / N_v. The KS p-value treats the pooled eigenvalues as independent. Those of
    one matrix are not (they repel): the empirical distribution function of one spectrum
    lies closer to the law than that of independent draws, so the p-value is
    conservative against finite-size wiggles, while a wrong law (another sigma_w or c)
    still gives a distance of its own size and a tiny p-value.

    Parameters
    ----------
    spectra : EnsembleResult or array_like
        An RBM ensemble (its step-0 spectra of every replica whose start is finite, with
        the sizes, sigma_w^2 = ``config.init_variance`` and sigma_h of its
        configuration), or the ascending eigenvalues (..., N_v) of sigma_h^2 W^T W with
        the keyword arguments.
    n_visible, n_hidden : int, optional
        N_v (the levels of each spectrum) and N_h, for arrays.
    sigma_w : float, optional
        The standard deviation of the initial weights, for arrays.
    sigma_h : float, optional
        The hidden width, for arrays (default 1).

    Returns
    -------
    MarchenkoPasturTest

    Raises
    ------
    ValueError
        A result that is not of an RBM, missing or invalid sizes or widths for arrays,
        spectra whose length is not N_v, or no finite spectrum.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.random.default_rng(2).normal(0.0, 0.1, size=(600, 300))
    >>> x = np.linalg.eigvalsh(w.T @ w)
    >>> test = marchenko_pastur_test(x, n_visible=300, n_hidden=600, sigma_w=0.1)
    >>> test.ratio, test.pvalue > 0.01
    (0.5, True)
    """
    if hasattr(spectra, "eigenvalues") and hasattr(spectra, "config"):
        config = spectra.config
        if getattr(config, "kind", None) != "rbm":
            raise ValueError(
                f"spectra: needs an RBM ensemble, got one of {type(config).__name__}"
            )
        n_visible, n_hidden = config.n_visible, config.n_hidden
        sigma_w, sigma_h = math.sqrt(config.init_variance), config.sigma_h
        eigs = np.asarray(spectra.eigenvalues, dtype=np.float64)[:, 0, :]
    else:
        for name, value in (("n_visible", n_visible), ("n_hidden", n_hidden)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name}: must be an integer >= 1 for arrays, got {value!r}")
        if sigma_w is None or not 0 < sigma_w < np.inf:
            raise ValueError(f"sigma_w: must be positive and finite for arrays, got {sigma_w!r}")
        eigs = np.asarray(spectra, dtype=np.float64)
    if not 0 < sigma_h < np.inf:
        raise ValueError(f"sigma_h: must be positive and finite, got {sigma_h!r}")
    if eigs.ndim < 1 or eigs.shape[-1] != n_visible:
        raise ValueError(
            f"spectra: must hold N_v = {n_visible} levels per spectrum, got shape {eigs.shape}"
        )
    eigs = eigs.reshape(-1, n_visible)
    eigs = np.sort(eigs[np.all(np.isfinite(eigs), axis=1)], axis=1)
    if eigs.shape[0] == 0:
        raise ValueError("spectra: no finite spectrum to test")
    small, large = sorted((int(n_visible), int(n_hidden)))
    y = eigs[:, -small:] / (sigma_h * sigma_h * large)
    ratio = small / large
    test = stats.kstest(y.ravel(), lambda v: marchenko_pastur_cdf(v, ratio, sigma_w))
    return MarchenkoPasturTest(
        statistic=float(test.statistic), pvalue=float(test.pvalue), ratio=float(ratio),
        sigma_w=float(sigma_w), n_spectra=int(eigs.shape[0]), n_levels=small,
        transposed=bool(n_visible > n_hidden),
    )  # fmt: skip
