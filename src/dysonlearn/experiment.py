"""Experiments from TOML files: one model configuration, optionally scanned, plus ensemble size.

Schema (a contract; see DESIGN.md):

    [model]      kind = "rbm" | "teacher_student" | "dyson", then that model's fields
                 (rbm: n_visible, n_hidden, mu, ...; teacher_student: teacher, sampler,
                 protocol, ...; dyson: kappa, drift, mu, ...)
    [target]     rbm only: kind = "free_scalar" (n, m) | "spectrum" (values) | "kernel" (matrix)
    [train]      lr, batch_size, steps, snapshots (or burn_in and record_every: a time
                 series), and noise (teacher_student, dyson); lr, batch_size and noise
                 may be lists: a scan, one run per combination
    [optimizer]  rbm and teacher_student: kind = "sgd" | "momentum" | "adam" | "adamw", then
                 that optimiser's fields (momentum: beta, nesterov; adam: beta1, beta2,
                 eps; adamw: those and weight_decay); each may be a list: a scan, like lr
    [ensemble]   replicas, seed, bit_generator
    [[points]]   optional, instead of scan lists: one table per scan point, each giving
                 some of the [train] keys for that point (the others come from [train]);
                 for scans that are not a product, such as lr at one B and then B at one lr,
                 or steps that depend on the point. The scanned values (the points' labels)
                 are the lr, batch_size and noise given in these tables (and the
                 optimiser fields, which a table may give too).
    [analysis]   pool_last: how many final snapshots every statistic pools (default 1)

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

import numpy as np

from . import targets
from .config import check_replicas
from .errors import ConfigError
from .models import MODELS
from .optim import OPTIMIZERS
from .seeding import BIT_GENERATORS, DEFAULT_BIT_GENERATOR
from .validation import Problems, check_choice, check_int, is_int

SECTIONS = ("model", "target", "train", "optimizer", "ensemble", "points", "analysis")
TRAIN_KEYS = ("lr", "batch_size", "steps", "snapshots", "burn_in", "record_every", "noise")
SCAN_KEYS = ("lr", "batch_size", "noise")
ENSEMBLE_KEYS = ("replicas", "seed", "bit_generator")
ANALYSIS_KEYS = ("pool_last",)
# Statistics pool the last snapshot of every replica unless the experiment says otherwise.
DEFAULT_POOL_LAST = 1
# The TOML kind -> the model's configuration class, for every registered model.
MODEL_KINDS = {kind: model.config_class for kind, model in MODELS.items()}
TARGET_KEYS = targets.PARAMETERS
# The [optimizer] fields of every kind (kind excluded), in the classes' order.
OPTIMIZER_KEYS = {kind: tuple(f.name for f in dataclasses.fields(cls))
                  for kind, cls in OPTIMIZERS.items()}  # fmt: skip
_ALL_OPTIMIZER_KEYS = tuple(dict.fromkeys(k for keys in OPTIMIZER_KEYS.values() for k in keys))
# An experiment file is a few hundred bytes; a kernel matrix of a few hundred modes a few MB.
_MAX_FILE_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Experiment:
    """A validated experiment: its scan points and how large an ensemble each gets.

    Made by :func:`load_experiment` (or :func:`parse_experiment`), which validate; the
    fields are also its attributes.

    Parameters
    ----------
    points : tuple
        One model configuration per scan point, lr-major order.
    scan : dict
        The scanned keys and their values, e.g. ``{"lr": [0.05, 0.1]}``.
    replicas : int
        Replicas per scan point.
    seed : int or None
        Root seed (None: drawn from the operating system when the run starts, printed and
        kept in the store, so that the run can be resumed and reproduced).
    bit_generator : str
        The NumPy bit generator that drives every replica.
    source : dict
        The parsed TOML document, kept so a run can be recorded and resumed.
    pool_last : int
        How many final snapshots of every replica the statistics pool (``[analysis]
        pool_last``; default 1). Kept in the store, so that ``run``, ``analyze`` and
        ``reproduce`` give the same numbers.
    text : str or None
        The TOML text of the file the experiment was read from, as written (comments
        included); None for an experiment given as a dict (see :meth:`toml`).
    """

    points: tuple
    scan: dict
    replicas: int
    seed: int | None
    bit_generator: str
    source: dict
    pool_last: int = DEFAULT_POOL_LAST
    text: str | None = None

    def toml(self) -> str:
        """The experiment as TOML text: the file's own text when it was read from one,
        else a rendering of :attr:`source` that :func:`load_experiment` reads back to the
        same experiment.

        An experiment built in code whose points are no grid of one ``[train]`` scan (the
        article's, behind ``dysonlearn reproduce``) is rendered as a record instead: its
        ``[ensemble]`` and one ``[[point]]`` table per configuration. Overrides
        (:meth:`with_overrides`) are not part of the text: a store records them in its
        run record and its command line.

        Returns
        -------
        str
        """
        if self.text is not None:
            return self.text
        try:
            if parse_experiment(self.source).points == self.points:
                return to_toml(self.source)
        except ConfigError:
            pass
        record = {
            "ensemble": {"replicas": self.replicas, "seed": self.seed,
                         "bit_generator": self.bit_generator},
            "point": [config.to_dict() for config in self.points],
        }  # fmt: skip
        return (
            "# The scan points of this run, one [[point]] table each: they are not the grid "
            "of one\n# [train] scan, so this is a record of the run, not an experiment file.\n"
            + to_toml(record)
        )

    def point_params(self) -> list[dict]:
        """The scanned values of each point, e.g. ``[{"lr": 0.05}, {"lr": 0.1}]``.

        Returns
        -------
        list of dict
        """
        return [{key: scan_value(config, key) for key in self.scan} for config in self.points]

    def with_overrides(self, replicas: int | None = None, seed: int | None = None) -> Experiment:
        """A copy with another number of replicas or root seed (the command line's
        ``--replicas`` and ``--seed``), validated like the file's values.

        Parameters
        ----------
        replicas : int, optional
            Replicas per scan point.
        seed : int, optional
            Root seed, >= 0.

        Returns
        -------
        Experiment

        Raises
        ------
        ConfigError
            An invalid or impossible value (replicas x steps beyond int64, results larger
            than the memory available).
        """
        problems = Problems()
        changes = {}
        if replicas is not None:
            for config in self.points:
                for problem in check_replicas(config, replicas, "replicas"):
                    problems.record(problem)
            changes["replicas"] = replicas
        if seed is not None:
            if not is_int(seed) or seed < 0:
                problems.add("seed", "must be an integer >= 0", seed)
            changes["seed"] = seed
        problems.raise_if_any()
        return dataclasses.replace(self, **changes)


def scan_value(config, key: str):
    """The value of a scanned key at a point: a configuration field (``lr``), or a field of
    its optimiser (``beta``, from ``[optimizer]``).

    Parameters
    ----------
    config : model configuration
        The scan point.
    key : str
        A key of :attr:`Experiment.scan`.

    Returns
    -------
    object
    """
    if key in _ALL_OPTIMIZER_KEYS and hasattr(config, "optimizer"):
        return getattr(config.optimizer, key)
    return getattr(config, key)


def _embedded_files() -> dict[str, Path]:
    """The embedded TOML files by name, ``default`` first. They are installed with the
    package (meson installs src/dysonlearn whole); each is listed through importlib's
    resources, since an editable install's directory is no single folder."""
    folder = resources.files("dysonlearn") / "configs"
    files = {entry.name.removesuffix(".toml"): Path(str(entry))
             for entry in folder.iterdir() if entry.name.endswith(".toml")}  # fmt: skip
    return {name: files[name] for name in sorted(files, key=lambda n: (n != "default", n))}


def default_experiment_path() -> Path:
    """The embedded default experiment (a reduced version of the article's RBM study).

    Returns
    -------
    pathlib.Path
    """
    return _embedded_files()["default"]


def embedded_experiment_path(name: str) -> Path:
    """The file of an embedded experiment (``"default"``, ``"rbm-small"``, ...).

    Parameters
    ----------
    name : str
        One of :func:`embedded_experiments`; a trailing ``.toml`` is allowed.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ConfigError
        No embedded experiment has that name (the message lists the names).
    """
    files = _embedded_files()
    stem = name.removesuffix(".toml") if isinstance(name, str) else name
    if stem not in files:
        raise ConfigError(f"name: must be one of {', '.join(files)}, got {name!r}")
    return files[stem]


def embedded_experiments() -> dict[str, str]:
    """The experiments embedded in the package, with a one-line description each.

    They are the default of ``dysonlearn run`` and the article's experiments that
    ``dysonlearn reproduce`` runs (``<experiment>-<scale>``); the description is the first
    line of the file, a comment. ``dysonlearn config list`` prints this.

    Returns
    -------
    dict
        Name (the file name without ``.toml``) -> description; ``"default"`` first.

    Examples
    --------
    >>> "rbm-small" in embedded_experiments()
    True
    """
    return {name: _description(path) for name, path in _embedded_files().items()}


def _description(path: Path) -> str:
    """The first line of a TOML file, a comment, without its ``#``."""
    with path.open(encoding="utf-8") as handle:
        first = handle.readline().strip()
    return first.lstrip("#").strip() if first.startswith("#") else ""


def load_experiment(source: str | Path | dict | Experiment) -> Experiment:
    """Read and validate an experiment: a TOML file, or a dict of the same sections.

    Parameters
    ----------
    source : str, path-like, dict or Experiment
        A UTF-8 TOML file (see the module docstring for its schema); or its parsed content
        (sections ``model``, ``target``, ``train``, ``ensemble``); an Experiment is
        returned as it is.

    Returns
    -------
    Experiment

    Raises
    ------
    ConfigError
        A missing or unreadable file, bytes that are not UTF-8 text, invalid TOML, or an
        invalid experiment: every problem, one line each, named by its key path.

    Examples
    --------
    >>> experiment = load_experiment({"model": {"kind": "dyson"}, "train": {"lr": [0.05, 0.1]}})
    >>> experiment.point_params()
    [{'lr': 0.05}, {'lr': 0.1}]
    """
    if isinstance(source, Experiment):
        return source
    if isinstance(source, dict):
        return parse_experiment(source)
    path = Path(source)
    try:
        # Not a regular file (a device such as /dev/zero, a pipe): reading could never end.
        if path.exists() and not path.is_file() and not path.is_dir():
            raise ConfigError(f"config: {str(path)!r} is not a regular file")
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"config: file not found: {str(path)!r}") from None
    except OSError as exc:
        raise ConfigError(f"config: cannot read {str(path)!r}: {exc.strerror}") from None
    if len(data) > _MAX_FILE_BYTES:
        raise ConfigError(
            f"config: {path.name} is larger than {_MAX_FILE_BYTES // 2**20} MiB: not an "
            "experiment file"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"config: {path.name} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line "
            f"{line}); TOML must be UTF-8: save the file as UTF-8"
        ) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path.name} is not valid TOML: {exc}") from None
    return dataclasses.replace(parse_experiment(document), text=text)


def _plain(value):
    """``value`` with NumPy scalars and arrays and tuples as Python scalars and lists, and
    None entries of tables left out (TOML has no null; a missing key means the same)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_toml(document: dict) -> str:
    """An experiment document (the sections of a TOML file, as a dict) as TOML text.

    Parameters
    ----------
    document : dict
        Sections ``model``, ``target``, ``train``, ``ensemble``; NumPy values are
        written as numbers and lists, None values are left out.

    Returns
    -------
    str
        TOML that ``tomllib.loads`` reads back to ``document``.

    Raises
    ------
    ConfigError
        A value TOML cannot hold (for example an arbitrary object).

    Examples
    --------
    >>> print(to_toml({"model": {"kind": "dyson"}, "train": {"lr": [0.05, 0.1]}}), end="")
    [model]
    kind = "dyson"
    <BLANKLINE>
    [train]
    lr = [
        0.05,
        0.1,
    ]
    """
    import tomli_w

    try:
        return tomli_w.dumps(_plain(document))
    except TypeError as exc:
        raise ConfigError(f"config: cannot be written as TOML ({exc})") from None


def experiment_document(config, replicas: int, seed: int | None = None,
                        bit_generator: str = DEFAULT_BIT_GENERATOR) -> dict:  # fmt: skip
    """The experiment document (TOML sections as a dict) of one model configuration:
    the inverse of :func:`parse_experiment` for a run of a single point.

    Parameters
    ----------
    config : RBMConfig, TeacherStudentConfig, DysonConfig, ...
        The model configuration.
    replicas : int
        Replicas of the ensemble.
    seed : int, optional
        Its root seed.
    bit_generator : str
        The NumPy bit generator of every replica.

    Returns
    -------
    dict
        Sections ``model`` (with ``kind``), ``target`` (models that take one), ``train``,
        ``optimizer`` (unless SGD) and ``ensemble``; ``parse_experiment`` of it has
        ``config`` as its one point.
    """
    fields = config.to_dict()
    kind = fields.pop("kind")
    target = fields.pop("target", None)
    optimizer = fields.pop("optimizer", None)  # left out for SGD
    document = {"model": {"kind": kind, **{k: v for k, v in fields.items()
                                           if k not in TRAIN_KEYS}}}  # fmt: skip
    if target is not None:
        document["target"] = target
    document["train"] = {k: v for k, v in fields.items() if k in TRAIN_KEYS}
    if optimizer is not None:
        document["optimizer"] = optimizer
    document["ensemble"] = {"replicas": replicas, "seed": seed, "bit_generator": bit_generator}
    return _plain(document)


def _home(key: str, kind: str) -> str | None:
    """The section where ``key`` belongs for model kind ``kind`` (None: nowhere)."""
    if key in ENSEMBLE_KEYS:
        return "ensemble"
    if key in ANALYSIS_KEYS:
        return "analysis"
    names = [f.name for f in dataclasses.fields(MODEL_KINDS[kind])]
    if "optimizer" in names and (key == "optimizer" or key in _ALL_OPTIMIZER_KEYS):
        return "optimizer"
    if key in names:
        return "train" if key in TRAIN_KEYS else "target" if key == "target" else "model"
    if kind == "rbm" and any(key in keys for keys in TARGET_KEYS.values()):
        return "target"
    return None


def _other_kinds(key: str, kind: str) -> list[str]:
    """The other model kinds that have a setting ``key``."""
    return [
        other
        for other, config_class in MODEL_KINDS.items()
        if other != kind and key in {f.name for f in dataclasses.fields(config_class)}
    ]


def _unknown(problems: Problems, section: str, keys, allowed, kind: str) -> None:
    """One line per key of ``section`` not in ``allowed``: where it belongs if it belongs
    somewhere else, which model kinds have it, or the closest allowed key."""
    for key in keys:
        if key in allowed:
            continue
        key = str(key)
        where = f"{section}.{key}" if section else key
        home = _home(key, kind)
        others = _other_kinds(key, kind)
        if home is not None:
            place = f"[{section}]" if section else "the top level"
            problems.note(where, f"belongs in [{home}], not in {place}")
        elif others:
            places = " and ".join(repr(o) for o in others)
            problems.note(
                where,
                f"unknown key for model kind {kind!r} (a setting of {places}); "
                f"allowed: {', '.join(allowed)}",
            )
        else:
            close = difflib.get_close_matches(key, [str(a) for a in allowed], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.note(where, f"unknown key{hint}; allowed: {', '.join(allowed)}")


def _table(problems: Problems, document: dict, name: str) -> dict:
    value = document.get(name, {})
    if not isinstance(value, dict):
        problems.add(name, "must be a table ([" + name + "])", value)
        return {}
    return value


def _distinct(values: list) -> bool:
    """Whether no two values of a scan are equal (0.05 and 5e-2 are the same point)."""
    return not any(a == b for i, a in enumerate(values) for b in values[i + 1 :])


def _parse_target(problems: Problems, target: dict, kind: str, field_names) -> object:
    """The Target of a [target] table, or None (problems recorded, one line each)."""
    if "target" not in field_names:
        problems.note(
            "target",
            f"only model kind 'rbm' takes a [target] section; {kind!r} is given its "
            "target in [model] (teacher or kappa)",
        )
        return None
    target = dict(target)
    target_kind = target.pop("kind", None)
    if not check_choice(problems, "target.kind", target_kind, tuple(TARGET_KEYS)):
        return None
    allowed = TARGET_KEYS[target_kind]
    clean = True
    for key in target:
        if key in allowed:
            continue
        clean = False
        owner = [k for k, keys in TARGET_KEYS.items() if key in keys]
        home = _home(str(key), kind)
        if owner:
            rule = f"is a parameter of target kind {owner[0]!r}, not of {target_kind!r}"
        elif home is not None and home != "target":
            rule = f"belongs in [{home}], not in [target]"
        else:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            rule = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
        problems.note(
            f"target.{key}", f"{rule}; target kind {target_kind!r} takes {', '.join(allowed)}"
        )
    if not clean:
        return None
    try:
        return targets.Target.from_dict({"kind": target_kind, **target})
    except ConfigError as exc:
        for problem in exc.details:  # they name their field already ("target.n")
            problems.record(problem)
        return None


def parse_experiment(document: dict) -> Experiment:
    """Validate a parsed TOML document (a dict) into an :class:`Experiment`.

    Parameters
    ----------
    document : dict
        Sections ``model``, ``target``, ``train``, ``ensemble`` (see the module docstring).

    Returns
    -------
    Experiment

    Raises
    ------
    ConfigError
        Every problem found, one line each, named by its key path ("train.lr: ..."). A
        problem shared by several scan points is reported once.
    """
    problems = Problems()
    if not isinstance(document, dict):
        raise ConfigError(
            "config: must be a table of the sections model, target, train and ensemble, "
            f"got {type(document).__name__}"
        )
    model = dict(_table(problems, document, "model"))
    kind = model.pop("kind", "rbm")
    if not check_choice(problems, "model.kind", kind, tuple(MODEL_KINDS)):
        problems.raise_if_any()
    _unknown(problems, "", document, SECTIONS, kind)
    target = dict(_table(problems, document, "target"))
    train = dict(_table(problems, document, "train"))
    ensemble = dict(_table(problems, document, "ensemble"))
    analysis = dict(_table(problems, document, "analysis"))

    config_class = MODEL_KINDS[kind]
    field_names = [f.name for f in dataclasses.fields(config_class)]
    sections = ("target", "optimizer")  # fields given as tables of their own
    model_keys = [n for n in field_names if n not in TRAIN_KEYS and n not in sections]
    train_keys = [n for n in TRAIN_KEYS if n in field_names]
    _unknown(problems, "model", model, model_keys, kind)
    _unknown(problems, "train", train, train_keys, kind)
    _unknown(problems, "ensemble", ensemble, ENSEMBLE_KEYS, kind)
    _unknown(problems, "analysis", analysis, ANALYSIS_KEYS, kind)
    target_obj = _parse_target(problems, target, kind, field_names) if target else None
    scan = _parse_scan(problems, train, train_keys)
    optimizer, optimizer_scan = _parse_optimizer(problems, document, kind, field_names)
    optimizer_keys = OPTIMIZER_KEYS[optimizer["kind"]] if optimizer is not None else ()
    point_keys = [*train_keys, *optimizer_keys]
    tables = _parse_point_tables(problems, document, point_keys, kind)
    if tables is not None:
        for where, values in (("train", scan), ("optimizer", optimizer_scan)):
            for key, value in values.items():
                problems.add(f"{where}.{key}", "a scan list cannot be combined with [[points]] "
                             f"tables; give each point its {key} in its table", value)  # fmt: skip
        scan, optimizer_scan = {}, {}
    scan |= optimizer_scan
    replicas, seed, bit_generator = _parse_ensemble(problems, ensemble)

    # Build every point even when other sections have problems, so that all are reported
    # at once; keys already reported (unknown, or a broken scan list) are left out.
    section = {name: "model" for name in model_keys} | {name: "train" for name in train_keys}
    fields = {k: v for k, v in model.items() if k in model_keys}
    fields |= {k: v for k, v in train.items() if k in train_keys and problems.ok(f"train.{k}")}
    if target_obj is not None:
        fields["target"] = target_obj
    if optimizer is not None:
        fields["optimizer"] = optimizer
    # A refused [target] table was reported above: rules about the default target that
    # stands in for it would only confuse.
    target_refused = bool(target) and target_obj is None
    if tables is None:
        points = _build_points(problems, config_class, fields, scan, section, target_refused)
    else:
        points = _build_listed_points(problems, config_class, fields, tables, section,
                                      target_refused)  # fmt: skip
        scan = _listed_scan(problems, points, tables)
    if problems.ok("ensemble.replicas"):
        for config in points:
            for problem in check_replicas(config, replicas, "ensemble.replicas"):
                problems.record(problem)
    pool_last = _parse_analysis(problems, analysis, points)
    problems.raise_if_any()
    return Experiment(tuple(points), scan, replicas, seed, bit_generator, document, pool_last)


def check_pool_last(problems: Problems, field: str, value, points) -> bool:
    """pool_last: an integer >= 1, at most the snapshots every point records after step 0
    (step 0 is the initial state, never part of a stationary sample).

    Parameters
    ----------
    problems : Problems
        Where a problem is recorded, under ``field``.
    field : str
        The name in messages ("analysis.pool_last", "--pool-last").
    value : object
        The value to check.
    points : sequence of model configurations
        The scan points (their ``n_snapshots`` count step 0).

    Returns
    -------
    bool
        Whether ``value`` is valid.
    """
    fewest = min((_after_start(config) for config in points), default=None)
    return check_int(problems, field, value, 1, fewest,
                     why="the snapshots each point records after step 0")  # fmt: skip


def default_pool_last(points) -> int:
    """pool_last when none is given: every record after step 0 when every point records a
    time series (the fewest any point has), else :data:`DEFAULT_POOL_LAST`.

    Parameters
    ----------
    points : sequence of model configurations

    Returns
    -------
    int
    """
    points = list(points)
    if not points or not all(getattr(p, "is_time_series", False) for p in points):
        return DEFAULT_POOL_LAST
    return min(_after_start(p) for p in points)


def _after_start(config) -> int:
    """The spectra a configuration records after step 0 (a time series with a burn-in does
    not record step 0 at all)."""
    return int(config.n_snapshots - (config.snapshot_steps[0] == 0))


def _parse_analysis(problems: Problems, analysis: dict, points) -> object:
    """pool_last of [analysis] (default: :func:`default_pool_last`), checked against the
    points' snapshots."""
    pool_last = analysis.get("pool_last")
    if pool_last is None:
        pool_last = default_pool_last(points)
    check_pool_last(problems, "analysis.pool_last", pool_last, points)
    return pool_last


def _parse_scan(problems: Problems, train: dict, train_keys: list[str],
                section: str = "train") -> dict:  # fmt: skip
    """The scanned keys of [train] (those given as lists) and their values (``section``:
    another section whose ``train_keys`` scan the same way)."""
    scan = {}
    keys = [k for k in SCAN_KEYS if k in train_keys] if section == "train" else train_keys
    for key in keys:
        value = train.get(key)
        if not isinstance(value, list):
            continue
        if not value:
            problems.add(f"{section}.{key}", "a scan list must not be empty", value)
        elif any(isinstance(v, list | dict) for v in value):
            problems.add(f"{section}.{key}", "a scan list must hold single values", value)
        elif not _distinct(value):
            problems.add(f"{section}.{key}", "scan values must be distinct", value)
        else:
            scan[key] = value
    return scan


def _parse_optimizer(problems: Problems, document: dict, kind: str,
                     field_names) -> tuple[dict | None, dict]:  # fmt: skip
    """The [optimizer] table: its fixed fields as ``{"kind": ..., field: value}`` (None when
    there is no section, or it cannot be used) and its scanned fields (lists)."""
    if "optimizer" not in document:
        return None, {}
    table = dict(_table(problems, document, "optimizer"))
    if "optimizer" not in field_names:
        takes = [k for k, c in MODEL_KINDS.items()
                 if "optimizer" in {f.name for f in dataclasses.fields(c)}]  # fmt: skip
        problems.note("optimizer", f"model kind {kind!r} takes no [optimizer] section (its "
                      f"update is fixed); {' and '.join(map(repr, takes))} do")  # fmt: skip
        return None, {}
    optimizer_kind = table.pop("kind", "sgd")
    if not check_choice(problems, "optimizer.kind", optimizer_kind, tuple(OPTIMIZERS)):
        return None, {}
    allowed = OPTIMIZER_KEYS[optimizer_kind]
    for key in table:
        if key in allowed:
            continue
        key = str(key)
        owners = [k for k, keys in OPTIMIZER_KEYS.items() if key in keys]
        home = _home(key, kind)
        takes = f"optimizer kind {optimizer_kind!r} takes {', '.join(allowed) or 'no fields'}"
        if owners:
            rule = f"is a field of optimizer kind {' and '.join(map(repr, owners))}, not of " \
                   f"{optimizer_kind!r}"  # fmt: skip
        elif home is not None and home != "optimizer":
            rule = f"belongs in [{home}], not in [optimizer]"
        else:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            rule = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
        problems.note(f"optimizer.{key}", f"{rule}; {takes}")
    scan = _parse_scan(problems, table, list(allowed), "optimizer")
    fixed = {k: v for k, v in table.items() if k in allowed and not isinstance(v, list)
             and problems.ok(f"optimizer.{k}")}  # fmt: skip
    return {"kind": optimizer_kind, **fixed}, scan


def _point_fields(fields: dict, values: dict) -> dict:
    """The configuration fields of one point: ``fields`` with the point's ``values``, those
    of the optimiser (``beta``, ...) merged into its ``optimizer`` table."""
    out = dict(fields)
    chosen = {k: v for k, v in values.items() if k in _ALL_OPTIMIZER_KEYS}
    out |= {k: v for k, v in values.items() if k not in chosen}
    if chosen:
        out["optimizer"] = {**out.get("optimizer", {"kind": "sgd"}), **chosen}
    return out


def _optimizer_problem(problem, table: dict | None = None, where: str = ""):
    """A problem of a point's optimiser ("optimizer.beta"), named by the [[points]] table that
    gave the value when one did ("points[2].beta"); None when it is no optimiser problem."""
    if not (problem.field == "optimizer" or problem.field.startswith("optimizer.")):
        return None
    key = problem.field.removeprefix("optimizer.")
    if table is not None and key in table:
        return dataclasses.replace(problem, field=f"{where}.{key}")
    return problem


def _parse_point_tables(
    problems: Problems, document: dict, train_keys: list[str], kind: str
) -> list[dict] | None:
    """The [[points]] tables, each reduced to its valid keys (None: there are none)."""
    if "points" not in document:
        return None
    value = document["points"]
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        problems.add("points", "must be an array of tables, one [[points]] table per point",
                     value)  # fmt: skip
        return []
    if not value:
        problems.add("points", "must hold at least one [[points]] table", value)
    tables = []
    for number, table in enumerate(value, start=1):
        where = f"points[{number}]"  # numbered from 1, as a reader counts the tables
        _unknown(problems, where, table, train_keys, kind)
        clean = {}
        for key, item in table.items():
            if key not in train_keys:
                continue
            if isinstance(item, dict) or (isinstance(item, list) and key != "snapshots"):
                problems.add(f"{where}.{key}", "must be a single value (a [[points]] table "
                             "is one point; add a table for each further value)", item)  # fmt: skip
            else:
                clean[key] = item
        tables.append(clean)
    return tables


def _build_listed_points(
    problems: Problems, config_class, fields: dict, tables: list[dict], section: dict,
    target_refused: bool,
) -> list:  # fmt: skip
    """One configuration per [[points]] table, its keys over those of [train]; a problem
    with a key of a table is named by that table ("points[3].lr")."""
    points = []
    for number, table in enumerate(tables, start=1):
        try:
            points.append(config_class(**_point_fields(fields, table)))
        except ConfigError as exc:
            for problem in exc.details:
                optimizer_problem = _optimizer_problem(problem, table, f"points[{number}]")
                if optimizer_problem is not None:
                    problems.record(optimizer_problem)
                elif problem.field == "target" or problem.field.startswith("target."):
                    if not target_refused:
                        problems.record(problem)
                elif problem.field in table:
                    problems.record(problem.within(f"points[{number}]"))
                else:
                    problems.record(problem.within(section.get(problem.field, "model")))
    return points


def _listed_scan(problems: Problems, points: list, tables: list[dict]) -> dict:
    """The scanned keys of [[points]] tables (those of lr, batch_size and noise that a table
    gives) with their distinct values, ascending; two points with the same values are a
    problem, since the values name the points."""
    keys = [key for key in (*SCAN_KEYS, *_ALL_OPTIMIZER_KEYS)
            if any(key in table for table in tables)]
    if len(points) != len(tables):
        return {}  # a point is invalid, reported already
    seen = {}
    for number, config in enumerate(points, start=1):
        values = tuple(scan_value(config, key) for key in keys)
        if values in seen:
            named = ", ".join(keys) if keys else "lr, batch_size and noise"
            problems.note(
                f"points[{number}]",
                f"the same {named} as points[{seen[values]}]; each point must differ in "
                "lr, batch_size or noise (they name the points)",
            )
        seen.setdefault(values, number)
    return {key: sorted({scan_value(config, key) for config in points}) for key in keys}


def _parse_ensemble(problems: Problems, ensemble: dict) -> tuple[object, object, object]:
    """replicas (default 1000), seed (default None) and bit_generator of [ensemble]."""
    replicas = ensemble.get("replicas", 1000)
    check_int(problems, "ensemble.replicas", replicas, 1)
    seed = ensemble.get("seed")
    if seed is not None and (not is_int(seed) or seed < 0):
        problems.add("ensemble.seed", "must be an integer >= 0", seed)
    bit_generator = ensemble.get("bit_generator", DEFAULT_BIT_GENERATOR)
    check_choice(problems, "ensemble.bit_generator", bit_generator, BIT_GENERATORS)
    return replicas, seed, bit_generator


def _build_points(
    problems: Problems, config_class, fields: dict, scan: dict, section: dict,
    target_refused: bool,
) -> list:  # fmt: skip
    """One configuration per combination of the scanned values, lr-major; each point's
    problems are recorded under their TOML section ("train.lr"), once however many points
    share them."""
    points = []
    combos = itertools.product(*scan.values()) if scan else [()]
    for combo in combos:
        try:
            points.append(config_class(**_point_fields(fields, dict(zip(scan, combo)))))
        except ConfigError as exc:
            for problem in exc.details:
                optimizer_problem = _optimizer_problem(problem)
                if optimizer_problem is not None:  # named by its section already
                    problems.record(optimizer_problem)
                # Target problems already name their section ("target", "target.n").
                elif problem.field == "target" or problem.field.startswith("target."):
                    if not target_refused:
                        problems.record(problem)
                else:
                    problems.record(problem.within(section.get(problem.field, "model")))
    return points
