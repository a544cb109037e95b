"""Model adapters: how a configuration becomes initial state and kernel calls.

Each model module provides ``initial_state(config, generators, shared)`` (``shared``: a
generator for what all replicas share, e.g. a common data set), ``advance(config, state,
generators, start, stop, snapshot_steps, eigenvalues, failed, fail_step, normal_method)``,
``final_weights(state)``, and for planning ``cost_per_replica_step(config)`` (seconds) and
``bytes_per_replica(config)``.
"""

from __future__ import annotations

from types import ModuleType

from ..config import DysonConfig, RBMConfig, TeacherStudentConfig
from ..errors import ConfigError
from . import dyson, rbm, teacher_student

_MODELS = {RBMConfig: rbm, TeacherStudentConfig: teacher_student, DysonConfig: dyson}


def model_for(config: object) -> ModuleType:
    """The model module that trains ``config``."""
    for config_class, module in _MODELS.items():
        if isinstance(config, config_class):
            return module
    raise ConfigError(f"config: expected a dysonlearn model configuration, got {type(config)!r}")
