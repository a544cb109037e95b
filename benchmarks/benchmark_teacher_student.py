"""Teacher-student :eq:`ts-update` and eigenvalue-level Dyson :eq:`dyson-bm` kernels against NumPy
baselines.

Per replica-step, N = 2 (the article's setting; 2000 steps a timed call) and N = 10 (400
steps), B = 16, lr = 0.1, A = g = 0.1, R = 256 replicas on one core (BLAS pinned to one thread, as in benchmark_rbm). The
teacher-student kernel runs its three samplers: "wishart" (C_B by Bartlett, the default for
B >= N), "explicit" (B inputs and B noise matrices, the definition) and "mean-noise" (B
inputs and the batch-mean noise drawn directly, the default for B < N); the NumPy baseline
draws its inputs explicitly and its batch-mean noise directly, as "mean-noise" does.

``track_time_vs_numpy``: kernel time / NumPy time for the same work, both timed in the same
call, interleaved (below 1 the kernel is faster). The baselines' own timings, which measure
the machine rather than the package, are in ``benchmark_numpy_baselines``.
"""

import numpy as np
from threadpoolctl import threadpool_limits

from dysonlearn import config as dl_config
from dysonlearn import kernels
from dysonlearn.optim import SGD, Adam, Momentum

from .common import Sampled, best_seconds, interleaved_best, sig
from .numpy_baseline import dyson_steps_numpy, teacher_student_steps_numpy

REPLICAS = 256
STEPS = 400
#: Steps of a timed call at N = 2, where a step costs 0.05-0.5 us: a call then lasts
#: 25-250 ms rather than 5-50 ms (short calls were the noisiest).
STEPS_N2 = 2000


def steps(n: int) -> int:
    """Steps of one timed call at size N: STEPS_N2 at N = 2, STEPS beyond."""
    return STEPS_N2 if n == 2 else STEPS

BATCH = 16
LR = 0.1
NOISE = 0.1
SEED = 2024
TRACK_REPEATS = 5


def _best_per_replica_step(run, n_steps: int = STEPS) -> float:
    """Microseconds per replica-step of calls of ``n_steps`` steps, best of TRACK_REPEATS
    or more (interference only adds time), to three significant figures."""
    return sig(best_seconds(run, TRACK_REPEATS) / (REPLICAS * n_steps) * 1e6)


class _Steps(Sampled):
    """Shared harness: BLAS on one thread, the run ``prepare`` returns timed."""

    param_names = ("n", "implementation")

    def setup(self, n, implementation):
        self._blas = threadpool_limits(limits=1)
        self._run = self.prepare(n, implementation)
        self._run()  # warm up

    def teardown(self, n, implementation):
        self._blas.restore_original_limits()

    def time_steps(self, n, implementation):
        self._run()

    def track_us_per_replica_step(self, n, implementation):
        return _best_per_replica_step(self._run, steps(n))

    track_us_per_replica_step.unit = "us/replica-step"


class _KernelSteps(_Steps):
    """A kernel's harness, with its time against the NumPy baseline's."""

    def track_time_vs_numpy(self, n, implementation):
        """Kernel time / NumPy time for the same work (below 1 the kernel is faster),
        interleaved in one call, best of TRACK_REPEATS each."""
        baseline = self.prepare(n, "numpy")
        baseline()
        best = interleaved_best({"kernel": self._run, "numpy": baseline}, TRACK_REPEATS)
        return sig(best["kernel"] / best["numpy"])

    track_time_vs_numpy.unit = "x (kernel time / NumPy time)"


def _generators():
    return [np.random.SFC64(s) for s in np.random.SeedSequence(SEED).spawn(REPLICAS)]


class _TeacherStudentHarness:
    def prepare(self, n, implementation):
        """The run of R replicas x steps(N) steps from the teacher, ``implementation`` the
        kernel's sampler ("kernel-<sampler>") or "numpy"."""
        teachers = np.tile(np.diag(np.full(n, 2.0)), (REPLICAS, 1, 1))
        weights = teachers.copy()
        if implementation == "numpy":
            rng = np.random.default_rng(SEED)
            return lambda: teacher_student_steps_numpy(
                weights, teachers, rng, LR, NOISE, BATCH, steps(n)
            )
        gens, sampler = _generators(), implementation.removeprefix("kernel-")
        if sampler not in getattr(dl_config, "TS_SAMPLERS", ("wishart", "explicit")):
            # asv runs these benchmarks against older commits too: skip what they lack.
            raise NotImplementedError(f"no teacher-student sampler {sampler!r} here")
        return lambda: kernels.teacher_student(
            weights, teachers, gens, lr=LR, noise=NOISE, batch_size=BATCH, stop=steps(n),
            sampler=sampler,
        )  # fmt: skip


class TeacherStudentStep(_TeacherStudentHarness, _KernelSteps):
    """R replicas x steps(N) teacher-student steps of each kernel sampler (the baseline's:
    ``benchmark_numpy_baselines.TeacherStudentStepNumpy``)."""

    params = ((2, 10), ("kernel-wishart", "kernel-explicit", "kernel-mean-noise"))


OPTIMIZERS = {"sgd": SGD(), "momentum": Momentum(beta=0.9), "adam": Adam()}


class TeacherStudentOptimizer(Sampled):
    """What the optimiser costs per replica-step, N = 2, Wishart sampler: SGD, heavy-ball
    momentum (beta = 0.9) and Adam (torch's defaults), from the teacher with a zero
    optimiser state every call. Issue 13's budget: momentum within 1.1x of SGD, Adam 1.3x."""

    params = (("sgd", "momentum", "adam"),)
    param_names = ("optimizer",)

    def setup(self, optimizer):
        self._blas = threadpool_limits(limits=1)
        self.teachers = np.tile(np.diag(np.full(2, 2.0)), (REPLICAS, 1, 1))
        self.weights = self.teachers.copy()
        self.optimizer = OPTIMIZERS[optimizer]
        self.state = kernels.optimizer_state(self.optimizer, self.weights.shape)
        self.generators = _generators()
        self._run()  # warm up

    def teardown(self, optimizer):
        self._blas.restore_original_limits()

    def _run(self):
        np.copyto(self.weights, self.teachers)
        self.state.fill(0.0)
        kernels.teacher_student(
            self.weights, self.teachers, self.generators, lr=LR, noise=NOISE,
            batch_size=BATCH, stop=STEPS_N2, optimizer=self.optimizer,
            opt_state=self.state if self.state.size else None,
        )  # fmt: skip

    def time_steps(self, optimizer):
        self._run()

    def track_us_per_replica_step(self, optimizer):
        return _best_per_replica_step(self._run, STEPS_N2)

    track_us_per_replica_step.unit = "us/replica-step"


class _DysonHarness:
    def prepare(self, n, implementation):
        """The run of R replicas x steps(N) Dyson steps from levels 1.9 .. 2.1, the "kernel"
        or "numpy"."""
        targets = np.full(n, 2.0)
        levels = np.tile(np.linspace(1.9, 2.1, n), (REPLICAS, 1))
        if implementation == "numpy":
            rng = np.random.default_rng(SEED)
            return lambda: dyson_steps_numpy(levels, targets, rng, LR, NOISE, BATCH, steps(n))
        gens = _generators()
        return lambda: kernels.dyson(
            levels, targets, gens, lr=LR, noise=NOISE, batch_size=BATCH, stop=steps(n)
        )


class DysonStep(_DysonHarness, _KernelSteps):
    """R replicas x steps(N) Dyson steps of the kernel (the baseline's:
    ``benchmark_numpy_baselines.DysonStepNumpy``)."""

    params = ((2, 10), ("kernel",))
