"""The article's experiments at three scales, and the comparison table.

The experiments are TOML files embedded in the package, ``<experiment>-<scale>.toml``
(``dysonlearn config show rbm-small`` prints one; a copy of it runs with ``dysonlearn run``
exactly as ``reproduce`` runs it):

- RBM (``rbm``): the article's reference model, a Gaussian RBM with 10 visible and 10 hidden
  units learning a free scalar field; lr in {0.01, 0.02, 0.04, 0.06, 0.08, 0.1} at B = 16,
  then B in {4, 8, 32, 64} at lr = 0.1 (ten settings).
- Teacher-student (``teacher_student``): N = 2 with a degenerate teacher, kappa = (2, 2);
  lr in 0.1 .. 0.5, B in 4 .. 64 and the noise amplitude A in {0.05, 0.075, 0.1} around
  (lr, B, A) = (0.1, 16, 0.1) (eleven settings).

Scales (:data:`SCALES`): "smoke" checks the pipeline end to end in about a minute and is
not stationary; "small" runs every setting long enough to be stationary (600 / lr steps for
the RBM: its slowest mode leaves x ~ 0 at a rate of about 2 lr (1/kappa - 1/mu^2) per
step), about 10 minutes on two cores; "paper" is the published size (7500 RBM replicas x
1e5 steps per setting, 3000 teacher-student replicas), for a cluster (``--backend dask
--scheduler ADDRESS``). Every scale records five snapshots in the last 40 per cent of
training, of which the analysis pools the last three.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import store as store_module
from .analysis import scaling_table
from .errors import ConfigError
from .experiment import Experiment, embedded_experiment_path, load_experiment
from .models import model_for

SCALES = {
    "smoke": "checks the pipeline end to end in about a minute; not stationary",
    "small": "every setting stationary; about 10 minutes on two cores",
    "paper": "the published size (7500 RBM replicas x 1e5 steps per setting); for a cluster",
}
"""The scales of the article's experiments, with what each is for."""

EXPERIMENTS = ("rbm", "teacher_student")
"""The article's experiments, in the order ``"all"`` runs them."""

# The command line's spelling of a name.
_ALIASES = {"teacher-student": "teacher_student"}


def preset_name(experiment: str, scale: str) -> str:
    """The embedded file behind one of the article's experiments at one scale.

    Parameters
    ----------
    experiment : str
        One of :data:`EXPERIMENTS`.
    scale : str
        One of :data:`SCALES`.

    Returns
    -------
    str
        ``"<experiment>-<scale>"``, a name of
        :func:`dysonlearn.experiment.embedded_experiments`.
    """
    return f"{experiment}-{scale}"


def article_experiments(which: str, scale: str) -> list[tuple[str, Experiment]]:
    """The article's experiments to run, with their names (the output subdirectories).

    Each is read from its embedded TOML file (see :func:`preset_name`), so that what
    ``dysonlearn config show`` prints is what runs.

    Parameters
    ----------
    which : str
        ``"rbm"``, ``"teacher_student"`` (or its alias ``"teacher-student"``) or ``"all"``.
    scale : str
        ``"smoke"``, ``"small"`` or ``"paper"`` (see :data:`SCALES`).

    Returns
    -------
    list of (str, Experiment)
        Canonical names (``"rbm"``, ``"teacher_student"``) and experiments, in that order.

    Raises
    ------
    ConfigError
        An unknown ``which`` or ``scale`` (a ``ValueError``).

    Examples
    --------
    >>> [(name, len(e.points)) for name, e in article_experiments("all", "smoke")]
    [('rbm', 10), ('teacher_student', 11)]
    """
    which = _ALIASES.get(which, which)
    if which != "all" and which not in EXPERIMENTS:
        known = ", ".join([*EXPERIMENTS, *_ALIASES, "all"])
        raise ConfigError(f"which: must be one of {known}, got {which!r}")
    if scale not in SCALES:
        raise ConfigError(f"scale: must be one of {', '.join(SCALES)}, got {scale!r}")
    names = list(EXPERIMENTS) if which == "all" else [which]
    return [
        (name, load_experiment(embedded_experiment_path(preset_name(name, scale))))
        for name in names
    ]


def _pm(value: float, error: float) -> str:
    return f"{value:.4f} ± {error:.4f}"


def compare(results, snapshots: int = 1) -> dict:
    """Fitted numbers of a scan beside the analytic predictions.

    Parameters
    ----------
    results : list of EnsembleResult
        A scan of one model.
    snapshots : int
        Pool the last ``snapshots`` snapshots (:func:`write_comparison` passes the
        experiment's ``pool_last``, so that the numbers are those of ``summary.json``).

    Returns
    -------
    dict
        ``pool_last``; the common slopes (each with its chi^2 p-value), the predicted
        alpha -> 0 slope and the weighted mean of the Binder cumulant U; then, for a model
        that predicts <S> from the scan parameters
        (:meth:`dysonlearn.models.Model.predicted_mean_spacing`), ``points`` with each
        pair's <S> and its prediction, otherwise ``lambda_over_kappa`` (its range over the
        levels at each alpha / B).
    """
    from .analysis.summary import slope_record

    table = scaling_table(results, snapshots=snapshots)
    binder = np.array([p.binder for p in table.pairs])
    binder_err = np.array([p.binder_err for p in table.pairs])
    weights = 1 / binder_err**2
    config = results[0].config
    model = model_for(config)
    out = {
        "pool_last": snapshots,
        "spacing_slope": slope_record(table.spacing_slope),
        "width_slope": slope_record(table.width_slope),
        "spacing_vs_width": slope_record(table.spacing_vs_width),
        "predicted_spacing_slope": model.predicted_slope(config)[0],
        "binder_mean": float(np.sum(weights * binder) / np.sum(weights)),
        "binder_mean_err": float(1 / np.sqrt(np.sum(weights))),
        "points": [],
    }
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

    Each experiment's numbers pool the snapshots its store says (``[analysis] pool_last``),
    as ``dysonlearn analyze`` of that store does: the two give the same numbers.

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
    lines = ["# dysonlearn reproduce: fitted numbers beside the analytic predictions", "",
             "Symbols: alpha the learning rate, B the batch size, A the noise, <S> the mean "
             "spacing of a degenerate pair, sigma the width of a level, U the Binder "
             "cumulant; errors are jackknife errors over replicas.", ""]  # fmt: skip
    data = {}
    for name, directory in outcomes:
        path = directory / "results.h5"
        root, infos = store_module.describe(path)
        pool_last = store_module.analysis_settings(root)["pool_last"]
        results = [store_module.load_point(path, info.name) for info in infos]
        data[name] = compare(results, pool_last)
        lines += _comparison_lines(name, results, data[name])
        lines.append(f"Figures and per-setting summaries: {directory}/")
        lines.append("")
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "reproduce.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    md = outdir / "reproduce.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    return md


def comparison_headline(markdown_path: Path) -> list[str]:
    """The short comparison ``dysonlearn reproduce`` prints: each experiment's table of
    slopes beside their predictions, and where the full comparison is.

    Parameters
    ----------
    markdown_path : pathlib.Path
        What :func:`write_comparison` returned.

    Returns
    -------
    list of str
    """
    lines = []
    for line in Path(markdown_path).read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            lines += ["", line[3:]]
        elif line.startswith("| ") and ("slope" in line or "Binder" in line or "quantity" in line):
            lines.append(line)
    return [*lines[1:], "", f"full comparison: {markdown_path} (and reproduce.json)"]


def _slope_cell(fit: dict | None) -> str:
    if fit is None:
        return "n/a"
    p = fit.get("p_value")
    quality = f" (chi^2/dof {fit['chi2_dof']:.2f}, p {p:.2g})" if p is not None else ""
    return _pm(fit["slope"], fit["slope_err"]) + quality


def _comparison_lines(name: str, results: list, found: dict) -> list[str]:
    """One experiment's section of reproduce.md: the slopes, then its per-point table."""
    from .analysis.summary import FIT_P_VALUE

    config = results[0].config
    labels = model_for(config).labels_for(config)
    s, w, r = found["spacing_slope"], found["width_slope"], found["spacing_vs_width"]
    scale = labels.scale_text
    pool = found.get("pool_last", 1)
    lines = [f"## {name} ({len(results)} settings, {results[0].n_replicas} replicas each, "
             f"last {pool} snapshot{'s' if pool != 1 else ''} pooled)",
             "", "| quantity | fitted | predicted |", "|---|---:|---:|"]  # fmt: skip
    lines += [
        f"| slope of <S> against {scale} | {_slope_cell(s)} | {labels.slope_text} (alpha -> 0) |",
        (
            f"| slope of sqrt(pi) sigma against {scale} | {_slope_cell(w)} "
            "| the same slope |"
        ),
        f"| slope of <S> against sqrt(pi) sigma | {_slope_cell(r)} | 1 |",
        (
            f"| Binder cumulant U of the pairs' levels (weighted mean) "
            f"| {_pm(found['binder_mean'], found['binder_mean_err'])} "
            "| 4/27 = 0.1481 (two-level semicircle) |"
        ),
        "",
    ]
    for key, what in (("spacing_slope", "<S>"), ("width_slope", "sqrt(pi) sigma"),
                      ("spacing_vs_width", "<S> against sqrt(pi) sigma")):  # fmt: skip
        fit = found[key]
        if fit is not None and fit.get("p_value") is not None and fit["p_value"] < FIT_P_VALUE:
            lines += [f"**Warning**: the common slope of {what} does not describe the points "
                      f"(p < {FIT_P_VALUE:g}).", ""]  # fmt: skip
    if found["points"]:
        lines += ["f = 1 / sqrt(1 - alpha / 2) is the finite-learning-rate factor of the "
                  "predicted width.", "",
                  "| alpha | B | A | <S> | predicted sqrt(pi alpha A^2 / B) f | ratio |",
                  "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for p in found["points"]:
            lines.append(
                f"| {p['lr']} | {p['batch_size']} | {p['noise']} "
                f"| {_pm(p['mean_spacing'], p['mean_spacing_err'])} | {p['predicted']:.4f} "
                f"| {p['mean_spacing'] / p['predicted']:.3f} |"
            )
        lines.append("")
    if "lambda_over_kappa" in found:
        lines += [("lambda_fit / kappa (range over levels) against alpha / B, tending to 1 as "
                  "alpha / B -> 0:"), ""]  # fmt: skip
        for ratio, (lo, hi) in found["lambda_over_kappa"].items():
            lines.append(f"- alpha/B = {float(ratio):.5f}: {lo:.4f} .. {hi:.4f}")
        lines.append("")
    return lines
