"""Statistics of recorded time series (record_every) against the theory: the time-averaged
spacing of a degenerate pair, the relaxation rate of a level, the Wigner surmise of a
recorded RBM, and what the summaries say about a recording."""

import json
import math

import numpy as np
import pytest
from scipy import stats

import dysonlearn as dl
from dysonlearn.analysis import integrated_autocorrelation_time, wigner_cdf
from dysonlearn.config import finite_lr_factor


def _record(config, replicas, seed):
    return dl.run_ensemble(config, replicas=replicas, seed=seed, backend="serial",
                           progress=False)  # fmt: skip


def test_time_averaged_spacing_of_a_degenerate_pair_is_the_analytic_one():
    # <S> = sqrt(pi lr A^2 / B) f, f = 1 / sqrt(1 - lr / 2), for the teacher (2, 2). 32
    # replicas x 4001 records (tau_int ~ 10 records) give an error of ~0.4%; the jackknife
    # over replicas is valid however correlated the records of one replica are, and 4 of
    # its errors (16 in 10^5 by chance, a little more with a 20% uncertain error) still
    # detect f left out (1.3%, about 3 errors) only marginally, so f is checked separately
    # below; what this pins down is the time average itself.
    lr, batch, noise = 0.05, 16, 0.1
    config = dl.TeacherStudentConfig(teacher=(2.0, 2.0), noise=noise, lr=lr, batch_size=batch,
                                     steps=9000, burn_in=1000, record_every=2)  # fmt: skip
    result = _record(config, 32, 11)
    summary = dl.analysis.summarize(result)
    predicted = math.sqrt(math.pi * lr * noise**2 / batch) * finite_lr_factor(lr)
    series = summary["time_series"]
    [spacing] = series["spacings"]
    assert series["records"] == 4001  # steps 1000, 1002, ..., 9000 (step 0 not recorded)
    assert abs(spacing["mean"] - predicted) < 4 * spacing["mean_err"]
    # the pair fit of the same pooled records agrees with the time mean
    [pair] = summary["pairs"]
    assert pair["mean_spacing"] == pytest.approx(spacing["mean"], rel=1e-12)
    # the spacing's predicted rate is twice the level's (the pair's repulsion)
    assert spacing["predicted_rate"] == 2 * series["modes"][0]["predicted_rate"] == 2.0


def test_a_non_degenerate_level_relaxes_at_the_curvature_of_its_drift():
    # Teacher (1, 3): each level relaxes alone at c = 1 per unit t; in discrete time the
    # autocorrelation decays as (1 - lr)^k, a rate -ln(1 - lr) / lr = 1.026 at lr = 0.05.
    # 32 replicas x 4000 records of tau ~ 10 records: error ~2%; the subtraction of each
    # series' mean biases tau_exp by ~5 tau / T ~ 1%, below one error; 4 errors.
    lr = 0.05
    config = dl.TeacherStudentConfig(teacher=(1.0, 3.0), noise=0.1, lr=lr, batch_size=16,
                                     steps=9000, burn_in=1000, record_every=2)  # fmt: skip
    series = dl.analysis.summarize(_record(config, 32, 12))["time_series"]
    expected = -math.log(1 - lr) / lr
    for mode in series["modes"]:
        assert mode["predicted_rate"] == 1.0
        assert abs(mode["rate"] - expected) < 4 * mode["rate_err"], mode
        # ... and the rate of lr = 0.05 is not that of a level twice as stiff
        assert abs(mode["rate"] - 2 * expected) > 10 * mode["rate_err"]


def test_the_pooled_spacings_of_a_recorded_rbm_follow_the_wigner_surmise():
    """The article's RBM recorded after its burn-in: every degenerate pair's normalised
    spacings, thinned to one record every 2 tau_int (so that the Kolmogorov-Smirnov test,
    which assumes independent samples, holds), follow the Wigner surmise and not Poisson."""
    config = dl.RBMConfig(lr=0.1, batch_size=16, steps=20_000, burn_in=6000, record_every=10)
    result = _record(config, 16, 13)
    assert result.eigenvalues.shape == (16, 1401, 10)
    eigs = result.eigenvalues[~result.failed]
    pairs = [g for g in dl.analysis.degenerate_groups(config.stationary_levels) if len(g) == 2]
    samples = []
    for i, j in pairs:
        spacing = eigs[:, :, j] - eigs[:, :, i]  # (R, T)
        tau = np.nanmax(integrated_autocorrelation_time(spacing, axis=1))
        thinned = spacing[:, :: max(1, math.ceil(2 * tau))]
        samples.append((thinned / thinned.mean()).ravel())
    s = np.concatenate(samples)
    assert s.size > 500
    # p > 1e-3: a false alarm once in a thousand runs; Poisson (exp(-s)) is far off.
    assert stats.kstest(s, wigner_cdf).pvalue > 1e-3
    assert stats.kstest(s, "expon").pvalue < 1e-6


def test_a_recorded_experiment_pools_every_record_and_says_so(tmp_path):
    toml = tmp_path / "recording.toml"
    toml.write_text(
        '[model]\nkind = "teacher_student"\nteacher = [2.0, 2.0]\n'
        "[train]\nlr = 0.05\nbatch_size = 16\nnoise = 0.1\nsteps = 3000\nburn_in = 1000\n"
        "record_every = 5\n[ensemble]\nreplicas = 16\nseed = 3\n",
        encoding="utf-8",
    )
    experiment = dl.load_experiment(toml)
    assert experiment.pool_last == 401  # every record, burn_in .. steps (none is step 0)
    from dysonlearn import cli

    out = tmp_path / "out"
    assert cli.main(["run", str(toml), "-o", str(out), "--backend", "serial", "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["pool_last"] == 401
    [point] = summary["points"]
    assert point["stationarity"]["method"] == "thirds"
    assert point["time_series"]["records"] == 401
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "pools the last 401 records of every replica's time series" in md
    assert "| x_0 |" in md and "| S = x_1 - x_0 |" in md


def test_a_recording_that_starts_before_stationarity_is_flagged():
    # No burn-in, and the student starts far from the teacher (init near 0, teacher 2): the
    # first third of the recording holds the approach, so the means of the thirds differ
    # by many errors.
    config = dl.TeacherStudentConfig(teacher=(2.0, 2.0), noise=0.1, lr=0.01, batch_size=16,
                                     steps=600, record_every=1)  # fmt: skip
    summary = dl.analysis.summarize(_record(config, 16, 14))
    assert summary["stationarity"]["flagged_modes"] == [0, 1]
    assert any(w.startswith("not stationary") for w in summary["warnings"])


def test_the_binned_two_level_likelihood_of_long_recordings_gives_the_exact_fit(monkeypatch):
    # Above _BINNED_ABOVE samples the two-level fit counts samples in 4096 bins; on 300 000
    # levels of 2 x 2 GOE matrices it must agree with the exact likelihood far inside the
    # statistical error (sigma / sqrt(n) ~ 2e-3): to 1e-5.
    from dysonlearn.analysis import fits

    rng = np.random.default_rng(1)
    m = rng.normal(size=(150_000, 2, 2))
    levels = np.linalg.eigvalsh((m + m.transpose(0, 2, 1)) / 2).ravel()
    binned = fits._semicircle2_mle(levels)
    monkeypatch.setattr(fits, "_BINNED_ABOVE", levels.size)
    exact = fits._semicircle2_mle(levels)
    np.testing.assert_allclose(binned, exact, rtol=0, atol=1e-5)
    assert abs(exact[1] - 1.0) < 4 * 1.0 / math.sqrt(levels.size)  # GOE 2 x 2: sigma = 1


def test_a_long_recording_is_read_as_far_as_it_is_pooled(tmp_path):
    from dysonlearn import store

    config = dl.DysonConfig(steps=400, burn_in=100, record_every=3)
    full = dl.run_ensemble(config, replicas=5, seed=2, backend="serial", progress=False,
                           store=tmp_path / "r.h5")  # fmt: skip
    tail = store.load_point(tmp_path / "r.h5", "point_000", last=40)
    assert tail.eigenvalues.shape == (5, 40, config.n_modes)
    np.testing.assert_array_equal(tail.steps, full.steps[-40:])
    np.testing.assert_array_equal(tail.eigenvalues, full.eigenvalues[:, -40:, :])
