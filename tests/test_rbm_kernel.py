"""The compiled PCD kernel against :eq:`rbm-hidden-given-visible` to :eq:`pcd-update` written out
in plain NumPy."""

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import kernels

MU, SIGMA_H, LR, K = 3.0, 1.0, 0.1, 3
TARGET = dl.targets.free_scalar(n=10, m=2.0)


def collapsed_transition(W, mu, sigma_h, k):
    """A^k and Sigma_k of the k-sweep chain transition, summed term by term as derived:
    one sweep phi' = A phi + noise of covariance Q :eq:`rbm-hidden-given-visible`,
    :eq:`rbm-visible-given-hidden`."""
    A = sigma_h**2 * W.T @ W / mu**2
    Q = sigma_h**2 * W.T @ W / mu**4 + np.eye(W.shape[1]) / mu**2
    powers = [np.linalg.matrix_power(A, j) for j in range(k + 1)]
    return powers[k], sum(powers[j] @ Q @ powers[j] for j in range(k))


def reference_step(W, phi, take, c_target, lr, mu, sigma_h, k, chol=None, sampler="gibbs"):
    """One PCD step exactly as :eq:`rbm-hidden-given-visible`, :eq:`rbm-visible-given-hidden`,
    :eq:`pcd-update` state it; `take(shape)` gives normals."""
    B = phi.shape[0]
    if sampler == "collapsed":
        Ak, sigma_k = collapsed_transition(W, mu, sigma_h, k)
        phi = phi @ Ak.T + take((B, W.shape[1])) @ np.linalg.cholesky(sigma_k).T
    else:
        # :eq:`rbm-hidden-given-visible`, eta = 0
        h = sigma_h**2 * phi @ W.T + sigma_h * take((B, W.shape[0]))
    for j in range(k if sampler != "collapsed" else 0):
        phi = h @ W / mu**2 + take((B, W.shape[1])) / mu  # :eq:`rbm-visible-given-hidden`
        if j < k - 1:
            h = sigma_h**2 * phi @ W.T + sigma_h * take((B, W.shape[0]))
    if chol is not None:  # sampled target: B fresh samples t_b = L z_b
        t = take((B, W.shape[1])) @ chol.T
        c_target = t.T @ t / B
    c_model = phi.T @ phi / B
    return W + lr * sigma_h**2 * W @ (c_target - c_model), phi  # :eq:`pcd-update`


def reader(values, transposed=False):
    """take(shape): the next prod(shape) values as an array of that shape; ``transposed``:
    laid out as the transposed shape (the "gibbs-eigen" order, chain index fastest)."""
    pos = 0

    def take(shape):
        nonlocal pos
        n = int(np.prod(shape))
        block = values[pos : pos + n]
        out = block.reshape(shape[::-1]).T if transposed else block.reshape(shape)
        pos += n
        return out

    return take


@pytest.mark.parametrize("sampler", ["gibbs", "collapsed", "gibbs-eigen"])
@pytest.mark.parametrize("sampled", [False, True])
@pytest.mark.parametrize(
    ("n_hidden", "batch", "k", "sigma_h"), [(10, 16, 3, 1.0), (7, 5, 1, 0.8), (12, 3, 2, 1.3)]
)
def test_one_step_with_given_normals_matches_numpy(sampler, sampled, n_hidden, batch, k, sigma_h):
    rng = np.random.default_rng(11)
    nv = 10
    W = rng.normal(0, 0.3, (n_hidden, nv))
    phi = rng.normal(size=(batch, nv))
    cov = TARGET.covariance
    if sampler == "gibbs-eigen":  # the state is in the target's eigenbasis: cov diagonal
        cov = np.diag(1.0 / TARGET.spectrum)
    chol = np.linalg.cholesky(cov) if sampled else None
    n = kernels.rbm_normals_per_step(nv, n_hidden, batch, k, sampled, sampler)
    per_chain = k * (nv + n_hidden) if sampler != "collapsed" else nv
    assert n == batch * per_chain + (batch * nv if sampled else 0)
    z = rng.standard_normal(n)
    take = reader(z, transposed=sampler == "gibbs-eigen")
    W_ref, phi_ref = reference_step(W, phi, take, cov, LR, MU, sigma_h, k, chol, sampler)
    W_c, phi_c = W.copy(), phi.copy()
    status = kernels.rbm_pcd_step_given_normals(
        W_c,
        phi_c,
        z,
        cov,
        lr=LR,
        mu=MU,
        sigma_h=sigma_h,
        k=k,
        target_chol=chol,
        sampler=sampler,
    )
    assert status == 0
    np.testing.assert_allclose(W_c, W_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(phi_c, phi_ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("sampled", [False, True])
def test_gibbs_eigen_is_gibbs_in_the_targets_eigenbasis(sampled):
    """With C_target = U Lambda U^T: "gibbs-eigen" stepping W U and Phi U (c_target = Lambda)
    with the visible normals rotated by U is "gibbs" stepping W and Phi, rotated: the same
    law, since rotated standard normals are standard normals (to rounding: 1e-14)."""
    rng = np.random.default_rng(1)
    nv, nh, B, k = 12, 9, 5, 3
    cov = dl.targets.free_scalar(nv, 2.0).covariance
    lam, U = np.linalg.eigh(cov)
    W, phi = rng.normal(0, 0.1, (nh, nv)), rng.normal(0, 0.3, (B, nv))
    chol = np.linalg.cholesky(cov) if sampled else None
    z = rng.standard_normal(kernels.rbm_normals_per_step(nv, nh, B, k, sampled, "gibbs"))
    # Order: eps_h (B, N_h), then k times eps_phi (B, N_v) and (but the last) eps_h; the
    # "gibbs-eigen" kernel reads each draw transposed (chain index fastest).
    rotated, pos = np.empty_like(z), 0
    for _ in range(k):
        rotated[pos : pos + B * nh] = z[pos : pos + B * nh].reshape(B, nh).T.ravel()
        pos += B * nh
        rotated[pos : pos + B * nv] = (z[pos : pos + B * nv].reshape(B, nv) @ U).T.ravel()
        pos += B * nv
    assert pos == z.size - (B * nv if sampled else 0)
    if sampled:  # t = L z in the eigenbasis is U^T L z = Lambda^(1/2) z', z' standard
        rotated[pos:] = ((z[pos:].reshape(B, nv) @ chol.T @ U) / np.sqrt(lam)).T.ravel()
    w1, p1 = W.copy(), phi.copy()
    kernels.rbm_pcd_step_given_normals(w1, p1, z, cov, lr=LR, mu=MU, k=k, sampler="gibbs",
                                       target_chol=chol)  # fmt: skip
    w2, p2 = W @ U, phi @ U
    kernels.rbm_pcd_step_given_normals(
        w2, p2, rotated, np.diag(lam), lr=LR, mu=MU, k=k, sampler="gibbs-eigen",
        target_chol=np.diag(np.sqrt(lam)) if sampled else None)  # fmt: skip
    assert np.abs(w1 - W).max() > 1e-3  # the step moved W
    np.testing.assert_allclose(w2 @ U.T, w1, rtol=0, atol=1e-14)
    np.testing.assert_allclose(p2 @ U.T, p1, rtol=0, atol=1e-14)


def test_gibbs_eigen_needs_a_diagonal_target():
    W, chains = np.zeros((1, 4, 4)) + 0.1, np.ones((1, 2, 4))
    cov = dl.targets.free_scalar(4, 2.0).covariance
    with pytest.raises(ValueError, match=r"c_target: the 'gibbs-eigen' sampler needs it "
                                         r"diagonal .* entry \(0, 1\)"):
        kernels.rbm_pcd(W, chains, [np.random.SFC64(0)], cov, lr=LR, mu=MU, stop=1,
                        sampler="gibbs-eigen")  # fmt: skip
    with pytest.raises(ValueError, match="chol: the 'gibbs-eigen' sampler needs it diagonal"):
        kernels.rbm_pcd(W, chains, [np.random.SFC64(0)], np.eye(4), lr=LR, mu=MU, stop=1,
                        sampler="gibbs-eigen", target_chol=np.linalg.cholesky(cov))  # fmt: skip


@pytest.mark.parametrize("method", ["ziggurat", "numpy"])
@pytest.mark.parametrize("bitgen", [np.random.SFC64, np.random.PCG64])
def test_generator_stream_drives_steps_in_documented_order(bitgen, method):
    """Several steps through the real bit generator equal NumPy fed from the same stream."""
    R, B, nv, nh, steps = 3, 4, 10, 10, 6
    seeds = np.random.SeedSequence(5).spawn(R)
    rng = np.random.default_rng(0)
    W0 = rng.normal(0, 0.3, (R, nh, nv))
    phi0 = np.ones((R, B, nv))
    W, phi = W0.copy(), phi0.copy()
    snaps = np.arange(steps + 1)
    eig = kernels.rbm_pcd(
        W, phi, [bitgen(s) for s in seeds], TARGET.covariance,
        lr=LR, mu=MU, sigma_h=SIGMA_H, k=K, stop=steps, snapshot_steps=snaps,
        normal_method=method, sampler="gibbs",
    )  # fmt: skip
    n = kernels.rbm_normals_per_step(nv, nh, B, K, sampler="gibbs")
    for r in range(R):
        # All normals of the run in one draw: the kernel consumes one stream per replica.
        stream = reader(kernels.standard_normals(bitgen(seeds[r]), n * steps, method))
        if method == "numpy":  # ... which is then NumPy's Generator.standard_normal stream
            np.testing.assert_array_equal(
                kernels.standard_normals(bitgen(seeds[r]), n, method),
                np.random.Generator(bitgen(seeds[r])).standard_normal(n),
            )
        Wr, pr = W0[r], phi0[r]
        spectra = [np.linalg.eigvalsh(Wr.T @ Wr)]
        for _ in range(steps):
            Wr, pr = reference_step(Wr, pr, reader(stream((n,))), TARGET.covariance,
                                    LR, MU, SIGMA_H, K)  # fmt: skip
            spectra.append(np.linalg.eigvalsh(Wr.T @ Wr))
        np.testing.assert_allclose(W[r], Wr, rtol=0, atol=1e-12)
        np.testing.assert_allclose(phi[r], pr, rtol=0, atol=1e-12)
        np.testing.assert_allclose(eig[r], np.array(spectra), rtol=0, atol=1e-11)


@pytest.mark.parametrize("sampler", ["gibbs", "collapsed"])
def test_one_transition_has_the_derived_moments(sampler):
    """For a fixed W (lr = 0), one step moves every chain phi_0 to a Gaussian of mean
    A^k phi_0 and covariance Sigma_k: the derivation behind the collapsed sampler, checked
    on both samplers' draws."""
    nv, nh, B, k = 6, 8, 4, 3
    rng = np.random.default_rng(5)
    W = rng.normal(0, 0.3, (nh, nv))
    W *= np.sqrt(6.0 / np.linalg.eigvalsh(W.T @ W)[-1])  # slow chains: max x = 6 of 9
    v0 = rng.normal(size=(B, nv))
    Ak, sigma_k = collapsed_transition(W, MU, 1.0, k)
    R = 20000
    weights, chains = np.repeat(W[None], R, 0), np.repeat(v0[None], R, 0)
    gens = [np.random.SFC64(s) for s in np.random.SeedSequence(6).spawn(R)]
    kernels.rbm_pcd(weights, chains, gens, np.eye(nv), lr=0.0, mu=MU, k=k, stop=1,
                    sampler=sampler)  # fmt: skip
    deviation = chains - v0 @ Ak.T
    # Mean: each of the 24 entries within 5 standard errors sqrt(Sigma_ii / R).
    se_mean = np.sqrt(np.diag(sigma_k) / R)
    assert np.all(np.abs(deviation.mean(0)) < 5 * se_mean)
    # Covariance from R B draws: entry (i, j) has standard error
    # sqrt((S_ii S_jj + S_ij^2) / (R B)); 5 of them.
    cov = np.einsum("rbi,rbj->ij", deviation, deviation) / (R * B)
    d = np.diag(sigma_k)
    se_cov = np.sqrt((np.outer(d, d) + sigma_k**2) / (R * B))
    assert np.all(np.abs(cov - sigma_k) < 5 * se_cov)
    # Sigma_k tends to the model covariance K^-1 = (mu^2 - X)^-1 as k grows :eq:`rbm-kernel`.
    _, sigma_inf = collapsed_transition(W, MU, 1.0, 200)
    np.testing.assert_allclose(sigma_inf, np.linalg.inv(MU**2 * np.eye(nv) - W.T @ W), atol=1e-9)


@pytest.mark.parametrize("sampler", ["gibbs", "collapsed"])
def test_chains_sample_the_model_when_weights_are_frozen(sampler):
    """With lr = 0 the chains are an exact Gibbs sampler of p(phi): <phi phi^T> = K^-1
    :eq:`rbm-kernel`."""
    rng = np.random.default_rng(3)
    R, B, nv, nh = 64, 16, 6, 8
    W = rng.normal(0, 0.25, (nh, nv))
    # Scale W so that X = W^T W has its top eigenvalue at 6 < mu^2 = 9: slow, strongly
    # correlated modes, the regime in which a wrong mu power or sigma_h factor shows.
    W *= np.sqrt(6.0 / np.linalg.eigvalsh(W.T @ W)[-1])
    K_model = MU**2 * np.eye(nv) - W.T @ W
    expected = np.linalg.inv(K_model)
    weights = np.repeat(W[None], R, axis=0)
    chains = np.ones((R, B, nv))
    gens = [np.random.SFC64(s) for s in np.random.SeedSequence(8).spawn(R)]
    burn_in, sweeps = 30, 400
    acc = np.zeros((R, nv, nv))
    for step in range(burn_in + sweeps):
        kernels.rbm_pcd(weights, chains, gens, expected, lr=0.0, mu=MU, sigma_h=1.0, k=K,
                        start=step, stop=step + 1, sampler=sampler)  # fmt: skip
        if step >= burn_in:
            acc += np.einsum("rbi,rbj->rij", chains, chains) / B
    np.testing.assert_array_equal(weights, np.repeat(W[None], R, axis=0))
    per_replica = acc / sweeps
    # Replicas are independent, so the spread of the 64 per-replica estimates gives an
    # honest standard error whatever the chains' autocorrelation; 5 standard errors on
    # 21 distinct entries leaves a false-alarm chance below 1e-4 for a correct kernel.
    mean = per_replica.mean(axis=0)
    stderr = per_replica.std(axis=0, ddof=1) / np.sqrt(R)
    assert np.all(np.abs(mean - expected) < 5 * stderr)
    # ... and that test has power: the covariance of a wrong model (mu instead of mu^2)
    # or of independent sites is many standard errors away.
    assert np.max(np.abs(np.diag(expected) - 1 / MU**2) / np.diag(stderr)) > 50


def test_divergence_is_flagged_per_replica_and_others_continue():
    R, B, nv = 3, 4, 10
    rng = np.random.default_rng(1)
    W = rng.normal(0, 0.1, (R, nv, nv))
    W[1] *= np.sqrt(9.5 / np.linalg.eigvalsh(W[1].T @ W[1])[-1])  # max x = 9.5 >= mu^2
    W[2, 0, 0] = np.nan
    chains = np.ones((R, B, nv))
    failed = np.zeros(R, np.uint8)
    fail_step = np.full(R, -1, np.int64)
    gens = [np.random.SFC64(s) for s in range(R)]
    eig = kernels.rbm_pcd(W, chains, gens, TARGET.covariance, lr=LR, mu=MU, k=K, stop=20,
                          snapshot_steps=[0, 10, 20], failed=failed, fail_step=fail_step)  # fmt: skip
    assert failed.tolist() == [0, 1, 1]
    assert fail_step.tolist() == [-1, 0, 0]
    assert np.all(np.isfinite(eig[0])) and np.all(np.isnan(eig[1:]))


def test_diverging_training_reports_the_step():
    """At lr/B = 0.1 some replicas jump over mu^2 mid-run; they stop, the others go on."""
    cfg = dl.RBMConfig(lr=0.4, batch_size=4, steps=400, snapshots=[100, 200, 300, 400])
    res = dl.run_ensemble(cfg, replicas=24, seed=2, backend="serial", progress=False)
    assert 0 < res.failed.sum() < res.n_replicas
    assert np.all(res.fail_step[res.failed] > 0) and np.all(res.fail_step[~res.failed] == -1)
    for r in range(res.n_replicas):
        after = res.steps >= res.fail_step[r] if res.failed[r] else np.zeros(res.steps.size, bool)
        assert np.all(np.isnan(res.eigenvalues[r, after]))
        assert np.all(np.isfinite(res.eigenvalues[r, ~after]))
        # Every recorded spectrum respects the positivity bound :eq:`rbm-kernel`.
        assert np.all(res.eigenvalues[r, ~after] < MU**2)


def test_array_api_rejects_arrays_it_cannot_update_in_place():
    W = np.zeros((2, 10, 10), dtype=np.float32)
    with pytest.raises(ValueError, match="weights: must be a writeable C-contiguous float64"):
        kernels.rbm_pcd(W, np.ones((2, 4, 10)), [np.random.SFC64(0)] * 2, TARGET.covariance,
                        lr=LR, mu=MU, stop=1)  # fmt: skip
    with pytest.raises(ValueError, match="one bit generator per replica"):
        kernels.rbm_pcd(np.zeros((2, 10, 10)), np.ones((2, 4, 10)), [np.random.SFC64(0)],
                        TARGET.covariance, lr=LR, mu=MU, stop=1)  # fmt: skip


def test_array_api_reproduces_run_ensemble_bit_for_bit():
    """A custom loop on dl.kernels, seeded as run_ensemble seeds (replica i from
    SeedSequence(seed).spawn(R)[i], its W drawn first from that stream), gives the same
    arrays; so does cutting the run into calls, here with the learning rate passed anew."""
    cfg = dl.RBMConfig(steps=300, snapshots=3)
    R, seed = 5, 21
    ref = dl.run_ensemble(cfg, replicas=R, seed=seed, backend="serial", progress=False,
                          keep_weights=True)  # fmt: skip
    gens = [np.random.Generator(np.random.SFC64(s))
            for s in np.random.SeedSequence(seed).spawn(R)]  # fmt: skip
    W = np.stack([g.normal(0.0, cfg.init_std, (10, 10)) for g in gens])
    chains = np.ones((R, cfg.batch_size, 10))
    eig = np.full((R, cfg.snapshot_steps.size, 10), np.nan)
    for start, stop in [(0, 100), (100, 250), (250, 300)]:
        kernels.rbm_pcd(W, chains, gens, TARGET.covariance, lr=cfg.lr, mu=MU, k=K,
                        start=start, stop=stop, snapshot_steps=cfg.snapshot_steps,
                        eigenvalues=eig, sampler=cfg.sampler)  # fmt: skip
    np.testing.assert_array_equal(eig, ref.eigenvalues)
    np.testing.assert_array_equal(W, ref.weights)


def test_one_generator_can_serve_all_replicas():
    W, chains = np.zeros((3, 10, 10)) + 0.05, np.ones((3, 4, 10))
    eig = kernels.rbm_pcd(W, chains, np.random.default_rng(0), TARGET.covariance, lr=LR,
                          mu=MU, stop=5, snapshot_steps=[5])  # fmt: skip
    assert np.all(np.isfinite(eig)) and not np.array_equal(eig[0], eig[1])


@pytest.mark.parametrize("sampler", ["auto", "collapsed", "gibbs", "gibbs-eigen"])
@pytest.mark.parametrize(("n_visible", "n_hidden"), [(100, 50), (50, 100)])
def test_non_square_layers_at_large_n(n_visible, n_hidden, sampler):
    """N_v != N_h at large N: the kernel runs, each spectrum has N_v values, the zeros of a
    rank-deficient X among them, and the last one is NumPy's eigenvalues of
    sigma_h^2 W^T W of the returned weights (to rounding: a few units of 2^-53 of the
    largest eigenvalue, times N)."""
    cfg = dl.RBMConfig(n_visible=n_visible, n_hidden=n_hidden, init="mp_geometric",
                       sigma_h=0.9, lr=0.05, batch_size=8, steps=40, snapshots=2,
                       sampler=sampler)  # fmt: skip
    from dysonlearn.config import resolve_rbm_sampler

    assert cfg.sampler == resolve_rbm_sampler(n_visible, n_hidden, 8, 3, sampler) != "auto"
    res = dl.run_ensemble(cfg, replicas=3, seed=7, backend="serial", progress=False,
                          keep_weights=True)  # fmt: skip
    assert not res.failed.any()
    assert res.eigenvalues.shape == (3, 3, n_visible)
    for r in range(3):
        W = res.weights[r]
        x = np.linalg.eigvalsh(cfg.sigma_h**2 * W.T @ W)
        scale = x[-1]
        np.testing.assert_allclose(res.eigenvalues[r, -1], x, rtol=0, atol=1e-13 * n_visible * scale)
        rank = min(n_visible, n_hidden)
        zeros = res.eigenvalues[r, :, : n_visible - rank]
        assert np.all(np.abs(zeros) < 1e-12 * scale)
        assert np.all(res.eigenvalues[r, :, n_visible - rank:] > 1e-6 * scale)
        assert np.all(np.diff(res.eigenvalues[r], axis=-1) >= 0)
        assert res.eigenvalues[r, -1, -1] < cfg.mu**2


@pytest.mark.parametrize("n_visible", [127, 128, 300])
def test_spectra_on_both_sides_of_the_blocked_reduction(n_visible):
    """From N_v = 128 on the eigensolver's tridiagonal reduction is blocked (faster there;
    _linalg.pxi): the recorded spectrum is NumPy's eigenvalues of sigma_h^2 W^T W on both
    sides, to rounding (a few units of 2^-53 of the largest eigenvalue, times N)."""
    rng = np.random.default_rng(n_visible)
    W = rng.normal(0.0, 0.5 / np.sqrt(n_visible), (1, n_visible + 7, n_visible))
    eig = kernels.rbm_pcd(W.copy(), np.ones((1, 2, n_visible)), [np.random.SFC64(0)],
                          np.eye(n_visible), lr=0.01, mu=MU, stop=0, snapshot_steps=[0],
                          sampler="gibbs")  # fmt: skip
    ref = np.linalg.eigvalsh(W[0].T @ W[0])
    np.testing.assert_allclose(eig[0, 0], ref, rtol=0, atol=1e-14 * n_visible * ref[-1])
