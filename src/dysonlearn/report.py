"""Reports of a finished experiment: summary.json for programs, summary.md for people, and
the few lines the command line prints (:func:`headline`).

Both summaries use one symbol per quantity (alpha the learning rate, B the batch size, A the
noise, x_i the learnt eigenvalues, kappa_i the target ones, sigma a level's width, S a
spacing, U the Binder cumulant), defined once at their top (``symbols``); every fitted
number stands beside its prediction, and warnings say where the data do not support a fit
or a point is not stationary (see :mod:`dysonlearn.analysis.summary`).

Diverged replicas are skipped by every statistic and counted: each point states how many
replicas it had, how many diverged and how many the numbers come from; a point where all
diverged says so ("64 replicas, all diverged: no statistics") and has no numbers. Any value
that could not be computed is null in the JSON and "n/a" in the Markdown.
"""

from __future__ import annotations

import json
from pathlib import Path

from ._version import __version__
from .analysis import summarize
from .analysis.summary import FIT_TEST, STATIONARITY_TEST
from .models import model_for
from .store import config_from_dict


def point_label(params: dict) -> str:
    """A scan point's parameters as one label.

    Parameters
    ----------
    params : dict
        The point's scan parameters, e.g. ``{"lr": 0.1, "batch_size": 16}``.

    Returns
    -------
    str
        ``"lr=0.1, batch_size=16"``, or ``"single point"`` when there are none.
    """
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "single point"


# The package's symbols (one per quantity), with the TOML name where there is one.
_SYMBOLS = {
    "alpha": "learning rate (TOML lr)",
    "B": "mini-batch size (TOML batch_size)",
    "A": "noise amplitude added by hand to the update (TOML noise)",
    "N": "number of modes (size of the matrix)",
}
_STATISTICS = {
    "sigma": "width (standard deviation) of a level in the stationary state",
    "S": "level spacing x_{i+1} - x_i of a degenerate pair; <S> its mean, s = S / <S>",
    "U": "Binder cumulant 1 - <y^4> / (3 <y^2>^2) of a pair's pooled levels y (centred): "
    "4/27 = 0.148 for the two-level semicircle, 0 for a Gaussian",
    "chi^2/dof": "chi^2 per degree of freedom of a fit; p its p-value",
}
_PARAM_SYMBOLS = {"lr": "alpha", "batch_size": "B", "noise": "A"}
_DOTS = 3  # at most this many warnings in the printed summary


def symbols(config) -> dict:
    """The symbols of a summary, each with its meaning, for one model's configuration.

    Parameters
    ----------
    config : model configuration
        Of the experiment (its model gives x_i, kappa_i and x*_i their meaning).

    Returns
    -------
    dict
        Symbol -> meaning, in the order summary.md lists them; ``A`` only for a model with
        a noise, ``f`` only for one whose prediction has a finite-learning-rate factor.
    """
    model = model_for(config)
    labels = model.labels_for(config)
    out = dict(_SYMBOLS)
    if getattr(config, "noise", None) is None:
        del out["A"]
    out |= {
        "x_i": f"learnt {labels.eigenvalue_text} (i = 0 .. N-1)",
        "kappa_i": labels.kappa_text,
        "x*_i": labels.level_text,
    }
    out |= _STATISTICS
    factors = model.finite_lr_factors(config)
    if factors is not None:
        out["f"] = (
            "finite-learning-rate factor of a level's predicted width: sigma at alpha over "
            "its alpha -> 0 limit, 1 / sqrt(1 - alpha c / 2) with c the curvature of the "
            "drift at x* (c = 1 for the teacher-student model: f = 1 / sqrt(1 - alpha / 2))"
        )
    return out


def point_title(params: dict) -> str:
    """A scan point's parameters in the summaries' symbols: ``"alpha=0.1, B=16"``.

    Parameters
    ----------
    params : dict
        The point's scan parameters by TOML name.

    Returns
    -------
    str
        ``"single point"`` when there are none.
    """
    return ", ".join(f"{_PARAM_SYMBOLS.get(k, k)}={v}" for k, v in params.items()) or (
        "single point"
    )


def build_summary(results, params: list[dict], snapshots: int = 1, fits=None) -> dict:
    """summarize() of every point, labelled with its scan parameters, plus the scaling fit,
    the symbols, the tests behind the warnings and every warning.

    Parameters
    ----------
    results : sequence of EnsembleResult
        The points of the experiment, in order.
    params : list of dict
        Each point's scan parameters (its label).
    snapshots : int
        Pool the last ``snapshots`` snapshots of every replica.
    fits : list, optional
        Each point's :func:`dysonlearn.analysis.summary.point_fits`, if already had.

    Returns
    -------
    dict
        JSON-able: ``dysonlearn_version``, ``symbols`` (symbol -> meaning), ``pool_last``,
        ``tests`` (how warnings are decided), ``warnings`` (all of them, each naming its
        point), ``points`` (see :func:`dysonlearn.analysis.summarize`; each with
        ``label``, ``title``, ``params``, ``replicas``, ``failed`` (diverged, skipped),
        ``analysed`` and ``warnings``), the totals ``replicas`` and ``failed``, and
        ``scaling`` for a scan.
    """
    results = list(results)
    analysed = summarize(results, snapshots, fits)
    everything = []
    for point, values in zip(analysed["points"], params, strict=True):
        point["label"] = point_label(values)
        point["title"] = point_title(values)
        point["params"] = values
        everything += [f"{point['title']}: {w}" for w in point.get("warnings", [])]
    everything += [f"scaling: {w}" for w in (analysed.get("scaling") or {}).get("warnings", [])]
    return {
        "dysonlearn_version": __version__,
        "model": model_for(results[0].config).name if results else None,
        "symbols": symbols(results[0].config) if results else {},
        "pool_last": snapshots,
        "tests": {"fit": FIT_TEST, "stationarity": STATIONARITY_TEST},
        "warnings": everything,
        **analysed,
    }


def _num(value, digits: int = 4) -> str:
    """A number to ``digits`` decimals, "n/a" for None (a value that could not be had)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pm(value, error, digits=4, sign="±") -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" + (f" {sign} {error:.{digits}f}" if error is not None else "")


def _p(value) -> str:
    return "n/a" if value is None else f"{value:.2g}"


def _replicas_line(point: dict) -> str:
    """How many replicas the point had, how many diverged, what the statistics rest on."""
    replicas, failed = point["replicas"], point["failed"]
    analysed = point.get("analysed", replicas - failed)
    steps = point.get("steps") or []
    seed = f"seed {point['seed']}"
    if failed and failed == replicas:
        first = point.get("fail_steps", {}).get("first")
        last = point.get("fail_steps", {}).get("last")
        when = f" (steps {first}-{last})" if first is not None else ""
        return f"{replicas} replicas, all diverged{when}: no statistics; {seed}."
    note = point.get("note") or ""
    if note.endswith("no statistics"):  # too few usable replicas: the note has the counts
        return f"{note}; {seed}."
    if failed:
        text = f"{replicas} replicas, {failed} diverged and skipped"
    else:
        text = f"{replicas} replicas, none diverged"
    at = f"step {steps[-1]}" if len(steps) == 1 else f"steps {steps[0]}-{steps[-1]} pooled"
    return f"{text}; statistics of {analysed} replicas at {at}, {seed}."


def _header(summary: dict) -> list[str]:
    """The title, what the statistics rest on, the symbols, the warnings and their tests."""
    points = summary["points"]
    replicas = summary.get("replicas", sum(p["replicas"] for p in points))
    failed = summary.get("failed", sum(p["failed"] for p in points))
    pool = summary.get("pool_last", 1)
    model = f" of the {summary['model']} model" if summary.get("model") else ""
    lines = [f"# dysonlearn summary{model}", ""]
    count = f"{len(points)} points, " if len(points) > 1 else ""
    lines += [
        f"dysonlearn {summary['dysonlearn_version']}. {count}{replicas} replicas, {failed} "
        "diverged and skipped." if len(points) > 1 else
        f"dysonlearn {summary['dysonlearn_version']}.",
        "",
        _pool_sentence(summary, pool),
        "",
    ]  # fmt: skip
    if summary.get("symbols"):
        lines += ["## Symbols", ""]
        lines += [f"- {name}: {meaning}" for name, meaning in summary["symbols"].items()]
        lines.append("")
    if "warnings" in summary:
        lines += ["## Warnings", ""]
        lines += [f"- **warning** {w}" for w in summary["warnings"]] or ["None."]
        lines.append("")
        tests = summary.get("tests") or {}
        if tests:
            lines += ["How: " + "; ".join(tests.values()) + ".", ""]
    return lines


def _pool_sentence(summary: dict, pool) -> str:
    """What every statistic pools: the last snapshots, or the records of a time series."""
    series = [p for p in summary["points"] if "time_series" in p]
    if series and len(series) == len(summary["points"]):
        what = "every record but step 0" if pool is None else f"the last {pool} records"
        return (f"Every statistic pools {what} of every replica's time series "
                "(pool_last); errors are jackknife errors over replicas, which are "
                "independent however correlated the records of one replica are.")  # fmt: skip
    pool = 1 if pool is None else pool
    return (f"Every statistic pools the last {pool} snapshot{'s' if pool != 1 else ''} of every "
            "replica (pool_last); errors are jackknife errors over replicas.")  # fmt: skip


def _level_lines(point: dict) -> list[str]:
    lines = [
        "| i | x*_i | mean of x_i | sigma (std of x_i) | sigma predicted | Gaussian fit sigma "
        "| chi^2/dof (p) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in point["levels"]:
        fit = m.get("gaussian_fit") or {}
        quality = (f"{fit['chi2_dof']:.3g} ({_p(fit.get('p_value'))})"
                   if fit.get("chi2_dof") is not None else "")  # fmt: skip
        lines.append(
            f"| {m['mode']} | {_num(m['target'])} | {_pm(m['mean'], m['mean_err'])} "
            f"| {_num(m['std'])} | {_num(m['predicted_width'])} "
            f"| {_pm(fit.get('sigma'), fit.get('sigma_err')) if fit else ''} | {quality} |"
        )
    return lines


def _time_series_lines(series: dict) -> list[str]:
    """The recorded time series: each mode's and spacing's time mean, autocorrelation
    times and relaxation rate beside the model's."""
    lines = [
        f"Time series: {series['analysed']} replicas x {series['records']} records, one every "
        f"{series['record_every']:g} steps; tau in steps, rates per unit t = alpha * step.",
        "",
        "| quantity | time mean | tau_int | effective samples | tau_exp | rate | rate predicted "
        "| z (thirds) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [(f"x_{m['mode']}", m) for m in series["modes"]]
    rows += [(f"S = x_{s['modes'][1]} - x_{s['modes'][0]}", s) for s in series["spacings"]]
    for name, row in rows:
        lines.append(
            f"| {name} | {_pm(row['mean'], row['mean_err'])} | {_num(row['tau_int'], 1)} "
            f"| {_num(row['effective_samples'], 0)} "
            f"| {_pm(row['tau_exp'], row['tau_exp_err'], 1)} "
            f"| {_pm(row.get('rate'), row.get('rate_err'))} | {_num(row.get('predicted_rate'))} "
            f"| {_num(row['stationarity_z'], 3)} |"
        )
    return lines


def _pair_lines(point: dict) -> list[str]:
    factor = any("finite_lr_factor" in p for p in point["pairs"])
    head = "| pair | x* | <S> | <S> predicted, sqrt(pi) sigma "
    rule = "|---|---:|---:|---:"
    if factor:
        head += "| <S> predicted at alpha -> 0 | f "
        rule += "|---:|---:"
    head += ("| sigma of the two-level semicircle fit | chi^2/dof (p) | U (4/27 = 0.148) "
             "| KS p (Wigner surmise) |")  # fmt: skip
    rule += "|---:|---:|---:|---:|"
    lines = [head, rule]
    for p in point["pairs"]:
        fit = p["fit"] or {}
        row = (f"| {p['modes'][0]}-{p['modes'][1]} | {_num(p['target'])} "
               f"| {_pm(p['mean_spacing'], p['mean_spacing_err'])} "
               f"| {_num(p['predicted_mean_spacing'])} ")  # fmt: skip
        if factor:
            row += (f"| {_num(p.get('predicted_mean_spacing_small_lr'))} "
                    f"| {_num(p.get('finite_lr_factor'))} ")  # fmt: skip
        quality = (f"{fit['chi2_dof']:.3g} ({_p(fit.get('p_value'))})"
                   if fit.get("chi2_dof") is not None else "n/a")  # fmt: skip
        row += (f"| {_pm(fit.get('sigma'), fit.get('sigma_err'))} | {quality} "
                f"| {_pm(p['binder'], p['binder_err'], 3)} "
                f"| {_num(p['wigner_ks_pvalue'], 3)} |")  # fmt: skip
        lines.append(row)
    return lines


def _layer_lines(point: dict) -> list[str]:
    """Each layer's pairs of singular values (deep linear model), at the last snapshot."""
    step = point["layers"][0]["step"]
    lines = [
        f"Each layer's pairs of singular values at step {step} (they keep opening as the "
        "layers diffuse; predicted from an exactly balanced start):",
        "",
        "| layer | pair | <S_l> | <S_l> predicted | P(S < <S>/2) (Wigner 0.178, Poisson 0.393) "
        "| KS p (Wigner surmise) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for fit in point["layers"]:
        lines.append(
            f"| {fit['layer']} | {fit['modes'][0]}-{fit['modes'][1]} "
            f"| {_pm(fit['mean'], fit['mean_err'])} | {_num(fit['predicted'])} "
            f"| {_num(fit['small_fraction'], 3)} | {_num(fit['ks_pvalue'], 3)} |"
        )
    return lines


def markdown(summary: dict) -> str:
    """The summary as Markdown: the symbols, the warnings, then per point its replica
    counts and tables of levels and pairs (each number beside its prediction), then the
    scaling across the scan.

    Parameters
    ----------
    summary : dict
        What :func:`build_summary` returns (or that JSON read back).

    Returns
    -------
    str
        The text of summary.md.
    """
    lines = _header(summary)
    for point in summary["points"]:
        title = point.get("title") or point.get("label", "single point")
        lines += [f"## {title} ({point['config']['kind']})", "", _replicas_line(point), ""]
        note = point.get("note")
        if note and not note.endswith("no statistics"):
            lines += [f"Note: {note}.", ""]
        for warning in point.get("warnings", []):
            lines += [f"**Warning**: {warning}.", ""]
        test = point.get("stationarity") or {}
        if test.get("tested"):
            what = ("the first and last thirds of the recording" if test.get("method") == "thirds"
                    else "level means")  # fmt: skip
            lines += [
                f"Stationarity: {what}, {_span(test['steps'])} against "
                f"{_span(test['earlier_steps'])}, largest |z| = {test['max_abs_z']:.2f} "
                f"(flagged above {test['threshold']:g}).",
                "",
            ]
        if "modes" in (point.get("time_series") or {}):
            lines += _time_series_lines(point["time_series"]) + [""]
        if point["levels"]:
            lines += _level_lines(point)
        if point["pairs"]:
            lines += [""] + _pair_lines(point)
            if any("finite_lr_factor" in p for p in point["pairs"]):
                lines += ["", "The predicted <S> is sqrt(pi) sigma at this alpha; at alpha -> 0 "
                          "it is f times smaller."]  # fmt: skip
        if point.get("layers"):
            lines += [""] + _layer_lines(point)
        if point.get("gap_ratio") is not None:
            lines += ["", (f"Mean adjacent-gap ratio: {point['gap_ratio']:.4f} (0.5307 for "
                           "GOE levels, 0.3863 for Poisson levels).")]  # fmt: skip
        lines.append("")
    lines += _scaling_lines(summary.get("scaling"), summary)
    return "\n".join(lines)


def _span(steps: list) -> str:
    return f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}-{steps[-1]}"


def _scale_text(summary: dict) -> str:
    """The scaling variable of the summary's model, in words."""
    points = summary.get("points") or []
    if not points:
        return "the scaling variable"
    config = config_from_dict(points[0]["config"])
    return model_for(config).labels_for(config).scale_text


def _slope_text(summary: dict) -> str:
    points = summary.get("points") or []
    if not points:
        return "n/a"
    config = config_from_dict(points[0]["config"])
    return model_for(config).labels_for(config).slope_text


def _scaling_lines(scaling: dict | None, summary: dict | None = None) -> list[str]:
    """The scaling section: the common slopes beside their predictions, and the points
    left out of them."""
    if not scaling:
        return []
    summary = summary or {}
    scale = _scale_text(summary)
    predicted = scaling.get("predicted_spacing_slope")
    slope = _slope_text(summary) if predicted is not None else "n/a"
    fits = [
        ("spacing_slope", f"<S> against {scale}", f"{slope} (alpha -> 0)"),
        ("width_slope", f"sqrt(pi) sigma against {scale}", f"{slope} (alpha -> 0)"),
        ("spacing_vs_width", "<S> against sqrt(pi) sigma", "1"),
    ]
    skipped = scaling.get("skipped_points") or []
    if not any(scaling.get(key) for key, _, _ in fits) and not skipped:
        return []
    lines = ["## Scaling across the scan", "",
             "Common slopes of lines through the origin over every pair of every point.", "",
             "| slope of | fitted | predicted | chi^2/dof (p) |",
             "|---|---:|---:|---:|"]  # fmt: skip
    for key, text, expected in fits:
        fit = scaling.get(key)
        if fit is None:
            lines.append(f"| {text} | n/a (no pair to fit) | {expected} | |")
            continue
        lines.append(
            f"| {text} | {_pm(fit['slope'], fit['slope_err'])} | {expected} "
            f"| {_num(fit['chi2_dof'], 2)} ({_p(fit.get('p_value'))}) |"
        )
    lines.append("")
    for warning in scaling.get("warnings", []):
        lines += [f"**Warning**: {warning}.", ""]
    for point in skipped:
        noise = f", A={point['noise']}" if point.get("noise") is not None else ""
        lines.append(
            f"- left out: alpha={point['lr']}, B={point['batch_size']}{noise}: "
            f"{point['reason']}"
        )
    if skipped:
        lines.append("")
    return lines


def headline(summary: dict, outdir=None, written=None) -> list[str]:
    """The few lines ``dysonlearn run`` and ``analyze`` print: where the files are, the
    headline numbers with their errors beside their predictions, and the warnings.

    Parameters
    ----------
    summary : dict
        What :func:`build_summary` returns.
    outdir : path-like, optional
        Where the summaries and figures are.
    written : list of pathlib.Path, optional
        The files written (counted by kind).

    Returns
    -------
    list of str
        Plain ASCII lines, without the trailing newline.

    Examples
    --------
    >>> lines = headline({"dysonlearn_version": "1", "points": [], "pool_last": 1})
    >>> lines[0]
    'dysonlearn: 0 points; statistics pool the last 1 snapshot of every replica'
    """
    points = summary.get("points", [])
    pool = summary.get("pool_last", 1)
    replicas = sum(p["replicas"] for p in points)
    failed = sum(p["failed"] for p in points)
    where = ""
    lines = [f"dysonlearn: {len(points)} point{'s' if len(points) != 1 else ''}"
             + (f", {replicas} replicas ({failed} diverged)" if points else "")
             + f"; statistics pool the last {pool} snapshot{'s' if pool != 1 else ''} of every "
             "replica"]  # fmt: skip
    if outdir is not None:
        figures = [p for p in written or [] if p.suffix not in (".json", ".md")]
        kinds = sorted({p.suffix.lstrip(".") for p in figures})
        where = f"  files in {outdir}: summary.md, summary.json"
        if figures:
            where += f" and {len(figures)} figures ({', '.join(kinds)})"
        lines.append(where)
    scaling = summary.get("scaling") or {}
    fit = scaling.get("spacing_slope")
    if fit is not None:
        lines.append(
            f"  slope of <S> against {_scale_text(summary)}: "
            f"{_pm(fit['slope'], fit['slope_err'], 3, '+/-')} (prediction {_slope_text(summary)}"
            " as alpha -> 0)"
        )
        ratio = scaling.get("spacing_vs_width")
        if ratio is not None:
            value = _pm(ratio["slope"], ratio["slope_err"], 3, "+/-")
            lines.append(f"  slope of <S> against sqrt(pi) sigma: {value} (prediction 1)")
    elif len(points) == 1 and points[0]["pairs"]:
        for p in points[0]["pairs"][:_DOTS]:
            small = p.get("predicted_mean_spacing_small_lr")
            extra = f", {small:.4f} at alpha -> 0" if small is not None else ""
            lines.append(
                f"  pair {p['modes'][0]}-{p['modes'][1]}: <S> = "
                f"{_pm(p['mean_spacing'], p['mean_spacing_err'], 4, '+/-')} (prediction "
                f"{_num(p['predicted_mean_spacing'])}{extra})"
            )
    warnings = summary.get("warnings", [])
    if warnings:
        lines.append(f"  {len(warnings)} warning{'s' if len(warnings) != 1 else ''}:")
        lines += [f"  - {w}" for w in warnings[:_DOTS]]
        if len(warnings) > _DOTS:
            lines.append(f"  - and {len(warnings) - _DOTS} more: see summary.md")
    else:
        lines.append("  no warnings")
    return lines


def write_summary(outdir: Path, summary: dict) -> list[Path]:
    """Write summary.json and summary.md into ``outdir`` (made if missing).

    Parameters
    ----------
    outdir : pathlib.Path
        The output directory.
    summary : dict
        What :func:`build_summary` returns.

    Returns
    -------
    list of pathlib.Path
        The two files written.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    json_path = outdir / "summary.json"
    md_path = outdir / "summary.md"
    json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")  # fmt: skip
    md_path.write_text(markdown(summary), encoding="utf-8")
    return [json_path, md_path]
