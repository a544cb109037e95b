"""Reports of a finished experiment: summary.json for programs, summary.md for people.

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


def build_summary(results, params: list[dict], snapshots: int = 1, fits=None) -> dict:
    """summarize() of every point, labelled with its scan parameters, plus the scaling fit.

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
        JSON-able: ``dysonlearn_version``, ``points`` (see
        :func:`dysonlearn.analysis.summarize`; each with ``replicas``, ``failed``
        (diverged, skipped) and ``analysed``), the totals ``replicas`` and ``failed``, and
        ``scaling`` for a scan.
    """
    analysed = summarize(list(results), snapshots, fits)
    for point, values in zip(analysed["points"], params, strict=True):
        point["label"] = point_label(values)
        point["params"] = values
    return {"dysonlearn_version": __version__, **analysed}


def _num(value, digits: int = 4) -> str:
    """A number to ``digits`` decimals, "n/a" for None (a value that could not be had)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pm(value, error, digits=4) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" + (f" ± {error:.{digits}f}" if error is not None else "")


def _replicas_line(point: dict) -> str:
    """How many replicas the point had, how many diverged, what the statistics rest on."""
    replicas, failed = point["replicas"], point["failed"]
    analysed = point.get("analysed", replicas - failed)
    step = point["steps"][-1] if point.get("steps") else None
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
    return f"{text}; statistics of {analysed} replicas at step {step}, {seed}."


def markdown(summary: dict) -> str:
    """The summary as Markdown: per point, its replica counts and tables of levels and pairs.

    Parameters
    ----------
    summary : dict
        What :func:`build_summary` returns (or that JSON read back).

    Returns
    -------
    str
        The text of summary.md.
    """
    lines = [f"# dysonlearn summary (version {summary['dysonlearn_version']})", ""]
    points = summary["points"]
    replicas = summary.get("replicas", sum(p["replicas"] for p in points))
    failed = summary.get("failed", sum(p["failed"] for p in points))
    if len(points) > 1:
        lines += [
            f"{len(points)} points, {replicas} replicas, {failed} diverged and skipped.",
            "",
        ]
    for point in points:
        lines += [
            f"## {point.get('label', 'single point')} ({point['config']['kind']})",
            "",
            _replicas_line(point),
            "",
        ]
        note = point.get("note")
        if note and not note.endswith("no statistics"):
            lines += [f"Note: {note}.", ""]
        if point["levels"]:
            lines += [
                "| mode | x* | mean | std | predicted width |",
                "|---:|---:|---:|---:|---:|",
            ]
            for m in point["levels"]:
                lines.append(
                    f"| {m['mode']} | {_num(m['target'])} | {_pm(m['mean'], m['mean_err'])} "
                    f"| {_num(m['std'])} | {_num(m['predicted_width'])} |"
                )
        if point["pairs"]:
            lines += [
                "",
                (
                    "| pair | x* | <S> | sqrt(pi) sigma predicted [A.8] | sigma fit [A.10] "
                    "| Binder (4/27 = 0.148) | KS p (Wigner) |"
                ),
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for p in point["pairs"]:
                fit = p["fit"] or {}
                lines.append(
                    f"| {p['modes'][0]}-{p['modes'][1]} | {_num(p['target'])} "
                    f"| {_pm(p['mean_spacing'], p['mean_spacing_err'])} "
                    f"| {_num(p['predicted_mean_spacing'])} "
                    f"| {_pm(fit.get('sigma'), fit.get('sigma_err'))} "
                    f"| {_pm(p['binder'], p['binder_err'], 3)} "
                    f"| {_num(p['wigner_ks_pvalue'], 3)} |"
                )
        if point.get("gap_ratio") is not None:
            lines += ["", f"Mean adjacent-gap ratio: {point['gap_ratio']:.4f}."]
        lines.append("")
    lines += _scaling_lines(summary.get("scaling"))
    return "\n".join(lines)


def _scaling_lines(scaling: dict | None) -> list[str]:
    """The scaling section: the common slopes, and the points left out of them."""
    if not scaling:
        return []
    fits = [
        ("spacing_slope", "<S> against sqrt(lr f / B)"),
        ("width_slope", "sqrt(pi) sigma against sqrt(lr f / B)"),
        ("spacing_vs_width", "<S> against sqrt(pi) sigma (1 expected)"),
    ]
    skipped = scaling.get("skipped_points") or []
    if not any(scaling.get(key) for key, _ in fits) and not skipped:
        return []
    lines = ["## Scaling across the scan (SPEC A.4, B.5)", ""]
    for key, text in fits:
        fit = scaling.get(key)
        if fit is None:
            lines.append(f"- {text}: n/a (no pair to fit)")
            continue
        lines.append(
            f"- {text}: slope {_pm(fit['slope'], fit['slope_err'])}, "
            f"chi2/dof {_num(fit['chi2_dof'], 2)}"
        )
    for point in skipped:
        noise = f", noise={point['noise']}" if point.get("noise") is not None else ""
        lines.append(
            f"- left out: lr={point['lr']}, batch_size={point['batch_size']}{noise}: "
            f"{point['reason']}"
        )
    lines.append("")
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
    json_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(summary), encoding="utf-8")
    return [json_path, md_path]
