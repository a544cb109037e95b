"""Every fitted number of an ensemble, with its error, as plain data (summary.json)."""

from __future__ import annotations

import os
from dataclasses import asdict

import numpy as np

from ..models import model_for
from .fits import fit_levels, usable_replicas
from .scaling import scaling_table
from .statistics import gap_ratio

# Below this many usable replicas nothing is fitted (a jackknife needs at least 2 blocks, a
# spread at least 2 values, and every fit of fits.py at least 3 replicas).
_MIN_REPLICAS = 3


def _clean(value):
    """JSON-safe: NumPy scalars as Python numbers, NaN as None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def replica_note(replicas: int, failed: int, usable: int) -> str | None:
    """Why an ensemble has no statistics, in one line, or None when it has.

    Parameters
    ----------
    replicas, failed, usable : int
        Replicas in all, those that diverged, those left to analyse.

    Returns
    -------
    str or None
        E.g. "64 replicas, all diverged: no statistics".
    """
    if usable >= _MIN_REPLICAS:
        return None
    if replicas == 0:
        return "no replicas: no statistics"
    if failed == replicas:
        return f"{replicas} replicas, all diverged: no statistics"
    return (f"{replicas} replicas, {failed} diverged, {usable} usable: fewer than "
            f"{_MIN_REPLICAS}, no statistics")  # fmt: skip


def predicted_widths(config) -> np.ndarray:
    """The model's predicted level widths, NaN where the formula has no value.

    [A.6] has a stationary width only for lr c < 2; a configuration outside (built around
    validation, or read from an old store) gets NaN instead of an exception.

    Parameters
    ----------
    config : model configuration
        Of a registered model (:meth:`dysonlearn.models.Model.level_widths`).

    Returns
    -------
    numpy.ndarray
        (N,) predicted widths, NaN where undefined.
    """
    try:
        with np.errstate(all="ignore"):
            widths = np.asarray(model_for(config).level_widths(config), dtype=np.float64)
    except (ArithmeticError, ValueError):
        return np.full(config.n_modes, np.nan)
    return np.where(np.isfinite(widths), widths, np.nan)


def summarize_result(result, snapshots: int = 1, fits=None) -> dict:
    """Fits of one ensemble: each level ([A.10] for a degenerate pair's pooled levels, a
    Gaussian otherwise), each pair's <S>, Wigner KS and Binder cumulant, the gap ratio.

    Replicas that diverged (``result.failed``) or hold non-finite values in the analysed
    snapshots are skipped: ``replicas`` counts all of them, ``failed`` those that diverged,
    ``analysed`` those the numbers come from. With fewer than 3 left nothing is fitted and
    ``note`` says why (e.g. "64 replicas, all diverged: no statistics"); a fit that fails on
    the survivors is left out with a note instead of raising.

    Parameters
    ----------
    result : EnsembleResult
        The ensemble.
    snapshots : int
        Pool the last ``snapshots`` snapshots.
    fits : list of GroupFit, optional
        :func:`~dysonlearn.analysis.fits.fit_levels` of those snapshots, if already had.

    Returns
    -------
    dict
        JSON-safe (NaN as None).
    """
    config = result.config
    failed = np.asarray(result.failed, bool)
    usable = usable_replicas(result, snapshots)
    late = np.asarray(result.eigenvalues)[usable, -snapshots:, :]
    out = {
        "config": config.to_dict(),
        "seed": result.seed,
        "replicas": int(failed.size),
        "failed": int(failed.sum()),
        "analysed": int(usable.sum()),
        "steps": [int(s) for s in np.asarray(result.steps)[-snapshots:]],
        "levels": [],
        "pairs": [],
    }
    if failed.any():
        out["fail_steps"] = {
            "first": int(np.min(result.fail_step[failed])),
            "last": int(np.max(result.fail_step[failed])),
        }
    note = replica_note(out["replicas"], out["failed"], out["analysed"])
    if note is not None:
        out["note"] = note
        return _clean(out)
    if fits is None:
        fits = fit_levels(model_for(config).stationary_levels(config), late)
    problems = _fitted_groups(out, config, late, fits)
    if late.shape[-1] >= 3:
        out["gap_ratio"] = gap_ratio(late[:, -1, :])
    if problems:
        out["note"] = "; ".join(problems)
    return _clean(out)


def _fitted_groups(out: dict, config, late: np.ndarray, fits) -> list[str]:
    """Append the level and pair entries of every group to ``out``; return the problems."""
    stationary = model_for(config).stationary_levels(config)
    widths = predicted_widths(config)
    problems = []
    for group in fits:
        if len(group.modes) == 2:
            i, j = group.modes
            if group.error is not None:
                problems.append(f"pair {i}-{j} not fitted ({group.error})")
            else:
                out["pairs"].append({
                    "modes": [i, j], "target": stationary[i], "fit": asdict(group.pair),
                    "mean_spacing": group.wigner.mean,
                    "mean_spacing_err": group.wigner.mean_err,
                    "wigner_ks_pvalue": group.wigner.ks_pvalue, "binder": group.binder,
                    "binder_err": group.binder_err, "predicted_sigma": widths[i],
                    "predicted_mean_spacing": np.sqrt(np.pi) * widths[i],
                })  # fmt: skip
        for mode in group.modes:
            level = late[:, :, mode]
            per_replica = level.mean(axis=1)
            gaussian = None
            if len(group.modes) == 1:
                if group.error is not None:
                    problems.append(f"mode {mode}: Gaussian not fitted ({group.error})")
                else:
                    gaussian = asdict(group.gaussians[0])
            out["levels"].append({
                "mode": mode, "target": stationary[mode], "mean": float(level.mean()),
                "mean_err": float(per_replica.std(ddof=1) / np.sqrt(per_replica.size)),
                "std": float(level.std()), "predicted_width": widths[mode],
                "gaussian_fit": gaussian,
            })  # fmt: skip
    return problems


def summarize(results, snapshots: int = 1, fits=None) -> dict:
    """A dict of every fitted number and its error for a result, a scan, or a store.

    Diverged replicas are skipped everywhere and counted (see :func:`summarize_result`);
    a point where none survive has no fitted numbers, a note, and no row in the scaling
    table, which lists it under ``skipped_points``.

    Parameters
    ----------
    results : EnsembleResult, list of EnsembleResult, str or os.PathLike
        One result, a scan, or the path of a results store (``dysonlearn.store``; its
        finished replicas; a store of one point is summarised as one result).
    snapshots : int
        Pool the last ``snapshots`` snapshots of every replica.
    fits : list, optional
        For a scan, each point's :func:`point_fits`, if the caller has them already.

    Returns
    -------
    dict
        For one result, :func:`summarize_result`; for a scan, ``points`` (one each),
        ``replicas`` and ``failed`` (totals over the points) and, with two points or more,
        the scaling table: the common slopes of <S> and sqrt(pi) sigma against
        sqrt(lr f / B) and lambda_fit / kappa (SPEC B.5).
    """
    if isinstance(results, str | os.PathLike):
        from ..store import load

        results = load(results)
        if len(results) == 1:  # a store of one run is summarised as that run
            results = results[0]
    if not isinstance(results, list | tuple):
        return summarize_result(results, snapshots)
    # One fit per point, shared by the point's summary and the scaling table.
    if fits is None:
        fits = [point_fits(r, snapshots) for r in results]
    points = [summarize_result(r, snapshots, f) for r, f in zip(results, fits, strict=True)]
    out = {
        "points": points,
        "replicas": sum(p["replicas"] for p in points),
        "failed": sum(p["failed"] for p in points),
    }
    if len(results) >= 2:
        out["scaling"] = _clean(scaling_table(results, snapshots, fits).to_dict())
    return out


def point_fits(result, snapshots: int = 1):
    """:func:`~dysonlearn.analysis.fits.fit_levels` of a point's usable replicas over its
    last ``snapshots`` snapshots: the one fit that its summary, the scaling table and its
    figures share.

    Parameters
    ----------
    result : EnsembleResult
        One scan point.
    snapshots : int
        Pool the last ``snapshots`` snapshots.

    Returns
    -------
    list of GroupFit or None
        None when fewer than 3 replicas are usable (nothing can be fitted).
    """
    usable = usable_replicas(result, snapshots)
    if usable.sum() < _MIN_REPLICAS:
        return None
    late = np.asarray(result.eigenvalues)[usable, -snapshots:, :]
    return fit_levels(model_for(result.config).stationary_levels(result.config), late)
