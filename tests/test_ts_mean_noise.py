"""The teacher-student "mean-noise" sampler: explicit inputs, the batch-mean noise drawn from
its law (:doc:`/theory/teacher_student`); the BLAS products from the kernel's BLAS_MIN_N on;
the sampler "auto" of the configuration."""

import re

import numpy as np
import pytest
from scipy import stats

import dysonlearn as dl
from dysonlearn import kernels
from dysonlearn._core import teacher as _teacher
from dysonlearn.config import resolve_ts_sampler
from ts_helpers import one_step_draws, reference_step

BLAS_MIN_N = _teacher.BLAS_MIN_N


def packed_to_xi(n, packed, scale):
    """The symmetric matrix of a packed upper triangle (row-major), diagonal times sqrt 2."""
    xi = np.zeros((n, n))
    xi[np.triu_indices(n)] = packed
    xi = xi + np.triu(xi, 1).T
    xi[np.diag_indices(n)] *= np.sqrt(2)
    return scale * xi


@pytest.mark.parametrize(
    ("n", "batch"),
    [
        (3, 5),  # the loops (below BLAS_MIN_N), B > N
        (3, 2),  # the loops, B < N
        (BLAS_MIN_N, 16),  # C_B by dsyrk, the data term by dgemm (3 B >= 2 N)
        (BLAS_MIN_N, 20),  # the same with B < N (3 B >= 2 N)
        (40, 4),  # the rank-B data term ((W_T - W) X^T) X / B, C_B never formed
    ],
)
def test_mean_noise_step_with_given_variates_matches_numpy(n, batch):
    rng = np.random.default_rng(n * 100 + batch)
    lr, noise = 0.2, 0.3
    A = rng.normal(size=(n, n))
    W, T = (A + A.T) / 2, np.diag(np.linspace(1.0, 2.0, n))
    x = rng.normal(size=(batch, n))
    packed = rng.normal(size=n * (n + 1) // 2)
    variates = np.concatenate([x.ravel(), packed])
    assert variates.size == kernels.teacher_student_variates_per_step(n, batch, "mean-noise")
    assert variates.size == batch * n + n * (n + 1) // 2
    expected = reference_step(W, T, x.T @ x / batch, packed_to_xi(n, packed, 1 / np.sqrt(batch)),
                              lr, noise)  # fmt: skip
    got = W.copy()
    status = kernels.teacher_student_step_given_variates(
        got, T, variates, lr=lr, noise=noise, batch_size=batch, sampler="mean-noise"
    )
    assert status == 0
    # Entries O(1), sums of at most max(N, B) products: rounding far below 1e-12.
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # The kernel keeps W exactly symmetric.
    np.testing.assert_array_equal(got, got.T)


@pytest.mark.parametrize("sampler", ["wishart", "explicit"])
def test_blas_path_of_the_other_samplers_matches_numpy(sampler):
    """From BLAS_MIN_N on "wishart" and "explicit" use dgemm (and "explicit" dsyrk) too."""
    n, batch, lr, noise = BLAS_MIN_N, 30, 0.1, 0.2
    rng = np.random.default_rng(7)
    A = rng.normal(size=(n, n))
    W, T = (A + A.T) / 2, np.eye(n)
    m = n * (n + 1) // 2
    if sampler == "explicit":
        x = rng.normal(size=(batch, n))
        packed = rng.normal(size=(batch, m))
        variates = np.concatenate([x.ravel(), packed.ravel()])
        C = x.T @ x / batch
        Xi = sum(packed_to_xi(n, p, 1 / batch) for p in packed)
    else:
        chi2 = [rng.chisquare(batch - i) for i in range(n)]
        lower = [rng.normal(size=i) for i in range(n)]
        packed = rng.normal(size=m)
        variates = np.concatenate([np.r_[chi2[i], lower[i]] for i in range(n)] + [packed])
        L = np.zeros((n, n))
        for i in range(n):
            L[i, i], L[i, :i] = np.sqrt(chi2[i]), lower[i]
        C, Xi = L @ L.T / batch, packed_to_xi(n, packed, 1 / np.sqrt(batch))
    got = W.copy()
    kernels.teacher_student_step_given_variates(got, T, variates, lr=lr, noise=noise,
                                                batch_size=batch, sampler=sampler)  # fmt: skip
    np.testing.assert_allclose(got, reference_step(W, T, C, Xi, lr, noise), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [5, 40])
def test_mean_noise_draws_batches_with_the_law_of_explicit_ones(n):
    """At B < N: one step from W = 0 towards W_T = 1 with lr = 1, A = 0 leaves W = C_B; with
    W_T = 0, A = 1 it leaves W = Xi_B. "mean-noise" and "explicit" must give the same laws
    (n = 40: the rank-B BLAS path)."""
    R, B = 4000 if n == 5 else 1000, 3
    draws = {sampler: one_step_draws(n, R, B, sampler, [91, seed])
             for seed, sampler in enumerate(("mean-noise", "explicit"))}  # fmt: skip
    entries = [(0, 0), (0, 1), (n - 1, n - 1), (1, n - 1)]
    for k in range(2):
        a, b = draws["mean-noise"][k], draws["explicit"][k]
        for i, j in entries:
            # Two-sample KS on entries: p below 1e-4 would be a real difference.
            assert stats.ks_2samp(a[:, i, j], b[:, i, j]).pvalue > 1e-4
    cov, xi = draws["mean-noise"]
    # C_B has rank B < N: N - B zero eigenvalues (up to rounding).
    eig = np.linalg.eigvalsh(cov)
    assert np.all(np.abs(eig[:, : n - B]) < 1e-12)
    # Moments over R draws, 5 standard errors: E C_B = 1, Var (C_B)_ij = (1 + delta_ij) / B;
    # Xi_B has mean 0 and variance (1 + delta_ij) / B.
    var = (1 + np.eye(n)) / B
    assert np.all(np.abs(cov.mean(0) - np.eye(n)) < 5 * np.sqrt(var / R))
    assert np.all(np.abs(xi.mean(0)) < 5 * np.sqrt(var / R))
    # The variance of Xi_B's entries, pooled over the off-diagonal ones (many, so tight):
    # relative SE of a variance estimate from M normal draws is sqrt(2 / M).
    upper = np.triu_indices(n, 1)
    off = xi[:, upper[0], upper[1]]
    assert abs(off.var() * B - 1) < 5 * np.sqrt(2 / off.size)


def test_mean_noise_stationary_levels_equal_explicit_ones_at_small_batch():
    """B = 2 < N = 4: the stationary levels (mean and variance of each sorted level, which at
    this B carry the multiplicative noise of C_B too) agree between the samplers."""
    R = 3000
    common = dict(teacher=(1.0, 2.0, 3.0, 4.0), noise=0.2, lr=0.1, batch_size=2, steps=400,
                  snapshots=(400,))  # fmt: skip
    levels = {}
    for sampler in ("mean-noise", "explicit"):
        cfg = dl.TeacherStudentConfig(sampler=sampler, **common)
        result = dl.run_ensemble(cfg, replicas=R, seed=17, backend="serial", progress=False)
        assert not result.failed.any()
        levels[sampler] = result.eigenvalues[:, -1]  # (R, 4), replicas independent
    a, b = levels["mean-noise"], levels["explicit"]
    va, vb = a.var(axis=0, ddof=1), b.var(axis=0, ddof=1)
    # Means: 4 standard errors of the difference of two independent means.
    assert np.all(np.abs(a.mean(0) - b.mean(0)) < 4 * np.sqrt((va + vb) / R))
    # Variances: the SE of a sample variance is about v sqrt(2 / (R - 1)) (Gaussian levels;
    # 4.5 of them for the difference, as the levels are only nearly Gaussian).
    assert np.all(np.abs(va - vb) < 4.5 * np.sqrt(2 / (R - 1)) * np.sqrt(va**2 + vb**2))
    # And the noise is really there: the levels spread well beyond the rounding.
    assert np.all(va > 1e-4)


def test_wishart_below_the_batch_size_names_the_alternative():
    with pytest.raises(dl.ConfigError,
                       match=re.escape("sampler: 'wishart' needs batch_size >= N = 6, "
                                       "batch_size is 4 (use 'mean-noise': explicit inputs, "
                                       "any batch size; or 'auto'), got 'wishart'")):  # fmt: skip
        dl.TeacherStudentConfig(teacher=[1.0] * 6, batch_size=4, sampler="wishart")
    W = np.zeros((1, 6, 6))
    with pytest.raises(ValueError, match=re.escape(
            "sampler: 'wishart' needs batch_size >= n = 6, got batch_size 4 (use 'mean-noise'")):
        kernels.teacher_student(W, W.copy(), [np.random.SFC64(1)], lr=0.1, noise=0.1,
                                batch_size=4, stop=1, sampler="wishart")  # fmt: skip
    with pytest.raises(ValueError, match="sampler must be one of"):
        kernels.teacher_student(W, W.copy(), [np.random.SFC64(1)], lr=0.1, noise=0.1,
                                batch_size=4, stop=1, sampler="mean_noise")  # fmt: skip


def test_auto_resolves_and_is_recorded():
    assert dl.TeacherStudentConfig().sampler == "wishart"  # the reference configuration
    small = dl.TeacherStudentConfig(teacher=[1.0] * 6, batch_size=4)
    assert small.sampler == "mean-noise" == resolve_ts_sampler(6, 4)
    assert small.to_dict()["sampler"] == "mean-noise"
    assert dl.TeacherStudentConfig.from_dict(small.to_dict()) == small
    # A configuration that names the sampler "auto" chose equals the auto one.
    assert small == dl.TeacherStudentConfig(teacher=[1.0] * 6, batch_size=4, sampler="mean-noise")
    # replace() chooses again for the new sizes, unless given a sampler.
    assert small.replace(batch_size=8).sampler == "wishart"
    assert small.replace(batch_size=8, sampler="explicit").sampler == "explicit"
    named = dl.TeacherStudentConfig(teacher=[1.0] * 6, batch_size=4, sampler="explicit")
    assert named.replace(batch_size=8).sampler == "explicit"
    # The reference protocol draws no batches: "auto" keeps its old default.
    ref = dl.TeacherStudentConfig(teacher=[1.0] * 6, batch_size=4, protocol="reference")
    assert ref.sampler == "wishart"
    # The array API resolves it too.
    assert kernels.teacher_student_variates_per_step(6, 4, "auto") == 4 * 6 + 21
    assert kernels.teacher_student_variates_per_step(2, 16, "auto") == (
        kernels.teacher_student_variates_per_step(2, 16, "wishart"))


def test_auto_runs_and_matches_the_named_sampler():
    cfg = dl.TeacherStudentConfig(teacher=(2.0, 1.5, 1.0, 0.5), batch_size=3, steps=50,
                                  snapshots=2)  # fmt: skip
    named = cfg.replace(sampler="mean-noise")
    a = dl.run_ensemble(cfg, replicas=4, seed=3, backend="serial", progress=False)
    b = dl.run_ensemble(named, replicas=4, seed=3, backend="serial", progress=False)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
