"""dysonlearn: weight-matrix spectra during learning as Dyson Brownian motion.

Train large ensembles of small models at C speed, record the spectra of their weight
matrices, and test the Coulomb-gas picture of stochastic gradient descent (see SPEC.md).

    import dysonlearn as dl
    cfg = dl.RBMConfig(lr=0.1, batch_size=16, steps=5000,
                       target=dl.targets.free_scalar(n=10, m=2.0))
    res = dl.run_ensemble(cfg, replicas=512, seed=1234)
    res.eigenvalues        # (replicas, snapshots + 1, N), ascending
"""

from . import analysis, kernels, targets
from ._version import __version__
from .config import DysonConfig, RBMConfig, TeacherStudentConfig
from .ensemble import run_ensemble
from .errors import ConfigError
from .result import EnsembleResult
from .store import load
from .tracker import SpectrumTracker, TrackerConfig, load_tracked

__all__ = [
    "ConfigError",
    "DysonConfig",
    "EnsembleResult",
    "RBMConfig",
    "SpectrumTracker",
    "TeacherStudentConfig",
    "TrackerConfig",
    "__version__",
    "analysis",
    "kernels",
    "load",
    "load_tracked",
    "run_ensemble",
    "targets",
]
