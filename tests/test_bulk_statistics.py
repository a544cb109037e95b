"""Statistics of many levels (:doc:`/theory/statistics`): unfolded bulk spacings and the gap
ratio on synthetic GOE and Poisson spectra, the Marchenko-Pastur test on square and
non-square Gram matrices, and the same on small RBM ensembles."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import analysis
from dysonlearn.analysis import (
    GOE_GAP_RATIO,
    POISSON_GAP_RATIO,
    bulk_statistics,
    marchenko_pastur_test,
)

R, N = 60, 200


@pytest.fixture(scope="module")
def goe():
    """R GOE spectra of size N: H = (A + A^T) / sqrt(2), A_ij ~ N(0, 1)."""
    a = np.random.default_rng(21).normal(size=(R, N, N))
    return np.linalg.eigvalsh((a + np.swapaxes(a, 1, 2)) / np.sqrt(2))


@pytest.fixture(scope="module")
def poisson():
    """R spectra of N independent levels with a smooth, non-uniform density (|normal|)."""
    return np.sort(np.abs(np.random.default_rng(22).normal(size=(R, N))), axis=-1)


def test_goe_bulk_spacings_follow_wigner_and_the_gap_ratio_is_goe(goe):
    stats = bulk_statistics(goe)
    assert stats.bulk == (50, 150) and stats.n_replicas == R and stats.n_levels == N
    assert stats.spacings.shape == (R, 1, 99)
    assert stats.spacings.mean() == pytest.approx(1.0)
    # A good unfolding has mean spacing 1: the spline follows the semicircle within 1 %.
    assert stats.mean_spacing == pytest.approx(1.0, abs=0.01)
    # Seeded: the KS test of ~2000 spacings cannot tell the surmise from GOE (its largest
    # CDF difference to the exact large-N law, ~0.005, is below the KS resolution of
    # ~1.36 / sqrt(2000) = 0.03), while Poisson is far off.
    assert stats.ks_pvalue > 0.01 and stats.ks_statistic < 0.03
    assert stats.poisson_ks_pvalue < 1e-20
    # r within 3 jackknife errors of 0.5307 (the error of a mean of ~6000 ratios of spread
    # ~0.25, correlated within a spectrum: ~0.003-0.004), and far from Poisson.
    assert 0.002 < stats.gap_ratio_err < 0.008
    assert abs(stats.gap_ratio - GOE_GAP_RATIO) < 3 * stats.gap_ratio_err
    assert stats.gap_ratio_z(POISSON_GAP_RATIO) > 20
    record = stats.to_dict()
    assert "spacings" not in record and record["bulk"] == [50, 150]
    assert record["gap_ratio_z_goe"] == pytest.approx(stats.gap_ratio_z())


def test_goe_unfolded_by_the_semicircle_gives_the_same_law(goe):
    stats = bulk_statistics(goe, method="semicircle", bulk=0.4, stride=5)
    assert stats.bulk == (60, 140) and stats.ks_sample == R * 16
    assert stats.ks_pvalue > 0.01
    assert abs(stats.gap_ratio_z()) < 3


def test_poisson_levels_give_exponential_spacings_and_2_ln2_minus_1(poisson):
    stats = bulk_statistics(poisson)
    assert stats.poisson_ks_pvalue > 0.01 and stats.ks_pvalue < 1e-20
    # The standard error of the Poisson mean ratio: spread ~0.29 over ~6000 ratios, ~0.004.
    assert abs(stats.gap_ratio - POISSON_GAP_RATIO) < 3 * stats.gap_ratio_err
    assert POISSON_GAP_RATIO == pytest.approx(2 * math.log(2) - 1)
    assert stats.gap_ratio_z(GOE_GAP_RATIO) < -20


def test_an_evenly_spaced_spectrum_is_neither(goe):
    """A picket fence: every gap equal, r = 1, and all spacings at 1."""
    fence = np.tile(np.arange(N, dtype=float), (4, 1))
    stats = bulk_statistics(fence, method="polynomial", degree=1)
    assert stats.gap_ratio == pytest.approx(1.0) and stats.gap_ratio_err == pytest.approx(0)
    np.testing.assert_allclose(stats.spacings, 1.0)
    assert stats.ks_pvalue < 1e-10 and stats.poisson_ks_pvalue < 1e-10


def test_snapshots_of_a_replica_are_pooled_and_replicas_carry_the_error(goe):
    """(R, S, N): the snapshot axis is pooled, the jackknife runs over replicas."""
    stats = bulk_statistics(goe.reshape(R // 2, 2, N))
    assert stats.n_replicas == R // 2 and stats.spacings.shape == (R // 2, 2, 99)
    assert abs(stats.gap_ratio_z()) < 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"bulk": 0.0}, "bulk: must be a fraction in"), ({"bulk": 1.5}, "bulk: must be a fraction"),
     ({"bulk": 0.01}, "bulk: keeps 2 of 200 levels"), ({"stride": 0}, "stride: must be an"),
     ({"method": "magic"}, "method: must be one of"),
     ({"snapshots": 2}, "snapshots: only for an EnsembleResult")],
)  # fmt: skip
def test_bad_arguments_name_the_field_and_the_rule(goe, kwargs, match):
    with pytest.raises(ValueError, match=match):
        bulk_statistics(goe, **kwargs)


def test_bad_spectra_are_refused_with_the_rule(goe):
    with pytest.raises(ValueError, match="spectra: must be"):
        bulk_statistics(goe[0])
    with pytest.raises(ValueError, match="need at least 2 replicas"):
        bulk_statistics(goe[:1])
    bad = goe.copy()
    bad[3, 7] = np.nan
    with pytest.raises(ValueError, match="non-finite levels"):
        bulk_statistics(bad)


# -- Marchenko-Pastur -------------------------------------------------------------------------


def _gram_spectra(n_visible, n_hidden, sigma_w, sigma_h, count, seed):
    """Eigenvalues of sigma_h^2 W^T W (ascending), W (N_h, N_v) with N(0, sigma_w^2) entries."""
    w = np.random.default_rng(seed).normal(0.0, sigma_w, size=(count, n_hidden, n_visible))
    return np.linalg.eigvalsh(sigma_h**2 * np.swapaxes(w, 1, 2) @ w)


@pytest.mark.parametrize(("n_visible", "n_hidden"), [(400, 400), (400, 800), (800, 400)])
def test_gram_spectra_pass_marchenko_pastur_and_a_wrong_law_fails(n_visible, n_hidden):
    x = _gram_spectra(n_visible, n_hidden, 0.3, 1.5, 2, seed=n_visible + n_hidden)
    kwargs = {"n_visible": n_visible, "n_hidden": n_hidden, "sigma_h": 1.5}
    test = marchenko_pastur_test(x, sigma_w=0.3, **kwargs)
    small = min(n_visible, n_hidden)
    assert test.ratio == pytest.approx(small / max(n_visible, n_hidden))
    assert test.n_levels == small and test.n_spectra == 2
    assert test.transposed == (n_visible > n_hidden)
    # Eigenvalues repel: the empirical CDF of 2 x 400 levels lies within ~1/N of the law,
    # far below the KS resolution 1.36 / sqrt(800) ~ 0.05 of independent draws.
    assert test.pvalue > 0.5 and test.statistic < 0.02
    # sigma_w 20 % off scales every level by 1.44: a distance of about 0.1, twice the KS
    # resolution of independent draws, p < 1e-6.
    wrong = marchenko_pastur_test(x, sigma_w=0.36, **kwargs)
    assert wrong.statistic > 0.08 and wrong.pvalue < 1e-6
    assert test.to_dict()["ratio"] == test.ratio


def test_marchenko_pastur_of_an_rbm_reads_its_configuration():
    """Step-0 spectra of a small RBM ensemble; its config gives the sizes and sigma_w."""
    cfg = dl.RBMConfig(n_visible=60, n_hidden=120, init="mp_hidden", init_scale=1.0,
                       sigma_h=1.2, steps=1, snapshots=1, sampler="gibbs")  # fmt: skip
    result = dl.run_ensemble(cfg, 20, seed=5, backend="serial", progress=False)
    test = marchenko_pastur_test(result)
    assert test.ratio == pytest.approx(0.5) and test.n_spectra == 20 and test.n_levels == 60
    assert test.sigma_w == pytest.approx(math.sqrt(cfg.init_variance))
    assert test.pvalue > 0.01


def test_marchenko_pastur_refuses_bad_input():
    x = _gram_spectra(50, 100, 0.3, 1.0, 1, seed=3)
    with pytest.raises(ValueError, match="n_hidden: must be an integer >= 1 for arrays"):
        marchenko_pastur_test(x, n_visible=50, sigma_w=0.3)
    with pytest.raises(ValueError, match="sigma_w: must be positive"):
        marchenko_pastur_test(x, n_visible=50, n_hidden=100)
    with pytest.raises(ValueError, match="must hold N_v = 60 levels"):
        marchenko_pastur_test(x, n_visible=60, n_hidden=100, sigma_w=0.3)
    with pytest.raises(ValueError, match="no finite spectrum"):
        marchenko_pastur_test(np.full((1, 50), np.nan), n_visible=50, n_hidden=100, sigma_w=0.3)
    teacher_student = SimpleNamespace(config=dl.TeacherStudentConfig(),
                                      eigenvalues=np.ones((2, 1, 2)))  # fmt: skip
    with pytest.raises(ValueError, match="needs an RBM ensemble"):
        marchenko_pastur_test(teacher_student)


# -- a large-N RBM ----------------------------------------------------------------------------


def test_a_trained_rbm_with_a_dense_target_shows_goe_statistics():
    """N = 60 levels of an evenly spaced target (gap ratio 1): the noise of learning makes
    the bulk GOE-like. 24 replicas x 3 snapshots; r within 3 jackknife errors (~0.01) of
    0.5307 and many errors from Poisson and from the picket fence's 1."""
    n = 60
    kappa = 2.0 + 4.0 * (np.arange(n) + 0.5) / n
    cfg = dl.RBMConfig(n_visible=n, n_hidden=90, mu=3.0, k=3, lr=0.06, batch_size=64,
                       steps=600, snapshots=(400, 500, 600), init="mp_hidden",
                       init_scale=1.3, target=dl.targets.from_spectrum(kappa),
                       sampler="gibbs")  # fmt: skip
    result = dl.run_ensemble(cfg, 24, seed=3, backend="serial", progress=False)
    assert not result.failed.any()
    stats = bulk_statistics(result, snapshots=3)
    assert stats.n_replicas == 24 and stats.spacings.shape[:2] == (24, 3)
    assert abs(stats.gap_ratio_z()) < 3
    assert stats.gap_ratio_z(POISSON_GAP_RATIO) > 5
    assert 1 - stats.gap_ratio > 5 * stats.gap_ratio_err
    assert stats.ks_pvalue > 0.001
    with pytest.raises(ValueError, match="snapshots: must be an integer >= 1"):
        bulk_statistics(result, snapshots=0)


def test_the_exports_are_documented_names():
    for name in ("bulk_statistics", "marchenko_pastur_test", "BulkStatistics",
                 "MarchenkoPasturTest", "GOE_GAP_RATIO", "POISSON_GAP_RATIO"):  # fmt: skip
        assert name in analysis.__all__
