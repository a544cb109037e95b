"""Cost against N: the RBM, teacher-student and Dyson kernels beside their replica-batched
NumPy baselines at N = 10, 30, 100, 300, 1000, and the flop floor of each step.

Settings (one core, BLAS pinned to one thread, as in the other suites):

- RBM: N_v = N_h = N, k = 3, B = 16, lr = 0.1, mu = 3, sigma_h = 1, target the free scalar
  field of N sites, m = 2 (:eq:`free-scalar-target`), chains starting at 1, and
  W_ij ~ Normal(0, sigma_w^2) with sigma_w = 0.1 sqrt(10 / N): the reference initialisation
  at N = 10, scaled so that the largest initial level, about sigma_w^2 (2 sqrt N)^2 = 0.4, stays
  far below mu^2 = 9 at every N (:eq:`marchenko-pastur`; with sigma_w = 0.1 at N = 1000 the
  replicas would start diverged, and the kernel skips diverged replicas).
- Teacher-student: N x N, teacher 2 x identity, B = 16, lr = 0.1, A = 0.1; the kernel's
  "wishart" sampler needs B >= N, so from N = 30 on it runs "mean-noise" (the B inputs
  explicitly, the batch-mean noise drawn directly: B N + N (N + 1) / 2 normals a step, what
  ``sampler="auto"`` chooses there), like the baseline. (``Case("teacher_student", n,
  "explicit")`` times the "explicit" sampler, B noise matrices a step, for comparison.)
- Dyson: N levels from 1.9 to 2.1, targets 2, linear drift, B = 16, lr = 0.1, g = 0.1.

The unit is the replica-step. Each timed call trains R replicas for ``steps`` steps from the
same initial state; R and the steps fall with N (``WORK``) so that a call stays below a second
or so. The RBM's calls keep at least 24 steps, and from N = 300 on 64 (a whole segment of
the divergence check), so that what a call pays once weighs about as little as in a run,
whose chunks last seconds: the exact checks of the incoming state and of the end of its
last segment, a Gram matrix and a factorisation each, together about 1.6 ms at N = 300
and 56 ms at N = 1000, two and ten steps of "gibbs-eigen" there. Dyson and the
teacher-student at N = 1000 take one or two steps of one replica a call, so those figures
are the best of a few calls rather than an average over many.

asv: ``track_us_per_replica_step`` (kernel or NumPy, microseconds per replica-step),
``track_speedup`` (NumPy time / kernel time, both measured in the same call, interleaved,
best of TRACK_REPEATS each: above 1 the kernel is faster), ``track_over_floor`` (kernel time /
flop floor); the NumPy baselines alone and ``BLASThroughput.track_dgemm_gflops``, which
measure the machine, are in ``benchmark_numpy_baselines``. The flop floor of a step is its flop
count (:func:`rbm_step_flops`, :func:`teacher_student_step_flops`, :func:`dyson_step_flops`)
divided by the single-core DGEMM throughput measured in the same process
(:func:`dgemm_gflops`): the time the step's arithmetic would take at the speed of a large
matrix product.

As a script (``python benchmarks/benchmark_large_n.py [--sizes 10 30 ...]``) it prints the
table of the user guide: N, kernel us, NumPy us, ratio, flops, floor us, kernel / floor.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

from dysonlearn import kernels
from dysonlearn.targets import free_scalar

try:  # what RBMConfig resolves "auto" to; older versions (asv over history) lack it
    from dysonlearn.config import resolve_rbm_sampler
except ImportError:  # pragma: no cover - only when benchmarking an old commit
    resolve_rbm_sampler = None

try:
    from .common import sig
    from .numpy_baseline import dyson_steps_numpy, pcd_steps_numpy, teacher_student_steps_numpy
except ImportError:  # run as a script, or loaded from its path: the siblings by name
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import sig
    from numpy_baseline import dyson_steps_numpy, pcd_steps_numpy, teacher_student_steps_numpy

SIZES = (10, 30, 100, 300, 1000)
K = 3
BATCH = 16
LR = 0.1
MU = 3.0
SIGMA_H = 1.0
NOISE = 0.1
SEED = 2024
# Best of a few runs: interference from the other processes of a shared machine only adds time.
TRACK_REPEATS = 3

# The kernel's samplers (those this version has); "auto" is the sampler an ensemble's
# configuration resolves to (RBMConfig), which may train in the target's eigenbasis.
RBM_SAMPLERS = tuple(
    s for s in ("collapsed", "gibbs", "gibbs-eigen", "auto") if s in kernels.RBM_SAMPLERS
)

# The teacher-student kernel's products are BLAS calls from this N on (the kernel's
# TS_BLAS_MIN_N), and the mean-noise sampler's data term is of rank B when 3 B < 2 N.
TS_BLAS_MIN_N = getattr(kernels._teacher, "BLAS_MIN_N", 24)


def ts_sampler(n: int, batch_size: int = BATCH) -> str:
    """The teacher-student sampler of the benchmark (what ``sampler="auto"`` chooses):
    "wishart" while B >= N, "mean-noise" beyond.

    Parameters
    ----------
    n, batch_size : int

    Returns
    -------
    str
    """
    return "wishart" if batch_size >= n else "mean-noise"


# (replicas, steps) of one timed call, per model and N: about 0.05-1 s of work each (the
# RBM's collapsed sampler up to 17 s at N = 1000). A call's fixed costs (the exact
# divergence checks of the incoming state and of the last segment's end, a Gram matrix and a
# factorisation each; the workspace; the eigenbasis of "gibbs-eigen") are spread over at
# least 24 steps of the RBM, and from N = 300 on, where they cost two (N = 300) to ten
# (N = 1000) steps' worth, over one whole segment of 64, as in a run, whose chunks last
# seconds.
WORK = {
    "rbm": {10: (256, 50), 30: (64, 20), 100: (4, 40), 300: (1, 64), 1000: (1, 64)},
    "teacher_student": {10: (256, 100), 30: (64, 20), 100: (4, 10), 300: (1, 3), 1000: (1, 1)},
    "dyson": {10: (256, 50), 30: (64, 20), 100: (8, 10), 300: (2, 5), 1000: (1, 2)},
}


def work(model: str, n: int) -> tuple[int, int]:
    """(replicas, steps) of one timed call: ``WORK``, or for a size it lacks, the entry of
    the nearest size at or above it (the largest beyond)."""
    table = WORK[model]
    larger = [size for size in sorted(table) if size >= n]
    return table[larger[0] if larger else max(table)]


# -- flop counts ---------------------------------------------------------------------------


def rbm_step_flops(
    n_visible: int, n_hidden: int, batch_size: int, k: int, sampler: str, check: bool = False
) -> float:
    """Floating-point operations of one PCD step of one replica (analytic target, SGD).

    Counted as BLAS and LAPACK perform them (a multiply-add is two flops; leading and
    second-order terms): with N_v, N_h, B and k,

    - ``"gibbs"``: 2k products of the sweeps :eq:`rbm-hidden-given-visible`,
      :eq:`rbm-visible-given-hidden`, 2 B N_v N_h each;
    - ``"collapsed"``: X = sigma_h^2 W^T W (dsyrk, N_h N_v (N_v + 1)), A = X / mu^2 (N_v^2),
      the powers of A up to max(k, 2k - 2) (2 N_v^3 each, max(k, 2k - 2) - 1 of them), the
      series of even powers ((k - 1) N_v^2), Sigma_k = (1 + A) series / mu^2 (2 N_v^3),
      its Cholesky factor (N_v^3 / 3), xi = L z (dtrmm, B N_v (N_v + 1)) and A^k phi + xi
      (2 B N_v^2);
    - both: C_model by dsyrk (B N_v (N_v + 1)), the gradient W (C_target - C_model) by
      dsymm (2 N_v^2 N_h) and the SGD update (2 N_h N_v) :eq:`pcd-update`;
    - ``"gibbs-eigen"``: the sweeps of ``"gibbs"``, then the gradient in the target's
      eigenbasis, -W Lambda (N_v N_h) + (W Phi^T) Phi / B (two products, 4 B N_v N_h), and
      the update.

    Drawing normals is not counted (it is not floating-point arithmetic a BLAS could do).

    Parameters
    ----------
    n_visible, n_hidden, batch_size, k : int
        N_v, N_h, B and the Gibbs sweeps per step.
    sampler : {"gibbs", "collapsed", "gibbs-eigen", "auto"}
        "auto": the smallest of the three counts (what a cost model that counted flops alone
        would choose).
    check : bool
        Add the exact divergence check after the step (:eq:`rbm-kernel`: the Cholesky
        factorisation of mu^2 - X, N_v^3 / 3, and for the Gibbs sampler the product X,
        which the collapsed sampler forms anyway).

    Returns
    -------
    float
    """
    nv, nh, nb = float(n_visible), float(n_hidden), float(batch_size)
    if sampler == "auto":
        return min(
            rbm_step_flops(n_visible, n_hidden, batch_size, k, s, check)
            for s in ("gibbs", "collapsed", "gibbs-eigen")
        )
    gram = nh * nv * (nv + 1)
    if sampler == "gibbs-eigen":
        flops = 2 * k * 2 * nb * nv * nh + 4 * nb * nv * nh + nv * nh + 2 * nh * nv
        if check:
            flops += nv**3 / 3 + gram
        return flops
    if sampler == "gibbs":
        flops = 2 * k * 2 * nb * nv * nh
    elif sampler == "collapsed":
        top = max(k, 2 * k - 2)
        flops = (
            gram + nv * nv  # X, A = X / mu^2
            + (top - 1) * 2 * nv**3  # powers A^2 .. A^top
            + (k - 1) * nv * nv  # the series of even powers
            + 2 * nv**3  # Sigma_k = (1 + A) series / mu^2
            + nv**3 / 3  # its Cholesky factor
            + nb * nv * (nv + 1)  # xi = L z
            + 2 * nb * nv * nv  # A^k phi + xi
        )  # fmt: skip
    else:
        raise ValueError(
            f"sampler must be 'gibbs', 'collapsed', 'gibbs-eigen' or 'auto', got {sampler!r}"
        )
    flops += nb * nv * (nv + 1) + 2 * nv * nv * nh + 2 * nh * nv
    if check:
        flops += nv**3 / 3 + (gram if sampler == "gibbs" else 0.0)
    return flops


def teacher_student_step_flops(n: int, batch_size: int, sampler: str) -> float:
    """Floating-point operations of one teacher-student step of one replica :eq:`ts-update`.

    C_B: by Bartlett (``"wishart"``) L L^T of a lower-triangular L, n (n + 1) (n + 2) / 3;
    from B inputs (``"explicit"``, ``"mean-noise"``) B n (n + 1), plus for "explicit" the
    batch mean of B noise matrices, B n (n + 1) / 2. Then the data term (W_T - W) C_B,
    2 n^3 + n^2, its symmetrisation with the noise, 3 n^2, and the SGD update, 2 n^2. The
    mean-noise sampler from ``TS_BLAS_MIN_N`` on with 3 B < 2 n forms no C_B: its data term
    ((W_T - W) X^T) X / B of the inputs X costs 4 B n^2 + n^2 instead.

    Parameters
    ----------
    n : int
        N, the side of W.
    batch_size : int
        B.
    sampler : {"wishart", "explicit", "mean-noise"}

    Returns
    -------
    float
    """
    lowrank = n >= TS_BLAS_MIN_N and 3 * batch_size < 2 * n
    n, nb = float(n), float(batch_size)
    data_term = 2 * n**3 + n * n
    if sampler == "wishart":
        covariance = n * (n + 1) * (n + 2) / 3
    elif sampler == "explicit":
        covariance = nb * n * (n + 1) + nb * n * (n + 1) / 2
    elif sampler == "mean-noise":
        covariance, data_term = (0.0, 4 * nb * n * n + n * n) if lowrank else (
            nb * n * (n + 1), data_term)
    else:
        raise ValueError(
            f"sampler must be 'wishart', 'explicit' or 'mean-noise', got {sampler!r}")
    return covariance + data_term + 3 * n * n + 2 * n * n


def dyson_step_flops(n: int) -> float:
    """Floating-point operations of one Dyson step of one replica :eq:`dyson-bm`: the
    eigenvalues of an n x n symmetric matrix by reduction to tridiagonal form (dsytrd,
    4 n^3 / 3) and the tridiagonal eigenvalues (about 30 n^2 for dsterf), plus the drift and
    the noise's scaling (4 n + n^2).

    Parameters
    ----------
    n : int
        The number of levels.

    Returns
    -------
    float
    """
    n = float(n)
    return 4 * n**3 / 3 + 30 * n * n + n * n + 4 * n


_GFLOPS: dict[int, float] = {}


def dgemm_gflops(n: int = 1024, repeats: int = 5, fresh: bool = False) -> float:
    """Single-core DGEMM throughput of this machine in Gflop/s: the best of ``repeats``
    products of two n x n matrices (2 n^3 flops each) with BLAS on one thread. Measured once
    per process and size (``fresh``: measured again, the best of all measurements kept).

    Parameters
    ----------
    n : int
        Side of the matrices (1024: large enough for BLAS to run near its peak).
    repeats : int
    fresh : bool

    Returns
    -------
    float
    """
    if fresh or n not in _GFLOPS:
        rng = np.random.default_rng(SEED)
        a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        out = np.empty((n, n))
        with threadpool_limits(limits=1):
            np.matmul(a, b, out=out)  # warm up
            best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeats))
        _GFLOPS[n] = max(_GFLOPS.get(n, 0.0), 2.0 * n**3 / best / 1e9)
    return _GFLOPS[n]


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


# -- the step's BLAS calls alone --------------------------------------------------------------

# From this N on the cost table also times the RBM step's BLAS calls alone (below, the
# Python overhead of a call through scipy.linalg.blas is comparable to the call itself).
BLAS_CALLS_MIN_N = 100


class BLASCalls:
    """The BLAS calls of one RBM step of one replica on the kernel's BLAS path, alone: its
    routines, shapes, transpositions and (nonzero, non-unit) scalars (rbm.pyx; analytic
    target, SGD), called through ``scipy.linalg.blas`` (the library the kernel links), each
    call's Python overhead subtracted (timed on 1 x 1 operands). Its time is what the step
    would cost if it did nothing but these calls, at this machine's speed for their shapes:
    a floor that, unlike the flop floor, does not charge BLAS's slowness on skinny products
    (one side B) to the kernel. (From N = 200, with B a multiple of 8 and a CPU with AVX2,
    "gibbs-eigen" makes those products itself, and with SGD fuses gradient and update: its
    time then falls below these calls'.)

    ``"gibbs-eigen"``: k products Phi W^T (hidden units) and k products H W (visible units)
    with the chains' index fastest, then Phi W^T and Phi^T (Phi W^T) / B for the gradient;
    ``"gibbs"``: the same sweeps with the unit index fastest, then C_model by dsyrk and
    W delta by dsymm; both end with the update's daxpy. What the kernel does besides (the
    normals, -Lambda W, the divergence check) is left out. Other samplers: ``supported``
    is False.

    Parameters
    ----------
    n : int
        N_v = N_h.
    sampler : str
        The kernel's sampler (``Case.sampler``).
    steps : int
        Steps of one timed call.
    batch_size : int
        B (1 for :meth:`overhead`).
    """

    def __init__(self, n: int, sampler: str, steps: int, batch_size: int = BATCH):
        self.n, self.sampler, self.replicas, self.steps = n, sampler, 1, steps
        self.supported = sampler in ("gibbs", "gibbs-eigen")
        self.operands: tuple = ()
        if self.supported:
            self._step = self._calls(n, batch_size)

    def overhead(self) -> BLASCalls:
        """The same calls on 1 x 1 operands: what they cost beyond BLAS's work (to be
        subtracted)."""
        return BLASCalls(1, self.sampler, self.steps, batch_size=1)

    def _calls(self, n: int, nb: int):
        from scipy.linalg import blas  # the kernel's BLAS (scipy.linalg.cython_blas)

        rng = np.random.default_rng(SEED)

        def operand(rows, cols, scale=1.0):
            return np.asfortranarray(rng.normal(0.0, scale, (rows, cols)))

        # The operands must stay in the normal range however long the timing runs: a
        # product that sinks to subnormals runs several times slower. Weights of
        # 1e-3 / sqrt(N) make every product a small correction to an accumulating operand
        # (the hidden units keep theirs, beta = sigma_h = 1) that neither grows nor decays
        # geometrically, and the gradient's product goes to its own buffer, as a fresh draw
        # would otherwise reset it; the update's tiny rate keeps W in place and costs
        # daxpy what any rate does (only a zero rate would not: BLAS skips it).
        w, grad = operand(n, n, 1e-3 / np.sqrt(n)), operand(n, n)
        w_flat, grad_flat = w.ravel(order="F"), grad.ravel(order="F")  # views
        s2, inv_b, rate = SIGMA_H**2, 1.0 / nb, -1e-6
        dgemm = blas.dgemm
        if self.sampler == "gibbs-eigen":
            phi, hidden, phi_w = operand(nb, n), operand(nb, n), operand(nb, n)
            self.operands = (w, grad, phi, hidden, phi_w)

            def step():
                for _ in range(K):
                    dgemm(s2, phi, w, SIGMA_H, hidden, overwrite_c=1)
                    dgemm(1.0 / MU**2, hidden, w, 1.0 / MU, phi, trans_b=1, overwrite_c=1)
                dgemm(1.0, phi, w, 0.0, phi_w, overwrite_c=1)
                dgemm(inv_b, phi, phi_w, 1.0, grad, trans_a=1, overwrite_c=1)
                blas.daxpy(grad_flat, w_flat, a=rate)
        else:
            phi, hidden, delta = operand(n, nb), operand(n, nb), operand(n, n)
            self.operands = (w, grad, phi, hidden, delta)

            def step():
                for _ in range(K):
                    dgemm(s2, w, phi, SIGMA_H, hidden, trans_a=1, overwrite_c=1)
                    dgemm(1.0 / MU**2, w, hidden, 1.0 / MU, phi, overwrite_c=1)
                blas.dsyrk(-inv_b, phi, beta=1.0, c=delta, overwrite_c=1)
                blas.dsymm(-1.0, delta, w, beta=0.0, c=grad, overwrite_c=1)
                blas.daxpy(grad_flat, w_flat, a=rate)

        return step

    def run(self) -> None:
        """``steps`` steps' calls."""
        for _ in range(self.steps):
            self._step()



# -- the cases: a run of R replicas x steps, kernel or NumPy ----------------------------------


class Case:
    """One timed call: ``run()`` trains ``replicas`` replicas for ``steps`` steps from the
    same initial state every time (the kernels skip diverged replicas, so a drifting state
    could make later calls cheaper).

    Parameters
    ----------
    model : {"rbm", "teacher_student", "dyson"}
    n : int
        N.
    implementation : str
        "numpy", or the kernel: for the RBM its sampler ("collapsed", "gibbs",
        "gibbs-eigen", with the state rotated into the target's eigenbasis as the ensemble
        does, or "auto": what ``RBMConfig`` resolves "auto" to), for the others "kernel".
    replicas, steps : int, optional
        Default: :func:`work`.
    """

    def __init__(self, model: str, n: int, implementation: str, replicas=None, steps=None):
        default = work(model, n)
        self.model, self.n, self.implementation = model, n, implementation
        self.replicas = default[0] if replicas is None else replicas
        self.steps = default[1] if steps is None else steps
        getattr(self, f"_prepare_{model}")()
        self.failed = np.zeros(self.replicas, np.uint8)

    def _generators(self):
        return [np.random.SFC64(s) for s in np.random.SeedSequence(SEED).spawn(self.replicas)]

    def _prepare_rbm(self):
        n, r = self.n, self.replicas
        sigma_w = 0.1 * np.sqrt(10.0 / n)
        self.c_target = free_scalar(n, 2.0).covariance
        self.state0 = (np.random.default_rng(SEED).normal(0.0, sigma_w, (r, n, n)),
                       np.ones((r, BATCH, n)))  # fmt: skip
        sampler = self.implementation
        if sampler == "auto" and resolve_rbm_sampler is not None:
            sampler = resolve_rbm_sampler(n, n, BATCH, K)  # the ensemble's choice
        self.sampler = sampler
        c_target = self.c_target
        if sampler == "gibbs-eigen":
            # The state in the target's eigenbasis, as the ensemble holds it (models.rbm).
            levels, basis = np.linalg.eigh(self.c_target)
            self.state0 = tuple(a @ basis for a in self.state0)
            c_target = np.diag(levels)
        self.state = tuple(a.copy() for a in self.state0)
        if self.implementation == "numpy":
            rng = np.random.default_rng(SEED)
            self._advance = lambda: pcd_steps_numpy(
                *self.state, rng, self.c_target, LR, MU, SIGMA_H, K, self.steps
            )
        else:
            gens = self._generators()
            self._advance = lambda: kernels.rbm_pcd(
                *self.state, gens, c_target, lr=LR, mu=MU, sigma_h=SIGMA_H, k=K,
                stop=self.steps, sampler=sampler, failed=self.failed,
            )  # fmt: skip

    def _prepare_teacher_student(self):
        n, r = self.n, self.replicas
        teachers = np.tile(np.diag(np.full(n, 2.0)), (r, 1, 1))
        self.state0 = (teachers.copy(),)
        self.state = (teachers.copy(),)
        self.sampler = ts_sampler(n) if self.implementation in ("kernel", "numpy") else (
            self.implementation)
        if self.implementation == "numpy":
            rng = np.random.default_rng(SEED)
            self._advance = lambda: teacher_student_steps_numpy(
                self.state[0], teachers, rng, LR, NOISE, BATCH, self.steps
            )
        else:
            gens = self._generators()
            self._advance = lambda: kernels.teacher_student(
                self.state[0], teachers, gens, lr=LR, noise=NOISE, batch_size=BATCH,
                stop=self.steps, sampler=self.sampler, failed=self.failed,
            )  # fmt: skip

    def _prepare_dyson(self):
        n, r = self.n, self.replicas
        targets = np.full(n, 2.0)
        self.state0 = (np.tile(np.linspace(1.9, 2.1, n), (r, 1)),)
        self.state = (self.state0[0].copy(),)
        if self.implementation == "numpy":
            rng = np.random.default_rng(SEED)
            self._advance = lambda: dyson_steps_numpy(
                self.state[0], targets, rng, LR, NOISE, BATCH, self.steps
            )
        else:
            gens = self._generators()
            self._advance = lambda: kernels.dyson(
                self.state[0], targets, gens, lr=LR, noise=NOISE, batch_size=BATCH,
                stop=self.steps, failed=self.failed,
            )  # fmt: skip

    def run(self) -> None:
        """Reset the state and train: R replicas x steps."""
        for array, start in zip(self.state, self.state0, strict=True):
            np.copyto(array, start)
        self.failed.fill(0)
        self._advance()
        if self.failed.any():
            raise RuntimeError(
                f"{self.model} N = {self.n} ({self.implementation}): "
                f"{int(self.failed.sum())} replica(s) diverged, the timing would be meaningless"
            )

    def flops(self) -> float:
        """Flops of one replica-step of the kernel (:func:`rbm_step_flops` without the
        check, :func:`teacher_student_step_flops`, :func:`dyson_step_flops`)."""
        if self.model == "rbm":
            # The NumPy baseline performs the Gibbs sweeps and the visible-basis gradient.
            sampler = "gibbs" if self.implementation == "numpy" else self.sampler
            return rbm_step_flops(self.n, self.n, BATCH, K, sampler)
        if self.model == "teacher_student":
            return teacher_student_step_flops(self.n, BATCH, self.sampler)
        return dyson_step_flops(self.n)


def side_by_side(cases: dict, repeats: int = TRACK_REPEATS) -> dict[str, float]:
    """Microseconds per replica-step of each case, measured in turn, interleaved, best of
    ``repeats`` each (BLAS on one thread; a first untimed call warms each up).

    Parameters
    ----------
    cases : dict of str to Case
    repeats : int

    Returns
    -------
    dict of str to float
    """
    best = dict.fromkeys(cases, float("inf"))
    with threadpool_limits(limits=1):
        for case in cases.values():
            case.run()
        for _ in range(repeats):
            for name, case in cases.items():
                best[name] = min(best[name], _timed(case.run))
    return {name: best[name] / (c.replicas * c.steps) * 1e6 for name, c in cases.items()}


# -- asv suites ------------------------------------------------------------------------------


class _LargeN:
    """Shared harness: ``track_us_per_replica_step`` of one implementation (the NumPy
    baselines' suites, ``benchmark_numpy_baselines.*LargeNNumpy``, are this alone)."""

    model = ""
    timeout = 900

    def setup(self, n, implementation):
        self.case = Case(self.model, n, implementation)

    def track_us_per_replica_step(self, n, implementation):
        return sig(side_by_side({"case": self.case})["case"])

    track_us_per_replica_step.unit = "us/replica-step"


class _LargeNKernel(_LargeN):
    """A kernel's harness: also ``track_speedup`` over NumPy and ``track_over_floor``."""

    def track_speedup(self, n, implementation):
        if implementation == "numpy":
            return float("nan")
        us = side_by_side({"kernel": self.case, "numpy": Case(self.model, n, "numpy")})
        return sig(us["numpy"] / us["kernel"])

    track_speedup.unit = "x (NumPy time / kernel time)"

    def track_over_floor(self, n, implementation):
        if implementation == "numpy":
            return float("nan")
        floor_us = self.case.flops() / (dgemm_gflops() * 1e9) * 1e6
        return sig(side_by_side({"case": self.case})["case"] / floor_us)

    track_over_floor.unit = "x (kernel time / flop floor)"


class RBMLargeN(_LargeNKernel):
    """RBM PCD step (each sampler the kernel has, and auto); NumPy: ``RBMLargeNNumpy``.
    Also ``track_over_blas_calls``: kernel time / the time of its step's BLAS calls alone
    (:class:`BLASCalls`; from ``BLAS_CALLS_MIN_N`` on, the Gibbs samplers)."""

    model = "rbm"
    params = (SIZES, RBM_SAMPLERS)
    param_names = ("n", "implementation")

    def track_over_blas_calls(self, n, implementation):
        calls = None if implementation == "numpy" else blas_calls(self.case)
        if calls is None:
            return float("nan")
        us = side_by_side({"kernel": self.case, "blas": calls, "overhead": calls.overhead()})
        return sig(us["kernel"] / (us["blas"] - us["overhead"]))

    track_over_blas_calls.unit = "x (kernel time / its BLAS calls' time)"


class TeacherStudentLargeN(_LargeNKernel):
    """Teacher-student step (Wishart sampler up to N = B, mean-noise beyond); NumPy:
    ``TeacherStudentLargeNNumpy``."""

    model = "teacher_student"
    params = (SIZES, ("kernel",))
    param_names = ("n", "implementation")


class DysonLargeN(_LargeNKernel):
    """Dyson step (eigenvalues of an N x N matrix); NumPy's batched eigvalsh:
    ``DysonLargeNNumpy``."""

    model = "dyson"
    params = (SIZES, ("kernel",))
    param_names = ("n", "implementation")


# -- script mode -----------------------------------------------------------------------------


def table_rows(models=("rbm", "teacher_student", "dyson"), sizes=SIZES, repeats=TRACK_REPEATS):
    """The measured rows of the cost table, each kernel beside NumPy in the same call.

    Parameters
    ----------
    models : sequence of str
    sizes : sequence of int
    repeats : int
        Timed runs of each case (best kept).

    Returns
    -------
    list of dict
        Keys: model, implementation, n, replicas, steps, kernel_us, numpy_us, ratio (NumPy
        / kernel), flops, floor_us, over_floor (kernel / floor), blas_us (the step's BLAS
        calls alone, :class:`BLASCalls`, timed in the same rounds; NaN where not
        measured) and over_blas (kernel / blas_us). The DGEMM throughput of the floors is
        the best of measurements before and after the rows (a loaded machine only ever
        lowers it).
    """
    dgemm_gflops()
    rows = []
    for model in models:
        names = RBM_SAMPLERS if model == "rbm" else ("kernel",)
        for n in sizes:
            cases = {name: Case(model, n, name) for name in (*names, "numpy")}
            calls = {name: blas_calls(cases[name]) for name in names}
            calls = {name: c for name, c in calls.items() if c is not None}
            for name, c in calls.items():  # timed in the same rounds as the kernel
                cases[f"blas {name}"], cases[f"overhead {name}"] = c, c.overhead()
            us = side_by_side(cases, repeats)
            for name in names:
                blas_us = (us[f"blas {name}"] - us[f"overhead {name}"] if name in calls
                           else float("nan"))  # fmt: skip
                rows.append({
                    "model": model, "implementation": name, "n": n,
                    "replicas": cases[name].replicas, "steps": cases[name].steps,
                    "kernel_us": us[name], "numpy_us": us["numpy"],
                    "ratio": us["numpy"] / us[name], "flops": cases[name].flops(),
                    "blas_us": blas_us, "over_blas": us[name] / blas_us,
                })  # fmt: skip
    gflops = dgemm_gflops(fresh=True)
    for row in rows:
        row["floor_us"] = row["flops"] / (gflops * 1e9) * 1e6
        row["over_floor"] = row["kernel_us"] / row["floor_us"]
    return rows


def blas_calls(case: Case) -> BLASCalls | None:
    """The BLAS calls alone of an RBM kernel case from ``BLAS_CALLS_MIN_N`` on (None for
    other cases, NumPy, smaller N and samplers :class:`BLASCalls` does not model).

    Parameters
    ----------
    case : Case

    Returns
    -------
    BLASCalls or None
    """
    if case.model != "rbm" or case.implementation == "numpy" or case.n < BLAS_CALLS_MIN_N:
        return None
    calls = BLASCalls(case.n, case.sampler, case.steps)
    return calls if calls.supported else None


def _us(value: float) -> str:
    """Microseconds: whole numbers from 100 on, three significant figures below; "-" for
    NaN (not measured)."""
    if value != value:
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def format_table(rows) -> str:
    """The rows of :func:`table_rows` as a reStructuredText simple table."""
    header = ("model", "N", "R x steps", "kernel us", "NumPy us", "ratio", "flops",
              "floor us", "kernel/floor", "BLAS us", "kernel/BLAS")  # fmt: skip
    lines = []
    for r in rows:
        label = r["model"].replace("_", "-")
        if r["model"] == "rbm":
            label += f", {r['implementation']}"
        over_blas = r.get("over_blas", float("nan"))
        lines.append((label, str(r["n"]), f"{r['replicas']} x {r['steps']}",
                      _us(r["kernel_us"]), _us(r["numpy_us"]), f"{r['ratio']:.2f}",
                      f"{r['flops']:.3g}", _us(r["floor_us"]), f"{r['over_floor']:.1f}",
                      _us(r.get("blas_us", float("nan"))),
                      "-" if over_blas != over_blas else f"{over_blas:.2f}"))  # fmt: skip
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    rule = "  ".join("=" * w for w in widths)
    out = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), rule]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.append(rule)
    return "\n".join(out)


def main(argv=None) -> None:
    """Print the cost table (``python benchmarks/benchmark_large_n.py``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--models", nargs="+", default=["rbm", "teacher_student", "dyson"])
    parser.add_argument("--repeats", type=int, default=TRACK_REPEATS)
    args = parser.parse_args(argv)
    rows = table_rows(args.models, args.sizes, args.repeats)
    print(f"{datetime.date.today()}, {platform.processor() or platform.machine()}, one core "
          f"(BLAS on one thread); DGEMM {dgemm_gflops():.1f} Gflop/s; microseconds per "
          f"replica-step, best of {args.repeats}, kernel and NumPy in the same run; ratio = "
          "NumPy / kernel")  # fmt: skip
    print(format_table(rows))


if __name__ == "__main__":
    main()
