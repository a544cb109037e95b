"""The deep linear benchmark: its NumPy baseline takes the kernel's step, and the suite runs."""

import numpy as np
import pytest
from bench_helpers import load_benchmark

from dysonlearn import kernels

@pytest.fixture(scope="module")
def baseline():
    return load_benchmark("numpy_baseline")


@pytest.mark.parametrize("widths", [(4, 4), (4, 4, 4), (3, 5, 2), (2, 3, 4, 5)])
def test_the_numpy_step_is_the_kernel_step_given_the_same_variates(baseline, widths):
    # The baseline's inputs (R, B, n_0) and noise (R, n_weights), replica by replica in the
    # kernel's order for the explicit sampler (the B n_0 inputs, then one normal per
    # weight), give the kernel's step: the same update to rounding.
    rng = np.random.default_rng(16)
    replicas, batch, lr, noise = 5, 7, 0.1, 0.3
    n_weights = kernels.deep_linear_n_weights(widths)
    weights = rng.normal(0.0, 0.7, (replicas, n_weights))
    teacher = rng.normal(size=(widths[-1], widths[0]))
    stepper = baseline.DeepLinearNumpy(widths, teacher, replicas, lr, noise, batch)
    rng.standard_normal(out=stepper.inputs)
    rng.standard_normal(out=stepper.noise)
    expected = weights.copy()
    for r in range(replicas):
        variates = np.concatenate([stepper.inputs[r].ravel(), stepper.noise[r]])
        status = kernels.deep_linear_step_given_variates(
            expected[r], teacher, variates, widths=widths, lr=lr, noise=noise,
            batch_size=batch, sampler="explicit",
        )  # fmt: skip
        assert status == 0
    before = weights.copy()
    stepper.step(weights)
    assert np.max(np.abs(weights - before)) > 0.01  # a real step
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-13)


def test_the_numpy_loop_without_noise_descends_to_the_teacher(baseline):
    # Noiseless, from near the balanced teacher: the end-to-end map converges to M_T.
    widths, replicas = (3, 3, 3), 4
    teacher = np.diag([2.0, 1.5, 1.0])
    layer = np.sqrt(teacher).ravel()
    rng = np.random.default_rng(3)
    weights = np.tile(np.concatenate([layer, layer]), (replicas, 1))
    weights += rng.normal(0.0, 0.05, weights.shape)
    baseline.deep_linear_steps_numpy(weights, teacher, rng, widths, 0.05, 0.0, 16, 600)
    w1 = weights[:, :9].reshape(replicas, 3, 3)
    w2 = weights[:, 9:].reshape(replicas, 3, 3)
    np.testing.assert_allclose(w2 @ w1, np.broadcast_to(teacher, (replicas, 3, 3)), atol=1e-6)


def test_the_suite_runs_and_its_cases_stay_finite(monkeypatch):
    bench = load_benchmark("benchmark_deep_linear")
    assert bench.DeepLinear.params[0] == ("4,4", "4,4,4", "4,4,4,4", "10,10,10")
    assert bench.DeepLinear.track_us_per_replica_step.unit == "us/replica-step"
    monkeypatch.setattr(bench, "TRACK_REPEATS", 1)
    for implementation in bench.IMPLEMENTATIONS:
        case = bench.Case("4,4,4", implementation, replicas=3, steps=5)
        us = bench.side_by_side({implementation: case}, repeats=1)[implementation]
        assert np.isfinite(us) and us > 0
        assert case.failed() == 0 and np.all(np.isfinite(case.weights))
        # near the balanced start 2^(1/2) * 1 after 10 small noisy steps
        assert np.max(np.abs(case.weights - bench.balanced_start((4, 4, 4), 3))) < 0.2
