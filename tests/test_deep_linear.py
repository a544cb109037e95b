"""Deep linear teacher-student model :eq:`dl-update`: the kernel's arithmetic against NumPy,
the balancedness invariant :eq:`dl-balancedness`, convergence to the teacher, L = 1 against
the single-layer model, validation, and the ensemble, store and TOML paths."""

import warnings

import h5py
import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import kernels
from dysonlearn.experiment import parse_experiment


def layers(w, widths):
    """The layers W_1 .. W_L of one replica's weight vector."""
    out, start = [], 0
    for rows, cols in zip(widths[1:], widths[:-1], strict=True):
        out.append(w[start:start + rows * cols].reshape(rows, cols))
        start += rows * cols
    return out


def product(ws, n):
    m = np.eye(n)
    for w in ws:
        m = w @ m
    return m


def draw_variates(rng, widths, batch, sampler):
    """Variates in the kernel's order, chi-squared values drawn as such; and C_B, xi."""
    n0, count = widths[0], kernels.deep_linear_variates_per_step(widths, batch, sampler)
    v = rng.normal(size=count)
    if sampler == "wishart":
        lower, pos = np.zeros((n0, n0)), 0
        for i in range(n0):
            v[pos] = rng.chisquare(batch - i)
            lower[i, i] = np.sqrt(v[pos])
            lower[i, :i] = v[pos + 1:pos + 1 + i]
            pos += 1 + i
        cov = lower @ lower.T / batch
    else:
        x = v[:batch * n0].reshape(batch, n0)
        cov, pos = x.T @ x / batch, batch * n0
    return v, cov, v[pos:]


def reference_step(w, teacher, widths, cov, xi, lr, noise, batch):
    """W_l <- W_l - lr (P_l^T (M - M_T) C_B Q_l^T + A xi_l / sqrt(B)) :eq:`dl-gradient`."""
    ws = layers(w, widths)
    e = (product(ws, widths[0]) - teacher) @ cov
    grads = []
    for l in range(len(ws)):
        p = product(ws[l + 1:], widths[l + 1])
        q = product(ws[:l], widths[0])
        grads.append(p.T @ e @ q.T)
    return w - lr * (np.concatenate([g.ravel() for g in grads]) + noise / np.sqrt(batch) * xi)


@pytest.mark.parametrize(
    ("widths", "batch", "sampler"),
    [([3, 5, 4, 2], 8, "wishart"), ([4, 4, 4], 16, "wishart"), ([5, 3], 2, "explicit"),
     ([2, 6, 3], 4, "explicit"), ([12, 20, 12], 16, "wishart")],  # the last: dgemm path
)  # fmt: skip
def test_one_step_with_given_variates_matches_numpy(widths, batch, sampler):
    rng = np.random.default_rng(7)
    w = rng.normal(size=kernels.deep_linear_n_weights(widths))
    teacher = rng.normal(size=(widths[-1], widths[0]))
    variates, cov, xi = draw_variates(rng, widths, batch, sampler)
    expected = reference_step(w, teacher, widths, cov, xi, 0.01, 0.3, batch)
    got = w.copy()
    status = kernels.deep_linear_step_given_variates(
        got, teacher, variates, widths=widths, lr=0.01, noise=0.3, batch_size=batch,
        sampler=sampler,
    )  # fmt: skip
    assert status == kernels.Status.OK
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13 * np.abs(expected).max())


def test_advance_draws_what_the_given_variates_step_documents():
    """One step of the block kernel equals the given-variates step fed from the same stream
    (numpy's normals; chi-squared values through numpy's Generator, as the kernel draws)."""
    widths, batch = [3, 4, 3], 8
    w0 = np.random.default_rng(1).normal(size=(1, kernels.deep_linear_n_weights(widths)))
    teacher = np.diag([1.0, 2.0, 3.0])
    block = w0.copy()
    kernels.deep_linear(block, teacher, [np.random.PCG64(5)], widths=widths, lr=0.05,
                        noise=0.2, batch_size=batch, stop=1, sampler="explicit",
                        normal_method="numpy")  # fmt: skip
    gen = np.random.Generator(np.random.PCG64(5))
    variates = gen.standard_normal(kernels.deep_linear_variates_per_step(widths, batch, "explicit"))
    single = w0[0].copy()
    kernels.deep_linear_step_given_variates(single, teacher, variates, widths=widths, lr=0.05,
                                            noise=0.2, batch_size=batch, sampler="explicit")
    np.testing.assert_array_equal(block[0], single)


def balancedness(w, widths):
    ws = layers(w, widths)
    return [ws[l + 1].T @ ws[l + 1] - ws[l] @ ws[l].T for l in range(len(ws) - 1)]


def test_balancedness_changes_at_second_order_in_lr_without_noise():
    """Gradient flow conserves W_{l+1}^T W_{l+1} - W_l W_l^T :eq:`dl-balancedness`; one SGD
    step changes it by lr^2 (G_{l+1}^T G_{l+1} - G_l G_l^T) exactly: halving lr divides the
    change by 4 (up to rounding), whatever the batch."""
    widths, batch = [3, 4, 5, 3], 8
    rng = np.random.default_rng(3)
    w = rng.normal(0.0, 0.7, size=kernels.deep_linear_n_weights(widths))
    teacher = rng.normal(size=(3, 3))
    variates, _, _ = draw_variates(rng, widths, batch, "wishart")
    before = balancedness(w, widths)
    gram_before = [b.T @ b for b in layers(w, widths)[1:]]
    changes, terms = [], []
    for lr in (1e-2, 5e-3, 2.5e-3):
        stepped = w.copy()
        kernels.deep_linear_step_given_variates(stepped, teacher, variates, widths=widths,
                                                lr=lr, noise=0.0, batch_size=batch)
        changes.append([np.abs(a - b).max() for a, b in zip(balancedness(stepped, widths),
                                                            before, strict=True)])
        terms.append([np.abs(b.T @ b - g).max() for b, g in zip(layers(stepped, widths)[1:],
                                                               gram_before, strict=True)])
    changes, terms = np.array(changes), np.array(terms)
    assert np.all(changes > 0)
    np.testing.assert_allclose(changes[:-1] / changes[1:], 4.0, rtol=1e-3)
    # Each of its two terms moves at first order: halving lr about halves their change, so
    # the invariant's change relative to theirs halves too.
    ratio = changes / terms
    np.testing.assert_allclose(ratio[:-1] / ratio[1:], 2.0, rtol=0.1)


def test_end_to_end_map_converges_to_the_teacher_without_noise():
    widths = [3, 5, 4, 3]
    rng = np.random.default_rng(11)
    teacher = rng.normal(size=(3, 3))
    n_rep = 4
    w = rng.normal(0.0, 0.5, size=(n_rep, kernels.deep_linear_n_weights(widths)))
    gens = [np.random.PCG64(i) for i in range(n_rep)]
    spectra = kernels.deep_linear(w, teacher, gens, widths=widths, lr=0.02, noise=0.0,
                                  batch_size=16, stop=6000, snapshot_steps=[6000])
    for r in range(n_rep):
        np.testing.assert_allclose(product(layers(w[r], widths), 3), teacher, atol=1e-8)
    np.testing.assert_allclose(spectra[:, 0],
                               np.tile(np.linalg.svd(teacher, compute_uv=False)[::-1], (4, 1)),
                               atol=1e-8)  # fmt: skip


def mean_spacing(eigenvalues):
    """<S> of a pair pooled over replicas and snapshots, and its standard error from the
    per-replica means (the replicas are independent; snapshots 100 steps apart at lr = 0.1
    are 10 relaxation times apart, so the per-replica mean of 10 is an honest average)."""
    per_replica = np.diff(eigenvalues, axis=-1)[..., 0].mean(axis=1)
    return per_replica.mean(), per_replica.std(ddof=1) / np.sqrt(per_replica.size)


def test_one_layer_has_the_single_layer_models_mean_spacing():
    """L = 1 is the single-layer teacher-student model with unsymmetrised W: the i.i.d. noise
    N(0, A^2 / B) on W puts variance A^2 / (2 B) into each off-diagonal entry of its symmetric
    part, which alone moves the singular values at first order, against A^2 / B of the
    symmetric model's noise. So L = 1 at noise A has the law of the teacher-student model at
    noise A / sqrt(2) (:doc:`/theory/deep_linear`): same <S> for a degenerate teacher [2, 2].

    Tolerance: 4 standard errors of the difference of the two means (each from 1500
    independent per-replica means of 10 snapshots; the relative SE of one is about
    0.52 / sqrt(15000) = 0.4%)."""
    lr, batch, noise = 0.1, 16, 0.1
    late = list(range(1100, 2001, 100))
    deep = dl.DeepLinearConfig(widths=[2, 2], teacher=[2.0, 2.0], noise=noise, lr=lr,
                               batch_size=batch, steps=2000, snapshots=late)
    single = dl.TeacherStudentConfig(teacher=[2.0, 2.0], noise=noise / np.sqrt(2), lr=lr,
                                     batch_size=batch, steps=2000, snapshots=late)
    got = [mean_spacing(dl.run_ensemble(c, replicas=1500, seed=21, backend="serial",
                                        progress=False).eigenvalues[:, 1:])
           for c in (deep, single)]  # fmt: skip
    (s_deep, e_deep), (s_single, e_single) = got
    assert abs(s_deep - s_single) < 4 * np.hypot(e_deep, e_single)
    # And both agree with sqrt(pi) sigma of :eq:`dl-level-width` (finite-lr factor
    # included) to within the C_B-fluctuation correction, below 1% here, plus 4 SE.
    predicted = np.sqrt(np.pi) * deep.level_widths[0]
    assert abs(s_deep - predicted) < 0.01 * predicted + 4 * e_deep


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [({"widths": [4]}, "widths", "at least two widths"),
     ({"widths": [4, 0]}, "widths", "integer >= 1"),
     ({"widths": [4, 2.5]}, "widths", "list of integers"),
     ({"widths": [4, 3], "teacher": [1.0, 2.0, 3.0]}, "teacher", "needs n_0 = n_L"),
     ({"widths": [4, 3], "teacher": [[1.0] * 3] * 2}, "teacher", "3 x 4 matrix"),
     ({"widths": [3, 3], "teacher": [1.0, 2.0]}, "teacher", "n_0 = n_L = 3 singular values"),
     ({"widths": [4, 4], "teacher": [1.0] * 4, "batch_size": 2, "sampler": "wishart"},
      "sampler", "batch_size >= n_0 = 4"),
     ({"init": "orthogonal"}, "init", "one of 'normal', 'balanced'"),
     ({"init_std": 0.0}, "init_std", "> 0"),
     ({"init": "balanced", "init_std": -0.1}, "init_std", ">= 0")],
)  # fmt: skip
def test_validation_names_field_value_and_rule(fields, field, words):
    with pytest.raises(dl.ConfigError) as caught:
        dl.DeepLinearConfig(**fields)
    mine = [str(p) for p in caught.value.details if p.field == field]
    assert mine and words in mine[0] and "got" in mine[0], caught.value.problems


def test_auto_sampler_and_rectangular_teacher():
    rect = [[1.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]]
    cfg = dl.DeepLinearConfig(widths=[4, 6, 2], teacher=rect, batch_size=2)
    assert cfg.sampler == "explicit" and cfg.n_modes == 2 and cfg.n_weights == 36
    np.testing.assert_allclose(cfg.stationary_levels, [1.0, 3.0])
    assert cfg.replace(batch_size=8).sampler == "wishart"
    assert dl.DeepLinearConfig.from_dict(cfg.to_dict()) == cfg


def test_run_ensemble_serial_and_process_give_the_same_bits(tmp_path):
    cfg = dl.DeepLinearConfig(widths=[3, 4, 3], teacher=[1.0, 2.0, 2.0], lr=0.05,
                              batch_size=4, steps=300, snapshots=3, noise=0.1)
    kw = {"replicas": 6, "seed": 9, "progress": False, "keep_weights": True}
    serial = dl.run_ensemble(cfg, backend="serial", **kw)
    process = dl.run_ensemble(cfg, backend="process", workers=2, block_size=2,
                              store=tmp_path / "dl.h5", **kw)
    np.testing.assert_array_equal(serial.eigenvalues, process.eigenvalues)
    np.testing.assert_array_equal(serial.weights, process.weights)
    assert serial.eigenvalues.shape == (6, 4, 3) and not serial.failed.any()
    assert serial.weights.shape == (6, cfg.n_weights)
    # The singular values of the kept layers' product are the last snapshot.
    ws = layers(serial.weights[0], cfg.widths)
    np.testing.assert_allclose(np.sort(np.linalg.svd(product(ws, 3), compute_uv=False)),
                               serial.eigenvalues[0, -1], rtol=1e-12)  # fmt: skip
    (loaded,) = dl.load(tmp_path / "dl.h5")
    assert loaded.config == cfg
    np.testing.assert_array_equal(loaded.eigenvalues, serial.eigenvalues)
    # Every layer's spectrum: recorded, stored one dataset per layer, and the kept layers'
    # singular values at the last snapshot.
    assert [a.shape for a in serial.layer_eigenvalues] == [(6, 4, 3), (6, 4, 3)]
    for layer, (mine, stored) in enumerate(zip(serial.layer_eigenvalues,
                                               loaded.layer_eigenvalues, strict=True)):
        np.testing.assert_array_equal(process.layer_eigenvalues[layer], mine)
        np.testing.assert_array_equal(stored, mine)
        np.testing.assert_allclose(np.sort(np.linalg.svd(ws[layer], compute_uv=False)),
                                   mine[0, -1], rtol=1e-12)  # fmt: skip
    with h5py.File(tmp_path / "dl.h5") as handle:
        group = handle["point_000/layer_eigenvalues"]
        assert sorted(group) == ["1", "2"]
        assert "W_2" in group["2"].attrs["description"]


def run_kernel(widths, start_weights, snapshot_steps, layers_out, chunks, lr=0.05,
               bound=None):
    """kernels.deep_linear over the steps in `chunks` (consecutive stops), per-layer
    spectra recorded into `layers_out` (None: not recorded)."""
    w = start_weights.copy()
    n_rep = w.shape[0]
    gens = [np.random.SFC64(seed) for seed in range(n_rep)]
    teacher = np.diag([1.0, 2.0])[:, : widths[0]] if widths[0] <= 2 else np.ones((widths[-1],
                                                                                  widths[0]))
    failed, fail_step = np.zeros(n_rep, np.uint8), np.full(n_rep, -1, np.int64)
    eig, start = None, 0
    for stop in chunks:
        eig = kernels.deep_linear(
            w, teacher, gens, widths=widths, lr=lr, noise=0.1, batch_size=4, start=start,
            stop=stop, snapshot_steps=snapshot_steps, eigenvalues=eig, failed=failed,
            fail_step=fail_step, layer_eigenvalues=layers_out, bound=bound,
        )  # fmt: skip
        start = stop
    return w, eig, failed, fail_step


def test_layer_spectra_change_no_bit_and_are_each_layers_singular_values():
    widths = [3, 5, 2]
    w0 = np.random.default_rng(4).normal(0.0, 0.6, (4, kernels.deep_linear_n_weights(widths)))
    snaps = np.array([0, 3, 7, 20])
    plain = run_kernel(widths, w0, snaps, None, [20])
    outs = [np.full((4, 4, 3), np.nan), np.full((4, 4, 2), np.nan)]
    # In chunks that split the snapshots: each call writes only the snapshots in its span.
    recorded = run_kernel(widths, w0, snaps, outs, [2, 3, 11, 20])
    for a, b in zip(plain, recorded, strict=True):
        np.testing.assert_array_equal(a, b)
    first = layers(w0[1], widths)
    last = layers(recorded[0][1], widths)
    for layer in range(2):
        np.testing.assert_allclose(outs[layer][1, 0],
                                   np.sort(np.linalg.svd(first[layer], compute_uv=False)),
                                   rtol=1e-12)  # fmt: skip
        np.testing.assert_allclose(outs[layer][1, -1],
                                   np.sort(np.linalg.svd(last[layer], compute_uv=False)),
                                   rtol=1e-12)  # fmt: skip
    assert np.isfinite(outs[0]).all() and np.isfinite(outs[1]).all()


def test_one_layer_records_its_spectrum_twice_bit_for_bit():
    widths = [2, 2]
    w0 = np.random.default_rng(5).normal(0.0, 0.5, (3, 4))
    out = [np.full((3, 3, 2), np.nan)]
    _, eig, _, _ = run_kernel(widths, w0, np.array([0, 5, 9]), out, [9])
    np.testing.assert_array_equal(out[0], eig)


def test_layer_spectra_of_a_diverged_replica_are_nan_after_it():
    widths = [2, 3, 2]
    w0 = np.random.default_rng(6).normal(0.0, 0.5, (3, kernels.deep_linear_n_weights(widths)))
    w0[1] *= 40.0  # replica 1 starts far out: lr times its curvature there is far beyond 2
    snaps = np.arange(0, 31, 5)
    outs = [np.full((3, 7, 2), np.nan), np.full((3, 7, 2), np.nan)]
    _, eig, failed, fail_step = run_kernel(widths, w0, snaps, outs, [30], bound=1e3)
    assert failed.tolist() == [0, 1, 0] and 0 < fail_step[1] <= 30
    after = snaps > fail_step[1]
    for values in (eig, *outs):
        assert np.isnan(values[1, after]).all() and np.isfinite(values[1, 0]).all()
        assert np.isfinite(values[[0, 2]]).all()


@pytest.mark.parametrize(
    ("arrays", "words"),
    [([np.zeros((2, 1, 2))], "one array per layer (2)"),
     ([np.zeros((2, 1, 2)), np.zeros((2, 1, 3))], "(2, 1, 2) (layer 2"),
     ([np.zeros((2, 1, 2)), np.zeros((2, 1, 2), np.float32)], "float64")],
)  # fmt: skip
def test_layer_spectra_arrays_are_validated(arrays, words):
    widths = [2, 3, 2]
    w = np.zeros((2, kernels.deep_linear_n_weights(widths)))
    with pytest.raises(ValueError, match="layer_eigenvalues") as info:
        kernels.deep_linear(w, np.eye(2), [np.random.SFC64(i) for i in range(2)],
                            widths=widths, lr=0.1, noise=0.1, batch_size=4, stop=1,
                            snapshot_steps=[0], layer_eigenvalues=arrays)  # fmt: skip
    assert words in str(info.value)


def test_toml_kind_deep_linear_loads():
    experiment = parse_experiment({
        "model": {"kind": "deep_linear", "widths": [4, 4, 4], "teacher": [2.0] * 4},
        "train": {"lr": [0.05, 0.1], "batch_size": 16, "steps": 100, "noise": 0.1},
        "ensemble": {"replicas": 4, "seed": 1},
    })  # fmt: skip
    assert [p.lr for p in experiment.points] == [0.05, 0.1]
    assert all(isinstance(p, dl.DeepLinearConfig) and p.widths == (4, 4, 4)
               for p in experiment.points)  # fmt: skip


def test_balanced_start_is_the_teachers_balanced_factorisation():
    cfg = dl.DeepLinearConfig(widths=[3, 5, 4, 2], teacher=np.arange(6.0).reshape(2, 3),
                              init="balanced", init_std=0.0)  # fmt: skip
    ws = cfg.balanced_layers
    np.testing.assert_allclose(product(ws, 3), cfg.teacher_matrix, atol=1e-13)
    for low, high in zip(ws[:-1], ws[1:], strict=True):
        np.testing.assert_allclose(high.T @ high - low @ low.T, 0.0, atol=1e-13)
    # Through the ensemble: step 0 records the teacher's singular values end to end and
    # kappa^(1/L) in every layer.
    square = dl.DeepLinearConfig(widths=[2, 2, 2, 2], teacher=[0.5, 2.0], init="balanced",
                                 init_std=0.0, steps=2, snapshots=1)  # fmt: skip
    res = dl.run_ensemble(square, replicas=2, seed=1, backend="serial", progress=False)
    np.testing.assert_allclose(res.eigenvalues[:, 0], [[0.5, 2.0]] * 2, rtol=1e-13)
    for values in res.layer_eigenvalues:
        np.testing.assert_allclose(values[:, 0], [[0.5 ** (1 / 3), 2 ** (1 / 3)]] * 2,
                                   rtol=1e-13)  # fmt: skip


def pair_spacings(result, snapshot):
    """Each layer's pair spacing (R,) at one snapshot, layer 1 first."""
    return [np.diff(values[:, snapshot], axis=1)[:, 0] for values in result.layer_eigenvalues]


def test_each_layers_degenerate_pair_opens_by_free_diffusion():
    """:eq:`dl-layer-spacing`: from balanced layers each layer's pair spacing follows the
    Wigner surmise with <S_l> = sqrt(pi (1 - 1/L)) A lr sqrt(t / B), while the end-to-end
    pair stays at its stationary sqrt(pi) sigma."""
    replicas = 1000
    cfg = dl.DeepLinearConfig(widths=[2, 2, 2], teacher=[2.0, 2.0], noise=0.1, lr=0.05,
                              batch_size=16, steps=1000, snapshots=(250, 1000),
                              init="balanced", init_std=0.0)  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=replicas, seed=11, backend="serial", progress=False)
    assert not res.failed.any()
    for snapshot, step in ((1, 250), (2, 1000)):
        predicted = float(cfg.layer_pair_spacing(step))
        for s in pair_spacings(res, snapshot):
            # Wigner-distributed spacings have std / mean = sqrt(4/pi - 1) = 0.52, so the
            # standard error of the mean is 1.7% at 1000 replicas: 4 of them, plus the 3% by
            # which the first-order picture is measured to drift at this spread.
            assert abs(s.mean() / predicted - 1) < 4 * 0.523 / np.sqrt(replicas) + 0.03
            # The Wigner surmise's P(S < <S>/2) = 1 - exp(-pi/16) = 0.178 (Poisson: 0.393);
            # binomial standard error 0.012 at 1000 replicas, 4 of them.
            small = np.mean(s < 0.5 * s.mean())
            assert abs(small - (1 - np.exp(-np.pi / 16))) < 4 * 0.0121
    end = np.diff(res.eigenvalues[:, -1], axis=1)[:, 0]
    stationary = np.sqrt(np.pi) * cfg.level_widths[0]
    assert abs(end.mean() / stationary - 1) < 4 * 0.523 / np.sqrt(replicas) + 0.03
    assert end.mean() < 0.2 * pair_spacings(res, 2)[0].mean()


@pytest.mark.parametrize("nesterov", [False, True])
def test_under_momentum_the_pairs_follow_the_effective_rate(nesterov):
    """Momentum (beta = 0.5, lr = 0.025: lr_eff = 0.05, the SGD test's rate): each layer's
    pair opens by the optimiser's free diffusion (lr_eff^2 t at large t, the transient of
    the velocity included), and the end-to-end pair sits at sqrt(pi) times the heavy-ball
    (Nesterov) width at curvature lambda :eq:`effective-lr`."""
    replicas = 1000
    cfg = dl.DeepLinearConfig(widths=[2, 2, 2], teacher=[2.0, 2.0], noise=0.1, lr=0.025,
                              batch_size=16, steps=1000, snapshots=(250, 1000),
                              init="balanced", init_std=0.0,
                              optimizer=dl.Momentum(0.5, nesterov=nesterov))  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=replicas, seed=12, backend="serial", progress=False)
    assert not res.failed.any()
    # As in the SGD test: 4 standard errors of a mean of 1000 Wigner spacings (0.52 / sqrt(R)
    # relative), plus the 3% drift of the first-order picture at this spread.
    tolerance = 4 * 0.523 / np.sqrt(replicas) + 0.03
    for snapshot, step in ((1, 250), (2, 1000)):
        predicted = float(cfg.layer_pair_spacing(step))
        for s in pair_spacings(res, snapshot):
            assert abs(s.mean() / predicted - 1) < tolerance
    end = np.diff(res.eigenvalues[:, -1], axis=1)[:, 0]
    assert abs(end.mean() / (np.sqrt(np.pi) * cfg.level_widths[0]) - 1) < tolerance
    # The rate matters: SGD at the same lr predicts spacings smaller by 1 - beta.
    sgd = cfg.replace(optimizer=dl.SGD())
    assert float(sgd.layer_pair_spacing(1000)) < 0.6 * float(cfg.layer_pair_spacing(1000))


def test_momentum_beyond_its_stability_bound_warns_and_has_no_width():
    """lambda = L kappa^(2 (L - 1) / L) = 4 for [2, 2] at L = 2: heavy-ball momentum at
    beta = 0.5 contracts for lr < 2 (1 + beta) / lambda = 0.75 (:eq:`effective-lr`)."""
    cfg = dict(widths=[2, 2, 2], teacher=[2.0, 2.0], optimizer=dl.Momentum(0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inside = dl.DeepLinearConfig(lr=0.7, **cfg)
    assert np.all(np.isfinite(inside.level_widths))
    with pytest.warns(UserWarning, match=r"lr = 0.8 is beyond the stability bound.*lr < 0.75"):
        beyond = dl.DeepLinearConfig(lr=0.8, **cfg)
    assert np.all(np.isnan(beyond.level_widths))
    adam = dl.DeepLinearConfig(lr=0.01, widths=[2, 2, 2], teacher=[2.0, 2.0],
                               optimizer=dl.Adam())  # fmt: skip
    assert np.all(np.isnan(adam.level_widths)) and np.isnan(adam.layer_pair_spacing(10))


def test_each_layer_obeys_the_linear_scaling_rule_at_equal_training_time():
    """Same lr / B and the same tau = lr t: the same per-layer pair spacing
    :eq:`dl-layer-spacing` (different lr, B and step counts)."""
    replicas = 800
    base = dl.DeepLinearConfig(widths=[2, 2, 2, 2], teacher=[2.0, 2.0], noise=0.1, lr=0.05,
                               batch_size=16, steps=800, snapshots=1, init="balanced",
                               init_std=0.0)  # fmt: skip
    other = base.replace(lr=0.1, batch_size=32, steps=400)
    means = []
    for cfg, seed in ((base, 3), (other, 4)):
        res = dl.run_ensemble(cfg, replicas=replicas, seed=seed, backend="serial",
                              progress=False)  # fmt: skip
        means.append(np.array([s.mean() for s in pair_spacings(res, -1)]))
    # Each mean has a 0.52 / sqrt(R) relative standard error (Wigner spacings); the
    # difference of two independent ones sqrt(2) times that: 4 of them.
    tolerance = 4 * np.sqrt(2) * 0.523 / np.sqrt(replicas)
    np.testing.assert_array_less(np.abs(means[1] / means[0] - 1), tolerance)
    np.testing.assert_allclose(means[0], base.layer_pair_spacing(800), rtol=tolerance)


def test_summary_and_figure_report_each_layers_pairs(tmp_path):
    """`dysonlearn run` on a deep linear experiment: summary.md's per-layer table and the
    layer_spacings figure; the numbers are analysis.layer_pair_fits's."""
    from dysonlearn import cli

    (tmp_path / "exp.toml").write_text(
        '[model]\nkind = "deep_linear"\nwidths = [2, 2, 2]\nteacher = [2.0, 2.0]\n'
        'init = "balanced"\ninit_std = 0.0\n[train]\nlr = 0.1\nbatch_size = 16\n'
        "noise = 0.1\nsteps = 400\nsnapshots = 2\n[ensemble]\nreplicas = 60\nseed = 3\n"
    )  # fmt: skip
    out = tmp_path / "out"
    assert cli.main(["run", str(tmp_path / "exp.toml"), "-o", str(out), "--quiet",
                     "--backend", "serial"]) == 0  # fmt: skip
    (res,) = dl.load(out / "results.h5")
    fits = dl.analysis.layer_pair_fits(res)
    assert [(f.layer, f.modes, f.values, f.step) for f in fits] == [
        (1, (0, 1), (0, 1), 400), (2, (0, 1), (0, 1), 400)]  # fmt: skip
    assert all(f.predicted == pytest.approx(float(res.config.layer_pair_spacing(400)))
               for f in fits)  # fmt: skip
    text = (out / "summary.md").read_text()
    assert "Each layer's pairs of singular values at step 400" in text
    assert f"| 2 | 0-1 | {fits[1].mean:.4f} ± {fits[1].mean_err:.4f} |" in text
    assert any(p.name.startswith("layer_spacings") for p in out.glob("*.png"))


def test_layer_pairs_follow_the_layers_widths():
    cfg = dl.DeepLinearConfig(widths=[3, 5, 2, 3], teacher=[1.0, 2.0, 2.0])
    # Layer 1 carries all three modes; layers 2 and 3 (two values) only the top two.
    assert dl.analysis.layer_pairs(cfg, 1) == [((1, 2), (1, 2))]
    assert dl.analysis.layer_pairs(cfg, 2) == [((1, 2), (0, 1))]
    with pytest.raises(ValueError, match="layer: must be in 1 .. 3"):
        dl.analysis.layer_pairs(cfg, 4)
