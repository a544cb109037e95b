"""Figures of a recorded time series (autocorrelation_figure, time_series_figure), their
place among the figures of a run, and the points that are not stationary marked in the scan
figures."""

import json

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.colors
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

import dysonlearn as dl
from dysonlearn import cli, plots
from dysonlearn.analysis.summary import time_series_record


def _run(config, replicas, seed):
    return dl.run_ensemble(config, replicas=replicas, seed=seed, backend="serial",
                           progress=False)  # fmt: skip


@pytest.fixture(scope="module")
def recorded_ts():
    """Degenerate teacher (2, 2), recorded every 5 steps after a burn-in: 401 records."""
    config = dl.TeacherStudentConfig(teacher=(2.0, 2.0), noise=0.1, lr=0.05, batch_size=16,
                                     steps=3000, burn_in=1000, record_every=5)  # fmt: skip
    return _run(config, 16, 3)


@pytest.fixture(scope="module")
def recorded_rbm():
    """The article's RBM (N = 10, four degenerate pairs) recorded after its burn-in."""
    config = dl.RBMConfig(lr=0.1, batch_size=16, steps=8000, burn_in=6000, record_every=10)
    return _run(config, 8, 3)


def _steady(lr=0.05):
    """601 records of a stationary degenerate pair (steps 1000..1600)."""
    config = dl.TeacherStudentConfig(teacher=(2.0, 2.0), noise=0.1, lr=lr, batch_size=16,
                                     steps=1600, burn_in=1000, record_every=1)  # fmt: skip
    return _run(config, 16, 21)


@pytest.fixture(scope="module")
def unsteady():
    """601 records from step 0 of a student far from its teacher: the approach is recorded,
    and the thirds differ by ~90 errors (flagged)."""
    config = dl.TeacherStudentConfig(teacher=(2.0, 2.0), noise=0.1, lr=0.01, batch_size=16,
                                     steps=600, record_every=1)  # fmt: skip
    return _run(config, 16, 14)


def _close(fig):
    assert isinstance(fig, Figure)
    plt.close(fig)


def _rings(fig):
    """The red open rings that mark points not stationary, in every axes of fig."""
    red = matplotlib.colors.to_rgba("C3")
    return [line for ax in fig.axes for line in ax.lines
            if line.get_marker() == "o" and line.get_markerfacecolor() == "none"
            and matplotlib.colors.to_rgba(line.get_markeredgecolor()) == red]  # fmt: skip


def _legend_texts(fig):
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


# -- autocorrelation_figure ----------------------------------------------------------------


def test_autocorrelation_figure_of_a_degenerate_pair(recorded_ts):
    series = time_series_record(recorded_ts)
    fig = plots.autocorrelation_figure(recorded_ts, series=series)
    ax, ax_r = fig.axes[:2]
    # Left: x_0, x_1 and the pair's spacing, each measured (markers), fitted and predicted.
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == r"lag $t=\alpha\times$steps"
    assert ax.get_ylabel() == r"autocorrelation $\rho(t)$"
    assert len(ax.lines) == 3 * 3
    measured = [line for line in ax.lines if line.get_linestyle() == "None"]
    predicted = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(measured) == len(predicted) == 3
    # The predicted curves are exp(-c t): c = 1 for the levels, 2 for the spacing.
    rates = sorted(-np.log(line.get_ydata()[-1]) / line.get_xdata()[-1] for line in predicted)
    np.testing.assert_allclose(rates, [1.0, 1.0, 2.0])
    # The measured ACF starts at 1 and its lags are in units of t = lr * record_every.
    np.testing.assert_allclose(measured[0].get_xdata()[:2], [0.0, 0.05 * 5])
    assert measured[0].get_ydata()[0] == pytest.approx(1.0)
    # Right: the measured rates at the predicted ones, for both modes and the spacing.
    assert ax_r.get_xlabel() == "predicted rate (per unit $t$)"
    assert ax_r.get_ylabel() == "measured rate (per unit $t$)"
    points = [line for line in ax_r.lines if line.get_marker() in ("o", "s")]
    xy = sorted((x, y) for line in points for x, y in zip(line.get_xdata(), line.get_ydata()))
    expected = sorted([(m["predicted_rate"], m["rate"]) for m in series["modes"]]
                      + [(s["predicted_rate"], s["rate"]) for s in series["spacings"]])
    np.testing.assert_allclose(xy, expected)
    labels = {t.get_text() for t in ax_r.texts}
    assert {"$x_{0}$", "$x_{1}$", "$S_{01}$"} <= labels
    texts = _legend_texts(fig)
    assert "fitted exponential exp(-rate t)" in texts and "predicted exp(-c t)" in texts
    assert "measured = predicted" in texts
    assert "16 replicas" in fig._suptitle.get_text()
    _close(fig)


def test_autocorrelation_figure_of_an_rbm_shows_a_readable_subset(recorded_rbm):
    fig = plots.autocorrelation_figure(recorded_rbm)
    ax, ax_r = fig.axes[:2]
    # N = 10: the slowest (x_0) and fastest (x_9) modes and the first degenerate pair (1, 2)
    # with its spacing: 5 curves of 3 lines.
    assert len(ax.lines) == 5 * 3
    texts = _legend_texts(fig)
    assert {"$x_{0}$", "$x_{1}$", "$x_{2}$", "$x_{9}$", "$S=x_{2}-x_{1}$"} <= set(texts)
    assert "$x_{5}$" not in texts
    # ... while the right panel has every mode and the four degenerate spacings, on log axes
    # (the predicted rates span a factor 20).
    points = [line for line in ax_r.lines if line.get_marker() in ("o", "s")]
    assert sum(line.get_xdata().size for line in points) == 10 + 4
    assert ax_r.get_xscale() == "log"
    assert any("slowest mode" in t.get_text() for t in ax_r.texts)
    _close(fig)
    # Chosen modes: one curve each (no pair complete, so no spacing).
    fig = plots.autocorrelation_figure(recorded_rbm, modes=[3, 7])
    assert len(fig.axes[0].lines) == 2 * 3
    _close(fig)


@pytest.mark.parametrize("modes", [[10], [1, 1], [], [-1], "x"])
def test_autocorrelation_figure_refuses_bad_modes(recorded_rbm, modes):
    with pytest.raises(ValueError, match=r"modes: must be distinct mode indices in \[0, 9\]"):
        plots.autocorrelation_figure(recorded_rbm, modes=modes)


def test_the_time_series_figures_refuse_a_run_of_snapshots():
    result = _run(dl.TeacherStudentConfig(steps=200, snapshots=3), 4, 1)
    for figure in (plots.autocorrelation_figure, plots.time_series_figure):
        with pytest.raises(ValueError) as caught:
            figure(result)
        message = str(caught.value)
        assert message.startswith(f"result: {figure.__name__} needs a recorded time series")
        assert "record_every = None" in message and "4 snapshots" in message


def test_a_recording_too_short_for_statistics_gets_a_note():
    config = dl.TeacherStudentConfig(steps=20, burn_in=10, record_every=2)  # 6 records
    result = _run(config, 4, 1)
    for figure in (plots.autocorrelation_figure, plots.time_series_figure):
        fig = figure(result)
        notes = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert any("the time-series statistics need at least 12" in t for t in notes)
        _close(fig)


# -- time_series_figure ----------------------------------------------------------------------


def test_time_series_figure_of_a_stationary_recording(recorded_rbm):
    series = time_series_record(recorded_rbm)
    fig = plots.time_series_figure(recorded_rbm, series=series)
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == 10  # one per mode (two of the 4 x 3 slots empty)
    for m, ax in enumerate(panels):
        # the block means, and per third its mean (line) and its error (band)
        mean_line = [line for line in ax.lines if line.get_color() == "C0"]
        assert len(mean_line) == 1
        assert len([line for line in ax.lines if line.get_color() == "C1"]) == 2
        assert len(ax.collections) == 2
        z = series["modes"][m]["stationarity_z"]
        assert ax.texts[0].get_text() == rf"$x_{{{m}}}$: $z={z:.2f}$"
    # the thirds are the first and last 67 of the 201 records, steps 6000-6660, 7340-8000
    spans = [(p.get_x(), p.get_x() + p.get_width()) for p in panels[0].patches]
    assert spans == [(6000, 6660), (7340, 8000)]
    assert panels[-1].get_xlabel() == "training step"
    assert "not stationary" not in fig._suptitle.get_text()
    _close(fig)


def test_time_series_figure_marks_a_recording_that_is_not_stationary(unsteady):
    fig = plots.time_series_figure(unsteady)
    assert "not stationary: |z| > 3 for x_0, x_1" in fig._suptitle.get_text()
    for ax in fig.axes[:2]:
        assert "not stationary" in ax.texts[0].get_text()
        assert ax.texts[0].get_color() == "C3"
        assert matplotlib.colors.to_rgba(ax.spines["left"].get_edgecolor()) == \
            matplotlib.colors.to_rgba("C3")
    # the mean over replicas is drawn in blocks of 2 records (601 > 300 points)
    assert "mean over replicas, blocks of 2 records" in _legend_texts(fig)
    _close(fig)


# -- not stationary in the scan figures ------------------------------------------------------


def test_a_point_that_is_not_stationary_is_ringed_in_the_scan_figures(unsteady):
    steady = _steady()
    scan = [steady, unsteady]
    # scaling: one ring per panel of pairs (the scaling variable twice, then <S> against
    # sqrt(pi) sigma) at the flagged point alone
    fig = plots.scaling_figure(scan, None)
    rings = _rings(fig)
    assert len(rings) == 3 and all(r.get_xdata().size == 1 for r in rings)
    assert "not stationary" in _legend_texts(fig)
    _close(fig)
    fig = plots.lambda_ratio_figure(scan, None)
    assert [r.get_xdata().size for r in _rings(fig)] == [1]
    assert "not stationary" in _legend_texts(fig)
    _close(fig)
    fig = plots.teacher_student_scaling(scan, None)
    assert len(_rings(fig)) == 2  # the point and its ratio to the prediction
    assert "not stationary" in _legend_texts(fig)
    _close(fig)
    # what the summary says decides (flagged given), and a steady scan has no ring
    fig = plots.scaling_figure(scan, None, flagged=[False, False])
    assert not _rings(fig) and "not stationary" not in _legend_texts(fig)
    _close(fig)
    fig = plots.teacher_student_scaling([steady, _steady(0.1)], None)
    assert not _rings(fig)
    _close(fig)


def test_save_figures_rings_the_flagged_point_of_a_recorded_scan(unsteady, tmp_path):
    scan = [_steady(), unsteady]
    written = plots.save_figures(scan, tmp_path, snapshots=600)
    names = sorted(path.stem for path in written)
    for stem in ("00_lr0.05_B16_A0.1", "01_lr0.01_B16_A0.1"):
        assert f"autocorrelation_{stem}" in names and f"time_series_{stem}" in names
    assert {"scaling", "lambda_ratio", "teacher_student_scaling"} <= set(names)
    # The rings of save_figures come from the summary's stationarity; the figures' own test
    # (without a summary) decides alike.
    summary = dl.analysis.summarize(scan, 600)
    flags = [bool(point["stationarity"]["flagged_modes"]) for point in summary["points"]]
    assert flags == [plots._not_stationary(result, 600) for result in scan] == [False, True]


# -- dysonlearn run ---------------------------------------------------------------------------

TOML = """\
[model]
kind = "teacher_student"
teacher = [2.0, 2.0]
[train]
lr = 0.05
batch_size = 16
noise = 0.1
steps = {steps}
{recording}
[ensemble]
replicas = 8
seed = 3
"""
SNAPSHOT_FIGURES = {"histograms", "spacings", "trajectories", "scaling", "lambda_ratio",
                    "teacher_student_scaling"}


def _cli_run(tmp_path, name, recording, steps=2000):
    toml = tmp_path / f"{name}.toml"
    toml.write_text(TOML.format(steps=steps, recording=recording), encoding="utf-8")
    out = tmp_path / name
    assert cli.main(["run", str(toml), "-o", str(out), "--backend", "serial", "-q"]) == 0
    return out, {path.stem for path in out.glob("*.png")}


def test_dysonlearn_run_writes_the_time_series_figures_of_a_recording(tmp_path):
    out, figures = _cli_run(tmp_path, "recorded", "burn_in = 1000\nrecord_every = 10")
    assert figures == SNAPSHOT_FIGURES | {"autocorrelation", "time_series"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["points"][0]["time_series"]["records"] == 101
    # ... and a run of snapshots keeps exactly its figures and their names
    _, figures = _cli_run(tmp_path, "snapshots", "snapshots = 4")
    assert figures == SNAPSHOT_FIGURES
