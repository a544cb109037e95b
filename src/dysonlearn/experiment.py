"""Experiments from TOML files: one model configuration, optionally scanned, plus ensemble size.

Schema (a contract; see DESIGN.md):

    [model]      kind = "rbm" | "teacher_student" | "dyson", then that model's fields
                 (rbm: n_visible, n_hidden, mu, ...; teacher_student: teacher, sampler,
                 protocol, ...; dyson: kappa, drift, mu, ...)
    [target]     rbm only: kind = "free_scalar" (n, m) | "spectrum" (values) | "kernel" (matrix)
    [train]      lr, batch_size, steps, snapshots, and noise (teacher_student, dyson);
                 lr, batch_size and noise may be lists: a scan, one run per combination
    [ensemble]   replicas, seed, bit_generator

Every problem is reported with its key path ("train.lr: ..."), unknown keys with a
did-you-mean suggestion, all at once in one ConfigError.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from . import targets
from .config import DysonConfig, RBMConfig, TeacherStudentConfig
from .ensemble import BIT_GENERATORS
from .errors import ConfigError
from .validation import Problems, check_choice, check_int, is_int

SECTIONS = ("model", "target", "train", "ensemble")
TRAIN_KEYS = ("lr", "batch_size", "steps", "snapshots", "noise")
SCAN_KEYS = ("lr", "batch_size", "noise")
ENSEMBLE_KEYS = ("replicas", "seed", "bit_generator")
MODEL_KINDS = {"rbm": RBMConfig, "teacher_student": TeacherStudentConfig, "dyson": DysonConfig}
TARGET_KEYS = {"free_scalar": ("n", "m"), "spectrum": ("values",), "kernel": ("matrix",)}


@dataclass(frozen=True)
class Experiment:
    """A validated experiment: its scan points and how large an ensemble each gets.

    Attributes:
        points: one model configuration per scan point, lr-major order.
        scan: the scanned keys and their values, e.g. {"lr": [0.05, 0.1]}.
        replicas, seed, bit_generator: arguments of ``run_ensemble`` for every point.
        source: the parsed TOML document, kept so a run can be recorded and resumed.
    """

    points: tuple
    scan: dict
    replicas: int
    seed: int | None
    bit_generator: str
    source: dict

    def point_params(self) -> list[dict]:
        """The scanned values of each point, e.g. [{"lr": 0.05}, {"lr": 0.1}]."""
        return [{key: getattr(config, key) for key in self.scan} for config in self.points]

    def with_overrides(self, replicas: int | None = None, seed: int | None = None) -> Experiment:
        changes = {}
        if replicas is not None:
            changes["replicas"] = replicas
        if seed is not None:
            changes["seed"] = seed
        return dataclasses.replace(self, **changes)


def default_experiment_path() -> Path:
    """The embedded default experiment (a reduced version of the article's RBM study)."""
    return Path(str(resources.files("dysonlearn") / "configs" / "default.toml"))


def load_experiment(source: str | Path) -> Experiment:
    """Read and validate a TOML experiment file."""
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config: file not found: {str(path)!r}") from None
    except OSError as exc:
        raise ConfigError(f"config: cannot read {str(path)!r}: {exc.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path.name} is not valid TOML: {exc}") from None
    return parse_experiment(document)


def _unknown(problems: Problems, where: str, keys, allowed) -> None:
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            allowed_text = ", ".join(allowed)
            problems.messages.append(f"{where}{key}: unknown key{hint}; allowed: {allowed_text}")


def _table(problems: Problems, document: dict, name: str) -> dict:
    value = document.get(name, {})
    if not isinstance(value, dict):
        problems.add(name, "must be a table ([" + name + "])", value)
        return {}
    return value


def parse_experiment(document: dict) -> Experiment:
    """Validate a parsed TOML document (a dict) into an :class:`Experiment`."""
    problems = Problems()
    _unknown(problems, "", document, SECTIONS)
    model = dict(_table(problems, document, "model"))
    target = dict(_table(problems, document, "target"))
    train = dict(_table(problems, document, "train"))
    ensemble = dict(_table(problems, document, "ensemble"))

    kind = model.pop("kind", "rbm")
    if not check_choice(problems, "model.kind", kind, tuple(MODEL_KINDS)):
        problems.raise_if_any()
    config_class = MODEL_KINDS[kind]
    field_names = [f.name for f in dataclasses.fields(config_class)]
    model_keys = [n for n in field_names if n not in TRAIN_KEYS and n != "target"]
    train_keys = [n for n in TRAIN_KEYS if n in field_names]
    _unknown(problems, "model.", model, model_keys)
    _unknown(problems, "train.", train, train_keys)
    _unknown(problems, "ensemble.", ensemble, ENSEMBLE_KEYS)

    target_obj = None
    if target and "target" not in field_names:
        problems.messages.append(
            f"target: only model kind 'rbm' takes a [target] section; {kind!r} is given its "
            "target in [model] (teacher or kappa)"
        )
    elif target:
        target_kind = target.pop("kind", None)
        if check_choice(problems, "target.kind", target_kind, tuple(TARGET_KEYS)):
            _unknown(problems, "target.", target, TARGET_KEYS[target_kind])
            try:
                target_obj = targets.Target.from_dict({"kind": target_kind, **target})
            except ConfigError as exc:
                problems.messages.extend(exc.problems)

    scan = {}
    for key in (k for k in SCAN_KEYS if k in train_keys):
        value = train.get(key)
        if isinstance(value, list):
            if not value:
                problems.add(f"train.{key}", "a scan list must not be empty", value)
            else:
                scan[key] = value
    replicas = ensemble.get("replicas", 1000)
    check_int(problems, "ensemble.replicas", replicas, 1)
    seed = ensemble.get("seed")
    if seed is not None and (not is_int(seed) or seed < 0):
        problems.add("ensemble.seed", "must be an integer >= 0", seed)
    bit_generator = ensemble.get("bit_generator", "SFC64")
    check_choice(problems, "ensemble.bit_generator", bit_generator, BIT_GENERATORS)
    problems.raise_if_any()

    section = {name: "model" for name in model_keys} | {name: "train" for name in TRAIN_KEYS}
    section["target"] = "target"
    points = []
    combos = itertools.product(*scan.values()) if scan else [()]
    for combo in combos:
        fields = {k: v for k, v in model.items()} | {k: v for k, v in train.items()}
        fields.update(dict(zip(scan, combo)))
        if target_obj is not None:
            fields["target"] = target_obj
        try:
            points.append(config_class(**fields))
        except ConfigError as exc:
            for message in exc.problems:
                name = message.split(":", 1)[0]
                prefixed = f"{section.get(name, 'model')}.{message}"
                if prefixed not in problems.messages:
                    problems.messages.append(prefixed)
    problems.raise_if_any()
    return Experiment(tuple(points), scan, replicas, seed, bit_generator, document)
