"""Target kernels K_phi of the visible field and their spectra (:doc:`/theory/rbm`).

A target is a symmetric positive-definite matrix K_phi; the RBM learns it through the
covariance C_target = K_phi^-1 :eq:`pcd-update`, and learning is exact when the eigenvalues of
X = sigma_h^2 W^T W sit at x* = mu^2 - kappa :eq:`rbm-kernel`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, Problem
from .validation import (
    Problems,
    check_choice,
    check_int,
    check_positive,
    memory_problem,
    real_array,
)

_SYMMETRY_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class Target:
    """A target kernel K_phi (N, N), symmetric positive definite, float64, read-only.

    ``kind`` and ``params`` say how it was made, so that it can be written to a store and
    rebuilt: ``Target.from_dict(t.to_dict())`` equals ``t``. Made by the builders
    :func:`free_scalar`, :func:`from_spectrum` and :func:`from_kernel`, which validate.

    Parameters
    ----------
    kernel : numpy.ndarray
        (N, N) the kernel K_phi.
    kind : str, optional
        The builder's kind: "free_scalar", "spectrum" or "kernel".
    params : dict, optional
        The builder's parameters (empty for a kernel).
    """

    kernel: np.ndarray
    kind: str = "kernel"
    params: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of visible modes N."""
        return self.kernel.shape[0]

    @property
    def spectrum(self) -> np.ndarray:
        """Eigenvalues kappa of K_phi, ascending, shape (N,).

        Computed once per kernel (kept by a digest of its bytes: every configuration read
        back from a store rebuilds its target, and at N = 1000 each factorisation takes
        about half a second); a fresh copy each time.
        """
        key = _spectrum_key(self)
        cached = _SPECTRA.get(key)
        if cached is None:
            cached = np.linalg.eigvalsh(self.kernel)
            if len(_SPECTRA) >= _SPECTRA_KEPT:
                _SPECTRA.pop(next(iter(_SPECTRA)))
            _SPECTRA[key] = cached
        return cached.copy()

    @property
    def covariance(self) -> np.ndarray:
        """C_target = K_phi^-1 = <phi phi^T>_target, shape (N, N) :eq:`pcd-update`."""
        cov = np.linalg.inv(self.kernel)
        return (cov + cov.T) / 2

    def learnt_spectrum(self, mu: float) -> np.ndarray:
        """x* = mu^2 - kappa, ascending: where the eigenvalues of sigma_h^2 W^T W settle
        :eq:`rbm-kernel`.

        Parameters
        ----------
        mu : float
            The RBM's visible mass.

        Returns
        -------
        numpy.ndarray
            (N,) the learnt levels, ascending.
        """
        return np.sort(mu**2 - self.spectrum)

    def to_dict(self) -> dict:
        """Plain JSON-able form: the builder's kind and parameters (the matrix for a kernel).

        Returns
        -------
        dict
        """
        if self.kind == "kernel":
            return {"kind": "kernel", "matrix": self.kernel.tolist()}
        return {"kind": self.kind, **self.params}

    @classmethod
    def from_dict(cls, data: dict) -> Target:
        """Rebuild a target from :meth:`to_dict`'s form (or a TOML ``[target]`` table).

        Parameters
        ----------
        data : dict
            ``{"kind": "free_scalar", "n": ..., "m": ...}``, ``{"kind": "spectrum",
            "values": [...]}`` or ``{"kind": "kernel", "matrix": [[...], ...]}``.

        Returns
        -------
        Target

        Raises
        ------
        ConfigError
            An unknown kind or key, or invalid parameters (one line per problem).
        """
        if not isinstance(data, dict):
            raise ConfigError(Problem("target", "must be a table with a kind", data))
        data = dict(data)
        kind = data.pop("kind", None)
        problems = Problems()
        if not check_choice(problems, "target.kind", kind, tuple(PARAMETERS)):
            problems.raise_if_any()
        for key in data:
            if key not in PARAMETERS[kind]:
                problems.note(
                    f"target.{key}",
                    f"unknown key for kind {kind!r}; allowed: " + ", ".join(PARAMETERS[kind]),
                )
        problems.raise_if_any()
        if kind in ("spectrum", "kernel"):  # required: a missing one is reported as None
            data.setdefault(PARAMETERS[kind][0], None)
        return BUILDERS[kind](**data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Target):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # mutable-looking array contents: not hashable

    def __repr__(self) -> str:
        if self.kind == "kernel":
            return f"Target(kernel of shape {self.kernel.shape})"
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"targets.{'from_spectrum' if self.kind == 'spectrum' else self.kind}({args})"


# The spectra of the last few targets, by a digest of their kernel's bytes: the same bits
# as computing them again, for any kernel.
_SPECTRA: dict = {}
_SPECTRA_KEPT = 16


def _spectrum_key(target: Target) -> tuple:
    """A hashable key of a target's kernel: its shape and a digest of its bytes."""
    kernel = np.ascontiguousarray(target.kernel, dtype=np.float64)
    return kernel.shape, hashlib.blake2b(kernel.tobytes(), digest_size=16).digest()


def _frozen(matrix: np.ndarray) -> np.ndarray:
    matrix = np.array(matrix, dtype=np.float64, copy=True)
    matrix.setflags(write=False)
    return matrix


def _check_memory(problems: Problems, field: str, n: int, value: object) -> bool:
    """A target of n modes keeps its n x n kernel; using it forms the inverse (the covariance
    the RBM trains on) and LAPACK works on a copy: three n x n arrays must fit."""
    rule = memory_problem(
        3 * 8.0 * n * n, f"a target of {n} modes (its n x n kernel, inverse and a work copy)"
    )
    if rule is not None:
        problems.add(field, rule, value)
        return False
    return True


def free_scalar(n: int = 10, m: float = 2.0) -> Target:
    """Free scalar field on a periodic 1D lattice of n sites with mass m :eq:`free-scalar-target`.

    K[i, i] = 2 + m^2, K[i, i +- 1 mod n] = -1; eigenvalues m^2 + 4 sin^2(pi k / n).
    For n = 10, m = 2: 4, 4.382 (x2), 5.382 (x2), 6.618 (x2), 7.618 (x2), 8.

    Parameters
    ----------
    n : int
        Number of lattice sites (visible modes), >= 2.
    m : float
        Mass, finite and > 0.

    Returns
    -------
    Target

    Raises
    ------
    ConfigError
        Invalid n or m, or a kernel too large for the memory available.
    """
    problems = Problems()
    if check_int(problems, "target.n", n, 2):
        _check_memory(problems, "target.n", int(n), n)
    # m^2 enters the kernel: beyond ~1e154 it is inf and nothing could be learnt.
    if check_positive(problems, "target.m", m) and not math.isfinite(float(m) * float(m)):
        problems.add("target.m", "must have a finite square m^2", m)
    problems.raise_if_any()
    n, m = int(n), float(m)
    kernel = np.zeros((n, n))
    idx = np.arange(n)
    kernel[idx, idx] = 2.0 + m * m
    # For n = 2 both neighbours are the same site: the hops add up to -2.
    np.add.at(kernel, (idx, (idx + 1) % n), -1.0)
    np.add.at(kernel, (idx, (idx - 1) % n), -1.0)
    return Target(_frozen(kernel), "free_scalar", {"n": n, "m": m})


def from_spectrum(values) -> Target:
    """The diagonal kernel diag(kappa): a target given by its eigenvalues (all > 0).

    The basis does not matter for the RBM: the Gaussian initialisation of W is invariant
    under W -> W O, so the learnt spectra have the same law in any eigenbasis.

    Parameters
    ----------
    values : sequence of float
        The eigenvalues kappa, finite and > 0 (a list, tuple or 1-D numeric array).

    Returns
    -------
    Target

    Raises
    ------
    ConfigError
        Not a flat list of numbers (strings, booleans, nested or ragged lists are refused),
        a value that is not finite and > 0, or too many values for the memory available.
    """
    problems = Problems()
    kappa = real_array(problems, "target.values", values, 1, "must be a non-empty list of numbers")
    if kappa is not None and kappa.size == 0:
        problems.add("target.values", "must be a non-empty list of numbers", values)
    elif kappa is not None and np.any(kappa <= 0):
        problems.add("target.values", "every eigenvalue must be finite and > 0", kappa.tolist())
    elif kappa is not None:
        _check_memory(problems, "target.values", kappa.size, f"{kappa.size} values")
    problems.raise_if_any()
    return Target(_frozen(np.diag(kappa)), "spectrum", {"values": kappa.tolist()})


def from_kernel(matrix) -> Target:
    """A target given as its kernel K_phi: a symmetric positive-definite (N, N) matrix.

    Parameters
    ----------
    matrix : array_like
        (N, N) real numbers: a list of equal-length rows or a numeric array.

    Returns
    -------
    Target

    Raises
    ------
    ConfigError
        Not a square matrix of finite numbers, not symmetric, not positive definite, or
        too large for the memory available.
    """
    problems = Problems()
    kernel = real_array(problems, "target.matrix", matrix, 2, "must be a square (N, N) matrix")
    if kernel is not None and (kernel.shape[0] != kernel.shape[1] or kernel.size == 0):
        problems.add("target.matrix", "must be a square (N, N) matrix", matrix)
    elif kernel is not None:
        _check_memory(problems, "target.matrix", kernel.shape[0], f"shape {kernel.shape}")
    problems.raise_if_any()
    scale = max(np.abs(kernel).max(), 1.0)
    asymmetry = np.abs(kernel - kernel.T).max()
    if asymmetry > _SYMMETRY_RTOL * scale:
        raise ConfigError(
            f"target.matrix: must be symmetric (K == K^T), got max |K - K^T| = {asymmetry:.3g}"
        )
    kernel = (kernel + kernel.T) / 2
    smallest = np.linalg.eigvalsh(kernel)[0]
    if smallest <= 0:
        raise ConfigError(
            f"target.matrix: must be positive definite, got smallest eigenvalue {smallest:.6g}"
        )
    return Target(_frozen(kernel), "kernel", {})


BUILDERS = {"free_scalar": free_scalar, "spectrum": from_spectrum, "kernel": from_kernel}
"""The builder of each kind of target, by the ``kind`` of its dict form."""

PARAMETERS = {"free_scalar": ("n", "m"), "spectrum": ("values",), "kernel": ("matrix",)}
"""The parameters of each kind of target (the keys of its dict form besides ``kind``)."""

__all__ = ["BUILDERS", "PARAMETERS", "Target", "free_scalar", "from_kernel", "from_spectrum"]
