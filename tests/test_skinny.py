"""The hand-written skinny products of "gibbs-eigen" (_core/dl_skinny.h): the products and
the fused SGD step against NumPy, the same bits from every instruction set, and the RBM
kernel with them against the kernel with BLAS's."""

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import kernels
from dysonlearn._core import rbm as core

# The instruction sets this CPU runs (an AVX-512 CPU runs the AVX2 code too).
ISAS = {"avx512": ["avx512", "avx2"], "avx2": ["avx2"], "none": []}[core._skinny_isa()]
needs_skinny = pytest.mark.skipif(not ISAS, reason="this CPU or compiler has no skinny products")


@pytest.fixture
def skinny():
    """Set the products for a test, restoring the default afterwards."""
    yield core._set_skinny
    core._set_skinny("auto")


def fortran(rng, *shape):
    return np.asfortranarray(rng.standard_normal(shape))


# Rows of 8 to 72 (AVX-512: chunks of 16 and one of 8; from 32 rows on chunks of 32 (hidden)
# or 24 (visible) and then of 8); columns beyond and between the blocks of 8, 6 and 6
# (remainders); a contraction shorter and longer than the blocks.
SHAPES = [(8, 13, 37), (16, 130, 97), (24, 6, 1), (40, 301, 300), (64, 50, 41), (72, 17, 9)]


@needs_skinny
@pytest.mark.parametrize("kind", ["nn", "nt"])
@pytest.mark.parametrize("beta", [0.3, 0.0])
@pytest.mark.parametrize(("batch", "n", "k"), SHAPES)
def test_products_equal_numpy_and_each_other(kind, beta, batch, n, k):
    """C = alpha A S + beta C ("nn") or alpha A S^T + beta C ("nt"): to a few ulps of NumPy's
    product, bit for bit the same from AVX-512 and AVX2 (each entry one chain of fused
    multiply-adds in k, then alpha acc + beta C unfused), and with beta = 0 C is not read
    (NaN there stays out of the result)."""
    rng = np.random.default_rng(batch * n + k)
    a = fortran(rng, batch, k)
    s = fortran(rng, k, n) if kind == "nn" else fortran(rng, n, k)
    c0 = fortran(rng, batch, n)
    expected = 0.7 * (a @ (s if kind == "nn" else s.T)) + beta * c0
    results = []
    for isa in ISAS:
        c = c0.copy(order="F")
        if beta == 0.0:
            c[:] = np.nan
        core._skinny_product(kind, 0.7, a, s, beta, c, isa)
        results.append(c)
    # Summation error of K terms of size ~1 each, in units of the largest entry.
    np.testing.assert_allclose(results[0], expected, rtol=0, atol=1e-14 * k * np.abs(
        expected).max())  # fmt: skip
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


@needs_skinny
@pytest.mark.parametrize(("batch", "n", "m"), [(8, 13, 7), (16, 37, 40), (24, 300, 301)])
def test_fused_sgd_step_equals_numpy_and_each_other(batch, n, m):
    """W <- W - rate (-lam_i W + (1/B) Phi^T P), one pass, and the sum of the new W's
    squares it returns; the rows beyond the vector blocks (n = 13, 37, 301) by scalar fused
    multiply-adds, so every instruction set gives the same bits."""
    rng = np.random.default_rng(n)
    w0, phi, p = fortran(rng, n, m), fortran(rng, batch, n), fortran(rng, batch, m)
    lam = rng.random(n)
    expected = w0 - 0.05 * (-lam[:, None] * w0 + (phi.T @ p) / batch)
    results = []
    for isa in ISAS:
        w = w0.copy(order="F")
        squares = core._skinny_sgd(w, phi, p, lam, 0.05, isa)
        assert squares == pytest.approx(np.sum(w**2), rel=1e-12)
        results.append(w)
    np.testing.assert_allclose(results[0], expected, rtol=0, atol=1e-14 * batch)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_bad_arguments_are_refused(skinny):
    with pytest.raises(ValueError, match="isa must be 'auto' or one of"):
        skinny("sse")
    if core._skinny_isa() != "avx512":
        with pytest.raises(ValueError, match="this CPU does not run"):
            skinny("avx512")
    if ISAS:
        rng = np.random.default_rng(0)
        a, s, c = fortran(rng, 12, 5), fortran(rng, 5, 3), fortran(rng, 12, 3)
        with pytest.raises(ValueError, match="multiple of 8"):
            core._skinny_product("nn", 1.0, a, s, 0.0, c)


def gibbs_eigen(n_visible=200, n_hidden=208, batch=16, steps=12, replicas=3, lr=0.05,
                **fields):
    """(eigenvalues, weights, failed, fail_step) of a "gibbs-eigen" ensemble at the size from
    which the skinny products take over (SKINNY_MIN_N = 200)."""
    cfg = dl.RBMConfig(n_visible=n_visible, n_hidden=n_hidden, init="mp_geometric", lr=lr,
                       batch_size=batch, steps=steps, snapshots=2, sampler="gibbs-eigen",
                       **fields)  # fmt: skip
    res = dl.run_ensemble(cfg, replicas=replicas, seed=5, backend="serial", progress=False,
                          keep_weights=True)  # fmt: skip
    return res.eigenvalues, res.weights, res.failed, res.fail_step


@needs_skinny
@pytest.mark.parametrize("fields", [
    {},  # the fused SGD step
    {"optimizer": dl.Momentum(0.5)},  # the products, then the optimiser
    {"target_mode": "sampled"},  # the products, the sampled target's gradient by BLAS
], ids=["sgd", "momentum", "sampled"])  # fmt: skip
def test_the_kernel_with_skinny_products_follows_the_blas_kernel(skinny, fields):
    """Same draws, same law: the runs with and without the skinny products differ only by
    rounding (a few ulps a step, grown over 12 steps by the dynamics' sensitivity, bounded
    here by 1e-10 of the largest weight), and the AVX-512 and AVX2 runs are bitwise equal."""
    runs = {}
    for isa in ("none", *ISAS):
        skinny(isa)
        runs[isa] = gibbs_eigen(**fields)
    blas = runs["none"]
    for isa in ISAS:
        eig, w, failed, fail_step = runs[isa]
        assert not failed.any() and not blas[2].any()
        np.testing.assert_allclose(w, blas[1], rtol=0, atol=1e-10 * np.abs(blas[1]).max())
        np.testing.assert_allclose(eig, blas[0], rtol=1e-10)
        assert not np.array_equal(w, blas[1])  # (they are not BLAS's bits)
        np.testing.assert_array_equal(w, runs[ISAS[0]][1])


@needs_skinny
def test_batches_that_are_no_multiple_of_8_keep_blas(skinny):
    """B = 12: the skinny products need chains in groups of 8, so BLAS runs: bit for bit the
    run with the products switched off."""
    skinny("none")
    blas = gibbs_eigen(batch=12, steps=4)
    skinny("auto")
    for a, b in zip(gibbs_eigen(batch=12, steps=4), blas, strict=True):
        np.testing.assert_array_equal(a, b)


@needs_skinny
def test_divergence_is_flagged_where_blas_flags_it(skinny):
    """A learning rate at which replicas leave the stable region: the fused step's check (its
    own sum of squares, then the exact test at segment ends with rollback) flags the same
    replicas at the same steps as the BLAS kernel."""
    outcomes = {}
    for isa in ("none", *ISAS):
        skinny(isa)
        outcomes[isa] = gibbs_eigen(lr=1.5, steps=40, replicas=4)
    assert 0 < outcomes["none"][2].sum()
    for isa in ISAS:
        np.testing.assert_array_equal(outcomes[isa][2], outcomes["none"][2])
        np.testing.assert_array_equal(outcomes[isa][3], outcomes["none"][3])


@needs_skinny
def test_the_one_step_entry_point_takes_the_skinny_path(skinny):
    """The one-step entry point at the skinny size runs the fused step too: a few ulps from
    BLAS's step on the same normals, and the same bits from every instruction set."""
    rng = np.random.default_rng(3)
    n, batch = 200, 16
    weights = 0.02 * rng.standard_normal((n, n))
    chains = rng.standard_normal((batch, n))
    c_target = np.diag(np.linspace(0.5, 1.5, n))
    normals = rng.standard_normal(kernels.rbm_normals_per_step(n, n, batch, 3, False,
                                                               "gibbs-eigen"))  # fmt: skip
    out = {}
    for isa in ("none", *ISAS):
        skinny(isa)
        w, c = weights.copy(), chains.copy()
        kernels.rbm_pcd_step_given_normals(w, c, normals, c_target, lr=0.05, mu=3.0, k=3,
                                           sampler="gibbs-eigen")  # fmt: skip
        out[isa] = (w, c)
    for isa in ISAS:
        np.testing.assert_allclose(out[isa][0], out["none"][0], rtol=0, atol=1e-13)
        np.testing.assert_array_equal(out[isa][0], out[ISAS[0]][0])
