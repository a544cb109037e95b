"""Checks shared by the configuration classes, and the memory they may need.

Messages follow one pattern, "<field>: <rule>, got <value>", one line each, so that the
command line can print them one per line and a user can fix them without reading code.

Besides the per-field checks this module knows two limits of the machine, so that a run that
cannot work is refused before anything is allocated or written:

- the compiled kernels take sizes (N, B, k, data-set points) as C ``int`` and step counts as
  ``int64``: :data:`INT_MAX` and :data:`STEPS_MAX`;
- the memory available now (:func:`available_memory`), against which the configurations check
  their own estimates (see ``RBMConfig.bytes_for_one_replica`` and friends).
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError, Problem

INT_MAX = 2**31 - 1
"""Largest C ``int``: the compiled kernels take N, B, k and data-set sizes (and some of their
products) as ``int``, so anything larger would wrap around instead of failing."""

STEPS_MAX = 2**62
"""Largest number of training steps: step counters are ``int64``, and the headroom of a
factor 2 keeps ``stop + 1`` and the step arithmetic of a run far from overflowing."""

INT64_MAX = 2**63 - 1
"""Largest ``int64``: bounds replicas x steps, the replica-steps a run counts."""

# Estimates below this many bytes are taken to fit without asking the system: ordinary
# configurations then never depend on the machine's momentary state.
_SMALL_BYTES = 64 * 2**20

class Problems:
    """Collects every violated rule of one object before raising a single ConfigError.

    Attributes
    ----------
    items : list of Problem
        One record ``(field, rule, value)`` per problem, in the order found.
    fields : set of str
        The fields that have a problem, so that checks depending on them can be skipped
        (a derived rule is not reported on top of the broken field it derives from).
    """

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.fields: set[str] = set()

    @property
    def messages(self) -> list[str]:
        """One line "field: rule, got value" per problem, in the order found."""
        return [str(problem) for problem in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def add(self, field: str, rule: str, value: object) -> None:
        """Record "<field>: <rule>, got <value>".

        Parameters
        ----------
        field : str
            The field's name as the user wrote it (``"lr"``, ``"train.lr"``).
        rule : str
            What the value must satisfy, in the user's terms.
        value : object
            The value received; shown with ``repr`` on one line, shortened if long.
        """
        self.record(Problem(field, rule, value))

    def note(self, field: str, rule: str) -> None:
        """Record a problem that has no single value to show: "<field>: <rule>".

        Parameters
        ----------
        field : str
            The field the problem is about (an unknown key, a misplaced section).
        rule : str
            What is wrong, in the user's terms.
        """
        self.record(Problem(field, rule))

    def record(self, problem: Problem) -> None:
        """Record a problem made elsewhere (e.g. one of another object, renamed with
        :meth:`Problem.within`), once: an identical record is not repeated.

        Parameters
        ----------
        problem : Problem
        """
        # Compared as messages: values may be arrays, whose == is elementwise.
        if str(problem) not in map(str, self.items):
            self.items.append(problem)
        self.fields.add(problem.field)

    def ok(self, *fields: str) -> bool:
        """Whether none of ``fields`` has a problem so far.

        Parameters
        ----------
        *fields : str
            Field names.

        Returns
        -------
        bool
        """
        return not self.fields.intersection(fields)

    def raise_if_any(self) -> None:
        """Raise the collected problems, if any.

        Raises
        ------
        ConfigError
            With one record per problem.
        """
        if self.items:
            raise ConfigError(self.items)


def is_int(value: object) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), booleans excluded.

    Parameters
    ----------
    value : object

    Returns
    -------
    bool
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def is_real(value: object) -> bool:
    """Whether ``value`` is a real number (Python or NumPy), booleans excluded.

    Parameters
    ----------
    value : object

    Returns
    -------
    bool
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _limit_text(limit: int) -> str:
    """A limit as the user can recognise it: "2**31 - 1 = 2147483647"."""
    for exponent in (30, 31, 62, 63):
        if limit == 2**exponent:
            return f"2**{exponent} = {limit}"
        if limit == 2**exponent - 1:
            return f"2**{exponent} - 1 = {limit}"
    return str(limit)


# --- declarative rules ----------------------------------------------------------------------
#
# A configuration lists its per-field rules as a table (see ``RBMConfig.RULES``): the field,
# its type with an interval or its choices, and when the rule applies. The same table checks
# the field, documents it and generates the invalid values of the test suite; rules that tie
# several fields together (a Marchenko-Pastur edge below mu^2, memory) stay code.


class Rule:
    """What one field's value must be. Subclasses say it three ways: :meth:`violation`
    (the check), :meth:`describe` (the documentation) and :meth:`invalid_examples` (values
    that must be refused, for the generated tests)."""

    def violation(self, value: object, owner: object = None) -> str | None:
        """The rule ``value`` breaks, in the user's terms, or None if it is valid.

        Parameters
        ----------
        value : object
            The value to check (anything).
        owner : object, optional
            The object the field belongs to, for rules that depend on another field.

        Returns
        -------
        str or None
        """
        raise NotImplementedError

    def describe(self) -> str:
        """The rule in the user's terms, for documentation ("an integer >= 1")."""
        raise NotImplementedError

    def invalid_examples(self) -> list:
        """Values that break the rule (wrong type, out of range, not a choice)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Integer(Rule):
    """An integer (Python or NumPy, not a bool) in [minimum, maximum].

    Parameters
    ----------
    minimum : int
        Smallest allowed value.
    maximum : int, optional
        Largest allowed value (no upper bound by default).
    why : str, optional
        Why the maximum exists, shown in parentheses after the rule.
    """

    minimum: int
    maximum: int | None = None
    why: str = ""

    def violation(self, value: object, owner: object = None) -> str | None:
        if not is_int(value) or value < self.minimum:
            return f"must be an integer >= {self.minimum}"
        if self.maximum is not None and value > self.maximum:
            reason = f" ({self.why})" if self.why else ""
            return f"must be at most {_limit_text(self.maximum)}{reason}"
        return None

    def describe(self) -> str:
        if self.maximum is None:
            return f"an integer >= {self.minimum}"
        return f"an integer in [{self.minimum}, {_limit_text(self.maximum)}]"

    def invalid_examples(self) -> list:
        out = [self.minimum - 1, float(self.minimum) + 0.5, str(self.minimum), True, None]
        if self.maximum is not None:
            out.append(self.maximum + 1)
        return out


@dataclass(frozen=True)
class Real(Rule):
    """A finite real number (not a bool) above ``low``: ``> low`` (``closed=False``, the
    default) or ``>= low``.

    Parameters
    ----------
    low : float
        The lower bound.
    closed : bool, optional
        Whether ``low`` itself is allowed.
    """

    low: float = 0.0
    closed: bool = False

    @property
    def _text(self) -> str:
        return f"a finite number {'>=' if self.closed else '>'} {self.low:g}"

    def violation(self, value: object, owner: object = None) -> str | None:
        if not is_real(value) or not math.isfinite(value):
            return f"must be {self._text}"
        if value < self.low or (value == self.low and not self.closed):
            return f"must be {self._text}"
        return None

    def describe(self) -> str:
        return self._text

    def invalid_examples(self) -> list:
        below = self.low - 1.0 if self.closed else self.low
        return [below, math.nan, math.inf, str(self.low + 1.0), True, None]


@dataclass(frozen=True)
class Fraction(Rule):
    """A finite real number in ``[0, 1)``: a decay rate such as momentum's beta, for which 1
    means a memory that never forgets (and the update never settles).
    """

    def violation(self, value: object, owner: object = None) -> str | None:
        if not is_real(value) or not math.isfinite(value) or not 0.0 <= value < 1.0:
            return "must be a finite number in [0, 1)"
        return None

    def describe(self) -> str:
        return "a finite number in [0, 1)"

    def invalid_examples(self) -> list:
        return [-0.1, 1.0, 1.5, math.nan, "0.9", True, None]


@dataclass(frozen=True)
class Choice(Rule):
    """One of a few strings.

    Parameters
    ----------
    choices : tuple of str
        The allowed values.
    """

    choices: tuple[str, ...]

    def violation(self, value: object, owner: object = None) -> str | None:
        if not isinstance(value, str) or value not in self.choices:
            return f"must be one of {', '.join(map(repr, self.choices))}"
        return None

    def describe(self) -> str:
        return "one of " + ", ".join(map(repr, self.choices))

    def invalid_examples(self) -> list:
        return ["not-a-choice", self.choices[0].upper() + "!", 1, None]


@dataclass(frozen=True)
class Boolean(Rule):
    """``True`` or ``False`` (a Python or NumPy bool; 0 and 1 are refused)."""

    def violation(self, value: object, owner: object = None) -> str | None:
        if not isinstance(value, bool):
            return "must be true or false"
        return None

    def describe(self) -> str:
        return "true or false"

    def invalid_examples(self) -> list:
        return [1, "yes", None]


@dataclass(frozen=True)
class FieldRule:
    """One row of a configuration's rule table.

    Parameters
    ----------
    field : str
        The field's name.
    rule : Rule
        What its value must be.
    optional : bool, optional
        None is allowed (and means "the default described in the docstring").
    when : tuple of (str, tuple of str), optional
        The rule applies only when each named field has one of the listed values, e.g.
        ``(("init", ("normal",)),)``: ``init_std`` matters only for ``init = "normal"``.
        Those fields come earlier in the table.
    """

    field: str
    rule: Rule
    optional: bool = False
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def applies(self, owner: object) -> bool:
        """Whether the rule applies to ``owner`` (every condition of ``when`` holds).

        Parameters
        ----------
        owner : object
            The configuration.

        Returns
        -------
        bool
        """
        return all(getattr(owner, name) in values for name, values in self.when)

    def describe(self) -> str:
        """The row in the user's terms, for documentation.

        Returns
        -------
        str
            E.g. "a finite number > 0 (only when init is 'normal')".
        """
        text = self.rule.describe()
        if self.optional:
            text += ", or unset"
        for name, values in self.when:
            text += f" (only when {name} is {' or '.join(map(repr, values))})"
        return text


def check_table(problems: Problems, owner: object, table: tuple[FieldRule, ...]) -> None:
    """Check every field of ``owner`` that a row of ``table`` covers, in the table's order.

    Parameters
    ----------
    problems : Problems
        Where violations are recorded, as ``(field, rule, value)``.
    owner : object
        The configuration whose attributes are checked.
    table : tuple of FieldRule
        Its rule table.
    """
    for row in table:
        if not row.applies(owner):
            continue
        value = getattr(owner, row.field)
        if value is None and row.optional:
            continue
        rule = row.rule.violation(value, owner)
        if rule is not None:
            problems.add(row.field, rule, value)


def check_int(
    problems: Problems,
    field: str,
    value: object,
    minimum: int,
    maximum: int | None = None,
    why: str = "",
) -> bool:
    """Check that ``value`` is an integer in [minimum, maximum] (see :class:`Integer`).

    Parameters
    ----------
    problems : Problems
        Where a violation is recorded.
    field : str
        The field's name.
    value : object
        The value to check.
    minimum : int
        Smallest allowed value.
    maximum : int, optional
        Largest allowed value (no upper bound by default).
    why : str, optional
        Why the maximum exists, shown in parentheses after the rule.

    Returns
    -------
    bool
        True if the value is valid.
    """
    return check_rule(problems, field, value, Integer(minimum, maximum, why))


def check_positive(problems: Problems, field: str, value: object) -> bool:
    """Check that ``value`` is a finite real number > 0 (see :class:`Real`).

    Parameters
    ----------
    problems : Problems
        Where a violation is recorded.
    field : str
        The field's name.
    value : object
        The value to check.

    Returns
    -------
    bool
        True if the value is valid.
    """
    return check_rule(problems, field, value, Real(0.0))


def check_choice(problems: Problems, field: str, value: object, choices: tuple[str, ...]) -> bool:
    """Check that ``value`` is one of the strings ``choices`` (see :class:`Choice`).

    Parameters
    ----------
    problems : Problems
        Where a violation is recorded.
    field : str
        The field's name.
    value : object
        The value to check (anything: arrays and unhashable values are refused cleanly).
    choices : tuple of str
        The allowed values.

    Returns
    -------
    bool
        True if the value is valid.
    """
    return check_rule(problems, field, value, Choice(tuple(choices)))


def check_rule(problems: Problems, field: str, value: object, rule: Rule) -> bool:
    """Check one value against a rule, recording a violation as ``(field, rule, value)``.

    Parameters
    ----------
    problems : Problems
        Where a violation is recorded.
    field : str
        The field's name.
    value : object
        The value to check.
    rule : Rule
        What it must be.

    Returns
    -------
    bool
        True if the value is valid.
    """
    violation = rule.violation(value)
    if violation is not None:
        problems.add(field, violation, value)
    return violation is None


def _rectangular_reals(value: object, depth: int) -> bool:
    """Whether ``value`` nests lists/tuples ``depth`` deep with real numbers at the bottom."""
    if depth == 0:
        return is_real(value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iuf" and value.ndim == depth
    return isinstance(value, list | tuple) and all(
        _rectangular_reals(item, depth - 1) for item in value
    )


def real_array(
    problems: Problems, field: str, value: object, ndim: int, rule: str
) -> np.ndarray | None:
    """``value`` as a float64 array of ``ndim`` dimensions, all entries finite, or None.

    Stricter than ``np.asarray(value, float)``: strings ("1.5"), booleans and ragged or
    wrongly nested lists are refused instead of being converted or raising.

    Parameters
    ----------
    problems : Problems
        Where a violation is recorded.
    field : str
        The field's name.
    value : object
        A (nested) list or tuple of real numbers, or a numeric NumPy array.
    ndim : int
        1 for a list of numbers, 2 for a matrix (a list of equal-length rows).
    rule : str
        The rule shown when the structure is wrong, e.g. "must be a list of numbers".

    Returns
    -------
    numpy.ndarray or None
        The array, or None after recording a problem.
    """
    if isinstance(value, np.ndarray):
        ok = value.dtype.kind in "iuf" and value.ndim == ndim
    else:
        ok = _rectangular_reals(value, ndim)
    array = None
    if ok:
        try:
            array = np.array(value, dtype=np.float64)
        except OverflowError:  # an integer beyond the float range
            problems.add(field, "every value must be finite", value)
            return None
        except (TypeError, ValueError):  # ragged rows
            array = None
    if array is None or array.ndim != ndim:
        problems.add(field, rule, value)
        return None
    if not np.all(np.isfinite(array)):
        problems.add(field, "every value must be finite", value)
        return None
    return array


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now, without swapping.

    Linux: ``MemAvailable`` of ``/proc/meminfo`` (free memory plus what the kernel can
    reclaim, the figure ``free`` shows as "available"). Elsewhere: the free physical pages
    (``os.sysconf("SC_AVPHYS_PAGES")``), else all physical memory (``SC_PHYS_PAGES``).

    Returns
    -------
    int or None
        Bytes, or None when the system does not say (then no memory check is made).

    Notes
    -----
    On a shared machine this changes from moment to moment: use it to refuse what cannot
    fit by a wide margin (a single replica, a whole ensemble's results), not to plan to the
    last megabyte.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    for pages_name in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        try:
            pages, size = os.sysconf(pages_name), os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            continue
        if pages > 0 and size > 0:
            return int(pages) * int(size)
    return None


def format_bytes(count: float) -> str:
    """A byte count in decimal units with three significant digits: "6.4 GB", "512 B".

    Parameters
    ----------
    count : float
        Bytes (>= 0; inf is shown as "inf B").

    Returns
    -------
    str
    """
    count = float(count)
    if not math.isfinite(count):
        return f"{count} B"
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(count) < 999.5:
            return f"{count:.3g} {unit}"
        count /= 1000.0
    return f"{count:.3g} EB"


def memory_problem(
    needed: float, what: str, available: int | None = None, detail: str = ""
) -> str | None:
    """The rule a memory need violates, or None if it fits.

    Parameters
    ----------
    needed : float
        Bytes needed.
    what : str
        What needs them, in the user's terms: "one replica", "the results of 1000
        replicas".
    available : int, optional
        Bytes available; by default :func:`available_memory`, asked only when ``needed``
        exceeds 64 MiB (smaller needs are taken to fit).
    detail : str, optional
        Where most of the memory goes, shown in parentheses after the estimate.

    Returns
    -------
    str or None
        E.g. "one replica needs 6.4 GB (6.4 GB of it for its chains), more than the 3.1 GB
        of memory available", to be used as the rule of :meth:`Problems.add`; None when it
        fits or the system does not say how much memory is available.

    Examples
    --------
    >>> memory_problem(8e9, "one replica", available=4_000_000_000)
    'one replica needs 8 GB, more than the 4 GB of memory available'
    """
    if needed <= _SMALL_BYTES and available is None:
        return None
    if available is None:
        available = available_memory()
    if available is None or needed <= available:
        return None
    detail = f" ({detail})" if detail else ""
    return (
        f"{what} needs {format_bytes(needed)}{detail}, more than the "
        f"{format_bytes(available)} of memory available"
    )
