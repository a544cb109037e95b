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
