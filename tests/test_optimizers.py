"""Optimisers in the configurations, experiment files, theory and analysis (issue 13)."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import ConfigError
from dysonlearn.analysis import fit_power_law, fit_spacing_power_law
from dysonlearn.analysis.summary import summarize_result
from dysonlearn.experiment import experiment_document, parse_experiment
from dysonlearn.models import model_for
from dysonlearn.optim import _linear_variance
from dysonlearn.result import EnsembleResult
from dysonlearn.store import PointSpec

CONFIGS = (dl.RBMConfig, dl.TeacherStudentConfig)


# --- the configuration field ---------------------------------------------------------------


@pytest.mark.parametrize("config_class", CONFIGS, ids=lambda c: c.__name__)
def test_default_is_sgd_and_sgd_records_are_unchanged(config_class):
    cfg = config_class(steps=100)
    assert cfg.optimizer == dl.SGD()
    record = cfg.to_dict()
    # An SGD configuration keeps the record it had before optimisers existed, so stores
    # written before resume (their run record has no "optimizer" key).
    assert "optimizer" not in record
    assert config_class.from_dict(record) == cfg
    spec = PointSpec("point_000", cfg, 4, 1, "SFC64", "ziggurat")
    assert "optimizer" not in spec.run_record()["config"]


@pytest.mark.parametrize("config_class", CONFIGS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "optimizer",
    [dl.Momentum(0.5), dl.Momentum(0.8, nesterov=True), dl.Adam(beta1=0.8), dl.AdamW()],
    ids=repr,
)
def test_optimizer_round_trips_through_dicts(config_class, optimizer):
    cfg = config_class(steps=100, optimizer=optimizer)
    record = cfg.to_dict()
    assert record["optimizer"] == optimizer.to_dict()
    assert config_class.from_dict(record) == cfg
    assert config_class(steps=100, optimizer=optimizer.to_dict()).optimizer == optimizer
    spec = PointSpec("point_000", cfg, 4, 1, "SFC64", "ziggurat")
    assert spec.run_record()["config"]["optimizer"]["kind"] == optimizer.kind


@pytest.mark.parametrize(
    "value, message",
    [
        ({"kind": "momentum", "beta": 1.0},
         "optimizer.beta: must be a finite number in [0, 1), got 1.0"),
        ({"kind": "adam", "eps": 0.0}, "optimizer.eps: must be a finite number > 0, got 0.0"),
        ({"kind": "adamw", "weight_decay": -1.0}, "optimizer.weight_decay:"),
        ({"kind": "rmsprop"}, "optimizer.kind: must be one of 'sgd', 'momentum', 'adam', 'adamw'"),
        ({"kind": "momentum", "betaa": 0.5},
         "optimizer.betaa: unknown field (did you mean 'beta'?)"),
        ({"kind": "momentum", "eps": 0.5}, "optimizer.eps: a field of 'adam' and 'adamw'"),
        ("momentum", "optimizer: must be an optimiser"),
    ],
)
def test_bad_optimizers_are_named_by_field(value, message):
    with pytest.raises(ConfigError) as info:
        dl.TeacherStudentConfig(optimizer=value)
    assert any(m.startswith(message) for m in info.value.problems), info.value.problems


def test_bad_optimizer_is_reported_with_the_other_problems():
    with pytest.raises(ConfigError) as info:
        dl.RBMConfig(lr=-1.0, optimizer={"kind": "momentum", "beta": -0.1})
    fields = {p.field for p in info.value.details}
    assert {"lr", "optimizer.beta"} <= fields


def test_every_optimizer_trains_through_the_runners_and_is_stored(tmp_path):
    """run_ensemble and run_experiment apply the optimiser (not SGD under another name), and
    the store keeps it with the point."""
    cfg = dl.TeacherStudentConfig(steps=200, snapshots=2, optimizer=dl.Momentum(beta=0.5))
    run = dict(replicas=3, seed=1, backend="serial", progress=False)
    momentum = dl.run_ensemble(cfg, **run)
    sgd = dl.run_ensemble(dataclasses.replace(cfg, optimizer=dl.SGD()), **run)
    assert np.isfinite(momentum.eigenvalues).all() and not momentum.failed.any()
    assert not np.array_equal(momentum.eigenvalues[:, -1], sgd.eigenvalues[:, -1])
    experiment = {"model": {"kind": "teacher_student"}, "train": {"steps": 50},
                  "optimizer": {"kind": "adam", "beta1": [0.8, 0.9]},
                  "ensemble": {"replicas": 3, "seed": 1}}  # fmt: skip
    results = dl.run_experiment(experiment, tmp_path / "out", backend="serial", progress=False)
    assert [r.config.optimizer for r in results] == [dl.Adam(beta1=0.8), dl.Adam(beta1=0.9)]
    stored = dl.load(tmp_path / "out" / "results.h5")
    assert [r.config.optimizer for r in stored] == [dl.Adam(beta1=0.8), dl.Adam(beta1=0.9)]
    assert all(np.array_equal(a.eigenvalues, b.eigenvalues) for a, b in zip(results, stored))


def test_momentum_spacing_follows_the_effective_learning_rate():
    """Heavy ball at small lr: the degenerate pair's <S> is that of SGD at lr / (1 - beta),
    sqrt(pi lr A^2 / (B (1 - beta))) (the model's level widths, with their small finite-lr
    factor). 2000 replicas, the mean over five late snapshots per replica: the standard error
    of <S> is about 0.5 % (std/mean of a Wigner spacing is 0.52, / sqrt(2000)); 4 standard
    errors is the tolerance."""
    cfg = dl.TeacherStudentConfig(teacher=[2.0, 2.0], noise=0.1, lr=0.02, batch_size=16,
                                  steps=1500, snapshots=[1100, 1200, 1300, 1400, 1500],
                                  optimizer=dl.Momentum(beta=0.5))  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=2000, seed=3, backend="serial", progress=False)
    spacing = (res.eigenvalues[:, 1:, 1] - res.eigenvalues[:, 1:, 0]).mean(axis=1)
    error = spacing.std(ddof=1) / math.sqrt(spacing.size)
    predicted = math.sqrt(math.pi) * cfg.level_widths[0]
    assert predicted == pytest.approx(math.sqrt(math.pi * 0.04 * 0.01 / 16), rel=0.02)
    assert abs(spacing.mean() - predicted) < 4 * error


def _rbm_final_levels(optimizer, lr, steps, seed):
    cfg = dl.RBMConfig(lr=lr, batch_size=64, steps=steps, snapshots=[steps * 4 // 5, steps],
                       optimizer=optimizer)  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=100, seed=seed, backend="serial", progress=False)
    assert not res.failed.any()
    return cfg, res.eigenvalues[:, -1]


def test_the_rbm_with_momentum_learns_as_sgd_at_the_effective_rate():
    """Heavy ball (beta = 0.5, lr = 0.05) and SGD at lr / (1 - beta) = 0.1 give the same
    stationary law at small lr: every level's mean agrees within 4 combined standard errors
    (two independent ensembles of 100 replicas; each error is the replicas' standard
    deviation over 10). SGD at lr = 0.05, without momentum's gain, is 5 errors off on the
    slowest-relaxing modes, so the test tells the two apart."""
    _, momentum = _rbm_final_levels(dl.Momentum(beta=0.5), 0.05, 6000, seed=5)
    _, sgd = _rbm_final_levels(dl.SGD(), 0.1, 6000, seed=6)
    error = np.hypot(momentum.std(axis=0, ddof=1), sgd.std(axis=0, ddof=1)) / 10
    assert np.all(np.abs(momentum.mean(axis=0) - sgd.mean(axis=0)) < 4 * error)


def test_the_rbm_learns_its_target_with_adam():
    """Adam has no closed-form stationary law, so the check is physical, not a standard
    error: every learnt level sits at its x* = mu^2 - kappa within its stationary spread.
    The two levels of a degenerate pair repel each other by about one width (the Coulomb
    term; with SGD and momentum the same run gives up to 1.6 widths), so the bound is 2.5
    widths (measured for Adam: at most 1.7); a level that failed to learn (x near 0 or far
    from x*) is many widths away."""
    cfg, x = _rbm_final_levels(dl.Adam(), 0.005, 3000, seed=5)
    x_star = np.sort(cfg.stationary_levels)
    assert np.all(np.abs(x.mean(axis=0) - x_star) < 2.5 * x.std(axis=0))


# --- theory ----------------------------------------------------------------------------------


def test_effective_rate_and_level_widths():
    sgd = dl.TeacherStudentConfig(lr=0.02, batch_size=8, noise=0.2)
    momentum = sgd.replace(optimizer=dl.Momentum(beta=0.75))
    assert momentum.effective_lr == pytest.approx(0.08)
    # Heavy ball, exact: sigma^2 = lr_eff A^2 / B / (1 - lr / (2 (1 + beta))), effective-lr.
    expected = math.sqrt(0.08 * 0.04 / 8 / (1 - 0.02 / 3.5))
    assert momentum.level_widths == pytest.approx([expected, expected], rel=1e-12)
    # SGD's widths are bit for bit those of stationary_variance (unchanged).
    assert sgd.level_widths[0] == math.sqrt(dl.config.stationary_variance(0.02, 8, 0.2))
    rbm = dl.RBMConfig(lr=0.01, batch_size=8, steps=100)
    rbm_m = rbm.replace(optimizer=dl.Momentum(beta=0.5))
    np.testing.assert_allclose(rbm_m.level_widths, rbm.level_widths * math.sqrt(2), rtol=1e-12)
    for optimizer in (dl.Adam(), dl.AdamW()):
        assert np.all(np.isnan(sgd.replace(optimizer=optimizer).level_widths))
        assert math.isnan(sgd.replace(optimizer=optimizer).effective_lr)


def test_scale_factor_uses_the_effective_rate():
    for cfg in (dl.TeacherStudentConfig(noise=0.3), dl.RBMConfig(steps=100)):
        model = model_for(cfg)
        level, kappa = 2.0, 2.0
        q = model.scale_factor(cfg, level, kappa)
        assert model.scale_factor(cfg.replace(optimizer=dl.Momentum(0.9)), level, kappa) == (
            pytest.approx(q / 0.1)
        )
        assert math.isnan(model.scale_factor(cfg.replace(optimizer=dl.Adam()), level, kappa))


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("lr, c", [(0.05, 1.0), (0.3, 2.0)])
def test_heavy_ball_closed_form_matches_the_lyapunov_solution(beta, lr, c):
    closed = dl.Momentum(beta).variance_factor(lr, c) * lr / (2 * c)
    assert _linear_variance(lr, c, beta, nesterov=False) == pytest.approx(closed, rel=1e-10)


def test_momentum_variance_matches_a_simulated_linear_iteration():
    # x' = x - lr v', v' = beta v + c x + xi: 400 chains x 20000 steps after burn-in give
    # the stationary variance to ~1% (2e-3 relative per independent sample over ~ 4000
    # correlation times per chain): 5% is > 4 standard errors.
    rng = np.random.default_rng(7)
    lr, c, beta = 0.05, 1.0, 0.8
    x, v = np.zeros(400), np.zeros(400)
    samples = []
    for step in range(20000):
        v = beta * v + c * x + rng.standard_normal(400)
        x = x - lr * v
        if step >= 2000 and step % 10 == 0:
            samples.append(x.copy())
    measured = np.var(np.array(samples))
    predicted = dl.Momentum(beta).variance_factor(lr, c) * lr / (2 * c)
    assert measured == pytest.approx(predicted, rel=0.05)


@pytest.mark.parametrize("optimizer", [dl.SGD(), dl.Momentum(0.5), dl.Momentum(0.8),
                                       dl.Momentum(0.8, nesterov=True)], ids=str)
def test_free_diffusion_is_the_summed_response_of_the_update_to_its_noise(optimizer):
    """free_diffusion(lr, t) = lr^2 sum_m c_m^2 with c_m the response of x after t steps to
    a unit gradient at step t - m + 1 and none elsewhere (no force: curvature 0): here the
    responses come from iterating the documented update itself (torch.optim.SGD's)."""
    lr, steps = 0.1, 30
    beta = getattr(optimizer, "beta", 0.0)
    nesterov = getattr(optimizer, "nesterov", False)
    expected = [0.0]
    for t in range(1, steps + 1):
        total = 0.0
        for u in range(1, t + 1):
            x, v = 0.0, 0.0
            for s in range(1, t + 1):
                g = 1.0 if s == u else 0.0
                v = beta * v + g
                x -= lr * (g + beta * v if nesterov else v)
            total += x * x
        expected.append(total)
    np.testing.assert_allclose(optimizer.free_diffusion(lr, np.arange(steps + 1)), expected,
                               rtol=1e-12, atol=1e-15)  # fmt: skip
    assert np.isnan(dl.Adam().free_diffusion(lr, 5))


def test_nesterov_has_the_same_small_lr_limit():
    nesterov = dl.Momentum(0.9, nesterov=True)
    assert nesterov.variance_factor(1e-5, 1.0) == pytest.approx(10.0, rel=1e-3)
    assert nesterov.stability_limit(1.0) == pytest.approx(2 * 1.9 / 2.8)


def test_momentum_beyond_its_stability_bound_warns_not_refuses():
    with pytest.warns(UserWarning, match=r"optimizer: lr = 1.5 is beyond the stability bound"):
        cfg = dl.TeacherStudentConfig(lr=1.5, optimizer=dl.Momentum(0.9, nesterov=True))
    assert np.all(np.isinf(cfg.level_widths))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dl.TeacherStudentConfig(lr=1.5, optimizer=dl.Momentum(0.9))  # 1.5 < 2 (1 + beta)
        dl.TeacherStudentConfig(lr=1.5)  # SGD: today's bound (lr < 2) only
    with pytest.raises(ConfigError, match="lr: must be below 2"):
        dl.TeacherStudentConfig(lr=2.5, optimizer=dl.Momentum(0.9))  # SGD's bound kept


def test_adam_summary_says_there_is_no_closed_form():
    cfg = dl.TeacherStudentConfig(steps=10, snapshots=1, optimizer=dl.Adam())
    rng = np.random.default_rng(0)
    eigs = np.sort(2 + 0.01 * rng.standard_normal((20, 2, 2)), axis=-1)
    result = EnsembleResult(cfg, 1, np.array([0, 10]), eigs, np.zeros(20, bool),
                            np.full(20, -1))  # fmt: skip
    summary = summarize_result(result)
    assert "no closed form" in summary["note"]
    assert summary["pairs"][0]["predicted_mean_spacing"] is None


# --- experiment files ------------------------------------------------------------------------


def test_optimizer_section_scans_like_lr():
    experiment = parse_experiment({
        "model": {"kind": "teacher_student"}, "train": {"lr": [0.01, 0.02], "steps": 100},
        "optimizer": {"kind": "momentum", "beta": [0.5, 0.9], "nesterov": True},
    })  # fmt: skip
    assert experiment.scan == {"lr": [0.01, 0.02], "beta": [0.5, 0.9]}
    assert experiment.point_params()[1] == {"lr": 0.01, "beta": 0.9}
    assert [c.optimizer for c in experiment.points[:2]] == [
        dl.Momentum(0.5, nesterov=True), dl.Momentum(0.9, nesterov=True)]  # fmt: skip
    from dysonlearn.report import point_label

    assert point_label(experiment.point_params()[3]) == "lr=0.02, beta=0.9"


def test_points_tables_give_optimizer_fields():
    experiment = parse_experiment({
        "model": {"kind": "rbm"}, "train": {"steps": 100}, "optimizer": {"kind": "adam"},
        "points": [{"lr": 0.01, "beta1": 0.5}, {"lr": 0.01, "beta1": 0.8}],
    })  # fmt: skip
    assert [c.optimizer.beta1 for c in experiment.points] == [0.5, 0.8]
    assert experiment.scan == {"lr": [0.01], "beta1": [0.5, 0.8]}


def test_single_point_document_round_trips_the_optimizer():
    cfg = dl.TeacherStudentConfig(steps=100, optimizer=dl.AdamW(weight_decay=0.1))
    document = experiment_document(cfg, replicas=8)
    assert document["optimizer"] == cfg.optimizer.to_dict()
    assert parse_experiment(document).points == (cfg,)
    assert "optimizer" not in experiment_document(cfg.replace(optimizer=dl.SGD()), 8)


@pytest.mark.parametrize(
    "document, message",
    [
        ({"optimizer": {"kind": "momentum", "bta": 0.5}},
         "optimizer.bta: unknown key (did you mean 'beta'?)"),
        ({"optimizer": {"kind": "momentum", "eps": 1e-8}},
         "optimizer.eps: is a field of optimizer kind 'adam' and 'adamw', not of 'momentum'"),
        ({"optimizer": {"kind": "adam", "lr": 0.1}}, "optimizer.lr: belongs in [train]"),
        ({"train": {"beta": 0.5}}, "train.beta: belongs in [optimizer], not in [train]"),
        ({"optimizer": {"kind": "momentum", "beta": [0.5, 1.5]}},
         "optimizer.beta: must be a finite number in [0, 1), got 1.5"),
        ({"optimizer": {"kind": "momentum", "beta": []}},
         "optimizer.beta: a scan list must not be empty"),
        ({"optimizer": {"kind": "adagrad"}}, "optimizer.kind: must be one of"),
        ({"optimizer": {"kind": "momentum"}, "points": [{"lr": 0.1, "beta": 2.0}]},
         "points[1].beta: must be a finite number in [0, 1), got 2.0"),
    ],
)
def test_bad_optimizer_sections_are_named_by_key_path(document, message):
    document = {"model": {"kind": "teacher_student"}, **document}
    with pytest.raises(ConfigError) as info:
        parse_experiment(document)
    assert any(m.startswith(message) for m in info.value.problems), info.value.problems


def test_dyson_takes_no_optimizer_section():
    with pytest.raises(ConfigError, match="model kind 'dyson' takes no \\[optimizer\\]"):
        parse_experiment({"model": {"kind": "dyson"}, "optimizer": {"kind": "momentum"}})


# --- the power-law fit -----------------------------------------------------------------------

LR = np.repeat([0.01, 0.02, 0.04], 3)
BATCH = np.tile([4, 8, 16], 3)


def _synthetic(a, b, seed, replicas=200):
    """Rayleigh spacings (Wigner's surmise) of mean 2 lr^a B^-b, (replicas, 3) per point."""
    rng = np.random.default_rng(seed)
    return [2 * lr**a * batch**-b * rng.rayleigh(size=(replicas, 3)) / math.sqrt(math.pi / 2)
            for lr, batch in zip(LR, BATCH, strict=True)]  # fmt: skip


@pytest.mark.parametrize("a, b", [(0.5, 0.5), (0.3, 0.7)])
def test_power_law_recovers_known_exponents(a, b):
    # The jackknife errors were checked to cover: over 200 seeds the pulls (a - a_true) /
    # a_err have standard deviation 1.1; 4 errors is beyond 3.5 standard deviations.
    fit = fit_spacing_power_law(LR, BATCH, _synthetic(a, b, seed=3))
    assert abs(fit.a - a) < 4 * fit.a_err
    assert abs(fit.b - b) < 4 * fit.b_err
    assert abs(fit.c - 2.0) < 4 * fit.c_err
    assert abs(fit.a_minus_b - (a - b)) < 4 * fit.a_minus_b_err
    # Expected a_err: 0.30 / sqrt(200) in log <S> per point over sqrt(9 var(log lr)): 0.013.
    assert 0.02 > fit.a_err > 0.008 and fit.n_points == 9 and fit.blocks == 32
    if a != b:  # the test a == b rejects a != b by many errors
        assert abs(fit.linear_scaling_z()) > 10


def test_power_law_refuses_designs_that_cannot_separate_a_from_b():
    spacings = _synthetic(0.5, 0.5, seed=1)[:3]
    with pytest.raises(ValueError, match="vary lr and B independently"):
        fit_spacing_power_law([0.01, 0.02, 0.04], [4, 8, 16], spacings)  # lr / B fixed
    with pytest.raises(ValueError, match="at least 3 scan points"):
        fit_spacing_power_law([0.01, 0.02], [4, 8], spacings[:2])


def test_teacher_student_sgd_scan_gives_a_equal_b_one_half():
    # N = 2, kappa = (2, 2): <S> = sqrt(pi lr A^2 / (B (1 - lr / 2))) :eq:`ts-degenerate-spacing`.
    # The finite-lr factor shifts a by (lr / 4) / (1 - lr / 2) <= 0.005 at lr <= 0.02, and
    # the multiplicative noise of C_B is of relative order lr / B: both well inside the
    # 4 jackknife errors (0.007-0.013 with 300 replicas x 5 snapshots per point, one seed
    # per point as in a scan: measured a = 0.505(12), b = 0.501(7), a - b = 0.003(13)).
    results = []
    grid = [(lr, b) for lr in (0.005, 0.01, 0.02) for b in (4, 16)]
    for number, (lr, batch) in enumerate(grid):
        cfg = dl.TeacherStudentConfig(lr=lr, batch_size=batch, steps=6000,
                                      snapshots=(4000, 4500, 5000, 5500, 6000))  # fmt: skip
        results.append(dl.run_ensemble(cfg, replicas=300, seed=101 + number, backend="serial",
                                       progress=False))  # fmt: skip
    fit = fit_power_law(results, snapshots=5)
    assert abs(fit.a - 0.5) < 4 * fit.a_err + 0.005
    assert abs(fit.b - 0.5) < 4 * fit.b_err
    assert abs(fit.a_minus_b) < 4 * fit.a_minus_b_err + 0.005
    assert fit.c == pytest.approx(math.sqrt(math.pi) * 0.1, abs=4 * fit.c_err + 0.01)


def test_cli_shows_the_stability_warning_as_a_note(tmp_path, capsys):
    from dysonlearn.cli import main

    path = tmp_path / "momentum.toml"
    path.write_text('[model]\nkind = "teacher_student"\n[train]\nlr = 1.5\nsteps = 10\n'
                    '[optimizer]\nkind = "momentum"\nnesterov = true\n')  # fmt: skip
    # Beyond the bound the replicas diverge: they are flagged, the run itself succeeds.
    assert main(["run", str(path), "-o", str(tmp_path / "out"), "--quiet",
                 "--backend", "serial"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("dysonlearn: note: optimizer: lr = 1.5 is beyond the stability bound") == 1


def test_keep_weights_keeps_the_optimizer_state_in_memory_and_in_the_store(tmp_path):
    """The final optimiser state is saved with the weights, so that a replica can be trained
    on exactly (the kernels take it back as opt_state; carrying it across calls is exact,
    tests/test_optim_kernels.py)."""
    config = dl.TeacherStudentConfig(teacher=(1.0, 2.0), noise=0.1, lr=0.05, batch_size=8,
                                     steps=30, snapshots=1, optimizer=dl.Adam())  # fmt: skip
    res = dl.run_ensemble(config, replicas=3, seed=5, backend="serial", progress=False,
                          keep_weights=True)  # fmt: skip
    assert res.optimizer_state.shape == (3, 2 * 4)  # Adam: m then s of the 2 x 2 weights
    assert np.all(np.isfinite(res.optimizer_state)) and np.all(res.optimizer_state[:, 4:] > 0)
    stored = dl.run_ensemble(config, replicas=3, seed=5, backend="process", workers=2,
                             progress=False, keep_weights=True, block_size=1,
                             store=tmp_path / "r.h5")  # fmt: skip
    [loaded] = dl.load(tmp_path / "r.h5")
    np.testing.assert_array_equal(loaded.optimizer_state, res.optimizer_state)
    np.testing.assert_array_equal(stored.optimizer_state, res.optimizer_state)
    np.testing.assert_array_equal(loaded.weights, res.weights)
    # SGD keeps no state: none is returned or stored
    sgd = dl.run_ensemble(config.replace(optimizer=dl.SGD()), replicas=2, seed=5,
                          backend="serial", progress=False, keep_weights=True,
                          store=tmp_path / "sgd.h5")  # fmt: skip
    assert sgd.optimizer_state is None and dl.load(tmp_path / "sgd.h5")[0].optimizer_state is None
