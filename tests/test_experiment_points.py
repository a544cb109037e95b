"""[[points]] tables: scans that are not a product of lists, one table per point."""

import pytest

import dysonlearn as dl

BASE = {
    "model": {"kind": "teacher_student", "teacher": [2.0, 2.0]},
    "train": {"steps": 1000, "snapshots": [800, 1000], "noise": 0.1},
    "ensemble": {"replicas": 10, "seed": 1},
}


def experiment(points, **train):
    return dl.load_experiment({**BASE, "train": {**BASE["train"], **train}, "points": points})


def problems(points, **train) -> str:
    with pytest.raises(dl.ConfigError) as error:
        experiment(points, **train)
    return str(error.value)


def test_each_table_is_a_point_over_the_shared_train_values():
    found = experiment([{"lr": 0.1, "batch_size": 16}, {"lr": 0.2, "batch_size": 16},
                        {"lr": 0.1, "batch_size": 4, "steps": 2000,
                         "snapshots": [1000, 2000]}])  # fmt: skip
    assert [(c.lr, c.batch_size, c.steps, c.snapshots) for c in found.points] == [
        (0.1, 16, 1000, (800, 1000)), (0.2, 16, 1000, (800, 1000)),
        (0.1, 4, 2000, (1000, 2000))]  # fmt: skip
    assert all(c.noise == 0.1 for c in found.points)
    # The scanned keys are those the tables give, with their values ascending; steps and
    # snapshots are not labels.
    assert found.scan == {"lr": [0.1, 0.2], "batch_size": [4, 16]}
    assert found.point_params()[2] == {"lr": 0.1, "batch_size": 4}


@pytest.mark.parametrize(
    ("points", "train", "expected"),
    [
        ([{"lr": 0.1}], {"lr": [0.1, 0.2]},
         "train.lr: a scan list cannot be combined with [[points]] tables"),
        ([{"lr": 0.1}, {"lrr": 0.2}], {}, "points[2].lrr: unknown key (did you mean 'lr'?)"),
        ([{"lr": 0.1}, {"mu": 3.0}], {}, "points[2].mu: unknown key for model kind"),
        ([{"lr": [0.1, 0.2]}], {}, "points[1].lr: must be a single value"),
        ([{"lr": 0.1}, {"lr": -1.0}], {}, "points[2].lr: must be a finite number > 0, got -1.0"),
        ([{"lr": 0.1}, {"lr": 0.1, "steps": 2000}], {},
         "points[2]: the same lr as points[1]; each point must differ in lr, batch_size or "
         "noise"),
        ([], {}, "points: must hold at least one [[points]] table"),
        (3, {}, "points: must be an array of tables, one [[points]] table per point, got 3"),
    ],
)
def test_bad_tables_are_named_by_their_number(points, train, expected):
    assert expected in problems(points, **train)


def test_the_command_line_reads_points_from_toml(tmp_path, capsys):
    from dysonlearn import cli

    text = """
[model]
kind = "dyson"
kappa = [2.0, 2.0]
[train]
steps = 50
snapshots = 1
[ensemble]
replicas = 4
seed = 2
[[points]]
lr = 0.1
batch_size = 16
[[points]]
lr = 0.05
batch_size = 8
"""
    path = tmp_path / "points.toml"
    path.write_text(text)
    assert cli.main(["run", str(path), "--dry-run", "-o", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "lr=0.1, batch_size=16: 4 replicas x 50 steps" in out
    assert "lr=0.05, batch_size=8: 4 replicas x 50 steps" in out
