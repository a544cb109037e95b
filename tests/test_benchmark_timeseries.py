"""The efficiency benchmark of time series against final snapshots imports and measures."""


import numpy as np
import pytest
from bench_helpers import load_benchmark



@pytest.fixture(scope="module")
def bench():
    return load_benchmark("benchmark_timeseries")


def test_the_asv_suites_track_both_models_and_modes_in_samples_per_core_second(bench):
    suite = bench.SpacingSamples
    assert suite.params == (("rbm", "teacher_student"), ("snapshots", "timeseries"))
    assert suite.track_samples_per_core_second.unit == "samples/core-s"
    assert bench.TimeSeriesGain.params == (("rbm", "teacher_student"),)


def test_the_reference_points_and_their_pairs(bench):
    rbm = bench.reference_config("rbm", steps=10, snapshots=1)
    assert (rbm.lr, rbm.batch_size, rbm.n_visible, rbm.mu) == (0.1, 16, 10, 3.0)
    # free scalar N = 10: kappa_k = kappa_{10-k}, four degenerate pairs, the lowest first
    assert bench.degenerate_pairs(rbm) == [(1, 2), (3, 4), (5, 6), (7, 8)]
    ts = bench.reference_config("teacher_student", steps=10, snapshots=1)
    assert (ts.lr, ts.batch_size, ts.noise, ts.teacher) == (0.1, 16, 0.1, (2.0, 2.0))
    assert bench.degenerate_pairs(ts) == [(0, 1)]


@pytest.mark.parametrize("mode", ["snapshots", "timeseries"])
def test_measure_counts_effective_samples_at_a_tiny_size(bench, mode):
    m = bench.measure("teacher_student", mode, replicas=3, records=400)
    assert m["cpu_seconds"] > 0 and m["rate"] == pytest.approx(m["samples"] / m["cpu_seconds"])
    if mode == "snapshots":
        assert (m["samples"], m["records"], m["tau_int"]) == (3.0, 1, [1.0])
        assert m["replica_steps"] == 3 * 5000
    else:
        # the spacing relaxes at 2 lr = 0.2 a step: recorded every 5 steps, phi = e^-1 and
        # tau_int = (1 + phi) / (1 - phi) = 2.2 records; 3 x 400 records give an estimate
        # good to about 15% (tau sqrt(2 (2W + 1) / T) / sqrt(3), W ~ 11)
        [tau] = m["tau_int"]
        assert 2.16 * 0.6 < tau < 2.16 * 1.4
        assert m["samples"] == pytest.approx(3 * 400 / tau)
        assert m["replica_steps"] == 3 * (4000 + 399 * 5)


def test_a_track_function_runs(bench, monkeypatch):
    monkeypatch.setitem(bench.SETTINGS, "teacher_student",
                        {**bench.SETTINGS["teacher_student"], "steps": 200, "burn_in": 100,
                         "snapshot_replicas": 20, "series_replicas": 2, "records": 300})  # fmt: skip
    rate = bench.SpacingSamples().track_samples_per_core_second("teacher_student", "timeseries")
    assert np.isfinite(rate) and rate > 0
    assert bench.TimeSeriesGain().track_gain("teacher_student") > 1
