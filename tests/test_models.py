"""Models as plugins: the registry, the protocol, a fake model through store, summary and
figures, and the theory each model knows against the documented formulas (computed here)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import models, plots
from dysonlearn.analysis import scaling_table, summarize
from dysonlearn.models import MEMBERS, MODELS, Model, model_for
from dysonlearn.models.base import Labels
from dysonlearn import config as ts_theory  # the teacher-student formulas live in config
from dysonlearn.tracker import load_tracked

DEFAULTS = {
    "rbm": dl.RBMConfig(lr=0.1, batch_size=16, steps=100, snapshots=2),
    "teacher_student": dl.TeacherStudentConfig(teacher=(2.0, 2.0, 3.0), noise=0.1, lr=0.3,
                                               batch_size=8, steps=100, snapshots=2),
    "dyson": dl.DysonConfig(kappa=(1.0, 1.0, 2.5), noise=0.2, lr=0.2, batch_size=4,
                            steps=100, snapshots=2),
    "deep_linear": dl.DeepLinearConfig(widths=(3, 4, 3), teacher=(1.0, 2.0, 2.0), noise=0.1,
                                       lr=0.05, batch_size=8, steps=100, snapshots=2),
}  # fmt: skip
DYSON_RBM = dl.DysonConfig(kappa=(2.0, 2.0, 4.0), noise=0.1, lr=0.05, batch_size=8, steps=100,
                           snapshots=2, drift="rbm", mu=3.0)  # fmt: skip


# -- the registry and the protocol ----------------------------------------------------------


def test_the_registry_names_every_model_in_the_article_order():
    # The article's models first, then any other in alphabetical order.
    assert list(MODELS) == ["rbm", "teacher_student", "dyson", "deep_linear"]
    assert dl.models.MODELS is MODELS


@pytest.mark.parametrize("kind", list(MODELS))
def test_every_model_satisfies_the_protocol(kind):
    model = MODELS[kind]
    assert isinstance(model, Model)
    for member in MEMBERS:
        assert hasattr(model, member), f"{kind}: {member} missing"
        if member not in ("kind", "config_class", "name", "labels"):
            assert callable(getattr(model, member)), f"{kind}: {member} not callable"
    assert isinstance(model.labels, Labels)
    assert model.kind == kind == model.config_class.kind
    assert isinstance(model.name, str) and model.name
    assert model_for(DEFAULTS[kind]) is model


@pytest.mark.parametrize("kind", list(MODELS))
def test_a_model_trains_a_block_and_keeps_its_final_state(kind):
    config, model = DEFAULTS[kind], MODELS[kind]
    seeds = np.random.SeedSequence(3).spawn(2)
    gens = [np.random.SFC64(s) for s in seeds]
    state = model.initial_state(config, [np.random.Generator(g) for g in gens],
                                np.random.default_rng(0))  # fmt: skip
    snaps = config.snapshot_steps
    eigenvalues = np.full((2, snaps.size, config.n_modes), np.nan)
    failed, fail_step = np.zeros(2, np.uint8), np.full(2, -1, np.int64)
    model.advance(config, state, gens, 0, config.steps, snaps, eigenvalues, failed, fail_step)
    assert np.all(np.isfinite(eigenvalues)) and not failed.any()
    final = model.final_state(state)
    assert final.shape[0] == 2 and np.all(np.isfinite(final))
    assert model.cost_per_replica_step(config) > 0
    assert model.bytes_per_replica(config) == config.state_bytes_per_replica


def test_model_for_refuses_what_is_not_a_model_configuration():
    with pytest.raises(dl.ConfigError, match="expected a dysonlearn model configuration"):
        model_for(object())


# -- a new model is its own definition and nothing else ----------------------------------


@dataclasses.dataclass(frozen=True)
class FakeConfig(dl.DysonConfig):
    """A 'new model': the Dyson fields under another kind."""

    kind = "fake"


class FakeModel(Model):
    """Levels drawn at every snapshot around the stationary ones: a pair as the eigenvalues
    of a 2 x 2 GOE matrix (so that they repel), the others Gaussian."""

    kind = "fake"
    config_class = FakeConfig
    name = "Fake"
    F = 7.0  # the scale factor of its scaling variable, to recognise it in the table

    def initial_state(self, config, generators, shared=None):
        return {"levels": np.tile(config.stationary_levels, (len(generators), 1))}

    def advance(self, config, state, generators, start, stop, snapshot_steps, eigenvalues,
                failed, fail_step, normal_method="ziggurat"):  # fmt: skip
        width = float(np.max(config.level_widths))
        for r, bitgen in enumerate(generators):
            rng = np.random.Generator(bitgen)
            for k, step in enumerate(snapshot_steps):
                if start < step <= stop or (step == 0 and start == 0):
                    a, b, c = rng.standard_normal(3)
                    pair = np.linalg.eigvalsh(width * np.array([[a, b], [b, c]]))
                    levels = config.stationary_levels + np.r_[pair, width * rng.standard_normal()]
                    state["levels"][r] = levels
                    eigenvalues[r, k] = np.sort(levels)

    def final_state(self, state):
        return state["levels"]

    def cost_per_replica_step(self, config):
        return 1e-7

    def scale_factor(self, config, level, kappa):
        return self.F

    labels = Labels(noise_symbol="q")

    def point_figures(self, result):
        return [("fake_point", plots.trajectories_figure(result))]

    def scan_figures(self, results, snapshots=1):
        return [("fake_scan", plots.learnt_histograms(results[0]))]


@pytest.fixture
def fake(monkeypatch):
    model = FakeModel()
    monkeypatch.setitem(MODELS, "fake", model)
    return model


def test_a_fake_model_flows_through_store_summary_and_figures(fake, tmp_path):
    configs = [FakeConfig(kappa=(1.0, 1.0, 2.0), noise=0.1, lr=lr, batch_size=8, steps=20,
                          snapshots=2) for lr in (0.1, 0.2)]  # fmt: skip
    store = tmp_path / "fake.h5"
    trained = [
        dl.run_ensemble(c, replicas=24, seed=5, backend="serial", progress=False) for c in configs
    ]
    dl.run_ensemble(configs[0], replicas=24, seed=5, backend="serial", progress=False,
                    store=store)  # fmt: skip
    # The store reads the configuration back through the registry.
    (loaded,) = dl.load(store)
    assert type(loaded.config) is FakeConfig and loaded.config == configs[0]
    np.testing.assert_array_equal(loaded.eigenvalues, trained[0].eigenvalues)
    assert model_for(loaded.config) is fake

    summary = summarize(trained, snapshots=2)
    assert [p["config"]["kind"] for p in summary["points"]] == ["fake", "fake"]
    pair = summary["points"][0]["pairs"][0]
    assert pair["modes"] == [0, 1] and pair["predicted_sigma"] == pytest.approx(
        math.sqrt(0.1 * 0.1**2 / (8 * (1 - 0.1 / 2)))
    )
    # The scaling variable uses the model's own f.
    table = scaling_table(trained, snapshots=2)
    assert [row.scale for row in table.pairs] == pytest.approx(
        [math.sqrt(lr * FakeModel.F / 8) for lr in (0.1, 0.2)]
    )
    assert summary["scaling"]["pairs"][0]["scale"] == pytest.approx(table.pairs[0].scale)

    paths = plots.save_figures(trained, tmp_path / "figures", snapshots=2)
    names = {p.name for p in paths}
    assert {"fake_point_00_lr0.1_B8_A0.1.png", "fake_scan.png", "scaling.png"} <= names
    assert "Fake" in plots._describe(configs[0]) and "$q=0.1$" in plots._describe(configs[0])


def test_without_its_model_a_stored_kind_is_unknown(fake, tmp_path, monkeypatch):
    config = FakeConfig(kappa=(1.0, 1.0, 2.0), steps=10, snapshots=1)
    store = tmp_path / "fake.h5"
    dl.run_ensemble(config, replicas=4, seed=1, backend="serial", progress=False, store=store)
    monkeypatch.delitem(MODELS, "fake")
    with pytest.raises(dl.ConfigError, match="unknown model kind 'fake'"):
        dl.load(store)


# -- the theory each model knows, against the formulas --------------------------------------


def test_rbm_theory():
    config, model = DEFAULTS["rbm"], MODELS["rbm"]
    mu2 = config.mu**2
    kappa = np.sort(np.asarray(config.target.spectrum))
    x_star = np.sort(mu2 - kappa)  # :eq:`rbm-kernel`
    np.testing.assert_allclose(model.stationary_levels(config), x_star, rtol=1e-14)
    np.testing.assert_allclose(model.level_kappas(config), mu2 - x_star, rtol=1e-14)
    np.testing.assert_allclose(
        model.level_widths(config), np.sqrt(2 * config.lr * x_star / config.batch_size)
    )  # :eq:`rbm-level-width`
    assert model.fitted_lambda(config, 3.5) == mu2 - 3.5
    assert model.scale_factor(config, 4.0, mu2 - 4.0) == 4.0
    assert model.predicted_slope(config)[0] == math.sqrt(2 * math.pi)
    assert model.predicted_mean_spacing(0.1, 16, None) is None


def test_teacher_student_theory_and_its_one_width_formula():
    config, model = DEFAULTS["teacher_student"], MODELS["teacher_student"]
    lr, b, a = config.lr, config.batch_size, config.noise
    # :eq:`ts-degenerate-spacing`, :eq:`finite-lr-variance`
    sigma = math.sqrt(lr * a**2 / b) / math.sqrt(1 - lr / 2)
    np.testing.assert_allclose(model.level_widths(config), sigma, rtol=1e-14)
    np.testing.assert_array_equal(model.stationary_levels(config), [2.0, 2.0, 3.0])
    np.testing.assert_array_equal(model.level_kappas(config), [2.0, 2.0, 3.0])
    assert model.fitted_lambda(config, 2.1) == 2.1
    assert model.scale_factor(config, 2.0, 2.0) == a**2
    assert model.predicted_slope(config)[0] == math.sqrt(math.pi)
    # The numbers the old code computed, bit for bit: reproduce's <S> prediction, the
    # configuration's width, and the figure's lr -> 0 abscissa and finite-lr factor.
    for lr, b, a in [(0.1, 16, 0.1), (0.3, 4, 0.075), (0.5, 64, 0.05), (0.2, 8, 0.1)]:
        assert model.predicted_mean_spacing(lr, b, a) == float(
            np.sqrt(np.pi * lr * a**2 / b / (1 - lr / 2))
        )
        ts = dl.TeacherStudentConfig(teacher=(2.0, 2.0), noise=a, lr=lr, batch_size=b)
        assert np.sqrt(ts_theory.stationary_variance(lr, b, a)) == ts.level_widths[0]
        assert ts_theory.small_lr_mean_spacing(lr, b, a) == math.sqrt(math.pi * lr * a**2 / b)
        assert ts_theory.finite_lr_factor(lr) == 1 / math.sqrt(1 - lr / 2)


def test_dyson_theory_for_both_drifts():
    model = MODELS["dyson"]
    linear = DEFAULTS["dyson"]
    np.testing.assert_array_equal(model.level_kappas(linear), [1.0, 1.0, 2.5])
    assert model.scale_factor(linear, 1.0, 1.0) == linear.noise**2
    lr, b, g = linear.lr, linear.batch_size, linear.noise
    np.testing.assert_allclose(
        model.level_widths(linear), math.sqrt(lr * g**2 / (b * (1 - lr / 2))), rtol=1e-14
    )  # :eq:`level-width`
    assert model.labels_for(linear).noise_symbol == "A"

    config = DYSON_RBM
    mu2, kappa = config.mu**2, np.array([4.0, 2.0, 2.0])  # sorted by level x* = mu^2 - kappa
    x_star = mu2 - kappa
    np.testing.assert_allclose(model.stationary_levels(config), x_star)
    np.testing.assert_allclose(model.level_kappas(config), kappa)
    c = 2 * x_star / kappa**2  # :eq:`rbm-restoring-rate`
    lr, b, g = config.lr, config.batch_size, config.noise
    np.testing.assert_allclose(
        model.level_widths(config), np.sqrt(lr * g**2 / (b * c * (1 - lr * c / 2))), rtol=1e-14
    )
    assert model.scale_factor(config, 7.0, 2.0) == g**2 * 2.0**2 / (2 * 7.0)
    assert model.fitted_lambda(config, 7.1) == 7.1
    assert model.predicted_slope(config)[0] == math.sqrt(math.pi)


def test_cost_models_are_the_former_estimates():
    rbm = DEFAULTS["rbm"]
    normals = dl.kernels.rbm_normals_per_step(rbm.n_visible, rbm.n_hidden, rbm.batch_size,
                                              rbm.k, rbm.target_mode == "sampled",
                                              rbm.sampler)  # fmt: skip
    nv, nb = rbm.n_visible, rbm.batch_size
    flops = 2 * nv**3 * (2 * rbm.k + 1) + 4 * nb * nv * nv + 2 * nb * nv * rbm.n_hidden
    if rbm.sampler != "collapsed":
        flops = 2 * nb * nv * rbm.n_hidden * (2 * rbm.k + 1)
    assert MODELS["rbm"].cost_per_replica_step(rbm) == normals * 3.5e-9 + flops * 2.5e-10
    ts = DEFAULTS["teacher_student"]
    n, b = ts.n_modes, ts.batch_size
    assert MODELS["teacher_student"].cost_per_replica_step(ts) == (
        1.5e-8 * n * n + 4e-9 * n**3 + 5e-8
    )
    explicit = ts.replace(sampler="explicit")
    assert MODELS["teacher_student"].cost_per_replica_step(explicit) == (
        3.5e-9 * b * n * (n + 3) / 2 + 2e-9 * b * n * n + 5e-8
    )
    dy = DEFAULTS["dyson"]
    n = dy.n_modes
    assert MODELS["dyson"].cost_per_replica_step(dy) == 4e-9 * n * (n + 1) / 2 + (
        1e-9 * n**3 + 2e-6
    )


# -- one error type for a missing file ------------------------------------------------------


def test_a_missing_file_is_the_same_error_for_the_store_and_the_tracker(tmp_path):
    missing = tmp_path / "nothing.h5"
    with pytest.raises(dl.ConfigError, match="file not found") as store_error:
        dl.load(missing)
    with pytest.raises(dl.ConfigError, match="file not found") as tracker_error:
        load_tracked(missing)
    assert type(store_error.value) is type(tracker_error.value) is dl.ConfigError
    assert len(str(store_error.value).splitlines()) == 1


def test_the_tracker_refuses_a_results_store_with_the_store_checks(tmp_path):
    store = tmp_path / "results.h5"
    dl.run_ensemble(DEFAULTS["dyson"], replicas=2, seed=1, backend="serial", progress=False,
                    store=store)  # fmt: skip
    with pytest.raises(dl.ConfigError, match="not a SpectrumTracker file"):
        load_tracked(store)


def test_models_module_lists_its_public_names():
    assert set(models.__all__) == {"MEMBERS", "MODELS", "Model", "model_for"}
