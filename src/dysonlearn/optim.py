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
  moments, ``eps`` added after the square root.
* :class:`AdamW`: ``W <- W (1 - lr weight_decay)``, then the Adam step (decoupled weight
  decay).

The learning rate is not part of the optimiser: it stays the model's ``lr`` field, so that
a scan of ``lr`` works the same for every optimiser.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from .errors import ConfigError
from .validation import Boolean, FieldRule, Fraction, Problems, Real, check_table

__all__ = ["SGD", "Momentum", "Adam", "AdamW", "OPTIMIZERS", "optimizer_from_dict"]


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
    >>> from dysonlearn.optim import Momentum
    >>> Momentum(beta=0.5).to_dict()
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
    RULES: ClassVar[tuple[FieldRule, ...]] = (
        FieldRule("beta1", Fraction()),
        FieldRule("beta2", Fraction()),
        FieldRule("eps", Real()),
    )
    STATE_PER_PARAMETER: ClassVar[int] = 2

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8


@dataclass(frozen=True)
class AdamW(_Optimizer):
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

    kind: ClassVar[str] = "adamw"
    RULES: ClassVar[tuple[FieldRule, ...]] = (
        *Adam.RULES,
        FieldRule("weight_decay", Real(0.0, closed=True)),
    )
    STATE_PER_PARAMETER: ClassVar[int] = 2

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.01


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
        raise ConfigError(f"optimizer: must be a table with a kind, got {data!r}")
    fields = dict(data)
    kind = fields.pop("kind", "sgd")
    if kind not in OPTIMIZERS:
        raise ConfigError(f"optimizer.kind: must be one of {', '.join(map(repr, OPTIMIZERS))}, "
                          f"got {kind!r}")  # fmt: skip
    cls = OPTIMIZERS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise ConfigError([f"optimizer.{key}: unknown field of the {kind} optimizer"
                           for key in unknown])  # fmt: skip
    try:
        return cls(**fields)
    except ConfigError as exc:
        raise ConfigError([f"optimizer.{message}" for message in exc.problems]) from None
