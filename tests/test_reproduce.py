"""The article's presets: embedded TOML files that `reproduce` runs and `config show` prints.

The reference below is the code that built the presets before they became TOML files (kept
here verbatim, so that the files are checked against what `reproduce` ran before the move).
"""

import pytest

import dysonlearn as dl
from dysonlearn import reproduce
from dysonlearn.config import RBMConfig, TeacherStudentConfig
from dysonlearn.experiment import Experiment, embedded_experiment_path, load_experiment
from dysonlearn.scan import point_specs

# -- the builders of reproduce.py before the presets became TOML files -----------------------
RBM_LRS = (0.01, 0.02, 0.04, 0.06, 0.08, 0.1)
RBM_BATCHES = (4, 8, 16, 32, 64)
TS_LRS = (0.1, 0.2, 0.3, 0.4, 0.5)
TS_BATCHES = (4, 8, 16, 32, 64)
TS_NOISES = (0.05, 0.075, 0.1)
SEED = 20250115

_SCALES = {
    # name: (rbm replicas, rbm steps(lr) or None for 600 / lr, ts replicas, ts steps)
    "smoke": (24, lambda lr: 1000, 200, 1000),
    "small": (1000, lambda lr: round(600 / lr), 3000, 5000),
    "paper": (7500, lambda lr: 100_000, 3000, 5000),
}


def _late_snapshots(steps: int) -> tuple[int, ...]:
    """Five snapshots in the last 40 per cent of training (plus step 0)."""
    return tuple(round(steps * f) for f in (0.6, 0.7, 0.8, 0.9, 1.0))


def rbm_experiment(scale: str) -> Experiment:
    replicas, steps_for, _, _ = _SCALES[scale]
    settings = [(lr, 16) for lr in RBM_LRS] + [(0.1, b) for b in RBM_BATCHES if b != 16]
    points = []
    for lr, batch in settings:
        steps = steps_for(lr)
        points.append(RBMConfig(lr=lr, batch_size=batch, steps=steps,
                                snapshots=_late_snapshots(steps)))  # fmt: skip
    scan = {"lr": list(RBM_LRS), "batch_size": list(RBM_BATCHES)}
    return Experiment(tuple(points), scan, replicas, SEED, "SFC64", {"reproduce": "rbm"})


def teacher_student_experiment(scale: str) -> Experiment:
    _, _, replicas, steps = _SCALES[scale]
    settings = [(lr, 16, 0.1) for lr in TS_LRS]
    settings += [(0.1, b, 0.1) for b in TS_BATCHES if b != 16]
    settings += [(0.1, 16, a) for a in TS_NOISES if a != 0.1]
    points = tuple(
        TeacherStudentConfig(
            teacher=(2.0, 2.0),
            noise=a,
            lr=lr,
            batch_size=b,
            steps=steps,
            snapshots=_late_snapshots(steps),
        )
        for lr, b, a in settings
    )
    scan = {"lr": list(TS_LRS), "batch_size": list(TS_BATCHES), "noise": list(TS_NOISES)}
    return Experiment(points, scan, replicas, SEED, "SFC64", {"reproduce": "teacher_student"})


REFERENCE = {"rbm": rbm_experiment, "teacher_student": teacher_student_experiment}
# ---------------------------------------------------------------------------------------------

CASES = [(name, scale) for name in REFERENCE for scale in ("smoke", "small", "paper")]


def _manifest(experiment: Experiment) -> list[dict]:
    """What a store records of each point (and a resume must match), plus its scan values."""
    return [{**spec.run_record(), "params": dict(spec.params)}
            for spec in point_specs(experiment, experiment.seed)]  # fmt: skip


@pytest.mark.parametrize(("name", "scale"), CASES)
def test_the_embedded_presets_are_the_experiments_reproduce_ran_before(name, scale):
    expected = REFERENCE[name](scale)
    [(found_name, found)] = reproduce.article_experiments(name, scale)
    assert found_name == name
    assert found.points == expected.points
    assert found.scan == expected.scan
    assert (found.replicas, found.seed, found.bit_generator) == (
        expected.replicas, expected.seed, expected.bit_generator)  # fmt: skip
    assert _manifest(found) == _manifest(expected)


@pytest.mark.parametrize(("name", "scale"), CASES)
def test_reproduce_runs_exactly_the_file_config_show_prints(name, scale):
    [(_, experiment)] = reproduce.article_experiments(name, scale)
    from_file = load_experiment(embedded_experiment_path(f"{name}-{scale}"))
    assert _manifest(from_file) == _manifest(experiment)


def test_all_is_both_experiments_and_the_dashed_name_is_an_alias():
    names = [name for name, _ in reproduce.article_experiments("all", "smoke")]
    assert names == ["rbm", "teacher_student"]
    [(name, _)] = reproduce.article_experiments("teacher-student", "smoke")
    assert name == "teacher_student"


@pytest.mark.parametrize(("which", "scale", "field"), [("rbms", "small", "which"),
                                                       ("rbm", "huge", "scale")])  # fmt: skip
def test_unknown_experiment_or_scale_names_the_choices(which, scale, field):
    with pytest.raises(dl.ConfigError, match=f"{field}: must be one of"):
        reproduce.article_experiments(which, scale)
