"""What a results store says about itself: point and dataset attributes, dimension scales,
root metadata (experiment text, command line, code, sessions), and what readers get back
(dl.load, to_xarray, dysonlearn info)."""

import json
import platform
import subprocess
import sys
import tomllib
from pathlib import Path

import h5py
import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import cli
from dysonlearn._version import __commit__
from dysonlearn.experiment import experiment_document, to_toml

SERIAL = {"backend": "serial", "progress": False}

TOML = """# a comment that only the file's own text keeps
[model]
kind = "teacher_student"
teacher = [2.0, 3.0]
[train]
lr = [0.1, 0.2]
batch_size = 16
noise = 0.1
steps = 200
snapshots = 4
[ensemble]
replicas = 8
seed = 5
"""


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """A scan run by the command line: its TOML file and its output directory."""
    folder = tmp_path_factory.mktemp("cli")
    config = folder / "exp.toml"
    config.write_text(TOML, encoding="utf-8")
    out = folder / "out"
    assert cli.main(["run", str(config), "-o", str(out), "--quiet", "--backend", "serial"]) == 0
    return config, out


def test_each_point_has_its_parameters_as_attributes(cli_run):
    _, out = cli_run
    with h5py.File(out / "results.h5") as handle:
        for name, lr in (("point_000", 0.1), ("point_001", 0.2)):
            attrs = handle[name].attrs
            assert attrs["lr"] == lr and attrs["batch_size"] == 16 and attrs["noise"] == 0.1
            assert attrs["steps"] == 200 and attrs["kind"] == "teacher_student"
            np.testing.assert_array_equal(attrs["teacher"], [2.0, 3.0])
            assert json.loads(attrs["params"]) == {"lr": lr}  # the JSON records stay
            assert json.loads(attrs["config"])["lr"] == lr


def test_a_target_table_is_flattened_into_dotted_attributes(tmp_path):
    config = dl.RBMConfig(n_visible=3, n_hidden=3, steps=20, snapshots=2,
                          target=dl.targets.free_scalar(n=3, m=2.0))  # fmt: skip
    path = tmp_path / "rbm.h5"
    dl.run_ensemble(config, replicas=4, seed=1, store=path, keep_weights=True, **SERIAL)
    with h5py.File(path) as handle:
        group = handle["point_000"]
        assert group.attrs["target.kind"] == "free_scalar"
        assert group.attrs["target.n"] == 3 and group.attrs["target.m"] == 2.0
        assert group.attrs["mu"] == config.mu and group.attrs["sampler"] == "collapsed"
        assert "sigma_h^2 W^T W" in group["eigenvalues"].attrs["description"]
        weights = group["weights"]
        assert list(weights.attrs["axes"]) == ["replica", "hidden", "visible"]
        assert [d.label for d in weights.dims] == ["replica", "hidden", "visible"]


def test_datasets_name_their_axes_and_steps_is_the_snapshot_scale(cli_run):
    _, out = cli_run
    with h5py.File(out / "results.h5") as handle:
        group = handle["point_000"]
        eigenvalues = group["eigenvalues"]
        assert list(eigenvalues.attrs["axes"]) == ["replica", "snapshot", "mode"]
        assert [d.label for d in eigenvalues.dims] == ["replica", "snapshot", "mode"]
        assert eigenvalues.attrs["description"].startswith(
            "eigenvalues of the symmetric student W, ascending"
        )
        scale = eigenvalues.dims[1][0]
        assert scale.name == group["steps"].name and scale.is_scale
        np.testing.assert_array_equal(scale[...], [0, 50, 100, 150, 200])
        assert len(eigenvalues.dims[0].keys()) == 0  # replicas and modes have no scale
        for key in ("failed", "fail_step", "done"):
            assert list(group[key].attrs["axes"]) == ["replica"]
            assert group[key].attrs["description"]
        assert "-1 if it did not" in group["fail_step"].attrs["description"]
        assert group["fail_step"].attrs["units"] == group["steps"].attrs["units"] == "steps"
        assert eigenvalues.compression == "gzip" and eigenvalues.shuffle


def test_the_reference_protocol_records_singular_values(tmp_path):
    config = dl.TeacherStudentConfig(noise=0.1, steps=20, snapshots=1, protocol="reference")
    path = tmp_path / "ref.h5"
    dl.run_ensemble(config, replicas=2, seed=1, store=path, **SERIAL)
    with h5py.File(path) as handle:
        assert handle["point_000/eigenvalues"].attrs["description"].startswith(
            "singular values of the student W"
        )


def test_root_records_the_file_text_command_code_and_times(cli_run):
    config, out = cli_run
    with h5py.File(out / "results.h5") as handle:
        root = dict(handle.attrs)
    assert root["experiment_toml"] == TOML  # the file's own text, comment included
    assert root["command"] == (
        f"dysonlearn run {config} -o {out} --quiet --backend serial"
    )
    assert root["dysonlearn_version"] == dl.__version__
    assert root["dysonlearn_commit"] == __commit__
    assert root["python_version"] == platform.python_version()
    assert root["platform"] == platform.platform()
    assert root["backend"] == "serial" and root["workers"] == 1
    assert root["seed"] == "5"
    assert root["created"] == root["started"] <= root["ended"]
    (session,) = json.loads(root["sessions"])
    assert session["started"] == root["started"] and session["ended"] == root["ended"]
    assert session["replicas_saved"] == 16 and session["command"] == root["command"]


def test_a_dict_experiment_is_recorded_as_toml_that_reads_back_the_same(tmp_path):
    document = tomllib.loads(TOML)
    dl.run_experiment(document, tmp_path, **SERIAL)
    with h5py.File(tmp_path / "results.h5") as handle:
        text, command = handle.attrs["experiment_toml"], handle.attrs["command"]
    assert command == ""  # called from Python
    assert tomllib.loads(text) == document
    assert dl.load_experiment(tomllib.loads(text)).points == dl.load_experiment(document).points


@pytest.mark.parametrize("config", [
    dl.RBMConfig(target=dl.targets.from_kernel([[2.0, 0.1], [0.1, 3.0]]), n_visible=2,
                 n_hidden=2),
    dl.TeacherStudentConfig(teacher=[1.0, 2.0, 2.0], noise=0.2, protocol="reference",
                            dataset_size=64, snapshots=[0, 10, 100], steps=100),
    dl.DysonConfig(kappa=[4.0, 8.0], drift="rbm", mu=3.0, noise=0.05),
])  # fmt: skip
def test_a_configuration_renders_as_an_experiment_of_itself(config):
    text = to_toml(experiment_document(config, replicas=7, seed=3, bit_generator="PCG64"))
    experiment = dl.load_experiment(tomllib.loads(text))
    assert experiment.points == (config,)
    assert (experiment.replicas, experiment.seed, experiment.bit_generator) == (7, 3, "PCG64")


def test_run_ensemble_records_its_configuration_as_toml(tmp_path):
    config = dl.DysonConfig(kappa=[2.0, 2.0], noise=0.1, steps=30, snapshots=1)
    path = tmp_path / "dyson.h5"
    dl.run_ensemble(config, replicas=3, seed=9, store=path, **SERIAL)
    with h5py.File(path) as handle:
        text = handle.attrs["experiment_toml"]
    experiment = dl.load_experiment(tomllib.loads(text))
    assert experiment.points == (config,) and experiment.seed == 9 and experiment.replicas == 3


class _StopAfter:
    """A progress callable that interrupts the run once some work is done."""

    def __init__(self, replica_steps: int):
        self.left = replica_steps

    def __call__(self, n: int) -> None:
        self.left -= n
        if self.left <= 0:
            raise KeyboardInterrupt


def test_an_interrupted_and_resumed_run_keeps_every_session(tmp_path):
    experiment = tomllib.loads(TOML)
    experiment["ensemble"]["replicas"] = 12
    with pytest.raises(KeyboardInterrupt):
        # One point of 12 replicas x 200 steps is 2400 replica-steps: stop in the second.
        dl.run_experiment(experiment, tmp_path, backend="serial", progress=_StopAfter(2600),
                          command="first")  # fmt: skip
    first = _root(tmp_path / "results.h5")
    (session,) = json.loads(first["sessions"])
    assert 12 <= session["replicas_saved"] < 24 and session["command"] == "first"
    dl.run_experiment(experiment, tmp_path, **SERIAL, command="second")
    root = _root(tmp_path / "results.h5")
    sessions = json.loads(root["sessions"])
    assert [s["command"] for s in sessions] == ["first", "second"]
    assert sum(s["replicas_saved"] for s in sessions) == 24
    assert root["started"] == first["started"] == sessions[0]["started"]
    assert root["ended"] == sessions[1]["ended"] >= sessions[1]["started"] >= first["ended"]
    assert root["command"] == "first"  # the root describes the session that created it
    # The text and command are records, not identity: the same experiment given another
    # way (the file, another command line) is the same run, complete, and untouched.
    before = (tmp_path / "results.h5").read_bytes()
    config = tmp_path / "exp.toml"
    config.write_text(TOML.replace("replicas = 8", "replicas = 12"), encoding="utf-8")
    assert cli.main(["run", str(config), "-o", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "results.h5").read_bytes() == before


def _root(path: Path) -> dict:
    with h5py.File(path) as handle:
        return dict(handle.attrs)


def test_load_always_returns_a_list_with_each_points_parameters(cli_run, tmp_path):
    _, out = cli_run
    results = dl.load(out / "results.h5")
    assert [(r.point, r.params) for r in results] == [
        ("point_000", {"lr": 0.1}), ("point_001", {"lr": 0.2})
    ]  # fmt: skip
    assert [r.config.lr for r in results] == [0.1, 0.2]
    single = tmp_path / "one.h5"
    dl.run_ensemble(dl.DysonConfig(steps=10, snapshots=1), replicas=2, seed=1, store=single,
                    **SERIAL)  # fmt: skip
    (result,) = dl.load(single)
    assert result.point == "point_000" and result.params == {}


def test_to_xarray_names_the_dimensions_and_carries_the_parameters(cli_run):
    xarray = pytest.importorskip("xarray")
    _, out = cli_run
    result = dl.load(out / "results.h5")[1]
    ds = result.to_xarray()
    assert isinstance(ds, xarray.Dataset)
    assert ds["eigenvalues"].dims == ("replica", "snapshot", "mode")
    assert ds["failed"].dims == ("replica",) and ds["fail_step"].dims == ("replica",)
    np.testing.assert_array_equal(ds["step"].values, result.steps)
    assert ds["step"].dims == ("snapshot",)
    np.testing.assert_array_equal(ds["eigenvalues"].values, result.eigenvalues)
    assert ds.attrs["lr"] == 0.2 and ds.attrs["noise"] == 0.1 and ds.attrs["seed"] == str(
        result.seed
    )
    assert ds.attrs["point"] == "point_001"
    last = ds["eigenvalues"].isel(snapshot=-1).values
    np.testing.assert_array_equal(last, result.eigenvalues[:, -1])


def test_to_xarray_without_xarray_is_a_clear_import_error(cli_run, monkeypatch):
    _, out = cli_run
    result = dl.load(out / "results.h5")[0]
    monkeypatch.setitem(sys.modules, "xarray", None)  # import fails as if not installed
    with pytest.raises(ImportError, match="pip install xarray"):
        result.to_xarray()


def test_info_shows_the_command_code_and_times(cli_run, capsys):
    config, out = cli_run
    assert cli.main(["info", str(out / "results.h5")]) == 0
    text = capsys.readouterr().out
    with h5py.File(out / "results.h5") as handle:
        root = dict(handle.attrs)
    assert f"command: dysonlearn run {config} -o {out}" in text
    assert f"dysonlearn {dl.__version__} (" in text
    if __commit__:
        assert f"commit {__commit__}" in text
    else:
        assert "not built from a git checkout" in text
    assert f"times: started {root['started']}, last saved {root['ended']}" in text
    assert "ran on: backend serial, 1 worker(s)" in text


def test_the_commit_is_that_of_the_checkout_the_package_was_built_from():
    # The checkout these tests belong to: CI and the README install the package from it
    # (pip install .), an editable install builds from it.
    source = Path(__file__).resolve().parents[1]
    if not (source / ".git").exists() or not __commit__:
        pytest.skip("not built from a git checkout: the commit is empty")
    head = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=False)  # fmt: skip
    if head.returncode != 0:
        pytest.skip("git cannot read the checkout")
    assert __commit__.removesuffix("-dirty") == head.stdout.strip()


def test_a_store_without_the_new_root_attributes_still_reads_resumes_and_informs(
    tmp_path, capsys
):
    """A store of an earlier dysonlearn (format 1 without the run's metadata) loads,
    resumes as the same run, and `info` says what it does not record."""
    config = dl.DysonConfig(steps=10, snapshots=1)
    path = tmp_path / "old.h5"
    dl.run_ensemble(config, replicas=4, seed=2, store=path, **SERIAL)
    with h5py.File(path, "a") as handle:
        for key in ("experiment_toml", "command", "dysonlearn_commit", "python_version",
                    "platform", "backend", "workers", "started", "ended", "sessions"):  # fmt: skip
            del handle.attrs[key]
    (result,) = dl.load(path)
    again = dl.run_ensemble(config, replicas=4, seed=2, store=path, **SERIAL)  # trains nothing
    np.testing.assert_array_equal(again.eigenvalues, result.eigenvalues)
    assert cli.main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "command: not recorded" in text and "commit not recorded" in text
    assert "ran on: backend not recorded" in text


def test_a_trackers_result_converts_to_xarray_with_its_own_description():
    pytest.importorskip("xarray")
    tracker = dl.SpectrumTracker(every=1, kind="singular")
    rng = np.random.default_rng(0)
    for step in range(3):
        tracker.update(step, rng.standard_normal((4, 3, 3)))
    ds = tracker.result().to_xarray()
    assert ds["eigenvalues"].dims == ("replica", "snapshot", "mode")
    assert ds["eigenvalues"].attrs["description"] == "singular values of W, ascending"
    assert ds.attrs["kind"] == "singular" and ds.attrs["every"] == 1


def test_a_preset_is_recorded_as_its_file_and_an_experiment_in_code_point_by_point():
    import dataclasses

    from dysonlearn.experiment import embedded_experiment_path
    from dysonlearn.reproduce import article_experiments

    ((_, experiment),) = article_experiments("rbm", "smoke")
    text = embedded_experiment_path("rbm-smoke").read_text(encoding="utf-8")
    assert experiment.toml() == text
    # Built in code with points that are no grid of one [train] scan: a record of the run.
    built = dataclasses.replace(experiment, text=None, source={})
    record = tomllib.loads(built.toml())
    assert record["ensemble"]["replicas"] == experiment.replicas
    assert [dl.RBMConfig.from_dict(p) for p in record["point"]] == list(experiment.points)
