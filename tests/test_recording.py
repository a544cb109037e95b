"""Recording a time series: burn_in and record_every on every model configuration, the
recorded steps and shapes, the bits (those of the same steps listed as snapshots), the
validation, the store's record of it, memory bounded by the block, and an exact resume."""

import os
import subprocess
import sys
import textwrap
import tomllib

import h5py
import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import cli, ensemble, journal
from dysonlearn import store as store_module
from dysonlearn.experiment import experiment_document, parse_experiment, to_toml

SMALL = {
    "rbm": dict(steps=40, n_visible=4, n_hidden=4,
                target=dl.targets.free_scalar(n=4, m=2.0)),
    "teacher_student": dict(steps=40),
    "dyson": dict(steps=40, kappa=(1.0, 2.0, 4.0)),
}  # fmt: skip
CLASSES = {"rbm": dl.RBMConfig, "teacher_student": dl.TeacherStudentConfig,
           "dyson": dl.DysonConfig}  # fmt: skip


def _config(kind, **fields):
    return CLASSES[kind](**{**SMALL[kind], **fields})


def _run(config, replicas=5, **kw):
    return dl.run_ensemble(config, replicas=replicas, seed=21, backend="serial", progress=False,
                           **kw)  # fmt: skip


# -- the recorded steps and shapes ------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CLASSES))
@pytest.mark.parametrize(("burn_in", "every", "expected"), [
    (10, 7, [10, 17, 24, 31, 38]),   # the last record is the last that fits, before steps
    (0, 8, [0, 8, 16, 24, 32, 40]),  # burn_in 0: step 0 is recorded
    (40, 1, [40]),                   # a single record at the end
    (0, 1, list(range(41))),         # every step
])  # fmt: skip
def test_record_steps_and_shapes(kind, burn_in, every, expected):
    config = _config(kind, burn_in=burn_in, record_every=every)
    assert config.is_time_series and not _config(kind).is_time_series
    assert config.snapshot_steps.tolist() == expected
    assert config.n_snapshots == len(expected) == 1 + (40 - burn_in) // every
    result = _run(config)
    assert result.eigenvalues.shape == (5, len(expected), config.n_modes)
    assert result.steps.tolist() == expected
    assert np.all(np.isfinite(result.eigenvalues))
    assert np.all(np.diff(result.eigenvalues, axis=-1) >= 0)  # ascending, as snapshots


@pytest.mark.parametrize("kind", list(CLASSES))
def test_a_time_series_is_bitwise_the_run_with_those_steps_as_snapshots(kind):
    series = _config(kind, burn_in=12, record_every=3)
    listed = _config(kind, snapshots=tuple(series.snapshot_steps.tolist()))
    a = _run(series, block_size=2)  # blocks never change the bits
    b = _run(listed)
    assert b.steps[0] == 0 and b.steps[1:].tolist() == a.steps.tolist()  # snapshots add step 0
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues[:, 1:])
    np.testing.assert_array_equal(a.fail_step, b.fail_step)
    # And the default (record_every unset) is today's run: the snapshots decide.
    plain = _run(_config(kind, snapshots=4))
    assert plain.steps.tolist() == [0, 10, 20, 30, 40]


def test_a_replica_that_diverges_leaves_its_later_records_nan():
    # lr close to the divergence of the teacher-student drift with B = 1: replicas fail.
    config = dl.TeacherStudentConfig(steps=300, lr=1.9, batch_size=1, noise=1.0,
                                     sampler="explicit", record_every=10)  # fmt: skip
    result = _run(config, replicas=16)
    assert result.failed.any()
    for r in np.flatnonzero(result.failed):
        late = result.steps > result.fail_step[r]
        assert np.all(np.isnan(result.eigenvalues[r, late]))


@pytest.mark.parametrize("kind", list(CLASSES))
def test_a_recording_cut_into_chunks_of_steps_is_the_same(kind):
    """The kernel finds the first record of each chunk of steps by bisection: chunks that
    start between, on and after records give the bits of one chunk."""
    config = _config(kind, burn_in=5, record_every=4)
    seeds = np.random.SeedSequence(8).spawn(3)

    def block(chunk_steps):
        task = ensemble.BlockTask(config, seeds, 0, 8, "SFC64", "ziggurat", False, chunk_steps)
        return ensemble.train_block(task).eigenvalues

    whole = block(config.steps)
    for chunk_steps in (1, 3, 4, 7):
        np.testing.assert_array_equal(block(chunk_steps), whole)


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "field", "text"), [
    (dict(burn_in=-1, record_every=5), "burn_in", "burn_in: must be an integer in [0, steps], got -1"),
    (dict(burn_in=41, record_every=5), "burn_in", "burn_in: must be an integer in [0, steps], got 41"),
    (dict(burn_in=2.5, record_every=5), "burn_in", "got 2.5"),
    (dict(record_every=0), "record_every",
     "record_every: must be an integer in [1, steps - burn_in], got 0"),
    (dict(burn_in=30, record_every=11), "record_every",
     "record_every: must be an integer in [1, steps - burn_in] = [1, 10], got 11"),
    (dict(record_every="5"), "record_every", "got '5'"),
    (dict(record_every=5, snapshots=3), "record_every",
     "record_every: cannot be combined with snapshots = 3: either snapshots or record_every "
     "decides the recorded steps"),
    (dict(burn_in=10), "burn_in", "burn_in: is used only with record_every"),
])  # fmt: skip
@pytest.mark.parametrize("kind", list(CLASSES))
def test_bad_recording_fields_name_the_field_the_value_and_the_rule(kind, fields, field, text):
    with pytest.raises(dl.ConfigError) as caught:
        _config(kind, **fields)
    assert [p.field for p in caught.value.details] == [field]
    assert text in str(caught.value)


BAD_TOML = """\
[model]
kind = "teacher_student"
[train]
steps = 100
burn_in = {burn_in}
record_every = {every}
[ensemble]
replicas = 4
"""


@pytest.mark.parametrize(("burn_in", "every", "expected"), [
    (200, 5, "train.burn_in: must be an integer in [0, steps], got 200"),
    (90, 20, "train.record_every: must be an integer in [1, steps - burn_in] = [1, 10], got 20"),
    (0, 0, "train.record_every: must be an integer in [1, steps - burn_in], got 0"),
])  # fmt: skip
def test_the_command_line_refuses_a_bad_recording_in_one_line(tmp_path, capsys, burn_in,
                                                              every, expected):  # fmt: skip
    config = tmp_path / "exp.toml"
    config.write_text(BAD_TOML.format(burn_in=burn_in, every=every))
    argv = ["run", str(config), "-o", str(tmp_path / "out"), "--backend", "serial", "--quiet"]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [f"dysonlearn: error: {expected}"]
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out").exists()  # refused before any work


def test_record_every_with_snapshots_in_toml_names_both(tmp_path, capsys):
    config = tmp_path / "exp.toml"
    config.write_text(BAD_TOML.format(burn_in=0, every=5).replace("[ensemble]",
                      "snapshots = 4\n[ensemble]"))  # fmt: skip
    assert cli.main(["run", str(config), "-o", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "train.record_every: cannot be combined with snapshots = 4" in err


# -- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CLASSES))
def test_to_dict_round_trip_and_defaults_left_out(kind):
    plain = _config(kind)
    assert "burn_in" not in plain.to_dict() and "record_every" not in plain.to_dict()
    series = _config(kind, burn_in=10, record_every=3)
    record = series.to_dict()
    assert record["burn_in"] == 10 and record["record_every"] == 3
    assert type(series).from_dict(record) == series
    assert type(series).from_dict(plain.to_dict()) == plain  # a record written before them
    # A record that spells out the defaults is the same configuration.
    assert type(plain).from_dict({**plain.to_dict(), "burn_in": 0, "record_every": None}) == plain
    # Through TOML, as a store records the experiment, and back.
    document = experiment_document(series, 4, 1, "SFC64")
    assert document["train"]["burn_in"] == 10 and document["train"]["record_every"] == 3
    assert parse_experiment(tomllib.loads(to_toml(document))).points == (series,)


def test_record_every_is_given_per_point(tmp_path):
    document = {
        "model": {"kind": "dyson"},
        "train": {"steps": 50},
        "points": [{"lr": 0.1, "record_every": 5, "burn_in": 10}, {"lr": 0.2, "snapshots": 2}],
        "ensemble": {"replicas": 2},
    }
    points = parse_experiment(document).points
    assert points[0].snapshot_steps.tolist() == [10, 15, 20, 25, 30, 35, 40, 45, 50]
    assert not points[1].is_time_series


# -- blocks, memory and the store -----------------------------------------------------------


def test_blocks_of_a_long_recording_are_sized_by_their_spectra():
    config = dl.DysonConfig(kappa=tuple(np.arange(1.0, 11.0)), steps=100_000, burn_in=0,
                            record_every=10, noise=0.01)  # fmt: skip
    per_replica = ensemble.record_bytes(config)
    assert per_replica == 8 * 10_001 * 10
    blocks = ensemble.plan_blocks(7500, 2, 1e-3, None, 80.0, per_replica)
    sizes = {stop - start for start, stop in blocks}
    assert max(sizes) * per_replica <= ensemble._MAX_BLOCK_RECORD_BYTES
    assert sum(stop - start for start, stop in blocks) == 7500
    # A run of snapshots is planned as before: the record budget never binds.
    snap = dl.DysonConfig(kappa=tuple(np.arange(1.0, 11.0)), steps=100_000, noise=0.01)
    assert ensemble.plan_blocks(7500, 2, 1e-3, None, 80.0, ensemble.record_bytes(snap)) == (
        ensemble.plan_blocks(7500, 2, 1e-3, None, 80.0))


def test_the_store_records_the_recording(tmp_path):
    config = dl.TeacherStudentConfig(steps=5000, burn_in=1000, record_every=2)
    result = dl.run_ensemble(config, replicas=6, seed=3, backend="serial", progress=False,
                             store=tmp_path / "r.h5")  # fmt: skip
    with h5py.File(tmp_path / "r.h5", "r") as handle:
        group = handle["point_000"]
        assert group.attrs["burn_in"] == 1000 and group.attrs["record_every"] == 2
        assert '"record_every": 2' in group.attrs["config"]
        steps = group["steps"]
        assert steps[...].tolist() == list(range(1000, 5001, 2))
        assert "burn_in + k * record_every" in steps.attrs["description"]
        eigenvalues = group["eigenvalues"]
        assert eigenvalues.dims[1][0] == steps  # the dimension scale of the record axis
        # A chunk is a few replicas x up to 4096 records, about a MiB: not a whole point.
        assert eigenvalues.chunks[1:] == (2001, 2) and eigenvalues.chunks[0] <= 64
        assert eigenvalues.compression == "gzip"
    (loaded,) = dl.load(tmp_path / "r.h5")
    assert loaded.config == config and loaded.config.is_time_series
    np.testing.assert_array_equal(loaded.eigenvalues, result.eigenvalues)


def test_info_and_dry_run_say_it_is_a_time_series(tmp_path, capsys):
    path = tmp_path / "exp.toml"
    path.write_text(BAD_TOML.format(burn_in=20, every=4))
    assert cli.main(["run", str(path), "-o", str(tmp_path / "out"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "a time series of 21 records (steps 20, 24, ..., 100: every 4 steps from step 20)" in out
    assert cli.main(["run", str(path), "-o", str(tmp_path / "out"), "--quiet", "--backend",
                     "serial"]) == 0  # fmt: skip
    capsys.readouterr()
    assert cli.main(["info", str(tmp_path / "out" / "results.h5")]) == 0
    out = capsys.readouterr().out
    assert "a time series of 21 records" in out and "1.34 kB of spectra" in out


# -- exact resume ---------------------------------------------------------------------------------

RECORDING = {
    "model": {"kind": "teacher_student", "teacher": [2.0, 2.0]},
    "train": {"lr": 0.1, "batch_size": 16, "noise": 0.1, "steps": 400, "burn_in": 100,
              "record_every": 3},
    "ensemble": {"replicas": 8, "seed": 13},
}
KILLED = 77


def _record(outdir):
    dl.run_experiment(parse_experiment(RECORDING), outdir, backend="serial", progress=False,
                      load=False)  # fmt: skip
    with h5py.File(outdir / "results.h5", "r") as handle:
        group = handle["point_000"]
        return {key: group[key][...] for key in ("eigenvalues", "steps", "failed", "fail_step",
                                                 "done")}  # fmt: skip


def test_an_interrupted_recording_resumes_to_the_same_bits(tmp_path):
    """Killed at every write point in turn (as tests/test_crash_safety.py does for snapshot
    runs), the same run again completes to exactly the arrays of an uninterrupted one."""
    seen = []
    original = journal.write_point
    journal.write_point = seen.append
    try:
        expected = _record(tmp_path / "straight")
    finally:
        journal.write_point = original
    assert expected["eigenvalues"].shape == (8, 101, 2)
    assert sum(what == "rename block" for what in seen) == 4  # the run is cut into blocks
    for n in range(1, len(seen) + 1):
        outdir = tmp_path / f"crash_{n:03d}"
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child, killed at its n-th write point
            calls = 0

            def point(what, n=n):
                nonlocal calls
                calls += 1
                if calls == n:
                    os._exit(KILLED)

            journal.write_point = point
            try:
                _record(outdir)
            finally:
                os._exit(3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == KILLED, n
        got = _record(outdir)  # the same run again: resumes
        for key, value in expected.items():
            np.testing.assert_array_equal(got[key], value, err_msg=f"write point {n}: {key}")


# -- memory bounded by the block ---------------------------------------------------------------

_CHILD = textwrap.dedent("""
    import sys
    import dysonlearn as dl
    replicas, outdir = int(sys.argv[1]), sys.argv[2]
    document = {
        "model": {"kind": "teacher_student", "teacher": [2.0, 2.0]},
        "train": {"lr": 0.1, "batch_size": 16, "noise": 0.1, "steps": 10000, "burn_in": 0,
                  "record_every": 1},
        "ensemble": {"replicas": replicas, "seed": 5},
    }
    dl.run_experiment(document, outdir, backend="serial", progress=False, load=False)
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()
    print(int(status[0]) * 1024)
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_the_memory_of_a_recording_with_a_store_does_not_grow_with_the_recording(tmp_path):
    """Peak RSS of a run into a store, at 41 MB and at 328 MB of spectra (256 and 2048
    replicas x 10001 records x 2 modes, every step recorded).

    What a run holds is the interpreter and its libraries, the block in flight with its
    transient copies (its spectra at most the block budget, 16 MB: 100 replicas here, and
    64 replicas = 10 MB in the small run, whose four blocks per worker are smaller), HDF5
    chunks of ~1 MiB and rebuild slabs of 16 MB: nothing that scales with replicas x
    records. Measured: 106 MB and 133 MB. The data grow by 287 MB; if a point's spectra were
    held whole anywhere (a gathered array, the view built in memory, a rebuild copying all
    rows at once) the peak would grow by at least that much, so growth below a quarter of
    it (72 MB) tells the two apart, with room for the block-size difference (3 x 6 MB) and
    the allocator's noise (a few MB).
    """
    peaks, data = [], []
    for replicas in (256, 2048):
        outdir = tmp_path / f"r{replicas}"
        done = subprocess.run([sys.executable, "-c", _CHILD, str(replicas), str(outdir)],
                              capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        peaks.append(int(done.stdout.split()[-1]))
        data.append(replicas * 10_001 * 2 * 8)
        (result,) = store_module.describe(outdir / "results.h5")[1]
        assert result.done == replicas
    assert data[1] >= 8 * data[0]
    growth = peaks[1] - peaks[0]
    assert growth < 0.25 * (data[1] - data[0]), (peaks, data)
