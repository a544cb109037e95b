"""Gaussian-RBM PCD: the compiled kernel against the replica-batched NumPy baseline.

Reference configuration (the :doc:`/theory/rbm` page): N_v = N_h = 10, k = 3, B = 16, lr = 0.1,
mu = 3, sigma_h = 1, W_ij ~ Normal(0, 0.1^2), chains starting at phi = 1, target the free scalar
field N = 10, m = 2 (:eq:`free-scalar-target`; C_target = K_phi^-1 :eq:`pcd-update`).

The unit of work is the replica-step: one PCD step :eq:`rbm-hidden-given-visible` to
:eq:`pcd-update` of one replica. The science runs are 7500 replicas x 1e5 steps per point, so
us/replica-step times 7.5e8 is the CPU time of one point. Each timed call trains R replicas for
``steps(R)`` steps (200 at R = 256, 4000 at R = 1, so that a call lasts over 10 ms);
``time_*`` reports that fixed amount of work, ``track_us_per_replica_step`` the same divided by
R x steps, so that R = 1 (per-call overhead visible) and R = 256 (throughput) compare on one
scale. ``PCDStep.track_time_vs_numpy`` is the figure of merit of the kernel against the
replica-batched NumPy baseline: kernel time / NumPy time for the same work, both timed in
the same call, interleaved (below 1 the kernel is faster; 0.33 is 3x). The NumPy baseline's
own timings, which measure the machine rather than the package, are in
``benchmark_numpy_baselines``.

BLAS is pinned to one thread in every setup, kernel and baseline alike: the products are
10 x 16 matrices, where extra BLAS threads only add synchronisation, and the package's
parallelism is over replicas (one process per core), so one core is the honest measure.
"""

import numpy as np
from threadpoolctl import threadpool_limits

from dysonlearn.kernels import optimizer_state, rbm_pcd, standard_normals
from dysonlearn.optim import SGD, Adam, Momentum
from dysonlearn.targets import free_scalar

from .common import Sampled, best_seconds, interleaved_best, sig
from .numpy_baseline import pcd_steps_numpy

N_VISIBLE = 10
N_HIDDEN = 10
K = 3
BATCH = 16
LR = 0.1
MU = 3.0
SIGMA_H = 1.0
INIT_STD = 0.1
STEPS = 200
#: Steps of one timed call at R = 1 (at R = 256: STEPS).
STEPS_ONE_REPLICA = 4000
SEED = 2024
# Best of a few runs in track_*: interference from other processes only ever adds time.
TRACK_REPEATS = 5


def reference_state(replicas: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Initial weights (R, N_h, N_v) ~ Normal(0, 0.1^2) and chains (R, B, N_v) = 1,
    the reference initialisation of :doc:`/theory/rbm`."""
    weights = np.random.default_rng(seed).normal(0.0, INIT_STD, (replicas, N_HIDDEN, N_VISIBLE))
    return weights, np.ones((replicas, BATCH, N_VISIBLE))


def steps(replicas: int) -> int:
    """Steps of one timed call of R replicas: STEPS, or STEPS_ONE_REPLICA at R = 1."""
    return STEPS_ONE_REPLICA if replicas == 1 else STEPS


def replica_generators(name: str, replicas: int, seed: int = SEED) -> list:
    """One BitGenerator per replica from SeedSequence(seed).spawn(R), as run_ensemble does."""
    bit_generator = getattr(np.random, name)
    return [bit_generator(s) for s in np.random.SeedSequence(seed).spawn(replicas)]


class _PCDHarness(Sampled):
    """R replicas x steps(R) PCD steps of one implementation from the reference state:
    the kernel (``"collapsed"``, ``"gibbs"``, ``"gibbs-npnormal"``) or ``"numpy"``.

    ``PCDStep`` times the kernels, ``benchmark_numpy_baselines.PCDStepNumpy`` the
    baseline; both take the same parameters.
    """

    param_names = ("replicas", "implementation", "bit_generator")
    timeout = 300

    def setup(self, replicas, implementation, bit_generator):
        # Kept as an attribute: the limit holds only while the limiter object is alive.
        self._blas = threadpool_limits(limits=1)
        self.c_target = free_scalar(N_VISIBLE, 2.0).covariance
        self.replicas, self.steps = replicas, steps(replicas)
        self._run = self.prepare(replicas, implementation, bit_generator)
        self._run(n_steps=2)  # warm up: first BLAS call, page faults of the work buffers

    def prepare(self, replicas, implementation, bit_generator):
        """The run of one implementation: ``run(n_steps=steps(R))`` from the reference
        state every time (the kernel skips a replica that has diverged
        (:eq:`rbm-kernel`), so a drifting state could make later calls cheaper; the copy is
        ~1e-4 of the work of the call)."""
        weights0, chains0 = reference_state(replicas)
        weights, chains = weights0.copy(), chains0.copy()
        if implementation != "numpy":
            generators = replica_generators(bit_generator, replicas)
            normal_method = "numpy" if implementation.endswith("npnormal") else "ziggurat"
            sampler = implementation.split("-")[0]

            def advance(n_steps):
                rbm_pcd(
                    weights, chains, generators, self.c_target, lr=LR, mu=MU,
                    sigma_h=SIGMA_H, k=K, stop=n_steps, normal_method=normal_method,
                    sampler=sampler,
                )  # fmt: skip
        else:
            # The baseline draws for all replicas from one Generator (batched calls).
            rng = np.random.Generator(getattr(np.random, bit_generator)(SEED))

            def advance(n_steps):
                pcd_steps_numpy(weights, chains, rng, self.c_target, LR, MU, SIGMA_H, K,
                                n_steps)  # fmt: skip

        def run(n_steps=self.steps):
            np.copyto(weights, weights0)
            np.copyto(chains, chains0)
            advance(n_steps)

        return run

    def teardown(self, *params):
        self._blas.restore_original_limits()

    def time_pcd(self, replicas, implementation, bit_generator):
        """R replicas x steps(R) steps from the reference state."""
        self._run()

    def track_us_per_replica_step(self, replicas, implementation, bit_generator):
        """The work of time_pcd per replica-step, in microseconds (best of TRACK_REPEATS)."""
        best = best_seconds(self._run, TRACK_REPEATS)
        return sig(best / (replicas * self.steps) * 1e6)

    track_us_per_replica_step.unit = "us/replica-step"


class PCDStep(_PCDHarness):
    """R replicas x steps(R) PCD steps: the kernels, SFC64 vs PCG64.

    "collapsed" is the default kernel (the k-sweep transition drawn at once, B N_v normals
    a step); "gibbs" the explicit sweeps with the package's ziggurat normals;
    "gibbs-npnormal" the explicit sweeps with NumPy's own normal sampler (the very normals
    the baseline draws), which isolates what the faster sampler buys from what the
    compiled step buys.
    """

    # Tuples, not lists: asv accepts any sequence, and class attributes stay immutable.
    params = (
        (1, 256),
        ("collapsed", "gibbs", "gibbs-npnormal"),
        ("SFC64", "PCG64"),
    )

    def track_time_vs_numpy(self, replicas, implementation, bit_generator):
        """Kernel time / NumPy time for the same work (below 1 the kernel is faster),
        interleaved in one call, best of TRACK_REPEATS each."""
        baseline = self.prepare(replicas, "numpy", bit_generator)
        baseline(n_steps=2)
        best = interleaved_best({"kernel": self._run, "numpy": baseline}, TRACK_REPEATS)
        return sig(best["kernel"] / best["numpy"])

    track_time_vs_numpy.unit = "x (kernel time / NumPy time)"


OPTIMIZERS = {"sgd": SGD(), "momentum": Momentum(beta=0.9), "adam": Adam()}


class OptimizerCost(Sampled):
    """What the optimiser costs per replica-step on the reference configuration: SGD,
    heavy-ball momentum (beta = 0.9) and Adam (torch's defaults), R = 256, collapsed kernel.
    Issue 13's budget: momentum within 1.1x of SGD, Adam within 1.3x."""

    params = (("sgd", "momentum", "adam"),)
    param_names = ("optimizer",)
    timeout = 300

    def setup(self, optimizer):
        self._blas = threadpool_limits(limits=1)
        self.c_target = free_scalar(N_VISIBLE, 2.0).covariance
        self.weights0, self.chains0 = reference_state(256)
        self.weights, self.chains = self.weights0.copy(), self.chains0.copy()
        self.generators = replica_generators("SFC64", 256)
        self.optimizer = OPTIMIZERS[optimizer]
        self.state = optimizer_state(self.optimizer, self.weights.shape)
        self._run(steps=2)  # warm up

    def teardown(self, optimizer):
        self._blas.restore_original_limits()

    def _run(self, steps=STEPS):
        # From the reference state and a zero optimiser state every time, as PCDStep does.
        np.copyto(self.weights, self.weights0)
        np.copyto(self.chains, self.chains0)
        self.state.fill(0.0)
        rbm_pcd(
            self.weights, self.chains, self.generators, self.c_target, lr=LR, mu=MU,
            sigma_h=SIGMA_H, k=K, stop=steps, optimizer=self.optimizer,
            opt_state=self.state if self.state.size else None,
        )  # fmt: skip

    def time_pcd(self, optimizer):
        """256 replicas x STEPS steps from the reference state."""
        self._run()

    def track_us_per_replica_step(self, optimizer):
        """The work of time_pcd per replica-step, in microseconds (best of TRACK_REPEATS)."""
        return sig(best_seconds(self._run, TRACK_REPEATS) / (256 * STEPS) * 1e6)

    track_us_per_replica_step.unit = "us/replica-step"


class NormalsFloor:
    """The cost of the standard normals alone, per replica-step: a floor for every code.

    One replica-step consumes k B (N_v + N_h) = 960 normals (:eq:`rbm-hidden-given-visible`,
    :eq:`rbm-visible-given-hidden`). "ziggurat" is the kernels' own sampler
    (_core/dl_normal.h); "numpy", NumPy's Generator.standard_normal (what the baseline
    pays), is ``benchmark_numpy_baselines.NormalsFloorNumpy``. The time above the matching
    floor is the rest of the step.
    """

    params = (("ziggurat",), ("SFC64", "PCG64"))
    param_names = ("sampler", "bit_generator")

    replicas = 256

    def setup(self, sampler, bit_generator):
        self.count = self.replicas * K * BATCH * (N_VISIBLE + N_HIDDEN)
        bit_gen = getattr(np.random, bit_generator)(SEED)
        if sampler == "numpy":
            rng = np.random.Generator(bit_gen)
            self.buffer = np.empty(self.count)
            self._draw = lambda: rng.standard_normal(out=self.buffer)
        else:
            self._draw = lambda: standard_normals(bit_gen, self.count)
        self._draw()  # warm up: page faults of the buffer

    def track_us_per_replica_step(self, sampler, bit_generator):
        return sig(best_seconds(self._draw, TRACK_REPEATS) / self.replicas * 1e6)

    track_us_per_replica_step.unit = "us/replica-step"


class PeakMemory:
    """Peak RSS of a science-sized block: 7500 replicas of the reference configuration.

    asv's peakmem is the process's maximum RSS, so it includes the interpreter and the
    imported libraries (NumPy, SciPy, dysonlearn), not only the state: weights and chains
    are 7500 x (100 + 160) doubles = 15.6 MB, plus the kernel's 7500 BitGenerators or the
    baseline's one-step noise buffers (7500 x 3 x 16 x 20 doubles = 57.6 MB). The
    baseline's is ``benchmark_numpy_baselines.PeakMemoryNumpy``.
    """

    params = (("kernel",),)
    param_names = ("implementation",)
    timeout = 300

    replicas = 7500
    steps = 10

    def setup(self, implementation):
        self._blas = threadpool_limits(limits=1)
        self.c_target = free_scalar(N_VISIBLE, 2.0).covariance

    def teardown(self, implementation):
        self._blas.restore_original_limits()

    def peakmem_7500_replicas(self, implementation):
        # Allocated inside the measured call so that the whole block is counted.
        weights, chains = reference_state(self.replicas)
        if implementation == "kernel":
            generators = replica_generators("SFC64", self.replicas)
            rbm_pcd(
                weights, chains, generators, self.c_target,
                lr=LR, mu=MU, sigma_h=SIGMA_H, k=K, stop=self.steps, sampler="gibbs",
            )  # fmt: skip
        else:
            rng = np.random.default_rng(SEED)
            pcd_steps_numpy(weights, chains, rng, self.c_target, LR, MU, SIGMA_H, K, self.steps)


class SpectrumCost(Sampled):
    """What recording spectra costs: none, 5 snapshots, or one at every step (dsyevd on
    X = sigma_h^2 W^T W each time), R = 256, collapsed kernel."""

    params = (("none", "five", "every"),)
    param_names = ("snapshots",)

    def setup(self, snapshots):
        self._blas = threadpool_limits(limits=1)
        self.c_target = free_scalar(N_VISIBLE, 2.0).covariance
        self.weights0, self.chains0 = reference_state(256)
        self.generators = replica_generators("SFC64", 256)
        self.steps = {"none": (), "five": np.linspace(0, STEPS, 6).astype(int),
                      "every": np.arange(STEPS + 1)}[snapshots]  # fmt: skip

    def teardown(self, snapshots):
        self._blas.restore_original_limits()

    def track_us_per_replica_step(self, snapshots):
        def run():
            weights, chains = self.weights0.copy(), self.chains0.copy()
            rbm_pcd(weights, chains, self.generators, self.c_target, lr=LR, mu=MU, k=K,
                    stop=STEPS, snapshot_steps=self.steps, sampler="collapsed")  # fmt: skip

        return sig(best_seconds(run, TRACK_REPEATS) / (256 * STEPS) * 1e6)

    track_us_per_replica_step.unit = "us/replica-step"


class EnsembleThroughput:
    """run_ensemble end to end (planning, worker processes, gathering) against workers:
    512 replicas x 5000 steps of the reference configuration (about 8 s of work on one
    core). asv's warm-up call starts the worker processes (about 0.5 s), which run_ensemble
    keeps between calls, so the samples time the work and its distribution. On a 2-core
    machine the ratio workers=1 / workers=2 is the parallel speed-up, which
    ``ParallelSpeedup`` measures in one process; both need two idle cores (see the user
    guide's benchmarks page)."""

    params = ((1, 2),)
    param_names = ("workers",)
    timeout = 600
    # 8 s calls: three samples a round (two rounds), one warm-up call that starts the pool.
    repeat = (3, 3, 120.0)
    number = 1
    warmup_time = 0.1
    min_run_count = 1

    def setup(self, workers):
        from dysonlearn import RBMConfig

        self.config = RBMConfig(steps=5000, snapshots=2)

    def time_run_ensemble(self, workers):
        from dysonlearn import run_ensemble

        run_ensemble(self.config, replicas=512, seed=SEED, workers=workers, progress=False)


class ParallelSpeedup:
    """The time of run_ensemble on one worker over its time on two (above 1 two workers are
    faster; 2 is perfect scaling): 512 replicas x 2000 steps in one process, best of three
    calls each, each pool started by an untimed call first (run_ensemble keeps one pool,
    of one size: alternating the sizes would restart it every call)."""

    timeout = 600

    def track_speedup_two_workers(self):
        from dysonlearn import RBMConfig, run_ensemble

        config = RBMConfig(steps=2000, snapshots=2)
        runs = {workers: (lambda w=workers: run_ensemble(config, replicas=512, seed=SEED,
                                                          workers=w, progress=False))
                for workers in (1, 2)}  # fmt: skip
        best = {}
        for workers, run in runs.items():  # the pool of each size started, then timed
            run()
            best[workers] = best_seconds(run, 3, min_seconds=0.0)
        return sig(best[1] / best[2])

    track_speedup_two_workers.unit = "x (one worker's time / two workers')"
