"""Configurations: frozen dataclasses, validated on construction.

Every field is checked in ``__post_init__``; all violations are reported together in one
:class:`~dysonlearn.errors.ConfigError`, one line per problem naming the field, the value
and the rule.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np

from . import targets
from .errors import ConfigError
from .validation import Problems, check_choice, check_int, check_positive, is_int, is_real

INIT_SCHEMES = ("normal", "mp_geometric", "mp_hidden")
RBM_SAMPLERS = ("collapsed", "gibbs")
TARGET_MODES = ("analytic", "sampled")
CHAIN_INITS = ("ones", "zeros", "normal", "target")


def snapshot_steps(snapshots: int | tuple[int, ...], steps: int) -> np.ndarray:
    """Steps at which spectra are recorded, step 0 included, as int64 (S,).

    ``snapshots = n`` gives n evenly spaced steps after 0, the last at ``steps``
    (step_i = floor(i * steps / n)); a sequence gives those steps, with 0 prepended.
    """
    if is_int(snapshots):
        n = int(snapshots)
        return np.array([i * steps // n for i in range(n + 1)], dtype=np.int64)
    listed = [int(s) for s in snapshots]
    if not listed or listed[0] != 0:
        listed.insert(0, 0)
    return np.array(listed, dtype=np.int64)


def _check_snapshots(problems: Problems, snapshots: object, steps: object) -> None:
    steps_ok = is_int(steps) and steps >= 1
    if is_int(snapshots):
        if snapshots < 1 or (steps_ok and snapshots > steps):
            problems.add("snapshots", "must be an integer in [1, steps]", snapshots)
        return
    try:
        listed = list(snapshots)  # type: ignore[call-overload]
    except TypeError:
        problems.add("snapshots", "must be an integer or an increasing list of steps", snapshots)
        return
    if not listed or not all(is_int(s) for s in listed):
        problems.add("snapshots", "must be a non-empty list of integer steps", snapshots)
    elif any(b <= a for a, b in itertools.pairwise(listed)):
        problems.add("snapshots", "must be strictly increasing", listed)
    elif listed[0] < 0 or (steps_ok and listed[-1] > steps):
        problems.add("snapshots", "every step must lie in [0, steps]", listed)


def _as_tuple(value):
    """Lists (and nested lists) as tuples, so that frozen configurations stay hashable."""
    if isinstance(value, list | tuple | np.ndarray):
        return tuple(_as_tuple(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _as_list(value):
    if isinstance(value, tuple):
        return [_as_list(v) for v in value]
    return value


class _ModelConfig:
    """What every model configuration shares: snapshots, copies, dict round trips."""

    kind = ""

    def _normalise_sequences(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, str | bytes) and not is_int(value):
                try:
                    object.__setattr__(self, name, _as_tuple(value))
                except TypeError:
                    pass

    @property
    def snapshot_steps(self) -> np.ndarray:
        """Steps of the recorded spectra, step 0 included, int64 (S,)."""
        return snapshot_steps(self.snapshots, self.steps)

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON-able form; ``type(cfg).from_dict(cfg.to_dict()) == cfg``."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, targets.Target) else _as_list(value)
        return {"kind": self.kind, **out}

    @classmethod
    def from_dict(cls, data: dict):
        data = dict(data)
        data.pop("kind", None)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError([f"{key}: unknown field of {cls.__name__}" for key in unknown])
        if isinstance(data.get("target"), dict):
            data["target"] = targets.Target.from_dict(data["target"])
        return cls(**data)


@dataclass(frozen=True)
class RBMConfig(_ModelConfig):
    """Gaussian RBM trained by persistent contrastive divergence (SPEC section B).

    Defaults are the article's reference configuration (SPEC B.3) at lr = 0.1, B = 16.

    Attributes:
        n_visible, n_hidden: layer sizes N_v, N_h; W has shape (N_h, N_v).
        mu, sigma_h: visible mass and hidden width of the action [B.1].
        k: Gibbs sweeps (h -> phi, phi -> h) per PCD step [B.3 of the training].
        lr, batch_size: learning rate alpha and number B of persistent chains [B.6].
        steps: PCD steps (one step = one "epoch" of the reference code).
        snapshots: int n (n evenly spaced steps after step 0) or explicit steps.
        init: "normal" (W_ij ~ N(0, init_std^2)), "mp_geometric"
            (sigma_w^2 = init_scale^2 / sqrt(N_v N_h)) or "mp_hidden"
            (sigma_w^2 = init_scale^2 / N_h), the bounded schemes of [B.4].
        target: the kernel K_phi to learn; default ``targets.free_scalar(n_visible, 2.0)``.
        target_mode: "analytic" (C_target = K_phi^-1 exactly) or "sampled" (B fresh
            samples of the target per step).
        chain_init: persistent chains start at "ones" (the reference), "zeros", "normal"
            (N(0, 1/mu^2) entries) or "target" (samples of the target Gaussian).
        sampler: how the chains take their k Gibbs sweeps: "collapsed" (the k-sweep
            transition drawn at once from its exact Gaussian law, B N_v normals a step: the
            fast default) or "gibbs" (the explicit sweeps [B.2], [B.3], the reference).
            Same law; the arrays differ, the statistics agree (tested).
    """

    n_visible: int = 10
    n_hidden: int = 10
    mu: float = 3.0
    sigma_h: float = 1.0
    k: int = 3
    lr: float = 0.1
    batch_size: int = 16
    steps: int = 100_000
    snapshots: int | tuple[int, ...] = 5
    init_std: float = 0.1
    init: str = "normal"
    init_scale: float = 1.0
    target: targets.Target | None = None
    target_mode: str = "analytic"
    chain_init: str = "ones"
    sampler: str = "collapsed"

    kind = "rbm"

    def __post_init__(self) -> None:
        if self.target is None and is_int(self.n_visible) and self.n_visible >= 2:
            object.__setattr__(self, "target", targets.free_scalar(n=self.n_visible, m=2.0))
        self._normalise_sequences("snapshots")
        problems = Problems()
        check_int(problems, "n_visible", self.n_visible, 1)
        check_int(problems, "n_hidden", self.n_hidden, 1)
        mu_ok = check_positive(problems, "mu", self.mu)
        sigma_ok = check_positive(problems, "sigma_h", self.sigma_h)
        check_int(problems, "k", self.k, 1)
        check_positive(problems, "lr", self.lr)
        check_int(problems, "batch_size", self.batch_size, 1)
        check_int(problems, "steps", self.steps, 1)
        _check_snapshots(problems, self.snapshots, self.steps)
        check_choice(problems, "init", self.init, INIT_SCHEMES)
        check_choice(problems, "target_mode", self.target_mode, TARGET_MODES)
        check_choice(problems, "chain_init", self.chain_init, CHAIN_INITS)
        check_choice(problems, "sampler", self.sampler, RBM_SAMPLERS)
        if self.init == "normal":
            init_ok = check_positive(problems, "init_std", self.init_std)
        else:
            init_ok = check_positive(problems, "init_scale", self.init_scale)
        if not isinstance(self.target, targets.Target):
            problems.add("target", "must be a dysonlearn.targets.Target", self.target)
        elif is_int(self.n_visible) and self.target.n != self.n_visible:
            problems.add(
                "target", f"must have n_visible = {self.n_visible} modes", f"{self.target.n} modes"
            )
        sizes_ok = is_int(self.n_visible) and is_int(self.n_hidden)
        if init_ok and mu_ok and sigma_ok and sizes_ok and self.init in INIT_SCHEMES:
            edge = (
                self.sigma_h**2
                * self.init_variance
                * (math.sqrt(self.n_hidden) + math.sqrt(self.n_visible)) ** 2
            )
            if edge >= self.mu**2:
                problems.add(
                    "init_std" if self.init == "normal" else "init_scale",
                    "the Marchenko-Pastur edge sigma_h^2 sigma_w^2 (sqrt(N_h) + sqrt(N_v))^2 "
                    f"of the initial spectrum must be below mu^2 = {self.mu**2:g} [B.4], "
                    f"but it is {edge:.4g} for",
                    self.init_std if self.init == "normal" else self.init_scale,
                )
        problems.raise_if_any()
        if mu_ok and isinstance(self.target, targets.Target):
            kappa_max = self.target.spectrum[-1]
            if kappa_max > self.mu**2:
                warnings.warn(
                    f"target: its largest eigenvalue {kappa_max:.4g} exceeds mu^2 = "
                    f"{self.mu**2:g}; x* = mu^2 - kappa < 0 cannot be learnt (x >= 0)",
                    stacklevel=3,
                )

    @property
    def init_variance(self) -> float:
        """sigma_w^2 of the initial weights W_ij ~ N(0, sigma_w^2) [B.4]."""
        if self.init == "normal":
            return float(self.init_std) ** 2
        if self.init == "mp_geometric":
            return self.init_scale**2 / math.sqrt(self.n_visible * self.n_hidden)
        return self.init_scale**2 / self.n_hidden

    @property
    def n_modes(self) -> int:
        """Length N of each recorded spectrum (eigenvalues of sigma_h^2 W^T W): N_v."""
        return self.n_visible

    @property
    def stationary_levels(self) -> np.ndarray:
        """x* = mu^2 - kappa, ascending: where the learnt levels settle [B.4]."""
        return self.target.learnt_spectrum(self.mu)

    @property
    def level_widths(self) -> np.ndarray:
        """Predicted width of each level, sqrt(2 lr x* / B) [B.9] (derived at sigma_h = 1)."""
        return np.sqrt(2 * self.lr * np.clip(self.stationary_levels, 0, None) / self.batch_size)


def _check_training(problems: Problems, config) -> None:
    """lr, batch_size, steps and snapshots, which every model has."""
    check_positive(problems, "lr", config.lr)
    check_int(problems, "batch_size", config.batch_size, 1)
    check_int(problems, "steps", config.steps, 1)
    _check_snapshots(problems, config.snapshots, config.steps)


def _check_levels(problems: Problems, field: str, values, minimum: int = 2) -> np.ndarray | None:
    """A flat sequence of at least `minimum` finite numbers, as an array (None if invalid)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim != 1 or array.size < minimum:
        problems.add(field, f"must be a list of at least {minimum} numbers", values)
        return None
    if not np.all(np.isfinite(array)):
        problems.add(field, "every value must be finite", list(values))
        return None
    return array


TS_SAMPLERS = ("wishart", "explicit")
TS_PROTOCOLS = ("fresh", "reference")
TEACHER_BASES = ("random", "identity")


@dataclass(frozen=True)
class TeacherStudentConfig(_ModelConfig):
    """Teacher-student model with noise added by hand (SPEC section C, update [C.1]).

    Defaults are the article's reference settings: N = 2, kappa = (2, 2), A = 0.1,
    lr = 0.1, B = 16, W_ij ~ N(0, 0.1^2), 5000 steps.

    Attributes:
        teacher: the teacher's eigenvalues kappa (N >= 2; the teacher is O diag(kappa) O^T
            with O Haar-random per replica, or the identity with ``teacher_basis``), or a
            symmetric (N, N) matrix used as it is.
        noise: the amplitude A of the noise added by hand (>= 0).
        lr, batch_size, steps, snapshots: as for the RBM.
        init_std: the student starts symmetric with N(0, init_std^2) entries (all entries
            independent in the reference protocol, whose W is not symmetric).
        sampler: "wishart" draws C_B from its Wishart law and the batch-mean noise
            directly (exact in distribution, fast, needs B >= N); "explicit" draws B
            inputs and B noise matrices.
        protocol: "fresh" (new data every step, symmetrised data term, eigenvalues of W)
            or "reference" (the published code: a finite data set of ``dataset_size``
            points with per-point noise, visited epoch by epoch, the unsymmetrised data
            term (W_T - W) C_B, singular values of W).
        dataset_size: points in the reference data set (default 500 B).
        dataset_shared: one data set for all replicas (as published: it tilts a setting's
            ensemble by a few per cent) or one per replica.
        shuffle: visit the reference data set in a fresh random order every epoch.
    """

    teacher: tuple = (2.0, 2.0)
    noise: float = 0.1
    lr: float = 0.1
    batch_size: int = 16
    steps: int = 5000
    snapshots: int | tuple[int, ...] = 5
    init_std: float = 0.1
    teacher_basis: str = "random"
    sampler: str = "wishart"
    protocol: str = "fresh"
    dataset_size: int | None = None
    dataset_shared: bool = True
    shuffle: bool = True

    kind = "teacher_student"

    def __post_init__(self) -> None:
        self._normalise_sequences("teacher", "snapshots")
        problems = Problems()
        teacher = np.asarray(self.teacher, dtype=object)
        if teacher.ndim == 2:
            try:
                matrix = np.asarray(self.teacher, dtype=np.float64)
            except (TypeError, ValueError):
                matrix = None
            if (
                matrix is None
                or matrix.shape[0] != matrix.shape[1]
                or matrix.shape[0] < 2
                or not np.all(np.isfinite(matrix))
            ):
                problems.add("teacher", "a matrix must be square, N >= 2, finite", self.teacher)
            elif not np.allclose(matrix, matrix.T, rtol=0, atol=1e-12 * max(1, abs(matrix).max())):
                problems.add("teacher", "a matrix must be symmetric", self.teacher)
        else:
            _check_levels(problems, "teacher", self.teacher)
        if not is_real(self.noise) or not math.isfinite(self.noise) or self.noise < 0:
            problems.add("noise", "must be a finite number >= 0", self.noise)
        _check_training(problems, self)
        check_positive(problems, "init_std", self.init_std)
        check_choice(problems, "teacher_basis", self.teacher_basis, TEACHER_BASES)
        check_choice(problems, "sampler", self.sampler, TS_SAMPLERS)
        check_choice(problems, "protocol", self.protocol, TS_PROTOCOLS)
        for name in ("dataset_shared", "shuffle"):
            if not isinstance(getattr(self, name), bool):
                problems.add(name, "must be true or false", getattr(self, name))
        n = self.n_modes if not problems.messages else None
        batch_ok = is_int(self.batch_size) and self.batch_size >= 1
        if (
            self.dataset_size is not None
            and check_int(problems, "dataset_size", self.dataset_size, 1)
            and batch_ok
            and self.dataset_size < self.batch_size
        ):
            problems.add("dataset_size", "must hold at least one batch", self.dataset_size)
        wishart = self.protocol == "fresh" and self.sampler == "wishart"
        if n is not None and wishart and self.batch_size < n:
            problems.add(
                "sampler",
                f"'wishart' needs batch_size >= N = {n} (use 'explicit'), batch_size is",
                self.batch_size,
            )
        problems.raise_if_any()

    @property
    def n_modes(self) -> int:
        """N: the student is N x N."""
        return len(self.teacher)

    @property
    def teacher_is_matrix(self) -> bool:
        return np.asarray(self.teacher, dtype=object).ndim == 2

    @property
    def teacher_spectrum(self) -> np.ndarray:
        """The teacher's eigenvalues kappa, ascending."""
        if self.teacher_is_matrix:
            return np.linalg.eigvalsh(np.asarray(self.teacher, dtype=np.float64))
        return np.sort(np.asarray(self.teacher, dtype=np.float64))

    @property
    def stationary_levels(self) -> np.ndarray:
        """The teacher's spectrum, ascending (its singular values in the reference protocol)."""
        kappa = self.teacher_spectrum
        return np.sort(np.abs(kappa)) if self.protocol == "reference" else kappa

    @property
    def level_widths(self) -> np.ndarray:
        """sigma = sqrt(lr A^2 / B) / sqrt(1 - lr / 2) per level ([C.3] = sqrt(pi) sigma, [A.6])."""
        width = np.sqrt(self.lr * self.noise**2 / self.batch_size / (1 - self.lr / 2))
        return np.full(self.n_modes, width)

    @property
    def points_in_dataset(self) -> int:
        """Reference protocol: P, the size of the finite data set."""
        return self.dataset_size if self.dataset_size is not None else 500 * self.batch_size


DYSON_DRIFTS = ("linear", "rbm")


@dataclass(frozen=True)
class DysonConfig(_ModelConfig):
    """Eigenvalue-level Dyson Brownian motion: the discrete update [A.4], GOE-like noise.

    Attributes:
        kappa: one target per level. "linear" drift lr (kappa_i - x_i) (the
            teacher-student model, SPEC C); "rbm" drift lr 2 x (1/kappa_i - 1/(mu^2 - x))
            [B.10], levels settling at x* = mu^2 - kappa_i, reflected at 0 (x = xi^2) and
            diverged when one reaches mu^2.
        noise: g, with g_ii^2 = 2 g^2 and g_ij^2 = g^2 in [A.4] (the teacher-student A).
        lr, batch_size, steps, snapshots: as for the other models.
        drift: "linear" or "rbm"; mu: required for "rbm" (mu^2 > every kappa).
        init_std: the levels start as the eigenvalues of a symmetric matrix with
            N(0, init_std^2) entries ("linear") or of W^T W with W_ij ~ N(0, init_std^2)
            ("rbm"), drawn per replica; ``init_levels`` gives them explicitly instead.
    """

    kappa: tuple = (2.0, 2.0)
    noise: float = 0.1
    lr: float = 0.1
    batch_size: int = 16
    steps: int = 5000
    snapshots: int | tuple[int, ...] = 5
    drift: str = "linear"
    mu: float | None = None
    init_std: float = 0.1
    init_levels: tuple | None = None

    kind = "dyson"

    def __post_init__(self) -> None:
        self._normalise_sequences("kappa", "snapshots", "init_levels")
        problems = Problems()
        kappa = _check_levels(problems, "kappa", self.kappa)
        check_positive(problems, "noise", self.noise)
        _check_training(problems, self)
        check_positive(problems, "init_std", self.init_std)
        check_choice(problems, "drift", self.drift, DYSON_DRIFTS)
        if self.drift == "rbm":
            if self.mu is None:
                problems.add("mu", "is required for drift 'rbm'", self.mu)
            elif (
                check_positive(problems, "mu", self.mu)
                and kappa is not None
                and (np.any(kappa <= 0) or np.any(kappa >= self.mu**2))
            ):
                problems.add(
                    "kappa", f"must lie in (0, mu^2 = {self.mu**2:g}) for 'rbm'", list(self.kappa)
                )
        elif self.mu is not None:
            problems.add("mu", "is used only by drift 'rbm'; leave it unset", self.mu)
        if self.init_levels is not None and kappa is not None:
            levels = _check_levels(problems, "init_levels", self.init_levels, kappa.size)
            if levels is not None and levels.size != kappa.size:
                problems.add("init_levels", f"must have {kappa.size} values", list(levels))
        problems.raise_if_any()

    @property
    def n_modes(self) -> int:
        return len(self.kappa)

    @property
    def stationary_levels(self) -> np.ndarray:
        """Where the drift vanishes, ascending: kappa (linear) or mu^2 - kappa (rbm)."""
        kappa = np.asarray(self.kappa, dtype=np.float64)
        return np.sort(kappa if self.drift == "linear" else self.mu**2 - kappa)

    @property
    def level_widths(self) -> np.ndarray:
        """sigma_i^2 = lr g^2 / (B c_i (1 - lr c_i / 2)), c_i = V''(x*) [A.6]: 1 for the linear
        drift, 2 x* / kappa^2 for the RBM drift [B.8]."""
        if self.drift == "linear":
            curvature = np.ones(self.n_modes)
        else:
            curvature = 2 * self.stationary_levels / self.level_targets**2
        return np.sqrt(
            self.lr * self.noise**2 / (self.batch_size * curvature * (1 - self.lr * curvature / 2))
        )

    @property
    def level_targets(self) -> np.ndarray:
        """The kappa that drives each sorted level (what the kernel takes), (N,)."""
        levels = self.stationary_levels
        return levels if self.drift == "linear" else self.mu**2 - levels


__all__ = [
    "ConfigError",
    "DysonConfig",
    "RBMConfig",
    "TeacherStudentConfig",
    "snapshot_steps",
]
