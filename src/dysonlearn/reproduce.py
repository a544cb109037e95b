"""The article's experiments (SPEC B.3 and C) at three scales, and the comparison table.

RBM: lr in {0.01, 0.02, 0.04, 0.06, 0.08, 0.1} at B = 16 and B in {4, 8, 16, 32, 64} at
lr = 0.1 (ten settings), the reference model of SPEC B.3. Teacher-student: N = 2,
kappa = (2, 2), lr in 0.1..0.5, B in 4..64 and A in {0.05, 0.075, 0.1} around
(lr, B, A) = (0.1, 16, 0.1).

Scales: "paper" is the article's size (7500 / 3000 replicas, 1e5 / 5000 steps; the RBM is
meant for a cluster: --backend dask --scheduler ADDRESS); "small" runs every setting long
enough to be stationary (600 / lr steps: the slowest RBM mode leaves x ~ 0 at a rate
2 lr (1/kappa - 1/mu^2) per step and relaxes at 2 lr x* / kappa^2 [B.8], B.10) with
1000 RBM replicas, under 30 minutes on two cores; "smoke" checks the pipeline end to end in
under a minute and is not stationary.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import store as store_module
from .analysis import scaling_table
from .config import RBMConfig, TeacherStudentConfig
from .experiment import Experiment
from .models import model_for

RBM_LRS = (0.01, 0.02, 0.04, 0.06, 0.08, 0.1)
RBM_BATCHES = (4, 8, 16, 32, 64)
TS_LRS = (0.1, 0.2, 0.3, 0.4, 0.5)
TS_BATCHES = (4, 8, 16, 32, 64)
TS_NOISES = (0.05, 0.075, 0.1)
SEED = 20250115

_SCALES = {
    # name: (rbm replicas, rbm steps(lr) or None for 600 / lr, ts replicas, ts steps)
    "smoke": (24, lambda lr: 1000, 200, 1000),
    "small": (1000, lambda lr: round(600 / lr), 3000, 5000),
    "paper": (7500, lambda lr: 100_000, 3000, 5000),
}


def _late_snapshots(steps: int) -> tuple[int, ...]:
    """Five snapshots in the last 40 per cent of training (plus step 0)."""
    return tuple(round(steps * f) for f in (0.6, 0.7, 0.8, 0.9, 1.0))


def rbm_experiment(scale: str) -> Experiment:
    replicas, steps_for, _, _ = _SCALES[scale]
    settings = [(lr, 16) for lr in RBM_LRS] + [(0.1, b) for b in RBM_BATCHES if b != 16]
    points = []
    for lr, batch in settings:
        steps = steps_for(lr)
        points.append(RBMConfig(lr=lr, batch_size=batch, steps=steps,
                                snapshots=_late_snapshots(steps)))  # fmt: skip
    scan = {"lr": list(RBM_LRS), "batch_size": list(RBM_BATCHES)}
    return Experiment(tuple(points), scan, replicas, SEED, "SFC64", {"reproduce": "rbm"})


def teacher_student_experiment(scale: str) -> Experiment:
    _, _, replicas, steps = _SCALES[scale]
    settings = [(lr, 16, 0.1) for lr in TS_LRS]
    settings += [(0.1, b, 0.1) for b in TS_BATCHES if b != 16]
    settings += [(0.1, 16, a) for a in TS_NOISES if a != 0.1]
    points = tuple(
        TeacherStudentConfig(
            teacher=(2.0, 2.0),
            noise=a,
            lr=lr,
            batch_size=b,
            steps=steps,
            snapshots=_late_snapshots(steps),
        )
        for lr, b, a in settings
    )
    scan = {"lr": list(TS_LRS), "batch_size": list(TS_BATCHES), "noise": list(TS_NOISES)}
    return Experiment(points, scan, replicas, SEED, "SFC64", {"reproduce": "teacher_student"})


# The experiments by name; "teacher-student" is an alias (the command line's spelling).
EXPERIMENTS = {"rbm": rbm_experiment, "teacher_student": teacher_student_experiment}
_ALIASES = {"teacher-student": "teacher_student"}


def article_experiments(which: str, scale: str) -> list[tuple[str, Experiment]]:
    """The article's experiments to run, with their names (the output subdirectories).

    Parameters
    ----------
    which : str
        ``"rbm"``, ``"teacher_student"`` (or its alias ``"teacher-student"``) or ``"all"``.
    scale : str
        ``"smoke"``, ``"small"`` or ``"paper"`` (see the module docstring).

    Returns
    -------
    list of (str, Experiment)
        Canonical names (``"rbm"``, ``"teacher_student"``) and experiments, in that order.

    Raises
    ------
    ValueError
        An unknown ``which``.
    """
    which = _ALIASES.get(which, which)
    if which != "all" and which not in EXPERIMENTS:
        known = ", ".join([*EXPERIMENTS, *_ALIASES, "all"])
        raise ValueError(f"which: must be one of {known}, got {which!r}")
    names = list(EXPERIMENTS) if which == "all" else [which]
    return [(name, EXPERIMENTS[name](scale)) for name in names]


def _pm(value: float, error: float) -> str:
    return f"{value:.4f} ± {error:.4f}"


def compare(results) -> dict:
    """Fitted numbers of a scan beside the analytic predictions (last 3 snapshots pooled).

    Parameters
    ----------
    results : list of EnsembleResult
        A scan of one model.

    Returns
    -------
    dict
        The common slopes and the weighted Binder cumulant; then, for a model that predicts
        <S> from the scan parameters (:meth:`dysonlearn.models.Model.predicted_mean_spacing`),
        ``points`` with each pair's <S> and its prediction, otherwise ``lambda_over_kappa``
        (its range over the levels at each lr / B).
    """
    table = scaling_table(results, snapshots=3)
    binder = np.array([p.binder for p in table.pairs])
    binder_err = np.array([p.binder_err for p in table.pairs])
    weights = 1 / binder_err**2
    out = {
        "spacing_slope": table.spacing_slope.__dict__,
        "width_slope": table.width_slope.__dict__,
        "spacing_vs_width": table.spacing_vs_width.__dict__,
        "binder_mean": float(np.sum(weights * binder) / np.sum(weights)),
        "binder_mean_err": float(1 / np.sqrt(np.sum(weights))),
        "points": [],
    }
    config = results[0].config
    model = model_for(config)
    if model.predicted_mean_spacing(config.lr, config.batch_size,
                                    getattr(config, "noise", None)) is not None:  # fmt: skip
        for row in table.pairs:
            predicted = model.predicted_mean_spacing(row.lr, row.batch_size, row.noise)
            out["points"].append({"lr": row.lr, "batch_size": row.batch_size, "noise": row.noise,
                                  "mean_spacing": row.mean_spacing,
                                  "mean_spacing_err": row.mean_spacing_err,
                                  "predicted": predicted})  # fmt: skip
    else:
        ratios = {}
        for row in table.levels:
            ratios.setdefault(row.ratio, []).append(row.lambda_over_kappa)
        out["lambda_over_kappa"] = {
            str(r): [float(min(v)), float(max(v))] for r, v in sorted(ratios.items())
        }
    return out


def write_comparison(outcomes: list[tuple[str, Path]], outdir: Path) -> Path:
    """reproduce.md and reproduce.json in outdir: the article's numbers beside theory.

    Parameters
    ----------
    outcomes : list of (str, pathlib.Path)
        Each experiment's name and output directory (holding its ``results.h5``).
    outdir : pathlib.Path
        Where the two files go (made if missing).

    Returns
    -------
    pathlib.Path
        The Markdown file.
    """
    lines = ["# dysonlearn reproduce: fitted numbers beside the analytic predictions", ""]
    data = {}
    for name, directory in outcomes:
        path = directory / "results.h5"
        _, infos = store_module.describe(path)
        results = [store_module.load_point(path, info.name) for info in infos]
        data[name] = compare(results)
        lines += _comparison_lines(name, results, data[name])
        lines.append(f"Figures and per-setting summaries: {directory}/")
        lines.append("")
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "reproduce.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    md = outdir / "reproduce.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    return md


def _comparison_lines(name: str, results: list, found: dict) -> list[str]:
    """One experiment's section of reproduce.md: the slopes, then its per-point table."""
    config = results[0].config
    labels = model_for(config).labels_for(config)
    s, w, r = found["spacing_slope"], found["width_slope"], found["spacing_vs_width"]
    scale = labels.scale_text
    lines = [f"## {name} ({len(results)} settings, {results[0].n_replicas} replicas each)",
             "", "| quantity | fitted | predicted |", "|---|---:|---:|"]  # fmt: skip
    lines += [
        (
            f"| slope of <S> vs {scale} | {_pm(s['slope'], s['slope_err'])} "
            f"| {labels.slope_text} |"
        ),
        (
            f"| slope of sqrt(pi) sigma vs {scale} | {_pm(w['slope'], w['slope_err'])} "
            "| the same slope |"
        ),
        f"| slope of <S> vs sqrt(pi) sigma | {_pm(r['slope'], r['slope_err'])} | 1 [A.8] |",
        (
            f"| Binder cumulant of pair levels (weighted mean) "
            f"| {_pm(found['binder_mean'], found['binder_mean_err'])} | 4/27 = 0.1481 [A.10] |"
        ),
        "",
    ]
    if found["points"]:
        lines += ["| lr | B | A | <S> | [C.3] / sqrt(1 - lr/2) | ratio |",
                  "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for p in found["points"]:
            lines.append(
                f"| {p['lr']} | {p['batch_size']} | {p['noise']} "
                f"| {_pm(p['mean_spacing'], p['mean_spacing_err'])} | {p['predicted']:.4f} "
                f"| {p['mean_spacing'] / p['predicted']:.3f} |"
            )
        lines.append("")
    if "lambda_over_kappa" in found:
        lines += [("lambda_fit / kappa (range over levels) against lr / B, tending to 1 as "
                  "lr / B -> 0 (SPEC B.5):"), ""]  # fmt: skip
        for ratio, (lo, hi) in found["lambda_over_kappa"].items():
            lines.append(f"- lr/B = {float(ratio):.5f}: {lo:.4f} .. {hi:.4f}")
        lines.append("")
    return lines
