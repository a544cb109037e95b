"""The result of an ensemble run: plain NumPy arrays with documented shapes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class EnsembleResult:
    """Spectra of R independently trained replicas.

    Made by :func:`~dysonlearn.run_ensemble`, :func:`~dysonlearn.run_experiment`,
    :func:`~dysonlearn.load` and :meth:`SpectrumTracker.result
    <dysonlearn.SpectrumTracker.result>`; the fields are also its attributes.

    Parameters
    ----------
    config : object
        The model configuration that was run.
    seed : int
        The root seed; replica i used ``SeedSequence(seed).spawn(R)[i]``.
    steps : numpy.ndarray
        (S,) int64 training step of each snapshot, step 0 first.
    eigenvalues : numpy.ndarray
        (R, S, N) float64, the spectrum x_i of each replica at each snapshot, ascending
        along the last axis; NaN at snapshots after a replica diverged.
    failed : numpy.ndarray
        (R,) bool, the replica diverged.
    fail_step : numpy.ndarray
        (R,) int64, step of the divergence, -1 if none.
    weights : numpy.ndarray, optional
        (R, ...) the final state when asked for (``keep_weights=True``): weights
        (R, N_h, N_v) of the RBM, students (R, N, N), levels (R, N) of Dyson.
    optimizer_state : numpy.ndarray, optional
        (R, state size) the optimiser's final state, kept with the weights when the
        optimiser has one (momentum: v, Adam and AdamW: m then s, each the weights of one
        replica flattened); pass it back as ``opt_state`` to the :mod:`dysonlearn.kernels`
        functions to train on exactly.
    records : dict of str to numpy.ndarray, optional
        (R, S, n_values) what the model records at each snapshot beside its spectrum, by
        name (NaN where ``eigenvalues`` is): each layer's singular values of the deep
        linear model (``"layer_eigenvalues/1"``, ...; see :attr:`layer_eigenvalues`);
        empty for the other models.
    bit_generator : str, optional
        Name of the NumPy bit generator used per replica.
    normal_method : str, optional
        How the kernels drew standard normals ("ziggurat" or "numpy").
    point : str
        The scan point's group in a results store (``"point_000"``, ...).
    params : dict
        The scanned values of this point, e.g. ``{"lr": 0.05, "batch_size": 16}``; empty
        for a run that is not part of a scan.

    Examples
    --------
    >>> import dysonlearn as dl
    >>> res = dl.run_ensemble(dl.DysonConfig(steps=200, snapshots=2), replicas=4, seed=1,
    ...                       backend="serial", progress=False)
    >>> res.eigenvalues.shape, res.steps.tolist()
    ((4, 3, 2), [0, 100, 200])
    """

    config: object
    seed: int
    steps: np.ndarray
    eigenvalues: np.ndarray
    failed: np.ndarray
    fail_step: np.ndarray
    weights: np.ndarray | None = None
    optimizer_state: np.ndarray | None = None
    records: dict = field(default_factory=dict)
    bit_generator: str = "SFC64"
    normal_method: str = "ziggurat"
    point: str = "point_000"
    params: dict = field(default_factory=dict)

    @property
    def n_replicas(self) -> int:
        """R, the number of replicas."""
        return self.eigenvalues.shape[0]

    @property
    def n_modes(self) -> int:
        """N, the number of modes (the length of each spectrum)."""
        return self.eigenvalues.shape[2]

    @property
    def layer_eigenvalues(self) -> list[np.ndarray] | None:
        """Each layer's singular values, layer 1 first: L arrays (R, S, min(n_{l-1}, n_l)),
        ascending along the last axis, NaN where :attr:`eigenvalues` is; None for a model
        without layers (the records ``"layer_eigenvalues/<l>"``)."""
        layers = [value for name, value in self.records.items()
                  if name.startswith("layer_eigenvalues/")]  # fmt: skip
        return layers or None

    def spectra_at(self, step: int | None = None) -> np.ndarray:
        """(R_alive, N) spectra of the surviving replicas at a snapshot step (default: last).

        Parameters
        ----------
        step : int, optional
            A step of :attr:`steps`; the last snapshot by default.

        Returns
        -------
        numpy.ndarray
            (R_alive, N) the spectra of the replicas that did not diverge.

        Raises
        ------
        ValueError
            If ``step`` is not a snapshot step.
        """
        index = -1 if step is None else self._snapshot_index(step)
        return self.eigenvalues[~self.failed, index, :]

    def _snapshot_index(self, step: int) -> int:
        hits = np.flatnonzero(self.steps == step)
        if hits.size == 0:
            raise ValueError(f"step: {step} is not a snapshot step; have {self.steps.tolist()}")
        return int(hits[0])

    def to_xarray(self):
        """The result as an :class:`xarray.Dataset` with named dimensions.

        Dimensions ``replica``, ``snapshot`` (with the coordinate ``step``, the training
        step of each snapshot) and ``mode``; variables ``eigenvalues`` (replica, snapshot,
        mode), ``failed`` and ``fail_step`` (replica), the model's :attr:`records` (with
        ``/`` in their names as ``_``: ``layer_eigenvalues_1`` (replica, snapshot,
        ``layer_eigenvalues_1_value``)) and, when kept, ``weights`` and
        ``optimizer_state``. The point's scanned values, its scalar configuration fields,
        its seed (as a decimal string: it may exceed 64 bits) and how it was drawn are
        attributes of the dataset.

        Returns
        -------
        xarray.Dataset

        Raises
        ------
        ImportError
            xarray is not installed (it is not a dependency of dysonlearn:
            ``pip install xarray``).

        Examples
        --------
        >>> ds = res.to_xarray()                                  # doctest: +SKIP
        >>> ds.eigenvalues.sel(step=ds.step[-1]).mean("replica")  # doctest: +SKIP
        """
        try:
            import xarray
        except ImportError:
            raise ImportError(
                "EnsembleResult.to_xarray needs xarray, which dysonlearn does not install: "
                "pip install xarray"
            ) from None
        labels = _labels(self.config)
        data = {
            "eigenvalues": (("replica", "snapshot", "mode"), self.eigenvalues,
                            {"description": labels.eigenvalue_text}),
            "failed": ("replica", self.failed,
                       {"description": "the replica diverged and was stopped"}),
            "fail_step": ("replica", self.fail_step,
                          {"description": "step of the divergence, -1 if none"}),
        }  # fmt: skip
        for name, values in self.records.items():
            variable = name.replace("/", "_")
            data[variable] = (("replica", "snapshot", f"{variable}_value"), values,
                              _record_attrs(self.config, name))
        if self.weights is not None:
            names = labels.state_axes
            if len(names) != self.weights.ndim:
                names = ("replica", *(f"state_{i}" for i in range(1, self.weights.ndim)))
            data["weights"] = (tuple(names), self.weights, {"description": labels.state_text})
        if self.optimizer_state is not None:
            data["optimizer_state"] = (("replica", "state"), self.optimizer_state,
                                       {"description": "the optimiser's final state"})  # fmt: skip
        attrs = {
            "point": self.point,
            "seed": str(self.seed),
            "bit_generator": self.bit_generator,
            "normal_method": self.normal_method,
            **scalar_fields(self.config.to_dict()),
            **self.params,
        }
        coords = {
            "step": ("snapshot", self.steps),
            "replica": np.arange(self.n_replicas),
            "mode": np.arange(self.n_modes),
        }
        return xarray.Dataset(data, coords=coords, attrs=attrs)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return (
            f"EnsembleResult({type(self.config).__name__}, {self.point}"
            f"{', ' + params if params else ''}, replicas={self.n_replicas}, "
            f"snapshots={self.steps.tolist()}, modes={self.n_modes}, "
            f"failed={int(self.failed.sum())}, seed={self.seed})"
        )


def _record_attrs(config, name: str) -> dict:
    """The description of one record, from its model (none for a model it does not know)."""
    from .errors import ConfigError
    from .models import model_for

    try:
        record = model_for(config).records(config).get(name)
    except ConfigError:
        record = None
    return {"description": record.description} if record is not None else {}


def _labels(config):
    """The words of a result's model; for a configuration of no model (a SpectrumTracker's),
    its own ``spectrum_text`` (the words of its recorded spectrum) if it has one."""
    from .errors import ConfigError
    from .models import model_for
    from .models.base import Labels

    try:
        return model_for(config).labels_for(config)
    except ConfigError:
        text = getattr(config, "spectrum_text", "the recorded spectrum x_i, ascending")
        return Labels(eigenvalue_text=text)


def scalar_fields(record: dict, prefix: str = "") -> dict:
    """The fields of a configuration record as attribute values: scalars as they are,
    lists of numbers as arrays, nested tables flattened to dotted names ("target.n").

    Parameters
    ----------
    record : dict
        A ``config.to_dict()`` record.
    prefix : str
        Prepended to every name (used for nested tables).

    Returns
    -------
    dict
        Name to a bool, int, float, str or numpy array; None values and lists that are not
        numbers are left out (the configuration's JSON record has them).

    Examples
    --------
    >>> scalar_fields({"kind": "rbm", "lr": 0.1, "target": {"kind": "free_scalar", "n": 4}})
    {'kind': 'rbm', 'lr': 0.1, 'target.kind': 'free_scalar', 'target.n': 4}
    """
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(scalar_fields(value, f"{name}."))
        elif isinstance(value, bool | int | float | str | np.generic):
            out[name] = value
        elif isinstance(value, list | tuple | np.ndarray):
            array = np.asarray(value)
            if array.size and array.dtype.kind in "biuf":
                out[name] = array
    return out
