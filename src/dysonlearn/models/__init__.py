"""The models, as plugins: :data:`MODELS` maps a TOML ``kind`` to its :class:`Model`.

Every module of this package that defines ``MODEL`` (an instance of a
:class:`~dysonlearn.models.base.Model` subclass) is registered under ``MODEL.kind``: a new
model is its configuration class, its module here and its kernel, and nothing else (see
:mod:`dysonlearn.models.base` for what a model provides).
"""

from __future__ import annotations

import importlib
import pkgutil

from ..errors import ConfigError
from .base import MEMBERS, Model

# The article's models come first (the order of error messages listing the kinds); any
# other model module follows in alphabetical order.
_ARTICLE_ORDER = ("rbm", "teacher_student", "dyson")


def _discover() -> dict[str, Model]:
    """Import every module of this package and collect the ``MODEL`` each defines."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        model = getattr(module, "MODEL", None)
        if isinstance(model, Model):
            found.append(model)
    rank = {name: i for i, name in enumerate(_ARTICLE_ORDER)}
    found.sort(key=lambda m: (rank.get(m.kind, len(rank)), m.kind))
    return {model.kind: model for model in found}


MODELS: dict[str, Model] = _discover()


def model_for(config: object) -> Model:
    """The model that trains ``config``.

    Parameters
    ----------
    config : object
        A model configuration: an instance of some ``MODELS[kind].config_class``.

    Returns
    -------
    Model
        ``MODELS[type(config).kind]``.

    Raises
    ------
    ConfigError
        ``config`` is not the configuration of a registered model.
    """
    model = MODELS.get(getattr(type(config), "kind", None))
    if model is None or not isinstance(config, model.config_class):
        raise ConfigError(
            f"config: expected a dysonlearn model configuration, got {type(config)!r}"
        )
    return model


__all__ = ["MEMBERS", "MODELS", "Model", "model_for"]
