"""Reports of a finished experiment: summary.json for programs, summary.md for people."""

from __future__ import annotations

import json
from pathlib import Path

from . import __version__
from .analysis import mode_statistics


def point_label(config, scan: dict) -> str:
    keys = list(scan) or ["lr", "batch_size"]
    return ", ".join(f"{k}={getattr(config, k)}" for k in keys)


def summarize(experiment, results, snapshots: int = 1) -> dict:
    """Per scan point: parameters and :func:`~dysonlearn.analysis.mode_statistics`."""
    points = []
    for config, result in zip(experiment.points, results):
        points.append(
            {
                "label": point_label(config, experiment.scan),
                "config": config.to_dict(),
                "seed": result.seed,
                "statistics": mode_statistics(result, snapshots=snapshots),
            }
        )
    return {"dysonlearn_version": __version__, "scan": experiment.scan, "points": points}


def markdown(summary: dict) -> str:
    lines = [f"# dysonlearn summary (version {summary['dysonlearn_version']})", ""]
    for point in summary["points"]:
        stats = point["statistics"]
        lines += [
            f"## {point['label']}",
            "",
            (
                f"{stats['replicas']} replicas ({stats['failed']} diverged), seed {point['seed']}, "
                f"statistics at step {stats['steps'][-1]}."
            ),
            "",
            "| mode | x* | mean | std | predicted width |",
            "|---:|---:|---:|---:|---:|",
        ]
        for m in stats["modes"]:
            lines.append(
                f"| {m['mode']} | {m['target']:.4f} | {m['mean']:.4f} ± {m['mean_err']:.4f} "
                f"| {m['std']:.4f} | {m['predicted_width']:.4f} |"
            )
        if stats["pairs"]:
            lines += [
                "",
                "| pair | x* | <S> | sqrt(pi) width [A.8] |",
                "|---|---:|---:|---:|",
            ]
            for p in stats["pairs"]:
                lines.append(
                    f"| {p['modes'][0]}-{p['modes'][1]} | {p['target']:.4f} "
                    f"| {p['mean_spacing']:.4f} ± {p['mean_spacing_err']:.4f} "
                    f"| {p['predicted_mean_spacing']:.4f} |"
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
