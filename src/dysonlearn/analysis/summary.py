"""Every fitted number of an ensemble, with its error, as plain data (summary.json).

Beside the numbers, two checks say where the data do not support them (``warnings``):

* a fit whose chi^2 has a p-value below :data:`FIT_P_VALUE` (0.001) under the chi^2
  distribution of its degrees of freedom: the fitted law does not describe the data;
* a point whose level means are still moving: per mode, the mean over the pooled
  snapshots minus the mean over as many snapshots just before them (step 0 excluded),
  replica by replica, divided by its standard error over replicas (what a delete-one
  jackknife over replicas gives for a mean); |z| > :data:`STATIONARITY_Z` (3) flags it.
"""

from __future__ import annotations

import os
from dataclasses import asdict

import numpy as np

from ..models import model_for
from .fits import chi2_pvalue, fit_levels, pooled_snapshots, usable_replicas
from .layers import layer_pair_fits
from .scaling import scaling_table
from .spacings import degenerate_groups
from .statistics import gap_ratio
from .timeseries import MIN_RECORDS, time_series_summary

# Below this many usable replicas nothing is fitted (a jackknife needs at least 2 blocks, a
# spread at least 2 values, and every fit of fits.py at least 3 replicas).
_MIN_REPLICAS = 3
FIT_P_VALUE = 1e-3
"""A fit whose chi^2 p-value is below this is flagged: the data do not support it."""
STATIONARITY_Z = 3.0
"""A level mean that moved by more than this many standard errors is flagged."""
FIT_TEST = (
    f"a fit is flagged when the p-value of its chi^2 (chi^2/dof times dof, under the chi^2 "
    f"distribution of dof degrees of freedom) is below {FIT_P_VALUE:g}; the chi^2 of a level "
    "density compares its histogram with the fitted law, and pooled snapshots of one replica "
    "are correlated, which makes it larger"
)
STATIONARITY_TEST = (
    "a point is flagged as not stationary when, for some mode i, the mean of x_i over the "
    "pooled snapshots differs from its mean over as many snapshots just before them (step 0 "
    f"left out) by more than {STATIONARITY_Z:g} standard errors (z = difference / its "
    "standard error over replicas, the jackknife error of a mean); for a recorded time "
    "series, when the means of the first and the last third of the recording differ by "
    f"more than {STATIONARITY_Z:g} of their standard errors over replicas"
)


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

    :eq:`level-width` has a stationary width only for lr c < 2; a configuration outside (built
    around validation, or read from an old store) gets NaN instead of an exception.

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


def summarize_result(result, snapshots: int | None = None, fits=None) -> dict:
    """Fits of one ensemble: each level (:eq:`semicircle2` for a degenerate pair's pooled levels, a
    Gaussian otherwise), each pair's <S>, Wigner KS and Binder cumulant, the gap ratio.

    A recorded time series (its configuration's ``record_every`` set) also gets
    ``time_series`` (:func:`time_series_record`: per mode and per spacing the time mean with
    its error, the autocorrelation times, the effective samples and the relaxation rate
    beside the model's prediction), and its stationarity test compares the first and last
    thirds of the recording.

    Replicas that diverged (``result.failed``) or hold non-finite values in the analysed
    snapshots are skipped: ``replicas`` counts all of them, ``failed`` those that diverged,
    ``analysed`` those the numbers come from. With fewer than 3 left nothing is fitted and
    ``note`` says why (e.g. "64 replicas, all diverged: no statistics"); a fit that fails on
    the survivors is left out with a note instead of raising.

    Parameters
    ----------
    result : EnsembleResult
        The ensemble.
    snapshots : int, optional
        Pool the last ``snapshots`` snapshots (default:
        :func:`~dysonlearn.analysis.fits.pooled_snapshots`, the last one, or every record of
        a time series but step 0).
    fits : list of GroupFit, optional
        :func:`~dysonlearn.analysis.fits.fit_levels` of those snapshots, if already had.

    Returns
    -------
    dict
        JSON-safe (NaN as None). A model with layers (the deep linear model) adds
        ``layers``: :func:`~dysonlearn.analysis.layer_pair_fits` at the last snapshot.
    """
    config = result.config
    snapshots = pooled_snapshots(result, snapshots)
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
    layers = layer_pair_fits(result)
    if layers:
        out["layers"] = [asdict(fit) for fit in layers]
    optimizer = getattr(config, "optimizer", None)
    if optimizer is not None and not optimizer.has_theory:
        problems.append(f"no closed form for the level widths under the {optimizer.kind} "
                        "optimizer: predicted widths and spacings are null (fit the scan "
                        "with analysis.fit_power_law)")  # fmt: skip
    if problems:
        out["note"] = "; ".join(problems)
    series = time_series_record(result, snapshots)
    if series is not None:
        out["time_series"] = series
        out["stationarity"] = _thirds(series, out["steps"])
    else:
        out["stationarity"] = stationarity(result, snapshots)
    out["warnings"] = point_warnings(out)
    return _clean(out)


def time_series_record(result, snapshots: int | None = None) -> dict | None:
    """The time-series statistics of a recorded point, or None for a point of snapshots.

    :func:`~dysonlearn.analysis.timeseries.time_series_summary` of the pooled records (step
    0 left out), each mode with ``predicted_rate``, the model's harmonic relaxation rate
    per unit t = lr * step (:meth:`~dysonlearn.models.Model.relaxation_rates`), beside the
    ``rate`` measured from the decay of its autocorrelation :eq:`acf-decay`, and each
    spacing of a degenerate pair with ``predicted_rate`` 2 c (the pair's repulsion,
    linearised, doubles the restoring rate of their difference; None for other spacings).

    Parameters
    ----------
    result : EnsembleResult
        One point.
    snapshots : int, optional
        The pooled records (default: all but step 0).

    Returns
    -------
    dict or None
        None when the configuration records snapshots rather than a time series, or when
        fewer than the records the estimators need (``3 * MIN_RECORDS``) are pooled
        (then a dict with only ``note``).
    """
    config = result.config
    if not getattr(config, "is_time_series", False):
        return None
    pool = pooled_snapshots(result, snapshots)
    if pool < 3 * MIN_RECORDS:
        return {"note": f"{pool} records pooled: the time-series statistics need at least "
                        f"{3 * MIN_RECORDS}"}  # fmt: skip
    keep = ~np.asarray(result.failed, bool)
    eigs = np.asarray(result.eigenvalues, dtype=np.float64)[keep, -pool:, :]
    steps = np.asarray(result.steps)[-pool:]
    if eigs.shape[0] == 0:
        return {"note": "no replica left to analyse"}
    out = time_series_summary(eigs, steps, lr=config.lr)
    rates = np.asarray(model_for(config).relaxation_rates(config), dtype=np.float64)
    for entry in out.get("modes", []):
        entry["predicted_rate"] = rates[entry["mode"]]
    # The spacing r of a degenerate pair feels the drift and the pair's repulsion, which
    # linearised about its typical value doubles the restoring rate: 2 c.
    pairs = {tuple(g) for g in degenerate_groups(config.stationary_levels) if len(g) == 2}
    for entry in out.get("spacings", []):
        i, j = entry["modes"]
        entry["predicted_rate"] = 2 * rates[i] if (i, j) in pairs else None
    return _clean(out)


def _thirds(series: dict, steps: list) -> dict:
    """The stationarity record of a time series: its first third against its last."""
    if "modes" not in series:
        return {"tested": False, "reason": series.get("note", "no time-series statistics")}
    third = max(1, len(steps) // 3)
    z = [m.get("stationarity_z") for m in series["modes"]]
    finite = [abs(v) for v in z if v is not None]
    return {
        "tested": bool(finite),
        "method": "thirds",
        "steps": [steps[-third], steps[-1]],
        "earlier_steps": [steps[0], steps[third - 1]],
        "z": z,
        "max_abs_z": max(finite) if finite else None,
        "threshold": series.get("threshold", STATIONARITY_Z),
        "flagged_modes": list(series.get("flagged_modes", [])),
    }


def stationarity(result, snapshots: int = 1, threshold: float = STATIONARITY_Z) -> dict:
    """Whether the level means still move: the pooled snapshots against those before them.

    Per mode i and replica r, d_ri = (mean of x_i over the last ``snapshots`` snapshots) -
    (mean over the k <= ``snapshots`` snapshots just before them, step 0 left out); z_i is
    the mean of d_ri over replicas divided by its standard error over replicas (the
    delete-one jackknife error of a mean). Replicas are independent, so the error is
    honest however correlated the snapshots of one replica are.

    Parameters
    ----------
    result : EnsembleResult
        One scan point.
    snapshots : int
        The pooled snapshots.
    threshold : float
        |z| above this flags a mode.

    Returns
    -------
    dict
        ``tested`` (False, with ``reason``, when no snapshot other than step 0 precedes
        the pooled ones or fewer than 3 replicas are usable); else ``steps`` and
        ``earlier_steps`` compared, ``z`` per mode, ``max_abs_z``, ``threshold`` and
        ``flagged_modes``.

    Examples
    --------
    >>> import dysonlearn as dl
    >>> res = dl.run_ensemble(dl.DysonConfig(steps=2000, snapshots=4), replicas=64,
    ...                       seed=1, progress=False, backend="serial")
    >>> stationarity(res)["tested"]
    True
    """
    eigs = np.asarray(result.eigenvalues, dtype=np.float64)
    steps = np.asarray(result.steps)
    earlier = min(snapshots, eigs.shape[1] - snapshots - 1)
    if earlier < 1:
        return {"tested": False, "reason": "no snapshot before the pooled ones but step 0"}
    usable = usable_replicas(result, snapshots + earlier)
    if usable.sum() < _MIN_REPLICAS:
        return {"tested": False, "reason": "fewer than 3 usable replicas"}
    eigs = eigs[usable]
    late = eigs[:, -snapshots:, :].mean(axis=1)
    before = eigs[:, -snapshots - earlier : -snapshots, :].mean(axis=1)
    diff = late - before
    error = diff.std(axis=0, ddof=1) / np.sqrt(diff.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(error > 0, diff.mean(axis=0) / error, 0.0)
    return {
        "tested": True,
        "steps": [int(v) for v in steps[-snapshots:]],
        "earlier_steps": [int(v) for v in steps[-snapshots - earlier : -snapshots]],
        "z": [float(v) for v in z],
        "max_abs_z": float(np.max(np.abs(z))),
        "threshold": float(threshold),
        "flagged_modes": [int(m) for m in np.flatnonzero(np.abs(z) > threshold)],
    }


def _span(steps: list) -> str:
    return f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}-{steps[-1]}"


def point_warnings(point: dict) -> list[str]:
    """The warnings of one point's summary: fits the data do not support (chi^2 p-value
    below :data:`FIT_P_VALUE`) and level means still moving (:func:`stationarity`).

    Parameters
    ----------
    point : dict
        What :func:`summarize_result` builds (its ``levels``, ``pairs`` and
        ``stationarity``).

    Returns
    -------
    list of str
        One sentence each, empty when nothing is flagged.
    """
    out = []
    test = point.get("stationarity") or {}
    if test.get("flagged_modes"):
        modes = ", ".join(str(m) for m in test["flagged_modes"])
        out.append(
            f"not stationary: the mean of x_i for i = {modes} moved between "
            f"{_span(test['earlier_steps'])} and {_span(test['steps'])} "
            f"(|z| up to {test['max_abs_z']:.1f} > {test['threshold']:g}); train longer"
        )
    fits = [(pair.get("fit"), f"pair {pair['modes'][0]}-{pair['modes'][1]}: the two-level "
             "semicircle does not describe the pooled levels")
            for pair in point.get("pairs", [])]  # fmt: skip
    fits += [(level.get("gaussian_fit"), f"mode {level['mode']}: a Gaussian does not "
              f"describe x_{level['mode']}") for level in point.get("levels", [])]  # fmt: skip
    for fit, what in fits:
        fit = fit or {}
        if fit.get("p_value") is not None and fit["p_value"] < FIT_P_VALUE:
            out.append(f"{what} (chi^2/dof = {fit['chi2_dof']:.3g}, "
                       f"p = {fit['p_value']:.2g} < {FIT_P_VALUE:g})")  # fmt: skip
    return out


def _fit_record(fit) -> dict:
    """A LevelFit as a dict, with the p-value of its chi^2."""
    record = asdict(fit)
    record["p_value"] = chi2_pvalue(fit.chi2_dof, fit.dof)
    return record


def slope_record(fit) -> dict | None:
    """A SlopeFit as a dict, with its degrees of freedom (n - 1) and chi^2 p-value.

    Parameters
    ----------
    fit : SlopeFit or None

    Returns
    -------
    dict or None
    """
    if fit is None:
        return None
    return asdict(fit) | {"dof": fit.n - 1, "p_value": chi2_pvalue(fit.chi2_dof, fit.n - 1)}


def _fitted_groups(out: dict, config, late: np.ndarray, fits) -> list[str]:
    """Append the level and pair entries of every group to ``out``; return the problems."""
    model = model_for(config)
    stationary = model.stationary_levels(config)
    widths = predicted_widths(config)
    factors = model.finite_lr_factors(config)
    problems = []
    for group in fits:
        if len(group.modes) == 2:
            i, j = group.modes
            if group.error is not None:
                problems.append(f"pair {i}-{j} not fitted ({group.error})")
            else:
                entry = {
                    "modes": [i, j], "target": stationary[i], "fit": _fit_record(group.pair),
                    "mean_spacing": group.wigner.mean,
                    "mean_spacing_err": group.wigner.mean_err,
                    "wigner_ks_pvalue": group.wigner.ks_pvalue, "binder": group.binder,
                    "binder_err": group.binder_err, "predicted_sigma": widths[i],
                    "predicted_mean_spacing": np.sqrt(np.pi) * widths[i],
                }  # fmt: skip
                if factors is not None:
                    # The alpha -> 0 prediction, and f by which finite alpha widens it.
                    entry["finite_lr_factor"] = factors[i]
                    with np.errstate(all="ignore"):  # NaN (null) where f has no value
                        entry["predicted_mean_spacing_small_lr"] = (
                            np.sqrt(np.pi) * widths[i] / factors[i]
                        )
                out["pairs"].append(entry)
        for mode in group.modes:
            level = late[:, :, mode]
            per_replica = level.mean(axis=1)
            gaussian = None
            if len(group.modes) == 1:
                if group.error is not None:
                    problems.append(f"mode {mode}: Gaussian not fitted ({group.error})")
                else:
                    gaussian = _fit_record(group.gaussians[0])
            out["levels"].append({
                "mode": mode, "target": stationary[mode], "mean": float(level.mean()),
                "mean_err": float(per_replica.std(ddof=1) / np.sqrt(per_replica.size)),
                "std": float(level.std()), "predicted_width": widths[mode],
                "gaussian_fit": gaussian,
            })  # fmt: skip
    return problems


def summarize(results, snapshots: int | None = None, fits=None) -> dict:
    """A dict of every fitted number and its error for a result, a scan, or a store.

    Diverged replicas are skipped everywhere and counted (see :func:`summarize_result`);
    a point where none survive has no fitted numbers, a note, and no row in the scaling
    table, which lists it under ``skipped_points``.

    Parameters
    ----------
    results : EnsembleResult, list of EnsembleResult, str or os.PathLike
        One result, a scan, or the path of a results store (``dysonlearn.store``; its
        finished replicas; a store of one point is summarised as one result).
    snapshots : int, optional
        Pool the last ``snapshots`` snapshots of every replica (default: the last one, or
        every record of a time series but step 0;
        :func:`~dysonlearn.analysis.fits.pooled_snapshots`).
    fits : list, optional
        For a scan, each point's :func:`point_fits`, if the caller has them already.

    Returns
    -------
    dict
        For one result, :func:`summarize_result`; for a scan, ``points`` (one each),
        ``replicas`` and ``failed`` (totals over the points) and, with two points or more,
        the scaling table: the common slopes of <S> and sqrt(pi) sigma against
        sqrt(lr f / B) and lambda_fit / kappa (:doc:`/theory/rbm`).
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
        out["scaling"] = _clean(scaling_summary(results, snapshots, fits))
    return out


def scaling_summary(results, snapshots: int | None = None, fits=None) -> dict:
    """The scaling table of a scan as a dict, each slope with its chi^2 p-value and its
    prediction, and ``warnings`` for the slopes the points do not support.

    Parameters
    ----------
    results : list of EnsembleResult
        A scan of one model.
    snapshots : int, optional
        Pool the last ``snapshots`` snapshots (default as for :func:`summarize`).
    fits : list, optional
        Each point's :func:`point_fits`.

    Returns
    -------
    dict
        :meth:`~dysonlearn.analysis.scaling.ScalingTable.to_dict`, its slopes as
        :func:`slope_record`, plus ``predicted_spacing_slope`` (the model's alpha -> 0
        slope of <S>, and of sqrt(pi) sigma, against the scaling variable),
        ``predicted_spacing_vs_width`` (1) and ``warnings``.
    """
    table = scaling_table(results, snapshots, fits)
    out = table.to_dict()
    names = {"spacing_slope": "<S>", "width_slope": "sqrt(pi) sigma",
             "spacing_vs_width": "<S> against sqrt(pi) sigma"}  # fmt: skip
    warnings = []
    for key, name in names.items():
        out[key] = slope_record(getattr(table, key))
        fit = out[key]
        if fit is not None and fit["p_value"] is not None and fit["p_value"] < FIT_P_VALUE:
            warnings.append(
                f"the common slope of {name} does not describe the points (chi^2/dof = "
                f"{fit['chi2_dof']:.3g}, p = {fit['p_value']:.2g} < {FIT_P_VALUE:g})"
            )
    config = results[0].config
    out["predicted_spacing_slope"] = model_for(config).predicted_slope(config)[0]
    out["predicted_spacing_vs_width"] = 1.0
    out["warnings"] = warnings
    return out


def point_fits(result, snapshots: int | None = None):
    """:func:`~dysonlearn.analysis.fits.fit_levels` of a point's usable replicas over its
    last ``snapshots`` snapshots: the one fit that its summary, the scaling table and its
    figures share.

    Parameters
    ----------
    result : EnsembleResult
        One scan point.
    snapshots : int, optional
        Pool the last ``snapshots`` snapshots (default as for :func:`summarize`).

    Returns
    -------
    list of GroupFit or None
        None when fewer than 3 replicas are usable (nothing can be fitted).
    """
    snapshots = pooled_snapshots(result, snapshots)
    usable = usable_replicas(result, snapshots)
    if usable.sum() < _MIN_REPLICAS:
        return None
    late = np.asarray(result.eigenvalues)[usable, -snapshots:, :]
    return fit_levels(model_for(result.config).stationary_levels(result.config), late)
