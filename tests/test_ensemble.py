"""Ensembles of RBMs: reproducibility across backends, convergence, linear scaling rule."""

import numpy as np
import pytest

import dysonlearn as dl

PAIRS = [(1, 2), (3, 4), (5, 6), (7, 8)]  # degenerate pairs of x* for free_scalar(10, 2)


def pair_spacings(eigenvalues):
    return np.stack([eigenvalues[..., j] - eigenvalues[..., i] for i, j in PAIRS], axis=-1)


def test_same_seed_is_bitwise_identical_across_backends_workers_and_blocks():
    cfg = dl.RBMConfig(steps=300, snapshots=3, chain_init="normal")
    kw = {"replicas": 10, "seed": 99, "progress": False, "keep_weights": True}
    ref = dl.run_ensemble(cfg, backend="serial", block_size=10, **kw)
    runs = [
        dl.run_ensemble(cfg, backend="serial", block_size=3, **kw),
        dl.run_ensemble(cfg, backend="process", workers=1, **kw),
        dl.run_ensemble(cfg, backend="process", workers=2, block_size=2, **kw),
    ]
    for res in runs:
        np.testing.assert_array_equal(res.eigenvalues, ref.eigenvalues)
        np.testing.assert_array_equal(res.weights, ref.weights)
        np.testing.assert_array_equal(res.fail_step, ref.fail_step)
    # A replica depends on its own seed only: the first 4 of 10 equal a run of 4.
    four = dl.run_ensemble(cfg, replicas=4, seed=99, backend="serial", progress=False)
    np.testing.assert_array_equal(four.eigenvalues, ref.eigenvalues[:4])
    other = dl.run_ensemble(cfg, replicas=4, seed=100, backend="serial", progress=False)
    assert not np.array_equal(other.eigenvalues[:, -1], four.eigenvalues[:, -1])


def test_result_shapes_and_snapshot_steps():
    cfg = dl.RBMConfig(n_visible=6, n_hidden=4, steps=10, snapshots=[3, 7],
                       target=dl.targets.from_spectrum([1, 2, 3, 4, 5, 6]))  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=5, seed=0, backend="serial", progress=False)
    assert res.steps.tolist() == [0, 3, 7]
    assert res.eigenvalues.shape == (5, 3, 6)
    assert res.failed.shape == (5,) and res.fail_step.shape == (5,)
    assert np.all(np.diff(res.eigenvalues, axis=-1) >= 0)
    # N_h = 4 < N_v = 6: X = W^T W has rank 4, two zero eigenvalues (to rounding).
    assert np.all(np.abs(res.eigenvalues[..., :2]) < 1e-12)
    assert res.weights is None
    init = dl.RBMConfig(steps=10, snapshots=2, init_std=0.2)
    res = dl.run_ensemble(init, replicas=200, seed=0, backend="serial", progress=False)
    # Step 0 is the initial state: X = W^T W with W_ij ~ N(0, 0.2^2), so
    # E tr X = N_h N_v sigma_w^2 = 4; the mean over 200 replicas has a standard error of
    # sqrt(2 N_h N_v) sigma_w^2 / sqrt(200) = 0.04, and 0.2 is five of them.
    assert abs(res.eigenvalues[:, 0].sum(axis=1).mean() - 4.0) < 0.2


@pytest.mark.parametrize(("target_mode", "noise_factor"), [("analytic", 1.0), ("sampled", 2.0)])
def test_small_lr_over_b_converges_to_the_target(target_mode, noise_factor):
    """At lr/B = 0.1/128 every eigenvalue settles at x* = mu^2 - kappa within its width
    :eq:`rbm-level-width`."""
    # The slowest mode (kappa = 8) leaves x ~ 0 at a rate 2 lr (1/kappa - 1/mu^2) per step
    # :eq:`fp-drift` and then relaxes at 2 lr x* / kappa^2 :eq:`rbm-restoring-rate`: about 4000
    # steps at lr = 0.1.
    cfg = dl.RBMConfig(lr=0.1, batch_size=128, steps=7000, snapshots=[6000, 6500, 7000],
                       target_mode=target_mode)  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=16, seed=4, progress=False)
    assert not res.failed.any()
    x_star = cfg.target.learnt_spectrum(cfg.mu)
    # :eq:`rbm-level-width`; a sampled target estimates C_target from B samples as C_model is
    # estimated, which doubles the gradient-noise variance: sqrt(2) wider.
    width = np.sqrt(2 * cfg.lr * x_star / cfg.batch_size * noise_factor)
    late = res.eigenvalues[:, 1:]
    # The mean of each sorted level sits within 2 widths of x*: a degenerate pair's members
    # are pushed apart by about sqrt(pi)/2 width :eq:`spacing-pdf`; anything else would be a bug.
    assert np.all(np.abs(late.mean(axis=(0, 1)) - x_star) < 2 * width)
    # Every single replica is within 6 widths of its level (Gaussian tails: never beyond).
    assert np.all(np.abs(late - x_star) < 6 * width)
    # And the fluctuations are of the predicted size, not frozen and not wild.
    spread = late.std(axis=(0, 1))
    assert np.all((spread > 0.3 * width) & (spread < 2 * width))


@pytest.fixture(scope="module")
def scaling_runs():
    """Three settings: lr/B equal for the first two, four times smaller for the third."""
    out = {}
    for lr, batch, steps, replicas, sampler in [
        (0.1, 16, 6000, 128, "collapsed"),
        (0.05, 8, 12000, 128, "collapsed"),
        (0.1, 64, 6000, 64, "collapsed"),
        (0.1, 16, 6000, 128, "gibbs"),
        (0.1, 16, 6000, 128, "gibbs-eigen"),
    ]:
        snaps = list(range(steps // 2, steps + 1, steps // 12))
        cfg = dl.RBMConfig(lr=lr, batch_size=batch, steps=steps, snapshots=snaps,
                           sampler=sampler)  # fmt: skip
        res = dl.run_ensemble(cfg, replicas=replicas, seed=17, progress=False)
        assert not res.failed.any()
        # Spacings averaged over a replica's late snapshots (spaced by more than the
        # slowest relaxation time) are independent across replicas: their spread gives
        # the standard error of the ensemble mean.
        per_replica = pair_spacings(res.eigenvalues[:, 1:]).mean(axis=1)
        out[(lr, batch, sampler)] = (
            per_replica.mean(0),
            per_replica.std(0, ddof=1) / np.sqrt(replicas),
        )
    return out


def test_collapsed_and_gibbs_samplers_give_the_same_spacings(scaling_runs):
    """Same law, different draws: the stationary pair spacings agree within 4 combined
    standard errors (about 2 per cent each here)."""
    (s1, e1), (s2, e2) = scaling_runs[(0.1, 16, "collapsed")], scaling_runs[(0.1, 16, "gibbs")]
    assert np.all(np.abs(s1 - s2) < 4 * np.hypot(e1, e2))


def test_gibbs_eigen_gives_the_same_spacings(scaling_runs):
    """The sweeps in the target's eigenbasis: same law, other draws; the stationary pair
    spacings agree with the collapsed sampler's within 4 combined standard errors."""
    (s1, e1) = scaling_runs[(0.1, 16, "collapsed")]
    (s2, e2) = scaling_runs[(0.1, 16, "gibbs-eigen")]
    assert np.all(np.abs(s1 - s2) < 4 * np.hypot(e1, e2))


def test_linear_scaling_rule_equal_ratio_gives_equal_spacings(scaling_runs):
    (s1, e1), (s2, e2) = scaling_runs[(0.1, 16, "collapsed")], scaling_runs[(0.05, 8, "collapsed")]
    # Same lr/B: same stationary law :eq:`coulomb-gas` up to the finite-lr corrections of relative
    # order lr/2 :eq:`level-width`, which differ by 2.5 per cent between lr = 0.1 and 0.05; allow
    # that plus four combined standard errors (about 2 per cent each here).
    assert np.all(np.abs(s1 - s2) < 4 * np.hypot(e1, e2) + 0.025 * s1)


def test_linear_scaling_rule_four_times_the_ratio_doubles_spacings(scaling_runs):
    (s1, e1), (s4, e4) = scaling_runs[(0.1, 16, "collapsed")], scaling_runs[(0.1, 64, "collapsed")]
    ratio = s1 / s4
    ratio_err = ratio * np.hypot(e1 / s1, e4 / s4)
    # Widths grow like sqrt(lr/B) :eq:`level-width`, so the ratio is sqrt(4) = 2 up to the
    # nonlinearity of the drift at these widths (about 5 per cent, :doc:`/theory/rbm`) and 4
    # standard errors of the ratio (about 3 per cent each).
    assert np.all(np.abs(ratio - 2.0) < 4 * ratio_err + 0.1)


def test_run_arguments_are_validated():
    cfg = dl.RBMConfig(steps=10)
    with pytest.raises(dl.ConfigError) as err:
        dl.run_ensemble(cfg, replicas=0, seed=-1, backend="gpu", workers=0, bit_generator="x")
    text = str(err.value)
    for field in ("replicas", "seed", "backend", "workers", "bit_generator"):
        assert f"{field}:" in text
    with pytest.raises(dl.ConfigError, match="config"):
        dl.run_ensemble({"lr": 0.1}, replicas=2)


def test_seed_none_draws_and_records_fresh_entropy():
    cfg = dl.RBMConfig(steps=5, snapshots=1)
    a = dl.run_ensemble(cfg, replicas=2, backend="serial", progress=False)
    b = dl.run_ensemble(cfg, replicas=2, seed=a.seed, backend="serial", progress=False)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)


def test_progress_goes_to_stderr_as_log_lines_when_not_a_terminal(capsys):
    cfg = dl.RBMConfig(steps=20, snapshots=1)
    dl.run_ensemble(cfg, replicas=3, seed=1, backend="serial", progress=True)
    err = capsys.readouterr().err
    assert "100.0% (60/60 replica-steps)" in err
    dl.run_ensemble(cfg, replicas=3, seed=1, backend="serial", progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("backend", ["serial", "process"])
def test_a_progress_callable_receives_every_replica_step(capsys, backend):
    cfg = dl.RBMConfig(steps=20, snapshots=1)
    counts = []
    dl.run_ensemble(cfg, replicas=3, seed=1, backend=backend, workers=2, progress=counts.append)
    assert sum(counts) == 60 and all(n > 0 for n in counts)
    assert capsys.readouterr().err == ""  # a callable replaces the bar or log lines
    with pytest.raises(dl.ConfigError, match="progress: must be True, False or a callable"):
        dl.run_ensemble(cfg, replicas=3, seed=1, backend=backend, progress="yes")



def test_gibbs_eigen_bits_do_not_depend_on_blocks_or_chunks(monkeypatch):
    """The "gibbs-eigen" state is rotated into the target's eigenbasis once per replica and
    back at the end, so blocks, workers and time chunks (here one step each) leave every
    bit alone; the weights come back in the visible basis (their spectrum is the last
    snapshot's, to rounding), and so does momentum's state (rotated with them)."""
    from dysonlearn import ensemble

    cfg = dl.RBMConfig(n_visible=12, n_hidden=9, steps=60, snapshots=3, sampler="gibbs-eigen",
                       optimizer=dl.Momentum(beta=0.5), lr=0.05)  # fmt: skip
    kw = {"replicas": 5, "seed": 8, "progress": False, "keep_weights": True}
    ref = dl.run_ensemble(cfg, backend="serial", block_size=5, **kw)
    monkeypatch.setattr(ensemble, "_CHUNK_SECONDS", 1e-12)  # a chunk of one step
    for res in (dl.run_ensemble(cfg, backend="serial", block_size=2, **kw),
                dl.run_ensemble(cfg, backend="process", workers=2, block_size=1, **kw)):
        np.testing.assert_array_equal(res.eigenvalues, ref.eigenvalues)
        np.testing.assert_array_equal(res.weights, ref.weights)
        np.testing.assert_array_equal(res.optimizer_state, ref.optimizer_state)
    x = np.linalg.eigvalsh(np.einsum("rhi,rhj->rij", ref.weights, ref.weights))
    np.testing.assert_allclose(x, ref.eigenvalues[:, -1], rtol=0, atol=1e-13)
    assert ref.optimizer_state.shape == (5, 12 * 9)  # v, in the visible basis like W


def test_gibbs_eigen_state_round_trip():
    """initial_state rotates into the eigenbasis, final_weights rotates back: W, chains and
    optimiser state return to what was drawn (to rounding, 1e-15 of their size)."""
    from dysonlearn.models import rbm

    cfg = dl.RBMConfig(n_visible=7, n_hidden=5, steps=10, sampler="gibbs-eigen",
                       optimizer=dl.Momentum(), chain_init="normal")  # fmt: skip
    gens = [np.random.default_rng(s) for s in range(3)]
    state = rbm.initial_state(cfg, gens)
    assert state.basis is not None
    drawn = [np.random.default_rng(s).normal(0.0, cfg.init_std, (5, 7)) for s in range(3)]
    np.testing.assert_allclose(state.weights, np.stack(drawn) @ state.basis, atol=1e-15)
    lam = np.linalg.eigvalsh(cfg.target.covariance)
    np.testing.assert_allclose(state.levels, lam, rtol=1e-14)
    state.opt_state[:] = np.random.default_rng(9).normal(size=state.opt_state.shape)
    before = state.opt_state.reshape(3, 5, 7) @ state.basis.T
    chains = state.chains @ state.basis.T
    weights = rbm.final_weights(state)
    np.testing.assert_allclose(weights, np.stack(drawn), rtol=0, atol=1e-15)
    np.testing.assert_allclose(state.opt_state.reshape(3, 5, 7), before, rtol=0, atol=1e-14)
    np.testing.assert_allclose(state.chains, chains, rtol=0, atol=1e-14)
    assert state.basis is None and state.levels is None
