"""Exceptions raised for invalid input."""

from __future__ import annotations


class ConfigError(ValueError):
    """An invalid configuration or argument, refused before any work is done.

    Parameters
    ----------
    problems : str or list of str
        One message per violated rule, each one line "field: rule, got value".

    Attributes
    ----------
    problems : list of str
        The messages; ``str(error)`` joins them one per line, and the command line prints
        each as "dysonlearn: error: <message>" and exits with status 2.
    """

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class StoreError(ConfigError):
    """A results store or output that cannot be used as it is: damaged, locked by another
    run, not writable, or on a full disk.

    A :class:`ConfigError`, so that the command line answers it like any bad input (exit 2,
    one line); the message says what is wrong and what can be recovered.
    """
