"""The command line as a new user meets it: config, --help, --quiet, --dry-run and the notes
of a run started again."""

import argparse
import os
import subprocess
import sys

import pytest

from dysonlearn import cli, reproduce, scan
from dysonlearn.experiment import embedded_experiment_path, embedded_experiments
from dysonlearn.scan import point_specs

TOML = """
[model]
kind = "dyson"
kappa = [2.0, 2.0]

[train]
lr = [0.05, 0.1]
steps = 100
snapshots = 2

[ensemble]
replicas = 6
seed = 7
"""
PRESETS = [f"{e}-{s}" for e in reproduce.EXPERIMENTS for s in reproduce.SCALES]
PRESETS += [f"{e}-{s}" for e in reproduce.OPTIMIZER_EXPERIMENTS
            for s in reproduce.GROUP_SCALES["optimizers"]]  # fmt: skip
PRESETS += [f"{e}-{s}" for e in reproduce.LARGE_N_EXPERIMENTS
            for s in reproduce.GROUP_SCALES["large_n"]]  # fmt: skip
PRESETS += [f"{e}-{s}" for e in reproduce.DEEP_LINEAR_EXPERIMENTS
            for s in reproduce.GROUP_SCALES["deep_linear"]]  # fmt: skip


def _write(tmp_path, text=TOML, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _listing(folder):
    """Every file under ``folder`` with its size and modification time."""
    return {
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


# -- dysonlearn config ---------------------------------------------------------------------


def test_config_default_prints_the_embedded_default_byte_for_byte(capsys):
    assert cli.main(["config", "default"]) == 0
    shown = capsys.readouterr().out
    assert shown == embedded_experiment_path("default").read_text(encoding="utf-8")
    assert "[model]" in shown and "[ensemble]" in shown


def test_config_list_names_every_experiment_with_a_description(capsys):
    assert cli.main(["config", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    assert names[0] == "default" and set(PRESETS) <= set(names)
    assert names == list(embedded_experiments())
    for line in lines:
        name, description = line.split(maxsplit=1)
        assert len(description) > 20 and "\n" not in description, name
    assert "small scale" in dict(line.split(maxsplit=1) for line in lines)["rbm-small"]


@pytest.mark.parametrize("name", PRESETS)
def test_config_show_prints_the_file_reproduce_runs(name, capsys):
    assert cli.main(["config", "show", name]) == 0
    assert capsys.readouterr().out == embedded_experiment_path(name).read_text(encoding="utf-8")


def test_an_unknown_config_name_exits_2_with_the_names(capsys):
    assert cli.main(["config", "show", "rbm-huge"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dysonlearn: error: name: must be one of default, ")
    assert "rbm-small" in err and "teacher_student-paper" in err and "'rbm-huge'" in err
    assert len(err.splitlines()) == 1


def _captured(monkeypatch):
    """Replace the training of the command line by a record of what it would train."""
    trained = []

    def record(experiment, outdir, **kwargs):
        trained.append([s.run_record() for s in point_specs(experiment, experiment.seed)])
        raise KeyboardInterrupt  # stop before any analysis

    monkeypatch.setattr(scan, "run_experiment", record)
    return trained


@pytest.mark.parametrize("name", ["rbm-small", "teacher_student-smoke"])
def test_a_copy_of_a_shown_preset_runs_the_points_reproduce_runs(name, tmp_path, capsys,
                                                                 monkeypatch):  # fmt: skip
    assert cli.main(["config", "show", name]) == 0
    copy = _write(tmp_path, capsys.readouterr().out, f"{name}.toml")
    trained = _captured(monkeypatch)
    experiment, scale = name.rsplit("-", 1)
    cli.main(["reproduce", experiment, "--scale", scale, "-o", str(tmp_path / "a")])
    cli.main(["run", str(copy), "-o", str(tmp_path / "b")])
    assert len(trained) == 2 and trained[0] == trained[1]
    assert len(trained[0]) == (10 if experiment == "rbm" else 11)


# -- --help ----------------------------------------------------------------------------------


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from ((f"{name} {n}", s) for n, s in _subparsers(sub))


def test_every_command_has_a_description_examples_and_help_for_every_option():
    commands = dict(_subparsers(cli.build_parser()))
    assert {"run", "analyze", "reproduce", "config", "info", "repair", "config show"} <= set(
        commands)  # fmt: skip
    for name, parser in commands.items():
        assert parser.description, name
        if " " not in name:  # the commands (config's actions are one line each)
            assert "example" in parser.epilog and "dysonlearn " in parser.epilog, name
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, (name, action.dest)
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
                assert "default" in action.help, (name, action.dest)


def test_the_scales_are_explained_and_match_reproduce():
    assert set(cli.SCALES) == set(reproduce.SCALES)
    text = subprocess.run([sys.executable, "-m", "dysonlearn", "reproduce", "--help"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    for words in ("smoke: checks the pipeline", "about a minute", "small: every setting",
                  "about 10 minutes on two cores", "paper: the published size", "cluster"):  # fmt: skip
        assert words in " ".join(text.split()), words
    assert "examples:\n  dysonlearn reproduce all --scale smoke" in text


def test_the_modes_are_explained_and_match_reproduce():
    assert set(cli.MODES) == set(reproduce.MODES)
    parser = dict(_subparsers(cli.build_parser()))["reproduce"]
    [mode] = [a for a in parser._actions if "--mode" in a.option_strings]
    assert mode.default == "snapshots" and tuple(mode.choices) == tuple(reproduce.MODES)


@pytest.mark.parametrize(("argv", "words"), [
    (["reproduce", "rbm", "--mode", "movie"],
     ["argument --mode", "'movie'", "'snapshots'", "'timeseries'"]),
    (["reproduce", "optimizers", "--scale", "smoke", "--mode", "timeseries"],
     ["dysonlearn: error: mode: the optimizers experiment has the modes snapshots, "
      "got 'timeseries'"]),
])  # fmt: skip
def test_a_bad_reproduce_mode_exits_2_naming_the_value_and_the_choices(argv, words, tmp_path,
                                                                       capsys):  # fmt: skip
    try:
        code = cli.main([*argv, "-o", str(tmp_path / "out"), "--dry-run"])
    except SystemExit as exc:  # argparse's own usage error
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    for word in words:
        assert word in err, word
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_reproduce_dry_run_of_the_timeseries_mode_names_its_presets(tmp_path, capsys):
    out = tmp_path / "article"
    assert cli.main(["reproduce", "all", "--scale", "small", "--mode", "timeseries",
                     "--dry-run", "-o", str(out)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "dry run of rbm-small-timeseries: 10 point(s) x 100 replicas" in text
    assert "dry run of teacher_student-small-timeseries: 11 point(s) x 100 replicas" in text
    assert not out.exists()


# -- --quiet ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "analyze", "reproduce", "repair"])
def test_quiet_is_an_option_of_every_command_that_prints(command):
    parser = dict(_subparsers(cli.build_parser()))[command]
    assert {"-q", "--quiet"} <= {s for a in parser._actions for s in a.option_strings}


def test_quiet_prints_nothing_but_errors(tmp_path, capsys):
    out = tmp_path / "out"
    config = _write(tmp_path)
    assert cli.main(["run", str(config), "-o", str(out), "--backend", "serial", "-q"]) == 0
    assert cli.main(["analyze", str(out / "results.h5"), "--quiet"]) == 0
    assert cli.main(["repair", str(out), "--quiet"]) == 0
    assert cli.main(["run", str(config), "-o", str(out), "--backend", "serial", "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    assert cli.main(["analyze", str(tmp_path / "none.h5"), "--quiet"]) == 2
    assert "dysonlearn: error:" in capsys.readouterr().err


# -- --dry-run -------------------------------------------------------------------------------


def test_reproduce_dry_run_plans_both_experiments_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "article"
    assert cli.main(["reproduce", "all", "--scale", "smoke", "--dry-run", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "dry run of rbm-smoke: 10 point(s) x 24 replicas" in text
    assert "dry run of teacher_student-smoke: 11 point(s) x 200 replicas" in text
    assert f"output {out / 'rbm' / 'results.h5'}" in text
    assert text.count("nothing was written") == 2
    assert not out.exists()


def test_dry_run_beside_an_existing_run_changes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    config = _write(tmp_path)
    assert cli.main(["run", str(config), "-o", str(out), "--backend", "serial", "-q"]) == 0
    before = _listing(tmp_path)
    other = _write(tmp_path, TOML.replace("steps = 100", "steps = 300"), "other.toml")
    before = _listing(tmp_path)
    for argv in (["run", str(config)], ["run", str(other)], ["run", str(other), "--overwrite"]):
        assert cli.main([*argv, "-o", str(out), "--dry-run"]) == 0
    assert "lr=0.05: 6 replicas x 300 steps" in capsys.readouterr().out
    assert _listing(tmp_path) == before


def test_dry_run_checks_the_execution_options(tmp_path, capsys):
    argv = ["run", str(_write(tmp_path)), "--dry-run", "--scheduler", "tcp://host:1"]
    assert cli.main(argv) == 2
    assert "--scheduler: is used only with --backend dask" in capsys.readouterr().err


# -- running again ---------------------------------------------------------------------------


def test_a_complete_run_started_again_says_so_and_is_not_resumed(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["run", str(_write(tmp_path)), "-o", str(out), "--backend", "serial"]
    assert cli.main(argv) == 0
    assert "holds this run" not in capsys.readouterr().err
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "holds this run complete (12 replicas): nothing to train, analysing it again" in err
    assert "resuming" not in err and "[1/2]" not in err  # and no bar: nothing trains


def test_an_interrupted_run_resumes_saying_what_is_left(tmp_path, capsys, monkeypatch):
    from dysonlearn import ensemble

    out = tmp_path / "out"
    argv = ["run", str(_write(tmp_path)), "-o", str(out), "--backend", "serial"]
    real, calls = ensemble.train_block, []

    def stop_at_the_second_point(task, *args, **kwargs):
        if task.config.lr == 0.1:
            raise KeyboardInterrupt
        calls.append(task)
        return real(task, *args, **kwargs)

    monkeypatch.setattr(ensemble, "train_block", stop_at_the_second_point)
    assert cli.main(argv) == 130
    monkeypatch.setattr(ensemble, "train_block", real)
    capsys.readouterr()
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "resuming the run in" in err and "6 of 12 replicas saved, training the other 6" in err
    assert "[2/2] lr=0.1" in err


def test_a_different_run_names_what_differs(tmp_path, capsys):
    out = tmp_path / "out"
    config = _write(tmp_path)
    assert cli.main(["run", str(config), "-o", str(out), "--backend", "serial", "-q"]) == 0
    other = _write(tmp_path, TOML.replace("lr = [0.05, 0.1]", "lr = [0.05, 0.2, 0.3]")
                   .replace("steps = 100", "steps = 300"), "other.toml")  # fmt: skip
    assert cli.main(["run", str(other), "-o", str(out), "--backend", "serial", "-q"]) == 2
    err = capsys.readouterr().err
    assert "holds a different run (stored -> this run: points: 2 -> 3; " in err
    assert "lr: [0.05, 0.1] -> [0.05, 0.2, 0.3]; steps: 100 -> 300)" in err
    assert "kappa" not in err  # only what differs
    argv = ["run", str(config), "-o", str(out), "--backend", "serial", "-q"]
    assert cli.main([*argv, "--seed", "8"]) == 2
    assert "(stored -> this run: seed: 7 -> 8)" in capsys.readouterr().err
    assert cli.main([*argv, "--replicas", "5"]) == 2
    assert "(stored -> this run: replicas: 6 -> 5)" in capsys.readouterr().err


def test_the_help_of_the_command_is_reachable_without_the_numerical_stack():
    env = {**os.environ, "COLUMNS": "100"}
    code = ("import sys, dysonlearn.cli as c\ntry:\n    c.main(['config', '--help'])\n"
            "except SystemExit:\n    pass\nprint(sorted({'numpy', 'scipy', 'h5py'} & "
            "set(sys.modules)))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout  # fmt: skip
    assert out.strip().endswith("[]") and "dysonlearn config default > my.toml" in out
