"""Scans from the library: dl.load_experiment and dl.run_experiment, with the store, exact
resume and nothing trained twice; and a command line that only parses and prints."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import cli, ensemble, scan
from dysonlearn.seeding import point_seeds

# Two points, four blocks a point with the serial backend (one report a block: a block is
# far less than the half second between reports).
SCAN = {
    "model": {"kind": "teacher_student", "teacher": [2.0, 2.0]},
    "train": {"lr": [0.1, 0.2], "batch_size": 16, "noise": 0.1, "steps": 60, "snapshots": 2},
    "ensemble": {"replicas": 8, "seed": 11},
}
SERIAL = {"backend": "serial", "progress": False}


def _assert_same(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert a.config == b.config and a.seed == b.seed
        np.testing.assert_array_equal(a.steps, b.steps)
        np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
        np.testing.assert_array_equal(a.failed, b.failed)
        np.testing.assert_array_equal(a.fail_step, b.fail_step)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """The results of an uninterrupted run of SCAN, and its store."""
    outdir = tmp_path_factory.mktemp("straight")
    return dl.run_experiment(SCAN, outdir, **SERIAL), outdir / "results.h5"


@pytest.fixture
def straight(straight_run):
    return straight_run[0]


def test_load_experiment_takes_a_file_a_dict_or_an_experiment(tmp_path):
    toml = tmp_path / "exp.toml"
    toml.write_text(
        '[model]\nkind = "teacher_student"\nteacher = [2.0, 2.0]\n'
        "[train]\nlr = [0.1, 0.2]\nbatch_size = 16\nnoise = 0.1\nsteps = 60\nsnapshots = 2\n"
        "[ensemble]\nreplicas = 8\nseed = 11\n"
    )
    from_file, from_dict = dl.load_experiment(toml), dl.load_experiment(SCAN)
    assert isinstance(from_dict, dl.Experiment)
    assert from_file.points == from_dict.points and from_file.scan == from_dict.scan
    assert dl.load_experiment(from_dict) is from_dict
    with pytest.raises(dl.ConfigError, match="train.lr"):
        dl.load_experiment({**SCAN, "train": {**SCAN["train"], "lr": -1.0}})


def test_each_point_is_run_ensemble_with_the_seed_the_store_records(straight_run):
    straight, store = straight_run
    assert [r.config.lr for r in straight] == [0.1, 0.2]  # scan order
    assert [r.seed for r in straight] == point_seeds(11, 2)
    stored = dl.load(store)
    assert [r.seed for r in stored] == [r.seed for r in straight]
    alone = [
        dl.run_ensemble(r.config, replicas=8, seed=r.seed, **SERIAL, bit_generator="SFC64")
        for r in straight
    ]
    _assert_same(straight, alone)


def test_an_interrupted_scan_resumes_to_the_same_bits(tmp_path, straight):
    calls = []

    def stop_after_five_blocks(n):
        calls.append(n)
        if len(calls) == 6:  # raised after the sixth block trained, before it is saved
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as stopped:
        dl.run_experiment(SCAN, tmp_path, backend="serial", progress=stop_after_five_blocks)
    assert stopped.value.__notes__ == [f"10 of 16 replicas are saved in {tmp_path / 'results.h5'}"]
    notices, done = [], []
    resumed = dl.run_experiment(SCAN, tmp_path, backend="serial", progress=done.append,
                                notify=notices.append)  # fmt: skip
    assert sum(done) == 6 * 60  # the six replicas not saved, 60 steps each
    assert [(n.kind, n.values["saved"], n.values["total"]) for n in notices] == [
        ("resuming", 10, 16)
    ]
    _assert_same(resumed, straight)
    _assert_same(dl.load(tmp_path / "results.h5"), straight)


def test_a_finished_outdir_returns_the_stored_results_and_trains_nothing(
    tmp_path, straight, monkeypatch
):
    dl.run_experiment(SCAN, tmp_path, **SERIAL)

    def no_training(*args, **kwargs):
        raise AssertionError("a block was trained")

    monkeypatch.setattr(ensemble, "train_block", no_training)
    counted = []
    again = dl.run_experiment(SCAN, tmp_path, backend="serial", progress=counted.append)
    assert counted == []
    _assert_same(again, straight)


def test_a_different_experiment_is_refused_unless_overwrite(tmp_path):
    dl.run_experiment(SCAN, tmp_path, **SERIAL)
    other = {**SCAN, "train": {**SCAN["train"], "lr": [0.1, 0.3]}}
    with pytest.raises(dl.StoreError, match="holds a different run"):
        dl.run_experiment(other, tmp_path, **SERIAL)
    with pytest.raises(dl.StoreError, match="holds a different run"):
        dl.run_experiment(SCAN, tmp_path, **SERIAL, seed=12)
    replaced = dl.run_experiment(other, tmp_path, **SERIAL, overwrite=True)
    assert [r.config.lr for r in replaced] == [0.1, 0.3]
    assert [r.config.lr for r in dl.load(tmp_path / "results.h5")] == [0.1, 0.3]


def test_a_seedless_scan_says_its_seed_and_resumes_with_it(tmp_path):
    seedless = {**SCAN, "ensemble": {"replicas": 4}}
    notices = []
    first = dl.run_experiment(seedless, tmp_path, **SERIAL, notify=notices.append)
    assert [n.kind for n in notices] == ["seed_drawn"]
    seed = notices[0].values["seed"]
    assert [r.seed for r in first] == point_seeds(seed, 2)
    notices.clear()
    again = dl.run_experiment(seedless, tmp_path, **SERIAL, notify=notices.append)
    # The stored seed, nothing drawn, nothing to resume: only that the run is complete.
    assert [n.kind for n in notices] == ["complete"]
    _assert_same(again, first)


def test_arguments_are_checked_before_anything_is_written(tmp_path):
    cases = [
        {"backend": "gpu"},
        {"workers": 0},
        {"scheduler": "tcp://127.0.0.1:8786"},
        {"scheduler_timeout": 0},
        {"progress": "yes"},
        {"seed": -1},
        {"replicas": 0},
    ]
    for case in cases:
        with pytest.raises(dl.ConfigError):
            dl.run_experiment(SCAN, tmp_path / "out", **{**SERIAL, **case})
    assert not (tmp_path / "out").exists()


def test_workers_beyond_the_cores_are_capped_with_a_warning(tmp_path, monkeypatch):
    from dysonlearn import backends

    monkeypatch.setattr(backends, "available_cores", lambda: 1)
    one_point = {**SCAN, "train": {**SCAN["train"], "lr": 0.1}}
    with pytest.warns(RuntimeWarning, match="workers: 3 capped at 1"):
        dl.run_experiment(one_point, tmp_path, backend="process", workers=3, progress=False)


def test_analyze_writes_the_summaries_and_figures(tmp_path):
    dl.run_experiment(SCAN, tmp_path, **SERIAL)
    analysis = dl.analyze(tmp_path / "results.h5")
    assert tmp_path / "summary.json" in analysis.written
    assert "## alpha=0.1" in analysis.markdown
    assert [p["params"] for p in analysis.summary["points"]] == [{"lr": 0.1}, {"lr": 0.2}]


# What cli.py may import: the standard library, and these public names of the package.
CLI_ALLOWED = {
    "_version": {"__version__"},
    "errors": {"ConfigError"},
    "stopping": {"Stopped", "handled"},
    "scan": set(scan.__all__),
    "experiment": {"default_experiment_path", "load_experiment", "embedded_experiments",
                   "embedded_experiment_path"},
    "backends": {"WorkerDied"},
    "store": {"describe", "root_summary"},
    "report": {"point_label", "headline"},
    "dryrun": {"describe_plan", "plan", "recording_text"},
    "reproduce": {"article_experiments", "write_comparison", "comparison_headline",
                  "preset_name", "group_presets", "SUMMARY_ONLY"},
}
CLI_TOP_LEVEL = {"_version", "errors", "stopping"}  # light: the standard library only


def test_cli_imports_no_ensemble_or_store_internals():
    tree = ast.parse(Path(cli.__file__).read_text(encoding="utf-8"))
    top_level = set(ast.iter_child_nodes(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] in sys.stdlib_module_names, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                assert node.module.split(".")[0] in sys.stdlib_module_names, node.module
                continue
            assert node.level == 1 and node.module in CLI_ALLOWED, (node.module, node.lineno)
            names = {alias.name for alias in node.names}
            assert names <= CLI_ALLOWED[node.module], (
                node.module,
                names - CLI_ALLOWED[node.module],
            )
            if node in top_level:
                assert node.module in CLI_TOP_LEVEL, node.module


def test_the_command_line_starts_without_the_numerical_stack():
    code = (
        "import sys, dysonlearn.cli; print(sorted({'numpy', 'h5py', 'scipy'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
