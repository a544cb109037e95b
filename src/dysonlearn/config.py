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
from .validation import Problems, check_choice, check_int, check_positive, is_int

INIT_SCHEMES = ("normal", "mp_geometric", "mp_hidden")
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


@dataclass(frozen=True)
class RBMConfig:
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

    kind = "rbm"

    def __post_init__(self) -> None:
        if self.target is None and is_int(self.n_visible) and self.n_visible >= 2:
            object.__setattr__(self, "target", targets.free_scalar(n=self.n_visible, m=2.0))
        if not is_int(self.snapshots) and not isinstance(self.snapshots, str | bytes):
            try:
                object.__setattr__(self, "snapshots", tuple(self.snapshots))
            except TypeError:
                pass
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
    def snapshot_steps(self) -> np.ndarray:
        """Steps of the recorded spectra, step 0 included, int64 (S,)."""
        return snapshot_steps(self.snapshots, self.steps)

    @property
    def n_modes(self) -> int:
        """Length N of each recorded spectrum (eigenvalues of sigma_h^2 W^T W): N_v."""
        return self.n_visible

    def replace(self, **changes) -> RBMConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON-able form; ``RBMConfig.from_dict(cfg.to_dict()) == cfg``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["target"] = self.target.to_dict()
        if not is_int(self.snapshots):
            out["snapshots"] = list(self.snapshots)
        return {"kind": self.kind, **out}

    @classmethod
    def from_dict(cls, data: dict) -> RBMConfig:
        data = dict(data)
        data.pop("kind", None)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError([f"{key}: unknown field of RBMConfig" for key in unknown])
        if isinstance(data.get("target"), dict):
            data["target"] = targets.Target.from_dict(data["target"])
        return cls(**data)


__all__ = ["ConfigError", "RBMConfig", "snapshot_steps"]
