"""summary.md, summary.json and the printed headline: symbols, predictions, warnings."""

import dataclasses

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import report
from dysonlearn.analysis import summary as summary_module


def synthetic(levels, steps, config=None):
    """An EnsembleResult holding given eigenvalues (R, S, N), none diverged."""
    levels = np.sort(np.asarray(levels, dtype=np.float64), axis=-1)
    replicas = levels.shape[0]
    config = config or dl.TeacherStudentConfig(
        teacher=(2.0, 2.0), noise=0.1, steps=int(steps[-1]), snapshots=tuple(steps[1:])
    )
    return dl.EnsembleResult(config=config, seed=1, steps=np.asarray(steps),
                             eigenvalues=levels, failed=np.zeros(replicas, bool),
                             fail_step=np.full(replicas, -1))  # fmt: skip


@pytest.fixture(scope="module")
def stationary():
    """Two degenerate levels of the linear Dyson motion, long after they settled."""
    cfg = dl.DysonConfig(kappa=(2.0, 2.0), noise=0.1, lr=0.1, steps=4000, snapshots=4)
    return dl.run_ensemble(cfg, replicas=400, seed=5, progress=False, backend="serial")


def test_the_stationarity_test_flags_drifting_means_only():
    rng = np.random.default_rng(0)
    steps = [0, 100, 200, 300]
    noise = rng.normal(0, 0.01, size=(500, 4, 2))
    still = synthetic(2.0 + noise, steps)
    test = summary_module.stationarity(still, 1)
    assert test["tested"] and test["flagged_modes"] == []
    assert (test["steps"], test["earlier_steps"]) == ([300], [200])
    # Mode 1 moves by 0.005 between the last two snapshots: the difference of two means of
    # 500 replicas with sd 0.01 has a standard error of 0.01 sqrt(2 / 500) = 6.3e-4, so
    # z is about 8 (well above 3); mode 0 does not move.
    drift = noise.copy()
    drift[:, 3, 1] += 0.005
    moving = synthetic(np.stack([1.0 + drift[..., 0], 3.0 + drift[..., 1]], -1), steps)
    test = summary_module.stationarity(moving, 1)
    assert test["flagged_modes"] == [1]
    assert test["z"][1] == pytest.approx(0.005 / (0.01 * np.sqrt(2 / 500)), rel=0.2)
    assert any("not stationary" in w for w in summary_module.point_warnings(
        {"stationarity": test, "pairs": [], "levels": []}))  # fmt: skip
    # Pooling 2 snapshots compares steps 200-300 with step 100 (all that precedes but step 0).
    assert summary_module.stationarity(moving, 2)["earlier_steps"] == [100]
    assert summary_module.stationarity(moving, 3)["tested"] is False


def test_a_fit_the_data_do_not_support_is_flagged():
    """Pooled levels in two narrow clumps are no two-level semicircle: p << 0.001."""
    rng = np.random.default_rng(1)
    low = 1.9 + rng.normal(0, 0.002, size=(400, 2))
    high = 2.1 + rng.normal(0, 0.002, size=(400, 2))
    levels = np.stack([np.stack([low[:, k], high[:, k]], -1) for k in range(2)], 1)
    result = synthetic(np.concatenate([levels[:, :1], levels], 1), [0, 50, 100])
    point = dl.analysis.summarize(result)
    fit = point["pairs"][0]["fit"]
    assert fit["p_value"] < summary_module.FIT_P_VALUE and fit["dof"] > 0
    assert any("two-level semicircle does not describe" in w for w in point["warnings"])


def test_summary_defines_its_symbols_once_at_the_top(stationary):
    summary = report.build_summary([stationary], [{}])
    assert {"alpha", "B", "A", "N", "x_i", "kappa_i", "sigma", "S", "U", "f"} <= set(
        summary["symbols"]
    )
    text = report.markdown(summary)
    top = text.split("\n## ")
    assert top[1].startswith("Symbols") and top[2].startswith("Warnings")
    assert text.count("## Symbols") == 1
    assert "[A." not in text and "[B." not in text and "[C." not in text and "SPEC" not in text
    assert summary["warnings"] == [] and "None." in text
    assert summary["tests"]["stationarity"].startswith("a point is flagged")


def test_every_fitted_number_stands_beside_its_prediction(stationary):
    point = report.build_summary([stationary], [{}])["points"][0]
    pair = point["pairs"][0]
    cfg = stationary.config
    f = 1 / np.sqrt(1 - cfg.lr / 2)  # the linear drift: c = 1
    small = np.sqrt(np.pi * cfg.lr * cfg.noise**2 / cfg.batch_size)
    assert pair["finite_lr_factor"] == pytest.approx(f)
    assert pair["predicted_mean_spacing_small_lr"] == pytest.approx(small)
    assert pair["predicted_mean_spacing"] == pytest.approx(f * small)
    # 400 replicas: <S> within 5 of its standard errors of the finite-alpha prediction.
    assert abs(pair["mean_spacing"] - pair["predicted_mean_spacing"]) < 5 * pair["mean_spacing_err"]
    text = report.markdown(report.build_summary([stationary], [{}]))
    assert "<S> predicted at alpha -> 0 | f" in text


def test_scan_slopes_beside_their_predictions_and_the_headline(stationary):
    other = dl.run_ensemble(dataclasses.replace(stationary.config, lr=0.05), replicas=400,
                            seed=6, progress=False, backend="serial")  # fmt: skip
    summary = report.build_summary([other, stationary], [{"lr": 0.05}, {"lr": 0.1}])
    scaling = summary["scaling"]
    assert scaling["predicted_spacing_slope"] == pytest.approx(np.sqrt(np.pi))
    assert 0 <= scaling["spacing_slope"]["p_value"] <= 1
    text = report.markdown(summary)
    assert "| <S> against sqrt(alpha A^2 / B) |" in text and "sqrt(pi) = 1.772" in text
    assert "## alpha=0.05 (dyson)" in text
    lines = report.headline(summary, "out", [])
    assert len(lines) <= 8
    assert "prediction sqrt(pi) = 1.772" in lines[2] and "+/-" in lines[2]
    assert lines[-1] == "  no warnings"


def test_headline_lists_at_most_three_warnings():
    summary = {"points": [], "pool_last": 3, "warnings": [f"w{i}" for i in range(5)]}
    lines = report.headline(summary)
    assert "pool the last 3 snapshots" in lines[0]
    assert lines[1:] == ["  5 warnings:", "  - w0", "  - w1", "  - w2",
                         "  - and 2 more: see summary.md"]  # fmt: skip


def test_rbm_labels_use_the_package_symbols():
    labels = dl.models.model_for(dl.RBMConfig()).labels
    assert labels.slope_text == "sqrt(2 pi) = 2.507"
    assert "lr" not in labels.scale_text and "[" not in labels.level_label
