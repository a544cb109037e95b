"""Teacher-student model :eq:`ts-update`: kernel arithmetic, samplers, and the predictions
:eq:`ts-mean-spacing`, :eq:`ts-degenerate-spacing`."""

import re

import numpy as np
import pytest
from scipy import stats

import dysonlearn as dl
from dysonlearn import analysis, kernels
from dysonlearn.seeding import SHARED_KEY
from dysonlearn.models.teacher_student import draw_dataset
from ts_helpers import one_step_draws, reference_step

LATE = list(range(1000, 2001, 100))  # stationary after ~1000 steps at lr >= 0.1


def spacing_mean(result):
    """<S> of the pair and its standard error from per-replica means (replicas independent)."""
    e = result.eigenvalues[~result.failed][:, 1:]
    per_replica = (e[..., 1] - e[..., 0]).mean(axis=1)
    return per_replica.mean(), per_replica.std(ddof=1) / np.sqrt(per_replica.size)


def degenerate_prediction(lr, batch, noise):
    """:eq:`ts-degenerate-spacing` with the finite-lr factor 1 / sqrt(1 - lr / 2)
    :eq:`finite-lr-variance`."""
    return np.sqrt(np.pi * lr * noise**2 / batch) / np.sqrt(1 - lr / 2)


@pytest.mark.parametrize("n", [2, 3])
def test_wishart_step_with_given_variates_matches_numpy(n):
    rng = np.random.default_rng(1)
    B, lr, noise = 16, 0.2, 0.3
    A = rng.normal(size=(n, n))
    W, T = (A + A.T) / 2, np.diag(np.arange(1.0, n + 1))
    chi2 = [rng.chisquare(B - i) for i in range(n)]
    lower = [rng.normal(size=i) for i in range(n)]
    xi_packed = rng.normal(size=n * (n + 1) // 2)
    variates = np.concatenate([np.r_[chi2[i], lower[i]] for i in range(n)] + [xi_packed])
    assert variates.size == kernels.teacher_student_variates_per_step(n, B, "wishart")
    L = np.zeros((n, n))
    for i in range(n):
        L[i, i] = np.sqrt(chi2[i])
        L[i, :i] = lower[i]
    Xi = np.zeros((n, n))
    Xi[np.triu_indices(n)] = xi_packed
    Xi = Xi + np.triu(Xi, 1).T
    Xi[np.diag_indices(n)] *= np.sqrt(2)
    expected = reference_step(W, T, L @ L.T / B, Xi / np.sqrt(B), lr, noise)
    got = W.copy()
    assert (
        kernels.teacher_student_step_given_variates(
            got, T, variates, lr=lr, noise=noise, batch_size=B, sampler="wishart"
        )
        == 0
    )
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-14)


def test_explicit_step_with_given_variates_matches_numpy():
    rng = np.random.default_rng(2)
    n, B, lr, noise = 3, 5, 0.1, 0.2
    W, T = np.zeros((n, n)), np.diag([1.0, 2.0, 3.0])
    x = rng.normal(size=(B, n))
    packed = rng.normal(size=(B, n * (n + 1) // 2))
    Xi = np.zeros((n, n))
    for b in range(B):
        M = np.zeros((n, n))
        M[np.triu_indices(n)] = packed[b]
        M = M + np.triu(M, 1).T
        M[np.diag_indices(n)] *= np.sqrt(2)
        Xi += M / B
    expected = reference_step(W, T, x.T @ x / B, Xi, lr, noise)
    got = W.copy()
    kernels.teacher_student_step_given_variates(
        got, T, np.concatenate([x.ravel(), packed.ravel()]), lr=lr, noise=noise, batch_size=B,
        sampler="explicit",
    )  # fmt: skip
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("n", [2, 3])
def test_wishart_sampler_draws_batches_with_the_law_of_explicit_ones(n):
    """One step from W = 0 towards W_T = 1 with lr = 1, A = 0 leaves W = C_B exactly; with
    W_T = 0, A = 1 it leaves W = Xi_B. Both samplers must give the same laws."""
    R, B = 20000, 6
    draws = {sampler: one_step_draws(n, R, B, sampler, hash(sampler) % 2**32)
             for sampler in ("wishart", "explicit")}  # fmt: skip
    for k in range(2):
        a, b = draws["wishart"][k], draws["explicit"][k]
        for i, j in zip(*np.triu_indices(n), strict=True):
            # Two-sample KS on every entry: p below 1e-4 would be a real difference.
            assert stats.ks_2samp(a[:, i, j], b[:, i, j]).pvalue > 1e-4
    cov = draws["wishart"][0]
    # Wishart moments: E C_B = 1, Var (C_B)_ij = (1 + delta_ij) / B; 5 standard errors
    # of the mean over 20000 draws.
    var = (1 + np.eye(n)) / B
    assert np.all(np.abs(cov.mean(0) - np.eye(n)) < 5 * np.sqrt(var / R))
    # The eigenvalue law of C_B (what the student feels) agrees as a whole.
    spectra = [np.linalg.eigvalsh(draws[s][0])[:, 0] for s in ("wishart", "explicit")]
    assert stats.ks_2samp(*spectra).pvalue > 1e-4


@pytest.mark.parametrize(
    ("lr", "batch", "noise"), [(0.1, 16, 0.1), (0.3, 8, 0.05), (0.5, 32, 0.1)]
)
def test_degenerate_teacher_mean_spacing(lr, batch, noise):
    cfg = dl.TeacherStudentConfig(teacher=[2.0, 2.0], noise=noise, lr=lr, batch_size=batch,
                                  steps=2000, snapshots=LATE)  # fmt: skip
    mean, err = spacing_mean(dl.run_ensemble(cfg, replicas=2000, seed=11, progress=False))
    # :eq:`ts-degenerate-spacing` is the small-step limit of :eq:`dyson-bm`; allow 4 standard
    # errors (0.3 per cent each) plus 3 per cent for the data noise of C_B and higher orders in lr,
    # as the issue asks.
    predicted = degenerate_prediction(lr, batch, noise)
    assert abs(mean - predicted) < 4 * err + 0.03 * predicted


def test_non_degenerate_teacher_mean_spacing():
    lr, batch, noise, split = 0.1, 16, 0.1, 0.1
    cfg = dl.TeacherStudentConfig(teacher=[2.0 + split, 2.0], noise=noise, lr=lr,
                                  batch_size=batch, steps=2000, snapshots=LATE)  # fmt: skip
    mean, err = spacing_mean(dl.run_ensemble(cfg, replicas=2000, seed=12, progress=False))
    noise_term = np.pi * lr * noise**2 / batch / (1 - lr / 2)
    predicted = split / 2 + np.sqrt(split**2 / 4 + noise_term)  # :eq:`ts-mean-spacing`
    assert abs(mean - predicted) < 4 * err + 0.03 * predicted
    # ... and the repulsion is visible: the spacing exceeds the bare splitting.
    assert mean > split + 4 * err


def test_normalised_spacings_follow_the_wigner_surmise():
    cfg = dl.TeacherStudentConfig(teacher=[2.0, 2.0], steps=1500, snapshots=[1500])
    res = dl.run_ensemble(cfg, replicas=3000, seed=13, progress=False)
    spacing = res.eigenvalues[:, -1, 1] - res.eigenvalues[:, -1, 0]
    s = spacing / spacing.mean()
    # One spacing per independent replica; KS against :eq:`wigner-surmise`. The same test rejects
    # the spacings of independent (Poisson) levels and of a Gaussian, so it has power.
    assert stats.kstest(s, analysis.wigner_cdf).pvalue > 1e-3
    assert stats.kstest(s, stats.expon.cdf).pvalue < 1e-6


def test_three_degenerate_pairs_give_three_wigner_spacings():
    cfg = dl.TeacherStudentConfig(teacher=[1.0, 1.0, 2.0, 2.0, 3.0, 3.0], steps=1500,
                                  snapshots=[1500])  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=2000, seed=14, progress=False)
    final = res.eigenvalues[:, -1]
    predicted = degenerate_prediction(cfg.lr, cfg.batch_size, cfg.noise)
    for pair in range(3):
        spacing = final[:, 2 * pair + 1] - final[:, 2 * pair]
        assert stats.kstest(spacing / spacing.mean(), analysis.wigner_cdf).pvalue > 1e-3
        err = spacing.std() / np.sqrt(spacing.size)
        assert abs(spacing.mean() - predicted) < 4 * err + 0.03 * predicted


def test_dyson_simulator_agrees_with_the_matrix_model():
    """Same <S> and the same Binder cumulant 4/27 of the pooled levels :eq:`semicircle2`."""
    common = {"noise": 0.1, "lr": 0.1, "batch_size": 16, "steps": 2000, "snapshots": LATE}
    runs = {
        "ts": dl.run_ensemble(dl.TeacherStudentConfig(teacher=[2.0, 2.0], **common),
                              replicas=2000, seed=15, progress=False),
        "dyson": dl.run_ensemble(dl.DysonConfig(kappa=[2.0, 2.0], **common),
                                 replicas=2000, seed=16, progress=False),
    }  # fmt: skip
    (s_ts, e_ts), (s_dy, e_dy) = spacing_mean(runs["ts"]), spacing_mean(runs["dyson"])
    # Four combined standard errors, plus 2 per cent for the data noise that only the
    # matrix model has (its C_B fluctuates).
    assert abs(s_ts - s_dy) < 4 * np.hypot(e_ts, e_dy) + 0.02 * s_dy
    for res in runs.values():
        levels = res.eigenvalues[:, 1:]  # (replica, snapshot, level): replicas first
        u, u_err = analysis.jackknife(analysis.binder_cumulant, levels, blocks=50)
        assert abs(u - 4 / 27) < 4 * u_err
        assert u_err < 0.02  # precise enough to tell 4/27 from a Gaussian's 0


def test_reference_protocol_cycles_a_fixed_data_set():
    """With one batch as the whole data set, every step sees the same C and Xi, so W tends
    to the fixed point of the unsymmetrised update: W* = W_T + A Xi C^-1."""
    B, noise, seed = 8, 0.1, 21
    cfg = dl.TeacherStudentConfig(teacher=[2.0, 1.0], teacher_basis="identity", noise=noise,
                                  lr=0.2, batch_size=B, steps=400, snapshots=[400],
                                  protocol="reference", dataset_size=B)  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=3, seed=seed, backend="serial", progress=False,
                          keep_weights=True)  # fmt: skip
    shared = np.random.Generator(
        np.random.SFC64(np.random.SeedSequence(seed, spawn_key=SHARED_KEY))
    )
    x, packed = draw_dataset(shared, B, 2)
    Xi = np.zeros((B, 2, 2))
    Xi[:, [0, 0, 1], [0, 1, 1]] = packed
    Xi[:, 1, 0] = Xi[:, 0, 1]
    fixed_point = np.diag([2.0, 1.0]) + noise * Xi.mean(0) @ np.linalg.inv(x.T @ x / B)
    for r in range(3):  # shared data: every replica reaches the same W*
        np.testing.assert_allclose(res.weights[r], fixed_point, atol=1e-10)
        np.testing.assert_allclose(res.eigenvalues[r, -1], np.linalg.svd(fixed_point)[1][::-1],
                                   atol=1e-10)  # fmt: skip


@pytest.mark.parametrize("shared", [True, False])
def test_reference_protocol_reproduces_the_spacing(shared):
    cfg = dl.TeacherStudentConfig(protocol="reference", dataset_shared=shared, steps=5000,
                                  snapshots=list(range(2500, 5001, 250)))  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=600, seed=22, progress=False)
    mean, err = spacing_mean(res)
    predicted = degenerate_prediction(cfg.lr, cfg.batch_size, cfg.noise)
    # Per-replica data: the law of :eq:`ts-degenerate-spacing`. One shared data set tilts the whole
    # setting by a few per cent (it is one draw of the data): allow 5 per cent then.
    assert abs(mean - predicted) < 4 * err + (0.05 if shared else 0.03) * predicted


@pytest.mark.parametrize("cls", [dl.TeacherStudentConfig, dl.DysonConfig])
def test_reproducible_across_backends_and_blocks(cls):
    cfg = cls(steps=300, snapshots=3)
    a = dl.run_ensemble(cfg, replicas=9, seed=5, backend="serial", block_size=9, progress=False)
    b = dl.run_ensemble(cfg, replicas=9, seed=5, workers=2, block_size=2, progress=False)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"teacher": [2.0]}, "teacher: must be a list of at least 2 numbers"),
        ({"teacher": [[1.0, 2.0], [0.0, 1.0]]}, "teacher: a matrix must be symmetric"),
        ({"noise": -0.1}, "noise: must be a finite number >= 0"),
        ({"sampler": "bartlett"},
         "sampler: must be one of 'auto', 'wishart', 'explicit', 'mean-noise'"),
        ({"teacher": [1.0] * 6, "batch_size": 4, "sampler": "wishart"},
         "sampler: 'wishart' needs batch_size >= N = 6, batch_size is 4 (use 'mean-noise'"),
        ({"protocol": "published"}, "protocol: must be one of 'fresh', 'reference'"),
        ({"dataset_size": 4}, "dataset_size: must hold at least one batch"),
        ({"teacher_basis": "eigen"}, "teacher_basis: must be one of"),
        ({"dataset_shared": "yes"}, "dataset_shared: must be true or false"),
    ],
)
def test_teacher_student_config_errors(kwargs, message):
    with pytest.raises(dl.ConfigError, match=re.escape(message)):
        dl.TeacherStudentConfig(**kwargs)


def test_teacher_matrix_and_round_trip():
    cfg = dl.TeacherStudentConfig(teacher=[[2.0, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(cfg.teacher_spectrum, np.linalg.eigvalsh([[2, 0.5], [0.5, 1]]))
    assert dl.TeacherStudentConfig.from_dict(cfg.to_dict()) == cfg
    res = dl.run_ensemble(cfg.replace(steps=2000, snapshots=[2000]), replicas=200, seed=1,
                          progress=False)  # fmt: skip
    # The students learn the teacher's spectrum: level widths ~ 0.02 at A = 0.1, B = 16, so
    # the mean of 200 replicas has a standard error ~ 0.0015 and 0.01 is over 6 of them.
    np.testing.assert_allclose(res.eigenvalues[:, -1].mean(0), cfg.teacher_spectrum, atol=0.01)
