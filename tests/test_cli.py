"""The dysonlearn command: runs, outputs, and bad input (exit 2, one line per problem)."""

import json
import subprocess
import sys

import pytest

from dysonlearn import cli
from dysonlearn.experiment import default_experiment_path, load_experiment

SMALL = """
[model]
kind = "rbm"
n_visible = 4
n_hidden = 4
mu = 3.0
k = 2
init_std = 0.2

[target]
kind = "spectrum"
values = [5.0, 6.0, 6.0, 7.0]

[train]
lr = [0.05, 0.1]
batch_size = 8
steps = 200
snapshots = 4

[ensemble]
replicas = 6
seed = 7
"""


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_run_a_scan_writes_summaries(tmp_path, capsys):
    config = write(tmp_path, SMALL)
    out = tmp_path / "out"
    assert cli.main(["run", str(config), "-o", str(out), "--backend", "serial", "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [p["params"] for p in summary["points"]] == [{"lr": 0.05}, {"lr": 0.1}]
    assert [p["config"]["lr"] for p in summary["points"]] == [0.05, 0.1]
    stats = summary["points"][1]
    assert stats["replicas"] == 6 and len(stats["levels"]) == 4
    # x* = mu^2 - kappa = 4, 3, 3, 2: one degenerate pair, modes 1 and 2 of the sorted levels.
    assert [p["modes"] for p in stats["pairs"]] == [[1, 2]]
    assert "## alpha=0.1 (rbm)" in (out / "summary.md").read_text()
    assert (out / "results.h5").stat().st_size > 0
    assert any(out.glob("*.png"))
    assert capsys.readouterr().out == ""  # --quiet


def test_overrides_from_the_command_line(tmp_path):
    config = write(tmp_path, SMALL)
    out = tmp_path / "out"
    argv = ["run", str(config), "-o", str(out), "--backend", "serial", "--quiet"]
    assert cli.main([*argv, "--replicas", "3", "--seed", "11"]) == 0
    point = json.loads((out / "summary.json").read_text())["points"][0]
    assert point["replicas"] == 3
    # Scan points get independent seeds derived from the root seed, which the store keeps.
    assert cli.main(["info", str(out / "results.h5")]) == 0


def test_the_embedded_default_is_a_valid_reference_experiment():
    experiment = load_experiment(default_experiment_path())
    assert experiment.scan == {"lr": [0.05, 0.1], "batch_size": [8, 16, 32]}
    for config in experiment.points:
        assert (config.k, config.mu, config.n_visible) == (3, 3.0, 10)
        # Long enough for the slowest mode at the smallest lr (600 / lr steps, :doc:`/theory/rbm`).
        assert config.steps >= 600 / config.lr
    assert experiment.replicas >= 256 and experiment.seed is not None


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("lr = [0.05, 0.1]", "lr = -1.0"), "train.lr: must be a finite number > 0, got -1.0"),
        (("k = 2", "kk = 2"), "model.kk: unknown key (did you mean 'k'?)"),
        (("[ensemble]", "[ensembel]"), "ensembel: unknown key (did you mean 'ensemble'?)"),
        (("replicas = 6", "replicas = 0"), "ensemble.replicas: must be an integer >= 1, got 0"),
        (('kind = "spectrum"', 'kind = "spectral"'), "target.kind: must be one of"),
        (("values = [5.0, 6.0, 6.0, 7.0]", "values = [5.0, 6.0]"), "target: must have"),
        (("batch_size = 8", "batch_size = 8.5"), "train.batch_size: must be an integer >= 1"),
        (("steps = 200", "steps = 200\nsnapshots = 500"), "not valid TOML"),
        (("init_std = 0.2", "init_std = 2.0"), "model.init_std: the Marchenko-Pastur edge"),
    ],
)
def test_bad_config_exits_2_naming_the_key(tmp_path, capsys, edit, expected):
    config = write(tmp_path, SMALL.replace(*edit))
    code = cli.main(["run", str(config), "-o", str(tmp_path / "o"), "--backend", "serial"])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert all(line.startswith("dysonlearn: error: ") for line in err.splitlines())


def test_several_problems_are_reported_one_per_line(tmp_path, capsys):
    text = SMALL.replace("lr = [0.05, 0.1]", "lr = 0").replace("k = 2", "k = 0")
    assert cli.main(["run", str(write(tmp_path, text)), "--backend", "serial"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and any("model.k:" in x for x in lines)


def test_missing_file_and_bad_arguments(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path / "nope.toml")]) == 2
    assert "config: file not found" in capsys.readouterr().err
    for argv in (["run", "--replicas", "0"], ["run", "--seed", "x"], ["run", "--backend", "gpu"],
                 ["fly"]):  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2


def test_command_line_entry_point_has_no_traceback_on_bad_input(tmp_path):
    config = write(tmp_path, SMALL.replace("lr = [0.05, 0.1]", "lr = -1"))
    proc = subprocess.run(
        [sys.executable, "-m", "dysonlearn", "run", str(config), "--backend", "serial"],
        check=False, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip() == "dysonlearn: error: train.lr: must be a finite number > 0, got -1"
    )


TEACHER = """
[model]
kind = "teacher_student"
teacher = [2.0, 2.0]
sampler = "wishart"

[train]
lr = 0.1
batch_size = 16
noise = [0.05, 0.1]
steps = 1500
snapshots = [1000, 1250, 1500]

[ensemble]
replicas = 400
seed = 3
"""


def test_run_a_teacher_student_noise_scan(tmp_path):
    out = tmp_path / "out"
    assert cli.main(["run", str(write(tmp_path, TEACHER)), "-o", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [p["params"] for p in summary["points"]] == [{"noise": 0.05}, {"noise": 0.1}]
    spacings = [p["pairs"][0] for p in summary["points"]]
    for pair in spacings:
        # The summary's prediction is :eq:`ts-degenerate-spacing` with the finite-lr factor; 400
        # replicas give about 2.5 per cent standard error on the last snapshot's <S>: 4 of them + 3
        # %.
        assert pair["mean_spacing"] == pytest.approx(pair["predicted_mean_spacing"], rel=0.13)
    assert spacings[1]["mean_spacing"] / spacings[0]["mean_spacing"] == pytest.approx(2, rel=0.15)


def test_dyson_experiment_and_model_specific_keys(tmp_path, capsys):
    dyson = (
        TEACHER.replace('kind = "teacher_student"', 'kind = "dyson"')
        .replace("teacher = [2.0, 2.0]", "kappa = [2.0, 2.0]")
        .replace('sampler = "wishart"\n', "")
    )
    assert (
        cli.main(["run", str(write(tmp_path, dyson)), "-o", str(tmp_path / "d"), "--quiet"]) == 0
    )
    assert cli.main(["run", str(write(tmp_path, TEACHER + "\n[target]\nkind = 'spectrum'\n")),
                     "--quiet"]) == 2  # fmt: skip
    assert "target: only model kind 'rbm' takes a [target] section" in capsys.readouterr().err
    rbm_with_noise = SMALL.replace("batch_size = 8", "batch_size = 8\nnoise = 0.1")
    assert cli.main(["run", str(write(tmp_path, rbm_with_noise)), "--quiet"]) == 2
    assert "train.noise: unknown key" in capsys.readouterr().err


def test_workers_are_capped_at_the_cores_with_a_note(tmp_path, capsys, monkeypatch):
    from dysonlearn import backends

    monkeypatch.setattr(backends, "available_cores", lambda: 2)
    config = write(tmp_path, SMALL.replace("lr = [0.05, 0.1]", "lr = 0.1"))
    args = ["run", str(config), "-o", str(tmp_path / "out"), "--workers", "10000"]
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "--workers 10000 capped at 2, the cores available (--oversubscribe" in err
    assert cli.main([*args[:3], str(tmp_path / "o2"), "--workers", "64", "--oversubscribe",
                     "--quiet"]) == 0  # fmt: skip
    assert "capped" not in capsys.readouterr().err  # --oversubscribe: as asked (pool: 1 a block)


def test_overwrite_removes_the_old_figures_but_not_other_images(tmp_path):
    out = tmp_path / "out"
    scan = write(tmp_path, SMALL)
    single = write(tmp_path, SMALL.replace("lr = [0.05, 0.1]", "lr = 0.1"), "single.toml")
    assert cli.main(["run", str(scan), "-o", str(out), "--backend", "serial", "--quiet"]) == 0
    per_point = {p.name for p in out.glob("histograms_*.png")}
    assert per_point  # a scan draws a figure per point
    mine = out / "my_plot.png"
    import matplotlib.pyplot as plt

    plt.figure().savefig(mine)
    plt.close("all")
    assert cli.main(["run", str(single), "-o", str(out), "--backend", "serial", "--quiet",
                     "--overwrite"]) == 0  # fmt: skip
    assert not {p.name for p in out.glob("histograms_*.png")}  # the old scan's figures: gone
    assert (out / "histograms.png").exists() and mine.exists()


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    forever = SMALL.replace("steps = 200", "steps = 1000000000000000")
    out = tmp_path / "out"
    argv = ["run", str(write(tmp_path, forever)), "-o", str(out), "--dry-run"]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "2 point(s) x 6 replicas" in text and "nothing was written" in text
    # 6e15 replica-steps at a few us each (calibrated here): centuries, said in years.
    assert "years" in text.splitlines()[-1]
    assert not out.exists()


def test_a_dead_worker_is_one_line_without_the_hint_for_scripts(tmp_path, capsys, monkeypatch):
    from dysonlearn import scan
    from dysonlearn.backends import WorkerDied

    def dies(*args, **kwargs):
        error = WorkerDied("a worker process died (killed by SIGKILL)", ". If run_ensemble...")
        error.add_note("3 of 12 replicas are saved in out/results.h5")
        raise error

    monkeypatch.setattr(scan, "run_experiment", dies)
    assert cli.main(["run", str(write(tmp_path, SMALL)), "-o", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err == (
        "dysonlearn: error: a worker process died (killed by SIGKILL); 3 of 12 replicas are "
        "saved in out/results.h5; run the same command to resume\n"
    )


# --- outputs: figure format, pooling, the printed summary ------------------------------------


def test_run_prints_a_short_summary_not_the_markdown(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", str(write(tmp_path, SMALL)), "-o", str(out), "--backend",
                     "serial"]) == 0  # fmt: skip
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) <= 10
    assert printed[0].startswith("dysonlearn: 2 points, 12 replicas")
    assert f"files in {out}: summary.md, summary.json and" in printed[1]
    assert "prediction sqrt(2 pi) = 2.507" in printed[2]
    assert "| mode" not in "\n".join(printed) and "# dysonlearn summary" not in printed


def test_analyze_pool_last_override_format_dpi_and_quiet(tmp_path, capsys):
    out = tmp_path / "out"
    toml = SMALL + "\n[analysis]\npool_last = 2\n"
    assert cli.main(["run", str(write(tmp_path, toml)), "-o", str(out), "--backend", "serial",
                     "--quiet"]) == 0  # fmt: skip
    stored = json.loads((out / "summary.json").read_text())
    assert stored["pool_last"] == 2 and stored["points"][0]["steps"] == [150, 200]
    capsys.readouterr()
    # The experiment's pooling is kept in the store: analyze gives the same numbers.
    again = tmp_path / "again"
    assert cli.main(["analyze", str(out / "results.h5"), "-o", str(again), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    redone = json.loads((again / "summary.json").read_text())
    assert redone["points"] == stored["points"] and redone["scaling"] == stored["scaling"]
    # --pool-last overrides it and says so; figures as SVG at another resolution.
    one = tmp_path / "one"
    assert cli.main(["analyze", str(out / "results.h5"), "-o", str(one), "--pool-last", "1",
                     "--format", "svg", "--dpi", "72"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "--pool-last 1 overrides the experiment's pool_last = 2" in captured.err
    assert "figures (svg)" in captured.out
    assert json.loads((one / "summary.json").read_text())["points"][0]["steps"] == [200]
    assert any(one.glob("*.svg")) and not any(one.glob("*.png"))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--pool-last", "0"], "--pool-last: must be an integer >= 1"),
        (["--dpi", "5"], "--dpi: must be an integer from 20 to 1200"),
        (["--format", "gif"], "--format: invalid choice"),
    ],
)
def test_bad_output_options_exit_2(tmp_path, capsys, argv, expected):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["analyze", str(tmp_path / "r.h5"), *argv])
    assert exit_info.value.code == 2 and expected in capsys.readouterr().err


def test_pool_last_beyond_the_snapshots_exits_2(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", str(write(tmp_path, SMALL)), "-o", str(out), "--backend", "serial",
                     "--quiet"]) == 0  # fmt: skip
    assert cli.main(["analyze", str(out / "results.h5"), "--pool-last", "5"]) == 2
    assert capsys.readouterr().err.strip() == (
        "dysonlearn: error: pool_last: must be at most 4 (the snapshots each point records "
        "after step 0), got 5"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "analysis.pool_last: must be an integer >= 1, got 0"),
        ("5", "analysis.pool_last: must be at most 4"),
        ('"two"', "analysis.pool_last: must be an integer"),
    ],
)
def test_bad_pool_last_in_the_experiment_exits_2(tmp_path, capsys, value, expected):
    config = write(tmp_path, SMALL + f"\n[analysis]\npool_last = {value}\n")
    assert cli.main(["run", str(config), "-o", str(tmp_path / "o"), "--backend", "serial"]) == 2
    assert expected in capsys.readouterr().err


def test_a_misplaced_pool_last_names_its_section(tmp_path, capsys):
    config = write(tmp_path, SMALL.replace("snapshots = 4", "snapshots = 4\npool_last = 2"))
    assert cli.main(["run", str(config), "--backend", "serial"]) == 2
    assert "train.pool_last: belongs in [analysis], not in [train]" in capsys.readouterr().err


def test_a_store_without_analysis_settings_pools_one_snapshot(tmp_path):
    import h5py

    from dysonlearn import scan

    out = tmp_path / "out"
    toml = SMALL + "\n[analysis]\npool_last = 3\n"
    assert cli.main(["run", str(write(tmp_path, toml)), "-o", str(out), "--backend", "serial",
                     "--quiet"]) == 0  # fmt: skip
    with h5py.File(out / "results.h5", "a") as handle:  # as written before pool_last was kept
        del handle.attrs["analysis"]
    analysis = scan.analyze(out / "results.h5", tmp_path / "old", per_point=False)
    assert (analysis.pool_last, analysis.stored_pool_last) == (1, 1)
    assert analysis.summary["points"][0]["steps"] == [200]


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
def test_overwrite_removes_our_pdf_and_svg_figures_only(tmp_path, fmt):
    import matplotlib.pyplot as plt

    out = tmp_path / "out"
    scan_toml = write(tmp_path, SMALL)
    single = write(tmp_path, SMALL.replace("lr = [0.05, 0.1]", "lr = 0.1"), "single.toml")
    assert cli.main(["run", str(scan_toml), "-o", str(out), "--backend", "serial", "--quiet",
                     "--format", fmt]) == 0  # fmt: skip
    assert any(out.glob(f"histograms_*.{fmt}"))
    mine = out / f"my_plot.{fmt}"
    plt.figure().savefig(mine)  # matplotlib's own metadata: not drawn by dysonlearn
    plt.close("all")
    assert cli.main(["run", str(single), "-o", str(out), "--backend", "serial", "--quiet",
                     "--overwrite", "--format", fmt]) == 0  # fmt: skip
    assert not any(out.glob(f"histograms_*.{fmt}")) and (out / f"histograms.{fmt}").exists()
    assert mine.exists()


def test_analyze_of_a_reproduce_store_gives_the_reproduce_numbers(tmp_path, capsys):
    """The presets say [analysis] pool_last = 3: reproduce and analyze both pool 3 snapshots."""
    out = tmp_path / "repro"
    assert cli.main(["reproduce", "teacher-student", "--scale", "smoke", "-o", str(out),
                     "--backend", "serial"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "| slope of <S> against sqrt(alpha A^2 / B) |" in printed
    assert len(printed.splitlines()) < 15
    assert printed.startswith("Mode: snapshots\n")
    assert json.loads((out / "reproduce.json").read_text())["mode"] == "snapshots"
    compared = json.loads((out / "reproduce.json").read_text())["teacher_student"]
    assert compared["pool_last"] == 3
    again = tmp_path / "again"
    assert cli.main(["analyze", str(out / "teacher_student" / "results.h5"), "-o", str(again),
                     "--quiet"]) == 0  # fmt: skip
    summary = json.loads((again / "summary.json").read_text())
    assert summary["pool_last"] == 3
    for key in ("spacing_slope", "width_slope", "spacing_vs_width"):
        assert summary["scaling"][key] == compared[key]
    written = json.loads((out / "teacher_student" / "summary.json").read_text())
    assert written["points"] == summary["points"]
