"""Target kernels K_phi of the visible field and their spectra (SPEC B.2).

A target is a symmetric positive-definite matrix K_phi; the RBM learns it through the
covariance C_target = K_phi^-1 [B.6], and learning is exact when the eigenvalues of
X = sigma_h^2 W^T W sit at x* = mu^2 - kappa [B.4].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError

_SYMMETRY_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class Target:
    """A target kernel K_phi (N, N), symmetric positive definite, float64, read-only.

    ``kind`` and ``params`` say how it was made, so that it can be written to a store and
    rebuilt: ``Target.from_dict(t.to_dict())`` equals ``t``.
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
        """Eigenvalues kappa of K_phi, ascending, shape (N,)."""
        return np.linalg.eigvalsh(self.kernel)

    @property
    def covariance(self) -> np.ndarray:
        """C_target = K_phi^-1 = <phi phi^T>_target, shape (N, N) [B.6]."""
        cov = np.linalg.inv(self.kernel)
        return (cov + cov.T) / 2

    def learnt_spectrum(self, mu: float) -> np.ndarray:
        """x* = mu^2 - kappa, ascending: where the eigenvalues of sigma_h^2 W^T W settle [B.4]."""
        return np.sort(mu**2 - self.spectrum)

    def to_dict(self) -> dict:
        if self.kind == "kernel":
            return {"kind": "kernel", "matrix": self.kernel.tolist()}
        return {"kind": self.kind, **self.params}

    @classmethod
    def from_dict(cls, data: dict) -> Target:
        data = dict(data)
        kind = data.pop("kind", None)
        builders = {"free_scalar": free_scalar, "spectrum": from_spectrum, "kernel": from_kernel}
        if kind not in builders:
            raise ConfigError(
                f"target.kind: must be one of {', '.join(map(repr, builders))}, got {kind!r}"
            )
        if kind == "kernel":
            return from_kernel(data.pop("matrix", None))
        try:
            return builders[kind](**data)
        except TypeError as exc:
            raise ConfigError(f"target: {exc}") from None

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


def _frozen(matrix: np.ndarray) -> np.ndarray:
    matrix = np.array(matrix, dtype=np.float64, copy=True)
    matrix.setflags(write=False)
    return matrix


def free_scalar(n: int = 10, m: float = 2.0) -> Target:
    """Free scalar field on a periodic 1D lattice of n sites with mass m [B.5].

    K[i, i] = 2 + m^2, K[i, i +- 1 mod n] = -1; eigenvalues m^2 + 4 sin^2(pi k / n).
    For n = 10, m = 2: 4, 4.382 (x2), 5.382 (x2), 6.618 (x2), 7.618 (x2), 8.
    """
    from .validation import Problems, check_int, check_positive

    problems = Problems()
    check_int(problems, "target.n", n, 2)
    check_positive(problems, "target.m", m)
    problems.raise_if_any()
    kernel = np.zeros((n, n))
    idx = np.arange(n)
    kernel[idx, idx] = 2.0 + m * m
    # For n = 2 both neighbours are the same site: the hops add up to -2.
    np.add.at(kernel, (idx, (idx + 1) % n), -1.0)
    np.add.at(kernel, (idx, (idx - 1) % n), -1.0)
    return Target(_frozen(kernel), "free_scalar", {"n": int(n), "m": float(m)})


def from_spectrum(values) -> Target:
    """The diagonal kernel diag(kappa): a target given by its eigenvalues (all > 0).

    The basis does not matter for the RBM: the Gaussian initialisation of W is invariant
    under W -> W O, so the learnt spectra have the same law in any eigenbasis.
    """
    kappa = np.asarray(values, dtype=np.float64) if values is not None else None
    if kappa is None or kappa.ndim != 1 or kappa.size < 1:
        raise ConfigError(f"target.values: must be a non-empty list of numbers, got {values!r}")
    if not np.all(np.isfinite(kappa)) or np.any(kappa <= 0):
        raise ConfigError(
            f"target.values: every eigenvalue must be finite and > 0, got {kappa.tolist()!r}"
        )
    return Target(_frozen(np.diag(kappa)), "spectrum", {"values": kappa.tolist()})


def from_kernel(matrix) -> Target:
    """A target given as its kernel K_phi: a symmetric positive-definite (N, N) matrix."""
    try:
        kernel = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        kernel = None
    if (
        kernel is None
        or kernel.ndim != 2
        or kernel.shape[0] != kernel.shape[1]
        or kernel.size == 0
    ):
        raise ConfigError(f"target.matrix: must be a square (N, N) matrix, got {matrix!r}")
    if not np.all(np.isfinite(kernel)):
        raise ConfigError("target.matrix: every entry must be finite")
    scale = max(np.abs(kernel).max(), 1.0)
    if np.abs(kernel - kernel.T).max() > _SYMMETRY_RTOL * scale:
        raise ConfigError("target.matrix: must be symmetric (K == K^T)")
    kernel = (kernel + kernel.T) / 2
    smallest = np.linalg.eigvalsh(kernel)[0]
    if smallest <= 0:
        raise ConfigError(
            f"target.matrix: must be positive definite, got smallest eigenvalue {smallest:.6g}"
        )
    return Target(_frozen(kernel), "kernel", {})
