"""Spectral unfolding (:doc:`/theory/statistics`) against GOE, Marchenko-Pastur and Poisson
spectra."""

import numpy as np
import pytest
from scipy import integrate, stats

from dysonlearn import analysis
from dysonlearn.analysis.unfolding import marchenko_pastur_cdf, semicircle_cdf, unfold

N_GOE, K_GOE = 200, 60
N_H, N_V, SIGMA_W = 400, 100, 0.7


@pytest.fixture(scope="module")
def goe():
    """K_GOE GOE spectra of size N_GOE: H = (A + A^T) / sqrt(2), A_ij ~ N(0, 1)."""
    a = np.random.default_rng(11).normal(size=(K_GOE, N_GOE, N_GOE))
    return np.linalg.eigvalsh((a + np.swapaxes(a, 1, 2)) / np.sqrt(2))


@pytest.fixture(scope="module")
def marchenko_pastur():
    """40 spectra of W^T W / N_h, W (N_h, N_v) with N(0, sigma_w^2) entries: c = 1/4."""
    w = np.random.default_rng(12).normal(0.0, SIGMA_W, size=(40, N_H, N_V))
    return np.linalg.eigvalsh(np.swapaxes(w, 1, 2) @ w / N_H)


def bulk_spacings(unfolded):
    """Nearest-neighbour spacings of the middle half of each spectrum."""
    n = unfolded.shape[-1]
    return np.diff(np.sort(unfolded, axis=-1), axis=-1)[..., n // 4 : 3 * n // 4]


@pytest.mark.parametrize(
    ("method", "options"),
    [("semicircle", {}), ("polynomial", {}), ("polynomial", {"degree": 9}), ("spline", {})],
)
def test_goe_unfolds_to_unit_spacing_and_the_wigner_surmise(goe, method, options):
    unfolded = unfold(goe, method, **options)
    assert unfolded.shape == goe.shape
    assert np.all(np.diff(unfolded, axis=-1) > 0)  # the map keeps the order
    s = bulk_spacings(unfolded)
    # Mean bulk spacing: levels are rigid, so one spectrum's mean over 100 spacings
    # scatters by 0.01 and the mean over 60 spectra by 0.0013; 2 per cent is then 15
    # standard errors, and bounds the smooth map's bias (measured: below 0.1 per cent).
    assert np.mean(s) == pytest.approx(1.0, abs=0.02)
    # <s^2> = 4/pi = 1.273 for the Wigner surmise; the N -> infinity GOE law has 1.286
    # (1 per cent more). Var(s^2) = 16/pi^2 gives a standard error 0.016 (1.3 per cent)
    # over the 6000 spacings: 4 per cent is the 1 per cent bias plus 2 standard errors
    # (measured: +1.3 to +1.5 per cent).
    assert np.mean(s**2) == pytest.approx(4 / np.pi, rel=0.04)
    # KS against the surmise: the surmise-vs-GOE distance (about 0.005) is well inside
    # the p = 1e-3 critical distance 1.95 / sqrt(6000) = 0.025.
    assert stats.kstest(s.ravel(), analysis.wigner_cdf).pvalue > 1e-3


def test_marchenko_pastur_unfolds_to_unit_spacing(marchenko_pastur):
    fitted = unfold(marchenko_pastur, "marchenko_pastur")
    given = unfold(marchenko_pastur, "marchenko_pastur", ratio=N_V / N_H, sigma_w=SIGMA_W)
    for unfolded in (fitted, given):
        assert unfolded.shape == marchenko_pastur.shape
        assert unfolded.min() >= 0 and unfolded.max() <= N_V
        s = bulk_spacings(unfolded)
        # As for GOE: per-spectrum mean spacing scatters by 0.018 over 50 spacings, the
        # mean over 40 spectra by 0.003; 2 per cent is over 6 standard errors.
        assert np.mean(s) == pytest.approx(1.0, abs=0.02)
        # The Gram spectrum is a GOE-class (beta = 1) spectrum: <s^2> has the 1 per cent
        # bias of GOE and a standard error 1.27 / sqrt(2000) = 0.028 (2.2 per cent) over
        # 2000 spacings; 6 per cent is the bias plus over 2 standard errors.
        assert np.mean(s**2) == pytest.approx(4 / np.pi, rel=0.06)
    # Fitted or given parameters: the maps differ by under one level (measured 0.28).
    assert np.max(np.abs(fitted - given)) < 0.01 * N_V


def test_poisson_levels_keep_their_exponential_spacings():
    # Uncorrelated levels: the staircase is linear, spacings are Exp(1) after unfolding:
    # the bulk mean spacing of one spectrum (100 spacings) scatters by 0.1, the mean
    # over 40 spectra by 0.016, so 0.05 is 3 standard errors; <s^2> = 2, standard error
    # sqrt(20 / 4000) = 0.07 over 4000 spacings, so 0.25 is 3.5 of them (GOE's 1.27 is
    # far outside).
    levels = np.sort(np.random.default_rng(13).uniform(-1, 1, size=(40, 200)), axis=-1)
    s = bulk_spacings(unfold(levels, "polynomial", degree=3))
    assert np.mean(s) == pytest.approx(1.0, abs=0.05)
    assert np.mean(s**2) == pytest.approx(2.0, abs=0.25)


def test_unfolding_maps_each_level_and_keeps_the_shape(goe):
    spectra = goe[:24].reshape(2, 3, 4, N_GOE)
    unfolded = unfold(spectra, "semicircle")
    assert unfolded.shape == spectra.shape
    # Elementwise: shuffled levels unfold to the same values, shuffled.
    order = np.random.default_rng(14).permutation(N_GOE)
    np.testing.assert_allclose(unfold(spectra[..., order], "semicircle"), unfolded[..., order])
    # Pooling: the staircase counts levels per spectrum, so unfolded levels span (0, N).
    poly = unfold(spectra, "polynomial")
    assert -2 < poly.min() < 2 and N_GOE - 2 < poly.max() < N_GOE + 2


def test_cdfs_match_numerical_integrals_of_the_densities():
    x = np.linspace(-1.2, 1.2, 13)
    density = lambda v: 2 / np.pi * np.sqrt(max(0.0, 1 - v * v))
    expected = [integrate.quad(density, -1, min(max(v, -1), 1))[0] for v in x]
    np.testing.assert_allclose(semicircle_cdf(x), expected, atol=1e-9)
    for ratio in (0.25, 1.0):
        y = np.linspace(0, 1.1 * 2.25 * (1 + np.sqrt(ratio)) ** 2, 9)  # sigma_w = 1.5
        pdf = analysis.marchenko_pastur_pdf
        expected = [integrate.quad(pdf, 0, v, args=(ratio, 1.5), limit=200)[0] for v in y]
        np.testing.assert_allclose(marchenko_pastur_cdf(y, ratio, 1.5), expected, atol=1e-6)


def test_invalid_input_is_refused_with_the_rule_named(goe):
    with pytest.raises(
        ValueError, match=r"eigs: unfolding needs spectra \(\.\.\., N\) with N > 2"
    ):
        unfold(np.ones((5, 2)))
    with pytest.raises(ValueError, match="N > 2"):
        unfold(3.0)
    with pytest.raises(ValueError, match="method: must be one of"):
        unfold(goe, "wigner")
    bad = goe[:3].copy()
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match="eigs: has non-finite levels"):
        unfold(bad)
    with pytest.raises(ValueError, match="degree: must be an integer >= 1"):
        unfold(goe, degree=0)
    with pytest.raises(ValueError, match="knots: must be an integer >= 1"):
        unfold(goe, "spline", knots=0)
    with pytest.raises(ValueError, match="knots: 60 interior knots need"):
        unfold(goe[:1, :100], "spline", knots=60)
    with pytest.raises(ValueError, match="eigs: all levels are equal"):
        unfold(np.ones((2, 5)), "semicircle")
    with pytest.raises(ValueError, match=r"ratio: must lie in \(0, 1\]"):
        unfold(np.abs(goe[:2]), "marchenko_pastur", ratio=2.0)
    # A wide Gram matrix (N_v = 2 N_h) has a zero-level mass: no Marchenko-Pastur c <= 1.
    w = np.random.default_rng(15).normal(size=(10, 20, 40))
    wide = np.linalg.eigvalsh(np.swapaxes(w, 1, 2) @ w / 20)
    with pytest.raises(ValueError, match=r"ratio: the fitted c = .* is outside \(0, 1\]"):
        unfold(wide, "marchenko_pastur")
