"""The teacher-student model as an ensemble model (:doc:`/theory/teacher_student`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .. import kernels
from ..config import TeacherStudentConfig, finite_lr_factor, stationary_variance
from .base import Labels, Model

# Reference protocol: a data set shared by all replicas is drawn from this branch of the
# root seed (replicas use SeedSequence(seed).spawn(R)[i], spawn keys (i,)); two-element
# keys can never collide with theirs.
SHARED_DATA_KEY = (0xDA7A, 0)

# Escape bound: a student with an entry |W_ij| beyond ESCAPE_FACTOR times the configuration's
# scale (see escape_bound) has diverged. Why 1e6:
# - Never reached where :eq:`ts-update` describes learning. The start has |W_ij| < 10 init_std (a
#   N(0, init_std^2) entry beyond 10 sigma has probability 1e-23). The mean update contracts
#   W - W_T by 1 - lr (|1 - lr| < 1 for 0 < lr < 2), so the relaxation from there stays
#   within a few times max(|W_0|, |W_T|) (|W_T|_ij <= max |kappa|), and the stationary
#   student fluctuates around W_T with the width of :eq:`level-width`. 1e6 times the largest of
#   these is 1e6 standard deviations out: even by Chebyshev alone (any law with that variance) a
#   replica-step lands there with probability <= 1e-12, i.e. < 1e-3 over 1e4 replicas of
#   1e5 steps; with the near-Gaussian fluctuations of a stable setting, never.
# - Reached quickly where the dynamics expand: at lr >= 2, or when lr lambda_max(C_B) > 2
#   happens often enough (small B) that the product of the factors (1 - lr C_B) grows, |W|
#   grows like exp(lambda t) and crosses 1e6 times its scale about 14 / lambda steps after
#   it starts to grow, instead of running on to 1e50-1e300 and then into inf, and the float
#   arithmetic of every step stays far from overflow.
# - In between (contracting on average but with strong multiplicative noise, e.g. B = 1 and
#   lr near 1) the stationary law has a power-law tail and infinite variance; a replica out
#   at 1e6 times its scale there is reported as diverged, which is what it is for a user.
ESCAPE_FACTOR = 1e6


@dataclass
class TeacherStudentState:
    """Students (R, N, N), teachers (R, N, N) and, in the reference protocol, the data set
    ``(inputs (D, P, N), point_noise (D, P, N (N + 1) / 2), dataset_index (R,),
    order (R, P))``."""

    weights: np.ndarray
    teachers: np.ndarray
    dataset: tuple | None = None
    opt_state: np.ndarray | None = None  # the optimiser's (R, size); None for SGD


def haar_orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def draw_dataset(rng: np.random.Generator, points: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """P inputs x ~ N(0, 1_N) and P packed symmetric noise matrices (off-diagonal N(0, 1),
    diagonal N(0, 2)), the per-point data of the reference protocol :eq:`ts-update`."""
    inputs = rng.standard_normal((points, n))
    packed = rng.standard_normal((points, n * (n + 1) // 2))
    rows, cols = np.triu_indices(n)
    packed[:, rows == cols] *= np.sqrt(2.0)
    return inputs, packed


def initial_state(
    config: TeacherStudentConfig, generators: list, shared: np.random.Generator | None = None
) -> TeacherStudentState:
    """Per replica, from its own generator: the teacher's basis, the student, its data."""
    n, n_rep = config.n_modes, len(generators)
    reference = config.protocol == "reference"
    weights = np.empty((n_rep, n, n))
    teachers = np.empty((n_rep, n, n))
    kappa = np.asarray(config.teacher, dtype=np.float64)
    for r, rng in enumerate(generators):
        if config.teacher_is_matrix:
            teachers[r] = kappa
        elif config.teacher_basis == "random":
            basis = haar_orthogonal(rng, n)
            teachers[r] = (basis * kappa) @ basis.T
        else:
            teachers[r] = np.diag(kappa)
        draw = rng.normal(0.0, config.init_std, (n, n))
        weights[r] = draw if reference else np.triu(draw) + np.triu(draw, 1).T
    dataset = None
    if reference:
        points = config.points_in_dataset
        if config.dataset_shared:
            if shared is None:
                raise ValueError("a shared reference data set needs the shared generator")
            inputs, noise = draw_dataset(shared, points, n)
            inputs, noise = inputs[None], noise[None]
            index = np.zeros(n_rep, np.int64)
        else:
            drawn = [draw_dataset(rng, points, n) for rng in generators]
            inputs = np.stack([d[0] for d in drawn])
            noise = np.stack([d[1] for d in drawn])
            index = np.arange(n_rep, dtype=np.int64)
        order = np.tile(np.arange(points, dtype=np.int32), (n_rep, 1))
        dataset = (inputs, noise, index, order)
    return TeacherStudentState(weights, teachers, dataset, _optimizer_state(config, weights))


def _optimizer_state(config, weights: np.ndarray) -> np.ndarray | None:
    """The optimiser's state at step 0 (zeros; None for SGD, which keeps none)."""
    if config.optimizer.state_size(1) == 0:
        return None
    return kernels.optimizer_state(config.optimizer, weights.shape)


def advance(
    config: TeacherStudentConfig, state: TeacherStudentState, generators: list, start: int,
    stop: int, snapshot_steps: np.ndarray, eigenvalues: np.ndarray, failed: np.ndarray,
    fail_step: np.ndarray, normal_method: str = "ziggurat",
) -> None:  # fmt: skip
    """Train from ``start`` to ``stop`` in place; fill the snapshots in that span.

    A replica whose student leaves the finite numbers or :func:`escape_bound` is flagged
    in ``failed`` / ``fail_step`` at that step and skipped from then on.
    """
    kernels.teacher_student(
        state.weights, state.teachers, generators, lr=config.lr, noise=config.noise,
        batch_size=config.batch_size, start=start, stop=stop, sampler=config.sampler,
        snapshot_steps=snapshot_steps, failed=failed, fail_step=fail_step,
        normal_method=normal_method, dataset=state.dataset, shuffle=config.shuffle,
        eigenvalues=eigenvalues, bound=escape_bound(config), optimizer=config.optimizer,
        opt_state=state.opt_state,
    )  # fmt: skip


def escape_bound(config: TeacherStudentConfig) -> float | None:
    """The magnitude of a student's entry beyond which the replica has diverged.

    ``ESCAPE_FACTOR`` (1e6, the module's comment says why) times the configuration's scale
    ``max(1, max |kappa|, init_std, A, sigma)``, where kappa are the teacher's eigenvalues
    (they bound the teacher's entries), A is the noise and sigma the stationary width
    :eq:`level-width` (left out at lr >= 2, where no stationary state exists).

    Parameters
    ----------
    config : TeacherStudentConfig
        The configuration being trained.

    Returns
    -------
    float or None
        The bound passed to :func:`dysonlearn.kernels.teacher_student`; None when it is not
        a finite number (absurd scales), so that only non-finite students are flagged.
    """
    scales = [1.0, float(np.max(np.abs(config.teacher_spectrum))), float(config.init_std),
              float(config.noise)]  # fmt: skip
    if config.lr < 2:
        width = float(np.max(config.level_widths))
        if math.isfinite(width):  # not under Adam (no closed form) or unstable momentum
            scales.append(width)
    bound = ESCAPE_FACTOR * max(scales)
    return bound if math.isfinite(bound) else None


def final_weights(state: TeacherStudentState) -> np.ndarray:
    """The students W (R, N, N) of the trained replicas."""
    return state.weights


# The cost model of cost_per_replica_step sizes blocks and progress chunks: rough estimates,
# not measurements (``dysonlearn run --dry-run`` times a short run on the machine at hand).
# The coefficients were set with the teacher-student kernel (commit 85626ed) from timings on
# the development machine (one core); no benchmark records them, and asv's
# benchmark_teacher_student.py is where to re-derive them. Seconds:
SECONDS_PER_STEP = 5e-8  # the fixed cost of one step (call, bookkeeping, snapshot check)
SECONDS_PER_REFERENCE_ENTRY = 2e-8  # per b n (n + 1) of a reference-protocol step
SECONDS_PER_NORMAL = 3.5e-9  # per normal of the explicit sampler's b n (n + 3) / 2
SECONDS_PER_EXPLICIT_PRODUCT = 2e-9  # per b n^2 of the explicit sampler's products
SECONDS_PER_WISHART_ENTRY = 1.5e-8  # per n^2 of the Wishart (Bartlett) sampler
SECONDS_PER_WISHART_CUBE = 4e-9  # per n^3 of its factorisation and products


def cost_per_replica_step(config: TeacherStudentConfig) -> float:
    """Rough seconds per replica-step, for sizing blocks and progress chunks."""
    n, b = config.n_modes, config.batch_size
    if config.protocol == "reference":
        return SECONDS_PER_REFERENCE_ENTRY * b * n * (n + 1) + SECONDS_PER_STEP
    if config.sampler == "explicit":
        return (SECONDS_PER_NORMAL * b * n * (n + 3) / 2
                + SECONDS_PER_EXPLICIT_PRODUCT * b * n * n + SECONDS_PER_STEP)  # fmt: skip
    if config.sampler == "mean-noise":
        # B n + n (n + 1) / 2 normals; products of at most 2 B n^2 multiply-adds.
        return (SECONDS_PER_NORMAL * (b * n + n * (n + 1) / 2)
                + SECONDS_PER_EXPLICIT_PRODUCT * b * n * n
                + SECONDS_PER_WISHART_CUBE * min(n**3, 2 * b * n * n) + SECONDS_PER_STEP)  # fmt: skip
    return SECONDS_PER_WISHART_ENTRY * n * n + SECONDS_PER_WISHART_CUBE * n**3 + SECONDS_PER_STEP


class TeacherStudent(Model):
    """The teacher-student model with noise added by hand (:doc:`/theory/teacher_student`): spectra
    of the student.

    Its levels settle at the teacher's eigenvalues kappa with the width
    sigma = sqrt(lr A^2 / B) / sqrt(1 - lr / 2) :eq:`finite-lr-variance`,
    :eq:`ts-degenerate-spacing`: q = A^2, slope sqrt(pi).
    """

    kind = TeacherStudentConfig.kind
    config_class = TeacherStudentConfig
    name = "teacher-student"

    # The module's functions are the model's members (documented on Model).
    initial_state = staticmethod(initial_state)
    advance = staticmethod(advance)
    final_state = staticmethod(final_weights)
    cost_per_replica_step = staticmethod(cost_per_replica_step)

    def predicted_mean_spacing(self, lr, batch_size, noise):
        """<S> = sqrt(pi) sigma = sqrt(pi lr A^2 / (B (1 - lr / 2))) :eq:`finite-lr-variance`,
        :eq:`ts-degenerate-spacing`, :eq:`spacing-pdf`."""
        return float(np.sqrt(stationary_variance(lr, batch_size, noise, scale=np.pi)))

    def finite_lr_factors(self, config):
        """f = 1 / sqrt(1 - alpha / 2) for every level, the same for all of them (NaN at
        alpha >= 2, where no stationary state exists). Under momentum the exact variance of
        the heavy-ball (Nesterov) iteration over its small-lr limit :eq:`effective-lr`
        (inf beyond its stability bound); NaN under Adam (no closed form)."""
        optimizer = config.optimizer
        if optimizer.kind != "sgd":
            with np.errstate(all="ignore"):
                factor = np.sqrt(optimizer.variance_factor(config.lr, 1.0)
                                 * config.lr / optimizer.effective_lr(config.lr))  # fmt: skip
            return np.full(config.n_modes, factor)
        if config.lr >= 2:
            return np.full(config.n_modes, np.nan)
        return np.full(config.n_modes, finite_lr_factor(config.lr))

    labels = Labels(
        level_symbol=r"\kappa",
        level_label=r"teacher $\kappa$",
        eigenvalue_label=r"eigenvalue $x$ of the student $W$",
        eigenvalue_text="eigenvalues of the symmetric student W, ascending",
        kappa_text="eigenvalues of the teacher",
        state_text="final student W of each replica",
        state_axes=("replica", "row", "column"),
    )

    def labels_for(self, config):
        """The reference protocol records singular values (its update is not symmetrised)."""
        if config.protocol == "reference":
            return replace(self.labels, eigenvalue_label=r"singular value $x$ of $W$",
                           eigenvalue_text="singular values of the student W, ascending",
                           level_text="the stationary level of x_i: x*_i = |kappa_i|")  # fmt: skip
        return self.labels

    def scan_figures(self, results, snapshots=1):
        """<S> of the teacher's degenerate pairs against :eq:`ts-degenerate-spacing` (article Fig.
        9)."""
        from .. import plots

        return [("teacher_student_scaling", plots.teacher_student_scaling(results, snapshots))]


MODEL = TeacherStudent()

