"""Checks shared by the configuration classes: each returns a problem message or None.

Messages follow one pattern, "<field>: <rule>, got <value>", so that the command line can
print them one per line and a user can fix them without reading code.
"""

from __future__ import annotations

import math
import numbers

from .errors import ConfigError


class Problems:
    """Collects every violated rule of one object before raising a single ConfigError."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, field: str, rule: str, value: object) -> None:
        self.messages.append(f"{field}: {rule}, got {value!r}")

    def raise_if_any(self) -> None:
        if self.messages:
            raise ConfigError(self.messages)


def is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(problems: Problems, field: str, value: object, minimum: int) -> bool:
    if not is_int(value) or value < minimum:
        problems.add(field, f"must be an integer >= {minimum}", value)
        return False
    return True


def check_positive(problems: Problems, field: str, value: object) -> bool:
    if not is_real(value) or not math.isfinite(value) or value <= 0:
        problems.add(field, "must be a finite number > 0", value)
        return False
    return True


def check_choice(problems: Problems, field: str, value: object, choices: tuple[str, ...]) -> bool:
    if value not in choices:
        problems.add(field, f"must be one of {', '.join(map(repr, choices))}", value)
        return False
    return True
