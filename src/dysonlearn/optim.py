"""Optimisers: how a model's stochastic gradient becomes the update of its weights.

Each optimiser is a small frozen configuration, validated on construction, whose update
equations are those of ``torch.optim`` (so that an ensemble can be compared with a
PyTorch run of the same model). With ``g`` the model's full stochastic gradient at step
``t`` (1-based) and ``lr`` the model's learning rate:

* :class:`SGD`: ``W <- W - lr g``.
* :class:`Momentum` (heavy ball): ``v <- beta v + g``, then ``W <- W - lr v``; with
  ``nesterov=True``, ``W <- W - lr (g + beta v)``. ``v`` starts at 0, so the first step is
  SGD's (``torch.optim.SGD`` sets ``v = g`` at its first step: the same value).
* :class:`Adam`: ``m <- beta1 m + (1 - beta1) g``, ``s <- beta2 s + (1 - beta2) g^2``, then
  ``W <- W - lr (m / (1 - beta1^t)) / (sqrt(s / (1 - beta2^t)) + eps)``: bias-corrected
  moments, ``eps`` added after the square root (the kernels fold both corrections into
  the step and ``eps``: the same update, up to rounding).
* :class:`AdamW`: ``W <- W (1 - lr weight_decay)``, then the Adam step (decoupled weight
  decay).

The learning rate is not part of the optimiser: it stays the model's ``lr`` field, so that
a scan of ``lr`` works the same for every optimiser.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from typing import ClassVar

from .errors import ConfigError, Problem
from .validation import Boolean, FieldRule, Fraction, Problems, Real, check_table

__all__ = ["SGD", "Momentum", "Adam", "AdamW", "OPTIMIZERS", "optimizer_from_dict"]

# Theory (docs/theory/optimizers.rst): on a quadratic drift of curvature c with additive
# gradient noise, SGD, heavy-ball momentum and Nesterov's momentum are linear iterations
# whose stationary variance is known; Adam's preconditioner depends on the noise itself,
# and no closed form is known.


@dataclass(frozen=True)
class _Optimizer:
    """What every optimiser shares: validation from its rule table, a plain-dict form."""

    kind: ClassVar[str] = ""
    RULES: ClassVar[tuple[FieldRule, ...]] = ()
    # Doubles of per-replica state per parameter (the kernels' optimiser state arrays).
    STATE_PER_PARAMETER: ClassVar[int] = 0

    def __post_init__(self) -> None:
        problems = Problems()
        check_table(problems, self, self.RULES)
        problems.raise_if_any()

    def state_size(self, parameters: int) -> int:
        """Doubles of optimiser state one replica keeps for ``parameters`` weights.

        Parameters
        ----------
        parameters : int
            The number of trained weights of one replica.

        Returns
        -------
        int
            0 for SGD, ``parameters`` for momentum (v), ``2 parameters`` for Adam and AdamW
            (m and s).
        """
        return self.STATE_PER_PARAMETER * int(parameters)

    has_theory: ClassVar[bool] = True
    # Whether the update commutes with rotating the weights, W -> W U for orthogonal U (the
    # state rotating with them): true of linear rules (SGD, momentum), false of Adam's
    # per-weight scaling. The RBM's "gibbs-eigen" sampler trains in a rotated basis and
    # needs it.
    rotation_equivariant: ClassVar[bool] = True

    def effective_lr(self, lr: float) -> float:
        """The learning rate of the SGD whose small-lr stationary fluctuations these are.

        Parameters
        ----------
        lr : float
            The model's learning rate.

        Returns
        -------
        float
            lr for SGD, lr / (1 - beta) for momentum (:eq:`effective-lr`, Nesterov's too),
            NaN for Adam and AdamW (no closed form).
        """
        return self._effective_lr(float(lr))

    def _effective_lr(self, lr: float) -> float:
        return lr

    def stability_limit(self, curvature: float) -> float:
        """The largest lr at which the linearised iteration on a drift of curvature c still
        contracts (exclusive bound).

        Parameters
        ----------
        curvature : float
            c > 0, the curvature of the drift at the stationary point.

        Returns
        -------
        float
            2 / c (SGD), 2 (1 + beta) / c (heavy ball), 2 (1 + beta) / ((1 + 2 beta) c)
            (Nesterov); inf for Adam and AdamW (no such bound known).
        """
        return self._stability_limit(float(curvature))

    def _stability_limit(self, curvature: float) -> float:
        return 2.0 / curvature

    def variance_factor(self, lr: float, curvature: float) -> float:
        """Stationary variance of the linearised iteration over SGD's at lr -> 0.

        With the drift ``g = c (x - x*) + xi``, SGD's stationary variance is
        lr Var(xi) / (2 c) at small lr; this factor multiplies it.

        Parameters
        ----------
        lr : float
            The learning rate.
        curvature : float
            c > 0.

        Returns
        -------
        float
            1 / (1 - lr c / 2) (SGD); 1 / ((1 - beta) (1 - lr c / (2 (1 + beta)))) (heavy
            ball, exact); Nesterov's from the iteration's Lyapunov equation; inf beyond the
            stability limit; NaN for Adam and AdamW.
        """
        return self._variance_factor(float(lr), float(curvature))

    def _variance_factor(self, lr: float, curvature: float) -> float:
        x = lr * curvature
        return 1.0 / (1.0 - x / 2.0) if x < 2.0 else math.inf

    def free_diffusion(self, lr: float, steps):
        """Var(x_t - x_0) of a coordinate on which no force acts (curvature 0), driven by
        gradient noise of unit variance, after t steps (:eq:`free-diffusion`).

        Each step's noise xi_u reaches x_t with a weight c_m, m = t - u + 1 the steps it
        has had to act, and Var(x_t - x_0) = lr^2 sum_{m=1}^t c_m^2.

        Parameters
        ----------
        lr : float
            The learning rate.
        steps : int or array_like of int
            t >= 0.

        Returns
        -------
        numpy.ndarray
            lr^2 t (SGD: c_m = 1); with heavy-ball momentum c_m = (1 - beta^m) / (1 - beta),
            with Nesterov's (1 - beta^(m+1)) / (1 - beta), so lr_eff^2 t at large t
            (:eq:`effective-lr`); NaN for Adam and AdamW.
        """
        import numpy as np

        return self._free_diffusion(float(lr), np.asarray(steps, dtype=np.float64))

    def _free_diffusion(self, lr: float, t):
        return lr * lr * t

    def to_dict(self) -> dict:
        """Plain JSON-able form, ``{"kind": ..., field: value, ...}``.

        Returns
        -------
        dict
            The form :func:`optimizer_from_dict` reads back.
        """
        return {"kind": self.kind, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class SGD(_Optimizer):
    """Plain stochastic gradient descent, ``W <- W - lr g`` (the default of every model).

    Examples
    --------
    >>> import dysonlearn as dl
    >>> dl.Momentum(beta=0.5).to_dict()
    {'kind': 'momentum', 'beta': 0.5, 'nesterov': False}
    """

    kind: ClassVar[str] = "sgd"


@dataclass(frozen=True)
class Momentum(_Optimizer):
    """Heavy-ball momentum: ``v <- beta v + g``, ``W <- W - lr v`` (``torch.optim.SGD`` with
    ``momentum=beta``, ``dampening=0``).

    Parameters
    ----------
    beta : float
        The momentum, in [0, 1). At small lr the stationary fluctuations are those of SGD
        at the effective rate lr / (1 - beta).
    nesterov : bool
        Nesterov's variant: ``W <- W - lr (g + beta v)``.

    Raises
    ------
    ConfigError
        If beta is not in [0, 1) or nesterov is not a bool.
    """

    kind: ClassVar[str] = "momentum"
    RULES: ClassVar[tuple[FieldRule, ...]] = (
        FieldRule("beta", Fraction()),
        FieldRule("nesterov", Boolean()),
    )
    STATE_PER_PARAMETER: ClassVar[int] = 1

    beta: float = 0.9
    nesterov: bool = False

    def _effective_lr(self, lr: float) -> float:
        return lr / (1.0 - self.beta)

    def _free_diffusion(self, lr: float, t):
        # sum_{m=1}^t (1 - beta^(m+a))^2 with a = 0 (heavy ball: the velocity sums the noise,
        # v_m = sum beta^j xi) or 1 (Nesterov's step adds beta v to the fresh gradient):
        # t - 2 b (1 - beta^t) / (1 - beta) + b^2 (1 - beta^(2t)) / (1 - beta^2), b = beta^(1+a).
        beta = self.beta
        b = beta ** (2 if self.nesterov else 1)
        total = (t - 2.0 * b * (1.0 - beta**t) / (1.0 - beta)
                 + b * b * (1.0 - beta ** (2.0 * t)) / (1.0 - beta * beta))  # fmt: skip
        return (lr / (1.0 - beta)) ** 2 * total

    def _stability_limit(self, curvature: float) -> float:
        if self.nesterov:
            return 2.0 * (1.0 + self.beta) / ((1.0 + 2.0 * self.beta) * curvature)
        return 2.0 * (1.0 + self.beta) / curvature

    def _variance_factor(self, lr: float, curvature: float) -> float:
        beta, x = self.beta, lr * curvature
        if not x < self.stability_limit(curvature) * curvature:
            return math.inf
        if not self.nesterov:
            return 1.0 / ((1.0 - beta) * (1.0 - x / (2.0 * (1.0 + beta))))
        return _linear_variance(lr, curvature, beta, True) / (lr / (2.0 * curvature))


@dataclass(frozen=True)
class Adam(_Optimizer):
    """Adam with bias correction, ``eps`` added after the square root (``torch.optim.Adam``).

    Parameters
    ----------
    beta1 : float
        Decay of the first-moment estimate m, in [0, 1).
    beta2 : float
        Decay of the second-moment estimate s, in [0, 1).
    eps : float
        Added to sqrt of the bias-corrected s, > 0.

    Raises
    ------
    ConfigError
        If a beta is not in [0, 1) or eps is not > 0.
    """

    kind: ClassVar[str] = "adam"
    rotation_equivariant: ClassVar[bool] = False
    has_theory: ClassVar[bool] = False
    RULES: ClassVar[tuple[FieldRule, ...]] = (
        FieldRule("beta1", Fraction()),
        FieldRule("beta2", Fraction()),
        FieldRule("eps", Real()),
    )
    STATE_PER_PARAMETER: ClassVar[int] = 2

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def _effective_lr(self, lr: float) -> float:
        return math.nan

    def _stability_limit(self, curvature: float) -> float:
        return math.inf

    def _variance_factor(self, lr: float, curvature: float) -> float:
        return math.nan

    def _free_diffusion(self, lr: float, t):
        return t * math.nan


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay: ``W <- W (1 - lr weight_decay)`` before the Adam
    step (``torch.optim.AdamW``).

    Parameters
    ----------
    beta1 : float
        Decay of the first-moment estimate m, in [0, 1).
    beta2 : float
        Decay of the second-moment estimate s, in [0, 1).
    eps : float
        Added to sqrt of the bias-corrected s, > 0.
    weight_decay : float
        The decoupled decay rate, >= 0.

    Raises
    ------
    ConfigError
        If a beta is not in [0, 1), eps is not > 0 or weight_decay is negative.
    """

    # Adam's fields, state and theory (none), plus the decay.
    kind: ClassVar[str] = "adamw"
    RULES: ClassVar[tuple[FieldRule, ...]] = (
        *Adam.RULES,
        FieldRule("weight_decay", Real(0.0, closed=True)),
    )

    weight_decay: float = 0.01


def _linear_variance(lr: float, curvature: float, beta: float, nesterov: bool) -> float:
    """Stationary Var(x - x*) of momentum on ``g = c (x - x*) + xi``, Var(xi) = 1.

    The state (x, v) moves as ``v' = beta v + g`` and ``x' = x - lr v'`` (heavy ball) or
    ``x' = x - lr (g + beta v')`` (Nesterov): a linear map M plus the noise b xi, whose
    stationary covariance P solves P = M P M^T + b b^T (here by its 4 x 4 vectorised form).
    """
    import numpy as np

    c = curvature
    if nesterov:
        m = np.array([[1.0 - lr * c * (1.0 + beta), -lr * beta * beta], [c, beta]])
        b = np.array([-lr * (1.0 + beta), 1.0])
    else:
        m = np.array([[1.0 - lr * c, -lr * beta], [c, beta]])
        b = np.array([-lr, 1.0])
    cov = np.linalg.solve(np.eye(4) - np.kron(m, m), np.outer(b, b).ravel()).reshape(2, 2)
    return float(cov[0, 0])


OPTIMIZERS: dict[str, type] = {cls.kind: cls for cls in (SGD, Momentum, Adam, AdamW)}
"""The optimisers by their TOML ``kind``."""


def optimizer_from_dict(data) -> _Optimizer:
    """An optimiser from its plain-dict form (``[optimizer]`` of an experiment file).

    Parameters
    ----------
    data : dict or optimiser
        ``{"kind": "sgd" | "momentum" | "adam" | "adamw", field: value, ...}``; an
        optimiser is returned as it is.

    Returns
    -------
    SGD, Momentum, Adam or AdamW

    Raises
    ------
    ConfigError
        For an unknown kind, unknown fields or invalid values (named ``optimizer.<field>``).
    """
    if isinstance(data, _Optimizer):
        return data
    if not isinstance(data, dict):
        raise ConfigError(Problem("optimizer", "must be an optimiser (SGD, Momentum, Adam, "
                                  "AdamW) or a table with a kind", data))  # fmt: skip
    fields = dict(data)
    kind = fields.pop("kind", "sgd")
    if not isinstance(kind, str) or kind not in OPTIMIZERS:
        raise ConfigError(Problem("optimizer.kind",
                                  f"must be one of {', '.join(map(repr, OPTIMIZERS))}", kind))
    cls = OPTIMIZERS[kind]
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(map(str, fields)) - set(names))
    if unknown:
        problems = []
        for key in unknown:
            owners = [k for k, c in OPTIMIZERS.items()
                      if key in {f.name for f in dataclasses.fields(c)}]  # fmt: skip
            if owners:
                hint = f"a field of {' and '.join(map(repr, owners))}, not of {kind!r}"
            else:
                close = difflib.get_close_matches(key, names, n=1)
                hint = "unknown field" + (f" (did you mean {close[0]!r}?)" if close else "")
            allowed = ", ".join(names) if names else "no fields"
            problems.append(Problem(f"optimizer.{key}",
                                    f"{hint}; optimizer kind {kind!r} takes {allowed}"))
        raise ConfigError(problems)
    try:
        return cls(**fields)
    except ConfigError as exc:
        raise ConfigError([p.within("optimizer") for p in exc.details]) from None
