"""Figures of the article (Aarts, Lucini and Park, PRE 111 (2025) 015303), one function each.

Every function returns a :class:`matplotlib.figure.Figure` and saves nothing;
:func:`save_figures` writes every figure that applies to a result, or to a scan of them, as
PNG files. Figures are built with matplotlib's object-oriented API on an Agg canvas: importing
this module never switches the user's backend, no pyplot state is kept, and no window opens.

Replicas that diverged (``result.failed``) or hold NaN are left out of every figure, and the
titles say how many ("57 of 64 replicas (7 diverged)"); a panel that has nothing to show (no
degenerate pair, all replicas diverged) says so instead of failing, and a scan point with
nothing to show is left out of the scan figures with a note naming it.
"""

from __future__ import annotations

import functools
import math
import textwrap
import warnings
from collections import Counter
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import analysis
from ._version import __version__
from .analysis.fokker_planck import FokkerPlanckMode
from .analysis.fits import pooled_snapshots, usable_replicas
from .analysis.summary import point_fits, stationarity, time_series_record
from .analysis.timeseries import MIN_RECORDS
from .config import TeacherStudentConfig, finite_lr_factor, small_lr_mean_spacing
from .models import model_for
from .result import EnsembleResult

COLUMN = 3.4  # inches: one column of a two-column journal page
PAGE = 7.0  # inches: the full width
DPI = 200

_STYLE = {
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "figure.titlesize": 8,
    "legend.fontsize": 6.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.1,
    "lines.markersize": 3.5,
    "errorbar.capsize": 1.5,
    "legend.frameon": False,
    "legend.handlelength": 1.6,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
}
# The "Software" text of every PNG that save_figures writes: how `dysonlearn run
# --overwrite` tells its own figures from a user's images in the same directory.
FIGURE_SOFTWARE = "dysonlearn"
_HIST = {"histtype": "stepfilled", "color": "0.82", "edgecolor": "0.45", "linewidth": 0.5}
_NOTE = {"ha": "center", "va": "center", "fontsize": 7, "color": "0.4"}


def _styled(build):
    """Build the figure inside the house style (artists read rcParams when they are made)."""

    @functools.wraps(build)
    def wrapper(*args, **kwargs) -> Figure:
        with mpl.rc_context(_STYLE):
            return build(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kwargs):
    """A Figure on an Agg canvas with constrained layout, and its (nrows, ncols) axes."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    for ax in axes.flat:
        # Ticks are made lazily at draw time, outside the style: give them their look here.
        ax.tick_params(
            which="both",
            direction="in",
            top=True,
            right=True,
            width=0.6,
            labelsize=_STYLE["xtick.labelsize"],
        )
    return fig, axes


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, **_NOTE)
    ax.set_xticks([])
    ax.set_yticks([])


def _pm(value: float, error: float) -> str:
    """'value \\pm error' in mathtext, both rounded to the error's two significant digits."""
    if not (np.isfinite(error) and error > 0):
        return f"{value:.4g}"
    digits = max(0, 1 - math.floor(math.log10(error)))
    return rf"{value:.{digits}f} \pm {error:.{digits}f}"


def _fit_label(fit) -> str:
    """x0, sigma (with errors) and chi^2/dof of a LevelFit, one per line, in mathtext."""
    return (
        rf"$x_0={_pm(fit.x0, fit.x0_err)}$" "\n"
        rf"$\sigma={_pm(fit.sigma, fit.sigma_err)}$" "\n"
        rf"$\chi^2/\mathrm{{dof}}={fit.chi2_dof:.3g}$"
    )  # fmt: skip


def _as_list(results) -> list[EnsembleResult]:
    return [results] if isinstance(results, EnsembleResult) else list(results)


def _usable(result, snapshots: int | None = None) -> np.ndarray:
    """Eigenvalues (R', S, N) of the replicas that did not diverge and are finite throughout
    (over the last ``snapshots`` snapshots only, when given)."""
    eigs = np.asarray(result.eigenvalues, dtype=np.float64)
    if snapshots is not None:
        eigs = eigs[:, -snapshots:, :]
    return eigs[usable_replicas(result, snapshots)]


def _replicas_text(result, kept: int) -> str:
    """What a figure rests on: "64 replicas", or "57 of 64 replicas (7 diverged)"."""
    failed = np.asarray(result.failed, bool)
    if kept == failed.size:
        return f"{kept} replicas"
    text = f"{kept} of {failed.size} replicas"
    return text + (f" ({int(failed.sum())} diverged)" if failed.any() else "")


def _nothing_usable(result, kept: int) -> str:
    """The note of a panel without enough replicas, saying why."""
    failed = np.asarray(result.failed, bool)
    if failed.size and failed.all():
        return f"all {failed.size} replicas diverged"
    return f"too few usable replicas: {kept} ({int(failed.sum())} of {failed.size} diverged)"


# Beyond these a point's per-level figures show an evenly spaced selection (the whole
# spectrum is in summary.json): at N = 1000, spacing_figure would need 334 rows and
# trajectories_figure 21000 curves, minutes of drawing for panels nobody can read.
_MAX_SPACING_ROWS = 8
_MAX_TRAJECTORY_MODES = 40
# Beyond this many distinct levels the scan figures stop giving each its colour and legend
# entry (lambda_ratio_figure: an evenly spaced selection), and target_spectrum its labels.
_MAX_LEGEND_LEVELS = 10
_MAX_LABELLED_LEVELS = 30


def _evenly(items: list, k: int) -> list:
    """At most k of items, evenly spaced from the first to the last (all if k suffices)."""
    if len(items) <= k:
        return list(items)
    if k <= 0:
        return []
    return [items[i] for i in np.unique(np.linspace(0, len(items) - 1, k).round().astype(int))]


def _groups(config) -> tuple[list[tuple[int, int]], list[int]]:
    """Degenerate pairs and non-degenerate modes of the stationary levels (larger groups,
    which neither :eq:`semicircle2` nor a Gaussian describes, are left out)."""
    groups = analysis.degenerate_groups(config.stationary_levels)
    return [g for g in groups if len(g) == 2], [g[0] for g in groups if len(g) == 1]


def _describe(config) -> str:
    """The title of a point's figure: the model, lr, B and the noise."""
    model = model_for(config)
    text = rf"{model.name}, $\alpha={config.lr:g}$, "
    text += rf"$B={config.batch_size}$"
    if getattr(config, "noise", None) is not None:
        text += rf", ${model.labels_for(config).noise_symbol}={config.noise:g}$"
    return text


def _hist(ax, values) -> np.ndarray:
    """A density histogram with Freedman-Diaconis bins (:doc:`/theory/statistics`); returns the bin
    edges."""
    values = np.asarray(values, dtype=np.float64).ravel()
    edges = analysis.freedman_diaconis_bins(values)
    ax.hist(values, bins=edges, density=True, **_HIST)
    return edges


@_styled
def target_spectrum(target, mu: float | None = None) -> Figure:
    """The eigenvalues kappa_k of the target kernel :eq:`free-scalar-target` as a level diagram
    (article Fig. 2).

    Degenerate levels (:func:`~dysonlearn.analysis.degenerate_groups`) are drawn side by side
    and marked with their multiplicity. Given ``mu``, the levels x* = mu^2 - kappa at which the
    learnt eigenvalues of sigma_h^2 W^T W settle :eq:`rbm-kernel` are drawn beside them, each
    joined to its kappa: the order reverses.

    Parameters
    ----------
    target : Target
        The target kernel (see :mod:`dysonlearn.targets`).
    mu : float, optional
        The RBM's mass; draws the learnt levels x* beside kappa.

    Returns
    -------
    matplotlib.figure.Figure
    """
    kappa = np.sort(np.asarray(target.spectrum, dtype=np.float64))
    columns = [(r"target $\kappa_k$", kappa)]
    if mu is not None:
        columns.append((r"$x^*=\mu^2-\kappa_k$", np.sort(mu**2 - kappa)))
    fig, axes = _figure(COLUMN, 2.8)
    ax = axes[0, 0]
    for col, (_, levels) in enumerate(columns):
        groups = analysis.degenerate_groups(levels)
        for group in groups:
            y, g = levels[group[0]], len(group)
            width = 0.56 / g
            for k in range(g):
                left = col - 0.3 + k * width
                ax.plot([left + 0.02, left + width - 0.02], [y, y], color=f"C{col}", lw=1.6)
            if len(groups) > _MAX_LABELLED_LEVELS:  # labels would overlap: lines only
                continue
            mark = rf" ($\times{g}$)" if g > 1 else ""
            # Labels outside the pair of columns, so that the joining lines stay clear.
            side = -1 if col == 0 and mu is not None else 1
            ax.text(
                col + 0.34 * side,
                y,
                f"{y:.3f}{mark}",
                va="center",
                fontsize=6.5,
                ha="right" if side < 0 else "left",
            )
    if mu is not None:
        for k in np.unique(np.round(kappa, 10)):
            ax.plot([0.3, 0.7], [k, mu**2 - k], color="0.7", lw=0.5, ls=":")
    ax.set_xticks(range(len(columns)), [label for label, _ in columns])
    ax.tick_params(axis="x", top=False, length=0)
    ax.set_xlim(-1.0 if mu is not None else -0.45, len(columns) - 0.05)
    ax.set_ylabel("eigenvalue")
    if target.kind == "free_scalar":
        title = rf"free scalar field, $N={target.params['n']}$, $m={target.params['m']:g}$"
    else:
        title = rf"target kernel, $N={target.n}$"
    ax.set_title(title + (rf", $\mu={mu:g}$" if mu is not None else ""))
    return fig


# Levels whose spread together fills less than this share of the range from the lowest to
# the highest are drawn in panels of their own (one axis would show only thin spikes).
_THIN = 0.05
# More clusters than this stay on one axis (panels would be too narrow to read).
_MAX_PANELS = 4


def _clusters(eigs: np.ndarray, config) -> list[list[int]]:
    """The modes, cut into clusters of nearby degenerate groups when the groups are far
    apart compared with their spread (one cluster otherwise).

    Parameters
    ----------
    eigs : numpy.ndarray
        (R, ..., N) the usable replicas' eigenvalues.
    config : model configuration
        Its stationary levels define the degenerate groups.

    Returns
    -------
    list of list of int
        The modes of each cluster, ascending.
    """
    groups = [list(g) for g in analysis.degenerate_groups(config.stationary_levels)]
    values = [np.asarray(eigs)[..., g].ravel() for g in groups]
    values = [v[np.isfinite(v)] for v in values]
    if len(groups) < 2 or any(v.size == 0 for v in values):
        return [sum(groups, [])]
    spans = [np.quantile(v, [0.001, 0.999]) for v in values]
    clusters, bounds = [list(groups[0])], [list(spans[0])]
    for group, (lo, hi) in zip(groups[1:], spans[1:]):
        width = max(bounds[-1][1] - bounds[-1][0], hi - lo)
        if lo - bounds[-1][1] < 2 * width:  # close: the same panel
            clusters[-1] += group
            bounds[-1] = [min(bounds[-1][0], lo), max(bounds[-1][1], hi)]
        else:
            clusters.append(list(group))
            bounds.append([lo, hi])
    total = bounds[-1][1] - bounds[0][0]
    filled = sum(hi - lo for lo, hi in bounds)
    if len(clusters) == 1 or len(clusters) > _MAX_PANELS or filled > _THIN * total:
        return [sum(groups, [])]
    return clusters


def _break_marks(axes, vertical: bool = False) -> None:
    """Hide the spines between panels of one broken axis and draw the usual // marks."""
    marks = {"marker": [(-1, -0.5), (1, 0.5)], "markersize": 6, "linestyle": "none",
             "color": "k", "mec": "k", "mew": 0.6, "clip_on": False}  # fmt: skip
    for first, second in zip(axes[:-1], axes[1:]):
        if vertical:  # stacked: the top panel holds the higher levels
            first.spines.bottom.set_visible(False)
            second.spines.top.set_visible(False)
            first.tick_params(bottom=False, labelbottom=False)
            second.tick_params(top=False)
            first.plot([0, 1], [0, 0], transform=first.transAxes, **marks)
            second.plot([0, 1], [1, 1], transform=second.transAxes, **marks)
        else:
            first.spines.right.set_visible(False)
            second.spines.left.set_visible(False)
            first.tick_params(right=False)
            second.tick_params(left=False, labelleft=False)
            first.plot([1, 1], [0, 1], transform=first.transAxes, **marks)
            second.plot([0, 0], [0, 1], transform=second.transAxes, **marks)


@_styled
def learnt_histograms(result, snapshot: int = -1) -> Figure:
    """Histogram of all learnt eigenvalues at one snapshot, with the stationary levels x*
    (article Fig. 3). The bin width is the median over the degenerate groups of each
    group's own Freedman-Diaconis width: the width of all levels pooled would blur them
    together. Groups of levels far apart compared with their spread are drawn in panels of
    their own, side by side on one broken axis.

    Parameters
    ----------
    result : EnsembleResult
        One scan point.
    snapshot : int, optional
        The snapshot drawn (default: the last).

    Returns
    -------
    matplotlib.figure.Figure
    """
    config = result.config
    labels = model_for(config).labels_for(config)
    eigs = _usable(result)[:, snapshot, :]
    step = int(np.asarray(result.steps)[snapshot])
    title = f"{_describe(config)}\nstep {step}, {_replicas_text(result, eigs.shape[0])}"
    if eigs.shape[0] < 2:
        fig, axes = _figure(COLUMN, 2.3)
        axes[0, 0].set_title(title)
        _note(axes[0, 0], _nothing_usable(result, eigs.shape[0]))
        return fig
    clusters = _clusters(eigs, config)
    fig, axes = _figure(COLUMN, 2.3, 1, len(clusters), sharey=True)
    axes = list(axes[0])
    if len(clusters) == 1:
        axes[0].set_title(title)
        axes[0].set_xlabel(labels.eigenvalue_label)
    else:
        fig.suptitle(title)
        fig.supxlabel(labels.eigenvalue_label + " (broken axis)", fontsize=8)
        fig.get_layout_engine().set(wspace=0.0, w_pad=0.02)
    stationary = model_for(config).stationary_levels(config)
    for n, (ax, modes) in enumerate(zip(axes, clusters)):
        part = eigs[:, modes]
        widths = [
            np.diff(analysis.freedman_diaconis_bins(eigs[:, list(g)]))[0]
            for g in analysis.degenerate_groups(stationary[modes])
            for g in [[modes[i] for i in g]]
        ]
        lo, hi = part.min(), part.max()
        width = max(float(np.median(widths)), (hi - lo) / 400)
        edges = lo + width * np.arange(math.ceil((hi - lo) / width) + 1)
        ax.hist(part.ravel(), bins=edges, density=True, **_HIST,
                label="learnt eigenvalues" if n == 0 else None)  # fmt: skip
        for level in np.unique(stationary[modes]):
            ax.axvline(level, ymax=0.82, color="C3", ls="--", lw=0.7,
                       label=labels.level_label if n == 0 and level == stationary[modes[0]]
                       else None)  # fmt: skip
        if len(clusters) > 1:
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(3))
    axes[0].set_ylabel(r"density $\rho(x)$")
    axes[0].set_ylim(0, axes[0].get_ylim()[1] * 1.3)  # a strip at the top for the legend
    if len(clusters) > 1:
        _break_marks(axes)
        axes[0].set_ylim(0, axes[0].get_ylim()[1] * 1.15)  # room for a legend of two rows
        axes[0].legend(loc="upper left")
    else:
        axes[0].legend(loc="upper center", ncols=2)
    return fig


# The fitted numbers in the upper right corner of a panel.
_CORNER = {"fontsize": 6.5, "va": "top", "ha": "right", "x": 0.97, "y": 0.95}


@_styled
def spacing_figure(result, snapshots: int = 1, fits=None) -> Figure:
    """Spacings and level densities of the learnt spectrum (article Fig. 5).

    One row per degenerate pair: the raw spacing S with P(S) :eq:`spacing-pdf` at the fitted <S>,
    the normalised spacing s = S / <S> with the Wigner surmise :eq:`wigner-surmise` (and the
    Poisson law e^-s, what no repulsion would give), and the pair's pooled levels with the
    two-level density
    :eq:`semicircle2` fitted by :func:`~dysonlearn.analysis.fit_semicircle2`. Then the
    non-degenerate levels, each with a Gaussian fit. The last ``snapshots`` snapshots are pooled;
    Freedman-Diaconis bins; errors from a jackknife over replicas.

    Parameters
    ----------
    result : EnsembleResult
        One scan point.
    snapshots : int
        Pool the last ``snapshots`` snapshots.
    fits : list of GroupFit, optional
        :func:`~dysonlearn.analysis.fit_levels` of the usable replicas' pooled
        snapshots, when the caller has them (fitted here otherwise).

    Returns
    -------
    matplotlib.figure.Figure
    """
    config = result.config
    late = _usable(result, snapshots)
    pairs, singles = _groups(config)
    levels = config.stationary_levels
    if fits is None:
        fits = analysis.fit_levels(levels, late)
    by_modes = {group.modes: group for group in fits}
    selection = ""
    if len(pairs) + math.ceil(len(singles) / 3) > _MAX_SPACING_ROWS:
        shown_pairs = _evenly(pairs, _MAX_SPACING_ROWS // 2 if singles else _MAX_SPACING_ROWS)
        shown_singles = _evenly(singles, 3 * (_MAX_SPACING_ROWS - len(shown_pairs)))
        selection = (f"\n{len(shown_pairs)} of {len(pairs)} pairs and {len(shown_singles)} of "
                     f"{len(singles)} single levels shown, evenly spaced")  # fmt: skip
        pairs, singles = shown_pairs, shown_singles
    rows = len(pairs) + math.ceil(len(singles) / 3)
    fig, axes = _figure(PAGE, 0.45 + 1.65 * max(rows, 1), max(rows, 1), 3)
    if rows == 0:
        _note(axes[0, 1], "no pairs or non-degenerate levels")
    steps = np.asarray(result.steps)[-snapshots:]
    pooled = f"step {steps[0]}" if steps.size == 1 else f"steps {steps[0]}-{steps[-1]}"
    fig.suptitle(f"{_describe(config)}, {pooled}, {_replicas_text(result, late.shape[0])}"
                 f"{selection}")  # fmt: skip
    # The fits need 3 replicas: say why a panel stays empty (all diverged, say).
    empty = _nothing_usable(result, late.shape[0]) if late.shape[0] < 3 else "too few replicas"
    for (i, j), row in zip(pairs, axes):
        _pair_panels(row, late, (i, j), by_modes[(i, j)], levels[i], empty)
    slots = axes[len(pairs) :].ravel()
    for mode, ax in zip(singles, slots):
        _single_panel(ax, late, mode, by_modes[(mode,)], levels[mode], empty)
    for ax in slots[len(singles) :]:
        ax.set_axis_off()
    return fig


def _pair_panels(row, late: np.ndarray, modes: tuple[int, int], group, level: float,
                 empty: str) -> None:  # fmt: skip
    """One pair's row of :func:`spacing_figure`: P(S) :eq:`spacing-pdf`, P(s) :eq:`wigner-surmise`,
    rho(x) :eq:`semicircle2`."""
    (i, j), (ax_s, ax_n, ax_x) = modes, row
    ax_s.set_title(rf"modes {i}, {j}: $x^*={level:.4g}$", loc="left")
    if group.error is not None:
        for ax in (ax_s, ax_n, ax_x):
            _note(ax, empty)
        return
    spacing = late[:, :, j] - late[:, :, i]
    wig, pair = group.wigner, group.pair
    edges = _hist(ax_s, spacing)
    grid = np.linspace(0, max(edges[-1], 3 * wig.mean), 300)
    ax_s.plot(grid, analysis.spacing_pdf(grid, wig.mean), color="C0",
              label="spacing law $P(S)$ at\n"
              rf"$\langle S\rangle={_pm(wig.mean, wig.mean_err)}$")  # fmt: skip
    ax_s.set(xlabel=rf"spacing $S=x_{{{j}}}-x_{{{i}}}$", ylabel=r"$P(S)$")
    edges = _hist(ax_n, spacing / wig.mean)
    grid = np.linspace(0, max(edges[-1], 3.0), 300)
    ax_n.plot(grid, analysis.wigner_surmise(grid), color="C0", label="Wigner surmise")
    ax_n.plot(grid, np.exp(-grid), color="0.5", ls=":", label=r"Poisson $e^{-s}$")
    ax_n.text(s=f"KS $p={wig.ks_pvalue:.2g}$", transform=ax_n.transAxes, **_CORNER)
    ax_n.set(xlabel=r"$s=S/\langle S\rangle$", ylabel=r"$P(s)$")
    edges = _hist(ax_x, late[:, :, [i, j]])
    grid = np.linspace(edges[0], edges[-1], 300)
    ax_x.plot(
        grid, analysis.semicircle2_pdf(grid, pair.x0, pair.sigma), color="C1",
        label="two-level\nsemicircle fit",
    )
    ax_x.text(s=_fit_label(pair), transform=ax_x.transAxes, **_CORNER)
    ax_x.axvline(level, ymax=0.66, color="C3", ls="--", lw=0.7, label=r"$x^*$")
    ax_x.set(xlabel=rf"$x_{{{i}}}$, $x_{{{j}}}$ pooled", ylabel=r"$\rho(x)$")
    # Headroom above the histograms for the legends and the fitted numbers.
    for ax, room in ((ax_s, 1.3), (ax_n, 1.3), (ax_x, 1.6)):
        ax.legend(loc="upper left")
        ax.set_ylim(0, ax.get_ylim()[1] * room)


def _single_panel(ax, late: np.ndarray, mode: int, group, level: float, empty: str) -> None:
    """One non-degenerate level's panel of :func:`spacing_figure`, with its Gaussian fit."""
    ax.set_title(rf"mode {mode}: $x^*={level:.4g}$", loc="left")
    if group.error is not None:
        _note(ax, empty)
        return
    fit = group.gaussians[0]
    edges = _hist(ax, late[:, :, mode])
    grid = np.linspace(edges[0], edges[-1], 300)
    ax.plot(grid, analysis.gaussian_pdf(grid, fit.x0, fit.sigma), color="C2",
            label="Gaussian fit")  # fmt: skip
    ax.text(s=_fit_label(fit), transform=ax.transAxes, **_CORNER)
    ax.axvline(level, ymax=0.66, color="C3", ls="--", lw=0.7, label=r"$x^*$")
    ax.set(xlabel=rf"$x_{{{mode}}}$", ylabel=r"$\rho(x)$")
    ax.legend(loc="upper left")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.6)


def _skipped_note(fig, table) -> None:
    """Name the scan points a scaling figure leaves out (all diverged, say), as its title."""
    if not table.skipped:
        return
    left_out = "; ".join(
        rf"$\alpha={p.lr:g}$, $B={p.batch_size}$"
        + (rf", $A={p.noise:g}$" if p.noise is not None else "")
        + f": {p.reason}"
        for p in table.skipped
    )
    fig.suptitle(f"left out: {left_out}", fontsize=6.5, color="0.4")


def _fit_text(ax, fit) -> None:
    """The fitted slope in the lower right corner, which lines through the origin leave free."""
    if fit is None:
        ax.text(0.96, 0.04, "no fit", transform=ax.transAxes, ha="right", va="bottom",
                fontsize=6.5)  # fmt: skip
        return
    text = (
        rf"slope ${_pm(fit.slope, fit.slope_err)}$"
        "\n"
        rf"$\chi^2/\mathrm{{dof}}={fit.chi2_dof:.3g}$"
    )
    ax.text(0.96, 0.04, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=6.5)


@_styled
def scaling_figure(results, snapshots: int = 1, table=None, flagged=None) -> Figure:
    """The linear scaling rule over a scan of (lr, B) (article Fig. 6).

    <S> and sqrt(pi) sigma of every degenerate pair (sigma from the :eq:`semicircle2` fit) against
    sqrt(lr q / B), with the common lines through the origin fitted by
    :func:`~dysonlearn.analysis.scaling_table` and the model's lr -> 0 prediction
    (:eq:`rbm-level-width` for the RBM, :eq:`ts-degenerate-spacing` otherwise); then <S> against
    sqrt(pi) sigma, which :eq:`spacing-pdf` puts on the slope-1 line. Points without usable
    replicas (all diverged) are left out and named in the title; the pairs of a point whose
    stationarity test flags a mode are ringed in red ("not stationary" in the legend).

    Parameters
    ----------
    results : list of EnsembleResult
        A scan of one model.
    snapshots : int
        Pool the last ``snapshots`` snapshots.
    table : ScalingTable, optional
        :func:`~dysonlearn.analysis.scaling_table` of these results, to reuse it.
    flagged : sequence of bool, optional
        Per result, whether its summary flags it as not stationary (its ``stationarity``'s
        ``flagged_modes``); tested here when not given. Points are told apart by lr, B and
        the noise.

    Returns
    -------
    matplotlib.figure.Figure
    """
    results = _as_list(results)
    table = analysis.scaling_table(results, snapshots) if table is None else table
    unsteady = _unsteady_keys(results, snapshots, flagged)
    fig, axes = _figure(PAGE, 2.5, 1, 3)
    axes = axes[0]
    _skipped_note(fig, table)
    if not table.pairs:
        for ax in axes:
            _note(ax, "no point with usable replicas" if table.skipped else "no degenerate pairs")
        return fig
    config = results[0].config
    model = model_for(config)
    labels = model.labels_for(config)
    scale = np.array([p.scale for p in table.pairs])
    spacing = np.array([[p.mean_spacing, p.mean_spacing_err] for p in table.pairs]).T
    width = math.sqrt(math.pi) * np.array([[p.sigma, p.sigma_err] for p in table.pairs]).T
    level = np.array([p.level for p in table.pairs])
    bad = np.array([_point_key(p) in unsteady for p in table.pairs])
    panels = [
        (axes[0], spacing, table.spacing_slope, r"$\langle S\rangle$"),
        (axes[1], width, table.width_slope, r"$\sqrt{\pi}\,\sigma$"),
    ]
    if not np.all(np.isfinite(scale)):  # Adam, AdamW: no closed-form scaling variable
        for ax in axes[:2]:
            _note(ax, "no closed form of the scaling variable\nfor this optimiser: see the "
                  "power-law fit\n<S> = c lr^a B^-b (reproduce optimizers)")  # fmt: skip
    else:
        for ax, (y, yerr), fit, ylabel in panels:
            _scaling_panel(ax, scale, level, y, yerr, fit, model.predicted_slope(config),
                           labels.level_symbol, (labels.scale_label, ylabel))  # fmt: skip
            if bad.any():
                ax.plot(scale[bad], y[bad], **_UNSTEADY, label=_UNSTEADY_LABEL)
        axes[0].legend(loc="upper left")  # the points rise to the right: the corner stays free
        axes[1].legend(handles=axes[1].get_lines()[-3 if bad.any() else -2 :],
                       loc="upper left")  # fmt: skip
    _spacing_vs_width_panel(axes[2], level, spacing, width, table.spacing_vs_width, bad)
    return fig


def _scaling_panel(ax, scale, level, y, yerr, fit, predicted: tuple[float, str], symbol: str,
                   labels: tuple[str, str]) -> None:  # fmt: skip
    """One panel of :func:`scaling_figure`: y of every pair against the scaling variable,
    a colour per level, the fitted line and the predicted one, and the axis labels."""
    slope, slope_label = predicted
    for k, (value, at) in enumerate(_level_series(level)):
        name = rf"${symbol}={value:.4g}$" if value is not None else f"{_value_count(level)} levels"
        ax.errorbar(scale[at], y[at], yerr[at], fmt="o", color=f"C{k}", ms=3, label=name)
    line = np.array([0, scale.max() * 1.08])
    if fit is not None:
        ax.plot(line, fit.slope * line, color="k", lw=0.8, label="fitted slope")
    _fit_text(ax, fit)
    ax.plot(line, slope * line, color="0.5", lw=0.8, ls=":", label=slope_label)
    ax.set(xlabel=labels[0], ylabel=labels[1], xlim=(0, line[1]))
    # Room at the top left for the legend, above the lines through the origin.
    steepest = max(slope, fit.slope) if fit is not None else slope
    top = np.nanmax(y + np.nan_to_num(yerr), initial=0.0)
    ax.set_ylim(0, max(1.4 * steepest * line[1], 1.1 * top))


def _value_count(level) -> int:
    """The number of distinct levels."""
    return int(np.unique(level).size)


def _level_series(level) -> list[tuple[float | None, np.ndarray]]:
    """(level, mask) per distinct level, each drawn in its own colour; beyond
    _MAX_LEGEND_LEVELS levels one series of all (level None), in one colour."""
    values = np.unique(level)
    if values.size > _MAX_LEGEND_LEVELS:
        return [(None, np.ones(np.shape(level), bool))]
    return [(value, level == value) for value in values]


def _spacing_vs_width_panel(ax, level, spacing, width, fit, bad=None) -> None:
    """The last panel of :func:`scaling_figure`: <S> against sqrt(pi) sigma :eq:`spacing-pdf`."""
    for k, (_, at) in enumerate(_level_series(level)):
        ax.errorbar(
            width[0, at],
            spacing[0, at],
            spacing[1, at],
            width[1, at],
            fmt="o",
            color=f"C{k}",
            ms=3,
        )
    line = np.array([0, max(np.nanmax(width[0]), np.nanmax(spacing[0])) * 1.25])
    if fit is not None:
        ax.plot(line, fit.slope * line, color="k", lw=0.8, label="fitted slope")
    _fit_text(ax, fit)
    ax.plot(line, line, color="0.5", lw=0.8, ls=":", label="prediction: slope 1")
    if bad is not None and bad.any():
        ax.plot(width[0, bad], spacing[0, bad], **_UNSTEADY, label=_UNSTEADY_LABEL)
    ax.set(
        xlabel=r"$\sqrt{\pi}\,\sigma$",
        ylabel=r"$\langle S\rangle$",
        xlim=(0, line[1]),
        ylim=(0, line[1]),
    )
    ax.legend(loc="upper left")


def _ratio_axis(results, rows) -> tuple[np.ndarray, str]:
    """The x of every level row of :func:`lambda_ratio_figure` and its axis label: alpha / B
    when it varies over the scan (the article's axis); alpha A^2 / B when only the noise
    does (a noise scan has one alpha / B); alpha / B otherwise."""
    ratios = np.array([r.ratio for r in rows])
    noises = [r.noise for r in rows]
    if np.unique(ratios).size == 1 and None not in noises and len(set(noises)) > 1:
        config = results[0].config
        symbol = model_for(config).labels_for(config).noise_symbol
        return ratios * np.array(noises) ** 2, rf"$\alpha {symbol}^2/B$"
    return ratios, r"$\alpha/B$"


@_styled
def lambda_ratio_figure(results, snapshots: int = 1, table=None, flagged=None) -> Figure:
    """lambda_fit / kappa of every learnt level against what the scan varies (article
    Fig. 7).

    lambda_fit is the learnt eigenvalue the fitted centre x0 of a level stands for
    (two-level semicircle for a pair, Gaussian otherwise; mu^2 - x0 for the RBM). Repulsion
    pushes it off 1, linearly in the size of the noise: the x axis is alpha / B, or
    alpha A^2 / B for a scan of the noise alone (every point then has one alpha / B). The
    dashed lines, one per kappa and named in the legend with their slope c, are weighted
    fits of 1 + c x. Pass ``table`` to reuse a ScalingTable. Points without usable
    replicas (all diverged) are left out and named in the title; the levels of a point
    whose stationarity test flags a mode are ringed in red ("not stationary").

    Parameters
    ----------
    results : EnsembleResult or list of EnsembleResult
        A scan of one model.
    snapshots : int, optional
        Pool the last ``snapshots`` snapshots.
    table : ScalingTable, optional
        :func:`~dysonlearn.analysis.scaling_table` of these results.
    flagged : sequence of bool, optional
        Per result, whether its summary flags it as not stationary; tested here when not
        given (as for :func:`scaling_figure`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    results = _as_list(results)
    table = analysis.scaling_table(results, snapshots) if table is None else table
    unsteady = _unsteady_keys(results, snapshots, flagged)
    fig, axes = _figure(COLUMN, 3.0)
    ax = axes[0, 0]
    _skipped_note(fig, table)
    if not table.levels:
        _note(ax, "no point with usable replicas" if table.skipped else "no levels")
        return fig
    # The modes of a degenerate group share one fit: keep one row per (scan point, group).
    def key(r):
        return (r.lr, r.batch_size, r.noise, round(r.kappa, 9), r.lambda_fit)

    copies = Counter(key(r) for r in table.levels)
    rows = {key(r): r for r in table.levels}
    chosen_rows = list(rows.values())
    xs, xlabel = _ratio_axis(results, chosen_rows)
    x_of = {key(r): x for r, x in zip(chosen_rows, xs)}
    kappas = sorted({k[3] for k in rows})
    if len(kappas) > _MAX_LEGEND_LEVELS:
        ax.set_title(f"{_MAX_LEGEND_LEVELS} of {len(kappas)} levels, evenly spaced",
                     fontsize=7)  # fmt: skip
        kappas = _evenly(kappas, _MAX_LEGEND_LEVELS)
    fitted = ringed = False
    for n, kappa in enumerate(kappas):
        keys = [k for k in rows if k[3] == kappa]
        x = np.array([x_of[k] for k in keys])
        y = np.array([rows[k].lambda_over_kappa for k in keys])
        err = np.array([rows[k].lambda_fit_err / rows[k].kappa for k in keys])
        mult = max(count for k, count in copies.items() if k[3] == kappa)
        label = rf"$\kappa={kappa:.4g}$" + (rf" ($\times{mult}$)" if mult > 1 else "")
        ax.errorbar(x, y, err, fmt="o", color=f"C{n}", ms=3, label=label)
        bad = np.array([_point_key(rows[k]) in unsteady for k in keys])
        if bad.any():
            ax.plot(x[bad], y[bad], **_UNSTEADY,
                    label=None if ringed else _UNSTEADY_LABEL)  # fmt: skip
            ringed = True
        if np.unique(x).size > 1 and np.all(err > 0):
            fit = analysis.fit_slope_through_origin(x, y - 1, err)
            line = np.array([0, x.max() * 1.05])
            ax.plot(line, 1 + fit.slope * line, color=f"C{n}", lw=0.7, ls="--",
                    label=rf"fit $1+c\,x$, $c={_pm(fit.slope, fit.slope_err)}$")  # fmt: skip
            fitted = True
    ax.axhline(1, color="0.5", lw=0.6, ls=":")
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set(xlabel=xlabel, ylabel=r"$\lambda_\mathrm{fit}/\kappa$", xlim=(0, 1.1 * max(xs)))
    if not fitted:
        ax.text(0.03, 0.04, "one value of the axis: no line fitted", transform=ax.transAxes,
                fontsize=6, color="0.4")  # fmt: skip
    fig.legend(handles=ax.get_legend_handles_labels()[0], loc="outside lower center", ncols=2)
    return fig


@_styled
def fokker_planck_figure(kappa: float, mu: float, D: float, levels: int = 4) -> Figure:
    """One learning mode as a Fokker-Planck problem (article Fig. 8, :doc:`/theory/rbm`).

    The potential V(x) :eq:`fp-potential` over [0, mu^2), with its unstable top at x = 0 and
    minimum at x* = mu^2 - kappa; the stationary density P = psi0^2 :eq:`fp-stationary` beside the
    harmonic Gaussian of variance D / omega; the Schroedinger potential U(x) :eq:`fp-hamiltonian`
    with its lowest ``levels`` energies E_n (solid) against the harmonic n omega (dotted) and the
    eigenfunctions psi_n drawn at their energies (arbitrary scale).

    Parameters
    ----------
    kappa, mu : float
        The mode's target eigenvalue and the RBM's mu (0 < kappa < mu^2).
    D : float
        The diffusion constant (e.g. ``FokkerPlanckMode.from_training(...).D``).
    levels : int
        How many energies and eigenfunctions to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    mode = FokkerPlanckMode(kappa, mu, D)
    fig, axes = _figure(PAGE, 2.5, 1, 3)
    ax_v, ax_p, ax_u = axes[0]
    fig.suptitle(
        rf"$\kappa={kappa:g}$, $\mu={mu:g}$, $D={D:.3g}$: "
        rf"$x^*={mode.x_star:.4g}$, $\omega={mode.omega:.3g}$"
    )
    _potential_panel(ax_v, mode, mu**2)
    _stationary_panel(ax_p, mode, mu**2, D)
    _schrodinger_panel(ax_u, mode, mu**2, levels)
    return fig


def _potential_panel(ax, mode, top: float) -> None:
    """V(x) - V(x*) :eq:`fp-potential` over [0, mu^2), until it leaves the frame."""
    x_star = mode.x_star
    x = np.linspace(0, top, 4001)[:-1]
    v = mode.potential(x) - mode.potential(x_star)
    barrier = max(v[0], 1e-12)
    # V climbs logarithmically to +inf at mu^2: show it until it leaves the frame.
    beyond = np.flatnonzero((x > x_star) & (v > 3 * barrier))
    right = min(top, 1.1 * x[beyond[0]]) if beyond.size else top
    ax.plot(x, v, color="C0")
    ax.axvline(x_star, color="C3", ls="--", lw=0.7, label=r"$x^*=\mu^2-\kappa$")
    ax.set(
        xlabel="$x$",
        ylabel=r"potential $V(x)-V(x^*)$",
        xlim=(0, right),
        ylim=(-0.15 * barrier, 3 * barrier),
    )
    ax.legend(loc="upper left")


def _stationary_panel(ax, mode, top: float, D: float) -> None:
    """P = psi0^2 :eq:`fp-stationary` beside the harmonic Gaussian of variance D / omega."""
    x_star = mode.x_star
    spread = math.sqrt(D / mode.omega)
    x = np.linspace(max(0.0, x_star - 6 * spread), min(top, x_star + 6 * spread), 800)[:-1]
    ax.plot(x, mode.stationary_pdf(x), color="C0", label=r"stationary $P=\psi_0^2$")
    harmonic = analysis.gaussian_pdf(x, x_star, spread)
    ax.plot(x, harmonic, color="0.5", ls=":", label=r"Gaussian, var $D/\omega$")
    ax.set(xlabel="$x$", ylabel=r"$P_\mathrm{stat}(x)$", xlim=(x[0], x[-1]))
    ax.set_ylim(0, 1.3 * ax.get_ylim()[1])
    ax.legend(loc="upper left")


def _schrodinger_panel(ax, mode, top: float, levels: int) -> None:
    """U(x) :eq:`fp-hamiltonian`, its lowest energies against n omega and the eigenfunctions
    psi_n."""
    omega = mode.omega
    energies = np.asarray(mode.spectrum(levels), dtype=np.float64)
    x = np.linspace(0, top, 20001)[:-1]
    u = mode.schrodinger_potential(x)
    floor = np.nanmin(u)
    ceiling = floor + 1.35 * (max(energies[-1], omega) - floor)
    inside = np.flatnonzero(u <= ceiling)
    pad = 0.05 * (x[inside[-1]] - x[inside[0]])
    lo, hi = max(0.0, x[inside[0]] - pad), min(x[-1], x[inside[-1]] + pad)
    x = np.linspace(lo, hi, 1000)
    ax.plot(x, mode.schrodinger_potential(x), color="k", lw=0.9,
            label=r"Schrödinger potential $V_S(x)$")  # fmt: skip
    psi = np.asarray(mode.eigenfunctions(levels, x), dtype=np.float64)
    psi[psi == 0] = np.nan  # outside the grid of the eigenproblem (e.g. its basin of x*)
    amplitude = 0.35 * np.min(np.diff(energies)) if levels > 1 else 0.35 * omega
    for n, (energy, wave) in enumerate(zip(energies, psi)):
        in_omega = energy / omega if abs(energy / omega) >= 5e-4 else 0.0  # no "-0.000"
        ax.axhline(energy, color=f"C{n}", lw=0.6)
        ax.plot(
            x,
            energy + amplitude * wave / (np.nanmax(np.abs(wave), initial=0.0) or 1.0),
            color=f"C{n}",
            lw=0.9,
            label=rf"$E_{n}={in_omega:.3f}\,\omega$, $\psi_{n}$",
        )
    for energy in mode.harmonic_spectrum(levels):
        ax.axhline(energy, color="0.5", ls=":", lw=0.7)
    ax.plot([], [], color="0.5", ls=":", lw=0.7, label=r"$n\,\omega$ (harmonic)")
    ax.set(
        xlabel="$x$",
        ylabel=r"$V_S(x)$, $E_n$",
        xlim=(lo, hi),
        ylim=(floor - 0.05 * (ceiling - floor), ceiling),
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))


@_styled
def teacher_student_scaling(results, snapshots: int = 1, flagged=None) -> Figure:
    """<S> of degenerate teacher pairs against sqrt(pi lr A^2 / B) (article Fig. 9).

    The solid line is :eq:`ts-degenerate-spacing` at lr -> 0, <S> = sqrt(pi lr A^2 / B); the dashed
    ones include the finite-lr factor 1 / sqrt(1 - lr / 2) :eq:`finite-lr-variance`, one per lr
    (colours match the points). Below, <S> over that corrected prediction. Non-teacher-student
    results are ignored; a point whose replicas all diverged is left out and named in the title,
    and at lr >= 2 (no stationary state) there is no corrected prediction to draw or divide by.
    A point whose stationarity test flags a mode is ringed in red ("not stationary").

    Parameters
    ----------
    results : EnsembleResult or list of EnsembleResult
        A scan (of the teacher-student model).
    snapshots : int
        Pool the last ``snapshots`` snapshots.
    flagged : sequence of bool, optional
        Per result, whether its summary flags it as not stationary; tested here when not
        given (as for :func:`scaling_figure`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    results = _as_list(results)
    unsteady = _unsteady_keys(results, snapshots, flagged)
    rows, left_out = _teacher_student_rows(results, snapshots)
    fig, axes = _figure(COLUMN, 3.8, 2, 1, sharex=True, height_ratios=(2, 1))
    ax, ax_r = axes[:, 0]
    if left_out:
        fig.suptitle("left out: " + "; ".join(left_out), fontsize=6.5, color="0.4")
    if not rows:
        _note(ax, "no point with usable replicas" if left_out else
              "no degenerate teacher-student pairs")  # fmt: skip
        ax_r.set_axis_off()
        return fig
    keys = [row[4] for row in rows]
    x, s, err, lr = np.array([row[:4] for row in rows]).T
    bad = np.array([key in unsteady for key in keys])
    line = np.array([0, x.max() * 1.08])
    ax.plot(line, line, color="k", lw=0.8, label=r"prediction at $\alpha\to0$")
    for n, rate in enumerate(np.unique(lr)):
        at = lr == rate
        ax.errorbar(
            x[at], s[at], err[at], fmt="o", color=f"C{n}", ms=3, label=rf"$\alpha={rate:g}$"
        )
        if rate >= 2:  # :eq:`level-width` has no stationary width there
            continue
        factor = finite_lr_factor(rate)
        ax.plot(line, factor * line, color=f"C{n}", lw=0.7, ls="--")
        ax_r.errorbar(
            x[at],
            s[at] / (factor * x[at]),
            err[at] / (factor * x[at]),
            fmt="o",
            color=f"C{n}",
            ms=3,
        )
    if bad.any():
        ax.plot(x[bad], s[bad], **_UNSTEADY, label=_UNSTEADY_LABEL)
        factors = np.array([finite_lr_factor(r) if r < 2 else np.nan for r in lr[bad]])
        ax_r.plot(x[bad], s[bad] / (factors * x[bad]), **_UNSTEADY)
    ax.plot([], [], color="0.4", lw=0.7, ls="--",
            label=r"prediction $\times f$, $f=1/\sqrt{1-\alpha/2}$")  # fmt: skip
    ax.set(ylabel=r"$\langle S\rangle$", xlim=(0, line[1]), ylim=(0, None))
    ax.legend(loc="upper left")
    ax_r.axhline(1, color="k", lw=0.8)
    ax_r.set(xlabel=r"$\sqrt{\pi\alpha A^2/B}$",
             ylabel=r"$\langle S\rangle\,/\,(f\sqrt{\pi\alpha A^2/B})$")  # fmt: skip
    return fig


def _teacher_student_rows(results, snapshots: int) -> tuple[list[tuple], list[str]]:
    """(sqrt(pi lr A^2 / B), <S>, error, lr, the point's (lr, B, noise)) of every degenerate
    pair of the teacher-student points, and the points left out for want of usable
    replicas."""
    rows, left_out = [], []
    for result in results:
        config = result.config
        if config.kind != TeacherStudentConfig.kind:
            continue
        late = _usable(result, snapshots)
        pairs = _groups(config)[0]
        if pairs and late.shape[0] < 3:
            left_out.append(
                rf"$\alpha={config.lr:g}$, $B={config.batch_size}$, "
                rf"$A={config.noise:g}$: {_nothing_usable(result, late.shape[0])}"
            )
            continue
        for i, j in pairs:
            try:
                wig = analysis.fit_wigner(late[:, :, j] - late[:, :, i])
            except ValueError:
                continue
            x = small_lr_mean_spacing(config.lr, config.batch_size, config.noise)
            rows.append((x, wig.mean, wig.mean_err, config.lr, _point_key(config)))
    return rows, left_out


@_styled
def optimizer_scaling_figure(groups) -> Figure:
    """Does the mean spacing depend on lr / B alone, under each optimiser?

    One row per model (in order of appearance). Left: <S> of the degenerate pair against
    lr / B (lr / (B (1 - beta)) for momentum, its effective rate :eq:`effective-lr`), one
    colour per optimiser setting, with SGD's small-lr line c sqrt(lr / B) (for the
    teacher-student model sqrt(pi A^2 lr / B), :eq:`ts-degenerate-spacing`): SGD and
    momentum fall on it, and an optimiser whose points at one abscissa spread apart does
    not scale with lr / B alone. Right: <S> against each setting's own fit c lr^a B^-b
    (:func:`~dysonlearn.analysis.fit_power_law`; the legend gives a and b), on the diagonal
    when the power law describes the points.

    Parameters
    ----------
    groups : list of dict
        :func:`dysonlearn.reproduce.compare_optimizers`: each with ``model`` (the row;
        "teacher-student" when absent), ``label``, ``beta`` (None unless momentum),
        ``predicted`` (``c`` of the small-lr law, or None), ``fit`` (``c``, ``a``, ``b`` and
        errors) and ``points`` (``lr``, ``batch_size``, ``mean_spacing``,
        ``mean_spacing_err``).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        No group, or a group without points.
    """
    groups = list(groups)
    if not groups:
        raise ValueError("groups: need at least one optimiser's points to draw")
    for n, group in enumerate(groups):
        if not group["points"]:
            raise ValueError(f"groups[{n}] ({group.get('label')}): has no points")
    models = list(dict.fromkeys(group.get("model", "teacher-student") for group in groups))
    fig, axes = _figure(PAGE, 2.9 * len(models), len(models), 2)
    for (ax, ax_fit), model in zip(axes, models, strict=True):
        mine = [g for g in groups if g.get("model", "teacher-student") == model]
        _optimizer_row(ax, ax_fit, model, mine)
    return fig


def _optimizer_row(ax, ax_fit, model: str, groups: list[dict]) -> None:
    """One model's row of :func:`optimizer_scaling_figure`."""
    lows, highs = [], []
    for n, group in enumerate(groups):
        lr, batch, s, err = (np.array([p[k] for p in group["points"]], dtype=float)
                             for k in ("lr", "batch_size", "mean_spacing",
                                       "mean_spacing_err"))  # fmt: skip
        beta = group.get("beta") or 0.0
        x = lr / (batch * (1 - beta))
        fit = group["fit"]
        fitted = fit["c"] * lr ** fit["a"] * batch ** -fit["b"]
        style = {"fmt": "os^vDP"[n % 6], "color": f"C{n}", "ms": 3.5, "mfc": "none"}
        ax.errorbar(x, s, err, label=group["label"], **style)
        ax_fit.errorbar(fitted, s, err, label=(
            f"{group['label']}: a = {fit['a']:.3f} ± {fit['a_err']:.3f}, "
            f"b = {fit['b']:.3f} ± {fit['b_err']:.3f}"), **style)  # fmt: skip
        lows += [x.min(), fitted.min(), s.min()]
        highs += [x.max(), fitted.max(), s.max()]
    sgd = next((g for g in groups if g["optimizer"].get("kind", "sgd") == "sgd"
                and g.get("predicted")), None)  # fmt: skip
    all_x = np.geomspace(min(lows[0::3]) / 1.3, max(highs[0::3]) * 1.3, 50)
    if sgd is not None:
        c = sgd["predicted"]["c"]
        ax.plot(all_x, c * np.sqrt(all_x), color="k", lw=0.8,
                label=f"SGD theory at small lr: {c:.3g} sqrt(lr / B)")  # fmt: skip
    ax.set(xscale="log", yscale="log", xlabel="lr / B   (momentum: lr / (B (1 - beta)))",
           ylabel="mean spacing <S>", title=model)  # fmt: skip
    ax.legend(loc="best")
    span = np.array([min(lows[1::3] + lows[2::3]) / 1.2, max(highs[1::3] + highs[2::3]) * 1.2])
    ax_fit.plot(span, span, color="k", lw=0.8, label="equal: the power law describes the points")
    ax_fit.set(xscale="log", yscale="log", xlabel="fitted c lr^a B^-b of each optimiser",
               ylabel="mean spacing <S>", title=model)  # fmt: skip
    ax_fit.legend(loc="best")


@_styled
def marchenko_pastur_figure(result) -> Figure:
    """The initial spectrum of an RBM against Marchenko-Pastur :eq:`marchenko-pastur`.

    The recorded eigenvalues at step 0 are those of sigma_h^2 W^T W; divided by
    sigma_h^2 N_h they are those of W^T W / N_h, of ratio c = N_v / N_h and sigma_w^2 =
    ``config.init_variance`` :eq:`rbm-kernel`. (For N_v > N_h the N_h nonzero ones, divided by N_v,
    follow
    :eq:`marchenko-pastur` with c = N_h / N_v.) Every replica with a finite start counts, diverged
    or not: the initial law does not depend on what training did later.

    Parameters
    ----------
    result : EnsembleResult
        An RBM ensemble.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``result`` is not of an RBM.
    """
    config = result.config
    if getattr(config, "kind", None) != "rbm":
        raise TypeError(f"result: needs an RBMConfig result, got {type(config).__name__}")
    small, large = sorted((config.n_visible, config.n_hidden))
    start = np.asarray(result.eigenvalues, dtype=np.float64)[:, 0, -small:]
    start = start[np.all(np.isfinite(start), axis=1)] / (config.sigma_h**2 * large)
    ratio, sigma_w = small / large, math.sqrt(config.init_variance)
    fig, axes = _figure(COLUMN, 2.4)
    ax = axes[0, 0]
    ax.set_title(
        rf"$N_v={config.n_visible}$, $N_h={config.n_hidden}$, "
        rf"$\sigma_w={sigma_w:.3g}$, {start.shape[0]} replicas, step "
        f"{int(np.asarray(result.steps)[0])}"
    )
    if start.size < 2:
        _note(ax, "no finite initial spectra")
        return fig
    edges = _hist(ax, start)
    ax.patches[0].set_label("initial eigenvalues")
    edge = sigma_w**2 * (1 + math.sqrt(ratio)) ** 2
    grid = np.linspace(0, max(edges[-1], edge) * 1.05, 2000)[1:]
    ax.plot(
        grid,
        analysis.marchenko_pastur_pdf(grid, ratio, sigma_w),
        color="C0",
        label=rf"Marchenko-Pastur, $c={ratio:.3g}$",
    )
    heights = np.histogram(start, edges, density=True)[0]
    ax.set_ylim(0, 1.35 * heights.max())
    ax.set_xlim(0, grid[-1])
    transposed = config.n_visible > config.n_hidden
    ax.set_xlabel(r"eigenvalue $y$ of " + (r"$WW^T/N_v$" if transposed else r"$W^TW/N_h$"))
    ax.set_ylabel(r"$\rho(y)$")
    ax.legend(loc="upper right")
    return fig


@_styled
def large_n_figure(bulk, initial=()) -> Figure:
    """Large-N statistics: unfolded bulk spacings against the Wigner surmise and the
    Poisson law, and initial spectra against Marchenko-Pastur :eq:`marchenko-pastur`.

    The first panel is the histogram of the spacings of
    :func:`dysonlearn.analysis.bulk_statistics` (unit mean) with :eq:`wigner-surmise` and
    exp(-s), the KS p-values and the gap ratio :eq:`gap-ratio`; then one panel per RBM
    ensemble of ``initial``: :func:`marchenko_pastur_figure`'s histogram of the step-0
    eigenvalues against the density, with the KS p-value of
    :func:`dysonlearn.analysis.marchenko_pastur_test`.

    Parameters
    ----------
    bulk : BulkStatistics
        What :func:`dysonlearn.analysis.bulk_statistics` returned.
    initial : sequence of EnsembleResult, optional
        RBM ensembles whose initial spectra are drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    initial = list(initial)
    fig, axes = _figure(COLUMN * (1 + len(initial)) * 0.85, 2.5, 1, 1 + len(initial))
    ax = axes[0, 0]
    spacings = np.asarray(bulk.spacings, dtype=np.float64).ravel()
    edges = np.linspace(0.0, max(3.5, float(np.quantile(spacings, 0.999))), 36)
    ax.hist(spacings, bins=edges, density=True, **_HIST)
    ax.patches[0].set_label(f"unfolded bulk spacings ({spacings.size})")
    s = np.linspace(0.0, edges[-1], 400)
    ax.plot(s, analysis.wigner_surmise(s), color="C0",
            label=f"Wigner surmise (KS p = {bulk.ks_pvalue:.2g})")  # fmt: skip
    ax.plot(s, np.exp(-s), color="C3", ls="--",
            label=f"Poisson (KS p = {bulk.poisson_ks_pvalue:.2g})")  # fmt: skip
    ax.set_xlim(0, edges[-1])
    ax.set_xlabel("unfolded spacing $s$")
    ax.set_ylabel("$P(s)$")
    ax.set_title(rf"$N={bulk.n_levels}$, levels {bulk.bulk[0]}-{bulk.bulk[1] - 1}, "
                 rf"$\langle r \rangle = {_pm(bulk.gap_ratio, bulk.gap_ratio_err)}$")  # fmt: skip
    ax.legend(loc="upper right")
    for ax, result in zip(axes[0, 1:], initial, strict=True):
        config = result.config
        test = analysis.marchenko_pastur_test(result)
        small, large = sorted((config.n_visible, config.n_hidden))
        start = np.asarray(result.eigenvalues, dtype=np.float64)[:, 0, -small:]
        start = start[np.all(np.isfinite(start), axis=1)] / (config.sigma_h**2 * large)
        edge = test.sigma_w**2 * (1 + math.sqrt(test.ratio)) ** 2
        ax.hist(start.ravel(), bins=40, density=True, **_HIST)
        ax.patches[0].set_label(f"step 0, {start.shape[0]} x {small} levels")
        grid = np.linspace(0, edge * 1.05, 1000)[1:]
        ax.plot(grid, analysis.marchenko_pastur_pdf(grid, test.ratio, test.sigma_w),
                color="C0", label=f"MP, c = {test.ratio:.3g} (KS p = {test.pvalue:.2g})")  # fmt: skip
        heights = np.histogram(start, 40, density=True)[0]
        ax.set_ylim(0, 1.35 * heights.max())
        ax.set_xlim(0, grid[-1])
        ax.set_title(rf"$N_v={config.n_visible}$, $N_h={config.n_hidden}$")
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(4))
        ax.set_xlabel(r"eigenvalue $y$ of " + (r"$WW^T/N_v$" if test.transposed else r"$W^TW/N_h$"))
        ax.set_ylabel(r"$\rho(y)$")
        ax.legend(loc="upper right")
    return fig


# -- reproduce deep-linear: the end-to-end spacing against lr / B for each depth ---------------


@_styled
def deep_linear_figure(points, spacings=()) -> Figure:
    """Deep linear networks of several depths: the mean end-to-end spacing against the
    noise scale, and the spacing law of each pair.

    Top left: <S> of the end-to-end degenerate pair against sqrt(lr A^2 / (2 B)), one
    colour per depth L, with the small-lr line <S> = sqrt(pi) sqrt(lr A^2 / (2 B)), the same
    for every depth, and each point's prediction sqrt(pi) sigma :eq:`dl-level-width` (a
    bar in its colour: the finite-lr factor grows with the curvature L kappa^(2 (L - 1) / L)).
    Top right: <S> over its prediction against lr / B: points at one lr / B fall together
    when the linear scaling rule holds. Bottom: the normalised spacings s = S / <S> of the
    end-to-end pairs (left) and of the layers' pairs (right), one curve per depth and layer,
    against the Wigner surmise :eq:`wigner-surmise` and the Poisson law exp(-s).

    Parameters
    ----------
    points : list of dict
        :func:`dysonlearn.reproduce.compare_deep_linear`'s ``points``: each with ``depth``,
        ``lr``, ``batch_size``, ``ratio``, ``scale``, ``mean_spacing``, ``mean_spacing_err``
        and ``predicted``.
    spacings : sequence of dict, optional
        Each with ``depth``, ``layer`` (None for the end-to-end map, else 1 .. L) and ``s``
        (normalised spacings); a panel without any says so.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        No points.
    """
    points, spacings = list(points), list(spacings)
    if not points:
        raise ValueError("points: need at least one point to draw")
    depths = sorted({p["depth"] for p in points})
    fig, axes = _figure(PAGE, 5.4, 2, 2)
    (ax_s, ax_r), (ax_e, ax_l) = axes
    for n, depth in enumerate(depths):
        mine = sorted((p for p in points if p["depth"] == depth), key=lambda p: p["scale"])
        x, s, err, pred, ratio = (np.array([p[k] for p in mine], dtype=float)
                                  for k in ("scale", "mean_spacing", "mean_spacing_err",
                                            "predicted", "ratio"))  # fmt: skip
        style = {"color": f"C{n}", "ms": 3.5, "mfc": "none", "ls": "none"}
        ax_s.errorbar(x, s, err, fmt="os^vD"[n % 5], label=f"L = {depth}", **style)
        ax_s.plot(x, pred, marker="_", ms=9, color=f"C{n}", ls="none")
        shift = 1 + 0.04 * (n - (len(depths) - 1) / 2)  # side by side at one lr / B
        ax_r.errorbar(ratio * shift, s / pred, err / pred, fmt="os^vD"[n % 5],
                      label=f"L = {depth}", **style)  # fmt: skip
    x_all = np.array([p["scale"] for p in points])
    grid = np.linspace(0, x_all.max() * 1.08, 50)
    ax_s.plot(grid, math.sqrt(math.pi) * grid, color="k", lw=0.8,
              label=r"$\sqrt{\pi}\,\sqrt{\alpha A^2/(2B)}$ (small $\alpha$)")  # fmt: skip
    ax_s.plot([], [], marker="_", ms=9, color="0.4", ls="none",
              label=r"prediction $\sqrt{\pi}\,\sigma$ (finite $\alpha$)")  # fmt: skip
    ax_s.set(xlim=(0, grid[-1]), ylim=(0, None), xlabel=r"$\sqrt{\alpha A^2/(2B)}$",
             ylabel=r"mean end-to-end spacing $\langle S\rangle$")  # fmt: skip
    ax_s.legend(loc="upper left")
    ax_r.axhline(1.0, color="k", lw=0.8)
    ax_r.set(xscale="log", xlabel=r"$\alpha/B$",
             ylabel=r"$\langle S\rangle$ / prediction")  # fmt: skip
    ax_r.legend(loc="best")
    grid = np.linspace(0, 3.5, 300)
    for ax, end_to_end in ((ax_e, True), (ax_l, False)):
        mine = [d for d in spacings if (d["layer"] is None) == end_to_end]
        for n, d in enumerate(mine):
            values = np.asarray(d["s"], dtype=float)
            values = values[np.isfinite(values)]
            if values.size < 2:
                continue
            label = (f"L = {d['depth']}" if end_to_end
                     else f"L = {d['depth']}, $W_{{{d['layer']}}}$")  # fmt: skip
            colour = f"C{depths.index(d['depth'])}" if d["depth"] in depths else f"C{n}"
            ax.hist(values, bins=np.linspace(0, 3.5, 36), density=True, histtype="step",
                    color=colour, ls=("-", "--", ":", "-.")[0 if end_to_end else
                                                           (d["layer"] - 1) % 4],
                    label=f"{label} ({values.size})")  # fmt: skip
        ax.plot(grid, analysis.wigner_surmise(grid), color="k", lw=1.0, label="Wigner surmise")
        ax.plot(grid, np.exp(-grid), color="0.5", ls=":", label=r"Poisson $e^{-s}$")
        ax.set(xlim=(0, 3.5), ylim=(0, 1.25), xlabel=r"$s=S/\langle S\rangle$",
               ylabel=r"$P(s)$",
               title="end-to-end pair" if end_to_end else "each layer's pair")  # fmt: skip
        if not mine:
            _note(ax, "no per-layer spectra in these results")
        ax.legend(loc="upper right", fontsize=5.5)
    return fig


# With at least this many snapshots, lines join them; with fewer, the snapshots are drawn
# as markers only: a straight line between two distant snapshots is not the dynamics.
DENSE_SNAPSHOTS = 20


@_styled
def trajectories_figure(result, replicas: int = 20) -> Figure:
    """The learnt eigenvalues over training, at the recorded snapshots.

    Per mode, the mean over the surviving replicas with one standard deviation, and
    ``replicas`` single replicas, and the stationary levels x* (dashed). Modes of one
    degenerate group share a colour. With fewer than :data:`DENSE_SNAPSHOTS` snapshots
    nothing joins them (markers and error bars only, and the legend says so): a line
    between distant snapshots would suggest a path the data do not show. Levels far apart
    compared with their spread get panels of their own, stacked on one broken axis.

    Parameters
    ----------
    result : EnsembleResult
        One scan point.
    replicas : int, optional
        How many single replicas to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    config = result.config
    labels = model_for(config).labels_for(config)
    eigs = _usable(result)
    steps = np.asarray(result.steps)
    title = f"{_describe(config)}\n{_replicas_text(result, eigs.shape[0])}"
    if eigs.shape[0] == 0:
        fig, axes = _figure(COLUMN, 2.8)
        axes[0, 0].set_title(title)
        for level in np.unique(config.stationary_levels):
            axes[0, 0].axhline(level, color="0.3", ls="--", lw=0.6)
        _note(axes[0, 0], _nothing_usable(result, 0))
        return fig
    # Panels from where the levels are after the start (step 0 is far from all of them).
    later = eigs[:, 1:] if steps.size > 1 else eigs
    clusters = _clusters(later, config)[::-1]  # the highest levels in the top panel
    groups = analysis.degenerate_groups(config.stationary_levels)
    if config.n_modes > _MAX_TRAJECTORY_MODES:
        # Whole degenerate groups, evenly spaced, up to about the cap in modes.
        per_group = config.n_modes / len(groups)
        keep = {m for g in _evenly(groups, max(1, int(_MAX_TRAJECTORY_MODES / per_group)))
                for m in g}  # fmt: skip
        clusters = [c for c in ([m for m in c if m in keep] for c in clusters) if c]
        title += f", {len(keep)} of {config.n_modes} modes shown, evenly spaced"
    fig, axes = _figure(COLUMN, 2.8 + 0.5 * (len(clusters) - 1), len(clusters), 1, sharex=True)
    axes = list(axes[:, 0])
    fig.suptitle(title)
    if len(clusters) > 1:
        fig.get_layout_engine().set(hspace=0.0, h_pad=0.02)
    dense = steps.size >= DENSE_SNAPSHOTS
    colour = {m: f"C{n % 10}" for n, group in enumerate(groups) for m in group}
    mean, spread = eigs.mean(axis=0), eigs.std(axis=0)
    shown = min(replicas, eigs.shape[0])
    for ax, modes in zip(axes, clusters):
        for level in np.unique(config.stationary_levels[modes]):
            ax.axhline(level, color="0.3", ls="--", lw=0.6)
        for m in modes:
            color = colour[m]
            if dense:
                ax.plot(steps, eigs[:shown, :, m].T, color=color, lw=0.3, alpha=0.35)
                ax.fill_between(steps, mean[:, m] - spread[:, m], mean[:, m] + spread[:, m],
                                color=color, alpha=0.25, lw=0)  # fmt: skip
                ax.plot(steps, mean[:, m], color=color, lw=1.0)
            else:
                jitter = (np.arange(shown) - shown / 2) * (steps[-1] - steps[0]) / 2000
                ax.plot(steps[None, :] + jitter[:, None], eigs[:shown, :, m], ls="none",
                        marker=".", ms=1.2, color=color, alpha=0.35)  # fmt: skip
                ax.errorbar(steps, mean[:, m], spread[:, m], ls="none", marker="o", ms=2.5,
                            color=color, elinewidth=0.8)  # fmt: skip
        ax.set_xlim(steps[0] - 0.02 * (steps[-1] - steps[0]), steps[-1] * 1.02 or 1)
        if len(clusters) > 1:
            lo, hi = np.min(later[:, :, modes]), np.max(later[:, :, modes])
            pad = 0.15 * (hi - lo) or 0.1 * abs(hi) or 0.1
            ax.set_ylim(lo - pad, hi + pad)
            ax.yaxis.set_major_locator(mpl.ticker.MaxNLocator(3))
    if len(clusters) > 1:
        _break_marks(axes, vertical=True)
        start = eigs[:, 0]
        if steps.size > 1 and any(
            np.any((start[:, m] < ax.get_ylim()[0]) | (start[:, m] > ax.get_ylim()[1]))
            for ax, modes in zip(axes, clusters) for m in modes
        ):  # fmt: skip
            axes[-1].text(0.01, 0.03, "step 0 outside the panels", transform=axes[-1].transAxes,
                          fontsize=5.5, color="0.4")  # fmt: skip
        fig.supylabel(labels.eigenvalue_label + " (broken axis)", fontsize=8)
    else:
        axes[0].set_ylabel(labels.eigenvalue_label)
    axes[-1].set_xlabel("training step")
    if dense:
        handles = [
            Line2D([], [], color="0.3", lw=1.0, label="mean over replicas"),
            Patch(color="0.3", alpha=0.25, lw=0, label=r"$\pm1$ standard deviation"),
            Line2D([], [], color="0.3", lw=0.3, label=f"{shown} replicas"),
        ]
    else:
        handles = [
            Line2D([], [], color="0.3", marker="o", ms=2.5, ls="none",
                   label=r"mean $\pm1$ standard deviation"),
            Line2D([], [], color="0.3", marker=".", ms=2, ls="none",
                   label=f"{shown} replicas"),
        ]  # fmt: skip
    handles.append(Line2D([], [], color="0.3", ls="--", lw=0.6, label=labels.level_label))
    if not dense:
        handles.append(Line2D([], [], ls="none", label=f"{steps.size} snapshots, not joined"))
    fig.legend(handles=handles, loc="outside lower center", ncols=2)
    return fig


# -- recorded time series ---------------------------------------------------------------

# A time series of more records than this is drawn as block means (a line of 10^4 noisy
# points shows nothing but the noise).
_MAX_POINTS = 300
# With more modes than this, autocorrelation_figure draws a subset by default.
_MAX_CURVES = 6
# The open red ring that marks a point not stationary in the scan figures.
_UNSTEADY = {"ls": "none", "marker": "o", "ms": 7, "mfc": "none", "mec": "C3", "mew": 0.8,
             "zorder": 4}  # fmt: skip
_UNSTEADY_LABEL = "not stationary"


def _recorded(result, snapshots: int | None, series: dict | None, figure: str):
    """The pooled records of a time series, their steps and its time-series record.

    Raises ValueError, naming the figure, for a point that records snapshots.
    """
    config = result.config
    if not getattr(config, "is_time_series", False):
        raise ValueError(
            f"result: {figure} needs a recorded time series (a configuration with "
            f"record_every set), got a run of {np.asarray(result.steps).size} snapshots "
            f"(record_every = {getattr(config, 'record_every', None)})"
        )
    pool = pooled_snapshots(result, snapshots)
    eigs = np.asarray(result.eigenvalues, dtype=np.float64)[:, -pool:, :]
    eigs = eigs[usable_replicas(result, pool)]
    steps = np.asarray(result.steps)[-pool:]
    if series is None:
        series = time_series_record(result, pool)
    return eigs, steps, series


def _series_title(result, eigs: np.ndarray, steps: np.ndarray) -> str:
    """What a time-series figure rests on: the records, their interval and the replicas."""
    every = int(steps[1] - steps[0]) if steps.size > 1 else 0
    interval = "every step" if every == 1 else f"every {every} steps"
    replicas = _replicas_text(result, eigs.shape[0])
    return (f"{_describe(result.config)}\n{steps.size} records {interval} "
            f"(steps {steps[0]}-{steps[-1]}), {replicas}")


def _series_note(series: dict | None, eigs: np.ndarray) -> str | None:
    """Why a recorded point has no time-series statistics to draw, or None."""
    if eigs.shape[0] == 0:
        return "no usable replica"
    if not series or "modes" not in series:
        return (series or {}).get("note", "no time-series statistics")
    return None


def _check_modes(modes, n: int) -> list[int]:
    """``modes`` as a list of distinct mode indices in [0, n), or a ValueError naming it."""
    values = [modes] if isinstance(modes, int | np.integer) else list(modes)
    bad = [m for m in values if not isinstance(m, int | np.integer) or isinstance(m, bool)
           or not 0 <= m < n]  # fmt: skip
    if not values or bad or len(set(values)) != len(values):
        raise ValueError(f"modes: must be distinct mode indices in [0, {n - 1}] (at least "
                         f"one), got {modes!r}")  # fmt: skip
    return [int(m) for m in values]


def _default_modes(config, entries: list[dict]) -> list[int]:
    """Every mode, or for more than :data:`_MAX_CURVES` the slowest, the fastest (by the
    predicted rate, else the measured one) and the first degenerate pair."""
    n = len(entries)
    if n <= _MAX_CURVES:
        return list(range(n))

    def rate(entry):
        value = entry.get("predicted_rate")
        if value is None or not np.isfinite(value):
            value = entry.get("rate")
        return np.inf if value is None else value

    order = sorted(range(n), key=lambda m: rate(entries[m]))
    chosen = [order[0], order[-1]] if np.isfinite(rate(entries[order[-1]])) else [0, n - 1]
    pairs = _groups(config)[0]
    if pairs:
        chosen += list(pairs[0])
    return sorted(set(chosen))


def _rate_of(entry: dict, key: str) -> float:
    value = entry.get(key)
    return np.nan if value is None else float(value)


@_styled
def autocorrelation_figure(result, modes=None, snapshots: int | None = None,
                           series: dict | None = None) -> Figure:  # fmt: skip
    """How fast a recorded point forgets: the autocorrelation of each mode, and its decay rate
    against the model's prediction (:doc:`/theory/time_series`).

    Left: per mode (and per degenerate pair of the modes shown, its spacing), the
    autocorrelation function :eq:`acf` averaged over replicas against the lag in units of
    t = lr * step (log scale), with the fitted exponential exp(-rate t) of
    :func:`~dysonlearn.analysis.autocorrelation_decay` :eq:`acf-decay` and the model's
    harmonic prediction exp(-c t) (:meth:`~dysonlearn.models.Model.relaxation_rates`;
    dashed). Right: the measured rate with its jackknife error against the predicted one,
    for every mode and every spacing of a degenerate pair (predicted 2 c), with the line of
    equal rates, and the ratio of the slowest mode. The rates and their errors are those of
    the point's summary (:func:`~dysonlearn.analysis.summary.time_series_record`).

    Parameters
    ----------
    result : EnsembleResult
        A recorded point (its configuration's ``record_every`` set).
    modes : int or sequence of int, optional
        The modes of the left panel. Default: every mode, or for more than 6 the slowest
        and the fastest (by the predicted rate) and the first degenerate pair.
    snapshots : int, optional
        The pooled records (default: every record but step 0).
    series : dict, optional
        The point's ``time_series`` summary, if the caller has it (computed otherwise).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        ``result`` records snapshots rather than a time series, or ``modes`` holds an
        index out of range or twice.
    """
    eigs, steps, series = _recorded(result, snapshots, series, "autocorrelation_figure")
    config = result.config
    n = eigs.shape[-1]
    if modes is not None:
        modes = _check_modes(modes, n)
    fig, axes = _figure(PAGE, 2.9, 1, 2)
    ax, ax_r = axes[0]
    fig.suptitle(_series_title(result, eigs, steps))
    note = _series_note(series, eigs)
    if note is not None:
        for panel in (ax, ax_r):
            _note(panel, note)
        return fig
    if modes is None:
        modes = _default_modes(config, series["modes"])
    spacing_of = {tuple(e["modes"]): e for e in series["spacings"]}
    curves = [(rf"$x_{{{m}}}$", eigs[:, :, m], series["modes"][m]) for m in modes]
    curves += [(rf"$S=x_{{{j}}}-x_{{{i}}}$", eigs[:, :, j] - eigs[:, :, i], spacing_of[(i, j)])
               for i, j in _groups(config)[0]
               if i in modes and j in modes and (i, j) in spacing_of]  # fmt: skip
    handles = _acf_panel(ax, curves, float(steps[1] - steps[0]), config.lr)
    handles += _rates_panel(ax_r, series)
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return fig


def _acf_panel(ax, curves: list, every: float, lr: float) -> list:
    """The left panel of :func:`autocorrelation_figure`: ``curves`` of (label, (R, T) data,
    summary entry), records ``every`` steps apart; returns the legend's handles."""
    records = curves[0][1].shape[1]
    unit = every * lr  # t of a lag of one record
    # Lags until the slowest fitted exponential is down to 1%, within the recording.
    taus = [_rate_of(entry, "tau_exp") / every for _, _, entry in curves]  # in records
    taus = [tau for tau in taus if np.isfinite(tau) and tau > 0]
    lag_max = math.ceil(4.6 * max(taus)) if taus else (records - 1) // 4
    lag_max = min(records - 1, max(8, lag_max))
    lags = np.arange(lag_max + 1)
    t = lags * unit
    grid = np.linspace(0, t[-1], 200)
    handles = []
    for n, (label, data, entry) in enumerate(curves):
        color = f"C{n % 10}"
        rho = analysis.autocorrelation(data, axis=1).mean(axis=0)[: lag_max + 1]
        ax.plot(t, np.where(rho > 0, rho, np.nan), ls="none", marker="o",
                ms=2.0 if lags.size <= 80 else 1.0, color=color)  # fmt: skip
        rate, predicted = _rate_of(entry, "rate"), _rate_of(entry, "predicted_rate")
        if np.isfinite(rate):
            ax.plot(grid, np.exp(-rate * grid), color=color, lw=0.8)
        if np.isfinite(predicted):
            ax.plot(grid, np.exp(-predicted * grid), color=color, lw=0.8, ls="--")
        handles.append(Patch(color=color, label=label))
    handles += [
        Line2D([], [], color="0.3", ls="none", marker="o", ms=2,
               label="measured, mean over replicas"),
        Line2D([], [], color="0.3", lw=0.8, label="fitted exponential exp(-rate t)"),
        Line2D([], [], color="0.3", lw=0.8, ls="--", label="predicted exp(-c t)"),
    ]  # fmt: skip
    ax.set_yscale("log")
    ax.set(xlabel=r"lag $t=\alpha\times$steps", ylabel=r"autocorrelation $\rho(t)$",
           xlim=(0, t[-1]), ylim=(1e-2, 1.5))  # fmt: skip
    return handles


def _rates_panel(ax, series: dict) -> list:
    """The right panel of :func:`autocorrelation_figure`: measured against predicted rates;
    returns the legend's handles."""
    rows = [(e, rf"$x_{{{e['mode']}}}$", "o") for e in series["modes"]]
    rows += [(e, rf"$S_{{{e['modes'][0]}{e['modes'][1]}}}$", "s") for e in series["spacings"]
             if e.get("predicted_rate") is not None]  # fmt: skip
    shown = [(e, label, marker) for e, label, marker in rows
             if np.isfinite(_rate_of(e, "predicted_rate")) and np.isfinite(_rate_of(e, "rate"))]
    if not shown:
        missing = all(not np.isfinite(_rate_of(e, "predicted_rate")) for e, _, _ in rows)
        _note(ax, "no predicted rates for this model or optimiser" if missing else
              "no measured rates: every autocorrelation decays within one record")  # fmt: skip
        return []
    x = np.array([_rate_of(e, "predicted_rate") for e, _, _ in shown])
    y = np.array([_rate_of(e, "rate") for e, _, _ in shown])
    err = np.array([_rate_of(e, "rate_err") for e, _, _ in shown])
    err = np.where(np.isfinite(err), err, 0.0)
    for marker, what in (("o", "modes"), ("s", "spacings of degenerate pairs")):
        at = np.array([m == marker for _, _, m in shown])
        if at.any():
            ax.errorbar(x[at], y[at], err[at], fmt=marker, ms=3, mfc="none" if marker == "s"
                        else None, color="C0" if marker == "o" else "C1",
                        label=f"{what}: measured against predicted rate")  # fmt: skip
    seen: Counter = Counter()
    for (e, label, _), xi, yi in zip(shown, x, y):
        side = 1 if seen[round(xi, 9)] % 2 == 0 else -1  # degenerate modes: alternate sides
        seen[round(xi, 9)] += 1
        ax.annotate(label, (xi, yi), xytext=(4 * side, 0), textcoords="offset points",
                    fontsize=5.5, va="center", ha="left" if side > 0 else "right")  # fmt: skip
    values = np.concatenate([x, y[y > 0]])
    lo, hi = values.min(), values.max()
    logs = lo > 0 and hi / lo > 5
    line = np.array([lo / 1.6, hi * 1.6]) if logs else np.array([0.0, 1.15 * hi])
    ax.plot(line, line, color="0.5", ls=":", lw=0.8, label="measured = predicted")
    if logs:
        ax.set(xscale="log", yscale="log")
    ax.set(xlim=tuple(line), ylim=tuple(line), xlabel=r"predicted rate (per unit $t$)",
           ylabel=r"measured rate (per unit $t$)")  # fmt: skip
    slowest = int(np.argmin(np.where([m == "o" for _, _, m in shown], x, np.inf)))
    if shown[slowest][2] == "o":
        ratio = y[slowest] / x[slowest]
        ax.text(0.97, 0.04, f"slowest mode {shown[slowest][1]}: measured / predicted\n"
                rf"$={_pm(ratio, err[slowest] / x[slowest])}$", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=6.5)  # fmt: skip
    return ax.get_legend_handles_labels()[0]


def _block_means(values: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(T, ...) values and (T,) steps as means over blocks of consecutive records, at most
    :data:`_MAX_POINTS` of them; returns them and the block length."""
    block = max(1, math.ceil(steps.size / _MAX_POINTS))
    count = steps.size // block
    if block == 1:
        return values, steps.astype(np.float64), 1
    cut = count * block
    means = values[:cut].reshape(count, block, *values.shape[1:]).mean(axis=1)
    return means, steps[:cut].reshape(count, block).mean(axis=1), block


@_styled
def time_series_figure(result, snapshots: int | None = None,
                       series: dict | None = None) -> Figure:  # fmt: skip
    """Is the recording stationary? The mean level of each mode over the recording.

    One panel per mode: the mean over replicas of the recorded level against the step
    (block means when there are more than 300 records), the first and last thirds of the
    recording shaded, each with its mean and that mean's error over replicas
    (:func:`~dysonlearn.analysis.time_series_mean`), and the z of
    :func:`~dysonlearn.analysis.stationarity_test` that compares them, as in the point's
    summary. A mode with abs(z) > 3 is flagged: its z is red, its panel framed in red,
    and the title says "not stationary".

    Parameters
    ----------
    result : EnsembleResult
        A recorded point (its configuration's ``record_every`` set).
    snapshots : int, optional
        The pooled records (default: every record but step 0).
    series : dict, optional
        The point's ``time_series`` summary, if the caller has it (computed otherwise).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        ``result`` records snapshots rather than a time series.
    """
    eigs, steps, series = _recorded(result, snapshots, series, "time_series_figure")
    config = result.config
    labels = model_for(config).labels_for(config)
    title = _series_title(result, eigs, steps)
    note = _series_note(series, eigs)
    if note is not None:
        fig, axes = _figure(COLUMN, 2.4)
        axes[0, 0].set_title(title)
        _note(axes[0, 0], note)
        return fig
    n = eigs.shape[-1]
    ncols = 1 if n == 1 else 2 if n <= 8 else 3 if n <= 15 else 4
    nrows = math.ceil(n / ncols)
    fig, axes = _figure(COLUMN if ncols == 1 else PAGE, max(2.4, 1.1 + 1.05 * nrows), nrows,
                        ncols, sharex=True)  # fmt: skip
    flagged = [m for m, e in enumerate(series["modes"]) if e.get("flagged")]
    threshold = series.get("threshold", analysis.timeseries.STATIONARITY_THRESHOLD)
    if flagged:
        names = ", ".join(f"x_{m}" for m in flagged)
        title += f"\nnot stationary: |z| > {threshold:g} for {names}"
    fig.suptitle(title, color="C3" if flagged else "k")
    mean, at, block = _block_means(eigs.mean(axis=0), steps)
    third = steps.size // 3
    spans = [(steps[:third], eigs[:, :third]), (steps[-third:], eigs[:, -third:])]
    thirds = []
    for span_steps, values in spans:
        if values.shape[0] >= 2:
            m, e = analysis.time_series_mean(values, axis=1, replica_axis=0)
        else:
            m, e = analysis.time_series_mean(values[0], axis=0)
        thirds.append((span_steps, np.atleast_1d(m), np.atleast_1d(e)))
    for m, ax in enumerate(axes.flat):
        if m >= n:
            ax.set_axis_off()
            continue
        for span_steps, values, errors in thirds:
            ax.axvspan(span_steps[0], span_steps[-1], color="0.9", lw=0)
            ax.fill_between([span_steps[0], span_steps[-1]], values[m] - errors[m],
                            values[m] + errors[m], color="C1", alpha=0.35, lw=0)  # fmt: skip
            ax.plot([span_steps[0], span_steps[-1]], [values[m]] * 2, color="C1", lw=0.9)
        ax.plot(at, mean[:, m], color="C0", lw=0.6)
        z = series["modes"][m].get("stationarity_z")
        bad = m in flagged
        text = rf"$x_{{{m}}}$: $z={z:.2f}$" if z is not None else rf"$x_{{{m}}}$: no $z$"
        ax.text(0.02, 0.95, text + (" not stationary" if bad else ""), transform=ax.transAxes,
                va="top", ha="left", fontsize=6.5, color="C3" if bad else "k")  # fmt: skip
        if bad:
            for spine in ax.spines.values():
                spine.set(color="C3", linewidth=1.2)
        ax.yaxis.set_major_locator(mpl.ticker.MaxNLocator(3))
        ax.ticklabel_format(axis="y", useOffset=False)
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.3 * (high - low))  # room for the text
    for m, ax in enumerate(axes.flat):
        if m < n and m + ncols >= n:  # the lowest panel of its column
            ax.tick_params(labelbottom=True)
            ax.set_xlabel("training step")
    fig.supylabel(labels.eigenvalue_label, fontsize=8)
    averaged = "mean over replicas" + (f", blocks of {block} records" if block > 1 else "")
    handles = [
        Line2D([], [], color="C0", lw=0.6, label=averaged),
        Patch(color="0.9", lw=0, label="first and last thirds, compared"),
        Line2D([], [], color="C1", lw=0.9, label=r"mean of a third $\pm$ its error"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return fig


def _not_stationary(result, snapshots: int | None) -> bool:
    """Whether a point's stationarity test flags a mode, as its summary decides it (the
    thirds of a recording, :func:`~dysonlearn.analysis.stationarity_test`, or the pooled
    snapshots against those before them), without the summary's fits."""
    pool = pooled_snapshots(result, snapshots)
    if not getattr(result.config, "is_time_series", False):
        return bool(stationarity(result, pool).get("flagged_modes"))
    eigs = np.asarray(result.eigenvalues, dtype=np.float64)[:, -pool:, :]
    eigs = eigs[usable_replicas(result, pool)]
    if pool < 3 * MIN_RECORDS or eigs.shape[0] == 0:
        return False
    if eigs.shape[0] >= 2:
        return bool(np.any(analysis.stationarity_test(eigs, axis=1, replica_axis=0).flagged))
    return bool(np.any(analysis.stationarity_test(eigs[0], axis=0).flagged))


def _unsteady_keys(results, snapshots, flagged) -> set:
    """The (lr, B, noise) of the points not stationary: ``flagged`` (one bool a result) or,
    when None, each point's stationarity test."""
    if flagged is None:
        flagged = [_not_stationary(result, snapshots) for result in results]
    return {_point_key(r.config) for r, bad in zip(results, flagged, strict=True) if bad}


def _point_key(config) -> tuple:
    return (config.lr, config.batch_size, getattr(config, "noise", None))


def _slug(config) -> str:
    slug = f"lr{config.lr:g}_B{config.batch_size}"
    noise = getattr(config, "noise", None)
    return slug + (f"_A{noise:g}" if noise is not None else "")


FIGURE_FORMATS = ("png", "pdf", "svg")
"""The file formats :func:`save_figures` writes."""
DPI_RANGE = (20, 1200)
"""The resolutions :func:`save_figures` accepts (a page-wide figure at 1200 dpi is 8400
pixels wide)."""


def check_figure_options(problems, format: str = "png", dpi: int | None = None) -> bool:
    """Check a figure format and resolution, recording each problem in ``problems``.

    Parameters
    ----------
    problems : dysonlearn.validation.Problems
        Where a problem is recorded ("format: ...", "dpi: ...").
    format : str
        One of :data:`FIGURE_FORMATS`.
    dpi : int or None
        An integer in :data:`DPI_RANGE`, or None for :data:`DPI`.

    Returns
    -------
    bool
        Whether both are valid.
    """
    from .validation import check_choice, check_int

    ok = check_choice(problems, "format", format, FIGURE_FORMATS)
    if dpi is not None:
        ok = check_int(problems, "dpi", dpi, *DPI_RANGE) and ok
    return ok


def _metadata(format: str) -> dict:
    """What save_figures writes into a figure file to say that dysonlearn drew it."""
    tag = f"{FIGURE_SOFTWARE} {__version__}"
    return {"Software": tag} if format == "png" else {"Creator": tag}


def _warn_on(fig: Figure, warnings_: list[str]) -> None:
    """A short note at the foot of a figure, in a strip kept free of the layout: the
    warning, or how many there are and where they are told."""
    if not warnings_:
        return
    text = (f"warning: {warnings_[0]}" if len(warnings_) == 1 else
            f"{len(warnings_)} warnings, e.g. {warnings_[0]}: see summary.md")  # fmt: skip
    width, height = fig.get_size_inches()
    lines = textwrap.wrap(text, int(width * 24))[:3]
    if len(lines) == 3:
        lines[-1] = lines[-1][: int(width * 24) - 4] + " ..."
    if fig.legends:  # a legend below the axes: the note goes in its title, laid out with it
        fig.legends[0].set_title("\n".join(lines), prop={"size": 5.5})
        fig.legends[0].get_title().set_color("C3")
        return
    strip = (0.1 * len(lines) + 0.04) / height
    fig.get_layout_engine().set(rect=(0, strip, 1, 1 - strip))
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=5.5, color="C3", ha="left",
             va="bottom")  # fmt: skip


def save_figures(
    results, outdir, snapshots: int = 1, dpi: int | None = None, per_point: bool = True,
    fits=None, format: str = "png", summary: dict | None = None,
) -> list[Path]:  # fmt: skip
    """Write every figure that applies to ``results`` in ``outdir``.

    Per result (unless ``per_point`` is False and there are several, which saves most of the
    time of a scan): ``histograms``, ``spacings``, ``trajectories``, for a recorded time
    series with its statistics ``autocorrelation`` and ``time_series``, and the model's own
    (:meth:`dysonlearn.models.Model.point_figures`: ``marchenko_pastur`` for an RBM),
    suffixed ``_<index>_lr<lr>_B<B>[_A<noise>]`` for a scan. Once: the models' own scan
    figures (:meth:`~dysonlearn.models.Model.scan_figures`: ``target_spectrum`` and
    ``fokker_planck`` of the first RBM point, ``teacher_student_scaling``), then ``scaling``
    and ``lambda_ratio`` when there are degenerate pairs. A figure of a point with warnings
    (a fit the data do not support, levels still moving) says so at its foot, as do the
    scan figures for the scan's slopes; the scan figures ring in red the points whose
    stationarity test flags a mode.

    Parameters
    ----------
    results : EnsembleResult or list of EnsembleResult
        One result, or a scan.
    outdir : path-like
        Made if missing.
    snapshots : int
        Pool the last ``snapshots`` snapshots.
    dpi : int, optional
        Resolution (default :data:`DPI`; PDF and SVG keep text and lines as vectors).
    per_point : bool
        Write the per-point figures of a scan.
    fits : list, optional
        Each point's :func:`dysonlearn.analysis.summary.point_fits`, if the caller has them
        (the summary does): the figures then fit nothing again.
    format : {"png", "pdf", "svg"}
        The file format (and suffix). Each file records that dysonlearn drew it (PNG
        "Software", PDF "Creator", SVG ``dc:creator``).
    summary : dict, optional
        :func:`dysonlearn.report.build_summary` of the same results and pooling, for the
        warnings (made here when not given).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    ConfigError
        ``format`` or ``dpi`` not allowed.
    """
    from .report import build_summary
    from .validation import Problems

    problems = Problems()
    check_figure_options(problems, format, dpi)
    problems.raise_if_any()
    dpi = DPI if dpi is None else dpi
    results = _as_list(results)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig: Figure, name: str, warnings_: list[str] = ()) -> None:
        _warn_on(fig, list(warnings_))
        path = outdir / f"{name}.{format}"
        fig.savefig(path, dpi=dpi, format=format, metadata=_metadata(format))
        written.append(path)

    # One fit per point, shared by its spacing figure and the scaling table (a point with
    # too few replicas has none: its spacing figure says so).
    if fits is None:
        fits = [point_fits(result, snapshots) for result in results]
    if summary is None:
        summary = build_summary(results, [{} for _ in results], snapshots, fits)
    point_warnings = [point.get("warnings", []) for point in summary["points"]]
    scan_warnings = (summary.get("scaling") or {}).get("warnings", [])
    scan = len(results) > 1
    for index, result in enumerate(results if per_point or not scan else []):
        tag = f"_{index:02d}_{_slug(result.config)}" if scan else ""
        warned = point_warnings[index]
        save(learnt_histograms(result), f"histograms{tag}", warned)
        save(spacing_figure(result, snapshots, fits[index]), f"spacings{tag}", warned)
        save(trajectories_figure(result), f"trajectories{tag}", warned)
        series = summary["points"][index].get("time_series")
        if series and "modes" in series:  # a recorded point with its statistics
            save(autocorrelation_figure(result, snapshots=snapshots, series=series),
                 f"autocorrelation{tag}", warned)  # fmt: skip
            save(time_series_figure(result, snapshots=snapshots, series=series),
                 f"time_series{tag}", warned)  # fmt: skip
        for name, fig in model_for(result.config).point_figures(result):
            save(fig, f"{name}{tag}")
    for model, points in _by_model(results).items():
        for name, fig in model.scan_figures(points, snapshots):
            save(fig, name)
    try:
        table = analysis.scaling_table(results, snapshots, fits)
    except ValueError as exc:
        warnings.warn(f"scaling: figures skipped ({exc})", stacklevel=2)
        table = None
    if table is not None and table.pairs:
        unsteady = [bool((point.get("stationarity") or {}).get("flagged_modes"))
                    for point in summary["points"]]  # fmt: skip
        save(scaling_figure(results, snapshots, table=table, flagged=unsteady), "scaling",
             scan_warnings)  # fmt: skip
        save(lambda_ratio_figure(results, snapshots, table=table, flagged=unsteady),
             "lambda_ratio")  # fmt: skip
    return written


def _by_model(results) -> dict:
    """The results of each model, models in order of first appearance."""
    groups: dict = {}
    for result in results:
        groups.setdefault(model_for(result.config), []).append(result)
    return groups


__all__ = [
    "COLUMN",
    "DPI",
    "DPI_RANGE",
    "FIGURE_FORMATS",
    "PAGE",
    "autocorrelation_figure",
    "fokker_planck_figure",
    "lambda_ratio_figure",
    "large_n_figure",
    "learnt_histograms",
    "marchenko_pastur_figure",
    "optimizer_scaling_figure",
    "save_figures",
    "scaling_figure",
    "spacing_figure",
    "target_spectrum",
    "teacher_student_scaling",
    "time_series_figure",
    "trajectories_figure",
]


# -- Deep linear networks: the balancedness drift (issue 16) ----------------------------------


@_styled
def balancedness_figure(drifts, labels=None, layer: int = 1) -> Figure:
    """The drift of the balancedness :eq:`dl-balancedness` against steps, log-log.

    For each ensemble of ``drifts``: the replica mean of ``|D_l(t) - D_l(0)|_F`` with its
    standard error, the power law c t^gamma of :func:`dysonlearn.analysis.fit_drift`
    (dashed), and, for reference, the slopes 1 (a drift of O(lr^2) per step, noiseless
    SGD) and 1/2 (diffusion, the noise added by hand :eq:`dl-balancedness-diffusion`),
    grey, each through the first point of the ensemble whose fitted exponent is nearest.

    Parameters
    ----------
    drifts : BalancednessDrift or sequence of BalancednessDrift
        What :func:`dysonlearn.analysis.balancedness_drift` returned (e.g. without and with
        noise).
    labels : sequence of str, optional
        One legend label per ensemble; default from its noise A and learning rate.
    layer : int
        l of D_l (1 <= l <= L - 1 of every ensemble).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        No ensemble, a label count that does not match, or ``layer`` out of range.
    """
    if isinstance(drifts, analysis.BalancednessDrift):
        drifts = [drifts]
    drifts = list(drifts)
    if not drifts:
        raise ValueError("drifts: need at least one BalancednessDrift")
    if labels is None:
        labels = [rf"$A={d.config.noise:g}$, $\alpha={d.config.lr:g}$" for d in drifts]
    labels = list(labels)
    if len(labels) != len(drifts):
        raise ValueError(f"labels: need one per ensemble ({len(drifts)}), got {len(labels)}")
    fig, axes = _figure(COLUMN, 2.6)
    ax = axes[0, 0]
    anchors = []
    for number, (drift, label) in enumerate(zip(drifts, labels, strict=True)):
        fit = drift.fit(layer)  # checks the layer
        data = drift.drift[:, :, layer - 1]
        data = data[np.all(np.isfinite(data), axis=1)]
        t = drift.times.astype(np.float64)
        mean = data.mean(axis=0)
        err = data.std(axis=0, ddof=1) / math.sqrt(data.shape[0])
        color = f"C{number}"
        ax.errorbar(t, mean, yerr=err, fmt="o", color=color, ms=2.5,
                    label=f"{label} ({data.shape[0]} replicas)")  # fmt: skip
        gamma = _pm(fit.gamma, fit.gamma_err)
        ax.plot(t, fit(t), ls="--", color=color, label=rf"fit $c\,t^{{\gamma}}$, $\gamma={gamma}$")
        anchors.append((fit.gamma, t, mean[0]))
    for slope, style in ((1.0, ":"), (0.5, "-.")):
        _, t, y0 = min(anchors, key=lambda a: abs(a[0] - slope))
        t0 = t[0]
        ax.plot(t, y0 * (t / t0) ** slope, ls=style, color="0.55", lw=0.8,
                label=rf"slope {slope:g}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step $t$")
    ax.set_ylabel(rf"$\langle \| D_{{{layer}}}(t) - D_{{{layer}}}(0) \|_F \rangle$")
    title = r"$D_l = W_{l+1}^T W_{l+1} - W_l W_l^T$"
    if len({d.config.batch_size for d in drifts}) == 1:
        title = rf"$B={drifts[0].config.batch_size}$, " + title
    if len({tuple(d.config.widths) for d in drifts}) == 1:
        widths = ", ".join(str(n) for n in drifts[0].config.widths)
        title = rf"widths $[{widths}]$, " + title
    ax.set_title(title)
    ax.legend(loc="center left", fontsize=6)
    return fig


__all__ += ["balancedness_figure"]  # noqa: PLE0605


# -- Deep linear networks: each layer's spectrum (issue 16) -----------------------------------

# A point of a deep linear scan shows at most this many of its teacher's degenerate pairs.
_MAX_LAYER_PAIRS = 4


@_styled
def layer_spacing_figure(result, snapshot: int = -1) -> Figure:
    """Each layer's pairs of singular values against the Wigner surmise (deep linear model).

    One column per layer W_1 .. W_L, one row per degenerate pair of the teacher (at most
    four, evenly spaced): the histogram of s = S_l / <S_l> at one snapshot with the Wigner
    surmise :eq:`wigner-surmise` and the Poisson law e^-s, and <S_l> beside the free
    diffusion :eq:`dl-layer-spacing` when the replicas started exactly balanced
    (:func:`~dysonlearn.analysis.layer_pair_fits`).

    Parameters
    ----------
    result : EnsembleResult
        One deep linear point with its ``layer_eigenvalues``.
    snapshot : int
        The snapshot's index (default: the last).

    Returns
    -------
    matplotlib.figure.Figure
    """
    config = result.config
    fits = analysis.layer_pair_fits(result, snapshot)
    pairs = _evenly(sorted({fit.modes for fit in fits}), _MAX_LAYER_PAIRS)
    n_layers = getattr(config, "n_layers", 1)
    rows = max(len(pairs), 1)
    fig, axes = _figure(min(PAGE, 0.6 + 1.9 * n_layers), 0.5 + 1.7 * rows, rows, n_layers,
                        sharex=True)  # fmt: skip
    step = int(np.asarray(result.steps)[snapshot])
    fig.suptitle(f"{_describe(config)}, each layer's pairs at step {step}")
    if not pairs:
        for ax in axes.flat:
            ax.set_axis_off()
        _note(axes[0, 0], "no layer spectra, no degenerate teacher pair, or too few replicas")
        return fig
    s = np.linspace(0.0, 4.0, 200)
    by_key = {(fit.layer, fit.modes): fit for fit in fits}
    for row, modes in zip(axes, pairs, strict=False):
        for layer, ax in enumerate(row, start=1):
            fit = by_key.get((layer, modes))
            if fit is None:
                _note(ax, "not carried by this layer")
                continue
            values = np.asarray(result.layer_eigenvalues[layer - 1])[:, snapshot, :]
            alive = ~np.asarray(result.failed, bool) & np.all(np.isfinite(values), axis=1)
            spacing = values[alive, fit.values[1]] - values[alive, fit.values[0]]
            _hist(ax, spacing / fit.mean)
            ax.plot(s, analysis.wigner_surmise(s), color="C0", lw=1.0, label="Wigner surmise")
            ax.plot(s, np.exp(-s), color="C3", lw=0.8, ls="--", label="Poisson")
            text = rf"$\langle S\rangle={_pm(fit.mean, fit.mean_err)}$"
            if fit.predicted is not None:
                text += "\n" + rf"free diffusion ${fit.predicted:.4g}$"
            text += "\n" + rf"$P(s<\frac{{1}}{{2}})={fit.small_fraction:.3f}$"
            ax.text(0.97, 0.95, text, transform=ax.transAxes, ha="right", va="top",
                    fontsize=6.5)  # fmt: skip
            ax.set_title(rf"$W_{{{layer}}}$, pair {modes[0]}-{modes[1]}")
            ax.set_xlim(0, 4)
    for ax in axes[-1]:
        ax.set_xlabel(r"$s = S_l / \langle S_l\rangle$")
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$P(s)$")
    axes[0, 0].legend(loc="center right", fontsize=6)
    return fig


__all__ += ["layer_spacing_figure"]  # noqa: PLE0605
