"""Figures of dysonlearn.plots on small real ensembles: each builds, and save_figures writes."""

import dataclasses

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.image
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

import dysonlearn as dl
from dysonlearn import plots


@pytest.fixture(scope="module")
def rbm():
    """Reference RBM, short: 64 replicas, four snapshots after step 0."""
    cfg = dl.RBMConfig(steps=2000, snapshots=4)
    return dl.run_ensemble(cfg, replicas=64, seed=1, progress=False, backend="serial")


@pytest.fixture(scope="module")
def rbm_with_failures(rbm):
    """The same ensemble with three replicas marked diverged (NaN after step 1000)."""
    eigs = rbm.eigenvalues.copy()
    failed = rbm.failed.copy()
    fail_step = rbm.fail_step.copy()
    eigs[:3, 3:, :] = np.nan
    failed[:3] = True
    fail_step[:3] = 1200
    return dataclasses.replace(rbm, eigenvalues=eigs, failed=failed, fail_step=fail_step)


@pytest.fixture(scope="module")
def ts_scan():
    """Teacher-student scan over lr, degenerate teacher kappa = (2, 2)."""
    return [
        dl.run_ensemble(
            dl.TeacherStudentConfig(noise=0.1, lr=lr, steps=1500, snapshots=3),
            replicas=128,
            seed=2,
            progress=False,
            backend="serial",
        )
        for lr in (0.1, 0.2, 0.4)
    ]


@pytest.fixture(scope="module")
def ts_nondegenerate():
    cfg = dl.TeacherStudentConfig(teacher=(1.0, 2.0), noise=0.1, steps=1500, snapshots=3)
    return dl.run_ensemble(cfg, replicas=64, seed=3, progress=False, backend="serial")


def built(fig):
    """Check that fig is a drawn Figure with visible axes, then close it."""
    assert isinstance(fig, Figure)
    assert any(ax.get_visible() and ax.axison for ax in fig.axes)
    plt.close(fig)


def test_target_spectrum_marks_degeneracies():
    target = dl.targets.free_scalar(n=10, m=2.0)
    fig = plots.target_spectrum(target, mu=3.0)
    texts = [t.get_text() for t in fig.axes[0].texts]
    # 4, 4.382 (x2), 5.382 (x2), 6.618 (x2), 7.618 (x2), 8 :eq:`free-scalar-target` and their x*
    # :eq:`rbm-kernel`.
    assert sum("times2" in t for t in texts) == 8
    assert any(t.startswith("4.382") for t in texts) and any(t.startswith("1.382") for t in texts)
    built(fig)
    built(plots.target_spectrum(target))


def test_learnt_histograms(rbm, rbm_with_failures):
    fig = plots.learnt_histograms(rbm)
    # one dashed line per distinct stationary level x*
    assert len(fig.axes[0].lines) == np.unique(rbm.config.stationary_levels).size
    built(fig)
    built(plots.learnt_histograms(rbm_with_failures, snapshot=-1))
    built(plots.learnt_histograms(rbm, snapshot=0))


def test_spacing_figure_has_a_row_per_pair(rbm, rbm_with_failures):
    fig = plots.spacing_figure(rbm, snapshots=2)
    # 4 degenerate pairs (3 panels each) and 2 non-degenerate levels, one empty slot
    assert len(fig.axes) == 5 * 3
    assert sum(ax.axison for ax in fig.axes) == 4 * 3 + 2
    built(fig)
    built(plots.spacing_figure(rbm_with_failures))


def test_spacing_figure_without_pairs(ts_nondegenerate):
    fig = plots.spacing_figure(ts_nondegenerate)
    assert sum(ax.axison for ax in fig.axes) == 2  # two Gaussian levels, no pair rows
    built(fig)


def test_scaling_and_lambda_figures(rbm, ts_scan):
    table = dl.analysis.scaling_table(ts_scan)
    built(plots.scaling_figure(ts_scan, table=table))
    built(plots.lambda_ratio_figure(ts_scan, table=table))
    built(plots.scaling_figure(rbm))  # one point: its four pairs still make a line
    built(plots.lambda_ratio_figure(rbm))


def test_scaling_figure_without_pairs(ts_nondegenerate):
    fig = plots.scaling_figure(ts_nondegenerate)
    assert any("no degenerate pairs" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_teacher_student_scaling(ts_scan, ts_nondegenerate, rbm):
    fig = plots.teacher_student_scaling(ts_scan)
    assert len(fig.axes) == 2
    built(fig)
    # only non-degenerate or non-teacher-student results: a note, no error
    fig = plots.teacher_student_scaling([ts_nondegenerate, rbm])
    assert any("no degenerate" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_marchenko_pastur_figure(rbm, rbm_with_failures, ts_scan):
    built(plots.marchenko_pastur_figure(rbm))
    built(plots.marchenko_pastur_figure(rbm_with_failures))
    with pytest.raises(TypeError, match="RBMConfig"):
        plots.marchenko_pastur_figure(ts_scan[0])


def test_marchenko_pastur_figure_more_visible_than_hidden():
    cfg = dl.RBMConfig(n_visible=10, n_hidden=6, steps=10, snapshots=1)
    result = dl.run_ensemble(cfg, replicas=32, seed=4, progress=False, backend="serial")
    built(plots.marchenko_pastur_figure(result))


def test_trajectories_figure(rbm, rbm_with_failures, ts_scan):
    built(plots.trajectories_figure(rbm, replicas=5))
    built(plots.trajectories_figure(rbm_with_failures))
    built(plots.trajectories_figure(ts_scan[0]))


def test_fokker_planck_figure():
    fp = pytest.importorskip("dysonlearn.analysis.fokker_planck")
    mode = fp.FokkerPlanckMode.from_training(8.0, 3.0, 0.1, 16)
    fig = plots.fokker_planck_figure(8.0, 3.0, mode.D)
    assert len(fig.axes) == 3
    built(fig)


def check_png(path):
    assert path.suffix == ".png" and path.stat().st_size > 10_000
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200


def test_save_figures_single_rbm(rbm_with_failures, tmp_path):
    paths = plots.save_figures(rbm_with_failures, tmp_path / "figures")
    names = {p.stem for p in paths}
    expected = {"histograms", "spacings", "trajectories", "marchenko_pastur", "target_spectrum"}
    expected |= {"scaling", "lambda_ratio"}
    assert expected <= names
    assert names - expected <= {"fokker_planck"}
    assert len(paths) == len(names)
    for path in paths:
        check_png(path)


def test_save_figures_scan(ts_scan, tmp_path):
    paths = plots.save_figures(ts_scan, tmp_path)
    names = {p.name for p in paths}
    assert "histograms_00_lr0.1_B16_A0.1.png" in names
    assert "spacings_02_lr0.4_B16_A0.1.png" in names
    assert {"scaling.png", "lambda_ratio.png", "teacher_student_scaling.png"} <= names
    assert not any(n.startswith(("marchenko_pastur", "target_spectrum")) for n in names)
    assert len(paths) == 3 * 3 + 3
    for path in paths:
        check_png(path)


def test_legends_are_words_without_equation_tags(rbm):
    fig = plots.spacing_figure(rbm, snapshots=2)
    texts = [t.get_text() for ax in fig.axes if ax.get_legend()
             for t in ax.get_legend().get_texts()]  # fmt: skip
    assert "Wigner surmise" in texts and "two-level\nsemicircle fit" in texts
    assert "Gaussian fit" in texts
    assert not any("[A." in t or "[B." in t or "[C." in t for t in texts)
    plt.close(fig)
    fig = plots.scaling_figure(rbm)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert r"prediction $\sqrt{2\pi}$" in legend
    plt.close(fig)


def test_lambda_ratio_axis_follows_what_the_scan_varies(ts_scan):
    noise_scan = [
        dl.run_ensemble(dl.TeacherStudentConfig(noise=a, steps=1500, snapshots=3), replicas=64,
                        seed=7, progress=False, backend="serial")
        for a in (0.05, 0.1)
    ]  # fmt: skip
    fig = plots.lambda_ratio_figure(noise_scan)
    assert fig.axes[0].get_xlabel() == r"$\alpha A^2/B$"
    x = sorted({round(float(v), 12) for line in fig.axes[0].containers
                for v in line.lines[0].get_xdata()})  # fmt: skip
    assert x == pytest.approx([0.1 * a**2 / 16 for a in (0.05, 0.1)])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(label.startswith("fit $1+c") for label in labels)
    plt.close(fig)
    fig = plots.lambda_ratio_figure(ts_scan)  # a scan of alpha: the article's alpha / B
    assert fig.axes[0].get_xlabel() == r"$\alpha/B$"
    plt.close(fig)


def test_sparse_trajectories_are_not_joined_and_far_levels_get_panels():
    cfg = dl.DysonConfig(kappa=(1.0, 1.0, 6.0, 6.0), noise=0.1, steps=3000, snapshots=5)
    res = dl.run_ensemble(cfg, replicas=64, seed=8, progress=False, backend="serial")
    fig = plots.trajectories_figure(res)
    assert len(fig.axes) == 2  # levels at 1 and 6, width ~0.01: one panel each
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_linestyle() != "--":  # the dashed x* are the only lines
                assert line.get_linestyle() == "None"
    assert any("not joined" in t.get_text() for t in fig.legends[0].get_texts())
    plt.close(fig)
    fig = plots.learnt_histograms(res)
    assert len(fig.axes) == 2
    plt.close(fig)


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
def test_save_figures_formats_and_their_tag(ts_nondegenerate, tmp_path, fmt):
    from dysonlearn.scan import _figure_software

    paths = plots.save_figures(ts_nondegenerate, tmp_path, format=fmt, dpi=50)
    assert paths and all(p.suffix == f".{fmt}" for p in paths)
    assert all(_figure_software(p).startswith("dysonlearn") for p in paths)


def test_save_figures_refuses_bad_options(ts_nondegenerate, tmp_path):
    with pytest.raises(dl.ConfigError, match="format: must be one of"):
        plots.save_figures(ts_nondegenerate, tmp_path, format="gif")
    with pytest.raises(dl.ConfigError, match="dpi: must be an integer"):
        plots.save_figures(ts_nondegenerate, tmp_path, dpi=5)
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def rbm_many_levels():
    """An RBM with 60 levels (29 degenerate pairs, 2 single levels): a few short replicas."""
    cfg = dl.RBMConfig(n_visible=60, n_hidden=60, init="mp_geometric", lr=0.05,
                       steps=40, snapshots=2)  # fmt: skip
    return dl.run_ensemble(cfg, replicas=6, seed=4, progress=False, backend="serial")


def test_per_level_figures_show_a_selection_of_many_levels(rbm_many_levels):
    # 29 pairs and 2 single levels would need 30 rows; at most 8 are drawn (4 pairs, then
    # the single levels), and the title says what is shown.
    fig = plots.spacing_figure(rbm_many_levels)
    assert len(fig.axes) <= plots._MAX_SPACING_ROWS * 3
    assert "4 of 29 pairs and 2 of 2 single levels shown" in fig._suptitle.get_text()
    built(fig)
    fig = plots.trajectories_figure(rbm_many_levels)
    assert "of 60 modes shown" in fig._suptitle.get_text()
    built(fig)
    # One colour and legend entry per level up to 10; beyond, one series for all.
    fig = plots.scaling_figure([rbm_many_levels])
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "29 levels" in labels and len(labels) <= 4
    built(fig)
    fig = plots.lambda_ratio_figure([rbm_many_levels])
    assert "10 of 31 levels" in fig.axes[0].get_title()
    built(fig)
    built(plots.target_spectrum(rbm_many_levels.config.target, mu=3.0))
