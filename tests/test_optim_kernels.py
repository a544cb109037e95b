"""The optimisers in the compiled kernels against torch.optim's update equations written out
in NumPy (the equations of :mod:`dysonlearn.optim`), and the array API's optimiser state."""

import math

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import kernels
from dysonlearn.errors import ConfigError
from dysonlearn.optim import SGD, Adam, AdamW, Momentum

OPTIMIZERS = [
    SGD(),
    Momentum(beta=0.9),
    Momentum(beta=0.7, nesterov=True),
    Adam(),
    Adam(beta1=0.5, beta2=0.8, eps=1e-3),
    AdamW(weight_decay=0.1),
]
IDS = ["sgd", "momentum", "nesterov", "adam", "adam-fast", "adamw"]


def reference_update(opt, W, g, state, t, lr):
    """torch.optim's update of W given the gradient g at 1-based step t; state: a dict of
    NumPy arrays (v, or m and s), updated. Written from the equations, not from the kernel."""
    if opt.kind == "sgd":
        return W - lr * g
    if opt.kind == "momentum":
        state["v"] = opt.beta * state["v"] + g
        if opt.nesterov:
            return W - lr * (g + opt.beta * state["v"])
        return W - lr * state["v"]
    if opt.kind == "adamw":
        W = W * (1 - lr * opt.weight_decay)
    state["m"] = opt.beta1 * state["m"] + (1 - opt.beta1) * g
    state["s"] = opt.beta2 * state["s"] + (1 - opt.beta2) * g**2
    m_hat = state["m"] / (1 - opt.beta1**t)
    s_hat = state["s"] / (1 - opt.beta2**t)
    return W - lr * m_hat / (np.sqrt(s_hat) + opt.eps)


def fresh_reference_state(opt, shape):
    if opt.kind == "momentum":
        return {"v": np.zeros(shape)}
    if opt.kind in ("adam", "adamw"):
        return {"m": np.zeros(shape), "s": np.zeros(shape)}
    return {}


def flat_state(opt, state):
    """The reference state in the kernels' layout: v, or m then s, flattened."""
    keys = {"momentum": ["v"], "adam": ["m", "s"], "adamw": ["m", "s"]}.get(opt.kind, [])
    return np.concatenate([state[k].ravel() for k in keys]) if keys else np.zeros(0)


# --- teacher-student: the gradient is minus the bracket of :eq:`ts-update` ------------------


def ts_wishart_gradient(W, T, variates, B, noise):
    """-( ((W_T - W) C_B + C_B (W_T - W)) / 2 + A Xi_B ) from the Wishart variates."""
    n = W.shape[0]
    L, pos = np.zeros((n, n)), 0
    for i in range(n):
        L[i, i] = np.sqrt(variates[pos])
        L[i, :i] = variates[pos + 1 : pos + 1 + i]
        pos += 1 + i
    Xi = np.zeros((n, n))
    Xi[np.triu_indices(n)] = variates[pos:]
    Xi = Xi + np.triu(Xi, 1).T
    Xi[np.diag_indices(n)] *= np.sqrt(2)
    C = L @ L.T / B
    G = (T - W) @ C
    return -((G + G.T) / 2 + noise * Xi / np.sqrt(B))


def ts_variates(rng, n, B):
    chi2 = [np.r_[rng.chisquare(B - i), rng.normal(size=i)] for i in range(n)]
    return np.concatenate(chi2 + [rng.normal(size=n * (n + 1) // 2)])


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=IDS)
@pytest.mark.parametrize("n", [2, 3])
def test_teacher_student_steps_match_the_numpy_update(opt, n):
    rng = np.random.default_rng(7)
    B, lr, noise, steps = 8, 0.05, 0.4, 6
    A = rng.normal(size=(n, n))
    W0, T = (A + A.T) / 2, np.diag(np.arange(1.0, n + 1))
    W_ref, ref_state = W0.copy(), fresh_reference_state(opt, (n, n))
    W = W0.copy()
    state = kernels.optimizer_state(opt, (n, n), replicas=1)[0]
    for t in range(1, steps + 1):
        variates = ts_variates(rng, n, B)
        g = ts_wishart_gradient(W_ref, T, variates, B, noise)
        W_ref = reference_update(opt, W_ref, g, ref_state, t, lr)
        status = kernels.teacher_student_step_given_variates(
            W, T, variates, lr=lr, noise=noise, batch_size=B, optimizer=opt,
            opt_state=None if opt.kind == "sgd" else state, step=t,
        )  # fmt: skip
        assert status == 0
        # Rounding only: a few ulps of entries of order 1, over a few steps.
        np.testing.assert_allclose(W, W_ref, rtol=0, atol=1e-13)
        np.testing.assert_allclose(state, flat_state(opt, ref_state), rtol=1e-12, atol=1e-14)
    assert np.all(W == W.T)  # the optimiser acts on the symmetric gradient entry by entry


# --- RBM: the gradient is sigma_h^2 W (C_model - C_target), :eq:`pcd-update` ---------------


def rbm_gibbs_gradient(W, phi, normals, c_target, mu, sigma_h, k):
    """The PCD gradient of one Gibbs step (the chains advance): sigma_h^2 W (C_model -
    C_target), the descent-sign gradient whose SGD step is :eq:`pcd-update`."""
    B, (nh, nv), pos = phi.shape[0], W.shape, 0

    def take(shape):
        nonlocal pos
        size = int(np.prod(shape))
        pos += size
        return normals[pos - size : pos].reshape(shape)

    h = sigma_h**2 * phi @ W.T + sigma_h * take((B, nh))
    for j in range(k):
        phi = h @ W / mu**2 + take((B, nv)) / mu
        if j < k - 1:
            h = sigma_h**2 * phi @ W.T + sigma_h * take((B, nh))
    return sigma_h**2 * W @ (phi.T @ phi / B - c_target), phi


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=IDS)
@pytest.mark.parametrize("sigma_h", [1.0, 0.8])
def test_rbm_steps_match_the_numpy_update(opt, sigma_h):
    rng = np.random.default_rng(3)
    nh, nv, B, k, lr, mu, steps = 6, 5, 4, 2, 0.02, 3.0, 5
    c_target = dl.targets.free_scalar(n=nv, m=2.0).covariance
    W0 = rng.normal(0, 0.3, (nh, nv))
    phi0 = rng.normal(size=(B, nv))
    W_ref, phi_ref, ref_state = W0.copy(), phi0.copy(), fresh_reference_state(opt, (nh, nv))
    W, phi = W0.copy(), phi0.copy()
    state = kernels.optimizer_state(opt, W.shape, replicas=1)[0]
    count = kernels.rbm_normals_per_step(nv, nh, B, k, sampler="gibbs")
    for t in range(1, steps + 1):
        normals = rng.standard_normal(count)
        g, phi_ref = rbm_gibbs_gradient(W_ref, phi_ref, normals, c_target, mu, sigma_h, k)
        W_ref = reference_update(opt, W_ref, g, ref_state, t, lr)
        status = kernels.rbm_pcd_step_given_normals(
            W, phi, normals, c_target, lr=lr, mu=mu, sigma_h=sigma_h, k=k, sampler="gibbs",
            optimizer=opt, opt_state=None if opt.kind == "sgd" else state, step=t,
        )  # fmt: skip
        assert status == 0
        np.testing.assert_allclose(W, W_ref, rtol=0, atol=1e-13)
        np.testing.assert_allclose(phi, phi_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(state, flat_state(opt, ref_state), rtol=1e-11, atol=1e-14)


# --- the array API: state across calls, bitwise SGD, the replica's stream -----------------


def ts_block(opt, R=3, n=2):
    T = np.tile(np.diag(np.arange(1.0, n + 1)), (R, 1, 1))
    return T.copy(), T, kernels.optimizer_state(opt, (R, n, n))


@pytest.mark.parametrize("opt", OPTIMIZERS[1:], ids=IDS[1:])
@pytest.mark.parametrize("n", [2, 3])
def test_teacher_student_state_carried_across_calls_equals_one_call(opt, n):
    """0 -> 7 -> 20 in two calls with the caller's state equals 0 -> 20 in one, bit for bit
    (Adam's bias correction counts start + 1 .. stop, so restarting it would show)."""
    seeds = np.random.SeedSequence(4).spawn(3)
    common = dict(lr=0.1, noise=0.3, batch_size=4, optimizer=opt)
    W1, T, s1 = ts_block(opt, n=n)
    kernels.teacher_student(W1, T, [np.random.SFC64(s) for s in seeds], stop=20,
                            opt_state=s1, **common)  # fmt: skip
    W2, _, s2 = ts_block(opt, n=n)
    gens = [np.random.SFC64(s) for s in seeds]
    kernels.teacher_student(W2, T, gens, stop=7, opt_state=s2, **common)
    kernels.teacher_student(W2, T, gens, start=7, stop=20, opt_state=s2, **common)
    np.testing.assert_array_equal(W1, W2)
    np.testing.assert_array_equal(s1, s2)
    assert np.all(s1 != 0)
    # ... and the run is not SGD's.
    W3, _, _ = ts_block(SGD(), n=n)
    kernels.teacher_student(W3, T, [np.random.SFC64(s) for s in seeds], stop=20,
                            **{**common, "optimizer": SGD()})  # fmt: skip
    assert np.abs(W3 - W1).max() > 1e-3


@pytest.mark.parametrize("opt", OPTIMIZERS[1:], ids=IDS[1:])
def test_rbm_state_carried_across_calls_equals_one_call(opt):
    R, B, nv, nh = 2, 4, 5, 5
    c_target = dl.targets.free_scalar(n=nv, m=2.0).covariance
    W0 = np.random.default_rng(0).normal(0, 0.3, (R, nh, nv))
    seeds = np.random.SeedSequence(8).spawn(R)
    common = dict(lr=0.02, mu=3.0, k=2, optimizer=opt)
    W1, phi1, s1 = W0.copy(), np.ones((R, B, nv)), kernels.optimizer_state(opt, (R, nh, nv))
    kernels.rbm_pcd(W1, phi1, [np.random.PCG64(s) for s in seeds], c_target, stop=15,
                    opt_state=s1, **common)  # fmt: skip
    W2, phi2, s2 = W0.copy(), np.ones((R, B, nv)), kernels.optimizer_state(opt, (R, nh, nv))
    gens = [np.random.PCG64(s) for s in seeds]
    kernels.rbm_pcd(W2, phi2, gens, c_target, stop=6, opt_state=s2, **common)
    kernels.rbm_pcd(W2, phi2, gens, c_target, start=6, stop=15, opt_state=s2, **common)
    np.testing.assert_array_equal(W1, W2)
    np.testing.assert_array_equal(s1, s2)
    assert np.all(s1 != 0)


@pytest.mark.parametrize("opt", [Momentum(beta=0.8, nesterov=True), AdamW(weight_decay=0.2)],
                         ids=["nesterov", "adamw"])  # fmt: skip
def test_rbm_block_follows_the_one_step_entry_point(opt):
    """The block kernel's steps are the given-normals step fed from the replica's stream,
    with the step counted from start + 1."""
    R, B, nv, nh, k, start, stop = 2, 3, 4, 4, 2, 5, 9
    c_target = dl.targets.free_scalar(n=nv, m=2.0).covariance
    W0 = np.random.default_rng(1).normal(0, 0.3, (R, nh, nv))
    state0 = np.random.default_rng(2).uniform(0.0, 0.01, (R, opt.state_size(nh * nv)))
    seeds = np.random.SeedSequence(9).spawn(R)
    W, phi, state = W0.copy(), np.ones((R, B, nv)), state0.copy()
    kernels.rbm_pcd(W, phi, [np.random.SFC64(s) for s in seeds], c_target, lr=0.05, mu=3.0,
                    k=k, start=start, stop=stop, sampler="gibbs", optimizer=opt,
                    opt_state=state)  # fmt: skip
    count = kernels.rbm_normals_per_step(nv, nh, B, k, sampler="gibbs")
    for r in range(R):
        stream = kernels.standard_normals(np.random.SFC64(seeds[r]), count * (stop - start))
        Wr, pr, sr = W0[r].copy(), np.ones((B, nv)), state0[r].copy()
        for i, t in enumerate(range(start + 1, stop + 1)):
            kernels.rbm_pcd_step_given_normals(
                Wr, pr, stream[i * count : (i + 1) * count], c_target, lr=0.05, mu=3.0, k=k,
                sampler="gibbs", optimizer=opt, opt_state=sr, step=t,
            )  # fmt: skip
        np.testing.assert_array_equal(W[r], Wr)
        np.testing.assert_array_equal(state[r], sr)


def test_sgd_through_the_optimizer_argument_is_bitwise_the_default():
    seeds = np.random.SeedSequence(5).spawn(2)
    W1, T, _ = ts_block(SGD(), R=2)
    W2 = W1.copy()
    common = dict(lr=0.1, noise=0.3, batch_size=4, stop=30)
    kernels.teacher_student(W1, T, [np.random.SFC64(s) for s in seeds], **common)
    kernels.teacher_student(W2, T, [np.random.SFC64(s) for s in seeds], optimizer=SGD(),
                            opt_state=np.zeros((2, 0)), **common)  # fmt: skip
    np.testing.assert_array_equal(W1, W2)


def test_hyper_parameters_can_change_between_calls():
    """A custom loop anneals lr and beta between calls; the state carries over."""
    seeds = np.random.SeedSequence(6).spawn(2)
    W, T, state = ts_block(Momentum(beta=0.9), R=2)
    gens = [np.random.SFC64(s) for s in seeds]
    for i, (lr, beta) in enumerate([(0.1, 0.9), (0.05, 0.5), (0.02, 0.0)]):
        kernels.teacher_student(W, T, gens, lr=lr, noise=0.3, batch_size=4, start=10 * i,
                                stop=10 * (i + 1), optimizer=Momentum(beta=beta),
                                opt_state=state)  # fmt: skip
    assert np.all(np.isfinite(W)) and np.all(np.isfinite(state))
    # With beta = 0 in the last call, v is the last gradient: W moved by exactly lr v.
    W_before = W.copy()
    kernels.teacher_student(W, T, [np.random.SFC64(s) for s in seeds], lr=0.02, noise=0.3,
                            batch_size=4, start=30, stop=31, optimizer=Momentum(beta=0.0),
                            opt_state=state)  # fmt: skip
    np.testing.assert_allclose(W, W_before - 0.02 * state.reshape(W.shape), rtol=0, atol=1e-15)


# --- bad input ---------------------------------------------------------------------------


def test_optimizer_state_helper():
    assert kernels.optimizer_state(SGD(), (4, 3, 3)).shape == (4, 0)
    assert kernels.optimizer_state(Momentum(), (4, 3, 3)).shape == (4, 9)
    assert kernels.optimizer_state(AdamW(), (10, 10), replicas=2).shape == (2, 200)
    assert kernels.optimizer_state({"kind": "adam"}, (2, 2), replicas=1).shape == (1, 8)
    with pytest.raises(ValueError, match="weights_shape"):
        kernels.optimizer_state(Adam(), (3,))
    with pytest.raises(ConfigError, match="optimizer.kind"):
        kernels.optimizer_state({"kind": "rmsprop"}, (2, 2), replicas=1)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (None, r"opt_state: required for the adam optimizer.*shape \(3, 8\).*optimizer_state"),
        (np.zeros((3, 4)), r"opt_state: must have shape \(3, 8\).*got \(3, 4\)"),
        (np.zeros((2, 8)), r"opt_state: must have shape \(3, 8\).*got \(2, 8\)"),
        (np.zeros((3, 8), np.float32), r"opt_state: must be a writeable C-contiguous float64"),
        (np.zeros((8, 3)).T, r"opt_state: must be a writeable C-contiguous float64"),
        ([[0.0] * 8] * 3, r"opt_state: must be a writeable .* got list"),
    ],
)
def test_bad_state_arrays_are_refused(state, message):
    W, T, _ = ts_block(Adam(), R=3)
    W_before = W.copy()
    with pytest.raises(ValueError, match=message):
        kernels.teacher_student(W, T, [np.random.SFC64(i) for i in range(3)], lr=0.1,
                                noise=0.3, batch_size=4, stop=2, optimizer=Adam(),
                                opt_state=state)  # fmt: skip
    np.testing.assert_array_equal(W, W_before)


def test_bad_input_of_the_one_step_entry_points():
    W, T = np.eye(2), np.eye(2)
    v = ts_variates(np.random.default_rng(0), 2, 4)
    common = dict(lr=0.1, noise=0.3, batch_size=4)
    with pytest.raises(ValueError, match=r"opt_state: must have shape \(4,\)"):
        kernels.teacher_student_step_given_variates(
            W, T, v, optimizer=Momentum(), opt_state=np.zeros(5), **common
        )
    with pytest.raises(ValueError, match="step: must be an integer >= 1"):
        kernels.teacher_student_step_given_variates(
            W, T, v, optimizer=Adam(), opt_state=np.zeros(8), step=0, **common
        )
    with pytest.raises(ValueError, match="opt_state: the sgd optimizer keeps no state"):
        kernels.teacher_student_step_given_variates(W, T, v, opt_state=np.zeros(4), **common)
    with pytest.raises(ConfigError, match="optimizer"):
        kernels.teacher_student_step_given_variates(W, T, v, optimizer="adam", **common)
    c = dl.targets.free_scalar(n=2, m=2.0).covariance
    with pytest.raises(ValueError, match=r"opt_state: required for the momentum optimizer"):
        kernels.rbm_pcd_step_given_normals(
            np.eye(2), np.ones((2, 2)), np.zeros(4), c, lr=0.1, mu=3.0, optimizer=Momentum()
        )


# --- in law: the ensemble against a replica-batched NumPy implementation ---------------------

LAW_CASES = [
    (Momentum(beta=0.5), 0.02),
    (Momentum(beta=0.5, nesterov=True), 0.02),
    (Adam(beta2=0.99), 0.005),
    (AdamW(beta2=0.99, weight_decay=0.05), 0.005),
]


def numpy_teacher_student_ensemble(opt, lr, replicas, steps, seed, noise=0.1, batch=16):
    """The fresh-protocol teacher-student model of :eq:`ts-update` with torch.optim's update,
    written independently of the kernels with every replica in one batch: explicit inputs
    x ~ N(0, 1), C_B = X^T X / B, Xi_B the batch average of B GOE matrices (a GOE matrix of
    off-diagonal variance 1 / B), degenerate teacher 2 I (its basis does not matter), the
    student's symmetric start of entries N(0, 0.1^2). Returns the (R, 2) eigenvalues at the
    last step."""
    rng = np.random.default_rng(seed)
    n = 2
    teacher = 2.0 * np.eye(n)
    draw = rng.normal(0.0, 0.1, (replicas, n, n))
    W = np.triu(draw) + np.swapaxes(np.triu(draw, 1), 1, 2)
    state = fresh_reference_state(opt, W.shape)
    for t in range(1, steps + 1):
        X = rng.standard_normal((replicas, batch, n))
        C = np.swapaxes(X, 1, 2) @ X / batch
        G = rng.standard_normal((replicas, n, n)) / np.sqrt(batch)
        xi = (G + np.swapaxes(G, 1, 2)) / np.sqrt(2.0)  # off-diagonal variance 1/B, diagonal 2/B
        D = teacher - W
        g = -(0.5 * (D @ C + C @ D) + noise * xi)
        W = reference_update(opt, W, g, state, t, lr)
    return np.linalg.eigvalsh(W)


@pytest.mark.parametrize("opt, lr", LAW_CASES, ids=["momentum", "nesterov", "adam", "adamw"])
def test_teacher_student_ensemble_agrees_in_law_with_numpy(opt, lr):
    """Mean level and mean spacing after 600 steps agree between the kernel (its explicit
    sampler and its Wishart default) and the NumPy ensemble: two independent ensembles of
    3000 replicas each, compared within 4 combined standard errors of the mean (each error is
    the replicas' standard deviation over sqrt(3000))."""
    steps, replicas = 600, 3000
    reference = numpy_teacher_student_ensemble(opt, lr, replicas, steps, seed=7)
    for sampler in ("explicit", "wishart"):
        cfg = dl.TeacherStudentConfig(teacher=[2.0, 2.0], noise=0.1, lr=lr, batch_size=16,
                                      steps=steps, snapshots=1, sampler=sampler,
                                      optimizer=opt)  # fmt: skip
        res = dl.run_ensemble(cfg, replicas=replicas, seed=8, backend="serial", progress=False)
        assert not res.failed.any()
        kernel = res.eigenvalues[:, -1]
        for stat in (lambda x: x.mean(axis=1), lambda x: x[:, 1] - x[:, 0]):
            a, b = stat(kernel), stat(reference)
            error = math.hypot(a.std(ddof=1), b.std(ddof=1)) / math.sqrt(replicas)
            assert abs(a.mean() - b.mean()) < 4 * error, (sampler, a.mean(), b.mean(), error)
