"""The balancedness of deep linear networks (analysis.balancedness, :doc:`/theory/deep_linear`):
the matrices against a direct computation, the drift's scaling without and with the noise
added by hand, the fit, the validation and the figure."""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

import dysonlearn as dl
from dysonlearn import plots
from dysonlearn.analysis import (
    BalancednessDrift,
    balanced_layers,
    balancedness,
    balancedness_drift,
    diffusion_prefactor,
    fit_drift,
    split_layers,
)

TIMES = np.unique(np.geomspace(50, 2000, 10).astype(int))


def _direct(weights, widths):
    """Layers and D_l by explicit loops over replicas and layers."""
    layers, ds = [], []
    for w in weights:
        start, mats = 0, []
        for i in range(len(widths) - 1):
            size = widths[i + 1] * widths[i]
            mats.append(np.array(w[start:start + size]).reshape(widths[i + 1], widths[i]))
            start += size
        layers.append(mats)
        ds.append([mats[i + 1].T @ mats[i + 1] - mats[i] @ mats[i].T
                   for i in range(len(mats) - 1)])  # fmt: skip
    return layers, ds


@pytest.mark.parametrize("widths", [(3, 4, 2), (2, 3, 4, 5), (3, 3)])
def test_split_layers_and_balancedness_against_a_direct_computation(widths):
    n_weights = dl.kernels.deep_linear_n_weights(widths)
    weights = np.random.default_rng(5).normal(size=(4, n_weights))
    layers = split_layers(weights, widths)
    ds = balancedness(weights, widths)
    direct_layers, direct_ds = _direct(weights, widths)
    assert len(layers) == len(widths) - 1 and len(ds) == len(widths) - 2
    for i, layer in enumerate(layers):
        assert layer.shape == (4, widths[i + 1], widths[i])
        assert np.shares_memory(layer, weights)  # a view
        for r in range(4):
            np.testing.assert_array_equal(layer[r], direct_layers[r][i])
    for i, d in enumerate(ds):
        assert d.shape == (4, widths[i + 1], widths[i + 1])
        for r in range(4):
            np.testing.assert_allclose(d[r], direct_ds[r][i], rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(d, np.swapaxes(d, 1, 2), atol=1e-13)


def test_balanced_layers_are_a_balanced_minimum():
    # Full rank: the end-to-end map is the teacher and every D_l vanishes.
    cfg = dl.DeepLinearConfig(widths=[3, 3, 3, 3], teacher=[[1.0, 0.5, 0.0], [0.0, 2.0, 0.3],
                                                            [0.2, 0.0, 1.5]])  # fmt: skip
    w = balanced_layers(cfg)
    w1, w2, w3 = split_layers(w, cfg.widths)
    np.testing.assert_allclose(w3 @ w2 @ w1, cfg.teacher_matrix, atol=1e-12)
    for d in balancedness(w, cfg.widths):
        np.testing.assert_allclose(d, 0.0, atol=1e-12)
    # A bottleneck: the best rank-2 approximation, still balanced.
    cfg = dl.DeepLinearConfig(widths=[4, 2, 4], teacher=[2.0, 3.0, 1.0, 0.5])
    w1, w2 = split_layers(balanced_layers(cfg), cfg.widths)
    np.testing.assert_allclose(w2 @ w1, np.diag([2.0, 3.0, 0.0, 0.0]), atol=1e-12)
    np.testing.assert_allclose(balancedness(balanced_layers(cfg), cfg.widths)[0], 0.0,
                               atol=1e-12)  # fmt: skip


def test_the_drift_run_trains_the_ensembles_replicas_bit_for_bit():
    cfg = dl.DeepLinearConfig(
        widths=[3, 4, 2], teacher=[[1.0, 0.5, 0.0], [0.0, 1.0, 2.0]], noise=0.2, lr=0.05,
        batch_size=8, steps=300, snapshots=3,
    )  # fmt: skip
    drift = balancedness_drift(cfg, 6, 7, [10, 150, 300])
    result = dl.run_ensemble(cfg, replicas=6, seed=7, keep_weights=True, backend="serial",
                             progress=False)  # fmt: skip
    np.testing.assert_array_equal(drift.weights[:, -1], result.weights)
    assert drift.drift.shape == (6, 3, 1) and not drift.failed.any()
    # the drift is |D(t) - D(0)| of the returned layers
    d0 = balancedness(drift.initial, cfg.widths)[0]
    d1 = balancedness(drift.weights[:, 1], cfg.widths)[0]
    np.testing.assert_allclose(drift.drift[:, 1, 0],
                               np.linalg.norm((d1 - d0).reshape(6, -1), axis=1))  # fmt: skip
    # default times: the snapshot steps after 0
    np.testing.assert_array_equal(balancedness_drift(cfg, 2, 7).times, [100, 200, 300])


def _bottleneck(lr):
    # widths [4, 2, 4] at teacher (2, 2, 1, 1): the student keeps the modes kappa = 2, and
    # the batch covariance's fluctuations keep a gradient alive at the minimum.
    return dl.DeepLinearConfig(widths=[4, 2, 4], teacher=[2.0, 2.0, 1.0, 1.0], noise=0.0,
                               lr=lr, batch_size=16, steps=int(TIMES[-1]))  # fmt: skip


def test_without_noise_the_drift_is_linear_in_t_and_of_order_lr_squared():
    fits = {}
    for lr in (0.02, 0.01):
        cfg = _bottleneck(lr)
        fits[lr] = balancedness_drift(cfg, 128, 1, TIMES, initial=balanced_layers(cfg)).fit()
    for fit in fits.values():
        # The jackknife error of gamma is ~0.002; the fit sits ~0.5-1.3% below 1: the
        # sqrt(t) part of the per-step fluctuations (relative weight ~ 1 / sqrt(t)) and the
        # slow shrinking of W_1 that the drift itself causes. 0.02 allows for both.
        assert abs(fit.gamma - 1.0) < 0.02, fit
    # Halving lr divides c by 4 :eq:`dl-balancedness-sgd`. The relative errors of the two
    # c are ~1.2% each (jackknife); the ratio also carries the O(lr) correction of the
    # next order (measured 4.6% at lr = 0.02): 3 standard errors plus 6%.
    ratio = fits[0.02].c / fits[0.01].c
    ratio_err = ratio * math.hypot(*(f.c_err / f.c for f in fits.values()))
    assert abs(ratio - 4.0) < 3 * ratio_err + 0.06 * 4.0, (ratio, ratio_err)
    # The prefactor at the balanced minimum, c = lr^2 (sum of the dropped kappa^2 / B)
    # |Q_L Q_L^T|_F = lr^2 (2 / 16) |2 * 1_2|_F :eq:`dl-balancedness-sgd`, at the smaller lr
    # within 3 standard errors plus the same 6% for the O(lr) correction.
    predicted = 0.01**2 * (2.0 / 16.0) * math.sqrt(2 * 2.0**2)
    assert dl.analysis.bottleneck_drift_rate(_bottleneck(0.01)) == pytest.approx([predicted])
    fit = fits[0.01]
    assert abs(fit.c - predicted) < 3 * fit.c_err + 0.06 * predicted, (fit.c, predicted)


def test_with_noise_the_drift_diffuses_at_the_predicted_rate():
    cfg = dl.DeepLinearConfig(widths=[4, 4, 4], teacher=[2.0] * 4, noise=0.5, lr=0.02,
                              batch_size=16, steps=int(TIMES[-1]))  # fmt: skip
    start = balanced_layers(cfg)
    drift = balancedness_drift(cfg, 128, 2, TIMES, initial=start)
    fit = drift.fit()
    # gamma = 1/2 within 3 jackknife standard errors (~0.007 here; the jackknife over
    # replicas includes the correlation of one replica's drift across times).
    assert abs(fit.gamma - 0.5) < 3 * fit.gamma_err, fit
    # sqrt(E |D(t) - D(0)|^2 / t) = c :eq:`dl-balancedness-diffusion`: per replica the mean
    # over times of |D(t) - D(0)|^2 / t; their mean over replicas has the standard error of
    # their spread / sqrt(R), halved for the square root (delta method). 3 of them.
    rms, rms_err = drift.diffusion_rate()
    predicted = float(diffusion_prefactor(cfg, start)[0])
    # c^2 = 2 (lr A)^2 (n_1 + 1) (|W_1|^2 + |W_2|^2) / B, each layer sqrt(2) 1_4: 8 + 8
    assert predicted == pytest.approx(0.02 * 0.5 * math.sqrt(2 * 5 * 16 / 16))
    assert abs(rms - predicted) < 3 * rms_err, (rms, rms_err, predicted)


def test_one_layer_has_no_balancedness():
    cfg = dl.DeepLinearConfig(widths=[3, 3], teacher=[1.0, 2.0, 3.0], steps=20)
    drift = balancedness_drift(cfg, 3, 0, [10, 20])
    assert drift.drift.shape == (3, 2, 0)
    assert balancedness(drift.initial, cfg.widths) == []
    assert diffusion_prefactor(cfg, drift.initial).shape == (3, 0)
    with pytest.raises(ValueError, match="layer"):
        drift.fit()


@pytest.fixture(scope="module")
def small():
    cfg = dl.DeepLinearConfig(widths=[2, 2, 2], teacher=[2.0, 2.0], steps=50, snapshots=5)
    return cfg, balancedness_drift(cfg, 4, 3)


@pytest.mark.parametrize("call, match", [
    (lambda cfg: split_layers(np.zeros((2, 7)), cfg.widths), "weights"),
    (lambda cfg: split_layers(np.zeros((2, 8)), [2]), "widths"),
    (lambda cfg: split_layers(np.zeros((2, 8)), [2, 0, 2]), "widths"),
    (lambda cfg: balancedness(np.zeros(9), cfg.widths), "weights"),
    (lambda cfg: balancedness_drift(dl.TeacherStudentConfig(), 4, 0), "config"),
    (lambda cfg: balancedness_drift(cfg, 0, 0), "replicas"),
    (lambda cfg: balancedness_drift(cfg, 2.5, 0), "replicas"),
    (lambda cfg: balancedness_drift(cfg, 4, -1), "seed"),
    (lambda cfg: balancedness_drift(cfg, 4, 0, [20, 10]), "times"),
    (lambda cfg: balancedness_drift(cfg, 4, 0, [0, 10]), "times"),
    (lambda cfg: balancedness_drift(cfg, 4, 0, [10, 60]), "times"),
    (lambda cfg: balancedness_drift(cfg, 4, 0, [1.5]), "times"),
    (lambda cfg: balancedness_drift(cfg, 4, 0, initial=np.zeros(7)), "initial"),
    (lambda cfg: balancedness_drift(cfg, 4, 0, initial=np.full(8, np.nan)), "initial"),
    (lambda cfg: balancedness_drift(cfg, 4, 0, bit_generator="MT"), "bit_generator"),
    (lambda cfg: balancedness_drift(cfg, 4, 0, normal_method="box"), "normal_method"),
    (lambda cfg: fit_drift([1, 2], np.ones((4, 3))), "times, drift"),
    (lambda cfg: fit_drift([1, 1], np.ones((4, 2))), "times"),
    (lambda cfg: fit_drift([0, 1], np.ones((4, 2))), "times"),
    (lambda cfg: fit_drift([1, 2], np.ones((2, 2))), "3 replicas"),
    (lambda cfg: fit_drift([1, 2], np.ones((4, 2))), "spread"),
    (lambda cfg: fit_drift([1, 2], np.arange(1.0, 9.0).reshape(4, 2), blocks=1), "blocks"),
])  # fmt: skip
def test_bad_arguments_are_refused_naming_the_argument(small, call, match):
    cfg, _ = small
    with pytest.raises(ValueError, match=match):
        call(cfg)


def test_fit_drift_recovers_a_power_law():
    rng = np.random.default_rng(0)
    t = np.geomspace(10, 1000, 8)
    data = 0.3 * t**0.5 * rng.lognormal(0.0, 0.2, (200, 1))  # one factor per replica
    fit = fit_drift(t, data)
    assert fit.gamma == pytest.approx(0.5, abs=1e-10)  # the factor only moves c
    assert abs(fit.c - 0.3 * np.mean(np.exp(rng.normal(0, 0.2, 10**6)))) < 4 * fit.c_err
    np.testing.assert_allclose(fit(t), fit.c * t**fit.gamma)


def test_the_figure_builds(small):
    cfg, noisy = small
    quiet = balancedness_drift(cfg.replace(noise=0.0), 4, 3)
    fig = plots.balancedness_figure([quiet, noisy], labels=["no noise", "noise"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("no noise" in t for t in texts) and any("slope 0.5" in t for t in texts)
    assert "step" in ax.get_xlabel() and "D_{1}" in ax.get_ylabel()
    fig.canvas.draw()
    assert isinstance(plots.balancedness_figure(noisy), Figure)
    with pytest.raises(ValueError, match="labels"):
        plots.balancedness_figure([noisy], labels=["a", "b"])
    with pytest.raises(ValueError, match="drifts"):
        plots.balancedness_figure([])
    with pytest.raises(ValueError, match="layer"):
        plots.balancedness_figure(noisy, layer=2)
    assert isinstance(noisy, BalancednessDrift)
