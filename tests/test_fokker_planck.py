"""One mode as a Fokker-Planck problem (:doc:`/theory/rbm`): stationary density, spectrum,
rates."""

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.linalg import eigh_tridiagonal

import dysonlearn as dl
from dysonlearn.analysis.fokker_planck import FokkerPlanckMode, RelaxationFit, relaxation_rate

# The pair level of the reference target (kappa = 4.382, mu = 3, x* = 4.618, :doc:`/theory/rbm`).
KAPPA, MU = 4.382, 3.0


def second_derivative_at_x_star(mode):
    """K''(x*) = -4 mu^2 / kappa^3, from :eq:`fp-drift`."""
    return -4.0 * mode.mu**2 / mode.kappa**3


def test_model_functions_are_those_of_b10_to_b13():
    mode = FokkerPlanckMode(KAPPA, MU, 1e-3)
    x = np.linspace(0.1, 8.5, 50)
    assert mode.x_star == pytest.approx(MU**2 - KAPPA)
    np.testing.assert_allclose(mode.drift([0.0, mode.x_star]), 0.0, atol=1e-14)
    # V' = -K :eq:`fp-potential`, by central differences (error ~ h^2 V''' ~ 1e-10).
    h = 1e-5
    dv = (mode.potential(x + h) - mode.potential(x - h)) / (2 * h)
    np.testing.assert_allclose(dv, -mode.drift(x), rtol=1e-7, atol=1e-8)
    dk = (mode.drift(x + h) - mode.drift(x - h)) / (2 * h)
    np.testing.assert_allclose(mode.drift_derivative(x), dk, rtol=1e-7, atol=1e-8)
    assert -mode.drift_derivative(mode.x_star) == pytest.approx(mode.omega, rel=1e-14)
    np.testing.assert_allclose(mode.harmonic_spectrum(4), mode.omega * np.arange(4))


def test_stationary_pdf_is_normalised_and_peaks_at_x_star():
    mode = FokkerPlanckMode(KAPPA, MU, 1e-3)
    sigma2 = mode.D / mode.omega
    x = np.linspace(0.0, MU**2, 1_800_001)[:-1]  # step 5e-6 = 1e-4 widths
    p = mode.stationary_pdf(x)
    # Simpson on a grid 1e4 points per width: quadrature error far below 1e-10.
    assert integrate.simpson(p, x=x) == pytest.approx(1.0, abs=1e-10)
    assert x[np.argmax(p)] == pytest.approx(mode.x_star, abs=1e-5)
    mean = integrate.simpson(x * p, x=x)
    var = integrate.simpson((x - mean) ** 2 * p, x=x)
    # Stationarity gives <K(x)> = 0, so to first order in D the mean is shifted by
    # K''(x*) sigma^2 / (2 omega) (here -9e-4, 2% of the width); the next order is
    # O(D^2) relative to it, i.e. ~1e-2 of the shift.
    shift = second_derivative_at_x_star(mode) * sigma2 / (2 * mode.omega)
    assert mean - mode.x_star == pytest.approx(shift, rel=3e-2)
    # Variance D / omega with an O(D) anharmonic correction (measured 1.001).
    assert var == pytest.approx(sigma2, rel=1e-2)
    assert np.all(mode.stationary_pdf([-0.1, MU**2, 10.0]) == 0.0)


def test_from_training_reproduces_b9_width_and_b8_rate():
    lr, batch = 0.1, 16
    mode = FokkerPlanckMode.from_training(KAPPA, MU, lr=lr, batch_size=batch)
    x_star = MU**2 - KAPPA
    # D / omega is the stationary variance; it must be sigma^2 = 2 lr x* / B :eq:`rbm-level-width`.
    assert mode.D / mode.omega == pytest.approx(2 * lr * x_star / batch, rel=1e-13)
    # omega per unit t = lr * step is :eq:`rbm-restoring-rate` gamma = 2 lr x* / kappa^2 per step.
    assert lr * mode.omega == pytest.approx(2 * lr * x_star / KAPPA**2, rel=1e-13)


def test_spectrum_starts_at_zero_and_is_harmonic_for_small_d():
    mode = FokkerPlanckMode(KAPPA, MU, 1e-3)
    levels = mode.spectrum(6)
    # E_0 is set to 0 by construction (S = A^T A with its partner A A^T carrying E_1..).
    assert levels[0] == 0.0
    assert np.all(np.diff(levels) > 0)
    harmonic = mode.harmonic_spectrum(6)
    # Anharmonic shifts are O(D): measured -0.19% per quantum at D = 1e-3.
    np.testing.assert_allclose(levels[1:], harmonic[1:], rtol=1e-2)
    # ... and first order in D: ten times smaller D, ten times smaller shift (to O(D^2)).
    # A fine grid keeps the O(h^2) error (-7.5e-6 (k + 1) at the default 3000 cells, the same
    # for any D) at 2e-7, 0.1% of the shift at D = 1e-4.
    small = FokkerPlanckMode(KAPPA, MU, 1e-4)
    shift_big = mode.spectrum(2, points=20000)[1] / mode.omega - 1
    shift_small = small.spectrum(2, points=20000)[1] / small.omega - 1
    assert shift_big < 0
    assert shift_small / shift_big == pytest.approx(0.1, rel=5e-2)


def test_spectrum_converges_with_the_grid():
    # Scharfetter-Gummel finite volumes are O(h^2): doubling the cells removes 3/4 of the
    # error, measured -7.5e-6 (k + 1) relative at the default 3000 cells, so the two grids
    # differ by ~6e-6 (k + 1) < 4e-5 for k <= 5.
    for mode in (FokkerPlanckMode(KAPPA, MU, 1e-3), FokkerPlanckMode(6.0, 3.0, 0.05)):
        for domain in ("basin", "full"):
            coarse = mode.spectrum(6, domain=domain)
            fine = mode.spectrum(6, points=6000, domain=domain)
            np.testing.assert_allclose(coarse[1:], fine[1:], rtol=1e-4)


def test_spectrum_matches_plain_finite_differences_of_h():
    """An independent discretisation of :eq:`fp-hamiltonian` itself: -D psi'' + U psi on a fine
    uniform grid
    with psi = 0 at the ends. D = 0.01 is anharmonic enough that E_1 is 2% below omega."""
    mode = FokkerPlanckMode(KAPPA, MU, 0.01)
    wall = MU * (MU - math.sqrt(KAPPA))  # the basin wall: the maximum of K on (0, x*)
    x = np.linspace(wall, 7.0, 20001)
    h = x[1] - x[0]
    # Second-order differences with h / width = 1.4e-3: relative error ~1e-7 (measured by
    # doubling the points). Dirichlet and zero flux at the barrier top differ by the
    # tunnelling tail there, negligible for the levels well under U(wall) = 3.5.
    reference = eigh_tridiagonal(
        2 * mode.D / h**2 + mode.schrodinger_potential(x),
        np.full(x.size - 1, -mode.D / h**2),
        eigvals_only=True,
        select="i",
        select_range=(0, 3),
    )
    levels = mode.spectrum(4)
    assert levels[1] / mode.omega < 0.99
    # Default grid: its own error, 7.5e-6 (k + 1) <= 3e-5 (measured 1e-5 to 2e-5).
    np.testing.assert_allclose(levels[1:], reference[1:], rtol=1e-4)
    # Fine grid: both discretisations agree to the reference's own ~2e-7.
    fine = mode.spectrum(4, points=20000)
    np.testing.assert_allclose(fine[1:], reference[1:], rtol=1e-6)
    assert abs(reference[0]) < 1e-5  # FD of H keeps E_0 = 0 only to O(h^2)


def test_full_domain_adds_the_escape_levels_of_the_unstable_point():
    """On all of [0, mu^2) with a wall at 0, small D adds levels (2m + 1) K'(0), states near
    x = 0 (a Neumann half-oscillator of frequency K'(0) = omega kappa / mu^2 < omega)."""
    mode = FokkerPlanckMode(KAPPA, MU, 1e-4)
    slope0 = float(mode.drift_derivative(0.0))
    assert slope0 == pytest.approx(mode.omega * KAPPA / MU**2)
    full = mode.spectrum(5, domain="full")
    basin = mode.spectrum(3)
    assert full[0] == 0.0
    # Both families carry O(D) anharmonic shifts, here < 1% (measured 0.02% to 0.65%).
    expected = np.sort([0.0, slope0, 3 * slope0, mode.omega, 2 * mode.omega])
    np.testing.assert_allclose(full[1:], expected[1:], rtol=1e-2)
    # The x* family is the same on both domains: they differ by tunnelling through the
    # barrier between the wells, ~exp(-(V(0) - V(x*)) / (2 D)) = e^-5700.
    np.testing.assert_allclose(full[[2, 4]], basin[1:], rtol=1e-8)


def test_eigenfunctions_are_orthonormal_and_psi0_is_sqrt_p():
    mode = FokkerPlanckMode(KAPPA, MU, 1e-3)
    x = np.linspace(0.0, MU**2, 900_001)[:-1]
    p = mode.stationary_pdf(x)
    psi = {}
    for domain in ("basin", "full"):
        psi[domain] = mode.eigenfunctions(5, x, domain=domain)
        assert psi[domain].shape == (5, x.size)
        # The cell values are orthonormal to rounding; the cubic splines through them are up
        # to the midpoint-vs-integral difference of smooth functions, measured <= 2e-10 at
        # the default grid (2e-8 with 1000 cells), and Simpson with 1e-5 steps adds ~1e-12.
        gram = integrate.simpson(psi[domain][:, None] * psi[domain][None], x=x)
        np.testing.assert_allclose(gram, np.eye(5), atol=1e-7)
        # psi_0^2 = P_stat up to the midpoint-rule normalisation on the grid (~1e-12 for a
        # density that vanishes at the grid edges); compared where P_stat > 1e-40 max, inside
        # the grid (which reaches P_stat = e^-100 max).
        bulk = p > 1e-40 * p.max()
        np.testing.assert_allclose(psi[domain][0, bulk] ** 2, p[bulk], rtol=1e-9)
        assert np.all(psi[domain][0] >= 0)
    # Hermite-like signs. On the basin psi_1 ~ (x - x*), positive to the right of x*; on the
    # full domain psi_1 is the escape state, one positive lobe at x = 0, ~0 near x*.
    near = np.searchsorted(x, mode.x_star + 0.05)
    assert psi["basin"][1, near] > 0
    assert psi["full"][1, 0] > 0
    assert abs(psi["full"][1, near]) < 1e-20


def test_schrodinger_potential_minimum_sits_near_x_star():
    mode = FokkerPlanckMode(KAPPA, MU, 1e-3)
    assert mode.schrodinger_potential(mode.x_star) == pytest.approx(-mode.omega / 2, rel=1e-14)
    x = np.linspace(0.0, 8.9, 890_001)
    u = mode.schrodinger_potential(x)
    # U' = K K' / (2 D) + K'' / 2 = 0 puts the minimum at x* - D K''(x*) / omega^2 to first
    # order in D (here +1.8e-3); the grid step 1e-5 and the O(D^2) term are < 2% of it.
    offset = -mode.D * second_derivative_at_x_star(mode) / mode.omega**2
    assert x[np.argmin(u)] - mode.x_star == pytest.approx(offset, rel=2e-2)
    # The other well: U(0) = K'(0) / 2 > 0, above the bottom -omega / 2 at x*.
    assert mode.schrodinger_potential(0.0) == pytest.approx(mode.drift_derivative(0.0) / 2)
    assert np.argmin(u) > 0


def test_stationary_pdf_matches_a_simulation_of_the_sde():
    """Euler-Maruyama walkers of dx = K dt + sqrt(2 D) dW, reflected at 0. With D = 0.05,
    kappa = 6, mu = 3 the density is skewed and reaches x = 0 (P(0) / max = 0.018)."""
    mode = FokkerPlanckMode(6.0, 3.0, 0.05)
    rng = np.random.default_rng(20240716)
    walkers, dt = 20_000, 0.02
    # Start from the harmonic guess; its error decays at least as exp(-E_1 t) with E_1 the
    # slowest rate on the full domain (0.076): t = 80 leaves e^-6 = 0.25% of it.
    slowest = mode.spectrum(2, domain="full")[1]
    x = np.abs(mode.x_star + math.sqrt(mode.D / mode.omega) * rng.standard_normal(walkers))
    kick = math.sqrt(2 * mode.D * dt)
    for _ in range(int(6.0 / slowest / dt)):
        x = np.abs(x + mode.drift(x) * dt + kick * rng.standard_normal(walkers))

    grid = np.linspace(0.0, 8.0, 16_001)
    pdf = mode.stationary_pdf(grid)
    cdf = integrate.cumulative_simpson(pdf, x=grid, initial=0.0)
    mean = integrate.simpson(grid * pdf, x=grid)
    var = integrate.simpson((grid - mean) ** 2 * pdf, x=grid)
    fourth = integrate.simpson((grid - mean) ** 4 * pdf, x=grid)
    # Independent walkers: standard errors sqrt(var / n) and sqrt((m4 - var^2) / n). The
    # Euler bias is O(|K'| dt / 2) ~ 0.2% of the variance, a fifth of its standard error.
    assert abs(x.mean() - mean) < 4 * math.sqrt(var / walkers)
    assert abs(x.var() - var) < 4 * math.sqrt((fourth - var**2) / walkers)
    ks = stats.kstest(x, lambda s: np.interp(s, grid, cdf))
    assert ks.pvalue > 1e-3
    # The test has teeth: the harmonic (Gaussian) density is rejected by the same samples.
    gauss = stats.kstest(x, stats.norm(mode.x_star, math.sqrt(mode.D / mode.omega)).cdf)
    assert gauss.pvalue < 1e-6


def linear_ensemble(mode, lr, replicas, steps, start, rng):
    """The linearised mode x <- x - lr omega (x - x*) + sqrt(2 D lr) eta, snapshots (R, S)."""
    kick = math.sqrt(2 * mode.D * lr)
    x = np.array(start, dtype=np.float64)
    out = np.empty((replicas, steps.size))
    step = 0
    for j, target in enumerate(steps):
        for _ in range(target - step):
            x = x - lr * mode.omega * (x - mode.x_star) + kick * rng.standard_normal(replicas)
        step = target
        out[:, j] = x
    return out


def test_relaxation_rate_recovers_omega_of_a_linear_mode():
    lr, replicas = 0.01, 2000
    mode = FokkerPlanckMode.from_training(KAPPA, MU, lr=lr, batch_size=16)
    rng = np.random.default_rng(11)
    steps = np.arange(0, 1501, 25)  # t up to 15, omega t up to 7
    width = math.sqrt(mode.D / mode.omega)
    decaying = linear_ensemble(
        mode, lr, replicas, steps, np.full(replicas, mode.x_star + 1.0), rng
    )
    stationary = linear_ensemble(
        mode, lr, replicas, steps, mode.x_star + width * rng.standard_normal(replicas), rng
    )
    frozen = np.full((replicas, steps.size), 2.0)
    eigs = np.stack([decaying, stationary, frozen], axis=-1)
    fit = relaxation_rate(steps, eigs, lr)
    assert isinstance(fit, RelaxationFit)
    assert fit.rates.shape == fit.rates_err.shape == (3,)
    # The recursion decays exactly at -ln(1 - lr omega) / lr = omega (1 + lr omega / 2 + ..):
    # 0.24% above omega. The jackknife error (~0.4%; over 60 seeds it matched the scatter of
    # the rates, 0.45%, and the rates were unbiased) sets the tolerance.
    exact = -math.log(1 - lr * mode.omega) / lr
    assert 0 < fit.rates_err[0] < 0.01 * exact
    assert abs(fit.rates[0] - exact) < 4 * fit.rates_err[0]
    assert fit.rates[0] == pytest.approx(mode.omega, rel=3e-2)
    assert abs(fit.stationary[0] - mode.x_star) < 4 * fit.stationary_err[0] + 1e-3
    # No decay to measure: NaN, not an exception, and no spurious rate.
    assert np.all(np.isnan(fit.rates[1:]))
    assert np.all(np.isnan(fit.rates_err[1:]))


def test_relaxation_rate_skips_diverged_replicas_and_short_series():
    lr, replicas = 0.01, 400
    mode = FokkerPlanckMode.from_training(KAPPA, MU, lr=lr, batch_size=16)
    rng = np.random.default_rng(5)
    steps = np.arange(0, 1001, 50)
    data = linear_ensemble(mode, lr, replicas, steps, np.full(replicas, mode.x_star - 1.0), rng)
    data[:3, 5:] = np.nan  # three diverged replicas
    fit = relaxation_rate(steps, data[:, :, None], lr)
    assert np.isfinite(fit.rates[0])
    # Standard error of one fit with 400 replicas is ~1%; 5 of them is a generous bound.
    assert fit.rates[0] == pytest.approx(-math.log(1 - lr * mode.omega) / lr, rel=5e-2)
    short = relaxation_rate(steps[:2], data[:, :2, None], lr)
    assert np.isnan(short.rates[0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kappa": 4.0, "mu": 0.0, "D": 0.1}, "mu: must be a finite number > 0, got 0.0"),
        ({"kappa": 9.0, "mu": 3.0, "D": 0.1}, "kappa: must lie in (0, mu^2) = (0, 9.0), got 9.0"),
        ({"kappa": -1.0, "mu": 3.0, "D": 0.1}, "kappa: must lie in (0, mu^2)"),
        ({"kappa": float("nan"), "mu": 3.0, "D": 0.1}, "kappa: must be a finite number"),
        ({"kappa": 4.0, "mu": 3.0, "D": 0.0}, "D: must be a finite number > 0, got 0.0"),
        ({"kappa": 4.0, "mu": 3.0, "D": -1e-3}, "D: must be a finite number > 0"),
    ],
)
def test_invalid_parameters_raise_config_error(kwargs, message):
    with pytest.raises(dl.ConfigError) as err:
        FokkerPlanckMode(**kwargs)
    assert message in str(err.value)


def test_invalid_arguments_raise_config_error():
    mode = FokkerPlanckMode(KAPPA, MU, 1e-3)
    with pytest.raises(dl.ConfigError, match="domain: must be one of"):
        mode.spectrum(2, domain="half")
    with pytest.raises(dl.ConfigError, match="n: must be an integer >= 1"):
        mode.spectrum(0)
    with pytest.raises(dl.ConfigError, match="batch_size: must be an integer >= 1"):
        FokkerPlanckMode.from_training(KAPPA, MU, lr=0.1, batch_size=0)
    with pytest.raises(dl.ConfigError, match="eigs: must have shape"):
        relaxation_rate([0, 1, 2], np.zeros((4, 3)), 0.1)
    with pytest.raises(dl.ConfigError, match="steps: must have shape"):
        relaxation_rate([0, 1], np.zeros((4, 3, 2)), 0.1)
