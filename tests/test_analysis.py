"""Analysis against known answers: exact samples of the two-level Coulomb gas
:eq:`two-level-density`, GOE and
Poisson spectra, Marchenko-Pastur, and small real ensembles."""

import json

import numpy as np
import pytest
from scipy import integrate

import dysonlearn as dl
from dysonlearn import analysis

X0, SIGMA = 2.0, 0.3


def coulomb_pair(rng, replicas, snapshots=1):
    """Exact draws of :eq:`two-level-density`: centre ~ N(x0, sigma^2 / 2), spacing ~
    Rayleigh(sqrt(2) sigma)
    (P(S) of :eq:`spacing-pdf`), independent; levels (replicas, snapshots, 2) ascending."""
    centre = rng.normal(X0, SIGMA / np.sqrt(2), (replicas, snapshots))
    spacing = rng.rayleigh(np.sqrt(2) * SIGMA, (replicas, snapshots))
    return np.stack([centre - spacing / 2, centre + spacing / 2], axis=-1)


def moment(pdf, k, lo=-20, hi=20):
    return integrate.quad(lambda x: x**k * pdf(x), lo, hi, limit=200)[0]


def test_densities_are_normalised_with_the_stated_moments():
    pdf = lambda x: analysis.semicircle2_pdf(x, 0.0, 1.0)
    assert moment(pdf, 0) == pytest.approx(1, abs=1e-10)
    assert moment(pdf, 2) == pytest.approx(1.5, abs=1e-10)  # :eq:`semicircle2`: 1.5 sigma^2
    assert moment(pdf, 4) == pytest.approx(5.75, abs=1e-9)  # 5.75 sigma^4
    assert 1 - 5.75 / (3 * 1.5**2) == pytest.approx(4 / 27)
    x = np.linspace(-4, 4, 9)
    cdf = [integrate.quad(pdf, -20, v)[0] for v in x]
    np.testing.assert_allclose(analysis.semicircle2_cdf(x, 0.0, 1.0), cdf, atol=1e-10)
    w = analysis.wigner_surmise
    assert moment(w, 0, 0, 20) == pytest.approx(1) and moment(w, 1, 0, 20) == pytest.approx(1)
    sp = lambda s: analysis.spacing_pdf(s, 0.7)
    assert moment(sp, 0, 0, 20) == pytest.approx(1) and moment(sp, 1, 0, 20) == pytest.approx(0.7)
    mp = lambda y: analysis.marchenko_pastur_pdf(y, 0.25, sigma_w=1.5)
    hi = 1.5**2 * 1.5**2
    assert moment(mp, 0, 0, hi) == pytest.approx(1, abs=1e-6)
    assert moment(mp, 1, 0, hi) == pytest.approx(1.5**2, abs=1e-6)  # E y = sigma_w^2


def test_fit_semicircle2_recovers_an_exact_coulomb_pair():
    rng = np.random.default_rng(1)
    fit = analysis.fit_semicircle2(coulomb_pair(rng, 4000, snapshots=2))
    # Maximum likelihood is unbiased to O(1/n); 4 jackknife errors (about 0.3 per cent
    # of sigma each) is the tolerance.
    assert abs(fit.x0 - X0) < 4 * fit.x0_err and abs(fit.sigma - SIGMA) < 4 * fit.sigma_err
    assert fit.sigma_err < 0.01 * SIGMA
    assert fit.ks_pvalue > 1e-3 and 0.5 < fit.chi2_dof < 2.0
    # A Gaussian is the wrong law for a pair: rejected by the same goodness-of-fit tests.
    wrong = analysis.fit_gaussian(coulomb_pair(rng, 4000, snapshots=2))
    assert wrong.ks_pvalue < 1e-3 or wrong.chi2_dof > 3


def test_fit_gaussian_and_wigner_on_known_samples():
    rng = np.random.default_rng(2)
    g = analysis.fit_gaussian(rng.normal(1.0, 0.2, (3000, 3)))
    assert abs(g.x0 - 1.0) < 4 * g.x0_err and abs(g.sigma - 0.2) < 4 * g.sigma_err
    pair = coulomb_pair(rng, 3000, snapshots=3)
    w = analysis.fit_wigner(pair[..., 1] - pair[..., 0])
    assert abs(w.mean - np.sqrt(np.pi) * SIGMA) < 4 * w.mean_err  # :eq:`spacing-pdf`
    assert w.ks_pvalue > 1e-3
    assert analysis.fit_wigner(rng.exponential(1.0, 3000)).ks_pvalue < 1e-6  # Poisson


def test_binder_cumulant_of_pair_and_single_level():
    rng = np.random.default_rng(3)
    pair = coulomb_pair(rng, 20000)
    u, err = analysis.jackknife(analysis.binder_cumulant, pair, blocks=50)
    assert abs(u - 4 / 27) < 4 * err and err < 0.01
    v, verr = analysis.jackknife(analysis.binder_cumulant, rng.normal(size=(20000, 2)), blocks=50)
    assert abs(v) < 4 * verr


def test_jackknife_agrees_with_a_bootstrap_on_the_mean():
    rng = np.random.default_rng(4)
    data = rng.exponential(2.0, 2000)
    _, jack = analysis.jackknife(np.mean, data)
    boot = np.std([np.mean(rng.choice(data, data.size)) for _ in range(2000)])
    # Both estimate sd/sqrt(n) = 0.045; the bootstrap's own spread over 2000 resamples is
    # about 1.6 per cent, so 6 per cent is a wide margin.
    assert jack == pytest.approx(boot, rel=0.06)
    assert jack == pytest.approx(data.std(ddof=1) / np.sqrt(data.size), rel=1e-10)


def test_gap_ratio_of_goe_and_poisson_levels():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(400, 60, 60))
    goe = np.linalg.eigvalsh((a + a.transpose(0, 2, 1)) / 2)[:, 10:-10]  # bulk
    poisson = np.sort(rng.uniform(size=(400, 60)), axis=1)
    # 400 x 38 ratios, spread ~0.26 each: standard error < 0.003; 0.01 is > 3 of them.
    assert analysis.gap_ratio(goe) == pytest.approx(0.5307, abs=0.01)
    assert analysis.gap_ratio(poisson) == pytest.approx(0.3863, abs=0.01)


def test_marchenko_pastur_matches_sampled_weights():
    rng = np.random.default_rng(6)
    n_h, n_v, sigma_w = 200, 50, 0.7
    w = rng.normal(0, sigma_w, (20, n_h, n_v))
    y = np.linalg.eigvalsh(w.transpose(0, 2, 1) @ w / n_h).ravel()
    grid = np.linspace(0, 2 * sigma_w**2 * (1 + 0.5) ** 2, 20001)
    cdf = integrate.cumulative_trapezoid(
        analysis.marchenko_pastur_pdf(grid, n_v / n_h, sigma_w), grid, initial=0
    )
    # Finite-N edges blur the law by O(N^-2/3): compare in the sup norm, loosely.
    empirical = np.searchsorted(np.sort(y), grid) / y.size
    assert np.max(np.abs(empirical - cdf)) < 0.03


def test_slope_through_origin():
    rng = np.random.default_rng(7)
    x = np.linspace(0.1, 1.0, 30)
    err = np.full(30, 0.02)
    fit = analysis.fit_slope_through_origin(x, 1.7 * x + rng.normal(0, 0.02, 30), err)
    assert abs(fit.slope - 1.7) < 4 * fit.slope_err and 0.4 < fit.chi2_dof < 2.0
    with pytest.raises(ValueError, match="yerr"):
        analysis.fit_slope_through_origin(x, x, np.zeros(30))


def test_degenerate_groups_and_spacings():
    x_star = dl.targets.free_scalar(10, 2.0).learnt_spectrum(3.0)
    groups = analysis.degenerate_groups(x_star)
    assert groups == [(0,), (1, 2), (3, 4), (5, 6), (7, 8), (9,)]
    kappa = dl.targets.free_scalar(10, 2.0).spectrum
    assert analysis.degenerate_groups(kappa, mu=3.0) == groups
    eigs = np.arange(10.0)[None, :] ** 2
    np.testing.assert_array_equal(analysis.level_spacings(eigs, [(1, 2), (3, 4)]), [[3.0, 7.0]])


def test_scaling_table_on_a_teacher_student_scan():
    results = [
        dl.run_ensemble(
            dl.TeacherStudentConfig(noise=noise, steps=1500, snapshots=[1000, 1250, 1500]),
            replicas=600, seed=8, progress=False,
        )
        for noise in (0.05, 0.1, 0.2)
    ]  # fmt: skip
    table = analysis.scaling_table(results, snapshots=3)
    assert len(table.pairs) == 3 and len(table.levels) == 3  # one level per pair
    # <S> = sqrt(pi) sigma with sigma^2 = lr A^2 / B / (1 - lr / 2) :eq:`ts-degenerate-spacing`,
    # :eq:`finite-lr-variance`: slope sqrt(pi / (1 - lr / 2)) = 1.818 against sqrt(lr A^2 / B), up
    # to ~3 % data noise.
    expected = np.sqrt(np.pi / (1 - 0.1 / 2))
    assert table.spacing_slope.slope == pytest.approx(expected, rel=0.04)
    assert table.spacing_vs_width.slope == pytest.approx(
        1.0, abs=4 * table.spacing_vs_width.slope_err + 0.03
    )
    for row in table.pairs:
        assert row.binder == pytest.approx(4 / 27, abs=4 * row.binder_err)
    for row in table.levels:  # the teacher is learnt: lambda_fit / kappa = 1
        assert row.lambda_over_kappa == pytest.approx(
            1.0, abs=4 * row.lambda_fit_err / row.kappa + 1e-3
        )
    json.dumps(table.to_dict())


def test_summarize_an_rbm_ensemble():
    res = dl.run_ensemble(dl.RBMConfig(steps=3000, snapshots=[2000, 2500, 3000]), replicas=48,
                          seed=9, progress=False)  # fmt: skip
    summary = analysis.summarize(res, snapshots=3)
    text = json.dumps(summary)  # plain data
    assert "NaN" not in text
    assert [p["modes"] for p in summary["pairs"]] == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert summary["levels"][0]["gaussian_fit"]["model"] == "gaussian"
    assert 0 < summary["gap_ratio"] < 1
    scan = analysis.summarize([res, res])
    assert len(scan["points"]) == 2 and "scaling" in scan
