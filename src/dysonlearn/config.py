"""Configurations: frozen dataclasses, validated on construction.

Every field is checked in ``__post_init__``; all violations are reported together in one
:class:`~dysonlearn.errors.ConfigError`, one line per problem naming the field, the value
and the rule.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import targets
from .errors import ConfigError, Problem
from .optim import SGD, Momentum, _Optimizer, optimizer_from_dict
from .validation import (
    INT64_MAX,
    INT_MAX,
    STEPS_MAX,
    Boolean,
    Choice,
    FieldRule,
    Integer,
    Problems,
    Real,
    Rule,
    check_int,
    check_rule,
    check_table,
    format_bytes,
    is_int,
    is_real,
    memory_problem,
    real_array,
)

INIT_SCHEMES = ("normal", "mp_geometric", "mp_hidden")
RBM_SAMPLERS = ("auto", "collapsed", "gibbs", "gibbs-eigen")

# The cost model behind sampler = "auto" (rbm_sampler_cost): one standard normal costs about
# as much as this many flops of the step's BLAS products. Measured on one core of the
# development machine: a normal (ziggurat, SFC64) 3.5-7 ns, the products of a step at
# N = 30-300 25-40 GFlop/s; with 150 the model's crossover between the samplers (N = 44 at
# B = 16, k = 3) lies where the measured one does (between N = 40 and 50), see
# :doc:`/guide/performance`.
NORMAL_FLOPS = 150.0


def rbm_sampler_cost(n_visible: int, n_hidden: int, batch_size: int, k: int,
                     sampler: str) -> float:
    """The cost of the part of one PCD step that depends on the sampler, in flops.

    The model of ``sampler="auto"`` (:doc:`/guide/performance`): the flops of the BLAS
    products that differ between the samplers plus ``NORMAL_FLOPS`` per standard normal
    drawn.

    - "collapsed": the Gram matrix X, 2k - 2 products of N_v x N_v matrices (the powers of
      A and Sigma_k), the Cholesky factor of Sigma_k and two products with the B chains,
      ``N_h N_v^2 + 2 (2k - 2) N_v^3 + N_v^3 / 3 + 3 B N_v^2`` flops (2 N_v^3 more for
      k = 1), and B N_v normals;
    - "gibbs": 2k products of W with the B chains, ``4 k B N_v N_h`` flops, and
      k B (N_v + N_h) normals;
    - both: the gradient in the visible basis, C_model (``B N_v^2``) and
      W (C_target - C_model) (``2 N_h N_v^2``);
    - "gibbs-eigen": the sweeps of "gibbs" and the gradient in the target's eigenbasis, two
      more products with the chains and a diagonal scaling, ``4 B N_v N_h + N_v N_h``.

    What all do (the update, the divergence check) is left out: it does not decide the
    choice.

    Parameters
    ----------
    n_visible, n_hidden, batch_size, k : int
        N_v, N_h, B and the Gibbs sweeps per step.
    sampler : {"collapsed", "gibbs", "gibbs-eigen"}
        The sampler to cost.

    Returns
    -------
    float
        Flops plus ``NORMAL_FLOPS`` per normal.

    Raises
    ------
    ValueError
        If ``sampler`` is not one of the three.
    """
    nv, nh, nb, k = (float(n_visible), float(n_hidden), float(batch_size), int(k))
    visible_gradient = nb * nv * nv + 2 * nh * nv * nv
    sweeps = 4 * k * nb * nv * nh + NORMAL_FLOPS * k * nb * (nv + nh)
    if sampler == "collapsed":
        products = max(2 * k - 3, 0) + 1     # the powers of A, then (1 + A) sum_j A^(2j)
        flops = nh * nv * nv + 2 * products * nv**3 + nv**3 / 3 + 3 * nb * nv * nv
        return flops + NORMAL_FLOPS * nb * nv + visible_gradient
    if sampler == "gibbs":
        return sweeps + visible_gradient
    if sampler == "gibbs-eigen":
        return sweeps + 4 * nb * nv * nh + nv * nh
    raise ValueError(
        f"sampler: must be 'collapsed', 'gibbs' or 'gibbs-eigen' to be costed, got {sampler!r}"
    )


def resolve_rbm_sampler(n_visible: int, n_hidden: int, batch_size: int, k: int,
                        sampler: str = "auto", eigen: bool = True) -> str:
    """The sampler an RBM step uses: ``sampler`` itself, or for "auto" the cheapest one.

    "auto" compares :func:`rbm_sampler_cost` of the samplers and takes the cheapest; ties
    go to "collapsed" (the sampler of the reference configuration), then "gibbs". All
    sample the same law (:doc:`/theory/rbm`); the arrays differ.

    Parameters
    ----------
    n_visible, n_hidden, batch_size, k : int
        N_v, N_h, B and the Gibbs sweeps per step.
    sampler : {"auto", "collapsed", "gibbs", "gibbs-eigen"}
        The sampler asked for.
    eigen : bool
        Whether "gibbs-eigen" may be chosen: it trains in the eigenbasis of the target,
        which needs an optimiser that commutes with rotations of W (SGD, momentum; not
        Adam) and a caller that rotates the state (the ensemble does; the array API
        :mod:`dysonlearn.kernels` resolves "auto" with ``eigen=False``).

    Returns
    -------
    str
        "collapsed", "gibbs" or "gibbs-eigen".

    Examples
    --------
    >>> from dysonlearn.config import resolve_rbm_sampler
    >>> resolve_rbm_sampler(10, 10, 16, 3), resolve_rbm_sampler(100, 100, 16, 3)
    ('collapsed', 'gibbs-eigen')
    >>> resolve_rbm_sampler(100, 100, 16, 3, eigen=False)
    'gibbs'
    """
    if sampler != "auto":
        return sampler
    candidates = ("collapsed", "gibbs", "gibbs-eigen") if eigen else ("collapsed", "gibbs")
    costs = [rbm_sampler_cost(n_visible, n_hidden, batch_size, k, s) for s in candidates]
    return candidates[costs.index(min(costs))]


TARGET_MODES = ("analytic", "sampled")
CHAIN_INITS = ("ones", "zeros", "normal", "target")

# The kernels index N x N matrices with a C int: N^2 <= INT_MAX.
MAX_MODES = math.isqrt(INT_MAX)
_C_INT = "the compiled kernel takes a C int"
_MATRIX_INDEX = "the kernel indexes n_visible x n_visible matrices with a C int"
_STEPS_WHY = "step counters are int64, and replicas x steps must stay within int64 too"


def snapshot_steps(snapshots: int | tuple[int, ...], steps: int) -> np.ndarray:
    """Steps at which spectra are recorded, step 0 included, as int64 (S,).

    ``snapshots = n`` gives n evenly spaced steps after 0, the last at ``steps``
    (step_i = floor(i * steps / n)); a sequence gives those steps, with 0 prepended.

    Parameters
    ----------
    snapshots : int or sequence of int
        n, or the steps themselves.
    steps : int
        The number of training steps.

    Returns
    -------
    numpy.ndarray
        int64 (S,), increasing, starting at 0.
    """
    if is_int(snapshots):
        n = int(snapshots)
        return np.array([i * steps // n for i in range(n + 1)], dtype=np.int64)
    listed = [int(s) for s in snapshots]
    if not listed or listed[0] != 0:
        listed.insert(0, 0)
    return np.array(listed, dtype=np.int64)


class Snapshots(Rule):
    """``snapshots``: an integer n in [1, steps] (n evenly spaced snapshots after step 0), or
    a strictly increasing list of steps in [0, steps]. Reads ``steps`` from the owner."""

    def violation(self, value: object, owner: object = None) -> str | None:
        steps = getattr(owner, "steps", None)
        steps_ok = is_int(steps) and steps >= 1
        if is_int(value):
            if value < 1 or (steps_ok and value > steps):
                return "must be an integer in [1, steps]"
            return None
        if not isinstance(value, tuple):  # lists and arrays were made tuples already
            return "must be an integer or an increasing list of steps"
        if not value or not all(is_int(s) for s in value):
            return "must be a non-empty list of integer steps"
        if any(b <= a for a, b in itertools.pairwise(value)):
            return "must be strictly increasing"
        if value[0] < 0 or (steps_ok and value[-1] > steps):
            return "every step must lie in [0, steps]"
        return None

    def describe(self) -> str:
        return "an integer in [1, steps], or a strictly increasing list of steps in [0, steps]"

    def invalid_examples(self) -> list:
        return [0, 2.5, "5", (), (3, 2), (-1, 2), None]


def record_steps(burn_in: int, record_every: int, steps: int) -> np.ndarray:
    """Steps of a recorded time series: ``burn_in + k * record_every`` for
    ``k = 0 .. (steps - burn_in) // record_every``, as int64.

    Step 0 is recorded only when ``burn_in == 0``; the last record is the last multiple
    that fits, so it may come before ``steps``.

    Parameters
    ----------
    burn_in : int
        The first recorded step, in [0, steps].
    record_every : int
        Steps between records, >= 1.
    steps : int
        The number of training steps.

    Returns
    -------
    numpy.ndarray
        int64 (1 + (steps - burn_in) // record_every,), increasing.
    """
    return np.arange(burn_in, steps + 1, record_every, dtype=np.int64)


class BurnIn(Rule):
    """``burn_in``: an integer in [0, steps], the first recorded step of a time series.
    Reads ``steps`` from the owner."""

    def violation(self, value: object, owner: object = None) -> str | None:
        steps = getattr(owner, "steps", None)
        if not is_int(value) or value < 0 or (is_int(steps) and steps >= 1 and value > steps):
            return "must be an integer in [0, steps]"
        return None

    def describe(self) -> str:
        return "an integer in [0, steps]"

    def invalid_examples(self) -> list:
        return [-1, 0.5, "0", True, STEPS_MAX + 1, None]


class RecordEvery(Rule):
    """``record_every``: an integer in [1, steps - burn_in], the steps between two records
    of a time series. Reads ``steps`` and ``burn_in`` from the owner (only when they are
    integers: their own rules report them otherwise)."""

    def violation(self, value: object, owner: object = None) -> str | None:
        steps = getattr(owner, "steps", None)
        burn_in = getattr(owner, "burn_in", 0)
        if not is_int(value) or value < 1:
            return "must be an integer in [1, steps - burn_in]"
        if is_int(steps) and steps >= 1:
            span = steps - burn_in if is_int(burn_in) and 0 <= burn_in <= steps else steps
            # A single record at burn_in = steps still needs a record_every: 1.
            span = max(span, 1)
            if value > span:
                return f"must be an integer in [1, steps - burn_in] = [1, {span}]"
        return None

    def describe(self) -> str:
        return "an integer in [1, steps - burn_in] (1 when burn_in = steps)"

    def invalid_examples(self) -> list:
        return [0, 1.5, "1", True, STEPS_MAX + 1]


@dataclass(frozen=True)
class Levels(Rule):
    """A flat list of at least ``minimum`` finite numbers (strings, booleans and nested
    lists are refused, not converted).

    Parameters
    ----------
    minimum : int
        The fewest values allowed.
    """

    minimum: int = 2

    def violation(self, value: object, owner: object = None) -> str | None:
        found = Problems()
        rule = f"must be a list of at least {self.minimum} numbers"
        array = real_array(found, "", value, 1, rule)
        if array is not None and array.size < self.minimum:
            return rule
        return found.items[0].rule if found.items else None

    def describe(self) -> str:
        return f"a list of at least {self.minimum} finite numbers"

    def invalid_examples(self) -> list:
        return ["abc", (1.0,) * (self.minimum - 1), (1.0, math.nan), (True, 2.0), ((1.0, 2.0),)]


@dataclass(frozen=True)
class Teacher(Levels):
    """The teacher: its eigenvalues (see :class:`Levels`), or a symmetric N x N matrix,
    N >= 2, of finite numbers."""

    _MATRIX = "a matrix must be square, N >= 2, finite"

    def violation(self, value: object, owner: object = None) -> str | None:
        if not (isinstance(value, tuple) and value and isinstance(value[0], tuple)):
            return super().violation(value, owner)
        found = Problems()
        matrix = real_array(found, "", value, 2, self._MATRIX)
        if matrix is None:
            return found.items[0].rule
        if matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
            return self._MATRIX
        if not np.allclose(matrix, matrix.T, rtol=0, atol=1e-12 * max(1, abs(matrix).max())):
            return "a matrix must be symmetric"
        return None

    def describe(self) -> str:
        return super().describe() + " (eigenvalues), or a symmetric N x N matrix, N >= 2"

    def invalid_examples(self) -> list:
        return [*super().invalid_examples(), ((1.0, 2.0), (3.0, 4.0)), ((1.0, 2.0, 3.0),)]


def _plain(value):
    """NumPy scalars and arrays, lists and other numbers as plain Python values and tuples.

    Configurations keep only ``int``, ``float``, ``bool``, ``str``, ``None`` and (nested)
    tuples of them, so that they stay hashable and their ``to_dict`` goes to JSON as it is
    (``np.int64(8)`` or ``np.float32(0.1)`` would not). Values keep their meaning: a float32
    becomes the float64 the kernels would have converted it to anyway.
    """
    if isinstance(value, np.ndarray):
        return _plain(value.tolist()) if value.ndim else _plain(value.item())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


class _Text(str):
    """A string shown without quotes after "got" in a message ("got 12 rows")."""

    def __repr__(self) -> str:
        return str(self)


def _as_list(value):
    if isinstance(value, tuple):
        return [_as_list(v) for v in value]
    return value


def _square(value: float) -> float:
    """value^2 as a float, inf instead of OverflowError (Python's ``**`` raises)."""
    value = float(value)
    return value * value


_STEPS = FieldRule("steps", Integer(1, STEPS_MAX, _STEPS_WHY))
# What every model trains with, in the order it is checked and reported. The batch size's
# upper bound is checked with the other sizes, after the memory it implies.
TRAINING_RULES = (
    FieldRule("lr", Real()),
    FieldRule("batch_size", Integer(1)),
    _STEPS,
    FieldRule("snapshots", Snapshots()),
    FieldRule("burn_in", BurnIn()),
    FieldRule("record_every", RecordEvery(), optional=True),
)
# The recording fields, in every model configuration right after ``snapshots``. Keyword-only:
# they follow ``snapshots`` in the field order (TOML, the reference, dicts) without moving
# the positional arguments of the fields declared after them. Left out of ``to_dict`` at
# these defaults, so that a configuration without a time series keeps the record (and
# the store) it had before they existed.
RECORDING_DEFAULTS = {"burn_in": 0, "record_every": None}


def _burn_in_field():
    return dataclasses.field(default=0, kw_only=True)


def _record_every_field():
    return dataclasses.field(default=None, kw_only=True)


def _check_size_product(
    problems: Problems, field: str, names: str, product: int, value: object
) -> bool:
    """A product of sizes that the kernel forms in a C int must not exceed INT_MAX."""
    if product > INT_MAX:
        problems.add(
            field,
            f"{names} must be at most 2**31 - 1 = {INT_MAX} ({_C_INT}), but it is {product} for",
            value,
        )
        return False
    return True


def _check_memory(problems: Problems, parts: list[tuple[float, str, str]], value_of) -> None:
    """Refuse a configuration whose single replica cannot fit in the memory available.

    ``parts`` lists (bytes, field, what) of everything one replica needs: the problem
    names the field of the largest part, which is what the user should change.
    """
    total = sum(part[0] for part in parts)
    size, field, what = max(parts, key=lambda part: part[0])
    rule = memory_problem(total, "one replica", detail=f"{format_bytes(size)} of it for {what}")
    if rule is not None:
        problems.add(field, rule, value_of(field))


class _ModelConfig:
    """What every model configuration shares: snapshots, copies, dict round trips, sizes."""

    kind = ""

    def _normalise(self) -> None:
        """Make every field a plain Python value (see :func:`_plain`), before validation."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            plain = _plain(value)
            if plain is not value:
                object.__setattr__(self, f.name, plain)

    def _check_optimizer(self, problems: Problems) -> bool:
        """``optimizer``: an optimiser, or its dict form (made the optimiser here); its
        problems are named ``optimizer.<field>``. Returns whether it is valid."""
        value = self.optimizer
        if isinstance(value, _Optimizer):
            return True
        try:
            optimizer = optimizer_from_dict(value)
        except ConfigError as exc:
            for problem in exc.details:
                problems.record(problem)
            problems.fields.add("optimizer")
            return False
        object.__setattr__(self, "optimizer", optimizer)
        return True

    def _warn_momentum_stability(self, curvature: float) -> None:
        """Warn (not refuse) when momentum's lr is beyond the heavy-ball iteration's
        stability bound for the drift's largest curvature c :eq:`effective-lr`."""
        optimizer = self.optimizer
        if not isinstance(optimizer, Momentum) or not (curvature > 0):
            return
        limit = optimizer.stability_limit(curvature)
        if is_real(self.lr) and self.lr >= limit:
            variant = "Nesterov" if optimizer.nesterov else "heavy-ball"
            bound = ("lr c < 2 (1 + beta) / (1 + 2 beta)" if optimizer.nesterov
                     else "lr c < 2 (1 + beta)")  # fmt: skip
            warnings.warn(
                f"optimizer: lr = {self.lr:g} is beyond the stability bound of the {variant} "
                f"momentum iteration ({bound}, beta = {optimizer.beta:g}, curvature c = "
                f"{curvature:.4g}: lr < {limit:.4g}); the replicas will likely diverge",
                UserWarning, stacklevel=4,
            )  # fmt: skip

    @property
    def effective_lr(self) -> float:
        """The rate of the SGD whose small-lr stationary fluctuations these are: lr (SGD),
        lr / (1 - beta) (momentum, :eq:`effective-lr`), NaN (Adam, AdamW: no closed form)."""
        return self.optimizer.effective_lr(self.lr)

    def _check_sizes(
        self,
        problems: Problems,
        limits: list[tuple[str, int, str]],
        products: list[tuple[str, str, int]],
        modes_field: str | None = None,
    ) -> bool:
        """Sizes that cannot work, for sizes already known to be integers >= 1.

        Memory first: a size too large for this machine is refused with the estimate and
        the memory available (the more useful message). Then the ranges of the compiled
        kernel: each ``(field, maximum, why)`` of ``limits``, each ``(field, names,
        product)`` of ``products`` (products of sizes the kernel forms in a C int) and, for
        ``modes_field``, N^2 in a C int. Returns whether every size passed.
        """
        spectra = problems.ok("snapshots", "steps", "burn_in", "record_every")
        before = len(problems)
        _check_memory(problems, self._memory_parts(spectra), lambda name: getattr(self, name))
        if len(problems) > before:
            # Too large for memory says it all: the ranges below would only repeat it.
            return False
        for field, maximum, why in limits:
            if problems.ok(field):
                check_int(problems, field, getattr(self, field), 1, maximum, why)
        if modes_field is not None and problems.ok(modes_field) and self.n_modes > MAX_MODES:
            problems.add(
                modes_field,
                f"must have at most {MAX_MODES} modes (the kernel indexes N x N matrices "
                "with a C int)",
                _Text(f"{self.n_modes} modes"),
            )
        fields = [limit[0] for limit in limits] + ([modes_field] if modes_field else [])
        for field, names, product in products:
            if problems.ok(*fields):
                _check_size_product(problems, field, names, product, getattr(self, field))
        return problems.ok(*fields)

    def _check_recording(self, problems: Problems) -> None:
        """The rules that tie ``burn_in`` and ``record_every`` to ``snapshots``: either
        ``snapshots`` or ``record_every`` decides the recorded steps, and ``burn_in`` means
        something only for a time series."""
        if self.record_every is None:
            if problems.ok("burn_in") and self.burn_in != 0:
                problems.add(
                    "burn_in",
                    "is used only with record_every (the first step of a time series); set "
                    "record_every, or leave burn_in at 0",
                    self.burn_in,
                )
            return
        default = {f.name: f.default for f in dataclasses.fields(self)}["snapshots"]
        if self.snapshots != default:
            problems.add(
                "record_every",
                f"cannot be combined with snapshots = {_as_list(self.snapshots)!r}: either "
                "snapshots or record_every decides the recorded steps; leave snapshots "
                "unset for a time series, or record_every unset for snapshots",
                self.record_every,
            )

    @property
    def is_time_series(self) -> bool:
        """Whether the spectra are a time series: recorded every ``record_every`` steps
        from ``burn_in`` on (``record_every`` set), rather than at ``snapshots``."""
        return self.record_every is not None

    @property
    def snapshot_steps(self) -> np.ndarray:
        """Steps of the recorded spectra, int64 (S,): step 0 and the ``snapshots``, or the
        time series ``burn_in + k * record_every`` (see :func:`record_steps`)."""
        if self.is_time_series:
            return record_steps(self.burn_in, self.record_every, self.steps)
        return snapshot_steps(self.snapshots, self.steps)

    @property
    def n_snapshots(self) -> int:
        """S, the number of spectra recorded per replica (step 0 included, unless a time
        series starts later): 1 + (steps - burn_in) // record_every for a time series.

        Equals ``len(self.snapshot_steps)`` without building the array.
        """
        if self.is_time_series:
            return 1 + (self.steps - self.burn_in) // self.record_every
        if is_int(self.snapshots):
            return int(self.snapshots) + 1
        return len(self.snapshots) + (0 if self.snapshots[0] == 0 else 1)

    def _spectra_part(self, spectra: bool, n: int) -> tuple[float, str, str]:
        """The (bytes, field, what) of one replica's recorded spectra for the memory
        estimates (``spectra``: the recording fields are valid, count them)."""
        count = self.n_snapshots if spectra else 1
        if spectra and self.is_time_series:
            return (8.0 * count * n + 16, "record_every",
                    "its time series, (1 + (steps - burn_in) // record_every) x N doubles")  # fmt: skip
        return (8.0 * count * n + 16, "snapshots", "its spectra, (snapshots + 1) x N doubles")

    @property
    def result_bytes_per_replica(self) -> int:
        """Bytes of one replica's results: its spectra, S x N float64, and its failure flag
        and step (16 bytes, padding included).

        The ensemble's result arrays take ``replicas * result_bytes_per_replica`` bytes
        (weights kept with ``keep_weights`` come on top).
        """
        return 8 * self.n_snapshots * self.n_modes + 16

    @property
    def state_bytes_per_replica(self) -> int:
        """Bytes of one replica's training state (weights, chains, per-replica data), the
        part of memory that grows with the number of replicas trained at once."""
        raise NotImplementedError

    @property
    def shared_bytes(self) -> int:
        """Bytes needed once per process however many replicas it trains: the kernel's work
        space, the target's matrices, a data set shared by all replicas."""
        raise NotImplementedError

    @property
    def bytes_for_one_replica(self) -> int:
        """Bytes needed to train a single replica and keep its results: ``shared_bytes +
        state_bytes_per_replica + result_bytes_per_replica``. Validation refuses a
        configuration for which this exceeds :func:`dysonlearn.validation.available_memory`.
        """
        return self.shared_bytes + self.state_bytes_per_replica + self.result_bytes_per_replica

    def _resolve_auto_sampler(self, resolved) -> None:
        """Replace a ``sampler`` of "auto" by ``resolved()``, once, in ``__post_init__``: the
        record (``to_dict``, the store) names the sampler used, and an old record that names
        it compares equal; :meth:`replace` asks again for the copy's sizes."""
        if self.sampler == "auto":
            object.__setattr__(self, "sampler", resolved())
            object.__setattr__(self, "_sampler_was_auto", True)

    def replace(self, **changes):
        """A copy with some fields changed (validated again).

        A sampler that was resolved from "auto" (the RBM's and the teacher-student's) is
        resolved again for the copy's sizes, unless ``changes`` names one.

        Parameters
        ----------
        **changes
            Fields and their new values.

        Returns
        -------
        The same configuration class.

        Raises
        ------
        ConfigError
            If the changed configuration is invalid.
        """
        if getattr(self, "_sampler_was_auto", False):
            changes.setdefault("sampler", "auto")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON-able form; ``type(cfg).from_dict(cfg.to_dict()) == cfg``.

        Returns
        -------
        dict
            ``{"kind": ..., field: value, ...}``, tuples as lists, the target and the
            optimiser as dicts (the optimiser left out when it is SGD, the default;
            ``burn_in`` and ``record_every`` left out at their defaults 0 and None).
        """
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "optimizer" and isinstance(value, SGD):
                # Left out: an SGD run keeps the record (and store) it had before
                # optimisers were configurable; from_dict reads a missing key as SGD.
                continue
            if f.name in RECORDING_DEFAULTS and value == RECORDING_DEFAULTS[f.name]:
                continue  # likewise a run without a time series (see RECORDING_DEFAULTS)
            if isinstance(value, targets.Target | _Optimizer):
                out[f.name] = value.to_dict()
            else:
                out[f.name] = _as_list(value)
        return {"kind": self.kind, **out}

    @classmethod
    def from_dict(cls, data: dict):
        """Rebuild a configuration from :meth:`to_dict`'s form.

        Parameters
        ----------
        data : dict
            Field names and values (a ``kind`` key is ignored; a target and an optimizer
            may be dicts).

        Returns
        -------
        The configuration.

        Raises
        ------
        ConfigError
            Unknown fields or invalid values, one line per problem.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"config: must be a dict of fields, got {type(data).__name__}")
        data = dict(data)
        data.pop("kind", None)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(map(str, data)) - names)
        if unknown:
            raise ConfigError([f"{key}: unknown field of {cls.__name__}" for key in unknown])
        if isinstance(data.get("target"), dict):
            data["target"] = targets.Target.from_dict(data["target"])
        return cls(**data)


def check_replicas(config, replicas: object, field: str = "replicas") -> list[Problem]:
    """The problems of training ``replicas`` replicas of ``config`` and gathering them.

    Two rules: replicas x steps (the replica-steps a run counts) must fit in int64, and the
    results of all replicas (``replicas * config.result_bytes_per_replica``, gathered in
    memory by ``run_ensemble`` and by the summary of a stored run) plus what one replica
    needs to train must fit in the memory available.

    Parameters
    ----------
    config : RBMConfig, TeacherStudentConfig or DysonConfig
        A valid configuration.
    replicas : object
        The number of replicas asked for (anything: it is checked).
    field : str, optional
        How the caller names the number of replicas in messages ("ensemble.replicas").

    Returns
    -------
    list of Problem
        One record ``(field, rule, value)`` per problem (``str`` gives the message); empty
        if the ensemble is possible.
    """
    problems = Problems()
    if not check_int(problems, field, replicas, 1):
        return problems.items
    if replicas * config.steps > INT64_MAX:
        problems.add(
            field,
            f"replicas x steps must be at most 2**63 - 1 (replica-steps are counted in "
            f"int64): with steps = {config.steps} at most {INT64_MAX // config.steps} "
            "replicas",
            replicas,
        )
        return problems.items
    needed = config.bytes_for_one_replica + (replicas - 1) * config.result_bytes_per_replica
    records = "records" if config.is_time_series else "(snapshots + 1)"
    rule = memory_problem(
        needed,
        f"gathering the results of {replicas} replicas",
        detail=f"each {records} x N = {config.n_snapshots} x {config.n_modes} doubles, "
        "gathered in memory",
    )
    if rule is not None:
        fewer = "records (a larger record_every)" if config.is_time_series else "snapshots"
        problems.add(field, f"{rule}; use fewer replicas or {fewer}", replicas)
    return problems.items


@dataclass(frozen=True)
class RBMConfig(_ModelConfig):
    """Gaussian RBM trained by persistent contrastive divergence (:doc:`/theory/rbm`).

    Defaults are the article's reference configuration (:doc:`/theory/rbm`) at lr = 0.1, B = 16.

    Parameters
    ----------
    n_visible : int
        N_v, the number of visible units: the size N of the learnt spectrum. W has shape
        (N_h, N_v).
    n_hidden : int
        N_h, the number of hidden units.
    mu : float
        The visible mass mu of the action :eq:`rbm-action`; the learnt eigenvalues settle at
        x* = mu^2 - kappa and must stay below mu^2.
    sigma_h : float
        The width sigma_h of the hidden units in the action :eq:`rbm-action`.
    k : int
        Gibbs sweeps (h -> phi, phi -> h) per PCD step (:eq:`pcd-update`).
    lr : float
        The learning rate alpha :eq:`pcd-update`.
    batch_size : int
        B, the number of persistent chains whose average estimates the model term :eq:`pcd-update`.
    steps : int
        PCD steps (one step = one "epoch" of the reference code).
    snapshots : int or tuple of int
        An integer n (n evenly spaced snapshots after step 0, the last at ``steps``) or the
        steps themselves; the spectrum at step 0 is always recorded.
    burn_in : int
        With ``record_every``: the first recorded step of a time series, in [0, steps]
        (the steps before it bring the replicas to stationarity unrecorded). Default 0.
    record_every : int, optional
        Record a time series instead of ``snapshots``: the spectrum every this many
        steps from ``burn_in`` on, at steps ``burn_in + k * record_every`` for
        ``k = 0 .. (steps - burn_in) // record_every`` (step 0 only when ``burn_in`` is
        0). Unset (the default): ``snapshots`` decides.
    init_std : float
        The standard deviation of the initial weights, W_ij ~ N(0, init_std^2), for
        ``init = "normal"``.
    init : {"normal", "mp_geometric", "mp_hidden"}
        The initial weights: "normal" (W_ij ~ N(0, init_std^2)), "mp_geometric"
        (sigma_w^2 = init_scale^2 / sqrt(N_v N_h)) or "mp_hidden"
        (sigma_w^2 = init_scale^2 / N_h), the bounded schemes of :eq:`rbm-kernel`.
    init_scale : float
        The scale of the "mp_geometric" and "mp_hidden" initialisations.
    target : Target, optional
        The kernel K_phi to learn (see :mod:`dysonlearn.targets`); default
        ``targets.free_scalar(n_visible, 2.0)``.
    target_mode : {"analytic", "sampled"}
        "analytic" (C_target = K_phi^-1 exactly) or "sampled" (B fresh samples of the
        target per step).
    chain_init : {"ones", "zeros", "normal", "target"}
        Where the persistent chains start: "ones" (the reference), "zeros", "normal"
        (N(0, 1/mu^2) entries) or "target" (samples of the target Gaussian).
    sampler : {"auto", "collapsed", "gibbs", "gibbs-eigen"}
        How the chains take their k Gibbs sweeps: "collapsed" (the k-sweep transition
        drawn at once from its exact Gaussian law, B N_v normals a step, O(k N_v^3) flops),
        "gibbs" (the explicit sweeps :eq:`rbm-hidden-given-visible`,
        :eq:`rbm-visible-given-hidden`, O(k B N_v N_h) flops, and a gradient of
        O(N_h N_v^2)) or "gibbs-eigen" (the same sweeps with W and the chains held in the
        eigenbasis of the target covariance, where the gradient costs O(B N_v N_h): no
        product of size N^3 in a step; SGD and momentum only). Same law; the arrays differ,
        the statistics agree (tested). "auto" (the default) takes the one a cost model
        says is cheapest (:func:`~dysonlearn.config.resolve_rbm_sampler`: "collapsed" up to
        N_v = N_h = 42 at B = 16, k = 3, so at the reference sizes, "gibbs-eigen" beyond,
        "gibbs" under Adam) and is resolved here: the
        configuration, ``to_dict`` and the store hold the sampler used, and a
        configuration equals one that names that sampler. :meth:`replace` resolves "auto"
        again for the new sizes.
    optimizer : SGD, Momentum, Adam, AdamW or dict
        How the stochastic gradient becomes the update (:doc:`/theory/optimizers`); or its
        dict form, e.g. ``{"kind": "momentum", "beta": 0.9}`` (as ``to_dict`` writes it).
        Default :class:`~dysonlearn.SGD`. The learning rate stays
        ``lr``; momentum's level widths use the effective rate lr / (1 - beta)
        :eq:`effective-lr`, Adam's have no closed form (NaN).

    Raises
    ------
    ConfigError
        Any invalid field, or fields that cannot work together (a target eigenvalue at or
        above mu^2, an initial spectrum beyond mu^2, a size too large for memory): every
        problem at once, one line each.

    Examples
    --------
    >>> import dysonlearn as dl
    >>> cfg = dl.RBMConfig(lr=0.05, batch_size=8, steps=2000)
    >>> cfg.n_modes, cfg.snapshot_steps.tolist()
    (10, [0, 400, 800, 1200, 1600, 2000])
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
    burn_in: int = _burn_in_field()
    record_every: int | None = _record_every_field()
    init_std: float = 0.1
    init: str = "normal"
    init_scale: float = 1.0
    target: targets.Target | None = None
    target_mode: str = "analytic"
    chain_init: str = "ones"
    sampler: str = "auto"
    optimizer: object = SGD()

    kind = "rbm"
    RULES: ClassVar[tuple[FieldRule, ...]] = (
        FieldRule("n_visible", Integer(1)),
        FieldRule("n_hidden", Integer(1)),
        FieldRule("mu", Real()),
        FieldRule("sigma_h", Real()),
        # The collapsed sampler forms A^(2k - 2): its exponent is a C int too.
        FieldRule("k", Integer(1, 2**30, "the kernel counts up to 2k - 2 sweeps in a C int")),
        *TRAINING_RULES,
        FieldRule("init", Choice(INIT_SCHEMES)),
        FieldRule("target_mode", Choice(TARGET_MODES)),
        FieldRule("chain_init", Choice(CHAIN_INITS)),
        FieldRule("sampler", Choice(RBM_SAMPLERS)),
        FieldRule("init_std", Real(), when=(("init", ("normal",)),)),
        FieldRule("init_scale", Real(), when=(("init", ("mp_geometric", "mp_hidden")),)),
    )
    """The per-field rules, checked in this order (rules across fields are code)."""

    def __post_init__(self) -> None:
        self._normalise()
        problems = Problems()
        check_table(problems, self, self.RULES)
        self._check_recording(problems)
        # Squares that the kernel and the rules below form must not overflow to inf.
        for name, symbol in (("mu", "mu^2"), ("sigma_h", "sigma_h^2")):
            value = getattr(self, name)
            if problems.ok(name) and not math.isfinite(_square(value)):
                problems.add(name, f"must have a finite square {symbol}", value)
        sizes = problems.ok("n_visible", "n_hidden", "batch_size") and self._check_rbm_sizes(
            problems
        )
        kappa = self._check_target(problems, sizes)
        init_ok = problems.ok("init_std" if self.init == "normal" else "init_scale")
        if init_ok and problems.ok("mu", "sigma_h") and sizes and self.init in INIT_SCHEMES:
            self._check_initial_edge(problems)
        if kappa is not None and problems.ok("lr", "mu", "sigma_h", "batch_size"):
            self._check_update_scale(problems, kappa)
        if self._check_optimizer(problems) and self.sampler == "gibbs-eigen":
            if not self.optimizer.rotation_equivariant:
                problems.add(
                    "sampler", "needs an optimiser that commutes with rotations of W (SGD, "
                    f"momentum): it trains in the target's eigenbasis, and "
                    f"{type(self.optimizer).__name__} scales each weight on its own",
                    self.sampler)
        problems.raise_if_any()
        self._resolve_auto_sampler(lambda: resolve_rbm_sampler(
            self.n_visible, self.n_hidden, self.batch_size, self.k,
            eigen=self.optimizer.rotation_equivariant))
        if kappa is not None:
            # The learnt levels' restoring rate c = 2 x* / kappa^2 :eq:`rbm-restoring-rate`.
            with np.errstate(all="ignore"):
                x_star = _square(self.mu) - kappa
                curvature = float(np.max(2 * x_star / kappa**2))
            self._warn_momentum_stability(curvature)

    def _check_rbm_sizes(self, problems: Problems) -> bool:
        """Memory, then the C int ranges of the kernel (see :meth:`_check_sizes`)."""
        nv, nh, nb = self.n_visible, self.n_hidden, self.batch_size
        return self._check_sizes(
            problems,
            [
                ("n_visible", MAX_MODES, _MATRIX_INDEX),
                ("n_hidden", INT_MAX, _C_INT),
                ("batch_size", INT_MAX, _C_INT),
            ],
            [
                ("n_hidden", "n_hidden x n_visible", nh * nv),
                ("batch_size", "batch_size x max(n_visible, n_hidden)", nb * max(nv, nh)),
            ],
        )  # fmt: skip

    def _check_target(self, problems: Problems, sizes: bool) -> np.ndarray | None:
        """The target (the default one built here), its size, and kappa < mu^2 :eq:`rbm-kernel`;
        returns its spectrum kappa, or None if the target cannot be used."""
        if self.target is None:
            # The default target is built only for sizes that passed: free_scalar(10**5)
            # alone would need 80 GB.
            if sizes and self.n_visible >= 2:
                object.__setattr__(self, "target", targets.free_scalar(n=self.n_visible, m=2.0))
            elif is_int(self.n_visible) and self.n_visible == 1:
                problems.add(
                    "n_visible",
                    "must be >= 2 for the default target free_scalar(n_visible, 2.0); give "
                    "a target for a single mode",
                    self.n_visible,
                )
        elif not isinstance(self.target, targets.Target):
            problems.add("target", "must be a dysonlearn.targets.Target", self.target)
        elif is_int(self.n_visible) and self.target.n != self.n_visible:
            problems.add(
                "target", f"must have n_visible = {self.n_visible} modes", f"{self.target.n} modes"
            )
        if not (isinstance(self.target, targets.Target) and problems.ok("target")):
            return None
        kappa = self.target.spectrum
        if problems.ok("mu") and float(kappa[-1]) >= _square(self.mu):
            problems.add(
                "target",
                f"every eigenvalue kappa must be below mu^2 = {_square(self.mu):g} "
                "(x* = mu^2 - kappa > 0 is what is learnt: the RBM kernel mu^2 - sigma_h^2 W^T W "
                "must stay positive); the largest is "
                f"{float(kappa[-1]):.6g}",
                self.target,
            )
            return None
        return kappa if problems.ok("mu") else None

    def _check_initial_edge(self, problems: Problems) -> None:
        """The initial spectrum's Marchenko-Pastur edge must lie below mu^2 :eq:`rbm-kernel`."""
        edge = (
            _square(self.sigma_h)
            * self._initial_variance()
            * (math.sqrt(self.n_hidden) + math.sqrt(self.n_visible)) ** 2
        )
        if not edge < _square(self.mu):
            problems.add(
                "init_std" if self.init == "normal" else "init_scale",
                "the Marchenko-Pastur edge sigma_h^2 sigma_w^2 (sqrt(N_h) + sqrt(N_v))^2 "
                f"of the initial spectrum must be below mu^2 = {_square(self.mu):g} (the RBM kernel "
                "must be positive), "
                f"but it is {edge:.4g} for",
                self.init_std if self.init == "normal" else self.init_scale,
            )

    def _check_update_scale(self, problems: Problems, kappa: np.ndarray) -> None:
        """lr enters the update as lr sigma_h^2 (C_target - C_model) :eq:`pcd-update`, with C_model
        up to 1 / (mu^2 - x) ~ mu^2 scales, and the widths as 2 lr x* / B :eq:`rbm-level-width`:
        beyond
        float range the run would produce inf, not a failed replica."""
        x_star_max = _square(self.mu) - float(kappa[0])
        rate = self.lr * _square(self.sigma_h) * _square(self.mu)
        width2 = 2 * self.lr * x_star_max / self.batch_size
        if not (math.isfinite(rate) and math.isfinite(width2)):
            problems.add(
                "lr",
                "is too large: lr sigma_h^2 mu^2 (the scale of the PCD update) and "
                "2 lr x* / B (the squared stationary level widths) must be finite",
                self.lr,
            )

    def _initial_variance(self) -> float:
        """init_variance, inf where it overflows (validation compares it with mu^2)."""
        try:
            return self.init_variance
        except OverflowError:
            return math.inf

    def _memory_parts(self, spectra: bool = True) -> list[tuple[float, str, str]]:
        """(bytes, field to change, what) of everything one replica needs (see rbm.pyx's
        rbm_work_alloc and models/rbm.py); ``spectra``: snapshots are valid, count them."""
        nv, nh, nb = self.n_visible, self.n_hidden, self.batch_size
        return [
            (16.0 * nh * nv, "n_hidden" if nh >= nv else "n_visible",
             "its weights, n_hidden x n_visible doubles, and their copy"),
            (8.0 * nb * (3 * nv + nh), "batch_size",
             "its chains and a batch's draws, batch_size x (3 n_visible + n_hidden) doubles"),
            (88.0 * nv * nv + 16 * nv + 8, "n_visible",
             "eleven n_visible x n_visible matrices: the target, its inverse and work space"),
            self._spectra_part(spectra, nv),
        ]  # fmt: skip

    @property
    def state_bytes_per_replica(self) -> int:
        """Bytes of one replica's state: weights N_h x N_v and chains B x N_v, float64."""
        return 8 * self.n_visible * (self.n_hidden + self.batch_size)

    @property
    def shared_bytes(self) -> int:
        """Bytes needed once per process: the kernel's work space (rbm_work_alloc, with the
        eigensolver's, blocked from N_v = 128 on), the saved state of the divergence check's
        segments (one replica's W, chains and optimiser state), the target's matrices
        (kernel, covariance, Cholesky factor) and, for "gibbs-eigen", its eigenbasis and
        the transposed chains' scratch."""
        nv, nh, nb = self.n_visible, self.n_hidden, self.batch_size
        lapack = 2 * nv + 1 + (64 * nv if nv >= 128 else 0)  # _linalg.pxi eigvals_lwork
        work = nb * nh + 2 * nb * nv + 8 * nv * nv + nh * nv + lapack
        optimizer = self.optimizer.state_size(nh * nv)
        segment = nh * nv + nb * nv + optimizer
        eigen = nv * nv + nv + nb * nv if self.sampler == "gibbs-eigen" else 0
        return 8 * (work + segment + eigen + 3 * nv * nv)

    @property
    def init_variance(self) -> float:
        """sigma_w^2 of the initial weights W_ij ~ N(0, sigma_w^2) :eq:`rbm-kernel`."""
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
        """x* = mu^2 - kappa, ascending: where the learnt levels settle :eq:`rbm-kernel`."""
        return self.target.learnt_spectrum(self.mu)

    @property
    def level_widths(self) -> np.ndarray:
        """Predicted width of each level, sqrt(2 lr x* / B) :eq:`rbm-level-width` (derived at
        sigma_h = 1); with momentum lr is the effective rate lr / (1 - beta)
        :eq:`effective-lr`; NaN for Adam and AdamW (no closed form)."""
        lr = self.lr if isinstance(self.optimizer, SGD) else self.effective_lr
        return np.sqrt(2 * lr * np.clip(self.stationary_levels, 0, None) / self.batch_size)


def _levels(problems: Problems, field: str, values) -> np.ndarray | None:
    """A field that passed :class:`Levels` as a float64 array; None if it did not."""
    return np.asarray(values, dtype=np.float64) if problems.ok(field) else None


def _check_lr_below(problems: Problems, lr: object, limit: float, why: str) -> bool:
    """lr < limit: the linearised drift x <- x - lr c (x - x*) contracts only for lr c < 2."""
    if is_real(lr) and lr >= limit:
        problems.add("lr", f"must be below {limit:.6g} ({why})", lr)
        return False
    return True


def _check_widths(problems: Problems, field: str, widths, value: object) -> None:
    """Predicted level widths (``widths()``) must be finite: beyond float range the run
    gives inf, and the analysis divides by them."""
    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            finite = bool(np.all(np.isfinite(widths())))
    except (OverflowError, ZeroDivisionError):  # Python floats raise where NumPy gives inf
        finite = False
    if not finite:
        problems.add(field, "is too large: the predicted stationary level widths must be finite", value)


# --- the teacher-student theory: one copy for the configuration, its model and figures ----


def stationary_variance(lr: float, batch_size: int, noise: float, scale: float = 1.0) -> float:
    """scale x sigma^2, sigma^2 = lr A^2 / (B (1 - lr / 2)) the stationary variance of a
    level :eq:`level-width` (its lr -> 0 limit is :eq:`ts-degenerate-spacing`).

    The one place of the formula: ``scale=pi`` gives the square of the mean spacing
    <S> = sqrt(pi) sigma of a degenerate pair :eq:`spacing-pdf`. (The scale multiplies first, so
    that ``scale=1`` is bitwise ``TeacherStudentConfig.level_widths`` squared-before-the-root.)
    Lives here, below the model plugins, so that the configuration, the model and the
    figures all use this one copy.

    Parameters
    ----------
    lr, batch_size, noise : float
        The learning rate, the batch size B and the noise A.
    scale : float
        A factor applied to the variance.

    Returns
    -------
    float
        Infinite or negative at lr >= 2, where no stationary state exists.
    """
    return scale * lr * noise**2 / batch_size / (1 - lr / 2)


def small_lr_mean_spacing(lr: float, batch_size: int, noise: float) -> float:
    """<S> = sqrt(pi lr A^2 / B) of a degenerate pair at lr -> 0 :eq:`ts-degenerate-spacing`.

    Parameters
    ----------
    lr, batch_size, noise : float
        The learning rate, the batch size B and the noise A.

    Returns
    -------
    float
    """
    return math.sqrt(math.pi * lr * noise**2 / batch_size)


def finite_lr_factor(lr: float) -> float:
    """1 / sqrt(1 - lr / 2): sigma at finite lr over its lr -> 0 limit :eq:`finite-lr-variance`,
    :eq:`ts-degenerate-spacing`.

    Parameters
    ----------
    lr : float
        The learning rate (below 2).

    Returns
    -------
    float
    """
    return 1 / math.sqrt(1 - lr / 2)


TS_SAMPLERS = ("auto", "wishart", "explicit", "mean-noise")
TS_PROTOCOLS = ("fresh", "reference")
TEACHER_BASES = ("random", "identity")


def resolve_ts_sampler(n: int, batch_size: int, protocol: str = "fresh",
                       sampler: str = "auto") -> str:
    """The sampler a teacher-student step uses: ``sampler`` itself, or for "auto" the cheapest.

    "auto" takes "wishart" when it can (``batch_size >= n``, a step then draws
    n (n + 1) + n variates) and "mean-noise" otherwise (B n + n (n + 1) / 2 normals, any B);
    the reference protocol draws no batches, and "auto" names "wishart", the default it
    always had. Every configuration that was valid before "auto" existed and did not name
    a sampler used "wishart" with ``batch_size >= n``, so it keeps its numbers. The samplers
    draw the same law (:doc:`/theory/teacher_student`); their arrays differ.

    Parameters
    ----------
    n : int
        N, the side of the student.
    batch_size : int
        B.
    protocol : {"fresh", "reference"}
        The configuration's protocol.
    sampler : {"auto", "wishart", "explicit", "mean-noise"}
        The sampler asked for.

    Returns
    -------
    str
        "wishart", "explicit" or "mean-noise".

    Examples
    --------
    >>> from dysonlearn.config import resolve_ts_sampler
    >>> resolve_ts_sampler(2, 16), resolve_ts_sampler(100, 16)
    ('wishart', 'mean-noise')
    """
    if sampler != "auto":
        return sampler
    if protocol == "reference" or batch_size >= n:
        return "wishart"
    return "mean-noise"


@dataclass(frozen=True)
class TeacherStudentConfig(_ModelConfig):
    """Teacher-student model with noise added by hand (:doc:`/theory/teacher_student`, update
    :eq:`ts-update`).

    Defaults are the article's reference settings: N = 2, kappa = (2, 2), A = 0.1,
    lr = 0.1, B = 16, W_ij ~ N(0, 0.1^2), 5000 steps.

    Parameters
    ----------
    teacher : tuple of float, or tuple of tuple of float
        The teacher's eigenvalues kappa (N >= 2; the teacher is O diag(kappa) O^T with O
        Haar-random per replica, or the identity with ``teacher_basis = "identity"``), or a
        symmetric (N, N) matrix used as it is.
    noise : float
        The amplitude A of the noise added by hand (>= 0).
    lr : float
        The learning rate alpha (below 2, where the drift stops contracting).
    batch_size : int
        B, the number of data points per step.
    steps : int
        Training steps.
    snapshots : int or tuple of int
        An integer n (n evenly spaced snapshots after step 0, the last at ``steps``) or the
        steps themselves; the spectrum at step 0 is always recorded.
    burn_in : int
        With ``record_every``: the first recorded step of a time series, in [0, steps]
        (the steps before it bring the replicas to stationarity unrecorded). Default 0.
    record_every : int, optional
        Record a time series instead of ``snapshots``: the spectrum every this many
        steps from ``burn_in`` on, at steps ``burn_in + k * record_every`` for
        ``k = 0 .. (steps - burn_in) // record_every`` (step 0 only when ``burn_in`` is
        0). Unset (the default): ``snapshots`` decides.
    init_std : float
        The student starts symmetric with N(0, init_std^2) entries (all entries
        independent in the reference protocol, whose W is not symmetric).
    teacher_basis : {"random", "identity"}
        The eigenbasis O of a teacher given by its eigenvalues: Haar-random per replica,
        or the identity.
    sampler : {"auto", "wishart", "explicit", "mean-noise"}
        How a batch of fresh data is drawn, all exact in distribution
        (:doc:`/theory/teacher_student`): "wishart" draws C_B from its Wishart law and the
        batch-mean noise Xi_B directly (fastest, needs B >= N); "mean-noise" draws the B
        inputs and Xi_B directly (any B; the sampler for N > B); "explicit" draws B inputs
        and B noise matrices (the definition, B N (N + 1) / 2 normals a step). "auto" (the
        default) takes "wishart" when B >= N (or in the reference protocol) and
        "mean-noise" otherwise (:func:`~dysonlearn.config.resolve_ts_sampler`), and is
        resolved here: the configuration, ``to_dict`` and the store hold the sampler used.
        :meth:`replace` resolves "auto" again for the new sizes.
    protocol : {"fresh", "reference"}
        "fresh" (new data every step, symmetrised data term, eigenvalues of W) or
        "reference" (the published code: a finite data set of ``dataset_size`` points with
        per-point noise, visited epoch by epoch, the unsymmetrised data term
        (W_T - W) C_B, singular values of W).
    dataset_size : int, optional
        Points in the reference data set (default 500 B).
    dataset_shared : bool
        One data set for all replicas (as published: it tilts a setting's ensemble by a
        few per cent) or one per replica (reference protocol).
    shuffle : bool
        Visit the reference data set in a fresh random order every epoch.
    optimizer : SGD, Momentum, Adam, AdamW or dict
        How the stochastic gradient becomes the update (:doc:`/theory/optimizers`); or its
        dict form, e.g. ``{"kind": "momentum", "beta": 0.9}`` (as ``to_dict`` writes it).
        Default :class:`~dysonlearn.SGD`. The learning rate stays
        ``lr``; momentum's level widths use the effective rate lr / (1 - beta)
        :eq:`effective-lr`, Adam's have no closed form (NaN).

    Raises
    ------
    ConfigError
        Any invalid field, or fields that cannot work together (lr >= 2, the Wishart
        sampler with B < N, a size too large for memory): every problem at once.

    Examples
    --------
    >>> import dysonlearn as dl
    >>> cfg = dl.TeacherStudentConfig(teacher=[2.0, 2.0], noise=0.1, lr=0.1, batch_size=16)
    >>> cfg.n_modes
    2
    """

    teacher: tuple = (2.0, 2.0)
    noise: float = 0.1
    lr: float = 0.1
    batch_size: int = 16
    steps: int = 5000
    snapshots: int | tuple[int, ...] = 5
    burn_in: int = _burn_in_field()
    record_every: int | None = _record_every_field()
    init_std: float = 0.1
    teacher_basis: str = "random"
    sampler: str = "auto"
    protocol: str = "fresh"
    dataset_size: int | None = None
    dataset_shared: bool = True
    shuffle: bool = True
    optimizer: object = SGD()

    kind = "teacher_student"
    RULES: ClassVar[tuple[FieldRule, ...]] = (
        FieldRule("teacher", Teacher()),
        FieldRule("noise", Real(0.0, closed=True)),
        *TRAINING_RULES,
        FieldRule("init_std", Real()),
        FieldRule("teacher_basis", Choice(TEACHER_BASES)),
        FieldRule("sampler", Choice(TS_SAMPLERS)),
        FieldRule("protocol", Choice(TS_PROTOCOLS)),
        FieldRule("dataset_shared", Boolean()),
        FieldRule("shuffle", Boolean()),
        FieldRule("dataset_size", Integer(1), optional=True),
    )
    """The per-field rules, checked in this order (rules across fields are code)."""

    def __post_init__(self) -> None:
        self._normalise()
        problems = Problems()
        check_table(problems, self, self.RULES)
        self._check_recording(problems)
        teacher = self.teacher_spectrum if problems.ok("teacher") else None
        if problems.ok("lr"):
            # :eq:`ts-update` moves W - W_T by (1 - lr C_B), C_B = 1 on average: it contracts only
            # for lr < 2, and every replica diverges from lr = 2 on.
            _check_lr_below(
                problems, self.lr, 2.0,
                "the drift W <- W + lr (W_T - W) contracts only for lr < 2",
            )  # fmt: skip
        sizes = teacher is not None and problems.ok("batch_size", "dataset_size")
        if sizes:
            n, nb = teacher.size, self.batch_size
            limits = [("batch_size", INT_MAX, _C_INT)]
            products = [("batch_size", "batch_size x N (N + 1) / 2", nb * n * (n + 1) // 2)]
            if self.dataset_size is not None:
                limits.append(
                    ("dataset_size", INT_MAX, "the kernel counts data-set points in a C int")
                )
            elif self.protocol == "reference":
                products.append(
                    ("batch_size", "the default data-set size 500 batch_size", 500 * nb)
                )
            sizes = self._check_sizes(problems, limits, products, modes_field="teacher")
        if sizes and self.dataset_size is not None and self.dataset_size < self.batch_size:
            problems.add("dataset_size", "must hold at least one batch", self.dataset_size)
        wishart = self.protocol == "fresh" and self.sampler == "wishart"
        if sizes and wishart and self.batch_size < self.n_modes:
            problems.add(
                "sampler",
                f"'wishart' needs batch_size >= N = {self.n_modes}, batch_size is "
                f"{self.batch_size} (use 'mean-noise': explicit inputs, any batch size; or "
                "'auto')",
                self.sampler,
            )
        optimizer_ok = self._check_optimizer(problems)
        # Beyond momentum's stability bound the widths are infinite: warned below, not refused.
        theory = optimizer_ok and self.optimizer.has_theory and (
            not problems.ok("lr") or math.isfinite(self.optimizer.variance_factor(self.lr, 1.0))
        )
        if sizes and theory and problems.ok("lr", "noise"):
            _check_widths(problems, "noise", lambda: self.level_widths, self.noise)
        problems.raise_if_any()
        self._resolve_auto_sampler(lambda: resolve_ts_sampler(
            self.n_modes, self.batch_size, self.protocol))
        # The drift W <- W + lr (W_T - W) has curvature c = 1.
        self._warn_momentum_stability(1.0)

    def _memory_parts(self, spectra: bool = True) -> list[tuple[float, str, str]]:
        """(bytes, field to change, what) of everything one replica needs (see teacher.pyx's
        ts_work_alloc and models/teacher_student.py); ``spectra``: count the snapshots."""
        n, nb = self.n_modes, self.batch_size
        m = n * (n + 1) // 2
        if self.sampler == "explicit":
            batch = (8.0 * nb * (n + m), "batch_size" if nb >= n + m else "teacher",
                     "a batch's inputs and noise, batch_size x (N + N (N + 1) / 2) doubles")
        else:
            # One noise matrix, and the mean-noise sampler's (N, B) product at large N.
            batch = (8.0 * (2 * nb * n + m), "batch_size" if 2 * nb >= n else "teacher",
                     "a batch's inputs and noise, 2 batch_size x N + N (N + 1) / 2 doubles")
        parts = [
            (8.0 * (6 * n * n + 2 * n + 1), "teacher",
             "its student, teacher and work space, six N x N matrices of doubles"),
            batch,
            self._spectra_part(spectra, n),
        ]  # fmt: skip
        if self.protocol == "reference":
            field = "dataset_size" if self.dataset_size is not None else "batch_size"
            points = "dataset_size" if self.dataset_size is not None else "500 batch_size"
            parts.append(
                (self.points_in_dataset * (8.0 * (n + m) + 4), field,
                 f"the reference data set, {points} x (N + N (N + 1) / 2) doubles")
            )  # fmt: skip
        return parts

    @property
    def state_bytes_per_replica(self) -> int:
        """Bytes of one replica's state: student and teacher (N x N each), and in the
        reference protocol its visiting order (int32 per point) and, unless shared, its own
        data set (N + N (N + 1) / 2 doubles per point)."""
        n = self.n_modes
        size = 16 * n * n
        if self.protocol == "reference":
            points = self.points_in_dataset
            size += 4 * points
            if not self.dataset_shared:
                size += 8 * points * (n + n * (n + 1) // 2)
        return size

    @property
    def shared_bytes(self) -> int:
        """Bytes needed once per process: the kernel's work space (ts_work_alloc) and, in
        the reference protocol with ``dataset_shared``, the data set."""
        n, nb = self.n_modes, self.batch_size
        m = n * (n + 1) // 2
        # The explicit sampler holds B noise matrices, the others one; the mean-noise
        # sampler an (N, B) product at large N (at most N B doubles, counted always).
        noise = nb * m if self.sampler == "explicit" else m + n * nb
        size = 8 * (5 * n * n + max(n * n, nb * n) + noise + 2 * n + 1)
        if self.protocol == "reference" and self.dataset_shared:
            size += 8 * self.points_in_dataset * (n + m)
        return size

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
        """sigma = sqrt(lr A^2 / B) / sqrt(1 - lr / 2) per level (:eq:`ts-degenerate-spacing` =
        sqrt(pi) sigma, :eq:`finite-lr-variance`); with momentum the heavy-ball (or Nesterov)
        iteration's exact variance, lr_eff A^2 / B at small lr :eq:`effective-lr`; NaN for
        Adam and AdamW (no closed form)."""
        if isinstance(self.optimizer, SGD):
            width = np.sqrt(stationary_variance(self.lr, self.batch_size, self.noise))
        else:
            factor = self.optimizer.variance_factor(self.lr, 1.0)
            width = np.sqrt(self.lr * self.noise**2 / self.batch_size * factor)
        return np.full(self.n_modes, width)

    @property
    def points_in_dataset(self) -> int:
        """Reference protocol: P, the size of the finite data set."""
        return self.dataset_size if self.dataset_size is not None else 500 * self.batch_size


DYSON_DRIFTS = ("linear", "rbm")


@dataclass(frozen=True)
class DysonConfig(_ModelConfig):
    """Eigenvalue-level Dyson Brownian motion: the discrete update :eq:`dyson-bm`, GOE-like noise.

    Parameters
    ----------
    kappa : tuple of float
        One target per level. With the "linear" drift lr (kappa_i - x_i) (the
        teacher-student model, :doc:`/theory/teacher_student`) the levels settle at kappa; with the
        "rbm" drift lr 2 x (1/kappa_i - 1/(mu^2 - x)) :eq:`fp-drift` at x* = mu^2 - kappa_i,
        reflected at 0 (x = xi^2) and diverged when one reaches mu^2.
    noise : float
        g, with g_ii^2 = 2 g^2 and g_ij^2 = g^2 in :eq:`dyson-bm` (the teacher-student A).
    lr : float
        The learning rate alpha.
    batch_size : int
        B: the noise of a step has variance proportional to lr^2 / B.
    steps : int
        Steps of the update.
    snapshots : int or tuple of int
        An integer n (n evenly spaced snapshots after step 0, the last at ``steps``) or the
        steps themselves; the spectrum at step 0 is always recorded.
    burn_in : int
        With ``record_every``: the first recorded step of a time series, in [0, steps]
        (the steps before it bring the replicas to stationarity unrecorded). Default 0.
    record_every : int, optional
        Record a time series instead of ``snapshots``: the spectrum every this many
        steps from ``burn_in`` on, at steps ``burn_in + k * record_every`` for
        ``k = 0 .. (steps - burn_in) // record_every`` (step 0 only when ``burn_in`` is
        0). Unset (the default): ``snapshots`` decides.
    drift : {"linear", "rbm"}
        The drift of the levels (see ``kappa``).
    mu : float, optional
        The RBM's mass: required for the "rbm" drift (mu^2 above every kappa), unset for
        "linear".
    init_std : float
        The levels start as the eigenvalues of a symmetric matrix with N(0, init_std^2)
        entries ("linear") or of W^T W with W_ij ~ N(0, init_std^2) ("rbm"), drawn per
        replica.
    init_levels : tuple of float, optional
        The initial levels, the same for every replica, instead of a random draw (one
        value per level).

    Raises
    ------
    ConfigError
        Any invalid field, or fields that cannot work together (a missing ``mu`` for the
        "rbm" drift, lr beyond the stable range of the drift): every problem at once.

    Examples
    --------
    >>> import dysonlearn as dl
    >>> cfg = dl.DysonConfig(kappa=[4.0, 8.0], drift="rbm", mu=3.0, noise=0.05)
    >>> cfg.stationary_levels.tolist()
    [1.0, 5.0]
    """

    kappa: tuple = (2.0, 2.0)
    noise: float = 0.1
    lr: float = 0.1
    batch_size: int = 16
    steps: int = 5000
    snapshots: int | tuple[int, ...] = 5
    burn_in: int = _burn_in_field()
    record_every: int | None = _record_every_field()
    drift: str = "linear"
    mu: float | None = None
    init_std: float = 0.1
    init_levels: tuple | None = None

    kind = "dyson"
    RULES: ClassVar[tuple[FieldRule, ...]] = (
        FieldRule("kappa", Levels(2)),
        FieldRule("noise", Real()),
        *TRAINING_RULES,
        FieldRule("init_std", Real()),
        FieldRule("drift", Choice(DYSON_DRIFTS)),
    )
    """The per-field rules, checked in this order; ``mu`` and ``init_levels`` depend on
    ``drift`` and ``kappa`` and are checked in code."""

    def __post_init__(self) -> None:
        self._normalise()
        problems = Problems()
        check_table(problems, self, self.RULES)
        self._check_recording(problems)
        kappa = _levels(problems, "kappa", self.kappa)
        if self.drift == "rbm":
            if self.mu is None:
                problems.add("mu", "is required for drift 'rbm'", self.mu)
            elif check_rule(problems, "mu", self.mu, Real()) and not math.isfinite(_square(self.mu)):
                problems.add("mu", "must have a finite square mu^2", self.mu)
            elif kappa is not None and (np.any(kappa <= 0) or np.any(kappa >= _square(self.mu))):
                problems.add(
                    "kappa",
                    f"must lie in (0, mu^2 = {_square(self.mu):g}) for 'rbm'",
                    list(self.kappa),
                )
        elif self.mu is not None:
            problems.add("mu", "is used only by drift 'rbm'; leave it unset", self.mu)
        if self.init_levels is not None and kappa is not None:
            violation = Levels(kappa.size).violation(self.init_levels)
            if violation is not None:
                problems.add("init_levels", violation, self.init_levels)
            levels = _levels(problems, "init_levels", self.init_levels)
            if levels is not None and levels.size != kappa.size:
                problems.add("init_levels", f"must have {kappa.size} values", list(levels))
        drift_ok = problems.ok("kappa", "mu", "drift") and kappa is not None
        if drift_ok and problems.ok("lr"):
            if self.drift == "linear":
                _check_lr_below(
                    problems, self.lr, 2.0,
                    "the drift x <- x + lr (kappa - x) contracts only for lr < 2",
                )  # fmt: skip
            else:
                # The drift's curvature at x* = mu^2 - kappa is c = 2 x* / kappa^2
                # :eq:`rbm-restoring-rate`: the linearised step x - x* <- (1 - lr c)(x - x*)
                # contracts only for lr c < 2.
                with np.errstate(over="ignore"):
                    curvature = float(np.max(self._curvature()))
                if not math.isfinite(curvature):
                    problems.add(
                        "kappa",
                        "is too small: the drift's curvature 2 x* / kappa^2 overflows",
                        list(self.kappa),
                    )
                else:
                    _check_lr_below(
                        problems, self.lr, 2.0 / curvature,
                        "lr c_i < 2 for every level, c_i = 2 x*_i / kappa_i^2 the curvature of "
                        f"the drift at x*_i; max c_i = {curvature:.4g}",
                    )  # fmt: skip
        sizes = (
            kappa is not None
            and problems.ok("batch_size")
            and self._check_sizes(
                problems, [("batch_size", INT_MAX, _C_INT)], [], modes_field="kappa"
            )
        )
        if sizes and drift_ok and problems.ok("lr", "noise"):
            _check_widths(problems, "noise", lambda: self.level_widths, self.noise)
        problems.raise_if_any()

    def _curvature(self) -> np.ndarray:
        """c_i = V''(x*_i) per sorted level: 1 (linear drift), 2 x* / kappa^2 (RBM drift)."""
        if self.drift == "linear":
            return np.ones(self.n_modes)
        return 2 * self.stationary_levels / self.level_targets**2

    def _memory_parts(self, spectra: bool = True) -> list[tuple[float, str, str]]:
        """(bytes, field to change, what) of everything one replica needs (see dyson.pyx's
        dyson_work_alloc and models/dyson.py); ``spectra``: count the snapshots."""
        n = self.n_modes
        return [
            (8.0 * (2 * n * n + 3 * n + 1), "kappa",
             "two N x N matrices: the kernel's work space and the initial draw"),
            self._spectra_part(spectra, n),
        ]  # fmt: skip

    @property
    def state_bytes_per_replica(self) -> int:
        """Bytes of one replica's state: its N levels, float64."""
        return 8 * self.n_modes

    @property
    def shared_bytes(self) -> int:
        """Bytes needed once per process: the kernel's work space (dyson_work_alloc) and the
        N x N matrix an initial spectrum is drawn from."""
        n = self.n_modes
        return 8 * (2 * n * n + 2 * n + 1)

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
        """sigma_i^2 = lr g^2 / (B c_i (1 - lr c_i / 2)), c_i = V''(x*) :eq:`finite-lr-variance`: 1
        for the linear
        drift, 2 x* / kappa^2 for the RBM drift :eq:`rbm-restoring-rate`."""
        curvature = self._curvature()
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
    "check_replicas",
    "finite_lr_factor",
    "rbm_sampler_cost",
    "record_steps",
    "resolve_rbm_sampler",
    "resolve_ts_sampler",
    "small_lr_mean_spacing",
    "snapshot_steps",
    "stationary_variance",
]


# --- the deep linear teacher-student model ------------------------------------------------

DL_SAMPLERS = ("auto", "wishart", "explicit")
DL_INITS = ("normal", "balanced")


def resolve_dl_sampler(n_inputs: int, batch_size: int, sampler: str = "auto") -> str:
    """The sampler of the batch covariance a deep linear step uses: ``sampler`` itself, or
    for "auto" the cheapest exact one.

    "auto" takes "wishart" (C_B from its Wishart law, n_0 (n_0 + 1) / 2 variates a step)
    when ``batch_size >= n_inputs`` and "explicit" (B n_0 normals, any B) otherwise, as
    :func:`resolve_ts_sampler` does for the single-layer model.

    Parameters
    ----------
    n_inputs : int
        n_0, the width of the inputs.
    batch_size : int
        B.
    sampler : {"auto", "wishart", "explicit"}
        The sampler asked for.

    Returns
    -------
    str
        "wishart" or "explicit".

    Examples
    --------
    >>> from dysonlearn.config import resolve_dl_sampler
    >>> resolve_dl_sampler(4, 16), resolve_dl_sampler(32, 16)
    ('wishart', 'explicit')
    """
    if sampler != "auto":
        return sampler
    return "wishart" if batch_size >= n_inputs else "explicit"


class Widths(Rule):
    """``widths``: the layer widths n_0, n_1, ..., n_L of a deep linear network, at least two
    integers >= 1 (L >= 1 layers), each at most 46340 (an n x n block must be indexable
    with a C int)."""

    def violation(self, value: object, owner: object = None) -> str | None:
        if not isinstance(value, tuple) or not all(is_int(n) for n in value):
            return "must be a list of integers n_0, ..., n_L"
        if len(value) < 2:
            return "must list at least two widths n_0, n_1 (one layer)"
        if min(value) < 1:
            return "every width must be an integer >= 1"
        if max(value) > MAX_MODES:
            return f"every width must be at most {MAX_MODES} ({_C_INT})"
        return None

    def describe(self) -> str:
        return f"a list of at least two integers in [1, {MAX_MODES}] (n_0, ..., n_L)"

    def invalid_examples(self) -> list:
        return [4, "4, 4", (), (4,), (4, 0), (4, 2.5), (4, True), (4, MAX_MODES + 1), ((4, 4),)]


@dataclass(frozen=True)
class DeepTeacher(Levels):
    """The deep linear model's teacher: its singular values (a list of finite numbers, see
    :class:`Levels`; their magnitudes are used), or an n_L x n_0 matrix of finite numbers."""

    _MATRIX = "a matrix must be a non-empty list of equal-length rows of finite numbers"

    def violation(self, value: object, owner: object = None) -> str | None:
        if not (isinstance(value, tuple) and value and isinstance(value[0], tuple)):
            return super().violation(value, owner)
        found = Problems()
        matrix = real_array(found, "", value, 2, self._MATRIX)
        if matrix is None:
            return found.items[0].rule
        if matrix.size == 0:
            return self._MATRIX
        return None

    def describe(self) -> str:
        return super().describe() + " (singular values), or an n_L x n_0 matrix"

    def invalid_examples(self) -> list:
        # Levels' nested list ((1.0, 2.0),) is a valid 1 x 2 matrix here.
        listed = [v for v in super().invalid_examples() if not (v and isinstance(v[0], tuple))]
        return [*listed, ((1.0, 2.0), (3.0,)), ((1.0, math.inf),), ((True, 2.0),)]


@dataclass(frozen=True)
class DeepLinearConfig(_ModelConfig):
    """Deep linear teacher-student model with noise added by hand
    (:doc:`/theory/deep_linear`, update :eq:`dl-update`).

    The student is the end-to-end map M = W_L ... W_1 of L layers W_l (n_l, n_{l-1}),
    trained on the loss ``|(M - M_T) x|^2 / 2`` of inputs x ~ N(0, 1) in R^{n_0}, averaged over
    a batch of B, with i.i.d. N(0, A^2 / B) entries added to every layer's gradient. The
    recorded spectrum is the singular values of M, ascending (min(n_0, n_L) of them).

    Parameters
    ----------
    widths : tuple of int
        n_0, n_1, ..., n_L: the input width, the hidden widths and the output width (at
        least two: L = len(widths) - 1 >= 1 layers).
    teacher : tuple of float, or tuple of tuple of float
        The teacher M_T: an (n_L, n_0) matrix used as it is, or, when n_0 = n_L, its
        n_0 singular values kappa (the teacher is then diag(kappa): the law of the
        end-to-end spectrum does not depend on the teacher's singular bases, since the
        inputs, the noise and the initial layers are all isotropic).
    noise : float
        The amplitude A of the noise added by hand (>= 0): N(0, A^2 / B) entries on every
        layer's gradient.
    lr : float
        The learning rate alpha.
    batch_size : int
        B, the number of inputs per step.
    steps : int
        Training steps.
    snapshots : int or tuple of int
        An integer n (n evenly spaced snapshots after step 0, the last at ``steps``) or the
        steps themselves; the spectrum at step 0 is always recorded.
    burn_in : int
        With ``record_every``: the first recorded step of a time series, in [0, steps].
        Default 0.
    record_every : int, optional
        Record a time series instead of ``snapshots``: the spectrum every this many steps
        from ``burn_in`` on. Unset (the default): ``snapshots`` decides.
    init : {"normal", "balanced"}
        The initial layers: "normal" (the default), every entry N(0, init_std^2),
        independently; "balanced", the balanced factorisation of the teacher
        (:attr:`balanced_layers`: every balancedness matrix zero, the end-to-end map the
        teacher) plus those N(0, init_std^2) entries (``init_std = 0``: exactly balanced;
        a hidden layer narrower than the teacher's rank starts at its best approximation
        of that rank).
    init_std : float
        The standard deviation of the independent normal entries every layer starts with
        (on top of the balanced factorisation with ``init = "balanced"``).
    sampler : {"auto", "wishart", "explicit"}
        How the batch covariance C_B of the inputs is drawn, both exact in distribution:
        "wishart" from its Wishart law (Bartlett's factor; needs B >= n_0), "explicit" as
        (1/B) X^T X of B drawn inputs (any B). "auto" (the default) takes "wishart" when
        B >= n_0 and "explicit" otherwise (:func:`~dysonlearn.config.resolve_dl_sampler`),
        and is resolved here: the configuration, ``to_dict`` and the store hold the sampler
        used; :meth:`replace` resolves "auto" again.
    optimizer : SGD, Momentum, Adam, AdamW or dict
        How each layer's stochastic gradient becomes its update (:doc:`/theory/optimizers`);
        default :class:`~dysonlearn.SGD`.

    Raises
    ------
    ConfigError
        Any invalid field, or fields that cannot work together (a teacher whose shape does
        not fit the widths, the Wishart sampler with B < n_0, a size too large for
        memory): every problem at once.

    Examples
    --------
    >>> import dysonlearn as dl
    >>> cfg = dl.DeepLinearConfig(widths=[4, 4, 4], teacher=[2.0, 2.0, 2.0, 2.0])
    >>> cfg.n_layers, cfg.n_weights, cfg.n_modes, cfg.sampler
    (2, 32, 4, 'wishart')
    """

    widths: tuple = (2, 2, 2)
    teacher: tuple = (2.0, 2.0)
    noise: float = 0.1
    lr: float = 0.1
    batch_size: int = 16
    steps: int = 5000
    snapshots: int | tuple[int, ...] = 5
    burn_in: int = _burn_in_field()
    record_every: int | None = _record_every_field()
    init_std: float = 0.1
    sampler: str = "auto"
    optimizer: object = SGD()
    init: str = "normal"

    kind = "deep_linear"
    RULES: ClassVar[tuple[FieldRule, ...]] = (
        FieldRule("widths", Widths()),
        FieldRule("teacher", DeepTeacher(minimum=1)),
        FieldRule("noise", Real(0.0, closed=True)),
        *TRAINING_RULES,
        FieldRule("init", Choice(DL_INITS)),
        # 0 is meaningful on top of the balanced factorisation (an exactly balanced start);
        # from "normal" it is refused below (all layers zero: a saddle of the loss).
        FieldRule("init_std", Real(0.0, closed=True)),
        FieldRule("sampler", Choice(DL_SAMPLERS)),
    )
    """The per-field rules, checked in this order (rules across fields are code)."""

    def __post_init__(self) -> None:
        self._normalise()
        problems = Problems()
        check_table(problems, self, self.RULES)
        self._check_recording(problems)
        shapes = problems.ok("widths", "teacher") and self._check_teacher_shape(problems)
        sizes = shapes and problems.ok("batch_size")
        if sizes:
            n0 = self.widths[0]
            sizes = self._check_sizes(
                problems, [("batch_size", INT_MAX, _C_INT)],
                [("batch_size", "batch_size x n_0", self.batch_size * n0)],
            )  # fmt: skip
        if sizes and self.sampler == "wishart" and self.batch_size < self.widths[0]:
            problems.add(
                "sampler",
                f"'wishart' needs batch_size >= n_0 = {self.widths[0]}, batch_size is "
                f"{self.batch_size} (use 'explicit': drawn inputs, any batch size; or 'auto')",
                self.sampler,
            )
        if problems.ok("init", "init_std") and self.init == "normal" and self.init_std == 0:
            problems.add("init_std", "must be > 0 with init = 'normal' (all layers zero are a "
                         "saddle of the loss); 0 is for init = 'balanced'", self.init_std)
        self._check_optimizer(problems)
        problems.raise_if_any()
        self._resolve_auto_sampler(lambda: resolve_dl_sampler(self.widths[0], self.batch_size))
        # The stiffest end-to-end mode's curvature lambda :eq:`dl-curvature`.
        self._warn_momentum_stability(float(np.max(self.curvatures)))

    def _check_teacher_shape(self, problems: Problems) -> bool:
        """The teacher fits the widths: an (n_L, n_0) matrix, or n_0 = n_L singular values."""
        n0, nl = self.widths[0], self.widths[-1]
        if self.teacher_is_matrix:
            rows, cols = len(self.teacher), len(self.teacher[0])
            if (rows, cols) != (nl, n0):
                problems.add(
                    "teacher",
                    f"must be an n_L x n_0 = {nl} x {n0} matrix for widths "
                    f"{list(self.widths)}",
                    _Text(f"a {rows} x {cols} matrix"),
                )
                return False
            return True
        if n0 != nl:
            problems.add(
                "teacher",
                f"a list of singular values needs n_0 = n_L (widths {list(self.widths)} "
                f"have n_0 = {n0}, n_L = {nl}); give the n_L x n_0 matrix instead",
                self.teacher,
            )
            return False
        if len(self.teacher) != n0:
            problems.add(
                "teacher", f"must have n_0 = n_L = {n0} singular values (one per mode)",
                self.teacher,
            )  # fmt: skip
            return False
        return True

    @property
    def n_layers(self) -> int:
        """L, the number of layers."""
        return len(self.widths) - 1

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        """(n_l, n_{l-1}) of W_1, ..., W_L."""
        return [(self.widths[i + 1], self.widths[i]) for i in range(self.n_layers)]

    @property
    def n_weights(self) -> int:
        """sum_l n_l n_{l-1}: the weights of one replica, all layers."""
        return sum(rows * cols for rows, cols in self.layer_shapes)

    @property
    def n_modes(self) -> int:
        """min(n_0, n_L): the number of singular values of the end-to-end map."""
        return min(self.widths[0], self.widths[-1])

    @property
    def balanced_layers(self) -> list[np.ndarray]:
        """A balanced factorisation of the teacher, W_1 .. W_L (``init = "balanced"``).

        With the teacher's singular value decomposition M_T = U diag(kappa) V^T and
        k = min(n_0, ..., n_L) its k largest singular values: W_1 = E_1 K V_k^T,
        W_l = E_l K E_{l-1}^T, W_L = U_k K E_{L-1}^T, K = diag(kappa_k)^(1/L), E_l the first
        k columns of the identity of width n_l. Every balancedness matrix
        W_{l+1}^T W_{l+1} - W_l W_l^T :eq:`dl-balancedness` is zero, and the end-to-end
        map is the best rank-k approximation of M_T (M_T itself when the narrowest width
        allows its rank).
        """
        widths = self.widths
        k = min(widths)
        u, s, vt = np.linalg.svd(self.teacher_matrix)
        factor = np.diag(s[:k] ** (1.0 / self.n_layers))
        layers = []
        for i in range(1, len(widths)):
            left = u[:, :k] if i == self.n_layers else np.eye(widths[i])[:, :k]
            right = vt[:k, :] if i == 1 else np.eye(widths[i - 1])[:k, :]
            layers.append(left @ factor @ right)
        return layers

    @property
    def layer_modes(self) -> list[int]:
        """min(n_{l-1}, n_l) for l = 1 .. L: the number of singular values of each layer
        (recorded at every snapshot beside the end-to-end ones)."""
        return [min(rows, cols) for rows, cols in self.layer_shapes]

    @property
    def result_bytes_per_replica(self) -> int:
        """Bytes of one replica's results: the end-to-end and every layer's singular values
        at S snapshots, float64, and its failure flag and step (16 bytes)."""
        return 8 * self.n_snapshots * (self.n_modes + sum(self.layer_modes)) + 16

    @property
    def teacher_is_matrix(self) -> bool:
        """Whether ``teacher`` is a matrix (else its singular values)."""
        return bool(self.teacher) and isinstance(self.teacher[0], tuple)

    @property
    def teacher_matrix(self) -> np.ndarray:
        """M_T (n_L, n_0): the matrix given, or diag(kappa) of the singular values."""
        if self.teacher_is_matrix:
            return np.array(self.teacher, dtype=np.float64)
        return np.diag(np.asarray(self.teacher, dtype=np.float64))

    @property
    def teacher_singular_values(self) -> np.ndarray:
        """The teacher's singular values, ascending (n_modes of them)."""
        if self.teacher_is_matrix:
            return np.sort(np.linalg.svd(self.teacher_matrix, compute_uv=False))
        return np.sort(np.abs(np.asarray(self.teacher, dtype=np.float64)))

    @property
    def stationary_levels(self) -> np.ndarray:
        """The teacher's singular values, ascending: where the end-to-end map's settle."""
        return self.teacher_singular_values

    @property
    def curvatures(self) -> np.ndarray:
        """lambda_i = L kappa_i^(2 (L - 1) / L): the curvature of the drift of the end-to-end
        singular value i at balanced layers :eq:`dl-curvature` (1 for L = 1)."""
        kappa = self.teacher_singular_values
        return self.n_layers * kappa ** (2.0 * (self.n_layers - 1) / self.n_layers)

    @property
    def level_widths(self) -> np.ndarray:
        """sigma_i = sqrt(lr A^2 / (2 B)) / sqrt(1 - lr lambda_i / 2) :eq:`dl-level-width`,
        the width of the end-to-end singular value i for balanced layers (the lr -> 0 limit
        holds for any layers); with momentum lr A^2 / (2 B) times the heavy-ball (or
        Nesterov) iteration's variance factor at curvature lambda_i, lr_eff A^2 / (2 B) at
        small lr :eq:`effective-lr`. NaN where no closed form exists: a zero singular value
        of the teacher at L >= 2 (a saddle, not a minimum), lr beyond the optimiser's
        stability limit (no stationary state), or Adam and AdamW."""
        widths = np.full(self.n_modes, np.nan)
        kappa, curvature = self.teacher_singular_values, self.curvatures
        minimum = (kappa > 0) | (self.n_layers == 1)
        small_lr = self.lr * self.noise**2 / (2 * self.batch_size)
        if isinstance(self.optimizer, SGD):  # (the closed form, as it has always been rounded)
            ok = (self.lr * curvature < 2) & minimum
            with np.errstate(invalid="ignore", divide="ignore"):
                values = np.sqrt(small_lr / (1 - self.lr * curvature / 2))
            widths[ok] = values[ok]
            return widths
        for i in np.flatnonzero(minimum):
            # The linearised iteration on mode i is the optimiser's on a drift of curvature
            # lambda_i, with noise of variance proportional to lambda_i (the same map acts on
            # drift and noise): its variance over SGD's small-lr one is variance_factor.
            widths[i] = math.sqrt(small_lr * self.optimizer.variance_factor(self.lr, curvature[i]))
        widths[~np.isfinite(widths)] = np.nan
        return widths

    def layer_pair_spacing(self, step) -> np.ndarray:
        """<S_l> = sqrt(pi (1 - 1/L)) A lr sqrt(t / B) :eq:`dl-layer-spacing`: the mean
        spacing of the pair of singular values each layer carries for a degenerate pair of
        the teacher, t steps after an exactly balanced start (``init = "balanced"``,
        ``init_std = 0``), to first order in the spread: the layers diffuse freely along
        the directions that leave the end-to-end map unchanged. The same for every layer;
        0 for one layer. With momentum lr^2 t becomes the optimiser's
        :meth:`~dysonlearn.Momentum.free_diffusion` (lr_eff^2 t once t >> 1 / (1 - beta));
        NaN under Adam and AdamW.

        Parameters
        ----------
        step : int or array_like of int
            Steps t since the balanced start.

        Returns
        -------
        numpy.ndarray
            <S_l> at each step.
        """
        t = np.asarray(step, dtype=np.float64)
        if not isinstance(self.optimizer, SGD):
            variance = self.optimizer.free_diffusion(self.lr, t)
            return np.sqrt(math.pi * (1.0 - 1.0 / self.n_layers) * self.noise**2
                           * variance / self.batch_size)  # fmt: skip
        rate = math.sqrt(math.pi * (1.0 - 1.0 / self.n_layers)) * self.noise * self.lr
        return rate * np.sqrt(t / self.batch_size)

    def _work_doubles(self) -> int:
        """Doubles of the kernel's work space (deep_linear.pyx's dln_work_alloc)."""
        n0, nl, nb = self.widths[0], self.widths[-1], self.batch_size
        k = max(min(n0, nl), *self.layer_modes)  # the largest Gram of a snapshot
        return (n0 * n0 + max(n0 * n0, nb * n0) + n0 * sum(self.widths[1:])
                + 2 * max(self.widths[1:]) * n0 + nl * n0 + self.n_weights + k * k
                + 2 * k + 1)  # fmt: skip

    def _memory_parts(self, spectra: bool = True) -> list[tuple[float, str, str]]:
        """(bytes, field to change, what) of everything one replica needs (see
        deep_linear.pyx's dln_work_alloc and models/deep_linear.py); ``spectra``: count the
        snapshots."""
        nb, n0 = self.batch_size, self.widths[0]
        return [
            (8.0 * (2 * self.n_weights + self._work_doubles() - nb * n0), "widths",
             "its layers, the teacher and the work space"),
            (8.0 * nb * n0, "batch_size", "a batch's inputs, batch_size x n_0 doubles"),
            self._spectra_part(spectra, self.n_modes + sum(self.layer_modes)),
        ]  # fmt: skip

    @property
    def state_bytes_per_replica(self) -> int:
        """Bytes of one replica's state: its layers and its optimiser's state."""
        size = self.optimizer.state_size(self.n_weights) if self.optimizer else 0
        return 8 * (self.n_weights + size)

    @property
    def shared_bytes(self) -> int:
        """Bytes needed once per process: the kernel's work space and the teacher."""
        return 8 * (self._work_doubles() + self.widths[0] * self.widths[-1])
