"""The result of an ensemble run: plain NumPy arrays with documented shapes."""

from __future__ import annotations

from dataclasses import dataclass

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
        (R, S, N) float64, ascending along the last axis; NaN at snapshots after a replica
        diverged.
    failed : numpy.ndarray
        (R,) bool, the replica diverged.
    fail_step : numpy.ndarray
        (R,) int64, step of the divergence, -1 if none.
    weights : numpy.ndarray, optional
        (R, N_h, N_v) final weights when asked for (``keep_weights=True``).
    bit_generator : str, optional
        Name of the NumPy bit generator used per replica.
    normal_method : str, optional
        How the kernels drew standard normals ("ziggurat" or "numpy").
    """

    config: object
    seed: int
    steps: np.ndarray
    eigenvalues: np.ndarray
    failed: np.ndarray
    fail_step: np.ndarray
    weights: np.ndarray | None = None
    bit_generator: str = "SFC64"
    normal_method: str = "ziggurat"

    @property
    def n_replicas(self) -> int:
        return self.eigenvalues.shape[0]

    @property
    def n_modes(self) -> int:
        return self.eigenvalues.shape[2]

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

    def __repr__(self) -> str:
        return (
            f"EnsembleResult({type(self.config).__name__}, replicas={self.n_replicas}, "
            f"snapshots={self.steps.tolist()}, modes={self.n_modes}, "
            f"failed={int(self.failed.sum())}, seed={self.seed})"
        )
