"""Statistics of time series (analysis.timeseries) on synthetic AR(1) series of known law.

An AR(1) series x_t = phi x_{t-1} + e_t (e_t standard normal, started in its stationary law)
has rho(t) = phi^t, tau_int = (1 + phi) / (1 - phi), tau_exp = -1 / ln(phi), variance
1 / (1 - phi^2), and its time mean over T records has variance tau_int / ((1 - phi^2) T) for
T >> tau_int.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from scipy.signal import lfilter

from dysonlearn.analysis import (
    AutocorrelationDecay,
    StationarityTest,
    autocorrelation,
    autocorrelation_decay,
    effective_sample_size,
    integrated_autocorrelation_time,
    stationarity_test,
    time_series_mean,
    time_series_summary,
)
from dysonlearn.errors import ConfigError


def ar1(rng, phi: float, shape) -> np.ndarray:
    """AR(1) series along the last axis, each started in the stationary law."""
    e = rng.standard_normal(shape)
    e[..., 0] /= math.sqrt(1.0 - phi * phi)
    return lfilter([1.0], [1.0, -phi], e, axis=-1)


def tau_int_ar1(phi: float) -> float:
    return (1.0 + phi) / (1.0 - phi)


# --- autocorrelation and tau_int -------------------------------------------------------------


def test_autocorrelation_is_the_direct_sum_divided_by_t_on_any_axis():
    x = np.random.default_rng(0).standard_normal((3, 37, 2))
    rho = autocorrelation(x, axis=1)
    assert rho.shape == x.shape
    for i in range(3):
        for j in range(2):
            y = x[i, :, j] - x[i, :, j].mean()
            direct = np.correlate(y, y, mode="full")[y.size - 1 :] / y.size
            np.testing.assert_allclose(rho[i, :, j], direct / direct[0], atol=1e-12)


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9, 0.98])
def test_tau_int_of_ar1_within_15_percent(phi):
    # Sokal's statistical error of tau_int is about tau sqrt(2 (2W + 1) / T) with W ~ 5 tau:
    # at phi = 0.98 (tau = 99, W ~ 495) and T = 10^6 that is 4.5%, so 15% is 3.4 standard
    # errors for the worst series; for smaller phi the error is far smaller (2% at 0.9).
    # The window's truncation bias is a fraction e^{-10} and the mean's about W / T: negligible.
    x = ar1(np.random.default_rng(int(100 * phi)), phi, (4, 1_000_000))
    tau = integrated_autocorrelation_time(x)
    assert tau.shape == (4,)
    np.testing.assert_allclose(tau, tau_int_ar1(phi), rtol=0.15)


def test_tau_int_works_on_any_axis_and_gives_the_shape_without_it():
    x = ar1(np.random.default_rng(1), 0.7, (2, 3, 5000))
    tau = integrated_autocorrelation_time(x)
    moved = integrated_autocorrelation_time(np.moveaxis(x, -1, 1), axis=1)
    assert tau.shape == (2, 3)
    np.testing.assert_allclose(moved, tau, rtol=1e-12)
    assert isinstance(integrated_autocorrelation_time(x[0, 0]), float)
    np.testing.assert_allclose(effective_sample_size(x), 5000 / tau, rtol=1e-12)


def test_a_series_with_nan_gives_nan_for_that_series_only():
    x = ar1(np.random.default_rng(2), 0.5, (3, 2000))
    x[1, 700] = np.nan
    tau = integrated_autocorrelation_time(x)
    mean, error = time_series_mean(x)
    assert np.isnan(tau[1]) and np.isnan(mean[1]) and np.isnan(error[1])
    assert np.all(np.isfinite(tau[[0, 2]])) and np.all(np.isfinite(error[[0, 2]]))
    assert not stationarity_test(x).flagged[1]


# --- errors of time means ----------------------------------------------------------------------


def test_error_of_a_time_mean_matches_the_spread_of_the_means():
    # 500 independent series: the relative error of their standard deviation is about
    # 1 / sqrt(2 * 499) = 3.2%, so 20% is over 6 of its standard errors. tau_int = 19 and
    # T = 8000 = 420 tau_int, so the bias of each error (about W / T ~ 1%) is small.
    phi, records = 0.9, 8000
    x = ar1(np.random.default_rng(3), phi, (500, records))
    mean, error = time_series_mean(x)
    spread = mean.std(ddof=1)
    expected = math.sqrt(tau_int_ar1(phi) / ((1 - phi * phi) * records))
    assert spread == pytest.approx(expected, rel=0.2)
    assert math.sqrt(np.mean(error**2)) == pytest.approx(spread, rel=0.2)


def test_replica_error_is_the_jackknife_of_the_per_replica_means():
    rng = np.random.default_rng(4)
    x = ar1(rng, 0.95, (2, 12, 300)).transpose(2, 1, 0)  # (time, replica, series)
    mean, error = time_series_mean(x, axis=0, replica_axis=1)
    per_replica = x.mean(axis=0)
    np.testing.assert_allclose(mean, per_replica.mean(axis=0), rtol=1e-12)
    # The delete-one jackknife of a mean is exactly its standard error over replicas.
    np.testing.assert_allclose(error, per_replica.std(axis=0, ddof=1) / math.sqrt(12), rtol=1e-10)


def test_replica_error_matches_the_spread_over_ensembles_even_for_short_replicas():
    # Replicas of 200 records at tau_int = 39 (too short for tau_int itself): 400 ensembles
    # of 10 replicas; the standard deviation of 400 means has a relative error of
    # 1 / sqrt(2 * 399) = 3.5%, and the RMS of the jackknife errors (each with 9 degrees of
    # freedom) averages out to about the same: 20% is several standard errors.
    x = ar1(np.random.default_rng(5), 0.95, (400, 10, 200))
    mean, error = time_series_mean(x, axis=2, replica_axis=1)
    assert mean.shape == (400,)
    assert math.sqrt(np.mean(error**2)) == pytest.approx(mean.std(ddof=1), rel=0.2)


# --- relaxation time ---------------------------------------------------------------------------


@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_tau_exp_of_ar1_within_errors(phi):
    # 32 replicas of 20000 records; the ACF's bias (about 5 tau_int / T relative, 0.5% at
    # phi = 0.9) is below the jackknife error (about 0.9%), so 3 errors is the test.
    x = ar1(np.random.default_rng(int(10 * phi)), phi, (32, 20_000))
    fit = autocorrelation_decay(x, axis=1, replica_axis=0)
    assert isinstance(fit, AutocorrelationDecay)
    truth = -1.0 / math.log(phi)
    assert abs(fit.tau - truth) < 3 * fit.tau_err
    assert fit.tau_err < 0.02 * truth
    # The lags fitted are those where phi^t stays above 0.1 (21 at phi = 0.9, 3 at 0.5).
    assert abs(fit.lags - math.log(0.1) / math.log(phi)) <= 1


def test_tau_exp_vectorised_over_modes_and_without_replicas():
    rng = np.random.default_rng(6)
    x = np.stack([ar1(rng, 0.6, (8, 20_000)), ar1(rng, 0.85, (8, 20_000))], axis=-1)
    fit = autocorrelation_decay(x, axis=1, replica_axis=0)
    truth = -1.0 / np.log([0.6, 0.85])
    assert np.all(np.abs(fit.tau - truth) < 4 * fit.tau_err)
    single = autocorrelation_decay(x[0, :, 1])
    assert np.isnan(single.tau_err)
    assert single.tau == pytest.approx(truth[1], rel=0.1)
    capped = autocorrelation_decay(x, axis=1, replica_axis=0, max_lag=2)
    assert np.all(capped.lags == 2)
    # White noise decays within one record: nothing to fit.
    assert np.isnan(autocorrelation_decay(rng.standard_normal(5000)).tau)


# --- stationarity ------------------------------------------------------------------------------


@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_stationary_series_are_rarely_flagged(phi):
    # 2000 stationary series: the two-sided normal tail beyond 3 is 0.27% (5 expected); the
    # noise of each third's tau_int (its relative error is ~20% at phi = 0.9) widens z a
    # little. 1% (20 series) is several Poisson standard errors above 0.27%.
    x = ar1(np.random.default_rng(7), phi, (2000, 6000))
    test = stationarity_test(x)
    assert isinstance(test, StationarityTest) and test.threshold == 3.0
    assert test.z.shape == (2000,)
    assert np.mean(test.flagged) <= 0.01
    assert np.std(test.z) == pytest.approx(1.0, abs=0.1)


def test_a_drift_of_six_errors_is_flagged():
    # Add a linear drift whose expected difference of the thirds' means is 6 of its errors:
    # z ~ N(6, 1) is below 3 in 0.13% of series.
    phi, records = 0.5, 6000
    third = records // 3
    error = math.sqrt(2 * tau_int_ar1(phi) / ((1 - phi * phi) * third))
    slope = 6 * error / (records - third)
    x = ar1(np.random.default_rng(8), phi, (200, records)) + slope * np.arange(records)
    test = stationarity_test(x)
    assert np.mean(test.flagged) >= 0.97
    assert np.mean(test.z) == pytest.approx(6.0, abs=0.5)


def test_replica_stationarity_follows_student_t():
    # With R = 20 replicas z is Student-t with 19 degrees of freedom: P(|z| > 3) = 0.74%.
    # Over 2000 stationary ensembles the rate of flags is within 3 binomial standard
    # errors of it (0.57 percentage points).
    x = ar1(np.random.default_rng(9), 0.5, (2000, 20, 60))
    test = stationarity_test(x, axis=2, replica_axis=1)
    expected = 2 * stats.t.sf(3.0, 19)
    assert abs(np.mean(test.flagged) - expected) < 3 * math.sqrt(expected * (1 - expected) / 2000)
    drifting = stationarity_test(x[:5] + 0.04 * np.arange(60), axis=2, replica_axis=1)
    assert np.all(drifting.flagged)


# --- summary of a recorded ensemble ----------------------------------------------------------


def recorded_ensemble(rng, replicas=32, records=10_000, phi=0.8, scale=0.1):
    """(R, T, 3) levels 1, 2.5, 4 plus AR(1) noise of width scale / sqrt(1 - phi^2)."""
    noise = ar1(rng, phi, (replicas, 3, records)).transpose(0, 2, 1)
    return np.array([1.0, 2.5, 4.0]) + scale * noise


def test_summary_of_ar1_levels_recovers_means_spacings_and_times():
    phi, every, lr = 0.8, 10, 0.05
    eigs = recorded_ensemble(np.random.default_rng(0))
    eigs[3, 2500:, :] = np.nan  # a replica that diverged
    steps = 1000 + every * np.arange(eigs.shape[1])
    out = time_series_summary(eigs, steps, lr=lr)
    json.dumps(out, allow_nan=False)
    assert (out["replicas"], out["analysed"], out["records"], out["record_every"]) == (
        32, 31, 10_000, every)  # fmt: skip
    assert [m["mode"] for m in out["modes"]] == [0, 1, 2]
    assert [s["modes"] for s in out["spacings"]] == [[0, 1], [1, 2]]
    for entries, truth in ((out["modes"], [1.0, 2.5, 4.0]), (out["spacings"], [1.5, 1.5])):
        block = {key: [entry[key] for entry in entries] for key in entries[0]}
        mean, err = np.array(block["mean"]), np.array(block["mean_err"])
        assert np.all(np.abs(mean - truth) < 4 * err)
        # The difference of two independent AR(1) series of the same phi is one too: the
        # spacings have the levels' times. tau_int = 9, W ~ 45: each replica's tau_int has
        # a relative error sqrt(2 * 91 / 10^4) = 13%, the median of 31 about 3%, their
        # effective samples (a sum over 31) about 2.5%: 15% is over 5 standard errors.
        np.testing.assert_allclose(block["tau_int"], every * tau_int_ar1(phi), rtol=0.15)
        # (tau_exp - truth) / error is about Student-t with 30 degrees of freedom: beyond 4
        # in 0.04% of series.
        tau_exp, tau_err = np.array(block["tau_exp"]), np.array(block["tau_exp_err"])
        assert np.all(np.abs(tau_exp + every / math.log(phi)) < 4 * tau_err)
        np.testing.assert_allclose(block["rate"], 1.0 / (tau_exp * lr), rtol=1e-12)
        np.testing.assert_allclose(
            block["effective_samples"], 31 * 10_000 / tau_int_ar1(phi), rtol=0.15
        )
        # z is Student-t with 30 degrees of freedom: P(|z| > 3) = 0.5% per series, so all 5
        # series pass in 97% of seeds (this seed does).
        assert not any(block["flagged"])
    assert out["flagged_modes"] == [] and out["flagged_spacings"] == []


def test_summary_flags_a_drifting_mode_and_handles_few_replicas():
    eigs = recorded_ensemble(np.random.default_rng(11), replicas=4, records=600)
    # Mode 0 (and with it spacing 0) drifts by 0.33 between the thirds; the error of that
    # difference over 4 replicas is about 0.025 (per replica: thirds of 200 records, noise
    # variance 0.028, tau_int 9), so z ~ 13.
    eigs[:, :, 0] += np.linspace(0.0, 0.5, 600)
    out = time_series_summary(eigs, np.arange(600))
    assert 0 in out["flagged_modes"] and 0 in out["flagged_spacings"]
    assert abs(out["modes"][0]["stationarity_z"]) > 8
    assert "rate" not in out["modes"][0]
    eigs[1:, -1, :] = np.nan  # one usable replica: errors of one series, no tau_exp error
    single = time_series_summary(eigs, np.arange(600))
    assert single["analysed"] == 1
    assert all(m["mean_err"] is not None and m["mean_err"] > 0 for m in single["modes"])
    assert all(m["tau_exp_err"] is None for m in single["modes"])
    lone = time_series_summary(eigs[..., :1], np.arange(600))  # one mode: no spacing
    assert len(lone["modes"]) == 1 and lone["spacings"] == [] and lone["flagged_spacings"] == []
    eigs[0, 0, 0] = np.inf
    none = time_series_summary(eigs, np.arange(600))
    assert none["analysed"] == 0 and "no statistics" in none["note"]


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: integrated_autocorrelation_time(x, axis=2), r"axis: must be an integer axis"),
        (lambda x: integrated_autocorrelation_time(x, c=0.0), r"c: "),
        (lambda x: integrated_autocorrelation_time(x, c=-1.0), r"c: "),
        (lambda x: integrated_autocorrelation_time(x[:, :3]), r"at least 4 records"),
        (lambda x: autocorrelation(np.float64(1.0)), r"x: must have at least one axis"),
        (lambda x: effective_sample_size(x, axis=1.5), r"axis: "),
        (lambda x: time_series_mean(x, replica_axis=-1), r"replica_axis: must differ from axis"),
        (lambda x: time_series_mean(x[:1], replica_axis=0), r"at least 2 replicas"),
        (lambda x: time_series_mean(x[0], replica_axis=0), r"replica axis and a time axis"),
        (lambda x: stationarity_test(x[:, :11]), r"at least 12 records"),
        (lambda x: stationarity_test(x, threshold=0), r"threshold: "),
        (lambda x: autocorrelation_decay(x, max_lag=0), r"max_lag: "),
        (lambda x: time_series_summary(x, np.arange(100)), r"eigenvalues: must have shape"),
        (lambda x: time_series_summary(x[..., None], np.arange(99)), r"steps: must have shape"),
        (lambda x: time_series_summary(x[..., None], np.arange(100) ** 2), r"equally spaced"),
        (lambda x: time_series_summary(x[..., None], np.arange(100), lr=0), r"lr: "),
    ],
)
def test_bad_input_names_the_field_and_the_rule(call, match):
    x = np.random.default_rng(12).standard_normal((3, 100))
    with pytest.raises(ConfigError, match=match):
        call(x)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        integrated_autocorrelation_time(np.zeros((2, 3)), axis=5, c=0)
    text = str(info.value)
    assert "axis: " in text and "c: " in text
