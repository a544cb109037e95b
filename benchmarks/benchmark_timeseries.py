"""Effective independent samples of the level spacing per core-second: a recorded time series
against an ensemble of final snapshots, at the article's reference settings.

The two ways to sample the stationary spacing S of a degenerate pair (:doc:`/guide/time_series`):

- **snapshots**: R replicas, each trained from scratch for the steps of the reference preset
  (``rbm-small``'s lr = 0.1, B = 16 point: 6000 steps; ``teacher_student-small``'s lr = 0.1,
  B = 16, A = 0.1 point: 5000 steps); the final spacings are R independent samples per pair.
- **timeseries**: a few replicas, burnt in for the steps at which the preset takes the
  first snapshot it pools (4800 and 4000: stationary by then), then recorded every
  ``record_every`` steps for T records. The records of one replica are correlated; they hold
  T / tau_int effective samples (:eq:`tau-int`), with tau_int the mean over replicas of
  :func:`~dysonlearn.analysis.integrated_autocorrelation_time` of the pair's spacing (the
  mean is less noisy than each replica's estimate; replicas are independent, so their
  effective samples add).

Each is divided by the CPU time of the training (``time.process_time``: serial backend, BLAS
pinned to one thread as in the other suites, so one core). The RBM's 10 levels hold four
degenerate pairs; the figure is that of the slowest one (the lowest pair, x* = 9 - kappa
= 1.38, whose spacing decorrelates in about 210 steps; the others in 90, 40 and 20), which
decides how long a recording must be. The teacher-student model (N = 2) has one pair, whose
spacing decorrelates in about 1 / lr = 10 steps.

``record_every`` is about half the spacing's integrated autocorrelation time in steps
(100 for the RBM, 5 for the teacher-student model): the records are then about two to a
effective sample (tau_int ~ 2 records), which keeps more than 90% of the effective samples
of recording every step (for an exponential decay at rate gamma per step, recording every m
steps gives (1 - e^{-gamma m}) / (1 + e^{-gamma m}) / m effective samples a step against
gamma / 2 for m -> 1) at a fraction of the spectra: a spectrum costs more than a step (5.7 us
against 3.3 us for the RBM, 0.25 us against 0.075 us for the teacher-student model), so
recording every step would more than halve the rate.

asv: ``track_samples_per_core_second`` for both models and both modes, ``track_gain`` the
ratio of the two rates measured in one call. As a script
(``python benchmarks/benchmark_timeseries.py``) it prints the table of the user guide.
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

import dysonlearn as dl
from dysonlearn.analysis import integrated_autocorrelation_time

try:
    from .common import sig
except ImportError:  # run as a script, or loaded from its path: the sibling by name
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import sig

SEED = 20250115
MODELS = ("rbm", "teacher_student")
MODES = ("snapshots", "timeseries")

# Per model: the reference point, the preset's steps and first pooled snapshot (the burn-in),
# the recording interval, and the sizes of one benchmark call (a few seconds each).
SETTINGS = {
    "rbm": {"steps": 6000, "burn_in": 4800, "record_every": 100,
            "snapshot_replicas": 64, "series_replicas": 8, "records": 1000},
    "teacher_student": {"steps": 5000, "burn_in": 4000, "record_every": 5,
                        "snapshot_replicas": 4000, "series_replicas": 16, "records": 50_000},
}  # fmt: skip


def reference_config(model: str, **fields):
    """The article's reference point of ``model`` with the given recording fields.

    Parameters
    ----------
    model : {"rbm", "teacher_student"}
        The RBM of ``rbm-small`` at lr = 0.1, B = 16, or the teacher-student model of
        ``teacher_student-small`` at lr = 0.1, B = 16, A = 0.1.
    **fields
        ``steps``, ``snapshots`` or ``burn_in`` and ``record_every``.

    Returns
    -------
    RBMConfig or TeacherStudentConfig
    """
    if model == "rbm":
        return dl.RBMConfig(n_visible=10, n_hidden=10, mu=3.0, sigma_h=1.0, k=3, lr=0.1,
                            batch_size=16, init_std=0.1,
                            target=dl.targets.free_scalar(n=10, m=2.0), **fields)  # fmt: skip
    if model == "teacher_student":
        return dl.TeacherStudentConfig(teacher=(2.0, 2.0), noise=0.1, lr=0.1, batch_size=16,
                                       init_std=0.1, **fields)  # fmt: skip
    raise ValueError(f"model: must be one of {', '.join(MODELS)}, got {model!r}")


def degenerate_pairs(config) -> list[tuple[int, int]]:
    """The (i, i + 1) of the ascending levels whose stationary values coincide."""
    levels = np.sort(np.asarray(config.stationary_levels, dtype=np.float64))
    return [(i, i + 1) for i in range(levels.size - 1)
            if np.isclose(levels[i], levels[i + 1], rtol=1e-9, atol=1e-12)]  # fmt: skip


def measure(model: str, mode: str, replicas: int | None = None, records: int | None = None,
            seed: int = SEED) -> dict:  # fmt: skip
    """Train one ensemble of ``mode`` and count its effective samples of the spacing.

    Parameters
    ----------
    model : {"rbm", "teacher_student"}
    mode : {"snapshots", "timeseries"}
    replicas, records : int, optional
        Override the sizes of :data:`SETTINGS` (the tests run tiny ones).
    seed : int

    Returns
    -------
    dict
        ``cpu_seconds`` of the training, ``samples`` (effective samples of the slowest
        pair's spacing), ``rate`` (samples per core-second), ``tau_int`` (of each pair's
        spacing, in records; 1 for snapshots), ``replicas``, ``records`` per replica and
        ``replica_steps``.
    """
    s = SETTINGS[model]
    if mode == "snapshots":
        replicas = replicas or s["snapshot_replicas"]
        config = reference_config(model, steps=s["steps"], snapshots=1)
        records = 1
    elif mode == "timeseries":
        replicas = replicas or s["series_replicas"]
        records = records or s["records"]
        steps = s["burn_in"] + (records - 1) * s["record_every"]
        config = reference_config(model, steps=steps, burn_in=s["burn_in"],
                                  record_every=s["record_every"])  # fmt: skip
    else:
        raise ValueError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
    with threadpool_limits(limits=1):
        dl.run_ensemble(config, replicas=1, seed=seed + 1, backend="serial", progress=False)
        start = time.process_time()
        result = dl.run_ensemble(config, replicas=replicas, seed=seed, backend="serial",
                                 progress=False)  # fmt: skip
        cpu = time.process_time() - start
    eigs = np.asarray(result.eigenvalues)[~np.asarray(result.failed, bool)]
    usable = eigs.shape[0]
    samples, taus = [], []
    for i, j in degenerate_pairs(config):
        if mode == "snapshots":
            taus.append(1.0)
            samples.append(float(usable))
        else:
            spacing = eigs[:, :, j] - eigs[:, :, i]  # (replicas, records): burn_in > 0
            tau = float(np.mean(integrated_autocorrelation_time(spacing, axis=-1)))
            taus.append(tau)
            samples.append(usable * spacing.shape[1] / tau)
    return {"model": model, "mode": mode, "replicas": replicas, "records": records,
            "replica_steps": replicas * config.steps, "cpu_seconds": cpu,
            "tau_int": taus, "samples": min(samples), "rate": min(samples) / cpu}  # fmt: skip


class SpacingSamples:
    """Effective samples of the slowest pair's spacing per core-second (see the module)."""

    params = (MODELS, MODES)
    param_names = ("model", "mode")
    timeout = 300

    def track_samples_per_core_second(self, model, mode):
        """Effective samples of the spacing per core-second of training."""
        return sig(measure(model, mode)["rate"])

    track_samples_per_core_second.unit = "samples/core-s"


class TimeSeriesGain:
    """The time series' rate over the snapshots' rate, both measured in one call."""

    params = (MODELS,)
    param_names = ("model",)
    timeout = 300

    def track_gain(self, model):
        """samples/core-s of the time series over that of the final snapshots."""
        return sig(measure(model, "timeseries")["rate"] / measure(model, "snapshots")["rate"])

    track_gain.unit = "x"


def _machine() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main() -> None:
    """Print the table of both models and both modes, and each model's gain."""
    print(f"# {time.strftime('%Y-%m-%d')}, {_machine()}, dysonlearn {dl.__version__}")
    print("| model | mode | replicas | records | record_every | replica-steps | CPU s "
          "| tau_int (records) | effective samples | samples/core-s |")
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|")
    gains = {}
    for model in MODELS:
        rates = {}
        for mode in MODES:
            m = measure(model, mode)
            rates[mode] = m["rate"]
            every = SETTINGS[model]["record_every"] if mode == "timeseries" else "-"
            taus = ", ".join(f"{t:.2f}" for t in m["tau_int"])
            print(f"| {model} | {mode} | {m['replicas']} | {m['records']} | {every} "
                  f"| {m['replica_steps']:.3g} | {m['cpu_seconds']:.2f} | {taus} "
                  f"| {m['samples']:.0f} | {m['rate']:.4g} |")  # fmt: skip
        gains[model] = rates["timeseries"] / rates["snapshots"]
    for model, gain in gains.items():
        print(f"{model}: time series / snapshots = {gain:.1f}")


if __name__ == "__main__":
    main()
