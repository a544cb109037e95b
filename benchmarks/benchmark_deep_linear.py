"""Deep linear kernel :eq:`dl-update` against the replica-batched NumPy baseline.

Microseconds per replica-step, R = 256 replicas, B = 16, lr = 0.1, A = 0.1, on one core
(BLAS pinned to one thread, as in benchmark_rbm): issue 16's target, widths [4, 4, 4]
(kernel >= 3x NumPy), the depths L = 1, 2, 3 at width 4, and widths [10, 10, 10]. The
kernel runs both samplers: "wishart" (C_B from its Wishart law, the default "auto" at
B >= n_0) and "explicit" (B drawn inputs, as the baseline). Every case starts at the
balanced factorisation of the teacher 2 * 1 (each layer 2^(1/L) * 1), where every replica
stays (lr lambda = lr L 2^(2 (L - 1) / L) <= 0.76 < 2 :eq:`dl-curvature`), so that no
replica diverges and drops out of the kernel's work.

As a script (``python benchmarks/benchmark_deep_linear.py``) it measures every case side by
side in one process, interleaved, best of ``--repeats``, and prints the table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from dysonlearn import kernels

try:
    from .common import Sampled, best_seconds, interleaved_best, sig
    from .numpy_baseline import deep_linear_steps_numpy
except ImportError:  # run as a script, or loaded from its path: the siblings by name
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import Sampled, best_seconds, interleaved_best, sig
    from numpy_baseline import deep_linear_steps_numpy

REPLICAS = 256
STEPS = 200
BATCH = 16
LR = 0.1
NOISE = 0.1
KAPPA = 2.0
SEED = 2024
TRACK_REPEATS = 5

#: The cases, by name: widths n_0, ..., n_L.
WIDTHS = {
    "4,4": (4, 4),
    "4,4,4": (4, 4, 4),
    "4,4,4,4": (4, 4, 4, 4),
    "10,10,10": (10, 10, 10),
}
KERNEL_IMPLEMENTATIONS = ("kernel-wishart", "kernel-explicit")
IMPLEMENTATIONS = (*KERNEL_IMPLEMENTATIONS, "numpy")


def balanced_start(widths, replicas: int = REPLICAS) -> np.ndarray:
    """(R, n_weights): every layer KAPPA^(1/L) times the identity (square widths)."""
    n_layers = len(widths) - 1
    layer = (KAPPA ** (1.0 / n_layers) * np.eye(widths[0])).ravel()
    return np.tile(np.concatenate([layer] * n_layers), (replicas, 1))


class Case:
    """R replicas x STEPS steps of one implementation at one set of widths; ``run`` times
    that work from where the previous call left the replicas."""

    def __init__(self, name: str, implementation: str, replicas: int = REPLICAS,
                 steps: int = STEPS):  # fmt: skip
        self.widths = WIDTHS[name]
        self.replicas, self.steps = replicas, steps
        self.teacher = KAPPA * np.eye(self.widths[0])
        self.weights = balanced_start(self.widths, replicas)
        if implementation == "numpy":
            rng = np.random.default_rng(SEED)
            self.run = lambda: deep_linear_steps_numpy(
                self.weights, self.teacher, rng, self.widths, LR, NOISE, BATCH, steps
            )
            self.failed = lambda: 0
            return
        sampler = implementation.split("-")[1]
        gens = [np.random.SFC64(s) for s in np.random.SeedSequence(SEED).spawn(replicas)]
        failed = np.zeros(replicas, np.uint8)
        fail_step = np.full(replicas, -1, np.int64)
        self.start = 0

        def run():
            kernels.deep_linear(
                self.weights, self.teacher, gens, widths=self.widths, lr=LR, noise=NOISE,
                batch_size=BATCH, start=self.start, stop=self.start + steps, sampler=sampler,
                failed=failed, fail_step=fail_step,
            )  # fmt: skip
            self.start += steps

        self.run = run
        self.failed = lambda: int(failed.sum())


def _best_per_replica_step(run, replicas: int = REPLICAS, steps: int = STEPS) -> float:
    """Microseconds per replica-step, best of TRACK_REPEATS (interference only adds time),
    to three significant figures."""
    return sig(best_seconds(run, TRACK_REPEATS) / (replicas * steps) * 1e6)


class _DeepLinearHarness(Sampled):
    """R = 256 replicas x 200 steps of one implementation (``Case``)."""

    param_names = ("widths", "implementation")

    def setup(self, widths, implementation):
        self._blas = threadpool_limits(limits=1)
        self.case = Case(widths, implementation)
        self.case.run()  # warm up

    def teardown(self, widths, implementation):
        self._blas.restore_original_limits()

    def time_steps(self, widths, implementation):
        self.case.run()

    def track_us_per_replica_step(self, widths, implementation):
        return _best_per_replica_step(self.case.run)

    track_us_per_replica_step.unit = "us/replica-step"


class DeepLinear(_DeepLinearHarness):
    """R = 256 replicas x 200 steps: the kernel, both samplers, and its time against the
    NumPy baseline's (the baseline alone: ``benchmark_numpy_baselines.DeepLinearStepNumpy``).
    """

    params = (tuple(WIDTHS), KERNEL_IMPLEMENTATIONS)

    def track_time_vs_numpy(self, widths, implementation):
        """Kernel time / NumPy time for the same work (below 1 the kernel is faster),
        interleaved in one call, best of TRACK_REPEATS each."""
        baseline = Case(widths, "numpy")
        baseline.run()
        best = interleaved_best({"kernel": self.case.run, "numpy": baseline.run},
                                TRACK_REPEATS)  # fmt: skip
        return sig(best["kernel"] / best["numpy"])

    track_time_vs_numpy.unit = "x (kernel time / NumPy time)"


def side_by_side(cases: dict, repeats: int = TRACK_REPEATS) -> dict[str, float]:
    """Microseconds per replica-step of each case, interleaved, best of ``repeats``
    (BLAS on one thread; a first untimed call warms each up)."""
    best = dict.fromkeys(cases, float("inf"))
    with threadpool_limits(limits=1):
        for case in cases.values():
            case.run()
        for _ in range(repeats):
            for key, case in cases.items():
                start = time.perf_counter()
                case.run()
                best[key] = min(best[key], time.perf_counter() - start)
    return {key: best[key] / (c.replicas * c.steps) * 1e6 for key, c in cases.items()}


def main(argv=None) -> None:
    """Print the table (``python benchmarks/benchmark_deep_linear.py``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", nargs="+", default=list(WIDTHS), choices=list(WIDTHS))
    parser.add_argument("--repeats", type=int, default=TRACK_REPEATS)
    args = parser.parse_args(argv)
    cases = {(w, i): Case(w, i) for w in args.widths for i in IMPLEMENTATIONS}
    us = side_by_side(cases, args.repeats)
    failed = sum(case.failed() for case in cases.values())
    print(f"R = {REPLICAS}, {STEPS} steps a call, B = {BATCH}, one core, best of "
          f"{args.repeats}, all in one run; microseconds per replica-step "
          f"(diverged replicas: {failed})")  # fmt: skip
    print(f"{'widths':<12}{'wishart':>10}{'explicit':>10}{'numpy':>10}"
          f"{'numpy/wishart':>15}{'numpy/explicit':>16}")  # fmt: skip
    for w in args.widths:
        k, e, n = (us[(w, i)] for i in IMPLEMENTATIONS)
        print(f"[{w}]".ljust(12) + f"{k:>10.3g}{e:>10.3g}{n:>10.3g}{n / k:>14.1f}x"
              f"{n / e:>15.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
