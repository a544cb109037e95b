"""The cost-against-N benchmarks: they import with the package's dependencies alone, run at a
tiny size, and count flops as a hand count does."""

import json
import subprocess
import sys

import numpy as np
import pytest
from bench_helpers import BENCHMARKS, load_benchmark

PATH = BENCHMARKS / "benchmark_large_n.py"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("benchmark_large_n")


def test_the_module_imports_with_the_package_dependencies_alone():
    # In a fresh process, after the package and its runtime dependencies (pyproject.toml)
    # are imported: loading the module pulls in nothing but the standard library and its
    # siblings common and numpy_baseline (never asv or pytest).
    code = (
        "import importlib.util, json, sys\n"
        "import dysonlearn, dysonlearn.kernels, dysonlearn.targets, numpy, scipy, tqdm\n"
        "import threadpoolctl, h5py, matplotlib, tomli_w\n"
        "before = set(sys.modules)\n"
        f"spec = importlib.util.spec_from_file_location('bench', {str(PATH)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)  # fmt: skip
    imported = set(json.loads(out.stdout.strip().splitlines()[-1]))
    foreign = {m for m in imported - {"bench", "common", "numpy_baseline", "dysonlearn", "numpy"}
               if m not in sys.stdlib_module_names}  # fmt: skip
    assert not foreign, foreign


def test_suites_sizes_and_units(bench):
    assert bench.SIZES == (10, 30, 100, 300, 1000)
    assert bench.RBMLargeN.params[0] == bench.SIZES
    assert {"collapsed", "gibbs", "gibbs-eigen", "auto"} <= set(bench.RBMLargeN.params[1])
    # the NumPy baselines measure the machine: their suites are benchmark_numpy_baselines'
    assert "numpy" not in bench.RBMLargeN.params[1]
    assert bench.TeacherStudentLargeN.params[1] == ("kernel",)
    assert bench.RBMLargeN.track_us_per_replica_step.unit == "us/replica-step"
    assert bench.RBMLargeN.track_speedup.unit.startswith("x")
    # every size has its work, and the largest sizes train one replica a call
    for model in ("rbm", "teacher_student", "dyson"):
        assert set(bench.WORK[model]) == set(bench.SIZES)
        assert bench.WORK[model][1000][0] == 1


@pytest.mark.parametrize("suite", ["RBMLargeN", "TeacherStudentLargeN", "DysonLargeN"])
def test_a_track_function_runs_at_a_tiny_size(bench, monkeypatch, suite):
    cls = getattr(bench, suite)
    monkeypatch.setitem(bench.WORK, cls.model, {4: (2, 3)})
    monkeypatch.setattr(bench, "TRACK_REPEATS", 1)
    implementation = cls.params[1][0]
    instance = cls()
    instance.setup(4, implementation)
    us = instance.track_us_per_replica_step(4, implementation)
    speedup = instance.track_speedup(4, implementation)
    assert np.isfinite(us) and us > 0 and np.isfinite(speedup) and speedup > 0
    assert np.isnan(instance.track_speedup(4, "numpy"))
    if suite == "RBMLargeN":  # the BLAS calls' floor: measured from BLAS_CALLS_MIN_N on
        assert np.isnan(instance.track_over_blas_calls(4, implementation))
        monkeypatch.setattr(bench, "BLAS_CALLS_MIN_N", 1)
        instance.setup(4, "gibbs")
        over = instance.track_over_blas_calls(4, "gibbs")
        assert not np.isnan(over)  # (its value at N = 4 is Python overhead, not a floor)


def test_a_case_resets_its_state_and_flags_divergence(bench):
    case = bench.Case("rbm", 4, "gibbs", replicas=2, steps=2)
    case.run()
    start = case.state0[0].copy()
    case.run()
    # every call starts from state0, which training never touches
    np.testing.assert_array_equal(case.state0[0], start)
    assert not np.shares_memory(case.state[0], case.state0[0])
    assert not np.array_equal(case.state[0], start)
    case.state0[0][...] = 10.0  # sigma_h^2 W^T W far above mu^2 = 9: diverged at once
    with pytest.raises(RuntimeError, match="diverged"):
        case.run()


def test_rbm_flops_against_a_hand_count(bench):
    # N_v = 2, N_h = 3, B = 4, k = 2.
    # Gibbs: 2k = 4 products of 2 B N_v N_h = 48 flops -> 192; C_model by dsyrk,
    # B N_v (N_v + 1) = 24; W delta by dsymm, 2 N_v^2 N_h = 24; the update 2 N_h N_v = 12.
    assert bench.rbm_step_flops(2, 3, 4, 2, "gibbs") == 192 + 24 + 24 + 12
    # The exact check adds X (N_h N_v (N_v + 1) = 18) and the Cholesky factor (N_v^3 / 3).
    assert bench.rbm_step_flops(2, 3, 4, 2, "gibbs", check=True) == pytest.approx(
        252 + 18 + 8 / 3
    )
    # Collapsed: X 18, A 4, one power (max(k, 2k - 2) - 1 = 1) 2 N_v^3 = 16, the series
    # (k - 1) N_v^2 = 4, Sigma_k 16, its Cholesky 8/3, L z by dtrmm B N_v (N_v + 1) = 24,
    # A^k phi 2 B N_v^2 = 32; then the same 24 + 24 + 12 as Gibbs.
    collapsed = 18 + 4 + 16 + 4 + 16 + 8 / 3 + 24 + 32 + 60
    assert bench.rbm_step_flops(2, 3, 4, 2, "collapsed") == pytest.approx(collapsed)
    # The check adds only the Cholesky factor: the collapsed sampler forms X anyway.
    assert bench.rbm_step_flops(2, 3, 4, 2, "collapsed", check=True) == pytest.approx(
        collapsed + 8 / 3
    )
    assert bench.rbm_step_flops(2, 3, 4, 2, "auto") == pytest.approx(collapsed)
    # In the eigenbasis: the sweeps' 192, then -W Lambda (N_v N_h = 6) and two products
    # with the chains (4 B N_v N_h = 96) instead of dsyrk and dsymm; the update 12.
    assert bench.rbm_step_flops(2, 3, 4, 2, "gibbs-eigen") == 192 + 6 + 96 + 12
    assert bench.rbm_step_flops(2, 3, 4, 2, "gibbs-eigen", check=True) == pytest.approx(
        306 + 18 + 8 / 3
    )
    with pytest.raises(ValueError, match="sampler"):
        bench.rbm_step_flops(2, 3, 4, 2, "exact")


def test_rbm_flops_scale_as_the_products_of_the_step(bench):
    # Large N: Gibbs is 4 k B N^2 + 2 N^3 to leading order, collapsed (2 k + 1/3) 2 N^3 ...
    n = 10_000
    gibbs = bench.rbm_step_flops(n, n, 16, 3, "gibbs")
    assert gibbs == pytest.approx(4 * 3 * 16 * n**2 + 2 * n**3, rel=2e-3)
    collapsed = bench.rbm_step_flops(n, n, 16, 3, "collapsed")
    # X (N^3), 3 powers, Sigma_k (2 N^3 each), Cholesky, and W delta (2 N^3)
    assert collapsed == pytest.approx((1 + 6 + 2 + 1 / 3 + 2) * n**3, rel=1e-2)
    # ... so by flops alone collapsed is cheaper at N = 10 (18653 against 23160) and Gibbs
    # from N ~ 20 on (4 k B N^2 against about 9.3 N^3 more)
    assert bench.rbm_step_flops(10, 10, 16, 3, "collapsed") == pytest.approx(18653 + 1 / 3)
    assert bench.rbm_step_flops(10, 10, 16, 3, "gibbs") == 23160
    assert bench.rbm_step_flops(10, 10, 16, 3, "auto") == pytest.approx(18653 + 1 / 3)
    assert bench.rbm_step_flops(30, 30, 16, 3, "auto") == bench.rbm_step_flops(
        30, 30, 16, 3, "gibbs-eigen"
    )
    # In the eigenbasis nothing is cubic: (4 k + 4) B N^2, the scaling N^2 and the update
    # 2 N^2.
    eigen = bench.rbm_step_flops(n, n, 16, 3, "gibbs-eigen")
    assert eigen == (16 * 16 + 3) * n**2


def test_teacher_student_and_dyson_flops_against_a_hand_count(bench):
    # n = 3, B = 4. Wishart L L^T: sum over i >= j of (j + 1) multiply-adds = 10 -> 20
    # flops = n (n + 1) (n + 2) / 3; data term 2 n^3 + n^2 = 63; symmetrisation and noise
    # 3 n^2 = 27; update 2 n^2 = 18.
    assert bench.teacher_student_step_flops(3, 4, "wishart") == 20 + 63 + 27 + 18
    # Explicit: C_B from B inputs, B n (n + 1) = 48, and the mean of B noise matrices
    # B n (n + 1) / 2 = 24.
    assert bench.teacher_student_step_flops(3, 4, "explicit") == 48 + 24 + 63 + 27 + 18
    # Mean-noise: C_B from the inputs (48) and no noise products at small n; at n = 100,
    # B = 16 (3 B < 2 n) the rank-B data term 4 B n^2 + n^2 replaces C_B and 2 n^3 + n^2.
    assert bench.teacher_student_step_flops(3, 4, "mean-noise") == 48 + 63 + 27 + 18
    assert bench.teacher_student_step_flops(100, 16, "mean-noise") == (4 * 16 + 1 + 3 + 2) * 1e4
    assert bench.ts_sampler(16) == "wishart" and bench.ts_sampler(17) == "mean-noise"
    assert bench.dyson_step_flops(3) == pytest.approx(36 + 270 + 9 + 12)


def test_dgemm_throughput_is_measured_once_per_size(bench):
    gflops = bench.dgemm_gflops(64, repeats=1)
    assert 0.01 < gflops < 1e4 and bench.dgemm_gflops(64) == gflops
    assert bench.dgemm_gflops(64, repeats=1, fresh=True) >= gflops  # the best is kept


def test_the_table_at_a_tiny_size(bench, monkeypatch):
    for model in bench.WORK:
        monkeypatch.setitem(bench.WORK, model, {4: (2, 2)})
    # no 1024^3 products in a unit test
    monkeypatch.setattr(bench, "dgemm_gflops", lambda *args, **kwargs: 10.0)
    rows = bench.table_rows(sizes=(4,), repeats=1)
    assert [(r["model"], r["implementation"]) for r in rows][-2:] == [
        ("teacher_student", "kernel"), ("dyson", "kernel")]
    for r in rows:
        assert r["ratio"] == pytest.approx(r["numpy_us"] / r["kernel_us"])
        assert r["floor_us"] == pytest.approx(r["flops"] / 10e9 * 1e6)
    text = bench.format_table(rows)
    assert "kernel/floor" in text and "rbm, gibbs" in text
    # N = 4 is below BLAS_CALLS_MIN_N: no BLAS-calls floor measured, shown as "-"
    assert all(np.isnan(r["blas_us"]) for r in rows) and "kernel/BLAS" in text
    monkeypatch.setattr(bench, "BLAS_CALLS_MIN_N", 1)
    rows = bench.table_rows(models=("rbm",), sizes=(4,), repeats=1)
    measured = {r["implementation"] for r in rows if np.isfinite(r["blas_us"])}
    assert measured == {"gibbs", "gibbs-eigen"}  # auto is collapsed at N = 4
    for r in rows:
        if r["implementation"] in measured:
            assert r["over_blas"] == pytest.approx(r["kernel_us"] / r["blas_us"])


@pytest.mark.parametrize("sampler", ["gibbs", "gibbs-eigen"])
def test_the_blas_calls_are_the_steps_products(bench, monkeypatch, sampler):
    """BLASCalls makes the step's BLAS calls: their flops, counted from the shapes BLAS is
    handed, are rbm_step_flops less what the kernel does outside BLAS (-Lambda W, N_v N_h,
    for "gibbs-eigen"), and the operands stay finite and normal over many steps (a
    subnormal operand would slow the products down)."""
    import scipy.linalg.blas as blas

    flops = []

    def recorder(name, real):
        def call(*args, **kwargs):
            if name == "dgemm":
                a, b = args[1], args[2]
                m, k = a.shape[::-1] if kwargs.get("trans_a") else a.shape
                n = b.shape[0] if kwargs.get("trans_b") else b.shape[1]
                flops.append(2 * m * n * k)
            elif name == "dsyrk":
                n, k = args[1].shape
                flops.append(k * n * (n + 1))
            elif name == "dsymm":
                flops.append(2 * args[1].shape[0] * args[2].shape[0] * args[2].shape[1])
            else:
                flops.append(2 * args[0].size)
            return real(*args, **kwargs)

        return call

    for name in ("dgemm", "dsyrk", "dsymm", "daxpy"):
        monkeypatch.setattr(blas, name, recorder(name, getattr(blas, name)))
    n = 24
    calls = bench.BLASCalls(n, sampler, steps=1)
    calls.run()
    outside = n * n if sampler == "gibbs-eigen" else 0
    assert sum(flops) == bench.rbm_step_flops(n, n, bench.BATCH, bench.K, sampler) - outside
    calls = bench.BLASCalls(n, sampler, steps=2000)
    calls.run()
    for x in calls.operands:
        assert np.all(np.isfinite(x))
        assert not np.any((x != 0) & (np.abs(x) < np.finfo(float).tiny))
    assert not bench.BLASCalls(n, "collapsed", steps=1).supported


def test_symmetric_noise_by_index_equals_the_scatter_matmul():
    baseline = load_benchmark("numpy_baseline")
    n, scale = 7, 0.3
    packed = np.random.default_rng(0).standard_normal((5, n * (n + 1) // 2))
    by_matmul = baseline._SymmetricNoise(n, scale)
    by_index = baseline._SymmetricNoise(n, scale, by_index=True)
    assert by_matmul.small and not by_index.small
    assert not baseline._SymmetricNoise(baseline._SCATTER_MAX_N + 1, scale).small
    a, b = np.empty((5, n * n)), np.empty((5, n * n))
    by_matmul.fill(packed.copy(), a)
    by_index.fill(packed.copy(), b)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)
    matrices = b.reshape(5, n, n)
    np.testing.assert_array_equal(matrices, matrices.transpose(0, 2, 1))
    # off-diagonal scale times the draw, diagonal sqrt(2) scale times it
    assert matrices[0, 0, 1] == pytest.approx(scale * packed[0, 1])
    assert matrices[0, 0, 0] == pytest.approx(np.sqrt(2) * scale * packed[0, 0])
