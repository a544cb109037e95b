"""Catalogue of bad input at the command line and in the run API: outputs that cannot be
written, damaged or foreign stores, schedulers that are not there, bad options.

Every case: exit status 2 (or a ConfigError from the Python API), one line per problem
on stderr starting "dysonlearn: error:", no traceback, and nothing written.
"""

import os
import shutil
import socket

import h5py
import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import cli

TINY = """
[model]
kind = "teacher_student"
[train]
lr = 0.1
batch_size = 16
steps = 20
snapshots = 2
[ensemble]
replicas = 4
seed = 3
"""
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A small complete results store, copied and damaged by the cases."""
    folder = tmp_path_factory.mktemp("store")
    config = folder / "exp.toml"
    config.write_text(TINY)
    out = folder / "out"
    assert cli.main(["run", str(config), "-o", str(out), "--backend", "serial", "--quiet"]) == 0
    return out / "results.h5"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens here once the socket is closed


def _damage(kind):
    """A function (path) -> None that damages a copy of the store in one way."""

    def bytes_overwritten(path):
        data = bytearray(path.read_bytes())
        data[100:4000] = b"\xff" * 3900
        path.write_bytes(bytes(data))

    def truncated(path):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])

    def edit(function):
        def apply(path):
            with h5py.File(path, "a") as handle:
                function(handle)

        return apply

    cases = {
        "bytes_overwritten": bytes_overwritten,
        "truncated": truncated,
        "missing_done": edit(lambda h: h["point_000"].__delitem__("done")),
        "missing_eigenvalues": edit(lambda h: h["point_000"].__delitem__("eigenvalues")),
        "missing_point": edit(lambda h: h.__delitem__("point_000")),
        "bad_run_json": edit(lambda h: h.attrs.__setitem__("run", "{oops")),
        "bad_params_json": edit(lambda h: h["point_000"].attrs.__setitem__("params", "[")),
        "bad_config_json": edit(lambda h: h["point_000"].attrs.__setitem__("config", "nope")),
        "unknown_model_kind": edit(
            lambda h: h["point_000"].attrs.__setitem__("config", '{"kind": "gpt"}')
        ),
        "missing_replicas_attr": edit(lambda h: h["point_000"].attrs.__delitem__("replicas")),
        "wrong_shape": edit(lambda h: (h["point_000"].__delitem__("failed"),
                                       h["point_000"].create_dataset("failed", data=[True]))),
        "bad_seed_attr": edit(lambda h: h["point_000"].attrs.__setitem__("seed", "x")),
    }  # fmt: skip
    return cases[kind]


DAMAGES = [
    "bytes_overwritten", "truncated", "missing_done", "missing_eigenvalues", "missing_point",
    "bad_run_json", "bad_params_json", "bad_config_json", "unknown_model_kind",
    "missing_replicas_attr", "wrong_shape", "bad_seed_attr",
]  # fmt: skip


def _assert_one_clean_line(capsys, *expected):
    captured = capsys.readouterr()
    err = captured.err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dysonlearn: error: "), err
    assert "Traceback" not in err + captured.out
    for text in expected:
        assert text in err, (text, err)
    return err


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("command", ["info", "analyze"])
def test_a_damaged_store_is_one_line_saying_what_is_wrong(tmp_path, store, capsys, damage,
                                                          command):  # fmt: skip
    path = tmp_path / "results.h5"
    shutil.copy(store, path)
    _damage(damage)(path)
    before = sorted(os.listdir(tmp_path))
    assert cli.main([command, str(path)]) == 2
    err = _assert_one_clean_line(capsys)
    assert "damaged" in err or "not a readable HDF5" in err, err
    assert "recover" in err, err  # says what can be recovered (here: nothing)
    assert sorted(os.listdir(tmp_path)) == before
    with pytest.raises(dl.ConfigError):
        dl.load(path)


def _foreign_h5(path, **attrs):
    with h5py.File(path, "w") as handle:
        handle["x"] = np.arange(3)
        handle.attrs.update(attrs)


STORE_CASES = {
    "text_file": (lambda p: p.write_text("not hdf5"), "is not a readable HDF5 file"),
    "empty_file": (lambda p: p.write_bytes(b""), "is not a readable HDF5 file"),
    "foreign_hdf5": (lambda p: _foreign_h5(p), "not a dysonlearn results store"),
    "fake_format": (lambda p: _foreign_h5(p, format="dysonlearn-results"), "damaged"),
    "newer_format": (
        lambda p: _foreign_h5(p, format="dysonlearn-results", format_version=99),
        "upgrade dysonlearn",
    ),
    "missing": (lambda p: None, "file not found"),
    "directory": (lambda p: p.mkdir(), "is a directory"),
}


@pytest.mark.parametrize("case", sorted(STORE_CASES))
@pytest.mark.parametrize("command", ["info", "analyze"])
def test_a_foreign_or_missing_store_is_one_line(tmp_path, capsys, case, command):
    make, expected = STORE_CASES[case]
    path = tmp_path / "results.h5"
    make(path)
    assert cli.main([command, str(path)]) == 2
    _assert_one_clean_line(capsys, expected)
    with pytest.raises(dl.ConfigError, match=expected):
        dl.load(path)


def _run_argv(tmp_path, *extra, out="out"):
    config = tmp_path / "exp.toml"
    config.write_text(TINY)
    outdir = out if os.path.isabs(str(out)) else str(tmp_path / out)
    return ["run", str(config), "-o", outdir, "--backend", "serial", "--quiet", *extra]


def _file_then(tmp_path, *parts):
    (tmp_path / "f").write_text("x")
    return str(tmp_path.joinpath("f", *parts))


def _results_directory(tmp_path):
    (tmp_path / "o" / "results.h5").mkdir(parents=True)
    return str(tmp_path / "o")


OUTPUT_CASES = {
    # name: (set-up returning the -o value, expected text)
    "outdir_is_a_file": (lambda t: _file_then(t), "not a directory"),
    "outdir_under_a_file": (lambda t: _file_then(t, "sub"), "cannot create"),
    "outdir_in_proc": (lambda t: "/proc/dysonlearn-output-test", "cannot"),
    "results_is_a_directory": (_results_directory, "is a directory"),
}


@pytest.mark.parametrize("case", sorted(OUTPUT_CASES))
def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys, case):
    setup, expected = OUTPUT_CASES[case]
    outdir = setup(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert cli.main(_run_argv(tmp_path, out=outdir)) == 2
    _assert_one_clean_line(capsys, expected, "output:")
    after = sorted(p.name for p in tmp_path.rglob("*") if p.name != "exp.toml")
    assert after == [n for n in before if n != "exp.toml"]


@pytest.mark.parametrize("case", ["file", "under_a_file", "proc"])
def test_analyze_output_that_cannot_be_written(tmp_path, store, capsys, case):
    target = {"file": tmp_path / "f", "under_a_file": tmp_path / "f" / "sub",
              "proc": "/proc/dysonlearn-analyze-test"}[case]  # fmt: skip
    (tmp_path / "f").write_text("x")
    assert cli.main(["analyze", str(store), "-o", str(target)]) == 2
    _assert_one_clean_line(capsys, "output:")


@pytest.mark.skipif(ROOT, reason="root may write anywhere: permissions cannot be tested")
def test_read_only_outputs_are_refused_before_any_work(tmp_path, store, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert cli.main(_run_argv(tmp_path, out=str(folder / "sub"))) == 2
        _assert_one_clean_line(capsys, "output:")
    finally:
        folder.chmod(0o755)
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(store, copy / "results.h5")
    (copy / "results.h5").chmod(0o444)
    assert cli.main(_run_argv(tmp_path, out=str(copy))) == 2
    _assert_one_clean_line(capsys, "read-only")


SCHEDULER_CASES = {
    "with_process_backend": (["--backend", "process", "--scheduler", "tcp://127.0.0.1:8786"],
                             "only with --backend dask"),
    "not_an_address": (["--backend", "dask", "--scheduler", "not an address"],
                       "must be a dask.distributed address"),
    "port_out_of_range": (["--backend", "dask", "--scheduler", "tcp://127.0.0.1:99999"],
                          "must be a dask.distributed address"),
    "no_port": (["--backend", "dask", "--scheduler", "tcp://127.0.0.1"],
                "must be a dask.distributed address"),
    "wrong_scheme": (["--backend", "dask", "--scheduler", "http://127.0.0.1:80"],
                     "must be a dask.distributed address"),
    "nothing_listens": (["--backend", "dask", "--scheduler-timeout", "2", "--scheduler",
                         "tcp://127.0.0.1:{port}"], "cannot connect"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(SCHEDULER_CASES))
def test_a_scheduler_that_is_not_there_is_refused(tmp_path, capsys, case):
    pytest.importorskip("distributed")
    extra, expected = SCHEDULER_CASES[case]
    extra = [a.format(port=_closed_port()) for a in extra]
    argv = _run_argv(tmp_path, *extra)
    argv.remove("--backend")
    argv.remove("serial")
    assert cli.main(argv) == 2
    _assert_one_clean_line(capsys, expected)
    assert not (tmp_path / "out").exists()


def test_a_listener_that_never_answers_times_out(tmp_path, capsys):
    pytest.importorskip("distributed")
    with socket.socket() as server:  # accepts connections (the kernel does) but never talks
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        argv = _run_argv(tmp_path, "--scheduler", address, "--scheduler-timeout", "1")
        argv[argv.index("serial")] = "dask"
        assert cli.main(argv) == 2
    _assert_one_clean_line(capsys, "cannot connect", "within 1 s")
    assert not (tmp_path / "out").exists()


ARGUMENT_CASES = {
    "workers_zero": ["--workers", "0"],
    "workers_negative": ["--workers", "-3"],
    "workers_text": ["--workers", "many"],
    "replicas_zero": ["--replicas", "0"],
    "replicas_text": ["--replicas", "1e3"],
    "seed_negative": ["--seed", "-1"],
    "seed_text": ["--seed", "abc"],
    "backend_unknown": ["--backend", "gpu"],
    "timeout_zero": ["--scheduler-timeout", "0"],
    "timeout_text": ["--scheduler-timeout", "soon"],
    "timeout_infinite": ["--scheduler-timeout", "inf"],
}


@pytest.mark.parametrize("case", sorted(ARGUMENT_CASES))
def test_bad_options_exit_2_without_work(tmp_path, capsys, case):
    with pytest.raises(SystemExit) as exit_info:  # argparse's usage errors
        cli.main(_run_argv(tmp_path, *ARGUMENT_CASES[case]))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error:" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv",
    [["repair", "{tmp}/nothing-here"], ["run", "{tmp}/missing.toml"], ["run", "{tmp}"],
     ["info", "{tmp}/absent.h5"]],
    ids=["repair_empty_dir", "config_missing", "config_is_a_directory", "info_missing"],
)  # fmt: skip
def test_missing_files_are_one_line(tmp_path, capsys, argv):
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert cli.main([*argv, *(["-o", str(tmp_path / "out")] if argv[0] == "run" else [])]) == 2
    _assert_one_clean_line(capsys)
    assert not (tmp_path / "out").exists()


CONFIG = dl.TeacherStudentConfig(steps=20, snapshots=2)
API_CASES = {
    "replicas_zero": dict(replicas=0),
    "replicas_float": dict(replicas=2.5),
    "replicas_text": dict(replicas="8"),
    "replicas_bool": dict(replicas=True),
    "seed_negative": dict(seed=-1),
    "seed_float": dict(seed=1.5),
    "backend_unknown": dict(backend="gpu"),
    "workers_zero": dict(workers=0),
    "block_size_zero": dict(block_size=0),
    "bit_generator_unknown": dict(bit_generator="XOR"),
    "normal_method_unknown": dict(normal_method="boxmuller"),
    "scheduler_without_dask": dict(backend="serial", scheduler="tcp://127.0.0.1:8786"),
    "scheduler_timeout_zero": dict(backend="serial", scheduler_timeout=0),
    "replicas_beyond_memory": dict(replicas=10**12),
    "replica_steps_beyond_int64": dict(replicas=2**62),
}


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_run_ensemble_refuses_bad_arguments(tmp_path, case):
    kwargs = dict(replicas=4, seed=1, backend="serial", progress=False,
                  store=tmp_path / "s.h5") | API_CASES[case]  # fmt: skip
    with pytest.raises(dl.ConfigError):
        dl.run_ensemble(CONFIG, **kwargs)
    assert not (tmp_path / "s.h5").exists()


@pytest.mark.parametrize("case", ["directory", "under_a_file"])
def test_run_ensemble_refuses_a_store_it_cannot_write(tmp_path, case):
    (tmp_path / "f").write_text("x")
    (tmp_path / "d.h5").mkdir()
    store = {"directory": tmp_path / "d.h5", "under_a_file": tmp_path / "f" / "s.h5"}[case]
    with pytest.raises(dl.StoreError):
        dl.run_ensemble(CONFIG, replicas=4, seed=1, backend="serial", progress=False,
                        store=store)  # fmt: skip


def test_not_a_configuration_is_a_config_error():
    with pytest.raises(dl.ConfigError, match="config"):
        dl.run_ensemble({"kind": "rbm"}, replicas=4, seed=1, backend="serial", progress=False)
