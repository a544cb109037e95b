"""The HDF5 results store (h5py): one file per experiment, one group per scan point.

Layout (a contract, see DESIGN.md):

    /                      attrs: format, format_version, dysonlearn_version, run (JSON of
                           every point's configuration and ensemble settings), seed,
                           created, numpy_version, scipy_version, h5py_version
    /point_000 ...         attrs: params (JSON of the scanned values), config (JSON),
                           replicas, seed, bit_generator, normal_method
        eigenvalues (R, S, N) float64, NaN until written, chunked by replica block
        steps (S,) int64   failed (R,) bool   fail_step (R,) int64   done (R,) bool
        weights (R, ...)   the final state, when asked for

A block is written data first, flushed, and only then marked done (and flushed again), so
a reader never takes a half-written block for a finished one: a crash loses at most the
blocks in flight. The file is opened for each write and closed after it.
"""

from __future__ import annotations

import datetime
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import scipy

from ._version import __version__
from .config import DysonConfig, RBMConfig, TeacherStudentConfig
from .errors import ConfigError
from .result import EnsembleResult

FORMAT = "dysonlearn-results"
FORMAT_VERSION = 1
_CONFIG_CLASSES = {c.kind: c for c in (RBMConfig, TeacherStudentConfig, DysonConfig)}
_CHUNK_REPLICAS = 64


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
    """The model configuration written by ``config.to_dict()``."""
    kind = data.get("kind")
    if kind not in _CONFIG_CLASSES:
        raise ConfigError(f"config.kind: unknown model kind {kind!r} in the store")
    return _CONFIG_CLASSES[kind].from_dict(data)


def _canonical(record) -> str:
    return json.dumps(record, sort_keys=True)


def _open(path: Path, mode: str) -> h5py.File:
    try:
        return h5py.File(path, mode)
    except FileNotFoundError:
        raise ConfigError(f"results: file not found: {str(path)!r}") from None
    except OSError as exc:
        raise ConfigError(f"results: {str(path)!r} is not a readable HDF5 file ({exc})") from None


def _check_format(handle: h5py.File, path: Path) -> None:
    if handle.attrs.get("format") != FORMAT:
        raise ConfigError(
            f"results: {str(path)!r} is an HDF5 file but not a dysonlearn results store"
        )
    version = int(handle.attrs.get("format_version", -1))
    if version > FORMAT_VERSION:
        raise ConfigError(
            f"results: {str(path)!r} has store format {version}; this dysonlearn reads "
            f"up to {FORMAT_VERSION} (upgrade dysonlearn)"
        )


def prepare(path: Path, points: list[PointSpec], overwrite: bool = False) -> bool:
    """Create the store for ``points``, or check that an existing one holds the same run.

    Returns True when an existing store is resumed. A store of a different run is refused
    (ConfigError) unless ``overwrite``, which replaces it.
    """
    path = Path(path)
    run = [p.run_record() for p in points]
    if path.exists() and not overwrite:
        with _open(path, "r") as handle:
            _check_format(handle, path)
            stored = json.loads(handle.attrs["run"])
        if _canonical(stored) != _canonical(run):
            raise ConfigError(
                f"output: {str(path)!r} holds a different run (configuration, seed or "
                "replicas differ); pass --overwrite (overwrite=True) to replace it, or "
                "choose another output"
            )
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as handle:
        handle.attrs.update({
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "dysonlearn_version": __version__,
            "run": _canonical(run),
            "seed": str(points[0].seed) if points else "",
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "numpy_version": np.__version__,
            "scipy_version": scipy.__version__,
            "h5py_version": h5py.__version__,
        })  # fmt: skip
        for point in points:
            _create_point(handle, point)
    return False


def _create_point(handle: h5py.File, point: PointSpec) -> None:
    config, n_rep = point.config, point.replicas
    steps = config.snapshot_steps
    group = handle.create_group(point.name)
    group.attrs.update({
        "params": json.dumps(dict(point.params)),
        "config": _canonical(config.to_dict()),
        "replicas": n_rep,
        "seed": str(point.seed),
        "bit_generator": point.bit_generator,
        "normal_method": point.normal_method,
    })  # fmt: skip
    chunk = min(n_rep, _CHUNK_REPLICAS)
    group.create_dataset(
        "eigenvalues", shape=(n_rep, steps.size, config.n_modes), dtype="f8",
        chunks=(chunk, steps.size, config.n_modes), fillvalue=np.nan,
    )  # fmt: skip
    group.create_dataset("steps", data=steps)
    group.create_dataset("failed", shape=(n_rep,), dtype=bool, fillvalue=False)
    group.create_dataset("fail_step", shape=(n_rep,), dtype="i8", fillvalue=-1)
    group.create_dataset("done", shape=(n_rep,), dtype=bool, fillvalue=False)


def done_mask(path: Path, name: str) -> np.ndarray:
    """(R,) bool: the replicas of one point whose block has been written completely."""
    with _open(Path(path), "r") as handle:
        return handle[name]["done"][...]


def write_block(path: Path, name: str, block) -> None:
    """Write one finished block (an ensemble BlockOutput): data, flush, then done, flush."""
    with h5py.File(path, "a") as handle:
        group = handle[name]
        rows = slice(block.start, block.stop)
        group["eigenvalues"][rows] = block.eigenvalues
        group["failed"][rows] = block.failed
        group["fail_step"][rows] = block.fail_step
        if block.weights is not None:
            if "weights" not in group:
                n_rep = group["done"].shape[0]
                group.create_dataset(
                    "weights", shape=(n_rep, *block.weights.shape[1:]), dtype="f8",
                    chunks=(min(n_rep, _CHUNK_REPLICAS), *block.weights.shape[1:]),
                    fillvalue=np.nan,
                )  # fmt: skip
            group["weights"][rows] = block.weights
        handle.flush()
        group["done"][rows] = True
        handle.flush()


@dataclass(frozen=True)
class PointInfo:
    """What ``info`` reports of one point."""

    name: str
    params: dict
    config: object
    replicas: int
    done: int
    failed: int


def describe(path: Path) -> tuple[dict, list[PointInfo]]:
    """Root attributes and the progress of every point, without loading the spectra."""
    path = Path(path)
    with _open(path, "r") as handle:
        _check_format(handle, path)
        root = {k: (v.item() if hasattr(v, "item") else v) for k, v in handle.attrs.items()}
        infos = []
        for name in sorted(k for k in handle if isinstance(handle[k], h5py.Group)):
            group = handle[name]
            done = group["done"][...]
            infos.append(PointInfo(
                name, json.loads(group.attrs["params"]),
                config_from_dict(json.loads(group.attrs["config"])),
                int(group.attrs["replicas"]), int(done.sum()),
                int((group["failed"][...] & done).sum()),
            ))  # fmt: skip
    return root, infos


def load_point(path: Path, name: str, complete_only: bool = True) -> EnsembleResult:
    """One point as an EnsembleResult (only its finished replicas, in index order)."""
    path = Path(path)
    with _open(path, "r") as handle:
        _check_format(handle, path)
        if name not in handle:
            raise ConfigError(f"results: {str(path)!r} has no point {name!r}")
        group = handle[name]
        done = group["done"][...]
        keep = done if complete_only else np.ones_like(done)
        weights = group["weights"][...][keep] if "weights" in group else None
        return EnsembleResult(
            config=config_from_dict(json.loads(group.attrs["config"])),
            seed=int(group.attrs["seed"]),
            steps=group["steps"][...],
            eigenvalues=group["eigenvalues"][...][keep],
            failed=group["failed"][...][keep],
            fail_step=group["fail_step"][...][keep],
            weights=weights,
            bit_generator=str(group.attrs["bit_generator"]),
            normal_method=str(group.attrs["normal_method"]),
        )


def load(path) -> EnsembleResult | list[EnsembleResult]:
    """Read a results store: one EnsembleResult, or a list of them for a scan.

    Replicas whose block was never finished (an interrupted run) are left out, with a
    warning; run the same command again to complete them.
    """
    _, infos = describe(Path(path))
    incomplete = [i.name for i in infos if i.done < i.replicas]
    if incomplete:
        warnings.warn(
            f"results: {str(path)!r} is incomplete ({', '.join(incomplete)}); only finished "
            "replicas are loaded",
            stacklevel=2,
        )
    results = [load_point(Path(path), info.name) for info in infos]
    return results[0] if len(results) == 1 else results
