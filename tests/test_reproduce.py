"""The article's presets: embedded TOML files that `reproduce` runs and `config show` prints.

The reference below is the code that built the presets before they became TOML files (kept
here verbatim, so that the files are checked against what `reproduce` ran before the move).
"""

import math

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import reproduce
from dysonlearn.config import RBMConfig, TeacherStudentConfig
from dysonlearn.experiment import Experiment, embedded_experiment_path, load_experiment
from dysonlearn.scan import point_specs

# -- the builders of reproduce.py before the presets became TOML files -----------------------
RBM_LRS = (0.01, 0.02, 0.04, 0.06, 0.08, 0.1)
RBM_BATCHES = (4, 8, 16, 32, 64)
TS_LRS = (0.1, 0.2, 0.3, 0.4, 0.5)
TS_BATCHES = (4, 8, 16, 32, 64)
TS_NOISES = (0.05, 0.075, 0.1)
SEED = 20250115

_SCALES = {
    # name: (rbm replicas, rbm steps(lr) or None for 600 / lr, ts replicas, ts steps)
    "smoke": (24, lambda lr: 1000, 200, 1000),
    "small": (1000, lambda lr: round(600 / lr), 3000, 5000),
    "paper": (7500, lambda lr: 100_000, 3000, 5000),
}


def _late_snapshots(steps: int) -> tuple[int, ...]:
    """Five snapshots in the last 40 per cent of training (plus step 0)."""
    return tuple(round(steps * f) for f in (0.6, 0.7, 0.8, 0.9, 1.0))


def rbm_experiment(scale: str) -> Experiment:
    replicas, steps_for, _, _ = _SCALES[scale]
    settings = [(lr, 16) for lr in RBM_LRS] + [(0.1, b) for b in RBM_BATCHES if b != 16]
    points = []
    for lr, batch in settings:
        steps = steps_for(lr)
        points.append(RBMConfig(lr=lr, batch_size=batch, steps=steps,
                                snapshots=_late_snapshots(steps)))  # fmt: skip
    scan = {"lr": list(RBM_LRS), "batch_size": list(RBM_BATCHES)}
    return Experiment(tuple(points), scan, replicas, SEED, "SFC64", {"reproduce": "rbm"})


def teacher_student_experiment(scale: str) -> Experiment:
    _, _, replicas, steps = _SCALES[scale]
    settings = [(lr, 16, 0.1) for lr in TS_LRS]
    settings += [(0.1, b, 0.1) for b in TS_BATCHES if b != 16]
    settings += [(0.1, 16, a) for a in TS_NOISES if a != 0.1]
    points = tuple(
        TeacherStudentConfig(
            teacher=(2.0, 2.0),
            noise=a,
            lr=lr,
            batch_size=b,
            steps=steps,
            snapshots=_late_snapshots(steps),
        )
        for lr, b, a in settings
    )
    scan = {"lr": list(TS_LRS), "batch_size": list(TS_BATCHES), "noise": list(TS_NOISES)}
    return Experiment(points, scan, replicas, SEED, "SFC64", {"reproduce": "teacher_student"})


REFERENCE = {"rbm": rbm_experiment, "teacher_student": teacher_student_experiment}
# ---------------------------------------------------------------------------------------------

CASES = [(name, scale) for name in REFERENCE for scale in ("smoke", "small", "paper")]


def _manifest(experiment: Experiment) -> list[dict]:
    """What a store records of each point (and a resume must match), plus its scan values."""
    return [{**spec.run_record(), "params": dict(spec.params)}
            for spec in point_specs(experiment, experiment.seed)]  # fmt: skip


@pytest.mark.parametrize(("name", "scale"), CASES)
def test_the_embedded_presets_are_the_experiments_reproduce_ran_before(name, scale):
    expected = REFERENCE[name](scale)
    [(found_name, found)] = reproduce.article_experiments(name, scale)
    assert found_name == name
    assert found.points == expected.points
    assert found.scan == expected.scan
    assert (found.replicas, found.seed, found.bit_generator) == (
        expected.replicas, expected.seed, expected.bit_generator)  # fmt: skip
    assert _manifest(found) == _manifest(expected)


@pytest.mark.parametrize(("name", "scale"), CASES)
def test_reproduce_runs_exactly_the_file_config_show_prints(name, scale):
    [(_, experiment)] = reproduce.article_experiments(name, scale)
    from_file = load_experiment(embedded_experiment_path(f"{name}-{scale}"))
    assert _manifest(from_file) == _manifest(experiment)


def test_all_is_both_experiments_and_the_dashed_name_is_an_alias():
    names = [name for name, _ in reproduce.article_experiments("all", "smoke")]
    assert names == ["rbm", "teacher_student"]
    [(name, _)] = reproduce.article_experiments("teacher-student", "smoke")
    assert name == "teacher_student"


@pytest.mark.parametrize(("which", "scale", "field"), [("rbms", "small", "which"),
                                                       ("rbm", "huge", "scale")])  # fmt: skip
def test_unknown_experiment_or_scale_names_the_choices(which, scale, field):
    with pytest.raises(dl.ConfigError, match=f"{field}: must be one of"):
        reproduce.article_experiments(which, scale)


# -- reproduce optimizers ----------------------------------------------------------------------

OPTIMIZER_PRESETS = [(name, scale) for name in reproduce.OPTIMIZER_EXPERIMENTS
                     for scale in reproduce.GROUP_SCALES["optimizers"]]  # fmt: skip


@pytest.mark.parametrize(("name", "scale"), OPTIMIZER_PRESETS)
def test_the_optimizer_presets_load_validate_and_scan_a_grid_of_lr_and_b(name, scale):
    experiment = load_experiment(embedded_experiment_path(f"{name}-{scale}"))
    kinds = {p.optimizer.kind for p in experiment.points}
    assert kinds == {name.split("_")[-1]}
    rbm = "_rbm_" in name
    assert {p.kind for p in experiment.points} == {"rbm" if rbm else "teacher_student"}
    if rbm:
        # one degenerate pair, (8, 10, 10, 12): the spacing of the pair is pure fluctuation
        for point in experiment.points:
            np.testing.assert_allclose(point.stationary_levels, [8.0, 10.0, 10.0, 12.0])
    else:
        assert {(p.noise, p.teacher) for p in experiment.points} == {(0.1, (2.0, 2.0))}
    # a product of three lr and three B (per momentum beta): a and b are separable
    assert len({p.lr for p in experiment.points}) == 3
    assert {p.batch_size for p in experiment.points} == {4, 16, 64}
    betas = {getattr(p.optimizer, "beta", None) for p in experiment.points}
    expected = {None}
    if name == "optimizers_momentum":
        expected = {0.5, 0.9}
    elif name == "optimizers_rbm_momentum":
        expected = {0.9}
    assert betas == expected
    assert len(experiment.points) == 9 * len(betas)


def test_the_predicted_power_law_is_the_small_lr_width_of_each_model():
    """c = slope sqrt(q) of the pair, worked out by hand: the teacher-student model's
    <S> = sqrt(pi lr A^2 / B) and the RBM's sqrt(2 pi) sqrt(lr x* / B), x* = mu^2 - kappa,
    each with lr -> lr / (1 - beta) under momentum; no closed form for Adam."""
    ts = dl.TeacherStudentConfig(teacher=(2.0, 2.0), noise=0.1)
    assert reproduce.predicted_power_law(ts) == pytest.approx(
        {"a": 0.5, "b": 0.5, "c": math.sqrt(math.pi) * 0.1})
    momentum = ts.replace(optimizer=dl.Momentum(beta=0.75))
    assert reproduce.predicted_power_law(momentum)["c"] == pytest.approx(
        math.sqrt(math.pi) * 0.1 * 2)
    assert reproduce.predicted_power_law(ts.replace(optimizer=dl.Adam())) is None
    rbm = dl.RBMConfig(n_visible=4, n_hidden=4, mu=4.0,
                       target=dl.targets.free_scalar(n=4, m=2.0))  # fmt: skip
    # kappa = m^2 + 4 sin^2(pi k / 4) = 6 for k = 1, 3: x* = 16 - 6 = 10
    assert reproduce.predicted_power_law(rbm)["c"] == pytest.approx(math.sqrt(2 * math.pi * 10))
    # no degenerate pair: nothing to predict
    assert reproduce.predicted_power_law(ts.replace(teacher=(1.0, 2.0))) is None


def test_optimizers_runs_its_three_presets_and_has_no_paper_scale():
    names = [name for name, _ in reproduce.article_experiments("optimizers", "small")]
    assert names == list(reproduce.OPTIMIZER_EXPERIMENTS)
    with pytest.raises(dl.ConfigError, match="scale: the optimizers experiment has the scales"):
        reproduce.article_experiments("optimizers", "paper")


def test_reproduce_optimizers_smoke_writes_the_figure_and_the_exponents(tmp_path, capsys):
    # The smoke presets themselves (about 30 s serial): 200 teacher-student replicas x 1000
    # steps and 64 RBM replicas x 1500 steps per setting.
    import json
    import math

    from dysonlearn import cli

    out = tmp_path / "out"
    assert cli.main(["reproduce", "optimizers", "--scale", "smoke", "--backend", "serial",
                     "-o", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "| model | optimiser | a | b | a - b |" in printed
    assert "| teacher-student | Adam |" in printed and "| RBM | Adam |" in printed
    assert (out / "optimizer_scaling.png").stat().st_size > 10_000
    for name in reproduce.OPTIMIZER_EXPERIMENTS:
        assert (out / name / "results.h5").exists()
    md = (out / "reproduce.md").read_text(encoding="utf-8")
    assert "no closed form; the data speak" in md and "a = b = 1/2" in md
    groups = json.loads((out / "reproduce.json").read_text())["optimizers"]["groups"]
    assert [(g["model"], g["label"]) for g in groups] == [
        ("teacher-student", "SGD"), ("teacher-student", "momentum, beta = 0.5"),
        ("teacher-student", "momentum, beta = 0.9"), ("teacher-student", "Adam"),
        ("RBM", "SGD"), ("RBM", "momentum, beta = 0.9"), ("RBM", "Adam")]
    for group in groups:
        fit = group["fit"]
        for key in ("a", "a_err", "b", "b_err", "a_minus_b", "a_minus_b_err", "c"):
            assert math.isfinite(fit[key]) and fit["a_err"] > 0, (group["label"], key)
    # SGD: <S> = sqrt(pi lr A^2 / B) f(lr), f = 1 / sqrt(1 - lr / 2), so a = 1/2 up to the
    # finite-lr factor, which over lr = 0.02 .. 0.08 raises a by log(f(0.08) / f(0.02)) /
    # log 4 = 0.011, below half the smoke scale's error (a_err ~ 0.016, b_err ~ 0.006 from
    # 200 replicas x 3 snapshots); the jackknife errors are themselves uncertain by ~13%
    # (32 blocks), so 4 errors is a test that fails by chance well under once in 10^3 runs
    # while a bias of 4 errors (0.06 in a) would be caught.
    [sgd] = [g["fit"] for g in groups if g["label"] == "SGD" and g["model"] == "teacher-student"]
    assert abs(sgd["a"] - 0.5) < 4 * sgd["a_err"]
    assert abs(sgd["b"] - 0.5) < 4 * sgd["b_err"]


def test_the_optimizer_figure_refuses_empty_input():
    from dysonlearn.plots import optimizer_scaling_figure

    with pytest.raises(ValueError, match="groups: need at least one"):
        optimizer_scaling_figure([])


# -- reproduce --mode timeseries ---------------------------------------------------------------

TIMESERIES_CASES = [(name, scale) for name in reproduce.EXPERIMENTS for scale in reproduce.SCALES]


@pytest.mark.parametrize(("name", "scale"), TIMESERIES_CASES)
def test_the_timeseries_presets_record_the_points_of_the_snapshot_presets(name, scale):
    [(_, series)] = reproduce.article_experiments(name, scale, "timeseries")
    [(_, snaps)] = reproduce.article_experiments(name, scale)
    assert reproduce.preset_name(name, scale, "timeseries") == f"{name}-{scale}-timeseries"
    from_file = load_experiment(embedded_experiment_path(f"{name}-{scale}-timeseries"))
    assert _manifest(from_file) == _manifest(series)
    assert all(p.is_time_series for p in series.points)
    # the same settings, fewer replicas, every record pooled (no step 0: burn_in > 0)
    def settings(points):
        return [(p.kind, p.lr, p.batch_size, getattr(p, "noise", None)) for p in points]

    assert settings(series.points) == settings(snaps.points)
    assert series.replicas < snaps.replicas and series.seed == snaps.seed
    assert series.pool_last == min(p.n_snapshots for p in series.points) > 1
    for ts, snap in zip(series.points, snaps.points):
        assert ts.burn_in > 0
        if scale != "smoke":
            # burnt in at least as long as the snapshot preset trains before its first
            # pooled snapshot (where it is stationary)
            assert ts.burn_in >= snap.snapshots[-3]


def test_a_bad_mode_and_a_mode_the_group_lacks_name_the_choices():
    with pytest.raises(dl.ConfigError, match="mode: must be one of snapshots, timeseries, got 'x'"):
        reproduce.article_experiments("rbm", "smoke", "x")
    with pytest.raises(dl.ConfigError, match="mode: the optimizers experiment has the modes "
                                             "snapshots, got 'timeseries'"):  # fmt: skip
        reproduce.article_experiments("optimizers", "smoke", "timeseries")


def test_reproduce_timeseries_smoke_runs_both_and_says_its_mode(tmp_path, capsys):
    # Both smoke presets end to end, serial (about 15 s): 10 x 8 RBM replicas x 1000 steps
    # and 11 x 20 teacher-student replicas x 1500 steps, recorded after a burn-in.
    import json

    from dysonlearn import cli

    out = tmp_path / "out"
    assert cli.main(["reproduce", "all", "--scale", "smoke", "--mode", "timeseries",
                     "--backend", "serial", "-o", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert printed.startswith("Mode: timeseries\n")
    assert "| slope of <S> against sqrt(alpha A^2 / B) |" in printed
    data = json.loads((out / "reproduce.json").read_text())
    assert data["mode"] == "timeseries"
    md = (out / "reproduce.md").read_text(encoding="utf-8")
    assert "\nMode: timeseries (fewer replicas" in md
    assert "## rbm (10 settings, 8 replicas each, mode timeseries: 21 records per replica " \
           "pooled, one every 20 steps after a burn-in of 600 steps)" in md
    assert "## teacher_student (11 settings, 20 replicas each, mode timeseries: 201 records" in md
    for name in reproduce.EXPERIMENTS:
        found = data[name]
        assert found["mode"] == "timeseries" and found["pool_last"] == (21 if name == "rbm"
                                                                         else 201)  # fmt: skip
        # the numbers (and errors) are those of the experiment's own summary: jackknife over
        # replicas of every record
        summary = json.loads((out / name / "summary.json").read_text())
        assert summary["pool_last"] == found["pool_last"]
        for key in ("spacing_slope", "width_slope", "spacing_vs_width"):
            assert summary["scaling"][key] == found[key]
        assert all("time_series" in p for p in summary["points"])


def test_the_mode_of_a_scan_is_read_from_its_configurations():
    class Fake:  # a stand-in for results: the mode is read from the configurations
        def __init__(self, series):
            self.config = dl.TeacherStudentConfig(steps=100, burn_in=50, record_every=10) \
                if series else dl.TeacherStudentConfig(steps=100, snapshots=2)  # fmt: skip

    assert reproduce.results_mode([Fake(True), Fake(True)]) == "timeseries"
    assert reproduce.results_mode([Fake(True), Fake(False)]) == "snapshots"
    assert reproduce.results_mode([Fake(False)]) == "snapshots"


def test_config_show_of_the_optimizers_group_prints_each_of_its_files(capsys):
    from dysonlearn import cli

    assert cli.main(["config", "show", "optimizers-smoke"]) == 0
    printed = capsys.readouterr().out
    for name in reproduce.OPTIMIZER_EXPERIMENTS:
        text = embedded_experiment_path(f"{name}-smoke").read_text(encoding="utf-8")
        assert f"# ==== {name}-smoke ====\n{text}" in printed
    assert cli.main(["config", "show", "optimizers"]) == 0  # the small scale by default
    assert "# ==== optimizers_rbm_adam-small ====" in capsys.readouterr().out
    assert cli.main(["config", "show", "optimizers-paper"]) == 2
    assert "the optimizers experiment has the scales smoke, small" in capsys.readouterr().err


# -- reproduce large-n -------------------------------------------------------------------------

LARGE_N_PRESETS = [(name, scale) for name in reproduce.LARGE_N_EXPERIMENTS
                   for scale in reproduce.GROUP_SCALES["large_n"]]  # fmt: skip


@pytest.mark.parametrize(("name", "scale"), LARGE_N_PRESETS)
def test_the_large_n_presets_load_and_use_large_layers(name, scale):
    experiment = load_experiment(embedded_experiment_path(f"{name}-{scale}"))
    [point] = experiment.points
    # The RBM's sampler is "auto": collapsed at N_v = 100, B = 64 (measured the fastest);
    # the one-step initial spectra name the explicit sweeps (nothing to collapse).
    assert point.kind == "rbm"
    assert point.sampler == ("collapsed" if name == "large_n_rbm" else "gibbs")
    if name == "large_n_rbm":
        # A dense, non-degenerate target: 100 levels x* = 9 - kappa evenly 0.04 apart.
        assert (point.n_visible, point.n_hidden) == (100, 150)
        levels = point.stationary_levels
        np.testing.assert_allclose(np.diff(levels), 0.04, atol=1e-12)
        assert levels[0] == pytest.approx(3.02) and levels[-1] == pytest.approx(6.98)
        assert experiment.pool_last == 3 and point.snapshot_steps[-1] == point.steps
    else:
        # Only the initial spectrum is tested: one step, N_v = 1000.
        assert point.n_visible == 1000 and point.steps == 1
        assert point.n_hidden == (2000 if name.endswith("wide") else 1000)


def test_large_n_runs_its_three_presets_under_either_spelling():
    names = [name for name, _ in reproduce.article_experiments("large-n", "smoke")]
    assert names == list(reproduce.LARGE_N_EXPERIMENTS)
    assert reproduce.group_presets("large-n") == reproduce.group_presets("large_n-small")
    with pytest.raises(dl.ConfigError, match="scale: the large_n experiment has the scales"):
        reproduce.article_experiments("large_n", "paper")
    with pytest.raises(dl.ConfigError, match="mode: the large_n experiment has the modes"):
        reproduce.article_experiments("large-n", "smoke", "timeseries")


def test_reproduce_large_n_smoke_writes_the_statistics_and_the_figure(tmp_path, capsys):
    # The smoke presets themselves, serial (about 15-20 s): 4 RBM replicas (N_v = 100) of
    # 300 steps, one initial spectrum each at N_v = 1000, N_h = 1000 and 2000.
    import json

    from dysonlearn import cli

    out = tmp_path / "out"
    assert cli.main(["reproduce", "large-n", "--scale", "smoke", "--backend", "serial",
                     "-o", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "| mean gap ratio <r> (N_v = 100, N_h = 150) |" in printed
    assert "| Marchenko-Pastur KS p, step 0 (N_v = 1000, N_h = 2000, c = 0.5) |" in printed
    assert (out / "large_n.png").stat().st_size > 10_000
    for name in reproduce.LARGE_N_EXPERIMENTS:
        assert (out / name / "results.h5").exists() and (out / name / "summary.json").exists()
        assert not list((out / name).glob("*.png"))  # summaries only: no per-level figures
    found = json.loads((out / "reproduce.json").read_text())["large_n"]
    [bulk] = found["bulk"]
    assert bulk["n_levels"] == 100 and bulk["bulk"] == [25, 75] and bulk["failed"] == 0
    assert 0 < bulk["gap_ratio_err"] < 0.05 and 0.3 < bulk["gap_ratio"] < 0.7
    assert found["goe_gap_ratio"] == 0.5307
    tests = {(m["n_visible"], m["n_hidden"]): m for m in found["marchenko_pastur"]}
    assert set(tests) == {(100, 150), (1000, 1000), (1000, 2000)}
    assert tests[(1000, 2000)]["ratio"] == 0.5 and tests[(1000, 1000)]["n_levels"] == 1000
    # Initial spectra are Marchenko-Pastur: a repelling spectrum passes by a wide margin.
    assert all(m["pvalue"] > 0.01 for m in found["marchenko_pastur"])
    assert found["figure"] == "large_n.png"


def test_config_show_of_the_large_n_group_prints_each_of_its_files(capsys):
    from dysonlearn import cli

    assert cli.main(["config", "show", "large-n-smoke"]) == 0
    printed = capsys.readouterr().out
    for name in reproduce.LARGE_N_EXPERIMENTS:
        text = embedded_experiment_path(f"{name}-smoke").read_text(encoding="utf-8")
        assert f"# ==== {name}-smoke ====\n{text}" in printed
    assert cli.main(["config", "show", "large_n"]) == 0  # the small scale by default
    assert "# ==== large_n_mp_wide-small ====" in capsys.readouterr().out


# -- reproduce deep-linear ---------------------------------------------------------------------

DEEP_LINEAR_PRESETS = [(name, scale) for name in reproduce.DEEP_LINEAR_EXPERIMENTS
                       for scale in reproduce.GROUP_SCALES["deep_linear"]]  # fmt: skip


@pytest.mark.parametrize(("name", "scale"), DEEP_LINEAR_PRESETS)
def test_the_deep_linear_presets_share_the_teacher_and_scan_equal_lr_over_b(name, scale):
    experiment = load_experiment(embedded_experiment_path(f"{name}-{scale}"))
    depth = int(name[-1])
    assert {p.kind for p in experiment.points} == {"deep_linear"}
    assert {p.n_layers for p in experiment.points} == {depth}
    # one end-to-end teacher for every depth, a degenerate pair, and SGD with noise A
    for point in experiment.points:
        np.testing.assert_array_equal(point.teacher_matrix, np.eye(2))
        assert point.noise == 0.1 and point.optimizer.kind == "sgd"
        assert np.isfinite(point.level_widths).all()
    # a product of three lr and three B in which several settings share lr / B
    ratios = [round(p.lr / p.batch_size, 12) for p in experiment.points]
    assert len(experiment.points) == 9 and len(set(ratios)) == 5
    assert max(ratios.count(r) for r in ratios) == 3
    # burnt in: the first pooled snapshot is past lr * t = 40 at the smallest lr
    first_pooled = min(p.snapshot_steps[-experiment.pool_last] for p in experiment.points)
    assert min(p.lr for p in experiment.points) * first_pooled >= 40


def test_deep_linear_runs_its_three_presets_under_either_spelling():
    names = [name for name, _ in reproduce.article_experiments("deep-linear", "smoke")]
    assert names == list(reproduce.DEEP_LINEAR_EXPERIMENTS)
    assert reproduce.group_presets("deep-linear") == reproduce.group_presets("deep_linear-small")
    assert reproduce.group_presets("deep-linear-smoke")[0] == "deep_linear_l1-smoke"
    assert reproduce.group_presets("deep_linear_l1-smoke") is None
    with pytest.raises(dl.ConfigError, match="scale: the deep_linear experiment has the scales"):
        reproduce.article_experiments("deep_linear", "paper")
    with pytest.raises(dl.ConfigError, match="mode: the deep_linear experiment has the modes"):
        reproduce.article_experiments("deep-linear", "smoke", "timeseries")


def test_reproduce_deep_linear_smoke_writes_the_figure_and_agrees_with_the_prediction(
        tmp_path, capsys):  # fmt: skip
    # The smoke presets themselves, serial (about 30 s on a loaded machine, half of it the
    # per-store fits): 200 replicas x 2500 steps at each of 9 settings and 3 depths.
    import json

    from dysonlearn import cli

    out = tmp_path / "out"
    assert cli.main(["reproduce", "deep-linear", "--scale", "smoke", "--backend", "serial",
                     "-o", str(out), "--quiet"]) == 0  # fmt: skip
    assert (out / "deep_linear.png").stat().st_size > 10_000
    for name in reproduce.DEEP_LINEAR_EXPERIMENTS:
        assert (out / name / "results.h5").exists() and (out / name / "summary.json").exists()
    md = (out / "reproduce.md").read_text(encoding="utf-8")
    assert "## deep_linear (L = 1, 2, 3 at one end-to-end teacher; 200 replicas" in md
    assert "| L | widths | lambda | chi^2/dof (p) | <S> / prediction |" in md
    assert "Figure: deep_linear.png" in md
    found = json.loads((out / "reproduce.json").read_text())["deep_linear"]
    assert [d["depth"] for d in found["depths"]] == [1, 2, 3]
    assert [d["curvature"] for d in found["depths"]] == [1.0, 2.0, 3.0]  # L kappa^..., kappa=1
    assert len(found["points"]) == 27 and found["figure"] == "deep_linear.png"
    # Each point's <S> against sqrt(pi) sigma: the error of one point is the SE over 200
    # per-replica means of 3 snapshots (about 2% of <S>); |z| < 4 for all 27 fails by
    # chance about once in 600 runs. The neglected C_B-fluctuation term raises sigma^2 by
    # at most lr lambda (n_0 + 1) / (2 B) = 0.6% (L = 3, lr = 0.08, B = 64): 0.15 errors of <S>.
    assert all(abs(p["z"]) < 4 for p in found["points"])
    # Per depth, the weighted mean of <S> / prediction over 9 points has an SE of 0.7%:
    # within 4 of them of 1 (the systematic terms above are below 1 SE).
    for depth in found["depths"]:
        assert abs(depth["mean_ratio"] - 1) < 4 * depth["mean_ratio_err"]
        assert depth["p_value"] > 1e-3
    # Equal lr / B: once the finite-lr factor is divided out, the pair agrees within errors
    # (|z| < 4 over 12 pairs, each z of unit variance).
    assert len(found["equal_ratio"]) == 12
    assert all(abs(e["z_scaled"]) < 4 for e in found["equal_ratio"])
    # The end-to-end pair repels: its small-spacing fraction is the Wigner one (0.031), not
    # Poisson's (0.181). 1800 replicas of 3 spacings per depth: the SE is ~0.0025, so
    # 4 SE around 0.031 are far from 0.181; the KS test against exp(-s) rejects outright.
    laws = [w for w in found["spacing_law"] if w["layer"] is None]
    assert len(laws) == 3
    for law in laws:
        assert abs(law["small_fraction"] - found["wigner_small_fraction"]) \
            < 4 * law["small_fraction_err"]  # fmt: skip
        assert law["ks_poisson"] < 1e-20 and law["ks_wigner"] > 1e-3
    # The stores record every layer's spectrum: each layer's pair has its row.
    assert found["layer_source"] == "recorded layer spectra"
    assert sorted((w["depth"], w["layer"]) for w in found["spacing_law"]
                  if w["layer"] is not None) == [(1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3)]
    assert "each layer's pair (recorded layer spectra)" in md
    # The balancedness, 200 replicas from the balanced minimum: without noise gamma = 1 (the
    # jackknife error of gamma is ~0.002; the fit sits up to ~1.3% low from the sqrt(t)
    # part of the per-step fluctuations: 0.02) at the rate :eq:`dl-balancedness-sgd` (3
    # standard errors plus the 6% of the next order in lr); with the noise gamma = 1/2
    # and the root-mean-square rate :eq:`dl-balancedness-diffusion`, within 3 errors.
    noiseless, noisy = found["balancedness"]["cases"]
    assert abs(noiseless["gamma"] - 1) < 0.02
    assert abs(noiseless["rate"] - noiseless["predicted_rate"]) \
        < 3 * noiseless["rate_err"] + 0.06 * noiseless["predicted_rate"]  # fmt: skip
    assert abs(noisy["gamma"] - 0.5) < 3 * noisy["gamma_err"]
    assert abs(noisy["rate"] - noisy["predicted_rate"]) < 3 * noisy["rate_err"]
    assert (out / "balancedness.png").stat().st_size > 10_000
    assert "| noisy | [4, 4, 4] | 0.5 | 0.02 |" in md


def _depth_stores(replicas=400, seed=5):
    """Two settings at one lr / B for L = 1, 2, 3 of the presets (their layers' spectra
    recorded), as compare_deep_linear takes stores."""
    widths = {1: [2, 2], 2: [2, 4, 2], 3: [2, 4, 4, 2]}
    stores = []
    for depth, width in widths.items():
        results = []
        for lr, batch in ((0.04, 64), (0.08, 128)):
            config = dl.DeepLinearConfig(widths=width, teacher=[1.0, 1.0], noise=0.1, lr=lr,
                                         batch_size=batch, steps=2500, init_std=0.2,
                                         snapshots=[1500, 1750, 2000, 2250, 2500])  # fmt: skip
            results.append(dl.run_ensemble(config, replicas=replicas, seed=seed,
                                           backend="serial", progress=False))  # fmt: skip
        stores.append((f"deep_linear_l{depth}", None, results, 3))
    return stores


def test_deep_linear_every_layers_degenerate_pair_repels(tmp_path):
    # 400 replicas per setting, 3 snapshots pooled: the small-spacing fraction's SE over
    # 800 replicas is at most about sqrt(0.031 / 800) = 0.006 (one spacing per replica; the
    # pooled ones only shrink it), so each layer's fraction lies well within 0.1 (16 SE from
    # Poisson's 0.181, 11 from Wigner's) and the KS test against exp(-s) rejects it. (With 3000 replicas per setting
    # the layers' fractions were 0.028 to 0.041, near Wigner's 0.031, while the KS test against
    # the Wigner surmise itself rejected the inner layers at L = 3: the layers' spacings are
    # repelled but not exactly of the surmise's shape.)
    found = reproduce.compare_deep_linear(_depth_stores(), tmp_path)
    assert found["layer_source"] == "recorded layer spectra"
    layers = [(w["depth"], w["layer"]) for w in found["spacing_law"] if w["layer"] is not None]
    assert layers == [(1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3)]
    for law in found["spacing_law"]:
        assert law["small_fraction"] < 0.1 and law["ks_poisson"] < 1e-10, law
    assert (tmp_path / "deep_linear.png").stat().st_size > 10_000
    lines = "\n".join(reproduce._deep_linear_lines(found, [
        (name, tmp_path, results, pool) for name, _, results, pool in _depth_stores(6)]))
    assert "| 3 | layer W_2 | (2, 3) |" in lines
    assert "each layer's pair (recorded layer spectra)" in lines


def test_the_deep_linear_figure_refuses_empty_input():
    from dysonlearn.plots import deep_linear_figure

    with pytest.raises(ValueError, match="points: need at least one"):
        deep_linear_figure([])


def test_config_show_of_the_deep_linear_group_prints_each_of_its_files(capsys):
    from dysonlearn import cli

    assert cli.main(["config", "show", "deep-linear-smoke"]) == 0
    printed = capsys.readouterr().out
    for name in reproduce.DEEP_LINEAR_EXPERIMENTS:
        text = embedded_experiment_path(f"{name}-smoke").read_text(encoding="utf-8")
        assert f"# ==== {name}-smoke ====\n{text}" in printed
