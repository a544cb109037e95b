"""Nothing committed is ever lost: a writer killed at every write point in turn, kill -9 of
a real run, a full disk, two runs into one store, a damaged store, stop signals."""

import json
import os
import resource
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import cli, journal
from dysonlearn import store as store_module
from dysonlearn.experiment import parse_experiment

# A two-point scan, three blocks a point with the serial backend: small enough to crash
# at each of its ~60 write points in turn within seconds.
SCAN = {
    "model": {"kind": "teacher_student", "teacher": [2.0, 2.0]},
    "train": {"lr": [0.1, 0.2], "batch_size": 16, "noise": 0.1, "steps": 60, "snapshots": 2},
    "ensemble": {"replicas": 6, "seed": 11},
}
KILLED = 77


def _train(outdir, overwrite=False):
    return dl.run_experiment(parse_experiment(SCAN), outdir, backend="serial", progress=False,
                             overwrite=overwrite)  # fmt: skip


def _arrays(path):
    with h5py.File(path, "r") as handle:
        return {
            f"{name}/{key}": handle[name][key][...]
            for name in sorted(handle)
            for key in ("eigenvalues", "failed", "fail_step", "done", "steps")
        }


def _in_child(function) -> int:
    """Run ``function`` in a forked child (which may os._exit anywhere); its exit code."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            function()
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _crash_at(n: int):
    """A write_point that kills the process at its n-th call."""
    calls = 0

    def point(what):
        nonlocal calls
        calls += 1
        if calls == n:
            os._exit(KILLED)

    return point


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The arrays of an uninterrupted run and how many write points it passes."""
    outdir = tmp_path_factory.mktemp("reference")
    seen = []
    original = journal.write_point
    journal.write_point = seen.append
    try:
        _train(outdir)
    finally:
        journal.write_point = original
    return _arrays(outdir / "results.h5"), len(seen)


def test_a_writer_killed_at_every_write_point_loses_nothing(tmp_path, reference):
    expected, points = reference
    assert points > 40  # every block, view rebuild and removal passes write points
    for n in range(1, points + 1):
        outdir = tmp_path / f"crash_{n:03d}"

        def crash(n=n, outdir=outdir):
            journal.write_point = _crash_at(n)
            _train(outdir)

        assert _in_child(crash) == KILLED, f"write point {n} was not reached"
        path = outdir / "results.h5"
        # Whatever state the crash left is readable, or says what can be recovered.
        try:
            store_module.describe(path)
        except dl.StoreError as exc:
            assert "journal holds" in str(exc) or "missing" in str(exc), (n, str(exc))
        except dl.ConfigError as exc:  # killed before anything existed
            assert "file not found" in str(exc), (n, str(exc))
        _train(outdir)  # the same run again: resumes
        got = _arrays(path)
        assert got.keys() == expected.keys(), n
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key], err_msg=f"point {n}: {key}")
        assert not journal.journal_dir(path).exists(), n  # complete: the journal is gone
        assert not list(outdir.glob(".*.tmp")), n


def test_repair_rebuilds_the_view_from_the_journal(tmp_path, reference, capsys):
    expected, points = reference
    outdir = tmp_path / "out"

    def crash():  # after the first point's blocks, before its view rebuild is renamed
        journal.write_point = _crash_at(points // 2)
        _train(outdir)

    assert _in_child(crash) == KILLED
    path = outdir / "results.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)  # and the view is destroyed too
    assert cli.main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "journal holds" in err and "repair" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert cli.main(["repair", str(outdir)]) == 0
    assert "of 12 replicas" in capsys.readouterr().out
    assert cli.main(["info", str(path)]) == 0
    _train(outdir)
    got = _arrays(path)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])


def test_a_damaged_store_without_journal_says_nothing_can_be_recovered(tmp_path, capsys):
    outdir = tmp_path / "out"
    _train(outdir)
    path = outdir / "results.h5"
    with h5py.File(path, "a") as handle:
        handle["point_001"].attrs["config"] = "{not json"
    for command in (["info", str(path)], ["analyze", str(path)]):
        assert cli.main(command) == 2
        err = capsys.readouterr().err
        assert "is damaged" in err and "nothing can be recovered" in err, err
        assert "Traceback" not in err
    with pytest.raises(dl.StoreError, match="is damaged"):
        dl.load(path)
    # The same run refuses too (it cannot tell what was done); --overwrite starts afresh.
    with pytest.raises(dl.StoreError, match="is damaged"):
        _train(outdir)
    _train(outdir, overwrite=True)
    assert dl.load(path)[1].n_replicas == 6


def test_a_full_disk_stops_with_a_message_and_resumes(tmp_path):
    outdir = tmp_path / "out"
    err_file = tmp_path / "stderr.txt"
    toml = tmp_path / "exp.toml"
    # 40 snapshots: blocks of ~2 kB, and a view that outgrows the limit below.
    toml.write_text(_toml(SCAN | {"train": SCAN["train"] | {"snapshots": 40}}))
    argv = ["run", str(toml), "--backend", "serial", "--quiet"]

    def full_disk():
        # A file-size limit makes writes fail as a full disk does (EFBIG), file by file:
        # large enough for the blocks and the first views, too small for a later view.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (14_000, resource.RLIM_INFINITY))
        sys.stderr = open(err_file, "w")  # noqa: SIM115 - the child exits right after
        code = cli.main([*argv, "-o", str(outdir)])
        sys.stderr.flush()
        os._exit(code)

    assert _in_child(full_disk) == 2
    err = err_file.read_text()
    assert "no space left on" in err and "replicas are saved" in err, err
    assert "run the same command to resume" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    # Space freed (the limit gone): the same command finishes, equal to a straight run.
    assert cli.main([*argv, "-o", str(outdir)]) == 0
    assert cli.main([*argv, "-o", str(tmp_path / "straight")]) == 0
    got, expected = _arrays(outdir / "results.h5"), _arrays(tmp_path / "straight/results.h5")
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])


def _toml(document: dict) -> str:
    lines = []
    for section, values in document.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def test_a_second_run_into_the_same_store_is_refused(tmp_path, capsys):
    outdir = tmp_path / "out"
    holder = journal.Journal(outdir / "results.h5")
    holder.lock()  # as a running `dysonlearn run` holds it
    try:
        # The lock is per open file: another process is refused (a fork here).
        assert _in_child(lambda: os._exit(cli.main(["run", "-o", str(outdir), "--quiet"]))) == 2
        with pytest.raises(dl.StoreError, match=rf"in use by another dysonlearn run \(pid {os.getpid()}"):
            store_module.RunStore(outdir / "results.h5", [], 1).__enter__()
    finally:
        holder.unlock()


def _default_signals() -> None:
    """In a child before exec: stop signals back to their defaults. A shell ignores SIGINT
    for background jobs (and dysonlearn, like Python, keeps an inherited SIG_IGN), so a
    test suite run in the background would otherwise send its Ctrl-C into the void."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for ``signum`` (SigCgt of /proc/pid/status)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except OSError:
        pass
    return False


def _children(pid: int) -> set[int]:
    """Every descendant of a process (from /proc)."""
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as handle:
                kids = [int(k) for k in handle.read().split()]
        except OSError:
            kids = []
        found.update(kids)
        frontier += kids
    return found


RBM_RUN = (
    "[model]\nkind='rbm'\n[train]\nlr=0.1\nbatch_size=16\nsteps=25000\nsnapshots=3\n"
    "[ensemble]\nreplicas=64\nseed=9\n"
)


def _start_and_wait_for_a_block(tmp_path, name):
    """A real `dysonlearn run` in a subprocess (64 RBMs x 25000 steps, ~9 s of work in
    blocks of ~1 s), returned once it has committed a block."""
    config = tmp_path / "exp.toml"
    config.write_text(RBM_RUN)
    out = tmp_path / name
    argv = [sys.executable, "-m", "dysonlearn", "run", str(config), "-o", str(out),
            "--workers", "2", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_signals)  # fmt: skip
    folder = journal.journal_dir(out / "results.h5") / "point_000"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(folder.glob("*.npz")):
        time.sleep(0.05)
    return proc, argv, out


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc")
def test_kill_9_leaves_no_process_behind_and_the_run_resumes_bitwise(tmp_path):
    proc, argv, out = _start_and_wait_for_a_block(tmp_path, "killed")
    time.sleep(0.3)  # let the workers be mid-block
    family = _children(proc.pid)
    assert family, "the run has worker processes"
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(family):
        time.sleep(0.1)
    assert not _alive(family), f"processes outlived the run: {_alive(family)}"
    resumed = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the run" not in resumed.stderr or "replicas saved" in resumed.stderr
    straight = tmp_path / "straight"
    config = tmp_path / "exp.toml"
    assert cli.main(["run", str(config), "-o", str(straight), "--quiet", "--backend", "serial"]) == 0
    (a,) = dl.load(out / "results.h5")
    (b,) = dl.load(straight / "results.h5")
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    np.testing.assert_array_equal(a.fail_step, b.fail_step)


def _alive(pids):
    """The processes of `pids` still running (zombies are dead)."""
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split()[2] != "Z":
                    alive.append(pid)
        except OSError:
            pass
    return alive


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_stop_like_ctrl_c(tmp_path, signum, status):
    proc, argv, out = _start_and_wait_for_a_block(tmp_path, "stopped")
    family = _children(proc.pid)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert f"stopped by {signal.Signals(signum).name}" in err
    assert "replicas are saved" in err and "Run the same command again to resume" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    # The workers exit once they see the stop; on a loaded machine that can take seconds.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(family):
        time.sleep(0.1)
    assert not _alive(family), f"processes outlived the run: {_alive(family)}"
    _, infos = store_module.describe(out / "results.h5")
    assert 0 < infos[0].done < 64 and infos[0].pending == 0  # consolidated on the way out


def test_a_killed_worker_is_one_line(tmp_path):
    proc, argv, out = _start_and_wait_for_a_block(tmp_path, "worker")
    servers = [p for p in _children(proc.pid)
               if "forkserver" in open(f"/proc/{p}/cmdline").read()]  # fmt: skip
    workers = [w for server in servers for w in _children(server)]  # forked by the server
    assert workers
    os.kill(max(workers), signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "a worker process died" in err and "SIGKILL" in err
    assert "__main__" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_ctrl_c_at_any_moment_of_start_up_is_one_line(tmp_path):
    """SIGINT to the whole process group (as a terminal's Ctrl-C) at moments spread over
    imports, store creation and worker start-up: one line, exit 130, never a traceback."""
    config = tmp_path / "exp.toml"
    config.write_text(RBM_RUN)
    for delay in (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.9, 1.2):
        argv = [sys.executable, "-m", "dysonlearn", "run", str(config), "-o",
                str(tmp_path / "out"), "--workers", "2", "--quiet"]  # fmt: skip
        proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, start_new_session=True,
                                preexec_fn=_default_signals)  # fmt: skip
        # Counted from the moment dysonlearn's handlers are in place (it catches SIGTERM,
        # which the interpreter alone does not): before that, in the interpreter's own
        # start-up, Ctrl-C is Python's.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _catches(proc.pid, signal.SIGTERM):
            time.sleep(0.005)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (delay, err)
        assert err.startswith("dysonlearn: stopped by SIGINT"), (delay, err)
        assert len(err.strip().splitlines()) == 1, (delay, err)


def test_a_seedless_scan_resumes_and_its_printed_seed_reproduces_it(tmp_path, capsys):
    seedless = {**SCAN, "ensemble": {"replicas": 6}}
    toml = tmp_path / "exp.toml"
    toml.write_text(_toml(seedless))
    outdir = tmp_path / "out"
    argv = ["run", str(toml), "-o", str(outdir), "--backend", "serial"]

    def crash():  # killed half-way through the scan
        journal.write_point = _crash_at(30)
        cli.main([*argv, "--quiet"])

    assert _in_child(crash) == KILLED
    seed = store_module.stored_root_seed(outdir / "results.h5")
    assert seed is not None
    capsys.readouterr()
    assert cli.main([*argv, "--quiet"]) == 0  # resumes instead of "holds a different run"
    assert cli.main(["info", str(outdir / "results.h5")]) == 0
    assert f"root seed {seed} " in capsys.readouterr().out
    again = tmp_path / "again"
    assert cli.main(["run", str(toml), "-o", str(again), "--backend", "serial", "--quiet",
                     "--seed", str(seed)]) == 0  # fmt: skip
    got, expected = _arrays(outdir / "results.h5"), _arrays(again / "results.h5")
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])
    # A fresh seedless run says which seed it drew.
    assert cli.main([*argv[:3], str(tmp_path / "third"), "--backend", "serial"]) == 0
    drawn = capsys.readouterr().err
    assert "no seed given; this run's seed is" in drawn and "--seed" in drawn


def test_a_signal_ignored_by_the_caller_stays_ignored():
    """`nohup dysonlearn run` must survive the hangup: an inherited SIG_IGN is kept."""
    from dysonlearn.stopping import handled

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with handled():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_IGN, signal.SIG_DFL)
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_a_stop_lost_in_a_destructor_is_raised_at_the_next_check(capsys):
    """A signal handled while a destructor runs raises Stopped there, where Python drops it
    (an unraisable exception), and the handler has ignored further signals by then:
    stopping.check() raises it again, silently, and nothing is left after handled()."""
    from dysonlearn import stopping

    class Finalised:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here, inside __del__

    with stopping.handled():
        obj = Finalised()
        del obj  # noqa: F821 - the destructor runs now and loses the Stopped
        with pytest.raises(stopping.Stopped) as caught:
            stopping.check()
        assert caught.value.name == "SIGTERM" and caught.value.exit_status == 143
        stopping.check()  # delivered once only
    assert capsys.readouterr().err == ""  # the lost one is not reported as unraisable
    with stopping.handled():
        stopping.check()  # a new command starts clean
