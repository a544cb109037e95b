"""Reports of a finished experiment: summary.json for programs, summary.md for people."""

from __future__ import annotations

import json
from pathlib import Path

from ._version import __version__
from .analysis import summarize


def point_label(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "single point"


def build_summary(results, params: list[dict], snapshots: int = 1) -> dict:
    """summarize() of every point, labelled with its scan parameters, plus the scaling fit."""
    analysed = summarize(list(results), snapshots)
    for point, values in zip(analysed["points"], params, strict=True):
        point["label"] = point_label(values)
        point["params"] = values
    return {"dysonlearn_version": __version__, **analysed}


def _pm(value, error, digits=4) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" + (f" ± {error:.{digits}f}" if error is not None else "")


def markdown(summary: dict) -> str:
    lines = [f"# dysonlearn summary (version {summary['dysonlearn_version']})", ""]
    for point in summary["points"]:
        lines += [
            f"## {point['label']} ({point['config']['kind']})",
            "",
            (
                f"{point['replicas']} replicas ({point['failed']} diverged), seed {point['seed']}, "
                f"statistics at step {point['steps'][-1]}."
            ),
            "",
            "| mode | x* | mean | std | predicted width |",
            "|---:|---:|---:|---:|---:|",
        ]
        for m in point["levels"]:
            lines.append(
                f"| {m['mode']} | {m['target']:.4f} | {_pm(m['mean'], m['mean_err'])} "
                f"| {m['std']:.4f} | {m['predicted_width']:.4f} |"
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
                fit = p["fit"]
                lines.append(
                    f"| {p['modes'][0]}-{p['modes'][1]} | {p['target']:.4f} "
                    f"| {_pm(p['mean_spacing'], p['mean_spacing_err'])} "
                    f"| {p['predicted_mean_spacing']:.4f} "
                    f"| {_pm(fit['sigma'], fit['sigma_err'])} "
                    f"| {_pm(p['binder'], p['binder_err'], 3)} | {p['wigner_ks_pvalue']:.3f} |"
                )
        if point.get("gap_ratio") is not None:
            lines += ["", f"Mean adjacent-gap ratio: {point['gap_ratio']:.4f}."]
        lines.append("")
    scaling = summary.get("scaling")
    if scaling and scaling.get("spacing_slope"):
        lines += ["## Scaling across the scan (SPEC A.4, B.5)", ""]
        for key, text in (
            ("spacing_slope", "<S> against sqrt(lr f / B)"),
            ("width_slope", "sqrt(pi) sigma against sqrt(lr f / B)"),
            ("spacing_vs_width", "<S> against sqrt(pi) sigma (1 expected)"),
        ):
            fit = scaling[key]
            lines.append(
                f"- {text}: slope {_pm(fit['slope'], fit['slope_err'])}, "
                f"chi2/dof {fit['chi2_dof'] if fit['chi2_dof'] is not None else float('nan'):.2f}"
            )
        lines.append("")
    return "\n".join(lines)


def write_summary(outdir: Path, summary: dict) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    json_path = outdir / "summary.json"
    md_path = outdir / "summary.md"
    json_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(summary), encoding="utf-8")
    return [json_path, md_path]
