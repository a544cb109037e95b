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

import numpy as np

from .errors import ConfigError

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

# A value shown in a message is cut to about this many characters: one line per problem.
_MAX_SHOWN = 160


def _listed(value: object) -> object:
    """Tuples as lists: configurations store a user's lists as tuples, show them as given."""
    if isinstance(value, tuple):
        return [_listed(v) for v in value]
    return value


def _shown(value: object) -> str:
    """``repr(value)`` on one line, shortened for long values (large lists, arrays)."""
    text = repr(_listed(value))
    if "\n" in text:
        text = " ".join(text.split())
    if len(text) > _MAX_SHOWN:
        try:
            count = f" ({len(value)} values)"  # type: ignore[arg-type]
        except TypeError:
            count = ""
        text = text[: _MAX_SHOWN - 40] + "..." + count
    return text


class Problems:
    """Collects every violated rule of one object before raising a single ConfigError.

    Attributes
    ----------
    messages : list of str
        One line per problem, in the order found.
    fields : set of str
        The fields that have a problem, so that checks depending on them can be skipped
        (a derived rule is not reported on top of the broken field it derives from).
    """

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.fields: set[str] = set()

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
        self.messages.append(f"{field}: {rule}, got {_shown(value)}")
        self.fields.add(field)

    def note(self, field: str, message: str) -> None:
        """Record a message that does not end in "got <value>" (it starts with ``field``).

        Parameters
        ----------
        field : str
            The field the message is about, recorded in :attr:`fields`.
        message : str
            The whole line, starting with the field's name.
        """
        self.messages.append(message)
        self.fields.add(field)

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
            With one message per problem.
        """
        if self.messages:
            raise ConfigError(self.messages)


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


def check_int(
    problems: Problems,
    field: str,
    value: object,
    minimum: int,
    maximum: int | None = None,
    why: str = "",
) -> bool:
    """Check that ``value`` is an integer in [minimum, maximum].

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
    if not is_int(value) or value < minimum:
        problems.add(field, f"must be an integer >= {minimum}", value)
        return False
    if maximum is not None and value > maximum:
        reason = f" ({why})" if why else ""
        problems.add(field, f"must be at most {_limit_text(maximum)}{reason}", value)
        return False
    return True


def check_positive(problems: Problems, field: str, value: object) -> bool:
    """Check that ``value`` is a finite real number > 0.

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
    if not is_real(value) or not math.isfinite(value) or value <= 0:
        problems.add(field, "must be a finite number > 0", value)
        return False
    return True


def check_choice(problems: Problems, field: str, value: object, choices: tuple[str, ...]) -> bool:
    """Check that ``value`` is one of the strings ``choices``.

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
    if not isinstance(value, str) or value not in choices:
        problems.add(field, f"must be one of {', '.join(map(repr, choices))}", value)
        return False
    return True


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
