"""Every fitted number of an ensemble, with its error, as plain data (summary.json)."""

from __future__ import annotations

import os
from dataclasses import asdict

import numpy as np

from .fits import fit_gaussian, fit_semicircle2, fit_wigner
from .scaling import scaling_table
from .spacings import degenerate_groups
from .statistics import binder_cumulant, gap_ratio, jackknife


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


def summarize_result(result, snapshots: int = 1) -> dict:
    """Fits of one ensemble: each level ([A.10] for a degenerate pair's pooled levels, a
    Gaussian otherwise), each pair's <S>, Wigner KS and Binder cumulant, the gap ratio."""
    config = result.config
    alive = ~np.asarray(result.failed, bool)
    late = np.asarray(result.eigenvalues)[alive, -snapshots:, :]
    stationary = config.stationary_levels
    widths = config.level_widths
    out = {
        "config": config.to_dict(),
        "seed": result.seed,
        "replicas": int(alive.size),
        "failed": int((~alive).sum()),
        "steps": [int(s) for s in np.asarray(result.steps)[-snapshots:]],
        "levels": [],
        "pairs": [],
    }
    if late.shape[0] < 3:
        out["note"] = "fewer than 3 surviving replicas: nothing fitted"
        return _clean(out)
    for group in degenerate_groups(stationary):
        if len(group) == 2:
            i, j = group
            pooled = late[:, :, [i, j]]
            pair_fit = fit_semicircle2(pooled)
            wigner = fit_wigner(late[:, :, j] - late[:, :, i])
            binder, binder_err = jackknife(binder_cumulant, pooled,
                                           blocks=min(32, pooled.shape[0]))  # fmt: skip
            out["pairs"].append({
                "modes": [i, j], "target": stationary[i], "fit": asdict(pair_fit),
                "mean_spacing": wigner.mean, "mean_spacing_err": wigner.mean_err,
                "wigner_ks_pvalue": wigner.ks_pvalue, "binder": binder, "binder_err": binder_err,
                "predicted_sigma": widths[i],
                "predicted_mean_spacing": np.sqrt(np.pi) * widths[i],
            })  # fmt: skip
        for mode in group:
            level = late[:, :, mode]
            per_replica = level.mean(axis=1)
            out["levels"].append({
                "mode": mode, "target": stationary[mode], "mean": float(level.mean()),
                "mean_err": float(per_replica.std(ddof=1) / np.sqrt(per_replica.size)),
                "std": float(level.std()), "predicted_width": widths[mode],
                "gaussian_fit": asdict(fit_gaussian(level)) if len(group) == 1 else None,
            })  # fmt: skip
    if late.shape[-1] >= 3:
        out["gap_ratio"] = gap_ratio(late[:, -1, :])
    return _clean(out)


def summarize(results, snapshots: int = 1) -> dict:
    """A dict of every fitted number and its error for a result, a scan, or a store.

    ``results``: an EnsembleResult, a list of them (a scan), or the path of a results store
    (``dysonlearn.store``; its finished replicas). For a scan (several results of one
    model), adds the scaling table: the common slopes of <S> and sqrt(pi) sigma against
    sqrt(lr f / B) and lambda_fit / kappa (SPEC B.5).
    """
    if isinstance(results, str | os.PathLike):
        from ..store import load

        results = load(results)
    if not isinstance(results, list | tuple):
        return summarize_result(results, snapshots)
    out = {"points": [summarize_result(r, snapshots) for r in results]}
    if len(results) >= 2:
        out["scaling"] = _clean(scaling_table(results, snapshots).to_dict())
    return out
