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

- Optimisers (``optimizers``): the teacher-student model of the scan above (A = 0.1) and a
  small RBM (4 visible and 8 hidden units learning a free scalar field on 4 sites, whose
  levels hold one degenerate pair), each on a product grid of lr (three values) and B in
  {4, 16, 64}, trained by SGD, by heavy-ball momentum (beta = 0.5 and 0.9 for the
  teacher-student model, 0.9 for the RBM) and by Adam: one embedded file per model and
  optimiser (:data:`OPTIMIZER_EXPERIMENTS`), each into OUTDIR/<name>/. The comparison fits
  <S> = c lr^a B^-b for each model and optimiser setting (:func:`compare_optimizers`) and
  draws :func:`dysonlearn.plots.optimizer_scaling_figure`. Its scales are smoke and small
  only.

- Large N (``large-n``, or ``large_n``): the statistics that need many levels
  (:data:`LARGE_N_EXPERIMENTS`): an RBM with 100 visible and 150 hidden units learning an
  evenly spaced, non-degenerate target, whose unfolded bulk spacings are tested against the
  Wigner surmise and Poisson and whose gap ratio is compared with GOE and Poisson; and the
  step-0 spectra at N_v = 1000 (N_h = 1000 and 2000) against Marchenko-Pastur
  (:func:`compare_large_n`, :func:`dysonlearn.plots.large_n_figure`). Scales smoke and
  small only.

- Deep linear (``deep-linear``, or ``deep_linear``): deep linear networks of L = 1, 2 and 3
  layers learning the same end-to-end teacher diag(1, 1) (:data:`DEEP_LINEAR_EXPERIMENTS`),
  each on the product grid of lr in {0.02, 0.04, 0.08} and B in {64, 128, 256}: the mean
  spacing of the end-to-end degenerate pair against :eq:`dl-level-width` for each depth,
  the points at equal lr / B, and the spacing law (Wigner or Poisson) of the end-to-end
  pair and of each layer's (:func:`compare_deep_linear`,
  :func:`dysonlearn.plots.deep_linear_figure`). Scales smoke and small only; its smoke
  scale is stationary, with few replicas.

Scales (:data:`SCALES`): "smoke" checks the pipeline end to end in about a minute and is
not stationary; "small" runs every setting long enough to be stationary (600 / lr steps for
the RBM: its slowest mode leaves x ~ 0 at a rate of about 2 lr (1/kappa - 1/mu^2) per
step), about 10 minutes on two cores; "paper" is the published size (7500 RBM replicas x
1e5 steps per setting, 3000 teacher-student replicas), for a cluster (``--backend dask
--scheduler ADDRESS``). Every scale records five snapshots in the last 40 per cent of
training, of which the analysis pools the last three.

Modes (:data:`MODES`): "snapshots" (the default) runs the files above; "timeseries" runs
``<experiment>-<scale>-timeseries`` (:func:`preset_name`), the same points recorded as time
series: fewer replicas, each burnt in until stationary and then recorded for long, every
statistic pooling every record (errors: jackknife over replicas of their time means). The
article's experiments have both modes at every scale; ``optimizers`` has snapshots only.
The comparison tables say which mode produced them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from . import store as store_module
from .analysis import layer_pairs, scaling_table
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

OPTIMIZER_EXPERIMENTS = ("optimizers_sgd", "optimizers_momentum", "optimizers_adam",
                         "optimizers_rbm_sgd", "optimizers_rbm_momentum", "optimizers_rbm_adam")
"""The embedded experiments of ``reproduce optimizers``, in the order it runs them: the
teacher-student lr x B grid under SGD, momentum (beta = 0.5, 0.9) and Adam, then the RBM's
(4 visible, 8 hidden units, one degenerate pair) under SGD, momentum (beta = 0.9) and Adam."""

MODES = {
    "snapshots": "every replica trained from scratch, its last snapshots pooled",
    "timeseries": "fewer replicas, each burnt in and then recorded for long; every record "
    "pooled",
}
"""The modes of the article's experiments: how each replica is sampled."""

LARGE_N_EXPERIMENTS = ("large_n_rbm", "large_n_mp", "large_n_mp_wide")
"""The embedded experiments of ``reproduce large-n``, in the order it runs them: an RBM with
100 visible and 150 hidden units learning a dense, non-degenerate spectrum (its unfolded
bulk spacings and gap ratio), then the initial spectra at N_v = 1000 with N_h = 1000
(c = 1) and N_h = 2000 (c = 1/2) against Marchenko-Pastur."""

DEEP_LINEAR_EXPERIMENTS = ("deep_linear_l1", "deep_linear_l2", "deep_linear_l3")
"""The embedded experiments of ``reproduce deep-linear``, in the order it runs them: deep
linear networks of L = 1, 2 and 3 layers (widths [2, 2], [2, 4, 2], [2, 4, 4, 2]) learning the
same end-to-end teacher diag(1, 1), each on the product grid of lr in {0.02, 0.04, 0.08} and
B in {64, 128, 256}."""

GROUPS = {"optimizers": OPTIMIZER_EXPERIMENTS, "large_n": LARGE_N_EXPERIMENTS,
          "deep_linear": DEEP_LINEAR_EXPERIMENTS}  # fmt: skip
"""Names that run several embedded experiments together (besides ``"all"``)."""

GROUP_SCALES = {"optimizers": ("smoke", "small"), "large_n": ("smoke", "small"),
                "deep_linear": ("smoke", "small")}  # fmt: skip
"""The scales each group has (the article's experiments have every one of :data:`SCALES`)."""

GROUP_MODES = {"optimizers": ("snapshots",), "large_n": ("snapshots",),
               "deep_linear": ("snapshots",)}  # fmt: skip
"""The modes each group has (the article's experiments have every one of :data:`MODES`)."""

SUMMARY_ONLY = frozenset(LARGE_N_EXPERIMENTS)
"""Experiments whose stores ``reproduce`` summarises without the figures of ``run``: those
draw every level, which at N = 100 to 1000 takes minutes; the comparison draws
:data:`LARGE_N_FIGURE` instead."""

OPTIMIZER_FIGURE = "optimizer_scaling"
"""The file name (without suffix) of the figure of ``reproduce optimizers``, in OUTDIR."""

LARGE_N_FIGURE = "large_n"
"""The file name (without suffix) of the figure of ``reproduce large-n``, in OUTDIR."""

DEEP_LINEAR_FIGURE = "deep_linear"
"""The file name (without suffix) of the figure of ``reproduce deep-linear``, in OUTDIR."""

# The command line's spelling of a name.
_ALIASES = {"teacher-student": "teacher_student", "large-n": "large_n",
            "deep-linear": "deep_linear"}  # fmt: skip


def preset_name(experiment: str, scale: str, mode: str = "snapshots") -> str:
    """The embedded file behind one of the article's experiments at one scale and mode.

    Parameters
    ----------
    experiment : str
        One of :data:`EXPERIMENTS` (or :data:`OPTIMIZER_EXPERIMENTS`).
    scale : str
        One of :data:`SCALES`.
    mode : str, optional
        One of :data:`MODES` (default ``"snapshots"``).

    Returns
    -------
    str
        ``"<experiment>-<scale>"``, or ``"<experiment>-<scale>-timeseries"`` in mode
        ``"timeseries"``: a name of :func:`dysonlearn.experiment.embedded_experiments`.

    Examples
    --------
    >>> preset_name("rbm", "small", "timeseries")
    'rbm-small-timeseries'
    """
    return f"{experiment}-{scale}" + ("" if mode == "snapshots" else f"-{mode}")


def group_presets(name: str) -> list[str] | None:
    """The embedded files of a group of experiments named as ``dysonlearn config show``
    takes it: ``"optimizers"`` (its small scale) or ``"optimizers-<scale>"``; likewise
    ``"large-n"`` (or ``"large_n"``) and ``"deep-linear"`` (or ``"deep_linear"``).

    Parameters
    ----------
    name : str
        A group of :data:`GROUPS`, alone or with ``-<scale>``.

    Returns
    -------
    list of str or None
        The names of :func:`dysonlearn.experiment.embedded_experiments` that ``reproduce``
        runs for it, in order; None when ``name`` is not a group.

    Raises
    ------
    ConfigError
        A group at a scale it does not have (the message lists its scales).

    Examples
    --------
    >>> group_presets("optimizers-smoke")[:2]
    ['optimizers_sgd-smoke', 'optimizers_momentum-smoke']
    >>> group_presets("large-n-smoke")
    ['large_n_rbm-smoke', 'large_n_mp-smoke', 'large_n_mp_wide-smoke']
    >>> group_presets("rbm-small") is None
    True
    """
    for alias, canonical in _ALIASES.items():
        if name == alias or name.startswith(alias + "-"):
            name = canonical + name[len(alias):]
    group, _, scale = name.partition("-")
    if group not in GROUPS:
        return None
    scale = scale or "small"
    if scale not in GROUP_SCALES[group]:
        raise ConfigError(f"name: the {group} experiment has the scales "
                          f"{', '.join(GROUP_SCALES[group])}, got {name!r}")  # fmt: skip
    return [preset_name(member, scale) for member in GROUPS[group]]


def article_experiments(which: str, scale: str,
                        mode: str = "snapshots") -> list[tuple[str, Experiment]]:  # fmt: skip
    """The article's experiments to run, with their names (the output subdirectories).

    Each is read from its embedded TOML file (see :func:`preset_name`), so that what
    ``dysonlearn config show`` prints is what runs.

    Parameters
    ----------
    which : str
        ``"rbm"``, ``"teacher_student"`` (or its alias ``"teacher-student"``), ``"all"``
        (both), ``"optimizers"`` (:data:`OPTIMIZER_EXPERIMENTS`), ``"large_n"`` (or
        ``"large-n"``: :data:`LARGE_N_EXPERIMENTS`) or ``"deep_linear"`` (or
        ``"deep-linear"``: :data:`DEEP_LINEAR_EXPERIMENTS`).
    scale : str
        ``"smoke"``, ``"small"`` or ``"paper"`` (see :data:`SCALES`; the groups
        ``"optimizers"``, ``"large_n"`` and ``"deep_linear"`` have no paper scale).
    mode : str, optional
        ``"snapshots"`` (the default) or ``"timeseries"`` (see :data:`MODES`;
        ``"optimizers"`` has snapshots only).

    Returns
    -------
    list of (str, Experiment)
        Canonical names (``"rbm"``, ``"teacher_student"``, ``"optimizers_sgd"``,
        ``"large_n_rbm"``, ...) and experiments, in that order.

    Raises
    ------
    ConfigError
        An unknown ``which``, ``scale`` or ``mode``, or a scale or mode the group does not
        have (a ``ValueError``).

    Examples
    --------
    >>> [(name, len(e.points)) for name, e in article_experiments("all", "smoke")]
    [('rbm', 10), ('teacher_student', 11)]
    >>> [len(e.points) for _, e in article_experiments("optimizers", "smoke")]
    [9, 18, 9, 9, 9, 9]
    >>> [e.replicas for _, e in article_experiments("all", "small", "timeseries")]
    [100, 100]
    """
    which = _ALIASES.get(which, which) if isinstance(which, str) else which
    if which != "all" and which not in EXPERIMENTS and which not in GROUPS:
        known = ", ".join([*EXPERIMENTS, *_ALIASES, "all", *GROUPS])
        raise ConfigError(f"which: must be one of {known}, got {which!r}")
    if scale not in SCALES:
        raise ConfigError(f"scale: must be one of {', '.join(SCALES)}, got {scale!r}")
    if mode not in MODES:
        raise ConfigError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
    if which in GROUPS and scale not in GROUP_SCALES[which]:
        raise ConfigError(f"scale: the {which} experiment has the scales "
                          f"{', '.join(GROUP_SCALES[which])}, got {scale!r}")  # fmt: skip
    if which in GROUPS and mode not in GROUP_MODES[which]:
        raise ConfigError(f"mode: the {which} experiment has the modes "
                          f"{', '.join(GROUP_MODES[which])}, got {mode!r}")  # fmt: skip
    if which == "all":
        names = list(EXPERIMENTS)
    else:
        names = list(GROUPS.get(which, [which]))
    return [
        (name, load_experiment(embedded_experiment_path(preset_name(name, scale, mode))))
        for name in names
    ]


def _pm(value: float, error: float) -> str:
    return f"{value:.4f} ± {error:.4f}"


def results_mode(results) -> str:
    """Which of :data:`MODES` produced a scan: ``"timeseries"`` when every point recorded a
    time series (``record_every`` set), ``"snapshots"`` otherwise.

    Parameters
    ----------
    results : list of EnsembleResult
        A scan.

    Returns
    -------
    str
    """
    series = all(getattr(r.config, "is_time_series", False) for r in results)
    return "timeseries" if results and series else "snapshots"


def _mode_text(results, pool: int) -> str:
    """How a scan sampled each replica, for the heading of its section."""
    if results_mode(results) == "timeseries":
        burn_in = sorted({r.config.burn_in for r in results})
        every = sorted({r.config.record_every for r in results})

        def span(values):
            return f"{values[0]}" if len(values) == 1 else f"{values[0]} to {values[-1]}"

        return (f"mode timeseries: {pool} records per replica pooled, one every "
                f"{span(every)} steps after a burn-in of {span(burn_in)} steps")  # fmt: skip
    return f"mode snapshots: last {pool} snapshot{'s' if pool != 1 else ''} pooled"


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
        ``mode`` (:func:`results_mode`), ``pool_last``; the common slopes (each with its chi^2 p-value), the predicted
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
        "mode": results_mode(results),
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


_MODE_LINES = {
    "snapshots": "Mode: snapshots (every replica trained from scratch; the last snapshots of "
    "each are pooled).",
    "timeseries": "Mode: timeseries (fewer replicas, each burnt in and then recorded for long; "
    "every record is pooled, and the jackknife over replicas of their time means gives "
    "errors that hold however correlated the records of one replica are).",
}


def write_comparison(outcomes: list[tuple[str, Path]], outdir: Path) -> Path:
    """reproduce.md and reproduce.json in outdir: the article's numbers beside theory.

    Each experiment's numbers pool the snapshots its store says (``[analysis] pool_last``),
    as ``dysonlearn analyze`` of that store does: the two give the same numbers. Both files
    say which of :data:`MODES` produced them (``reproduce.json``: ``mode``, at the top and
    in each experiment; ``reproduce.md``: a line under the title and each section's
    heading), read from the stores (:func:`results_mode`).

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

    Notes
    -----
    The experiments of ``reproduce optimizers`` (:data:`OPTIMIZER_EXPERIMENTS`) are not
    compared with the slopes of the article: they get one section together, the fitted
    exponents of ``<S> = c lr^a B^-b`` for each optimiser beside the theory
    (:func:`compare_optimizers`), and the figure ``optimizer_scaling.png`` in ``outdir``.
    Those of ``reproduce large-n`` (:data:`LARGE_N_EXPERIMENTS`) get one section too, the
    unfolded bulk statistics and the Marchenko-Pastur tests of :func:`compare_large_n`,
    and the figure ``large_n.png``.
    Those of ``reproduce deep-linear`` (:data:`DEEP_LINEAR_EXPERIMENTS`) get one section,
    the mean end-to-end spacing of each depth and point beside its prediction and the
    spacing law of each pair of :func:`compare_deep_linear`, and the figure
    ``deep_linear.png``.
    """
    lines = ["# dysonlearn reproduce: fitted numbers beside the analytic predictions", "",
             "Symbols: alpha the learning rate, B the batch size, A the noise, <S> the mean "
             "spacing of a degenerate pair, sigma the width of a level, U the Binder "
             "cumulant; errors are jackknife errors over replicas.", ""]  # fmt: skip
    data: dict = {"mode": None}
    optimizer_stores, large_n_stores, deep_linear_stores = [], [], []
    modes = set()
    outdir.mkdir(parents=True, exist_ok=True)
    for name, directory in outcomes:
        path = directory / "results.h5"
        root, infos = store_module.describe(path)
        pool_last = store_module.analysis_settings(root)["pool_last"]
        results = [store_module.load_point(path, info.name) for info in infos]
        if name in OPTIMIZER_EXPERIMENTS:
            optimizer_stores.append((name, directory, results, pool_last))
            modes.add(results_mode(results))
            continue
        if name in LARGE_N_EXPERIMENTS:
            large_n_stores.append((name, directory, results, pool_last))
            modes.add(results_mode(results))
            continue
        if name in DEEP_LINEAR_EXPERIMENTS:
            deep_linear_stores.append((name, directory, results, pool_last))
            modes.add(results_mode(results))
            continue
        data[name] = compare(results, pool_last)
        modes.add(data[name]["mode"])
        lines += _comparison_lines(name, results, data[name])
        lines.append(f"Figures and per-setting summaries: {directory}/")
        lines.append("")
    if optimizer_stores:
        from .plots import DPI, _metadata, optimizer_scaling_figure

        groups = compare_optimizers(optimizer_stores)
        figure = outdir / f"{OPTIMIZER_FIGURE}.png"
        optimizer_scaling_figure(groups).savefig(figure, dpi=DPI, format="png",
                                                 metadata=_metadata("png"))  # fmt: skip
        data["optimizers"] = {"groups": groups, "figure": figure.name}
        lines += _optimizer_lines(groups, optimizer_stores, figure)
    if large_n_stores:
        data["large_n"] = compare_large_n(large_n_stores, outdir)
        lines += _large_n_lines(data["large_n"], large_n_stores)
    if deep_linear_stores:
        data["deep_linear"] = compare_deep_linear(deep_linear_stores, outdir)
        lines += _deep_linear_lines(data["deep_linear"], deep_linear_stores)
    data["mode"] = modes.pop() if len(modes) == 1 else "mixed"
    lines[2:2] = [_MODE_LINES.get(data["mode"], f"Mode: {data['mode']}."), ""]
    (outdir / "reproduce.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    md = outdir / "reproduce.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    return md


def comparison_headline(markdown_path: Path) -> list[str]:
    """The short comparison ``dysonlearn reproduce`` prints: the mode, each experiment's
    table of slopes beside their predictions (for ``optimizers``, the fitted exponents a, b and
    a - b of each optimiser; for ``large-n``, the bulk statistics and the Marchenko-Pastur
    tests; for ``deep-linear``, the table of the depths), and where the full comparison is.

    Parameters
    ----------
    markdown_path : pathlib.Path
        What :func:`write_comparison` returned.

    Returns
    -------
    list of str
    """
    lines = []
    section, tables = "", 0
    for line in Path(markdown_path).read_text(encoding="utf-8").splitlines():
        if line.startswith("Mode: "):
            lines += ["", line.split(" (")[0]]
        elif line.startswith("## "):
            section, tables = line[3:], 0
            lines += ["", section]
        elif line.startswith("| ") and ("slope" in line or "Binder" in line or "quantity" in line):
            lines.append(line)
        elif section.startswith("large_n") and line.startswith("|") and tables == 0:
            lines.append(line)  # the statistics' table, the first of its section
        elif section.startswith("optimizers") and line.startswith("|") and tables == 0:
            lines.append(line)  # the exponents' table, the first of its section
        elif section.startswith("deep_linear") and line.startswith("|") and tables == 0:
            lines.append(line)  # the table of the depths, the first of its section
        if section.startswith(("optimizers", "large_n", "deep_linear")) and lines \
                and lines[-1].startswith("|") and not line.startswith("|"):  # fmt: skip
            tables += 1
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
             f"{_mode_text(results, pool)})",
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


# -- reproduce optimizers --------------------------------------------------------------------

_NO_CLOSED_FORM = "no closed form; the data speak"


def _optimizer_label(optimizer) -> str:
    """An optimiser setting in words: "SGD", "momentum, beta = 0.9", "Adam"."""
    kind = getattr(optimizer, "kind", "sgd")
    if kind == "momentum":
        name = "Nesterov momentum" if optimizer.nesterov else "momentum"
        return f"{name}, beta = {optimizer.beta:g}"
    return {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}.get(kind, kind)


def _pairs(config) -> list:
    """The degenerate pairs of a configuration's stationary levels."""
    from .analysis import degenerate_groups

    return [g for g in degenerate_groups(config.stationary_levels) if len(g) == 2]


def predicted_power_law(config) -> dict | None:
    """The small-lr power law of the mean spacing of a configuration's degenerate pairs.

    At small lr every level of a pair has the width sigma = sqrt(lr q / B) times the model's
    slope over sqrt(pi) (:meth:`~dysonlearn.models.Model.predicted_slope`,
    :meth:`~dysonlearn.models.Model.scale_factor`; q is divided by 1 - beta under momentum,
    :eq:`effective-lr`), so <S> = c lr^(1/2) B^(-1/2) with c = slope sqrt(q), averaged over
    the pairs.

    Parameters
    ----------
    config : model configuration

    Returns
    -------
    dict or None
        ``{"a": 0.5, "b": 0.5, "c": c}``, or None when the optimiser has no closed form
        (Adam, AdamW) or the levels hold no degenerate pair.
    """
    model = model_for(config)
    pairs = _pairs(config)
    kappas = model.level_kappas(config)
    levels = config.stationary_levels
    slope = model.predicted_slope(config)[0]
    c = [slope * math.sqrt(model.scale_factor(config, levels[i], kappas[i])) for i, _ in pairs]
    if not c or not np.all(np.isfinite(c)):
        return None
    return {"a": 0.5, "b": 0.5, "c": float(np.mean(c))}


def _point_spacing(result, snapshots: int) -> tuple[float, float]:
    """<S> of a point's degenerate pairs over its usable replicas, and its error."""
    from .analysis import fit_wigner, level_spacings
    from .analysis.fits import usable_replicas

    pairs = _pairs(result.config)
    keep = usable_replicas(result, snapshots)
    late = np.asarray(result.eigenvalues, dtype=np.float64)[keep, -snapshots:, :]
    fit = fit_wigner(level_spacings(late, pairs))
    return float(fit.mean), float(fit.mean_err)


def compare_optimizers(stores) -> list[dict]:
    """The power-law fit <S> = c lr^a B^-b of each model and optimiser setting, beside the
    theory.

    The points of each store are grouped by their optimiser (a momentum store scanning
    beta gives one group per beta), and each group is fitted by
    :func:`dysonlearn.analysis.fit_power_law` (jackknife errors over replicas).

    Parameters
    ----------
    stores : list of (str, pathlib.Path, list of EnsembleResult, int)
        Each experiment's name, directory, points and the snapshots to pool.

    Returns
    -------
    list of dict
        One per model and optimiser setting, in order of appearance: ``model`` (its name,
        e.g. "teacher-student"), ``label`` (the optimiser in words), ``experiment``,
        ``optimizer`` (its plain dict), ``beta`` (momentum; else None), ``noise`` (the
        teacher-student model's A; else None), ``fit``
        (:meth:`~dysonlearn.analysis.PowerLawFit.to_dict`), ``predicted``
        (:func:`predicted_power_law`: a = b = 1/2 and c for SGD and momentum, e.g.
        c = sqrt(pi A^2 / (1 - beta)) for the teacher-student model; None for Adam and
        AdamW, for which no closed form is known) and ``points`` (``lr``, ``batch_size``,
        ``mean_spacing``, ``mean_spacing_err`` of each point).

    Raises
    ------
    ValueError
        A group the fit cannot take (see :func:`~dysonlearn.analysis.fit_power_law`):
        fewer than three points, or lr and B not varied independently.
    """
    from .analysis import fit_power_law

    groups = []
    for name, _, results, pool_last in stores:
        by_optimizer: dict = {}
        for result in results:
            by_optimizer.setdefault(result.config.optimizer, []).append(result)
        for optimizer, points in by_optimizer.items():
            label = _optimizer_label(optimizer)
            try:
                fit = fit_power_law(points, pool_last)
            except ValueError as exc:
                raise ValueError(f"{name}, {label}: {exc}") from exc
            beta = optimizer.beta if optimizer.kind == "momentum" else None
            config = points[0].config
            rows = []
            for result in points:
                mean, err = _point_spacing(result, pool_last)
                rows.append({"lr": result.config.lr, "batch_size": result.config.batch_size,
                             "mean_spacing": mean, "mean_spacing_err": err})  # fmt: skip
            groups.append({"model": model_for(config).name, "label": label, "experiment": name,
                           "optimizer": optimizer.to_dict(), "beta": beta,
                           "noise": getattr(config, "noise", None), "fit": fit.to_dict(),
                           "predicted": predicted_power_law(config), "points": rows})  # fmt: skip
    return groups


def _optimizer_lines(groups: list[dict], stores, figure: Path) -> list[str]:
    """The optimizers section of reproduce.md: the exponents' table, then each point."""
    replicas = sorted({results[0].n_replicas for _, _, results, _ in stores})
    pool = stores[0][3]
    lines = [f"## optimizers ({' or '.join(map(str, replicas))} replicas per setting, last "
             f"{pool} snapshot{'s' if pool != 1 else ''} pooled)", "",
             "The mean spacing <S> of the degenerate pair fitted as <S> = c lr^a B^-b over "
             "each model's and optimiser's lr x B grid (weighted least squares in logs, "
             "jackknife errors over replicas). a = b is the linear scaling rule (<S> depends "
             "on lr/B alone); SGD and heavy-ball momentum predict a = b = 1/2 at small lr, "
             "momentum with c scaled by 1/sqrt(1 - beta) (lr -> lr/(1 - beta)). Adam has no "
             "closed form.", "",
             "| model | optimiser | a | b | a - b | c | chi^2/dof | predicted |",
             "|---|---|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for group in groups:
        fit, predicted = group["fit"], group["predicted"]
        if predicted is None:
            theory = _NO_CLOSED_FORM
        else:
            theory = f"a = b = 1/2, c = {predicted['c']:.4f}"
            if group["beta"] is not None:
                theory += " (SGD's c / sqrt(1 - beta))"
        lines.append(
            f"| {group['model']} | {group['label']} | {_pm(fit['a'], fit['a_err'])} "
            f"| {_pm(fit['b'], fit['b_err'])} | {_pm(fit['a_minus_b'], fit['a_minus_b_err'])} "
            f"| {_pm(fit['c'], fit['c_err'])} | {fit['chi2_dof']:.2f} | {theory} |"
        )
    lines += ["", f"Figure: {figure} (<S> against lr/B, with lr/(B (1 - beta)) for momentum, "
              "and against each fit c lr^a B^-b; one row per model).", "",
              "| model | optimiser | lr | B | <S> | fit c lr^a B^-b |",
              "|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for group in groups:
        fit = group["fit"]
        for p in group["points"]:
            fitted = fit["c"] * p["lr"] ** fit["a"] * p["batch_size"] ** -fit["b"]
            lines.append(f"| {group['model']} | {group['label']} | {p['lr']:g} "
                         f"| {p['batch_size']} | {_pm(p['mean_spacing'], p['mean_spacing_err'])} "
                         f"| {fitted:.4f} |")  # fmt: skip
    lines.append("")
    for name, directory, _, _ in stores:
        lines.append(f"Figures and per-setting summaries of {name}: {directory}/")
    lines.append("")
    return lines


# -- reproduce large-n -------------------------------------------------------------------------


def compare_large_n(stores, outdir: Path | None = None) -> dict:
    """The statistics of ``reproduce large-n``, and its figure.

    For every point of ``large_n_rbm`` (a trained RBM with a dense, non-degenerate target):
    :func:`~dysonlearn.analysis.bulk_statistics` of its usable replicas over the pooled
    snapshots (the KS p-values of the unfolded bulk spacings against the Wigner surmise and
    the Poisson law, the gap ratio with its jackknife error against GOE and Poisson) and
    :func:`~dysonlearn.analysis.marchenko_pastur_test` of its initial spectra. For every
    point of the other experiments (initial spectra at N_v = 1000): the Marchenko-Pastur
    test.

    Parameters
    ----------
    stores : list of (str, pathlib.Path, list of EnsembleResult, int)
        Each experiment's name, directory, points and the snapshots to pool.
    outdir : pathlib.Path, optional
        Where the figure :data:`LARGE_N_FIGURE` ``.png`` goes
        (:func:`dysonlearn.plots.large_n_figure`); none without it.

    Returns
    -------
    dict
        ``bulk`` (one record per trained point: ``experiment``, ``n_visible``,
        ``n_hidden``, ``lr``, ``batch_size``, ``replicas``, ``failed``, ``pool_last`` and
        the numbers of :meth:`~dysonlearn.analysis.BulkStatistics.to_dict`),
        ``marchenko_pastur`` (one per point: ``experiment``, ``n_visible``, ``n_hidden``
        and :meth:`~dysonlearn.analysis.MarchenkoPasturTest.to_dict`), ``goe_gap_ratio``,
        ``poisson_gap_ratio`` and ``figure`` (the file name, or None).
    """
    from .analysis import (
        GOE_GAP_RATIO,
        POISSON_GAP_RATIO,
        bulk_statistics,
        marchenko_pastur_test,
    )

    out: dict = {"bulk": [], "marchenko_pastur": [], "goe_gap_ratio": GOE_GAP_RATIO,
                 "poisson_gap_ratio": POISSON_GAP_RATIO, "figure": None}  # fmt: skip
    first_bulk, initial = None, []
    for name, _, results, pool_last in stores:
        for result in results:
            config = result.config
            shape = {"experiment": name, "n_visible": config.n_visible,
                     "n_hidden": config.n_hidden}  # fmt: skip
            test = marchenko_pastur_test(result)
            out["marchenko_pastur"].append({**shape, **test.to_dict()})
            if name == "large_n_rbm":
                failed = int(np.sum(result.failed))
                stats = bulk_statistics(result, snapshots=pool_last)
                first_bulk = first_bulk or stats
                out["bulk"].append({**shape, "lr": config.lr, "batch_size": config.batch_size,
                                    "replicas": result.n_replicas, "failed": failed,
                                    "pool_last": pool_last, **stats.to_dict()})  # fmt: skip
            else:
                initial.append(result)
    if outdir is not None and first_bulk is not None:
        from .plots import DPI, _metadata, large_n_figure

        figure = Path(outdir) / f"{LARGE_N_FIGURE}.png"
        large_n_figure(first_bulk, initial).savefig(figure, dpi=DPI, format="png",
                                                    metadata=_metadata("png"))  # fmt: skip
        out["figure"] = figure.name
    return out


def _large_n_lines(found: dict, stores) -> list[str]:
    """The large_n section of reproduce.md: the statistics' table, then the MP tests."""
    lines = ["## large_n (unfolded bulk statistics of a large RBM; Marchenko-Pastur at "
             "initialisation)", "",
             "| quantity | measured | GOE | Poisson |", "|---|---:|---:|---:|"]  # fmt: skip
    for b in found["bulk"]:
        where = f"N_v = {b['n_visible']}, N_h = {b['n_hidden']}"
        lines += [
            f"| KS p, unfolded bulk spacings vs Wigner surmise ({where}) "
            f"| {b['ks_pvalue']:.3g} | Wigner | |",
            f"| KS p, unfolded bulk spacings vs Poisson exp(-s) ({where}) "
            f"| {b['poisson_ks_pvalue']:.3g} | | exp(-s) |",
            f"| mean gap ratio <r> ({where}) | {_pm(b['gap_ratio'], b['gap_ratio_err'])} "
            f"| {found['goe_gap_ratio']:.4f} ({b['gap_ratio_z_goe']:+.1f} sigma) "
            f"| {found['poisson_gap_ratio']:.4f} ({b['gap_ratio_z_poisson']:+.1f} sigma) |",
        ]
    for m in found["marchenko_pastur"]:
        lines.append(f"| Marchenko-Pastur KS p, step 0 (N_v = {m['n_visible']}, "
                     f"N_h = {m['n_hidden']}, c = {m['ratio']:.3g}) | {m['pvalue']:.3g} "
                     "| | |")  # fmt: skip
    lines.append("")
    for b in found["bulk"]:
        lines += [f"{b['experiment']}: lr = {b['lr']}, B = {b['batch_size']}, "
                  f"{b['replicas']} replicas ({b['failed']} diverged), last {b['pool_last']} "
                  f"snapshots pooled; levels {b['bulk'][0]} to {b['bulk'][1] - 1} of "
                  f"{b['n_levels']} kept and unfolded ({b['method']}); mean unfolded spacing "
                  f"{b['mean_spacing']:.4f}; KS on {b['ks_sample']} spacings (distance "
                  f"{b['ks_statistic']:.4f}).", ""]  # fmt: skip
    lines += ["The KS p-values treat the tested values as independent: every third bulk "
              "spacing of a spectrum, and every eigenvalue of an initial spectrum (which "
              "repel, so that the Marchenko-Pastur p-value is conservative). The gap ratio "
              "needs no unfolding; its error is the jackknife over replicas.", ""]  # fmt: skip
    if found["figure"]:
        lines += [f"Figure: {found['figure']} (spacing histogram against the Wigner surmise "
                  "and exp(-s); step-0 spectra against Marchenko-Pastur).", ""]  # fmt: skip
    for name, directory, _, _ in stores:
        lines.append(f"Store and summaries of {name}: {directory}/")
    lines.append("")
    return lines


# -- reproduce deep-linear ---------------------------------------------------------------------

SMALL_SPACING = 0.2
"""The normalised spacing s = S / <S> below which a spacing counts as small in
:func:`compare_deep_linear`: the Wigner surmise puts 1 - exp(-pi s^2 / 4) = 0.031 of its
spacings there, the Poisson law 1 - exp(-s) = 0.181."""


def _normalised_spacings(spacings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, m) spacings of one point over its mean: all of them, and the last of each
    replica (independent samples, for the KS tests)."""
    s = spacings / np.mean(spacings)
    return s, s[:, -1]


def _spacing_law(pooled: list[np.ndarray], last: list[np.ndarray]) -> dict:
    """The small-spacing fraction (error over replicas) and the KS p-values against the
    Wigner surmise and the Poisson law of normalised spacings, pooled over points."""
    from scipy import stats

    from .analysis import wigner_cdf

    per_replica = np.concatenate([np.mean(s < SMALL_SPACING, axis=1) for s in pooled])
    independent = np.concatenate(last)
    return {
        "spacings": int(sum(s.size for s in pooled)),
        "replicas": int(per_replica.size),
        "small_fraction": float(per_replica.mean()),
        "small_fraction_err": float(per_replica.std(ddof=1) / np.sqrt(per_replica.size)),
        "ks_wigner": float(stats.kstest(independent, wigner_cdf).pvalue),
        "ks_poisson": float(stats.kstest(independent, "expon").pvalue),
    }


def compare_deep_linear(stores, outdir: Path | None = None) -> dict:
    """The statistics of ``reproduce deep-linear``, and its figure.

    For each depth L (one store each) and each point: the mean spacing <S> of the end-to-end
    degenerate pair with its error over replicas (the usable replicas' last ``pool_last``
    snapshots, as :func:`compare_optimizers` takes them), beside sqrt(pi) sigma of
    :eq:`dl-level-width` (:attr:`~dysonlearn.DeepLinearConfig.level_widths`); per depth the
    chi^2 of the points against that prediction; the pairs of points at equal lr / B (the
    linear scaling rule: equal <S> up to the finite-lr factor, which the prediction holds);
    and the law of the normalised spacings s = S / <S> of the end-to-end pair and of each
    layer's degenerate pair (``result.layer_eigenvalues``,
    :func:`~dysonlearn.analysis.layer_pairs`), pooled over the
    points of a depth: the fraction below :data:`SMALL_SPACING` and the KS p-values against
    the Wigner surmise :eq:`wigner-surmise` and the Poisson law exp(-s).

    Parameters
    ----------
    stores : list of (str, pathlib.Path, list of EnsembleResult, int)
        Each experiment's name, directory, points and the snapshots to pool.
    outdir : pathlib.Path, optional
        Where the figure :data:`DEEP_LINEAR_FIGURE` ``.png`` goes
        (:func:`dysonlearn.plots.deep_linear_figure`); none without it.

    Returns
    -------
    dict
        ``points`` (``depth``, ``widths``, ``lr``, ``batch_size``, ``noise``, ``ratio``
        (lr / B), ``scale`` (sqrt(lr A^2 / (2 B))), ``mean_spacing``, ``mean_spacing_err``,
        ``predicted``, ``z`` (the difference in errors)); ``depths`` (``depth``,
        ``widths``, ``curvature`` lambda, ``points``, ``chi2_dof``, ``p_value``,
        ``mean_ratio`` and its error); ``equal_ratio`` (pairs of points of one depth at one
        lr / B: ``z_raw``, the difference of their <S> in errors, and ``z_scaled``, that of
        <S> / prediction); ``spacing_law`` (``depth``, ``layer`` (None for the end-to-end
        map, else 1 .. L), ``pair``, the small-spacing fraction, its error and the two
        KS p-values); ``layer_source`` (where the layers' spectra came from, or None when
        the results hold none); ``balancedness`` (:func:`balancedness_check`, at most 256
        replicas); ``small_spacing``, ``wigner_small_fraction``,
        ``poisson_small_fraction``; ``figure`` (the file name, or None).
    """
    from .analysis.fits import chi2_pvalue, usable_replicas

    out: dict = {"points": [], "depths": [], "equal_ratio": [], "spacing_law": [],
                 "layer_source": None, "small_spacing": SMALL_SPACING,
                 "wigner_small_fraction": float(-np.expm1(-np.pi * SMALL_SPACING**2 / 4)),
                 "poisson_small_fraction": float(-np.expm1(-SMALL_SPACING)),
                 "figure": None}  # fmt: skip
    drawn = []
    for _, _, results, pool_last in stores:
        config = results[0].config
        depth, widths = config.n_layers, list(config.widths)
        rows = []
        laws: dict = {}  # (layer or None, pair) -> (pooled, last)
        for result in results:
            cfg = result.config
            mean, err = _point_spacing(result, pool_last)
            predicted = float(math.sqrt(math.pi) * cfg.level_widths[_pairs(cfg)[0][0]])
            rows.append({"depth": depth, "widths": widths, "lr": cfg.lr,
                         "batch_size": cfg.batch_size, "noise": cfg.noise,
                         "ratio": cfg.lr / cfg.batch_size,
                         "scale": math.sqrt(cfg.lr * cfg.noise**2 / (2 * cfg.batch_size)),
                         "mean_spacing": mean, "mean_spacing_err": err,
                         "predicted": predicted,
                         "z": (mean - predicted) / err if err > 0 else math.nan})  # fmt: skip
            keep = usable_replicas(result, pool_last)
            late = np.asarray(result.eigenvalues, dtype=np.float64)[keep, -pool_last:]
            spectra = [(None, late, _pairs(cfg))]
            layers = result.layer_eigenvalues
            if layers is not None:
                out["layer_source"] = "recorded layer spectra"
                spectra += [(layer, np.asarray(values)[keep, -pool_last:],
                             [index for _, index in layer_pairs(cfg, layer)])
                            for layer, values in enumerate(layers, start=1)]  # fmt: skip
            for layer, values, pairs in spectra:
                for pair in pairs:
                    spacing = values[..., pair[1]] - values[..., pair[0]]
                    spacing = spacing[np.all(np.isfinite(spacing), axis=1)]
                    if spacing.shape[0] < 3:
                        continue
                    pooled, last = _normalised_spacings(spacing)
                    laws.setdefault((layer, pair), ([], []))
                    laws[(layer, pair)][0].append(pooled)
                    laws[(layer, pair)][1].append(last)
        out["points"] += rows
        z = np.array([r["z"] for r in rows])
        ratio = np.array([r["mean_spacing"] / r["predicted"] for r in rows])
        ratio_err = np.array([r["mean_spacing_err"] / r["predicted"] for r in rows])
        weights = 1 / ratio_err**2
        chi2_dof = float(np.mean(z**2))
        out["depths"].append({
            "depth": depth, "widths": widths, "curvature": float(config.curvatures[0]),
            "points": len(rows), "chi2_dof": chi2_dof,
            "p_value": chi2_pvalue(chi2_dof, len(rows)),
            "mean_ratio": float(np.sum(weights * ratio) / np.sum(weights)),
            "mean_ratio_err": float(1 / np.sqrt(np.sum(weights))),
        })  # fmt: skip
        by_ratio: dict = {}
        for row in rows:
            by_ratio.setdefault(round(row["ratio"], 12), []).append(row)
        for key, same in sorted(by_ratio.items()):
            same.sort(key=lambda r: r["lr"])
            for a, b in zip(same, same[1:]):
                raw = math.hypot(a["mean_spacing_err"], b["mean_spacing_err"])
                scaled = math.hypot(a["mean_spacing_err"] / a["predicted"],
                                    b["mean_spacing_err"] / b["predicted"])  # fmt: skip
                out["equal_ratio"].append({
                    "depth": depth, "ratio": key,
                    "first": {"lr": a["lr"], "batch_size": a["batch_size"]},
                    "second": {"lr": b["lr"], "batch_size": b["batch_size"]},
                    "z_raw": (b["mean_spacing"] - a["mean_spacing"]) / raw,
                    "z_scaled": (b["mean_spacing"] / b["predicted"]
                                 - a["mean_spacing"] / a["predicted"]) / scaled,
                })  # fmt: skip
        for (layer, pair), (pooled, last) in laws.items():
            law = {"depth": depth, "layer": layer, "pair": list(pair),
                   **_spacing_law(pooled, last)}  # fmt: skip
            out["spacing_law"].append(law)
            drawn.append({"depth": depth, "layer": layer, "s": np.concatenate(last)})
    replicas = min(result.n_replicas for _, _, results, _ in stores for result in results)
    out["balancedness"] = balancedness_check(min(replicas, 256), outdir)
    if outdir is not None and out["points"]:
        from .plots import DPI, _metadata, deep_linear_figure

        figure = Path(outdir) / f"{DEEP_LINEAR_FIGURE}.png"
        deep_linear_figure(out["points"], drawn).savefig(figure, dpi=DPI, format="png",
                                                         metadata=_metadata("png"))  # fmt: skip
        out["figure"] = figure.name
    return out


BALANCEDNESS_FIGURE = "balancedness"
"""The file name (without suffix) of the balancedness figure of ``reproduce deep-linear``."""


def balancedness_check(replicas: int, outdir: Path | None = None, seed: int = 20250116) -> dict:
    """The drift of the balancedness D_l :eq:`dl-balancedness` in two ensembles started at
    the balanced minimum (``init = "balanced"``, ``init_std = 0``), B = 16, steps 50 to 2000.

    Without noise at a bottleneck (widths [4, 2, 4], teacher (2, 2, 1, 1), lr 0.01): a drift
    linear in t at the rate :eq:`dl-balancedness-sgd`
    (:func:`~dysonlearn.analysis.bottleneck_drift_rate`). With noise (widths [4, 4, 4],
    teacher 2, A = 0.5, lr 0.02): a diffusion, gamma = 1/2, at the root-mean-square rate
    :eq:`dl-balancedness-diffusion` (:func:`~dysonlearn.analysis.diffusion_prefactor`).

    Parameters
    ----------
    replicas : int
        Replicas of each ensemble.
    outdir : pathlib.Path, optional
        Where the figure :data:`BALANCEDNESS_FIGURE` ``.png`` goes
        (:func:`dysonlearn.plots.balancedness_figure`); none without it.
    seed : int
        The ensembles' seed.

    Returns
    -------
    dict
        ``cases``: per ensemble its ``case`` ("noiseless", "noisy"), ``widths``, ``noise``,
        ``lr``, the fitted ``gamma`` and ``c`` of c t^gamma with their errors
        (:func:`~dysonlearn.analysis.fit_drift`), ``expected_gamma``, ``rate`` (the fitted c
        without noise; with noise the root-mean-square drift per square root of a step,
        sqrt(mean |D(t) - D(0)|^2 / t)) with ``rate_err``, and ``predicted_rate``;
        ``figure`` (the file name, or None).
    """
    from .analysis import balancedness_drift, bottleneck_drift_rate, diffusion_prefactor
    from .config import DeepLinearConfig

    times = np.unique(np.geomspace(50, 2000, 12).astype(int))
    cases = [
        ("noiseless", DeepLinearConfig(widths=[4, 2, 4], teacher=[2.0, 2.0, 1.0, 1.0],
                                       noise=0.0, lr=0.01, batch_size=16, steps=2000,
                                       init="balanced", init_std=0.0)),
        ("noisy", DeepLinearConfig(widths=[4, 4, 4], teacher=[2.0] * 4, noise=0.5, lr=0.02,
                                   batch_size=16, steps=2000, init="balanced",
                                   init_std=0.0)),
    ]  # fmt: skip
    out: dict = {"cases": [], "figure": None}
    drifts = []
    for name, config in cases:
        drift = balancedness_drift(config, replicas, seed, times)
        fit = drift.fit()
        row = {"case": name, "widths": list(config.widths), "noise": config.noise,
               "lr": config.lr, "gamma": fit.gamma, "gamma_err": fit.gamma_err, "c": fit.c,
               "c_err": fit.c_err}  # fmt: skip
        if config.noise == 0:
            row.update(expected_gamma=1.0, rate=fit.c, rate_err=fit.c_err,
                       predicted_rate=float(bottleneck_drift_rate(config)[-1]))  # fmt: skip
        else:
            rms, rms_err = drift.diffusion_rate()
            row.update(expected_gamma=0.5, rate=rms, rate_err=rms_err,
                       predicted_rate=float(np.mean(diffusion_prefactor(config,
                                                                        drift.initial))))  # fmt: skip
        out["cases"].append(row)
        drifts.append(drift)
    if outdir is not None:
        from .plots import DPI, _metadata, balancedness_figure

        figure = Path(outdir) / f"{BALANCEDNESS_FIGURE}.png"
        labels = [rf"$A={d.config.noise:g}$, widths {list(d.config.widths)}" for d in drifts]
        balancedness_figure(drifts, labels).savefig(figure, dpi=DPI, format="png",
                                                    metadata=_metadata("png"))  # fmt: skip
        out["figure"] = figure.name
    return out


def _balancedness_lines(found: dict) -> list[str]:
    """The balancedness part of the deep_linear section of reproduce.md."""
    lines = ["The balancedness D_l = W_(l+1)^T W_(l+1) - W_l W_l^T, conserved by gradient flow, "
             "from the balanced minimum (B = 16, steps 50 to 2000; |D(t) - D(0)| fitted as "
             "c t^gamma): without noise, at a bottleneck, a drift of O(lr^2) per step (gamma "
             "= 1, rate c); with the noise, a diffusion (gamma = 1/2, rate the root-mean-"
             "square drift per square root of a step).", "",
             "| case | widths | A | lr | gamma (expected) | rate | rate predicted |",
             "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for row in found["cases"]:
        lines.append(f"| {row['case']} | {row['widths']} | {row['noise']:g} | {row['lr']:g} "
                     f"| {_pm(row['gamma'], row['gamma_err'])} ({row['expected_gamma']:g}) "
                     f"| {row['rate']:.4g} ± {row['rate_err']:.2g} "
                     f"| {row['predicted_rate']:.4g} |")  # fmt: skip
    lines.append("")
    if found["figure"]:
        lines += [f"Figure: {found['figure']} (the drift against steps, log-log, with the "
                  "fitted power laws and the slopes 1 and 1/2).", ""]  # fmt: skip
    return lines


def _p(value: float) -> str:
    """A p-value for a table: 3 significant digits, or a bound where it underflows."""
    return f"{value:.3g}" if value > 0 else "< 1e-300"


def _deep_linear_lines(found: dict, stores) -> list[str]:
    """The deep_linear section of reproduce.md: per depth, then per point, the pairs at
    equal lr / B and the spacing law of every pair."""
    replicas = sorted({results[0].n_replicas for _, _, results, _ in stores})
    pool = stores[0][3]
    law = {(w["depth"], w["layer"]): w for w in found["spacing_law"]}
    cut = found["small_spacing"]
    lines = [f"## deep_linear (L = 1, 2, 3 at one end-to-end teacher; "
             f"{' or '.join(map(str, replicas))} replicas per setting, last {pool} "
             f"snapshot{'s' if pool != 1 else ''} pooled)", "",
             "<S> is the mean spacing of the end-to-end map's degenerate pair, against the "
             "prediction sqrt(pi) sigma, sigma^2 = (lr A^2 / (2 B)) / (1 - lr lambda / 2), "
             "lambda = L kappa^(2 (L - 1) / L); chi^2 / dof of the points against it (no "
             f"fitted parameter). P(s < {cut:g}) is the fraction of normalised spacings "
             f"s = S / <S> below {cut:g}: {found['wigner_small_fraction']:.3f} for the Wigner "
             f"surmise (repulsion), {found['poisson_small_fraction']:.3f} for Poisson levels.",
             "",
             "| L | widths | lambda | chi^2/dof (p) | <S> / prediction | "
             f"P(s < {cut:g}), end-to-end | KS p Wigner | KS p Poisson |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for d in found["depths"]:
        w = law.get((d["depth"], None))
        p = f"{d['p_value']:.2g}" if d["p_value"] is not None else "n/a"
        tail = (f"{_pm(w['small_fraction'], w['small_fraction_err'])} | {_p(w['ks_wigner'])} "
                f"| {_p(w['ks_poisson'])}") if w else "n/a | n/a | n/a"  # fmt: skip
        lines.append(f"| {d['depth']} | {d['widths']} | {d['curvature']:.4g} "
                     f"| {d['chi2_dof']:.2f} ({p}) "
                     f"| {_pm(d['mean_ratio'], d['mean_ratio_err'])} | {tail} |")  # fmt: skip
    lines += ["", "| L | lr | B | lr/B | <S> | predicted sqrt(pi) sigma | ratio | "
              "(<S> - predicted) / error |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for p in found["points"]:
        lines.append(f"| {p['depth']} | {p['lr']:g} | {p['batch_size']} | {p['ratio']:.3g} "
                     f"| {p['mean_spacing']:.6f} ± {p['mean_spacing_err']:.6f} "
                     f"| {p['predicted']:.6f} "
                     f"| {p['mean_spacing'] / p['predicted']:.3f} | {p['z']:+.1f} |")  # fmt: skip
    lines += ["", "Points at equal lr / B (the linear scaling rule): the difference of their "
              "<S> in errors, and that of <S> / prediction, which takes out the finite-lr "
              "factor 1 / sqrt(1 - lr lambda / 2) by which they are expected to differ.", "",
              "| L | lr/B | (lr, B) | (lr', B') | <S>' - <S> (errors) "
              "| difference of <S> / prediction (errors) |",
              "|---:|---:|---|---|---:|---:|"]  # fmt: skip
    for e in found["equal_ratio"]:
        a, b = e["first"], e["second"]
        lines.append(f"| {e['depth']} | {e['ratio']:.3g} | ({a['lr']:g}, {a['batch_size']}) "
                     f"| ({b['lr']:g}, {b['batch_size']}) | {e['z_raw']:+.1f} "
                     f"| {e['z_scaled']:+.1f} |")  # fmt: skip
    source = found["layer_source"]
    lines += ["", "The law of the normalised spacings of each degenerate pair, pooled over a "
              "depth's points (the fraction's error over replicas; the KS tests take one "
              "spacing per replica, the last): the end-to-end map and "
              + (f"each layer's pair ({source}). A layer's pair has no stationary law: "
                 "the layers diffuse freely along the directions that leave the end-to-end "
                 "map unchanged, and from a random start they keep the split of their "
                 "conserved initial balancedness, so their spacings repel without following "
                 "the surmise exactly (theory: deep linear networks, each layer's spectrum; "
                 "init = \"balanced\", init_std = 0 shows the surmise)." if source else
                 "no layer (these results hold no per-layer spectra)."), "",
              f"| L | pair of | modes | spacings | P(s < {cut:g}) | KS p Wigner | "
              "KS p Poisson |", "|---:|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for w in found["spacing_law"]:
        what = "end-to-end map" if w["layer"] is None else f"layer W_{w['layer']}"
        lines.append(f"| {w['depth']} | {what} | {tuple(w['pair'])} | {w['spacings']} "
                     f"| {_pm(w['small_fraction'], w['small_fraction_err'])} "
                     f"| {_p(w['ks_wigner'])} | {_p(w['ks_poisson'])} |")  # fmt: skip
    lines.append("")
    lines += _balancedness_lines(found["balancedness"])
    if found["figure"]:
        lines += [f"Figure: {found['figure']} (<S> against sqrt(lr A^2 / (2 B)) for each depth "
                  "with the prediction; <S> / prediction against lr / B; the normalised "
                  "spacings of the end-to-end pairs and of the layers' pairs against the "
                  "Wigner surmise and exp(-s)).", ""]  # fmt: skip
    for name, directory, _, _ in stores:
        lines.append(f"Store and summaries of {name}: {directory}/")
    lines.append("")
    return lines
