"""Per-mode summary of an ensemble: where each level sits, how wide, how far apart."""

from __future__ import annotations

import numpy as np

from .spacings import degenerate_groups, level_spacings


def mode_statistics(result, snapshots: int = 1) -> dict:
    """Means, widths and pair spacings of the learnt levels over the last snapshots.

    Pools the last ``snapshots`` snapshots of the surviving replicas. For each sorted mode:
    the target level x* = mu^2 - kappa [B.4], the ensemble mean and standard deviation,
    the standard error of the mean (from per-replica averages, so correlated snapshots of
    one replica are not counted as independent), and the width predicted by [B.9],
    sqrt(2 lr x* / B). For each degenerate pair of x*: the mean spacing <S> and its error.
    """
    config = result.config
    alive = ~np.asarray(result.failed, bool)
    late = np.asarray(result.eigenvalues)[alive, -snapshots:, :]
    n_alive = late.shape[0]
    x_star = config.stationary_levels
    widths = config.level_widths
    per_replica = late.mean(axis=1)
    stderr = per_replica.std(axis=0, ddof=1) / np.sqrt(n_alive) if n_alive > 1 else np.nan
    modes = []
    for i in range(late.shape[-1]):
        modes.append(
            {
                "mode": i,
                "target": float(x_star[i]),
                "mean": float(late[..., i].mean()) if n_alive else float("nan"),
                "mean_err": float(np.broadcast_to(stderr, x_star.shape)[i]),
                "std": float(late[..., i].std()) if n_alive else float("nan"),
                "predicted_width": float(widths[i]),
            }
        )
    pairs = [g for g in degenerate_groups(x_star) if len(g) == 2]
    spacings = level_spacings(late, pairs)  # (R, S, P)
    pair_stats = []
    for p, (i, j) in enumerate(pairs):
        s = spacings[..., p]
        per = s.mean(axis=1)
        pair_stats.append(
            {
                "modes": [i, j],
                "target": float(x_star[i]),
                "mean_spacing": float(s.mean()) if n_alive else float("nan"),
                "mean_spacing_err": float(per.std(ddof=1) / np.sqrt(n_alive))
                if n_alive > 1
                else float("nan"),
                # <S> = sqrt(pi) sigma for a Coulomb-gas pair [A.8].
                "predicted_mean_spacing": float(np.sqrt(np.pi) * widths[i]),
            }
        )
    return {
        "replicas": int(alive.size),
        "failed": int((~alive).sum()),
        "steps": [int(s) for s in np.asarray(result.steps)[-snapshots:]],
        "modes": modes,
        "pairs": pair_stats,
    }
