"""dysonlearn: weight-matrix spectra during learning as Dyson Brownian motion.

Train large ensembles of small models at C speed, record the spectra of their weight
matrices, and test the Coulomb-gas picture of stochastic gradient descent.

    import dysonlearn as dl
    cfg = dl.RBMConfig(lr=0.1, batch_size=16, steps=5000,
                       target=dl.targets.free_scalar(n=10, m=2.0))
    res = dl.run_ensemble(cfg, replicas=512, seed=1234)
    res.eigenvalues        # (replicas, snapshots + 1, N), ascending

    experiment = dl.load_experiment("scan.toml")       # a TOML file, or a dict of it
    results = dl.run_experiment(experiment, "out")     # one result per scan point, resumable

The names below are imported on first use (PEP 562), so that ``import dysonlearn`` and
the command line start without loading NumPy, SciPy and h5py until they are needed.
"""

from __future__ import annotations

import importlib

from ._version import __version__

# Public name -> the submodule that defines it.
_EXPORTS = {
    "ConfigError": "errors",
    "StoreError": "errors",
    "DysonConfig": "config",
    "DeepLinearConfig": "config",
    "RBMConfig": "config",
    "TeacherStudentConfig": "config",
    "SGD": "optim",
    "Momentum": "optim",
    "Adam": "optim",
    "AdamW": "optim",
    "EnsembleResult": "result",
    "WorkerDied": "backends",
    "run_ensemble": "ensemble",
    "Experiment": "experiment",
    "load_experiment": "experiment",
    "embedded_experiments": "experiment",
    "embedded_experiment_path": "experiment",
    "run_experiment": "scan",
    "analyze": "scan",
    "load": "store",
    "repair": "store",
    "SpectrumTracker": "tracker",
    "TrackerConfig": "tracker",
    "load_tracked": "tracker",
}
# Submodules reached as attributes (``dl.plots``), imported on first use: plots alone
# loads matplotlib, about a second.
_SUBMODULES = ("analysis", "kernels", "plots", "scan", "seeding", "targets")

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'dysonlearn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
