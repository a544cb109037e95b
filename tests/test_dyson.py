"""Eigenvalue-level Dyson Brownian motion :eq:`dyson-bm` with linear and RBM drifts."""

import re

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import kernels


def test_one_step_is_the_spectrum_of_drift_plus_goe_noise():
    """Kernel step = eigenvalues of diag(x + lr K(x)) + (lr g / sqrt(B)) H, H drawn from the
    replica's stream (upper triangle row by row, diagonal with variance 2)."""
    lr, g, B = 0.3, 0.7, 4
    for n, drift, mu in [(2, "linear", 0.0), (4, "linear", 0.0), (3, "rbm", 3.0)]:
        x0 = np.linspace(0.5, 2.0, n)
        kappa = np.linspace(2.0, 3.0, n)[::-1] if drift == "rbm" else np.linspace(1.0, 2.0, n)
        levels = x0[None].copy()
        kernels.dyson(levels, kappa, [np.random.SFC64(4)], lr=lr, noise=g, batch_size=B,
                      stop=1, drift=drift, mu=mu)  # fmt: skip
        z = kernels.standard_normals(np.random.SFC64(4), n * (n + 1) // 2)
        H = np.zeros((n, n))
        H[np.triu_indices(n)] = z
        H = H + np.triu(H, 1).T
        H[np.diag_indices(n)] *= np.sqrt(2)
        if drift == "linear":
            moved = x0 + lr * (kappa - x0)
        else:
            moved = x0 + lr * 2 * x0 * (1 / kappa - 1 / (mu**2 - x0))  # :eq:`fp-drift`
        expected = np.linalg.eigvalsh(np.diag(moved) + lr * g / np.sqrt(B) * H)
        np.testing.assert_allclose(levels[0], expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize(("lr", "batch", "noise"), [(0.1, 16, 0.1), (0.4, 4, 0.05)])
def test_degenerate_pair_spacing(lr, batch, noise):
    cfg = dl.DysonConfig(kappa=[1.0, 1.0], noise=noise, lr=lr, batch_size=batch, steps=2000,
                         snapshots=list(range(1000, 2001, 100)))  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=2000, seed=3, progress=False)
    per = (res.eigenvalues[:, 1:, 1] - res.eigenvalues[:, 1:, 0]).mean(axis=1)
    # :eq:`ts-degenerate-spacing`, :eq:`finite-lr-variance`
    predicted = np.sqrt(np.pi * lr * noise**2 / batch) / np.sqrt(1 - lr / 2)
    # The exact 2 x 2 step has no data noise: 4 standard errors plus 1.5 per cent.
    assert abs(per.mean() - predicted) < 4 * per.std() / np.sqrt(per.size) + 0.015 * predicted


def test_rbm_drift_settles_at_mu_squared_minus_kappa():
    kappa = [4.0, 4.382, 4.382, 5.382, 5.382, 6.618, 6.618, 7.618, 7.618, 8.0]
    cfg = dl.DysonConfig(kappa=kappa, drift="rbm", mu=3.0, noise=0.05, lr=0.1, batch_size=16,
                         steps=6000, snapshots=[5000, 6000])  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=64, seed=4, progress=False)
    assert not res.failed.any()
    late = res.eigenvalues[:, 1:]
    assert np.all(np.diff(late, axis=-1) >= 0)
    # Stationary levels within 0.1 of x* = mu^2 - kappa (the widths are ~0.02 here and a
    # pair's members sit about half a spacing either side of x*).
    np.testing.assert_allclose(late.mean(axis=(0, 1)), cfg.stationary_levels, atol=0.1)


def test_rbm_levels_reflect_at_zero():
    """Levels started at 0 with strong noise stay >= 0 (x = xi^2) and stay sorted."""
    cfg = dl.DysonConfig(kappa=[6.0, 7.0, 8.0], drift="rbm", mu=3.0, noise=0.5, lr=0.1,
                         steps=50, snapshots=50, init_levels=[0.0, 0.0, 0.0])  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=50, seed=6, backend="serial", progress=False)
    assert not res.failed.any()
    assert np.all(res.eigenvalues >= 0) and np.all(np.diff(res.eigenvalues, axis=-1) >= 0)
    assert np.all(res.eigenvalues[:, 1:, 0] > 0)  # they do leave 0


def test_leaving_the_rbm_domain_is_a_divergence():
    cfg = dl.DysonConfig(kappa=[4.0, 8.0], drift="rbm", mu=3.0, noise=5.0, lr=0.5, batch_size=1,
                         steps=200, snapshots=[0, 100, 200])  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=50, seed=5, backend="serial", progress=False)
    assert res.failed.any()
    for r in np.flatnonzero(res.failed):
        assert np.all(np.isnan(res.eigenvalues[r, res.steps >= res.fail_step[r]]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kappa": [1.0]}, "kappa: must be a list of at least 2 numbers"),
        ({"noise": 0.0}, "noise: must be a finite number > 0"),
        ({"drift": "cubic"}, "drift: must be one of 'linear', 'rbm'"),
        ({"drift": "rbm"}, "mu: is required for drift 'rbm'"),
        ({"drift": "rbm", "mu": 1.0}, "kappa: must lie in (0, mu^2 = 1)"),
        ({"mu": 3.0}, "mu: is used only by drift 'rbm'"),
        ({"init_levels": [1.0, 2.0, 3.0]}, "init_levels: must have 2 values"),
    ],
)
def test_dyson_config_errors(kwargs, message):
    with pytest.raises(dl.ConfigError, match=re.escape(message)):
        dl.DysonConfig(**kwargs)
