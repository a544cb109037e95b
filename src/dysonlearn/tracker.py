"""Record the spectrum of any weight matrix during anybody's training loop.

    tracker = SpectrumTracker(every=10, kind="gram")
    for step in range(steps):
        ...                                  # one optimiser step of your own loop
        tracker.update(step, model.weight)   # NumPy array, PyTorch/JAX tensor, ...
    res = tracker.result()                   # an EnsembleResult: every analysis applies
    dl.analysis.gap_ratio(res.eigenvalues)

``update(step, W)`` records only when ``step % every == 0`` (or when ``force=True``); on
the other steps it returns at once without touching ``W``, so a call on every step costs
nothing. ``W`` may be a NumPy array or any object exposing DLPack (``__dlpack__``: PyTorch,
JAX, CuPy on the host, ...) or ``__array__``; no framework is imported. It is one matrix
(N, M) or a batch (..., N, M) whose leading axes are independent replicas (flattened into
the replica axis R in C order). The eigenvalue work runs in the compiled core
(``dysonlearn._core.spectra``), batched, without the GIL.

Kinds (each spectrum ascending, float64):

    "gram"       eigenvalues of W^T W (M values for an (N, M) matrix). For N < M the first
                 M - N are zero up to rounding (W^T W has rank N). Divide by N to compare
                 with ``analysis.marchenko_pastur_pdf`` :eq:`marchenko-pastur`.
    "symmetric"  eigenvalues of a symmetric W (N = M); symmetry is checked within
                 ``symmetry_tol`` relative to the largest |entry|.
    "singular"   singular values of W (min(N, M) values); their squares are the non-zero
                 "gram" eigenvalues, more accurately for the small ones.

Streaming store (``store="path.h5"``): a small dedicated HDF5 layout, written with h5py.

    /              attrs: format = "dysonlearn-spectrum-tracker", format_version,
                   dysonlearn_version, created, kind, every, shape (JSON: the shape of the
                   tracked W, leading replica axes included)
        steps        (S,) int64, resizable along S, the dimension scale of the snapshot axis
        eigenvalues  (R, S, N) float64, resizable along S, one chunk per snapshot

The file is created when the tracker is (an existing file is refused unless
``overwrite=True``), the datasets at the first record. Like the results store, the file is
never written in place: each record copies it to a temporary file, appends one snapshot
there, syncs it and renames it over the old one (:func:`dysonlearn.journal.atomic_write`),
so a reader, or a crash at any moment, sees the file with or without that snapshot, never
a half-written one. ``load_tracked(path)`` reads it back as an EnsembleResult. (Each
record copies the file: a few milliseconds per 10 MB.)
"""

from __future__ import annotations

import datetime
import json
import operator
import shutil
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from . import journal as journal_module
from . import kernels
from . import store as store_module
from ._version import __version__
from .errors import ConfigError, StoreError
from .result import EnsembleResult

FORMAT = "dysonlearn-spectrum-tracker"
FORMAT_VERSION = 1
TRACKER_FORMAT = store_module.FileFormat(
    FORMAT, FORMAT_VERSION, "path", "SpectrumTracker file", "SpectrumTracker file", "tracker"
)
KINDS = ("gram", "symmetric", "singular")
_KERNELS = {
    "gram": kernels.gram_eigvalsh_batched,
    "symmetric": kernels.eigvalsh_batched,
    "singular": kernels.singular_values_batched,
}


@dataclass(frozen=True)
class TrackerConfig:
    """What a SpectrumTracker recorded: the ``config`` of its EnsembleResult.

    Parameters
    ----------
    kind : {"gram", "symmetric", "singular"}
        Which spectrum was recorded.
    every : int
        The recording period in steps.
    shape : tuple of int
        Shape of the tracked W, leading replica axes included.
    """

    kind: str
    every: int
    shape: tuple[int, ...]

    def to_dict(self) -> dict:
        """Plain JSON-able form (what the HDF5 store keeps as attributes).

        Returns
        -------
        dict
            ``{"kind": ..., "every": ..., "shape": [...]}``.
        """
        return {"kind": self.kind, "every": self.every, "shape": list(self.shape)}

    @property
    def spectrum_text(self) -> str:
        """What the recorded spectrum is, in words (e.g. "singular values of W, ascending")."""
        return _SPECTRA[self.kind]

    @property
    def n_modes(self) -> int:
        """Number of values per spectrum."""
        n, m = self.shape[-2:]
        return min(n, m) if self.kind == "singular" else m


def _as_numpy(W) -> np.ndarray:
    """A NumPy view (or copy) of W: DLPack when offered, else the ``__array__`` protocol."""
    if isinstance(W, np.ndarray):
        return W
    if hasattr(W, "__dlpack__"):
        try:
            return np.from_dlpack(W)
        except (BufferError, RuntimeError, TypeError, ValueError) as exc:
            if not hasattr(W, "__array__"):
                raise ValueError(
                    f"W: could not read the {type(W).__name__} through DLPack ({exc}); "
                    "pass a CPU array (e.g. tensor.detach().cpu())"
                ) from None
    try:
        return np.asarray(W)
    except (BufferError, RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"W: could not convert the {type(W).__name__} to a NumPy array ({exc}); "
            "pass a NumPy array, or a CPU tensor exposing __dlpack__ or __array__"
        ) from None


class SpectrumTracker:
    """Spectra of a weight matrix at the steps of a training loop (see the module doc).

    Parameters
    ----------
    every : int, optional
        Record when ``step % every == 0`` (step 0 included); >= 1.
    kind : {"gram", "symmetric", "singular"}
        "gram" (eigenvalues of W^T W), "symmetric" (eigenvalues of a symmetric W) or
        "singular" (singular values of W).
    store : str or path-like, optional
        None to keep the spectra in memory, or a path of an HDF5 file to stream them to
        (``result()`` then reads the file back).
    overwrite : bool, optional
        Replace an existing ``store`` file instead of refusing it.
    symmetry_tol : float, optional
        For kind "symmetric", the largest ``abs(W - W.T)`` allowed, relative to the
        largest ``abs(W)``. Default: the square root of the machine epsilon of W's dtype
        (1.5e-8 for float64, 3.5e-4 for float32), which accepts rounding and rejects a
        matrix that is not symmetric.

    Raises
    ------
    ConfigError
        An invalid argument, or an existing ``store`` without ``overwrite``.

    Examples
    --------
    >>> import numpy as np
    >>> import dysonlearn as dl
    >>> tracker = dl.SpectrumTracker(every=10, kind="singular")
    >>> W = np.eye(3)
    >>> for step in range(21):
    ...     W = 1.01 * W                       # a training step of your own
    ...     _ = tracker.update(step, W)
    >>> res = tracker.result()
    >>> res.eigenvalues.shape, res.steps.tolist()
    ((1, 3, 3), [0, 10, 20])
    """

    def __init__(
        self,
        every: int = 1,
        kind: str = "gram",
        store: str | Path | None = None,
        *,
        overwrite: bool = False,
        symmetry_tol: float | None = None,
    ):
        problems = []
        if isinstance(every, bool) or not isinstance(every, int | np.integer) or every < 1:
            problems.append(f"every: must be an integer >= 1, got {every!r}")
        if kind not in KINDS:
            problems.append(f"kind: must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
        if symmetry_tol is not None and not (
            isinstance(symmetry_tol, int | float) and 0 <= symmetry_tol < np.inf
        ):
            problems.append(f"symmetry_tol: must be a finite number >= 0, got {symmetry_tol!r}")
        if problems:
            raise ConfigError(problems)
        self.every = int(every)
        self.kind = kind
        self.symmetry_tol = symmetry_tol
        self.store = None if store is None else Path(store)
        self._shape: tuple[int, ...] | None = None
        self._last_step: int | None = None
        self._steps: list[int] = []
        self._spectra: list[np.ndarray] = []
        if self.store is not None:
            self._create_store(overwrite)

    def __repr__(self) -> str:
        where = "memory" if self.store is None else repr(str(self.store))
        return (
            f"SpectrumTracker(kind={self.kind!r}, every={self.every}, shape={self._shape}, "
            f"snapshots={len(self._steps)}, store={where})"
        )

    @property
    def steps(self) -> np.ndarray:
        """(S,) int64: the steps recorded so far."""
        return np.array(self._steps, dtype=np.int64)

    @property
    def config(self) -> TrackerConfig:
        if self._shape is None:
            raise ValueError("tracker: nothing recorded yet, so the shape of W is unknown")
        return TrackerConfig(self.kind, self.every, self._shape)

    def update(self, step: int, W, force: bool = False) -> bool:
        """Record the spectrum of W at ``step`` if ``step % every == 0`` or ``force``.

        Steps must be >= 0 and increase from call to call, recorded or not (a call that
        raises does not count). W is one matrix (N, M) or a batch (..., N, M) of replicas;
        its shape must stay the same between records and its entries must be finite.

        Parameters
        ----------
        step : int
            The training step, >= 0, larger than at the previous call.
        W : array_like
            The weights: a NumPy array, or anything with ``__dlpack__`` or ``__array__``.
        force : bool, optional
            Record whatever the step.

        Returns
        -------
        bool
            True when it recorded.

        Raises
        ------
        ValueError
            Invalid input (a decreasing step, a changed shape, non-finite entries, a
            matrix that is not symmetric for kind "symmetric"), naming the argument.
        TypeError
            A step that is not an integer.
        """
        if isinstance(step, bool):
            raise TypeError(f"step: must be an integer, got {step!r}")
        try:
            step = operator.index(step)
        except TypeError:
            raise TypeError(f"step: must be an integer, got {step!r}") from None
        if step < 0:
            raise ValueError(f"step: must be >= 0, got {step}")
        if self._last_step is not None and step <= self._last_step:
            raise ValueError(
                f"step: steps must increase from one update to the next, got {step} after "
                f"{self._last_step}"
            )
        if not force and step % self.every != 0:
            self._last_step = step
            return False
        shape, values = self._spectrum(W)  # raises before anything is recorded
        if self.store is None:
            self._spectra.append(values)
        else:
            self._append_to_store(step, shape, values)
        self._shape = shape
        self._steps.append(step)
        self._last_step = step
        return True

    def _spectrum(self, W) -> tuple[tuple[int, ...], np.ndarray]:
        """The shape of W and the (R, n_modes) ascending spectra of its replicas."""
        array = _as_numpy(W)
        if array.dtype.kind == "c":
            raise ValueError(f"W: must be real, got dtype {array.dtype}")
        if array.dtype.kind not in "biuf":
            raise ValueError(f"W: must hold real numbers, got dtype {array.dtype}")
        if array.ndim < 2 or 0 in array.shape:
            raise ValueError(
                f"W: must be a matrix (N, M) or a batch of matrices (..., N, M) with no empty "
                f"axis, got shape {array.shape}"
            )
        shape = tuple(int(n) for n in array.shape)
        if self._shape is not None and shape != self._shape:
            raise ValueError(
                f"W: shape changed from {self._shape} (first record) to {shape}; track "
                "matrices of a different shape with another tracker"
            )
        eps = np.finfo(array.dtype if array.dtype.kind == "f" else np.float64).eps
        block = np.ascontiguousarray(array.reshape(-1, *shape[-2:]), dtype=np.float64)
        if not np.isfinite(block).all():
            raise ValueError("W: has non-finite entries (NaN or inf): training has diverged?")
        if self.kind == "symmetric":
            self._check_symmetric(block, float(eps))
        return shape, _KERNELS[self.kind](block)

    def _check_symmetric(self, block: np.ndarray, eps: float) -> None:
        n, m = block.shape[-2:]
        if n != m:
            raise ValueError(f"W: kind 'symmetric' needs square matrices, got {n} x {m}")
        tol = np.sqrt(eps) if self.symmetry_tol is None else self.symmetry_tol
        scale = float(np.max(np.abs(block)))
        asymmetry = float(np.max(np.abs(block - np.swapaxes(block, -1, -2))))
        if asymmetry > tol * scale:
            raise ValueError(
                f"W: kind 'symmetric' needs symmetric matrices; max |W - W^T| = "
                f"{asymmetry:.3g} exceeds symmetry_tol * max |W| = {tol:.3g} * {scale:.3g} "
                "(use kind 'gram' or 'singular' for a general matrix)"
            )

    # The streaming store ---------------------------------------------------------------

    def _create_store(self, overwrite: bool) -> None:
        if self.store.exists() and not overwrite:
            raise ValueError(
                f"store: {str(self.store)!r} exists; pass overwrite=True to replace it, or "
                "choose another path"
            )
        self.store.parent.mkdir(parents=True, exist_ok=True)

        def create(tmp: Path) -> None:
            with h5py.File(tmp, "w") as handle:
                handle.attrs.update({
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "dysonlearn_version": __version__,
                    "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                    "kind": self.kind,
                    "every": self.every,
                })  # fmt: skip

        journal_module.atomic_write(self.store, create, "tracker file")

    def _append_to_store(self, step: int, shape: tuple[int, ...], values: np.ndarray) -> None:
        def append(tmp: Path) -> None:
            shutil.copyfile(self.store, tmp)
            with h5py.File(tmp, "a") as handle:
                _append_snapshot(handle, self.kind, step, shape, values)

        journal_module.atomic_write(self.store, append, "tracker file")

    # Results ---------------------------------------------------------------------------

    def result(self) -> EnsembleResult:
        """The recorded spectra as an EnsembleResult, like ``run_ensemble`` returns.

        eigenvalues (R, S, N) ascending, steps (S,), failed all False, fail_step -1,
        config a TrackerConfig, seed 0. With a store, read back from the file.

        Returns
        -------
        EnsembleResult

        Raises
        ------
        ValueError
            If nothing was recorded yet.
        """
        if not self._steps:
            raise ValueError("tracker: nothing recorded yet (no update at a multiple of every)")
        if self.store is not None:
            return load_tracked(self.store)
        return _result(self.config, self.steps, np.stack(self._spectra, axis=1))


_SPECTRA = {
    "gram": "eigenvalues of W^T W, ascending",
    "symmetric": "eigenvalues of the symmetric W, ascending",
    "singular": "singular values of W, ascending",
}


def _append_snapshot(handle: h5py.File, kind: str, step: int, shape: tuple[int, ...],
                     values: np.ndarray) -> None:  # fmt: skip
    """Append one snapshot (the first creates the datasets, with their axes and meaning)."""
    n_rep, n_modes = values.shape
    if "steps" not in handle:
        handle.attrs["shape"] = json.dumps(list(shape))
        eigenvalues = handle.create_dataset(
            "eigenvalues", shape=(n_rep, 0, n_modes), maxshape=(n_rep, None, n_modes),
            chunks=(n_rep, 1, n_modes), dtype="f8",
        )  # fmt: skip
        steps = handle.create_dataset("steps", shape=(0,), maxshape=(None,), dtype="i8")
        for dataset, axes, text in (
            (eigenvalues, ("replica", "snapshot", "mode"), _SPECTRA[kind]),
            (steps, ("snapshot",), "training step of each snapshot"),
        ):
            dataset.attrs["axes"] = np.array(axes, dtype=h5py.string_dtype())
            dataset.attrs["description"] = text
            for dim, axis in zip(dataset.dims, axes, strict=True):
                dim.label = axis
        steps.make_scale("step")
        eigenvalues.dims[1].attach_scale(steps)
    eigenvalues, steps = handle["eigenvalues"], handle["steps"]
    index = steps.shape[0]
    eigenvalues.resize(index + 1, axis=1)
    eigenvalues[:, index, :] = values
    steps.resize(index + 1, axis=0)
    steps[index] = step


def _result(config: TrackerConfig, steps: np.ndarray, eigenvalues: np.ndarray) -> EnsembleResult:
    n_rep = eigenvalues.shape[0]
    return EnsembleResult(
        config=config,
        seed=0,
        steps=np.asarray(steps, dtype=np.int64),
        eigenvalues=np.asarray(eigenvalues, dtype=np.float64),
        failed=np.zeros(n_rep, dtype=bool),
        fail_step=np.full(n_rep, -1, dtype=np.int64),
        bit_generator="none",
        normal_method="none",
    )


def load_tracked(path) -> EnsembleResult:
    """Read a SpectrumTracker's HDF5 file back as an EnsembleResult.

    The file is opened and checked as the results store's are
    (:func:`dysonlearn.store.open_checked`: present, HDF5, this format, a version this
    dysonlearn reads).

    Parameters
    ----------
    path : path-like
        The tracker's ``store`` file.

    Returns
    -------
    EnsembleResult
        eigenvalues (R, S, N), steps (S,), config a TrackerConfig.

    Raises
    ------
    ConfigError
        The file is missing, not HDF5, not a tracker's, too new, or holds no recorded
        spectrum yet (the store's checks and errors; a ValueError).
    StoreError
        The file is damaged (a ConfigError too).
    """
    path = Path(path)
    with store_module.open_checked(path, TRACKER_FORMAT) as handle:
        if "steps" not in handle:
            raise ConfigError(f"path: {str(path)!r} holds no recorded spectrum yet")
        try:
            steps = handle["steps"][...]
            eigenvalues = handle["eigenvalues"][:, : steps.size, :]
            config = TrackerConfig(
                kind=str(handle.attrs["kind"]),
                every=int(handle.attrs["every"]),
                shape=tuple(store_module.json_attr(handle.attrs, "shape")),
            )
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise StoreError(
                f"path: {str(path)!r} is damaged ({type(exc).__name__}: {exc})"
            ) from None
    return _result(config, steps, eigenvalues)
