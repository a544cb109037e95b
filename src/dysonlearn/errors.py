"""Exceptions raised for invalid input, and the problem records they carry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

# A value shown in a message is cut to about this many characters: one line per problem.
_MAX_SHOWN = 160


def _listed(value: object) -> object:
    """Tuples as lists: configurations store a user's lists as tuples, show them as given."""
    if isinstance(value, tuple):
        return [_listed(v) for v in value]
    return value


def shown(value: object) -> str:
    """``repr(value)`` on one line, shortened for long values (large lists, arrays).

    Parameters
    ----------
    value : object
        Anything.

    Returns
    -------
    str
        At most about 160 characters, tuples shown as lists.
    """
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


class _NoValue:
    """Marks a problem that is not about one received value (an unknown key, a missing
    file): its message ends with the rule, without ", got ..."."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class Problem:
    """One violated rule: which field, what it must satisfy, what was received.

    Parameters
    ----------
    field : str
        The field's name as the user wrote it (``"lr"``, ``"train.lr"``); empty when the
        problem is about no single field.
    rule : str
        What the value must satisfy, in the user's terms ("must be a finite number > 0").
    value : object, optional
        The value received; :data:`NO_VALUE` when there is none to show.

    Examples
    --------
    >>> str(Problem("lr", "must be a finite number > 0", -1.0))
    'lr: must be a finite number > 0, got -1.0'
    >>> str(Problem("lr", "must be a finite number > 0", -1.0).within("train"))
    'train.lr: must be a finite number > 0, got -1.0'
    """

    field: str
    rule: str
    value: object = NO_VALUE

    def __str__(self) -> str:
        head = f"{self.field}: {self.rule}" if self.field else self.rule
        return head if self.value is NO_VALUE else f"{head}, got {shown(self.value)}"

    def within(self, section: str) -> Problem:
        """The same problem with its field named inside ``section`` ("train.lr").

        Parameters
        ----------
        section : str
            The enclosing section's name.

        Returns
        -------
        Problem
        """
        return replace(self, field=f"{section}.{self.field}" if self.field else section)


class ConfigError(ValueError):
    """An invalid configuration or argument, refused before any work is done.

    Parameters
    ----------
    problems : str, Problem, or iterable of str or Problem
        One entry per violated rule. A plain string is a whole message about no single
        field.

    Attributes
    ----------
    details : tuple of Problem
        The problems as records: ``(field, rule, value)`` each, for programs that need to
        know which field failed which rule without reading the messages.
    problems : list of str
        The messages, one line "field: rule, got value" each; ``str(error)`` joins them one
        per line, and the command line prints each as "dysonlearn: error: <message>" and
        exits with status 2.
    """

    def __init__(self, problems: str | Problem | Iterable[str | Problem]):
        if isinstance(problems, str | Problem):
            problems = [problems]
        self.details = tuple(p if isinstance(p, Problem) else Problem("", p) for p in problems)
        self.problems = [str(p) for p in self.details]
        super().__init__("\n".join(self.problems))


class StoreError(ConfigError):
    """A results store or output that cannot be used as it is: damaged, locked by another
    run, not writable, or on a full disk.

    A :class:`ConfigError`, so that the command line answers it like any bad input (exit 2,
    one line); the message says what is wrong and what can be recovered.

    Parameters
    ----------
    problems : str, Problem, or iterable of str or Problem
        One entry per problem (see :class:`ConfigError`).
    """
