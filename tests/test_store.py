"""The HDF5 store, resumable runs (also after SIGINT), info/analyze, and the Dask backend."""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import cli
from dysonlearn import store as store_module

CONFIG = dl.TeacherStudentConfig(noise=0.1, steps=400, snapshots=4)


def test_store_round_trip_and_layout(tmp_path):
    path = tmp_path / "out.h5"
    res = dl.run_ensemble(CONFIG, replicas=12, seed=3, backend="serial", progress=False,
                          store=path, keep_weights=True)  # fmt: skip
    memory = dl.run_ensemble(CONFIG, replicas=12, seed=3, backend="serial", progress=False)
    np.testing.assert_array_equal(res.eigenvalues, memory.eigenvalues)
    (loaded,) = store_module.load(path)  # always a list, one result per point
    np.testing.assert_array_equal(loaded.eigenvalues, memory.eigenvalues)
    assert dl.analysis.summarize(path) == dl.analysis.summarize(memory)
    assert loaded.config == CONFIG and loaded.seed == 3 and loaded.weights.shape == (12, 2, 2)
    with h5py.File(path) as handle:
        assert handle.attrs["format"] == "dysonlearn-results"
        assert handle.attrs["dysonlearn_version"] == dl.__version__
        for key in ("numpy_version", "scipy_version", "created", "run", "seed"):
            assert key in handle.attrs
        group = handle["point_000"]
        assert set(group) >= {"eigenvalues", "steps", "failed", "fail_step", "done"}
        assert json.loads(group.attrs["config"])["kind"] == "teacher_student"
        assert group["done"][...].all()


def test_an_interrupted_store_resumes_to_the_uninterrupted_result(tmp_path):
    """Unmark some blocks as done and clobber their data, as a crash mid-block leaves it:
    running again trains exactly those replicas and reproduces the full run bitwise."""
    path = tmp_path / "out.h5"
    full = dl.run_ensemble(CONFIG, replicas=20, seed=4, backend="serial", progress=False,
                           store=path, block_size=3)  # fmt: skip
    with h5py.File(path, "a") as handle:
        group = handle["point_000"]
        group["done"][5:11] = False
        group["eigenvalues"][5:11] = -1.0
    with pytest.warns(UserWarning, match="incomplete"):
        (partial,) = dl.load(path)
    assert partial.n_replicas == 14
    resumed = dl.run_ensemble(CONFIG, replicas=20, seed=4, workers=2, progress=False,
                              store=path)  # fmt: skip
    np.testing.assert_array_equal(resumed.eigenvalues, full.eigenvalues)


def test_a_different_run_in_the_store_is_refused_unless_overwritten(tmp_path):
    path = tmp_path / "out.h5"
    dl.run_ensemble(CONFIG, replicas=4, seed=1, backend="serial", progress=False, store=path)
    with pytest.raises(dl.ConfigError, match="holds a different run"):
        dl.run_ensemble(CONFIG.replace(lr=0.2), replicas=4, seed=1, backend="serial",
                        progress=False, store=path)  # fmt: skip
    res = dl.run_ensemble(CONFIG.replace(lr=0.2), replicas=4, seed=1, backend="serial",
                          progress=False, store=path, overwrite=True)  # fmt: skip
    assert dl.load(path)[0].config.lr == 0.2 and res.config.lr == 0.2


def test_foreign_and_unreadable_files_are_clear_errors(tmp_path, capsys):
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    foreign = tmp_path / "other.h5"
    with h5py.File(foreign, "w") as handle:
        handle["x"] = np.arange(3)
    for command in ("info", "analyze"):
        assert cli.main([command, str(text)]) == 2
        assert "is not a readable HDF5 file" in capsys.readouterr().err
        assert cli.main([command, str(foreign)]) == 2
        assert "not a dysonlearn results store" in capsys.readouterr().err
        assert cli.main([command, str(tmp_path / "missing.h5")]) == 2
        assert "file not found" in capsys.readouterr().err


TOML = """
[model]
kind = "teacher_student"
teacher = [2.0, 2.0]
[train]
lr = [0.1, 0.2]
batch_size = 16
noise = 0.1
steps = {steps}
snapshots = 4
[ensemble]
replicas = {replicas}
seed = 5
"""


def test_run_info_and_analyze_end_to_end(tmp_path, capsys):
    config = tmp_path / "exp.toml"
    config.write_text(TOML.format(steps=300, replicas=16))
    out = tmp_path / "out"
    assert cli.main(["run", str(config), "-o", str(out), "--quiet", "--workers", "2"]) == 0
    assert cli.main(["info", str(out / "results.h5")]) == 0
    text = capsys.readouterr().out
    assert "point_000: teacher_student, lr=0.1; 16/16 replicas done (complete)" in text
    assert "point_001: teacher_student, lr=0.2" in text
    again = tmp_path / "again"
    assert cli.main(["analyze", str(out / "results.h5"), "-o", str(again)]) == 0
    first = json.loads((out / "summary.json").read_text())
    second = json.loads((again / "summary.json").read_text())
    assert first == second
    # Running the finished experiment again trains nothing and changes nothing.
    assert cli.main(["run", str(config), "-o", str(out), "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text()) == first
    config.write_text(TOML.format(steps=300, replicas=17))
    assert cli.main(["run", str(config), "-o", str(out), "--quiet"]) == 2
    assert "holds a different run" in capsys.readouterr().err
    assert cli.main(["run", str(config), "-o", str(out), "--quiet", "--overwrite"]) == 0


def test_sigint_then_resume_equals_an_uninterrupted_run(tmp_path):
    """Ctrl-C a running `dysonlearn run` in a subprocess, run it again, and compare bitwise
    with a run that was never interrupted."""
    config = tmp_path / "exp.toml"
    # Slow enough to be caught mid-run even on a loaded machine: 64 RBMs x 25000 steps is
    # about 9 s of work (5.5 us a replica-step) in blocks of 8 replicas, ~1 s each.
    config.write_text(
        "[model]\nkind='rbm'\n[train]\nlr=0.1\nbatch_size=16\nsteps=25000\nsnapshots=3\n"
        "[ensemble]\nreplicas=64\nseed=9\n"
    )
    out = tmp_path / "interrupted"
    argv = [sys.executable, "-m", "dysonlearn", "run", str(config), "-o", str(out),
            "--workers", "2"]  # fmt: skip
    # SIGINT back to its default in the child: a shell ignores it for background jobs, and
    # dysonlearn keeps an inherited SIG_IGN.
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    path = out / "results.h5"
    deadline = time.monotonic() + 120
    # Wait until at least one block is stored, then interrupt.
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if path.exists():
            try:
                _, infos = store_module.describe(path)
            except dl.ConfigError:
                continue
            if infos[0].done + infos[0].pending > 0:  # committed, to the view or journal
                break
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Run the same command again to resume" in err
    assert "Traceback" not in err
    _, infos = store_module.describe(path)
    assert 0 < infos[0].done < 64  # the stop consolidated the journal into the view
    resumed = subprocess.run(argv + ["--quiet"], capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    straight = tmp_path / "straight"
    assert (
        cli.main(["run", str(config), "-o", str(straight), "--quiet", "--backend", "serial"]) == 0
    )
    (a,), (b,) = dl.load(path), dl.load(straight / "results.h5")
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    np.testing.assert_array_equal(a.fail_step, b.fail_step)


def test_dask_backend_gives_identical_numbers():
    pytest.importorskip("distributed")
    serial = dl.run_ensemble(CONFIG, replicas=8, seed=6, backend="serial", progress=False)
    dask = dl.run_ensemble(CONFIG, replicas=8, seed=6, backend="dask", workers=2,
                           block_size=3, progress=False)  # fmt: skip
    np.testing.assert_array_equal(dask.eigenvalues, serial.eigenvalues)


def test_dask_backend_without_dask_is_a_clear_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(dl.ConfigError, match=r'pip install "dysonlearn\[dask\]"'):
        dl.run_ensemble(CONFIG, replicas=2, seed=1, backend="dask", progress=False)
    assert cli.main(["run", "--backend", "dask", "--quiet", "-o", str(tmp_path)]) == 2
    assert not (tmp_path / "results.h5").exists()
    assert "backend: 'dask' needs dask.distributed" in capsys.readouterr().err
