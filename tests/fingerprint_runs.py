"""Small seeded runs of every model, sampler and kernel entry point, for the bitwise
regression test (``test_fingerprints.py``).

The arrays these runs produced before a refactor are committed in
``tests/data/fingerprints.npz``; a change that alters them changes the numbers users get
for a given seed, and has to say why. Regenerate only then::

    python tests/fingerprint_runs.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import dysonlearn as dl
from dysonlearn import kernels

DATA = Path(__file__).with_name("data") / "fingerprints.npz"
SEED = 20261201


def _ensemble(config, replicas=3, **options) -> dict[str, np.ndarray]:
    result = dl.run_ensemble(config, replicas=replicas, seed=SEED, backend="serial",
                             progress=False, keep_weights=True, **options)
    return {"eigenvalues": result.eigenvalues, "steps": result.steps, "failed": result.failed,
            "fail_step": result.fail_step, "weights": result.weights}


def _rbm(**changes):
    fields = dict(n_visible=4, n_hidden=4, mu=3.0, k=2, lr=0.05, batch_size=5, steps=60,
                  snapshots=3, target=dl.targets.free_scalar(n=4, m=2.0))
    fields.update(changes)
    return dl.RBMConfig(**fields)


def _ts(**changes):
    fields = dict(teacher=(2.0, 1.0, 0.5), noise=0.3, lr=0.2, batch_size=4, steps=60,
                  snapshots=3, init_std=0.1)
    fields.update(changes)
    return dl.TeacherStudentConfig(**fields)


def _dyson(**changes):
    fields = dict(kappa=(2.0, 1.5, 1.0), noise=0.2, lr=0.1, batch_size=4, steps=60, snapshots=3)
    fields.update(changes)
    return dl.DysonConfig(**fields)


def _deep(**changes):
    fields = dict(widths=(3, 4, 3), teacher=(2.0, 1.0, 0.5), noise=0.3, lr=0.05, batch_size=4,
                  steps=60, snapshots=3, init_std=0.3)
    fields.update(changes)
    return dl.DeepLinearConfig(**fields)


def _kernel_calls() -> dict[str, np.ndarray]:
    """The array API, called directly (``*_given_normals`` entry points included)."""
    out = {}
    rng = np.random.default_rng(SEED)
    target = dl.targets.free_scalar(n=3, m=2.0).covariance
    for sampler in ("gibbs", "collapsed"):
        weights = rng.normal(0.0, 0.3, (2, 3, 3))
        chains = np.ones((2, 4, 3))
        gens = [np.random.SFC64(s) for s in np.random.SeedSequence(SEED).spawn(2)]
        eig = kernels.rbm_pcd(weights, chains, gens, target, lr=0.05, mu=3.0, k=2, stop=25,
                              snapshot_steps=[0, 10, 25], sampler=sampler)
        out[f"rbm_pcd_{sampler}"] = np.concatenate([eig.ravel(), weights.ravel(), chains.ravel()])
        n_norm = kernels.rbm_normals_per_step(3, 3, 4, 2, False, sampler)
        w1, c1 = rng.normal(0.0, 0.3, (3, 3)), rng.normal(0.0, 0.3, (4, 3))
        kernels.rbm_pcd_step_given_normals(w1, c1, rng.standard_normal(n_norm), target,
                                           lr=0.05, mu=3.0, k=2, sampler=sampler)
        out[f"rbm_given_normals_{sampler}"] = np.concatenate([w1.ravel(), c1.ravel()])
    for n in (1, 2, 3):
        for sampler in ("wishart", "explicit"):
            teacher = np.diag(np.linspace(2.0, 1.0, n))
            students = rng.normal(0.0, 0.1, (2, n, n))
            students = (students + students.transpose(0, 2, 1)) / 2
            teachers = np.stack([teacher, teacher])
            gens = [np.random.SFC64(s) for s in np.random.SeedSequence([SEED, n]).spawn(2)]
            eig = kernels.teacher_student(students, teachers, gens, lr=0.2, noise=0.3,
                                          batch_size=4, stop=30, sampler=sampler,
                                          snapshot_steps=[0, 30])
            out[f"ts_kernel_n{n}_{sampler}"] = np.concatenate([eig.ravel(), students.ravel()])
            w = rng.normal(0.0, 0.1, (n, n))
            w = (w + w.T) / 2
            variates = rng.standard_normal(kernels.teacher_student_variates_per_step(n, 4, sampler))
            kernels.teacher_student_step_given_variates(w, teacher, variates, lr=0.2, noise=0.3,
                                                        batch_size=4, sampler=sampler)
            out[f"ts_given_variates_n{n}_{sampler}"] = w.ravel().copy()
    for drift, mu in (("linear", 0.0), ("rbm", 3.0)):
        levels = np.tile(np.array([0.5, 1.0, 1.5]), (2, 1))
        gens = [np.random.SFC64(s) for s in np.random.SeedSequence(SEED).spawn(2)]
        eig = kernels.dyson(levels, np.array([1.0, 2.0, 3.0]), gens, lr=0.1, noise=0.2,
                            batch_size=4, stop=30, drift=drift, mu=mu, snapshot_steps=[0, 30])
        out[f"dyson_kernel_{drift}"] = np.concatenate([eig.ravel(), levels.ravel()])
    # Added with issue 16: the deep linear kernel's one-step entry point, both samplers.
    widths = [3, 4, 2]
    teacher = rng.normal(size=(2, 3))
    for sampler, batch in (("wishart", 4), ("explicit", 2)):
        w = rng.normal(0.0, 0.5, kernels.deep_linear_n_weights(widths))
        variates = rng.standard_normal(kernels.deep_linear_variates_per_step(widths, batch,
                                                                            sampler))
        if sampler == "wishart":  # the Bartlett factor's rows: chi-squared values must be > 0
            variates[:6] = np.abs(variates[:6]) + 1.0
        kernels.deep_linear_step_given_variates(w, teacher, variates, widths=widths, lr=0.1,
                                                noise=0.3, batch_size=batch, sampler=sampler)
        out[f"deep_linear_given_variates_{sampler}"] = w
    return out


def runs() -> dict[str, np.ndarray]:
    """Every fingerprinted array, by a name that says which run and which field."""
    ensembles = {
        "rbm_collapsed": _rbm(),
        "rbm_gibbs": _rbm(sampler="gibbs"),
        "rbm_collapsed_sampled": _rbm(target_mode="sampled"),
        "rbm_gibbs_sampled_target_chains": _rbm(sampler="gibbs", target_mode="sampled",
                                                chain_init="target"),
        "rbm_normal_chains_mp_geometric": _rbm(chain_init="normal", init="mp_geometric"),
        "rbm_zeros_mp_hidden_rectangular": _rbm(n_hidden=6, chain_init="zeros", init="mp_hidden",
                                                sampler="gibbs"),
        "rbm_diverging": _rbm(lr=1.0),
        # Added with issue 15 (new arithmetic, fingerprinted from its first commit): the
        # sweeps in the target's eigenbasis, also in segments (N_v >= 32) and with momentum.
        "rbm_gibbs_eigen": _rbm(sampler="gibbs-eigen"),
        "rbm_gibbs_eigen_sampled_momentum": _rbm(sampler="gibbs-eigen", target_mode="sampled",
                                                 optimizer=dl.Momentum(beta=0.5)),
        "rbm_gibbs_eigen_segments": _rbm(n_visible=40, n_hidden=40, init="mp_geometric",
                                         sampler="gibbs-eigen", batch_size=8, steps=40,
                                         target=dl.targets.free_scalar(n=40, m=2.0)),
        "rbm_gibbs_segments": _rbm(n_visible=40, n_hidden=40, init="mp_geometric",
                                   sampler="gibbs", batch_size=8, steps=40,
                                   target=dl.targets.free_scalar(n=40, m=2.0)),
        "ts_wishart": _ts(),
        "ts_explicit": _ts(sampler="explicit"),
        "ts_two_modes": _ts(teacher=(2.0, 1.0)),
        "ts_two_modes_explicit": _ts(teacher=(2.0, 1.0), sampler="explicit"),
        "ts_identity_basis": _ts(teacher_basis="identity"),
        "ts_matrix_teacher": _ts(teacher=((2.0, 0.3), (0.3, 1.0))),
        "ts_reference_shared": _ts(protocol="reference", dataset_size=12),
        "ts_reference_own_data": _ts(protocol="reference", dataset_size=12,
                                     dataset_shared=False),
        "ts_reference_in_order": _ts(protocol="reference", dataset_size=12, shuffle=False),
        "ts_diverging": _ts(lr=1.9, batch_size=1, noise=3.0, steps=200, sampler="explicit"),
        # Added with issue 15: the batch-mean noise drawn directly; the BLAS products from
        # N = 24 on (with 3 B < 2 N the rank-B data term), for every sampler.
        "ts_mean_noise": _ts(sampler="mean-noise", batch_size=2),
        "ts_mean_noise_blas_rank_b": _ts(teacher=tuple(np.linspace(2.0, 1.0, 30)),
                                         sampler="mean-noise", batch_size=4, steps=30),
        "ts_wishart_blas": _ts(teacher=tuple(np.linspace(2.0, 1.0, 24)), batch_size=24,
                               steps=30),
        "dyson_linear": _dyson(),
        "dyson_linear_given_start": _dyson(init_levels=(0.0, 0.1, 0.2)),
        "dyson_two_levels": _dyson(kappa=(2.0, 1.0)),
        "dyson_rbm": _dyson(drift="rbm", mu=3.0, kappa=(1.0, 2.0, 3.0)),
        "dyson_many_levels": _dyson(kappa=tuple(np.linspace(1.0, 3.0, 6))),
        "dyson_rbm_diverging": _dyson(drift="rbm", mu=2.5, kappa=(1.0, 2.0, 3.0), noise=3.0,
                                      batch_size=1, steps=200),
        # Added with issue 16 (new model, fingerprinted from its first commit): the deep
        # linear model's samplers, one layer, a rectangular matrix teacher, the dgemm
        # products (widths 8), an optimiser, and a replica that diverges.
        "deep_linear_wishart": _deep(),
        "deep_linear_explicit": _deep(batch_size=2),
        "deep_linear_one_layer": _deep(widths=(2, 2), teacher=(2.0, 2.0)),
        "deep_linear_matrix_teacher": _deep(widths=(3, 5, 4, 2),
                                            teacher=((1.0, 0.5, 0.0), (0.0, 2.0, -1.0))),
        "deep_linear_blas": _deep(widths=(8, 8, 8), teacher=tuple(np.linspace(2.0, 1.0, 8)),
                                  batch_size=8, steps=30),
        "deep_linear_momentum": _deep(optimizer=dl.Momentum(beta=0.5)),
        "deep_linear_diverging": _deep(lr=1.5, steps=200),
    }
    out = {}
    for name, config in ensembles.items():
        for field, array in _ensemble(config).items():
            out[f"{name}.{field}"] = np.asarray(array)
    for name, options in {"pcg64": dict(bit_generator="PCG64"),
                          "philox_numpy_normals": dict(bit_generator="Philox",
                                                       normal_method="numpy")}.items():
        for model, config in (("rbm", _rbm()), ("ts", _ts()), ("dyson", _dyson())):
            for field, array in _ensemble(config, **options).items():
                out[f"{model}_{name}.{field}"] = np.asarray(array)
    out.update(_kernel_calls())
    return out


def blas_architecture() -> str:
    """The BLAS kernel family the bits were taken with (bits are exact only on that)."""
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS, the one the kernels call)
    from threadpoolctl import threadpool_info

    return ";".join(sorted(f"{i.get('internal_api')}:{i.get('architecture')}"
                           for i in threadpool_info() if i.get("user_api") == "blas"))


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/fingerprint_runs.py --write")
    arrays = runs()
    np.savez_compressed(DATA, __blas__=np.array(blas_architecture()), **arrays)
    print(f"wrote {len(arrays)} arrays to {DATA}")
