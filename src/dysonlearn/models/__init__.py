"""Model adapters: how a configuration becomes initial state and kernel calls.

Each model module provides ``initial_state(config, generators)``, ``advance(config, state,
generators, start, stop, snapshot_steps, eigenvalues, failed, fail_step)``,
``final_weights(state)`` and ``cost_per_replica_step(config)`` (seconds, for planning).
"""

from __future__ import annotations

from types import ModuleType

from ..config import RBMConfig
from . import rbm


def model_for(config: object) -> ModuleType:
    """The model module that trains ``config``."""
    if isinstance(config, RBMConfig):
        return rbm
    raise TypeError(f"config: expected a dysonlearn model configuration, got {type(config)!r}")
