"""Exceptions raised for invalid input."""

from __future__ import annotations


class ConfigError(ValueError):
    """An invalid configuration or argument.

    ``problems`` holds one message per violated rule, each naming the field, the value
    received and the rule; ``str(error)`` joins them one per line.
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
