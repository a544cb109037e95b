"""The HDF5 results store (h5py): one file per experiment, one group per scan point.

Layout of the file (a contract: readers may rely on it). Every dataset says what it holds
in its ``description`` attribute and names its axes in ``axes`` (and as HDF5 dimension
labels); ``steps`` is the dimension scale of the snapshot axis; counts of training steps
carry ``units = "steps"``.

    /                      attrs: format, format_version; seed (the root seed of the run, a
                           decimal string); run (JSON of every point's configuration and
                           ensemble settings: what a resume must match); experiment_toml
                           (the experiment as TOML: the file's own text, or a rendering of
                           the dict or configuration it was given as); command (the command
                           line, "" when the run was started from Python); backend, workers;
                           dysonlearn_version, dysonlearn_commit (the git commit it was
                           built from, "" if not built from a checkout), python_version,
                           platform, numpy_version, scipy_version, h5py_version (all of the
                           session that created the store); created, started (when the first
                           session started), ended (when the last session that trained saved
                           its last replicas); sessions (JSON: one record per session that
                           ran the experiment, resumed ones included: started, ended,
                           replicas_saved, command, backend, workers and the versions);
                           analysis (JSON of the experiment's analysis settings,
                           {"pool_last": n}; absent in stores written before it: the
                           defaults)
    /point_000 ...         attrs: params (JSON of the scanned values), config (JSON),
                           replicas, seed, bit_generator, normal_method, and every field of
                           the configuration on its own: numbers and words as scalars
                           (lr, batch_size, noise, steps, ...), lists as arrays (teacher,
                           kappa, explicit snapshot steps), tables flattened (target.kind,
                           target.n, ...)
        eigenvalues (R, S, N) float64, the spectrum x_i (replica, snapshot, mode), ascending;
                           NaN until written and after a replica diverged; chunked by
                           replica block, gzip-compressed with shuffle
        steps (S,) int64   the training step of each snapshot, 0 first (a dimension scale)
        failed (R,) bool   the replica diverged and was stopped
        fail_step (R,) int64   the step at which it diverged, -1 if it did not
        done (R,) bool     the replica's block is finished and its rows hold data
        weights (R, ...)   the final state, when asked for (keep_weights)
        optimizer_state (R, n)  the optimiser's final state, kept with the weights when
                           the optimiser has one (momentum, Adam, AdamW)
        <record> (R, S, n) float64, what the model records beside its spectrum, at the
                           record's name (Model.records): the deep linear model's
                           layer_eigenvalues/1 .. layer_eigenvalues/L, each layer's
                           singular values; chunked and compressed as eigenvalues

Crash safety. The HDF5 file is never written in place: it is a consolidated view, rebuilt
into a temporary file and renamed over the old one (:func:`dysonlearn.journal.atomic_write`),
so a reader sees the old view or the new one, never a half-written file. While a run is
in progress each finished block is committed to a file of its own in the journal beside
the store (``results.h5.journal/``, see :mod:`dysonlearn.journal`); the view is rebuilt from
the previous view and the journal after every scan point and when a run stops (finished,
interrupted or failed), and the journal is removed once the view holds the whole run. A
crash at any moment (kill -9, power loss, a full disk) therefore loses at most the blocks
in flight: the same run resumes from the view and the journal, and ``dysonlearn repair``
rebuilds the view from them.
"""

from __future__ import annotations

import datetime
import io
import json
import math
import os
import platform
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import scipy

from . import journal as journal_module
from ._version import __commit__, __version__
from .errors import ConfigError, StoreError
from .experiment import DEFAULT_POOL_LAST, default_pool_last
from .journal import Journal, NoSpaceError
from .models import MODELS, model_for
from .result import EnsembleResult, scalar_fields

FORMAT = "dysonlearn-results"
FORMAT_VERSION = 1
_CHUNK_REPLICAS = 64
# A chunk of eigenvalues holds at most this many records of a replica, and about this many
# bytes: up to 64 replicas of a few snapshots (the layout of every run of snapshots), a few
# replicas of a long time series (10^4 records x 10 modes: chunks of 3 replicas x 4096
# records). HDF5 reads, decompresses and rewrites whole chunks, so their size, not a
# point's, is what a partial read or write of rows costs; ~1 MiB also fits HDF5's default
# chunk cache.
_CHUNK_RECORDS = 4096
_CHUNK_BYTES = 1 << 20
# Rows copied at a time from the old view into the new: bounds the memory of a rebuild,
# at most this many rows and about this many bytes of each dataset.
_COPY_ROWS = 4096
_COPY_BYTES = 16 << 20
# Views up to this size are built in memory and then written (see _write_view). Small, so
# that what a run holds in memory is its blocks in flight, not its view.
_IN_MEMORY_VIEW_BYTES = 32 << 20
# Seconds between rebuilds of the view while blocks keep arriving (see RunStore).
_REFRESH_SECONDS = 60.0
# Root attributes that describe how and where the run was made (not what defines it): of
# the session that created the store, kept when it is resumed.
_ROOT_KEYS = ("dysonlearn_version", "created", "numpy_version", "scipy_version", "h5py_version")
_CONTEXT_KEYS = ("dysonlearn_commit", "python_version", "platform", "experiment_toml",
                 "command", "backend", "workers", "started", "ended")  # fmt: skip
# Per session: when, and with what, a run was started or resumed.
_SESSION_KEYS = ("started", "ended", "replicas_saved", "command", "backend", "workers",
                 "dysonlearn_version", "dysonlearn_commit", "python_version", "platform")  # fmt: skip
# Eigenvalues are noisy doubles: only their sign, exponent and leading mantissa bytes
# repeat, so lossless compression pays only after the byte shuffle. Measured on chunks of
# 64 replicas (2-core machine under load, best of 15): the default experiment's 1.29 MB of
# eigenvalues store as 85% with gzip+shuffle (write 39 ms, read 5 ms; raw 1 ms each), 90%
# with lzf+shuffle, 96% with gzip alone, 100% with lzf alone; a teacher-student N = 2 run
# (20000 x 6 x 2) as 85% (write 65 ms, read 19 ms) and 92%; N = 10 (3000 x 6 x 10) as 81%
# and 88%. gzip level 1 compresses within a percent of level 4 at about the same cost.
# gzip+shuffle saves the most, its cost is milliseconds per MB beside minutes of training
# per MB, and every HDF5 tool reads it (lzf only h5py).
_COMPRESSION = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
# Group attributes that a configuration field of the same name must not replace.
_POINT_KEYS = ("params", "config", "replicas", "seed", "bit_generator", "normal_method")


@dataclass(frozen=True)
class PointSpec:
    """One scan point of a stored run: what must match for a resume to be exact."""

    name: str
    config: object
    replicas: int
    seed: int
    bit_generator: str
    normal_method: str
    keep_weights: bool = False
    params: tuple = ()

    def run_record(self) -> dict:
        """The JSON-able record of this point that a resumed run must match."""
        return {
            "name": self.name,
            "config": self.config.to_dict(),
            "replicas": self.replicas,
            "seed": self.seed,
            "bit_generator": self.bit_generator,
            "normal_method": self.normal_method,
            "keep_weights": self.keep_weights,
        }


def config_from_dict(data: dict):
    """The model configuration written by ``config.to_dict()``.

    Parameters
    ----------
    data : dict
        ``{"kind": ..., field: value, ...}``; ``kind`` names a model of
        :data:`dysonlearn.models.MODELS`.

    Returns
    -------
    object
        An instance of that model's ``config_class``.

    Raises
    ------
    ConfigError
        No registered model has that kind, or the fields are invalid.
    """
    kind = data.get("kind") if isinstance(data, dict) else None
    if not isinstance(kind, str) or kind not in MODELS:
        raise ConfigError(f"config.kind: unknown model kind {kind!r} in the store")
    return MODELS[kind].config_class.from_dict(data)


@dataclass(frozen=True)
class RunMetadata:
    """How a run was started: recorded in its store, never compared when it resumes.

    Attributes
    ----------
    experiment_toml : str
        The experiment as TOML text (the file's own text, or a rendering).
    command : str or None
        The command line that started the run; None when it was called from Python.
    backend : str
        Where the blocks trained ("serial", "process", "dask").
    workers : int
        Worker processes (0: not known).
    """

    experiment_toml: str = ""
    command: str | None = None
    backend: str = ""
    workers: int = 0


def _canonical(record) -> str:
    return json.dumps(record, sort_keys=True)


def _shown(values: list) -> str:
    """The distinct values of a setting over the points, in order, shortly."""
    distinct = []
    for value in values:
        text = value if isinstance(value, str) else _canonical(value)
        if text not in distinct:
            distinct.append(text)
    if len(distinct) > 6:
        distinct = [*distinct[:5], f"... ({len(distinct)} values)"]
    text = ", ".join(distinct)
    text = text if len(text) <= 80 else text[:77] + "..."
    return text if len(distinct) == 1 else f"[{text}]"


def run_differences(stored: list, new: list, stored_seed=None, new_seed=None) -> list[str]:
    """What differs between the run a store holds and a new one, in words.

    Parameters
    ----------
    stored, new : list of dict
        The runs' point records (:meth:`PointSpec.run_record`), in scan order.
    stored_seed, new_seed : int or str, optional
        The runs' root seeds, if known.

    Returns
    -------
    list of str
        One phrase per differing setting, stored value first, e.g.
        ``"lr: [0.05, 0.1] -> [0.1, 0.3]"`` (the distinct values over the points, in
        order); empty when the runs are the same.
    """
    found = []
    if len(stored) != len(new):
        found.append(f"points: {len(stored)} -> {len(new)}")
    configs = [[r.get("config", {}) for r in run] for run in (stored, new)]
    kinds = [_shown([c.get("kind") for c in run]) for run in configs]
    if kinds[0] != kinds[1]:
        return [*found, f"model kind: {kinds[0]} -> {kinds[1]}"]
    keys = []
    for config in configs[0] + configs[1]:
        keys += [k for k in config if k != "kind" and k not in keys]
    values = [(key, [c.get(key) for c in configs[0]], [c.get(key) for c in configs[1]])
              for key in keys]  # fmt: skip
    values += [(key, [r.get(key) for r in stored], [r.get(key) for r in new])
               for key in ("replicas", "bit_generator", "normal_method", "keep_weights")]  # fmt: skip
    for key, old, now in values:
        # Point by point when the counts agree; otherwise the values taken, which differ
        # only for the settings that changed.
        same = _canonical(old) == _canonical(now) if len(old) == len(now) else (
            _shown(old) == _shown(now))  # fmt: skip
        if not same:
            found.append(f"{key}: {_shown(old)} -> {_shown(now)}")
    common = min(len(stored), len(new))  # point i's seed depends on the root seed and i
    if [r.get("seed") for r in stored[:common]] != [r.get("seed") for r in new[:common]]:
        if stored_seed is not None and new_seed is not None and str(stored_seed) != str(new_seed):
            found.append(f"seed: {stored_seed} -> {new_seed}")
        else:
            found.append("seed: the points' seeds differ")
    return found


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _session(metadata: RunMetadata) -> dict:
    """The record of the session now starting (or resuming) a run."""
    return {
        "started": _now(),
        "ended": "",
        "replicas_saved": 0,
        "command": metadata.command or "",
        "backend": metadata.backend,
        "workers": int(metadata.workers),
        "dysonlearn_version": __version__,
        "dysonlearn_commit": __commit__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
    }


def _manifest(points: list[PointSpec], root_seed: int, session: dict, toml: str,
              analysis: dict) -> dict:
    return {
        "analysis": dict(analysis),
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dysonlearn_version": __version__,
        "run": [p.run_record() for p in points],
        "params": [dict(p.params) for p in points],
        "seed": str(root_seed),
        "created": session["started"],
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "h5py_version": h5py.__version__,
        "experiment_toml": toml,
        **{key: session[key] for key in _CONTEXT_KEYS if key in session},
        "sessions": [],
    }


def analysis_settings(root: dict) -> dict:
    """The experiment's analysis settings kept in a store, with the defaults for a store
    written before they were kept.

    Parameters
    ----------
    root : dict
        The root attributes, as :func:`describe` returns them.

    Returns
    -------
    dict
        ``{"pool_last": int}``: how many final snapshots the statistics pool.
    """
    settings = {"pool_last": DEFAULT_POOL_LAST}
    text = root.get("analysis")
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if text:
        try:
            stored = json.loads(text)
        except json.JSONDecodeError:
            stored = {}
        if isinstance(stored, dict):
            settings.update({k: v for k, v in stored.items() if k in settings})
    return settings


def _complete_manifest(manifest: dict) -> dict:
    """A manifest written by an older dysonlearn, with the keys it lacks: empty, the
    sessions unknown, started at its creation."""
    manifest = dict(manifest)
    for key in (*_ROOT_KEYS, *_CONTEXT_KEYS):
        manifest.setdefault(key, 0 if key == "workers" else "")
    if not manifest["started"]:
        manifest["started"] = manifest["created"]
    manifest["sessions"] = list(manifest.get("sessions") or [])
    return manifest


# -- reading the view ------------------------------------------------------------------------


class _Damaged(Exception):
    """The view exists but cannot be read as a store (internal; becomes a StoreError)."""


def _recoverable(path: Path) -> str:
    """What can be recovered of a store whose view is damaged or missing, in one clause."""
    journal = Journal(path)
    if not journal.exists():
        return "nothing can be recovered: run the experiment again with --overwrite"
    try:
        manifest = journal.read_manifest()
        total = sum(int(r["replicas"]) for r in manifest["run"])
    except (StoreError, KeyError, TypeError, ValueError):
        return "its journal is damaged too: run the experiment again with --overwrite"
    saved = sum(b.stop - b.start for b in journal.blocks())
    return (
        f"its journal holds {saved} of {total} replicas: `dysonlearn repair "
        f"{str(path.parent)!r}` (or the same run command) rebuilds it"
    )


@dataclass(frozen=True)
class FileFormat:
    """An HDF5 file format of this package, as its readers check it.

    Attributes
    ----------
    name : str
        The ``format`` root attribute, e.g. ``"dysonlearn-results"``.
    version : int
        The newest ``format_version`` this dysonlearn reads.
    label : str
        How messages name the file's argument, e.g. ``"results"``.
    file : str
        What a file of this format is called, e.g. ``"results file"``.
    title : str
        Its name in "an HDF5 file but not a ..." messages.
    short : str
        Its name in "has ... format N" messages.
    """

    name: str
    version: int
    label: str
    file: str
    title: str
    short: str


STORE_FORMAT = FileFormat(FORMAT, FORMAT_VERSION, "results", "results file",
                          "dysonlearn results store", "store")  # fmt: skip


def open_checked(path: Path, fmt: FileFormat, recover=None) -> h5py.File:
    """Open an HDF5 file of this package for reading, after its format checks.

    Shared by the results store and the spectrum tracker's files: the file must exist,
    not be a directory, be HDF5, carry the root attribute ``format == fmt.name`` and a
    ``format_version`` this version reads.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    fmt : FileFormat
        The format expected, and how messages name it.
    recover : callable, optional
        ``recover(path) -> str or None``: for a missing or unreadable file, what can be
        recovered (a damaged store with a journal), None when it is simply not there.

    Returns
    -------
    h5py.File
        Open for reading; the caller closes it.

    Raises
    ------
    ConfigError
        The file is missing, a directory, not HDF5, of another format, or too new: bad
        input, one line.
    StoreError
        A damaged or missing file of which ``recover`` says something can be recovered.
    """
    where = f"{fmt.label}: {str(path)!r}"
    if not path.exists():
        clause = recover(path) if recover is not None else None
        if clause is not None:
            raise StoreError(f"{where} is missing; {clause}")
        raise ConfigError(f"{fmt.label}: file not found: {str(path)!r}")
    if path.is_dir():
        raise ConfigError(f"{where} is a directory, not a {fmt.file}")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        clause = recover(path) if recover is not None else None
        if clause is not None:
            raise StoreError(f"{where} is damaged (unreadable HDF5: {exc}); {clause}") from None
        raise ConfigError(f"{where} is not a readable HDF5 file ({exc})") from None
    if handle.attrs.get("format") != fmt.name:
        handle.close()
        raise ConfigError(f"{where} is an HDF5 file but not a {fmt.title}")
    try:
        version = int(handle.attrs.get("format_version", -1))
    except (TypeError, ValueError):
        version = -1
    if version > fmt.version:
        handle.close()
        raise ConfigError(
            f"{where} has {fmt.short} format {version}; this dysonlearn reads up to "
            f"{fmt.version} (upgrade dysonlearn)"
        )
    return handle


def json_attr(attrs, key: str):
    """The JSON value of an attribute written as text (str or bytes).

    Parameters
    ----------
    attrs : h5py.AttributeManager
        The attributes of a file or group.
    key : str
        The attribute.

    Returns
    -------
    object
        ``json.loads`` of its text.

    Raises
    ------
    KeyError, ValueError
        The attribute is missing or not JSON.
    """
    return json.loads(_attr_text(attrs, key))


def _store_recovery(path: Path) -> str | None:
    """What can be recovered of a missing or unreadable view, or None when it is not a
    store's (no journal, not even HDF5)."""
    if Journal(path).exists():
        return _recoverable(path)
    if path.exists() and _looks_like_hdf5(path):
        return _recoverable(path)
    return None


def _open_view(path: Path) -> h5py.File:
    """Open the view for reading; clear errors for a missing, foreign or newer file."""
    return open_checked(path, STORE_FORMAT, _store_recovery)


def _looks_like_hdf5(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False


def _attr_text(attrs, key: str) -> str:
    value = attrs[key]
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class _PointView:
    """One point group of the view, checked against its own attributes."""

    name: str
    params: dict
    config: object
    replicas: int
    seed: int
    bit_generator: str
    normal_method: str


def _read_point_meta(handle: h5py.File, name: str) -> _PointView:
    """A point's attributes and dataset shapes, checked; raises _Damaged if inconsistent."""
    try:
        group = handle[name]
        params = json.loads(_attr_text(group.attrs, "params"))
        config = config_from_dict(json.loads(_attr_text(group.attrs, "config")))
        replicas = int(group.attrs["replicas"])
        seed = int(_attr_text(group.attrs, "seed"))
        expected = {
            "eigenvalues": (replicas, config.snapshot_steps.size, config.n_modes),
            "steps": (config.snapshot_steps.size,),
            "failed": (replicas,),
            "fail_step": (replicas,),
            "done": (replicas,),
        }
        for key, record in model_for(config).records(config).items():
            if key in group:
                expected[key] = (replicas, config.snapshot_steps.size, record.n_values)
        for key, shape in expected.items():
            if group[key].shape != shape:
                raise _Damaged(f"{name}/{key} has shape {group[key].shape}, expected {shape}")
        return _PointView(
            name, params, config, replicas, seed, _attr_text(group.attrs, "bit_generator"),
            _attr_text(group.attrs, "normal_method"),
        )  # fmt: skip
    except _Damaged:
        raise
    except (KeyError, ValueError, TypeError, OSError, json.JSONDecodeError) as exc:
        raise _Damaged(f"{name}: {type(exc).__name__}: {exc}") from None


def _point_names(handle: h5py.File) -> list[str]:
    return sorted(k for k in handle if k.startswith("point_") and isinstance(handle[k], h5py.Group))


def _damage_error(path: Path, reason: str) -> StoreError:
    return StoreError(f"results: {str(path)!r} is damaged ({reason}); {_recoverable(path)}")


@dataclass(frozen=True)
class PointInfo:
    """What ``info`` reports of one point.

    Attributes
    ----------
    name : str
        The point's group, ``point_000`` ...
    params : dict
        Its scanned values.
    config : object
        Its model configuration.
    replicas, done, failed : int
        Replicas in all, finished (in the view), and diverged among the finished.
    pending : int
        Replicas committed in the journal but not yet in the view (an interrupted run;
        the next run or ``dysonlearn repair`` merges them).
    """

    name: str
    params: dict
    config: object
    replicas: int
    done: int
    failed: int
    pending: int = 0


def describe(path: Path) -> tuple[dict, list[PointInfo]]:
    """Root attributes and the progress of every point, without loading the spectra.

    Parameters
    ----------
    path : path-like
        The store's HDF5 file.

    Returns
    -------
    root : dict
        The root attributes (``seed`` is the root seed of the run).
    infos : list of PointInfo
        One per scan point.

    Raises
    ------
    ConfigError
        The file is missing, not HDF5, or not a dysonlearn store.
    StoreError
        The store is damaged; the message says what can be recovered.
    """
    path = Path(path)
    journal = Journal(path)
    pending_blocks = journal.blocks() if journal.exists() else []
    with _open_view(path) as handle:
        try:
            root = {k: (v.item() if hasattr(v, "item") else v) for k, v in handle.attrs.items()}
            json.loads(_attr_text(handle.attrs, "run"))
            infos = []
            for name in _point_names(handle):
                meta = _read_point_meta(handle, name)
                group = handle[name]
                done = group["done"][...]
                merged = np.zeros_like(done)
                for block in pending_blocks:
                    if block.point == name:
                        merged[block.start : block.stop] = True
                infos.append(PointInfo(
                    name, meta.params, meta.config, meta.replicas, int(done.sum()),
                    int((group["failed"][...] & done).sum()), int((merged & ~done).sum()),
                ))  # fmt: skip
        except _Damaged as exc:
            raise _damage_error(path, str(exc)) from None
        except (KeyError, ValueError, TypeError, OSError, json.JSONDecodeError) as exc:
            raise _damage_error(path, f"{type(exc).__name__}: {exc}") from None
    if not infos:
        raise _damage_error(path, "it holds no scan point")
    return root, infos


def root_summary(root: dict) -> list[str]:
    """What a store's root attributes say about its run, as lines of text
    (``dysonlearn info``).

    Parameters
    ----------
    root : dict
        The root attributes, as :func:`describe` returns them.

    Returns
    -------
    list of str
        The seed; the command line; the code (version, commit, Python, platform, library
        versions); where and when it ran (backend, workers, first start, last end); then
        one line per session. A store written by an older dysonlearn lacks some of these:
        they read "not recorded".
    """

    def get(key: str) -> str:
        value = root.get(key, "")
        value = value.decode() if isinstance(value, bytes) else str(value)
        return value or "not recorded"

    seed = get("seed")
    commit = root.get("dysonlearn_commit", None)
    built = (f"commit {commit}" if commit else "not built from a git checkout"
             if commit is not None else "commit not recorded")  # fmt: skip
    command = root.get("command", None)
    started = root.get("started") or root.get("created", "")
    lines = [
        f"root seed {seed} (--seed {seed} reproduces the run)",
        "command: " + (command if command else "none (started from Python)"
                       if command is not None else "not recorded"),  # fmt: skip
        f"code: dysonlearn {get('dysonlearn_version')} ({built}); Python "
        f"{get('python_version')} on {get('platform')}",
        f"libraries: numpy {get('numpy_version')}, scipy {get('scipy_version')}, h5py "
        f"{get('h5py_version')}",
        f"ran on: backend {get('backend')}, {get('workers')} worker(s)",
        f"times: started {started or 'not recorded'}, last saved {get('ended')}",
    ]
    try:
        sessions = json.loads(root.get("sessions", "[]"))
    except (TypeError, ValueError):
        sessions = []
    if len(sessions) > 1:
        for i, session in enumerate(sessions, 1):
            lines.append(
                f"  session {i}: {session.get('started')} to {session.get('ended') or '?'}, "
                f"{session.get('replicas_saved', 0)} replicas saved, dysonlearn "
                f"{session.get('dysonlearn_version')}; "
                + (session.get("command") or "started from Python")
            )
    return lines


def load_point(path: Path, name: str, complete_only: bool = True,
               last: int | None = None) -> EnsembleResult:  # fmt: skip
    """One point as an EnsembleResult (only its finished replicas, in index order).

    Parameters
    ----------
    path : path-like
        The store's HDF5 file.
    name : str
        The point's group, e.g. ``"point_000"``.
    complete_only : bool
        Leave out replicas whose block was never finished (default).
    last : int, optional
        Read only the last ``last`` snapshots (records) of every replica: the analysis of a
        long time series reads what it pools, replicas x last x N doubles, rather than the
        whole recording. All of them by default.

    Returns
    -------
    EnsembleResult
        With ``point`` and ``params`` (the point's scanned values) set.

    Raises
    ------
    ConfigError, StoreError
        As :func:`describe`, or the point does not exist.
    """
    path = Path(path)
    with _open_view(path) as handle:
        if name not in handle:
            raise ConfigError(f"results: {str(path)!r} has no point {name!r}")
        try:
            meta = _read_point_meta(handle, name)
            group = handle[name]
            done = group["done"][...]
            keep = done if complete_only else np.ones_like(done)
            first = 0 if last is None else max(0, group["steps"].shape[0] - int(last))
            eigenvalues = group["eigenvalues"][:, first:, :]  # one hyperslab, then the rows
            if not keep.all():
                eigenvalues = eigenvalues[keep]
            weights = group["weights"][...][keep] if "weights" in group else None
            opt = group["optimizer_state"][...][keep] if "optimizer_state" in group else None
            records = {}
            for key in _record_names(meta.config):
                if key in group:  # (a store written before the model recorded it lacks it)
                    values = group[key][:, first:, :]
                    records[key] = values if keep.all() else values[keep]
            return EnsembleResult(
                config=meta.config,
                seed=meta.seed,
                steps=group["steps"][first:],
                eigenvalues=eigenvalues,
                failed=group["failed"][...][keep],
                fail_step=group["fail_step"][...][keep],
                weights=weights,
                optimizer_state=opt,
                records=records,
                bit_generator=meta.bit_generator,
                normal_method=meta.normal_method,
                point=name,
                params=meta.params,
            )
        except _Damaged as exc:
            raise _damage_error(path, str(exc)) from None
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise _damage_error(path, f"{name}: {type(exc).__name__}: {exc}") from None


def load(path) -> list[EnsembleResult]:
    """Read a results store: one EnsembleResult per scan point, in scan order.

    Each result knows its point: ``result.point`` is its group (``"point_000"``, ...) and
    ``result.params`` its scanned values (``{"lr": 0.05, "batch_size": 8}``; empty when the
    store holds a single run that is not a scan). Replicas whose block was never finished
    (an interrupted run) are left out, with a warning; run the same command again to
    complete them.

    Parameters
    ----------
    path : path-like
        The store's HDF5 file (``OUTDIR/results.h5``).

    Returns
    -------
    list of EnsembleResult
        One per scan point, also when there is only one.

    Raises
    ------
    ConfigError, StoreError
        The file is missing, foreign or damaged (the message says what can be recovered).

    Examples
    --------
    >>> results = dl.load("dysonlearn-output/results.h5")      # doctest: +SKIP
    >>> {r.point: r.params for r in results}                    # doctest: +SKIP
    {'point_000': {'lr': 0.05, 'batch_size': 8}, ...}
    """
    _, infos = describe(Path(path))
    incomplete = [i.name for i in infos if i.done < i.replicas]
    if incomplete:
        warnings.warn(
            f"results: {str(path)!r} is incomplete ({', '.join(incomplete)}); only finished "
            "replicas are loaded",
            stacklevel=2,
        )
    return [load_point(Path(path), info.name) for info in infos]


def stored_root_seed(path: Path) -> int | None:
    """The root seed of the run held by a store (journal or view), or None if none is
    readable; lets a run without a seed resume."""
    path = Path(path)
    journal = Journal(path)
    try:
        seed = journal.read_manifest()["seed"] if journal.exists() else None
        if seed is None and path.is_file():
            with _open_view(path) as handle:
                seed = _attr_text(handle.attrs, "seed")
        return int(seed) if seed not in (None, "") else None
    except (ConfigError, KeyError, TypeError, ValueError, OSError):
        return None


# -- rebuilding the view ----------------------------------------------------------------------


def _manifest_from_view(path: Path) -> dict:
    """The manifest of a store written before journals existed (or whose journal is gone)."""
    with _open_view(path) as handle:
        try:
            manifest = {key: _attr_text(handle.attrs, key) for key in _ROOT_KEYS}
            # A store of an older dysonlearn lacks these (see _complete_manifest).
            for key in _CONTEXT_KEYS:
                if key in handle.attrs:
                    value = handle.attrs[key]
                    manifest[key] = int(value) if key == "workers" else _attr_text(
                        handle.attrs, key)  # fmt: skip
            if "sessions" in handle.attrs:
                manifest["sessions"] = json.loads(_attr_text(handle.attrs, "sessions"))
            manifest.update(
                format=FORMAT,
                format_version=FORMAT_VERSION,
                run=json.loads(_attr_text(handle.attrs, "run")),
                seed=_attr_text(handle.attrs, "seed"),
            )
            if "analysis" in handle.attrs:
                manifest["analysis"] = json.loads(_attr_text(handle.attrs, "analysis"))
            names = [r["name"] for r in manifest["run"]]
            manifest["params"] = [
                json.loads(_attr_text(handle[name].attrs, "params")) for name in names
            ]
        except (KeyError, ValueError, TypeError, OSError, json.JSONDecodeError) as exc:
            raise _damage_error(path, f"{type(exc).__name__}: {exc}") from None
    return _complete_manifest(manifest)


def _readable_old_view(path: Path, manifest: dict) -> h5py.File | None:
    """The current view if it holds this run intact, else None (rebuild from the journal)."""
    if not path.is_file():
        return None
    try:
        handle = h5py.File(path, "r")
    except OSError:
        return None
    try:
        if _canonical(json.loads(_attr_text(handle.attrs, "run"))) != _canonical(
            manifest["run"]
        ):
            raise _Damaged("a different run")
        for record in manifest["run"]:
            meta = _read_point_meta(handle, record["name"])
            if meta.replicas != record["replicas"]:
                raise _Damaged("replicas")
        return handle
    except (_Damaged, KeyError, ValueError, TypeError, OSError, json.JSONDecodeError):
        handle.close()
        return None


def _view_bytes(manifest: dict) -> int:
    """About how large the view of a run is on disk (to refuse a rebuild that cannot fit)."""
    size = 1 << 16
    for record in manifest["run"]:
        config = config_from_dict(record["config"])
        per_replica = 8 * config.snapshot_steps.size * config.n_modes + 10
        if record.get("keep_weights"):
            # weights, and up to twice as much optimiser state (Adam's m and s)
            per_replica += 8 * config.n_modes * config.n_modes * 2 * 3
        size += int(record["replicas"]) * per_replica + (1 << 14)
    return size


def _write_view(tmp: Path, manifest: dict, old: h5py.File | None, journal: Journal) -> None:
    """Write the whole view to ``tmp``.

    A view of moderate size is built in memory and written with plain file I/O, so that a
    full disk is an ordinary OSError (HDF5 writing to a full disk reports errors from
    object destructors, and has been seen to crash). A larger one is written by HDF5
    directly, after :func:`rebuild_view` has checked the free space.
    """
    if _view_bytes(manifest) <= _IN_MEMORY_VIEW_BYTES:
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as out:
            _fill_view(out, manifest, old, journal)
        with open(tmp, "wb") as handle:
            handle.write(buffer.getbuffer())
        return
    previous = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None  # HDF5's destructor errors: reported below
    try:
        with h5py.File(tmp, "w") as out:
            _fill_view(out, manifest, old, journal)
    finally:
        sys.unraisablehook = previous


def _fill_view(out: h5py.File, manifest: dict, old: h5py.File | None, journal: Journal) -> None:
    manifest = _complete_manifest(manifest)
    out.attrs.update({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "run": _canonical(manifest["run"]),
        "seed": manifest["seed"],
        **{key: manifest[key] for key in (*_ROOT_KEYS, *_CONTEXT_KEYS)},
        "sessions": json.dumps(manifest["sessions"], indent=1),
    })  # fmt: skip
    if "analysis" in manifest:
        out.attrs["analysis"] = _canonical(manifest["analysis"])
    for record, params in zip(manifest["run"], manifest["params"], strict=True):
        name = record["name"]
        config = config_from_dict(record["config"])
        group = _create_point(out, name, record, config, params)
        records = _record_names(config)
        if old is not None:
            _copy_rows(old[name], group, records)
        for block, arrays in journal_module.iter_rows(journal.blocks(name)):
            rows = slice(block.start, block.stop)
            group["eigenvalues"][rows] = arrays["eigenvalues"]
            group["failed"][rows] = arrays["failed"]
            group["fail_step"][rows] = arrays["fail_step"]
            for key in records:
                if key in arrays:
                    group[key][rows] = arrays[key]
            for key in _FINAL_STATE:
                if key in arrays:
                    _state_dataset(group, key, arrays[key].shape[1:])[rows] = arrays[key]
            group["done"][rows] = True
        journal_module.write_point("fill view")


def _create_point(handle: h5py.File, name: str, record: dict, config, params: dict) -> h5py.Group:
    n_rep = int(record["replicas"])
    steps = config.snapshot_steps
    group = handle.create_group(name)
    # Every field of the configuration as an attribute of its own, for readers that do not
    # parse JSON (h5dump, HDFView, xarray); the JSON records stay the reference.
    fields = scalar_fields(record["config"])
    group.attrs.update({k: v for k, v in fields.items() if k not in _POINT_KEYS})
    group.attrs.update({
        "params": json.dumps(params),
        "config": _canonical(record["config"]),
        "replicas": n_rep,
        "seed": str(record["seed"]),
        "bit_generator": record["bit_generator"],
        "normal_method": record["normal_method"],
    })  # fmt: skip
    labels = model_for(config).labels_for(config)
    eigenvalues = group.create_dataset(
        "eigenvalues", shape=(n_rep, steps.size, config.n_modes), dtype="f8",
        chunks=_eigenvalue_chunks(n_rep, steps.size, config.n_modes), fillvalue=np.nan,
        **_COMPRESSION,
    )  # fmt: skip
    _describe(eigenvalues, ("replica", "snapshot", "mode"),
              f"{labels.eigenvalue_text}; NaN after the replica diverged, and for replicas "
              "not trained yet (done false)")  # fmt: skip
    step = group.create_dataset("steps", data=steps)
    if config.is_time_series:
        what = (f"training step of each record of the time series: burn_in + k * "
                f"record_every = {config.burn_in} + k * {config.record_every}")  # fmt: skip
    else:
        what = "training step of each snapshot, step 0 (the start) first"
    _describe(step, ("snapshot",), what, "steps")
    step.make_scale("step")
    eigenvalues.dims[1].attach_scale(step)
    for record_name, record in model_for(config).records(config).items():
        data = group.create_dataset(
            record_name, shape=(n_rep, steps.size, record.n_values), dtype="f8",
            chunks=_eigenvalue_chunks(n_rep, steps.size, record.n_values), fillvalue=np.nan,
            **_COMPRESSION,
        )  # fmt: skip
        _describe(data, ("replica", "snapshot", record.axis),
                  f"{record.description}; NaN for replicas not trained yet (done false)")
        data.dims[1].attach_scale(step)
    _describe(group.create_dataset("failed", shape=(n_rep,), dtype=bool, fillvalue=False),
              ("replica",), "true: the replica diverged (its state became non-finite or left "
              "the region where its dynamics are meaningful) and was stopped")  # fmt: skip
    _describe(group.create_dataset("fail_step", shape=(n_rep,), dtype="i8", fillvalue=-1),
              ("replica",), "training step at which the replica diverged; -1 if it did "
              "not", "steps")  # fmt: skip
    _describe(group.create_dataset("done", shape=(n_rep,), dtype=bool, fillvalue=False),
              ("replica",), "true: the replica's block finished and its rows hold data; "
              "false: not trained yet (an interrupted run: run it again to resume)")  # fmt: skip
    return group


def _eigenvalue_chunks(n_rep: int, n_records: int, n_modes: int) -> tuple[int, int, int]:
    """The chunk shape of a point's eigenvalues (replicas, records, modes): all modes, up to
    ``_CHUNK_RECORDS`` records, and as many replicas (at most ``_CHUNK_REPLICAS``) as fit
    in about ``_CHUNK_BYTES``; a run of snapshots keeps chunks of 64 replicas."""
    records = max(1, min(n_records, _CHUNK_RECORDS))
    row_bytes = 8 * records * max(n_modes, 1)
    replicas = min(n_rep, _CHUNK_REPLICAS, max(1, _CHUNK_BYTES // row_bytes))
    return max(1, replicas), records, max(1, n_modes)


def _describe(dataset: h5py.Dataset, axes: tuple, description: str, units: str = "") -> None:
    """Name a dataset's axes (attribute and dimension labels), say what it holds and, for a
    count of steps, its units."""
    dataset.attrs["axes"] = np.array(axes, dtype=h5py.string_dtype())
    dataset.attrs["description"] = description
    if units:
        dataset.attrs["units"] = units
    for dim, axis in zip(dataset.dims, axes, strict=True):
        dim.label = axis


def _record_names(config) -> list[str]:
    """The datasets of what the point's model records beside its spectrum."""
    return list(model_for(config).records(config))


def _group_config(group: h5py.Group):
    return config_from_dict(json.loads(_attr_text(group.attrs, "config")))


# The final state a point keeps with keep_weights: the weights, and the optimiser's state
# when it keeps one (momentum, Adam), so that a replica can be trained on exactly.
_FINAL_STATE = ("weights", "optimizer_state")


def _state_dataset(group: h5py.Group, key: str, shape: tuple) -> h5py.Dataset:
    """The point's dataset ``key`` of :data:`_FINAL_STATE`, (replicas, *shape), made with
    its description on first use."""
    if key not in group:
        n_rep = group["done"].shape[0]
        data = group.create_dataset(
            key, shape=(n_rep, *shape), dtype="f8",
            chunks=(max(1, min(n_rep, _CHUNK_REPLICAS)), *shape), fillvalue=np.nan,
        )  # fmt: skip
        if key == "optimizer_state":
            _describe(data, ("replica", "state"),
                      "the optimiser's state of each replica at the end of training "
                      "(momentum: v; Adam, AdamW: m then s; each the weights flattened); NaN "
                      "for replicas not trained yet")  # fmt: skip
            return data
        config = _group_config(group)
        labels = model_for(config).labels_for(config)
        axes = labels.state_axes
        if len(axes) != data.ndim:
            axes = ("replica", *(f"state_{i}" for i in range(1, data.ndim)))
        _describe(data, axes, f"{labels.state_text}; NaN for replicas not trained yet")
    return group[key]


def _copy_rows(source: h5py.Group, target: h5py.Group, records: list[str]) -> None:
    """Copy the finished rows of a point from the old view, a slab of rows at a time (at
    most ``_COPY_ROWS`` rows and about ``_COPY_BYTES`` of a dataset: a slab of a long time
    series is a few replicas); ``records``: the point's model records
    (:func:`_record_names`)."""
    n_rep = source["done"].shape[0]
    keys = ["eigenvalues", "failed", "fail_step"]
    # A record the old view lacks (written before the model recorded it) stays NaN.
    keys += [key for key in records if key in source]
    for key in _FINAL_STATE:
        if key in source:
            _state_dataset(target, key, source[key].shape[1:])
            keys.append(key)
    row_bytes = max(source[key].dtype.itemsize * math.prod(source[key].shape[1:]) for key in keys)
    step = max(1, min(_COPY_ROWS, _COPY_BYTES // max(row_bytes, 1)))
    for first in range(0, n_rep, step):
        rows = slice(first, min(first + step, n_rep))
        done = source["done"][rows]
        if not done.any():
            continue
        for key in keys:
            if done.all():
                target[key][rows] = source[key][rows]
            else:
                slab = target[key][rows]
                slab[done] = source[key][rows][done]
                target[key][rows] = slab
        target["done"][rows] = done | target["done"][rows]


def rebuild_view(path: Path, journal: Journal, manifest: dict) -> None:
    """Rebuild the view from the current view (if intact) and the journal, atomically, then
    drop the journal's blocks that it now holds.

    Raises
    ------
    NoSpaceError
        Not enough free space for the new view (nothing changed).
    """
    needed = _view_bytes(manifest)
    free = shutil.disk_usage(path.parent).free
    if free < needed:
        raise NoSpaceError(f"no space left on {str(path.parent)!r}")
    merged = journal.blocks()
    old = _readable_old_view(path, manifest)
    try:
        journal_module.atomic_write(
            path, lambda tmp: _write_view(tmp, manifest, old, journal), "view"
        )
    except (OSError, RuntimeError) as exc:
        # HDF5 reports a failed write as an OSError or RuntimeError whose message holds the
        # errno ("errno = 28"); a full disk is also told by looking.
        if journal_module.mentions_no_space(exc) or shutil.disk_usage(path.parent).free < needed:
            raise NoSpaceError(f"no space left on {str(path.parent)!r}") from None
        raise StoreError(f"results: cannot write {str(path)!r}: {exc}") from None
    finally:
        if old is not None:
            old.close()
    journal.remove_blocks(merged)


def repair(path: Path) -> tuple[int, int]:
    """Rebuild a store's view from what was committed (its journal and intact view).

    Parameters
    ----------
    path : path-like
        The store's HDF5 file (which may be missing or damaged).

    Returns
    -------
    (saved, total) : tuple of int
        Replicas the rebuilt view holds, and replicas in the run.

    Raises
    ------
    StoreError
        Nothing can be recovered (no journal and no readable view), or another run holds
        the store.
    """
    path = Path(path)
    journal = Journal(path)
    if journal.exists():
        _rebuild_from_journal(path, journal)
    _, infos = describe(path)  # without a journal: raises with what is wrong, if anything
    return sum(i.done for i in infos), sum(i.replicas for i in infos)


def _rebuild_from_journal(path: Path, journal: Journal) -> None:
    journal.lock()
    try:
        journal.remove_stale_temporaries()
        manifest = journal.read_manifest()
        try:
            config_from_dict(manifest["run"][0]["config"])
        except (KeyError, IndexError, TypeError, ConfigError) as exc:
            raise StoreError(
                f"results: the journal of {str(path)!r} has a damaged manifest ({exc}); run "
                "the experiment again with --overwrite"
            ) from None
        rebuild_view(path, journal, manifest)
    finally:
        journal.unlock()


# -- a run writing into a store -----------------------------------------------------------------


def check_output_dir(folder: Path) -> None:
    """Create ``folder`` if needed; refuse (StoreError), before any work, one that cannot
    be created or written: a file on the way, /proc, no permission."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StoreError(f"output: {str(folder)!r} exists and is not a directory") from None
    except OSError as exc:
        raise StoreError(
            f"output: cannot create the directory {str(folder)!r} ({exc.strerror})"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(f"output: the directory {str(folder)!r} is not writable")


def _check_writable(path: Path) -> None:
    """Refuse, before any work, a store that cannot be written."""
    if path.is_dir():
        raise StoreError(f"output: {str(path)!r} is a directory, not a results file")
    check_output_dir(path.parent)
    if path.exists() and not os.access(path, os.W_OK):
        raise StoreError(
            f"output: {str(path)!r} is read-only; make it writable (chmod u+w) to resume, or "
            "choose another output"
        )


class RunStore:
    """A results store that a run is writing: locked, resumable, crash-safe.

    Use as a context manager around training: entering takes the store's lock and creates
    (or checks, to resume) the run; :meth:`write_block` commits each finished block;
    :meth:`consolidate` rebuilds the view; leaving consolidates and, once the run is
    complete, removes the journal.

    Parameters
    ----------
    path : path-like
        The store's HDF5 file.
    points : list of PointSpec
        The run's scan points.
    root_seed : int
        The root seed of the run (written to the store, so that a seedless run resumes).
    overwrite : bool
        Replace a store that holds a different run (default: refuse it).
    analysis : dict, optional
        The experiment's analysis settings (``{"pool_last": n}``), kept in the store for
        ``analyze``; they do not change what is trained, so a resumed run may change them.
    metadata : RunMetadata, optional
        How the run was started (experiment text, command line, backend, workers): the
        root attributes of a new store, and this session's record in ``sessions``.

    Attributes
    ----------
    resumed : bool
        Whether an existing store of this run was found.

    Notes
    -----
    Each entry into a store is a session, recorded in the root attribute ``sessions``:
    started (when it entered), ended (when it last rebuilt the view: after every scan
    point, at most a minute apart during one, and when it stops), and the replicas it
    saved. The root attributes ``started`` and ``ended`` are the first session's start and
    the last one's end. A session that saves nothing (a finished run called again) leaves
    the store untouched; one killed outright keeps the end of its last rebuild.
    """

    def __init__(self, path, points: list[PointSpec], root_seed: int, overwrite: bool = False,
                 analysis: dict | None = None,
                 metadata: RunMetadata | None = None):  # fmt: skip
        self.path = Path(path)
        self.analysis = {"pool_last": default_pool_last(p.config for p in points),
                         **(analysis or {})}  # fmt: skip
        self.points = list(points)
        self.root_seed = int(root_seed)
        self.overwrite = overwrite
        self.metadata = metadata if metadata is not None else RunMetadata()
        self.journal = Journal(self.path)
        self.resumed = False
        self._manifest: dict = {}
        self._saved = 0  # replicas committed by this session
        self._done: dict[str, np.ndarray] = {}
        self._last_rebuild = time.monotonic()
        self._rebuild_seconds = 0.0

    def __enter__(self) -> RunStore:
        _check_writable(self.path)
        try:
            self.journal.lock()
        except PermissionError as exc:
            raise StoreError(f"output: cannot write in {str(self.path.parent)!r} ({exc.strerror})"
                             ) from None  # fmt: skip
        try:
            self._prepare()
        except BaseException:
            self.journal.unlock()
            raise
        return self

    def _prepare(self) -> None:
        session = _session(self.metadata)
        manifest = _manifest(self.points, self.root_seed, session,
                             self.metadata.experiment_toml, self.analysis)  # fmt: skip
        self.journal.remove_stale_temporaries()
        if self.overwrite:
            self.journal.clear()
        elif self.journal.exists():
            stored = self.journal.read_manifest()
            self._check_same_run(stored.get("run"), stored.get("seed"))
            manifest, self.resumed = _complete_manifest(stored), True
        elif self.path.exists():
            stored = _manifest_from_view(self.path)
            self._check_same_run(stored["run"], stored.get("seed"))
            manifest, self.resumed = _complete_manifest(stored), True
        # The analysis settings are this run's, whatever the resumed one had.
        settings_changed = manifest.get("analysis") != self.analysis
        manifest["analysis"] = dict(self.analysis)
        manifest["sessions"].append(session)
        old = _readable_old_view(self.path, manifest) if self.resumed else None
        if self.resumed and old is None and self.path.exists() and not self.journal.blocks():
            # A view that cannot be read and nothing in the journal: refuse rather than
            # silently start over (a crash never does this; something else damaged it).
            if not self.journal.exists():
                self.journal.remove()  # only the lock: leave no journal of nothing behind
            raise _damage_error(self.path, "its points cannot be read")
        self._manifest = manifest
        self.journal.write_manifest(manifest)
        self._done = {}
        for point in self.points:
            done = np.zeros(point.replicas, bool)
            if old is not None:
                done |= old[point.name]["done"][...]
            for block in self.journal.blocks(point.name):
                done[block.start : block.stop] = True
            self._done[point.name] = done
        if old is not None:
            old.close()
        if old is None or self.journal.blocks() or settings_changed:
            self._rebuild()  # no view of this run yet, one behind, or other settings

    def _check_same_run(self, stored_run, stored_seed=None) -> None:
        run = [p.run_record() for p in self.points]
        if _canonical(stored_run) != _canonical(run):
            differences = "; ".join(
                run_differences(stored_run if isinstance(stored_run, list) else [], run,
                                stored_seed, self.root_seed)  # fmt: skip
            ) or "its records differ"
            raise StoreError(
                f"output: {str(self.path)!r} holds a different run (stored -> this run: "
                f"{differences}); pass "
                "--overwrite (overwrite=True) to replace it, or choose another output"
            )

    def done(self, name: str) -> np.ndarray:
        """(R,) bool: the replicas of point ``name`` committed so far."""
        return self._done[name].copy()

    def saved(self) -> tuple[int, int]:
        """(replicas committed, replicas in the run)."""
        return (
            sum(int(d.sum()) for d in self._done.values()),
            sum(p.replicas for p in self.points),
        )

    def complete(self) -> bool:
        """Whether every replica of every point is committed."""
        return all(d.all() for d in self._done.values())

    def write_block(self, name: str, block) -> None:
        """Commit one finished block (a :class:`dysonlearn.ensemble.BlockOutput`).

        Raises
        ------
        NoSpaceError
            The disk is full; the message says how much is saved and how to resume.
        """
        arrays = {"eigenvalues": block.eigenvalues, "failed": block.failed,
                  "fail_step": block.fail_step, **block.records}  # fmt: skip
        if block.weights is not None:
            arrays["weights"] = block.weights
        if block.optimizer_state is not None:
            arrays["optimizer_state"] = block.optimizer_state
        try:
            self.journal.commit_block(name, block.start, arrays)
        except NoSpaceError as exc:
            raise self._no_space(exc) from None
        self._done[name][block.start : block.stop] = True
        self._saved += block.stop - block.start
        # Keep the view reasonably fresh for readers during a long point, at a bounded
        # cost: at most once a minute, and never more than ~5% of the time in rebuilds.
        now = time.monotonic()
        if now - self._last_rebuild > max(_REFRESH_SECONDS, 20 * self._rebuild_seconds):
            self.consolidate()

    def _no_space(self, exc: Exception) -> NoSpaceError:
        saved, total = self.saved()
        blocks = len(self.journal.blocks())
        return NoSpaceError(
            f"output: {exc}; {saved} of {total} replicas are saved ({blocks} blocks in the "
            "journal); free space and run the same command to resume"
        )

    def consolidate(self) -> None:
        """Rebuild the view from the previous view and the journal (atomically)."""
        # The journal itself says whether there is anything to merge (a stop signal may
        # land between a block's rename and the bookkeeping after it).
        if self.journal.blocks():
            self._rebuild()

    def _rebuild(self) -> None:
        start = time.monotonic()
        # This session's end is when it last saved: stamped in the journal's manifest first
        # (so that a crash before the view is written keeps it), then in the view.
        session = self._manifest["sessions"][-1]
        session["ended"] = self._manifest["ended"] = _now()
        session["replicas_saved"] = self._saved
        try:
            self.journal.write_manifest(self._manifest)
            rebuild_view(self.path, self.journal, self._manifest)
        except NoSpaceError as exc:
            raise self._no_space(exc) from None
        self._last_rebuild = time.monotonic()
        self._rebuild_seconds = self._last_rebuild - start

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.consolidate()
            if self.complete():
                self.journal.remove()
        except (StoreError, OSError):
            # Leaving on an error already: what is committed stays in the journal, and the
            # error that stopped the run is the one to report.
            if exc_type is None:
                raise
        finally:
            self.journal.unlock()


__all__ = [
    "PointInfo",
    "analysis_settings",
    "RunMetadata",
    "root_summary",
    "check_output_dir",
    "PointSpec",
    "RunStore",
    "describe",
    "load",
    "load_point",
    "repair",
    "stored_root_seed",
]
