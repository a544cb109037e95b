"""Every bad input refused up front (issue 10, section 5): a catalogue.

Each bad input must raise :class:`dl.ConfigError` naming the field, one line per problem,
before any work; through ``dysonlearn run`` it must exit 2 with lines "dysonlearn: error: ...",
no traceback and no output directory. Nothing here trains: bad inputs fail in validation,
and the valid controls are only validated.

Memory rules compare estimates with the memory available; it is pinned to 16 GB here so that
the catalogue does not depend on the machine it runs on.
"""

import json
import re

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import cli, config, validation
from dysonlearn.experiment import load_experiment, parse_experiment
from dysonlearn.targets import Target, free_scalar, from_kernel, from_spectrum

AVAILABLE = 16 * 10**9


@pytest.fixture(autouse=True)
def sixteen_gigabytes(monkeypatch):
    monkeypatch.setattr(validation, "available_memory", lambda: AVAILABLE)


RBM, TS, DY = dl.RBMConfig, dl.TeacherStudentConfig, dl.DysonConfig


def _default_experiment():
    return parse_experiment({"train": {"steps": 100}})


# --- the Python API -------------------------------------------------------------------------

# (id, a call that must be refused, the field its one message starts with).
API_CASES = [
    # targets.free_scalar
    ("free_scalar-n-str", lambda: free_scalar(n="10"), "target.n"),
    ("free_scalar-n-1", lambda: free_scalar(n=1), "target.n"),
    ("free_scalar-n-float", lambda: free_scalar(n=2.5), "target.n"),
    ("free_scalar-n-1e6-memory", lambda: free_scalar(10**6), "target.n"),
    ("free_scalar-m-bool", lambda: free_scalar(m=True), "target.m"),
    ("free_scalar-m-inf", lambda: free_scalar(m=float("inf")), "target.m"),
    ("free_scalar-m-square-overflows", lambda: free_scalar(m=1e200), "target.m"),
    # targets.from_spectrum
    ("spectrum-string", lambda: from_spectrum("abc"), "target.values"),
    ("spectrum-mixed", lambda: from_spectrum([1, "a"]), "target.values"),
    ("spectrum-numeric-strings", lambda: from_spectrum(["1", "2"]), "target.values"),
    ("spectrum-nested-ragged", lambda: from_spectrum([[1, 2], [3]]), "target.values"),
    ("spectrum-nested", lambda: from_spectrum([[1.0, 2.0]]), "target.values"),
    ("spectrum-bools", lambda: from_spectrum([True, 2.0]), "target.values"),
    ("spectrum-empty", lambda: from_spectrum([]), "target.values"),
    ("spectrum-nan", lambda: from_spectrum([1.0, float("nan")]), "target.values"),
    ("spectrum-none", lambda: from_spectrum(None), "target.values"),
    ("spectrum-string-array", lambda: from_spectrum(np.array(["1", "2"])), "target.values"),
    ("spectrum-huge-int", lambda: from_spectrum([1.0, 10**400]), "target.values"),
    ("spectrum-1e6-memory", lambda: from_spectrum(np.ones(10**6)), "target.values"),
    # targets.from_kernel
    ("kernel-ragged", lambda: from_kernel([[1.0, 0.0], [0.0]]), "target.matrix"),
    ("kernel-strings", lambda: from_kernel([["1", "0"], ["0", "1"]]), "target.matrix"),
    ("kernel-string", lambda: from_kernel("abc"), "target.matrix"),
    ("kernel-inf", lambda: from_kernel([[1.0, np.inf], [np.inf, 1.0]]), "target.matrix"),
    ("kernel-empty", lambda: from_kernel(np.zeros((0, 0))), "target.matrix"),
    ("kernel-not-square", lambda: from_kernel(np.ones((2, 3))), "target.matrix"),
    ("target-dict-not-a-dict", lambda: Target.from_dict([1, 2]), "target"),
    (
        "target-dict-unknown-key",
        lambda: Target.from_dict({"kind": "free_scalar", "q": 2}),
        "target.q",
    ),
    ("target-dict-no-values", lambda: Target.from_dict({"kind": "spectrum"}), "target.values"),
    # RBMConfig
    ("rbm-lr-string", lambda: RBM(lr="0.1"), "lr"),
    ("rbm-lr-bool", lambda: RBM(lr=True), "lr"),
    ("rbm-lr-1e308", lambda: RBM(lr=1e308), "lr"),
    ("rbm-steps-float", lambda: RBM(steps=1.5), "steps"),
    ("rbm-steps-bool", lambda: RBM(steps=True), "steps"),
    ("rbm-steps-beyond-int64", lambda: RBM(steps=2**70), "steps"),
    ("rbm-steps-above-2**62", lambda: RBM(steps=2**62 + 1), "steps"),
    ("rbm-k-2**31", lambda: RBM(k=2**31), "k"),
    ("rbm-k-2**40", lambda: RBM(k=2**40), "k"),
    ("rbm-batch-2**40", lambda: RBM(batch_size=2**40), "batch_size"),
    ("rbm-batch-3e9", lambda: RBM(batch_size=3 * 10**9), "batch_size"),
    ("rbm-batch-1e8-memory", lambda: RBM(batch_size=10**8), "batch_size"),
    ("rbm-n-visible-1e5", lambda: RBM(n_visible=10**5), "n_visible"),
    ("rbm-n-visible-1", lambda: RBM(n_visible=1), "n_visible"),
    ("rbm-n-visible-string", lambda: RBM(n_visible="10"), "n_visible"),
    ("rbm-n-hidden-1e9", lambda: RBM(n_hidden=10**9), "n_hidden"),
    ("rbm-mu-square-overflows", lambda: RBM(mu=1e200), "mu"),
    ("rbm-snapshots-dict", lambda: RBM(snapshots={1: 2}), "snapshots"),
    ("rbm-snapshots-string", lambda: RBM(snapshots="abc", steps=10), "snapshots"),
    ("rbm-snapshots-1e9", lambda: RBM(steps=10**9, snapshots=10**9), "snapshots"),
    (
        "rbm-target-above-mu2",
        lambda: RBM(n_visible=2, target=from_spectrum([1.0, 12.0])),
        "target",
    ),
    ("rbm-target-at-mu2", lambda: RBM(n_visible=2, target=from_spectrum([1.0, 9.0])), "target"),
    ("rbm-target-array", lambda: RBM(target=np.eye(10)), "target"),
    ("rbm-init-array", lambda: RBM(init=np.array(["normal", "normal"])), "init"),
    ("rbm-from-dict-list", lambda: RBM.from_dict([1]), "config"),
    (
        "rbm-from-dict-target",
        lambda: RBM.from_dict({"target": {"kind": "spectrum", "values": "x"}}),
        "target.values",
    ),
    # TeacherStudentConfig
    ("ts-teacher-string", lambda: TS(teacher="abc"), "teacher"),
    ("ts-teacher-ragged", lambda: TS(teacher=[[1, 2], [3]]), "teacher"),
    ("ts-teacher-bools", lambda: TS(teacher=[True, False]), "teacher"),
    ("ts-teacher-strings", lambda: TS(teacher=["1", "2"]), "teacher"),
    ("ts-teacher-matrix-strings", lambda: TS(teacher=[["1", "0"], ["0", "1"]]), "teacher"),
    (
        "ts-teacher-50000-memory",
        lambda: TS(teacher=np.ones(50_000), sampler="explicit"),
        "teacher",
    ),
    ("ts-lr-2", lambda: TS(lr=2.0), "lr"),
    ("ts-lr-2.5-reference", lambda: TS(lr=2.5, protocol="reference"), "lr"),
    ("ts-lr-1e308", lambda: TS(lr=1e308), "lr"),
    ("ts-noise-square-overflows", lambda: TS(noise=1e200), "noise"),
    ("ts-dataset-1e11", lambda: TS(protocol="reference", dataset_size=10**11), "dataset_size"),
    ("ts-dataset-float", lambda: TS(protocol="reference", dataset_size=1e11), "dataset_size"),
    ("ts-batch-3e9", lambda: TS(batch_size=3 * 10**9), "batch_size"),
    ("ts-shuffle-int", lambda: TS(shuffle=1), "shuffle"),
    # DysonConfig
    ("dyson-kappa-ragged", lambda: DY(kappa=[[1], [2, 3]]), "kappa"),
    ("dyson-kappa-string", lambda: DY(kappa="ab"), "kappa"),
    ("dyson-linear-lr-2", lambda: DY(lr=2.0), "lr"),
    ("dyson-rbm-lr-curvature", lambda: DY(kappa=[1.0, 2.0], drift="rbm", mu=3.0, lr=0.5), "lr"),
    ("dyson-init-levels-mixed", lambda: DY(init_levels=[1, "a"]), "init_levels"),
    ("dyson-mu-square-overflows", lambda: DY(drift="rbm", mu=1e200), "mu"),
    ("dyson-noise-inf", lambda: DY(noise=float("inf")), "noise"),
    ("dyson-batch-2**40", lambda: DY(batch_size=2**40), "batch_size"),
    ("dyson-kappa-50000-memory", lambda: DY(kappa=np.linspace(1.0, 2.0, 50_000)), "kappa"),
    # parse_experiment and Experiment
    ("experiment-not-a-dict", lambda: parse_experiment([1]), "config"),
    ("scan-duplicate-lr", lambda: parse_experiment({"train": {"lr": [0.05, 0.05]}}), "train.lr"),
    (
        "scan-duplicate-lr-spelt-twice",
        lambda: parse_experiment({"train": {"lr": [0.05, 5e-2]}}),
        "train.lr",
    ),
    (
        "scan-duplicate-batch",
        lambda: parse_experiment({"train": {"batch_size": [8, 8]}}),
        "train.batch_size",
    ),
    (
        "scan-duplicate-noise",
        lambda: parse_experiment(
            {"model": {"kind": "teacher_student"}, "train": {"noise": [0.1, 0.1]}}
        ),
        "train.noise",
    ),
    ("scan-of-lists", lambda: parse_experiment({"train": {"lr": [[0.1], [0.2]]}}), "train.lr"),
    (
        "scan-with-a-bad-point",
        lambda: parse_experiment(
            {"model": {"kind": "teacher_student"}, "train": {"lr": [0.1, 2.0]}}
        ),
        "train.lr",
    ),
    (
        "noise-under-model",
        lambda: parse_experiment({"model": {"kind": "teacher_student", "noise": 0.1}}),
        "model.noise",
    ),
    ("lr-under-model", lambda: parse_experiment({"model": {"lr": 0.1}}), "model.lr"),
    (
        "replicas-under-train",
        lambda: parse_experiment({"train": {"replicas": 10}}),
        "train.replicas",
    ),
    (
        "n-visible-under-train",
        lambda: parse_experiment({"train": {"n_visible": 10}}),
        "train.n_visible",
    ),
    ("lr-at-top-level", lambda: parse_experiment({"lr": 0.1}), "lr"),
    (
        "teacher-for-an-rbm",
        lambda: parse_experiment({"model": {"teacher": [1.0, 2.0]}}),
        "model.teacher",
    ),
    (
        "target-unknown-key",
        lambda: parse_experiment({"target": {"kind": "free_scalar", "n": 10, "q": 1}}),
        "target.q",
    ),
    (
        "target-key-of-another-kind",
        lambda: parse_experiment({"target": {"kind": "free_scalar", "values": [1.0]}}),
        "target.values",
    ),
    (
        "target-above-mu2-in-a-scan",
        lambda: parse_experiment(
            {
                "model": {"n_visible": 2},
                "target": {"kind": "spectrum", "values": [1.0, 12.0]},
                "train": {"lr": [0.1, 0.2]},
            }
        ),
        "target",
    ),
    (
        "target-size-mismatch",
        lambda: parse_experiment(
            {"model": {"n_visible": 8}, "target": {"kind": "free_scalar", "n": 10}}
        ),
        "target",
    ),
    (
        "replicas-1e12",
        lambda: parse_experiment({"ensemble": {"replicas": 10**12}}),
        "ensemble.replicas",
    ),
    (
        "replicas-times-steps-overflow",
        lambda: parse_experiment(
            {"train": {"steps": 4, "snapshots": 1}, "ensemble": {"replicas": 2**62}}
        ),
        "ensemble.replicas",
    ),
    (
        "override-replicas-1e12",
        lambda: _default_experiment().with_overrides(replicas=10**12),
        "replicas",
    ),
    ("override-seed-negative", lambda: _default_experiment().with_overrides(seed=-1), "seed"),
    ("check-replicas-1e12", lambda: _raise(config.check_replicas(RBM(), 10**12)), "replicas"),
]


def _raise(messages):
    if messages:
        raise dl.ConfigError(messages)


@pytest.mark.parametrize(("build", "field"), [pytest.param(b, f, id=i) for i, b, f in API_CASES])
def test_python_api_refuses_with_one_line_naming_the_field(build, field):
    with pytest.raises(dl.ConfigError) as err:
        build()
    problems = err.value.problems
    assert isinstance(err.value, ValueError)
    assert len(problems) == 1, problems
    assert re.match(rf"{re.escape(field)}: ", problems[0]), problems[0]
    assert "\n" not in problems[0] and len(problems[0]) < 400
    assert "target.target" not in problems[0]


def test_the_catalogue_is_large_and_distinct():
    for cases in (API_CASES, TOML_CASES):
        ids = [case[0] for case in cases]
        assert len(ids) == len(set(ids))
    assert len(API_CASES) + len(TOML_CASES) >= 100


# --- what the messages say ------------------------------------------------------------------


def message_of(build) -> str:
    with pytest.raises(dl.ConfigError) as err:
        build()
    return str(err.value)


def test_messages_state_the_rule():
    assert "must be below 2 (the drift W <- W + lr (W_T - W) contracts only for lr < 2" in (
        message_of(lambda: TS(lr=2.0))
    )
    assert "contracts only for lr < 2" in message_of(lambda: DY(lr=2.5))
    # c = 2 x* / kappa^2 = 16 for kappa = 1, mu = 3: lr must be below 2 / 16.
    text = message_of(lambda: DY(kappa=[1.0, 2.0], drift="rbm", mu=3.0, lr=0.5))
    assert "must be below 0.125" in text and "max c_i = 16" in text
    text = message_of(lambda: RBM(n_visible=2, target=from_spectrum([1.0, 12.0])))
    assert "must be below mu^2 = 9" in text and "the largest is 12" in text and "kernel" in text
    assert "scan values must be distinct, got [0.05, 0.05]" in message_of(
        lambda: parse_experiment({"train": {"lr": [0.05, 5e-2]}})
    )
    assert "belongs in [train], not in [model]" in message_of(
        lambda: parse_experiment({"model": {"kind": "teacher_student", "noise": 0.1}})
    )
    assert "belongs in [ensemble]" in message_of(
        lambda: parse_experiment({"train": {"replicas": 10}})
    )
    text = message_of(lambda: RBM(k=2**31))
    assert "at most 2**30" in text and "C int" in text


def test_memory_messages_give_the_estimate_and_the_memory_available():
    text = message_of(lambda: RBM(batch_size=10**8))
    # chains and a batch's draws: 8 x 1e8 x (3 x 10 + 10) bytes = 32 GB.
    assert text.startswith("batch_size: one replica needs 32 GB (32 GB of it for its chains")
    assert "more than the 16 GB of memory available, got 100000000" in text
    text = message_of(lambda: parse_experiment({"ensemble": {"replicas": 10**12}}))
    assert "results of 1000000000000 replicas needs 496 TB" in text and "16 GB" in text
    assert "24 TB" in message_of(lambda: free_scalar(10**6))


def test_long_values_are_shown_on_one_short_line():
    text = message_of(lambda: from_spectrum(["x"] * 100_000))
    assert "\n" not in text and len(text) < 300 and "(100000 values)" in text


# --- valid edge cases are still accepted ----------------------------------------------------


def test_valid_edge_cases_are_accepted():
    assert TS(lr=1.99).lr == 1.99
    assert TS(lr=1.99, protocol="reference").lr == 1.99
    assert DY(lr=1.99).lr == 1.99
    DY(kappa=[1.0, 2.0], drift="rbm", mu=3.0, lr=0.124)  # just below 2 / c = 0.125
    RBM(n_visible=2, target=from_spectrum([1.0, 8.999]))
    RBM(steps=10**15)  # long but representable: how long it takes is --dry-run's business
    RBM(steps=2**62, snapshots=1)
    from_spectrum(np.array([1, 2, 3], dtype=np.int32))
    from_kernel([np.array([2.0, 0.0]), np.array([0.0, 2.0])])
    TS(teacher=np.array([[2.0, 0.5], [0.5, 1.0]]))
    parse_experiment({"train": {"lr": [0.05, 0.1], "batch_size": [8, 16]}})


def test_numpy_scalars_are_normalised_to_python_numbers():
    configs = [
        RBM(batch_size=np.int64(8), lr=np.float32(0.1), k=np.int32(3), n_visible=np.int16(10),
            mu=np.float64(3.0), snapshots=np.array([5, 10]), steps=np.uint32(10)),
        TS(teacher=np.array([2.0, 1.0]), noise=np.float64(0.1), lr=np.float32(0.5),
           batch_size=np.int64(8), dataset_shared=np.bool_(False), protocol=np.str_("reference"),
           dataset_size=np.int64(64)),
        DY(kappa=np.array([4.0, 8.0]), drift="rbm", mu=np.float32(3.0), noise=np.float32(0.1),
           init_levels=np.array([1.0, 2.0]), batch_size=np.int8(4)),
    ]  # fmt: skip
    for cfg in configs:
        for name, value in cfg.to_dict().items():
            if name != "target":
                assert not isinstance(value, np.generic | np.ndarray), (name, type(value))
        json.dumps(cfg.to_dict())
        assert type(cfg).from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    rbm, ts, dyson = configs
    assert (
        type(rbm.batch_size) is int and type(rbm.lr) is float and rbm.lr == float(np.float32(0.1))
    )
    assert ts.teacher == (2.0, 1.0) and ts.dataset_shared is False and type(ts.protocol) is str
    assert dyson.kappa == (4.0, 8.0) and type(dyson.batch_size) is int


def test_the_toml_bases_are_valid(tmp_path):
    for kind in ("rbm", "teacher_student", "dyson"):
        path = tmp_path / f"{kind}.toml"
        path.write_text(doc(kind), encoding="utf-8")
        assert load_experiment(path).points[0].kind == kind


# --- the memory helpers ---------------------------------------------------------------------


def test_format_bytes():
    assert validation.format_bytes(512) == "512 B"
    assert validation.format_bytes(6.4e9) == "6.4 GB"
    assert validation.format_bytes(23.4e9) == "23.4 GB"
    assert validation.format_bytes(999_999) == "1 MB"
    assert validation.format_bytes(2.4e13) == "24 TB"


def test_available_memory_is_read_from_the_system(monkeypatch):
    monkeypatch.undo()
    available = validation.available_memory()
    assert available is None or (isinstance(available, int) and available > 0)
    assert validation.memory_problem(1e3, "x") is None  # small needs never ask the system
    assert validation.memory_problem(2e9, "one replica", available=10**9) == (
        "one replica needs 2 GB, more than the 1 GB of memory available"
    )


def test_per_replica_sizes():
    cfg = TS(protocol="reference", batch_size=4, dataset_size=40, dataset_shared=False)
    n, m = 2, 3
    assert cfg.state_bytes_per_replica == 16 * n * n + 4 * 40 + 8 * 40 * (n + m)
    assert cfg.result_bytes_per_replica == 8 * 6 * n + 16
    assert cfg.replace(dataset_shared=True).shared_bytes > cfg.shared_bytes
    assert DY().state_bytes_per_replica == 16
    assert config.check_replicas(RBM(), 1000) == []
    assert "replicas x steps" in str(config.check_replicas(RBM(steps=2**62), 2)[0])


# --- the command line -----------------------------------------------------------------------

BASES = {
    "rbm": {"model": {"kind": '"rbm"', "n_visible": "4", "n_hidden": "4"}, "train": {}},
    "teacher_student": {
        "model": {"kind": '"teacher_student"', "teacher": "[2.0, 2.0]"},
        "train": {"noise": "0.1"},
    },
    "dyson": {"model": {"kind": '"dyson"', "kappa": "[2.0, 2.0]"}, "train": {"noise": "0.1"}},
}
TRAIN = {"lr": "0.1", "batch_size": "8", "steps": "100", "snapshots": "2"}
ENSEMBLE = {"replicas": "4", "seed": "1"}


def doc(kind="rbm", model=(), target=None, train=(), ensemble=(), top="") -> str:
    """A small experiment of ``kind`` as TOML, with keys changed (value None: removed)."""
    sections = {
        "model": {**BASES[kind]["model"], **dict(model)},
        "target": dict(target) if target is not None else None,
        "train": {**TRAIN, **BASES[kind]["train"], **dict(train)},
        "ensemble": {**ENSEMBLE, **dict(ensemble)},
    }
    lines = [top] if top else []
    for name, keys in sections.items():
        if keys is None:
            continue
        lines.append(f"[{name}]")
        lines += [f"{key} = {value}" for key, value in keys.items() if value is not None]
    return "\n".join(lines) + "\n"


SPECTRUM = {"kind": '"spectrum"', "values": "[1.0, 2.0, 3.0, 4.0]"}

# (id, file contents, lines expected on stderr, field the first line starts with).
TOML_CASES = [
    ("latin-1", ("# café\n" + doc()).encode("latin-1"), 1, "config"),
    ("binary", bytes(range(256)) * 4, 1, "config"),
    ("utf-16", doc().encode("utf-16"), 1, "config"),
    ("not-toml", b"[model\nkind = rbm", 1, "config"),
    ("spectrum-values-string", doc(target={**SPECTRUM, "values": '"abc"'}), 1, "target.values"),
    (
        "spectrum-values-mixed",
        doc(target={**SPECTRUM, "values": '[1, "a", 3, 4]'}),
        1,
        "target.values",
    ),
    (
        "spectrum-values-nested",
        doc(target={**SPECTRUM, "values": "[[1, 2], [3]]"}),
        1,
        "target.values",
    ),
    (
        "kernel-matrix-ragged",
        doc(target={"kind": '"kernel"', "matrix": "[[1.0, 0.0], [0.0]]"}),
        1,
        "target.matrix",
    ),
    ("teacher-string", doc("teacher_student", model={"teacher": '"abc"'}), 1, "model.teacher"),
    (
        "teacher-ragged",
        doc("teacher_student", model={"teacher": "[[1, 2], [3]]"}),
        1,
        "model.teacher",
    ),
    ("kappa-ragged", doc("dyson", model={"kappa": "[[1], [2, 3]]"}), 1, "model.kappa"),
    ("lr-string", doc(train={"lr": '"0.1"'}), 1, "train.lr"),
    ("lr-bool", doc(train={"lr": "true"}), 1, "train.lr"),
    ("batch-bool", doc(train={"batch_size": "true"}), 1, "train.batch_size"),
    ("steps-float", doc(train={"steps": "1.5"}), 1, "train.steps"),
    ("steps-1e15-float", doc(train={"steps": "1e15"}), 1, "train.steps"),
    ("steps-int64-max", doc(train={"steps": "9223372036854775807"}), 1, "train.steps"),
    ("snapshots-string", doc(train={"snapshots": '"abc"'}), 1, "train.snapshots"),
    ("k-2**31", doc(model={"k": "2147483648"}), 1, "model.k"),
    ("scan-duplicate-lr", doc(train={"lr": "[0.05, 0.05]"}), 1, "train.lr"),
    ("scan-duplicate-lr-spelt-twice", doc(train={"lr": "[0.05, 5e-2]"}), 1, "train.lr"),
    ("scan-duplicate-batch", doc(train={"batch_size": "[8, 8]"}), 1, "train.batch_size"),
    (
        "scan-duplicate-noise",
        doc("teacher_student", train={"noise": "[0.1, 0.1]"}),
        1,
        "train.noise",
    ),
    ("scan-empty", doc(train={"lr": "[]"}), 1, "train.lr"),
    ("scan-mixed", doc(train={"lr": '[0.1, "a"]'}), 1, "train.lr"),
    (
        "target-above-mu2-in-a-scan",
        doc(
            target={**SPECTRUM, "values": "[1.0, 2.0, 3.0, 12.0]"},
            train={"lr": "[0.1, 0.2]", "batch_size": "[8, 16]"},
        ),
        1,
        "target",
    ),
    ("replicas-1e12", doc(ensemble={"replicas": "1000000000000"}), 1, "ensemble.replicas"),
    ("replicas-float", doc(ensemble={"replicas": "1e12"}), 1, "ensemble.replicas"),
    (
        "batch-1e8",
        doc(model={"n_visible": "10", "n_hidden": "10"}, train={"batch_size": "100000000"}),
        1,
        "train.batch_size",
    ),
    ("batch-3e9", doc(train={"batch_size": "3000000000"}), 1, "train.batch_size"),
    ("n-visible-1e5", doc(model={"n_visible": "100000"}), 1, "model.n_visible"),
    (
        "n-visible-and-target-1e5",
        doc(model={"n_visible": "100000"}, target={"kind": '"free_scalar"', "n": "100000"}),
        2,
        "target.n",
    ),
    (
        "snapshots-1e7",
        doc(train={"steps": "10000000", "snapshots": "10000000"}, ensemble={"replicas": "1000"}),
        1,
        "ensemble.replicas",
    ),
    (
        "dataset-1e11",
        doc("teacher_student", model={"protocol": '"reference"', "dataset_size": "100000000000"}),
        1,
        "model.dataset_size",
    ),
    ("rbm-lr-1e308", doc(train={"lr": "1e308"}), 1, "train.lr"),
    ("ts-lr-2", doc("teacher_student", train={"lr": "2.0"}), 1, "train.lr"),
    (
        "ts-lr-2.5-reference",
        doc("teacher_student", model={"protocol": '"reference"'}, train={"lr": "2.5"}),
        1,
        "train.lr",
    ),
    ("dyson-linear-lr-2", doc("dyson", train={"lr": "2"}), 1, "train.lr"),
    (
        "dyson-rbm-lr-curvature",
        doc(
            "dyson",
            model={"kappa": "[1.0, 2.0]", "drift": '"rbm"', "mu": "3.0"},
            train={"lr": "0.5"},
        ),
        1,
        "train.lr",
    ),
    (
        "noise-under-model",
        doc("teacher_student", model={"noise": "0.1"}, train={"noise": None}),
        1,
        "model.noise",
    ),
    ("lr-under-model", doc(model={"lr": "0.1"}, train={"lr": None}), 1, "model.lr"),
    (
        "replicas-under-train",
        doc(train={"replicas": "4"}, ensemble={"replicas": None}),
        1,
        "train.replicas",
    ),
    (
        "n-visible-under-train",
        doc(model={"n_visible": None}, train={"n_visible": "4"}),
        1,
        "train.n_visible",
    ),
    ("lr-at-top-level", doc(top="lr = 0.1", train={"lr": None}), 1, "lr"),
    (
        "target-unknown-key",
        doc(target={"kind": '"free_scalar"', "n": "4", "q": "1"}),
        1,
        "target.q",
    ),
    ("target-for-a-teacher-student", doc("teacher_student", target=SPECTRUM), 1, "target"),
    ("seed-negative", doc(ensemble={"seed": "-1"}), 1, "ensemble.seed"),
    ("model-not-a-table", "model = 3\n[train]\nlr = 0.1\n", 1, "model"),
    ("misspelt-section", doc().replace("[ensemble]", "[ensembel]"), 1, "ensembel"),
    ("two-problems", doc(train={"lr": "-1", "steps": "0"}), 2, "train.lr"),
]


@pytest.fixture
def no_training(monkeypatch):
    """A bad input that got past validation fails at once instead of training."""
    from dysonlearn import ensemble

    def refuse(*args, **kwargs):
        raise AssertionError("training started: validation let a bad input through")

    if hasattr(ensemble, "train_block"):
        monkeypatch.setattr(ensemble, "train_block", refuse)


@pytest.mark.parametrize(
    ("content", "lines", "field"), [pytest.param(c, n, f, id=i) for i, c, n, f in TOML_CASES]
)
def test_command_line_refuses_with_exit_2_and_writes_nothing(
    tmp_path, capsys, no_training, content, lines, field
):
    path = tmp_path / "bad.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    outdir = tmp_path / "out"
    code = cli.main(["run", str(path), "-o", str(outdir), "--backend", "serial", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    got = err.splitlines()
    assert len(got) == lines, err
    assert all(line.startswith("dysonlearn: error: ") for line in got), err
    assert got[0].startswith(f"dysonlearn: error: {field}: "), err
    assert "target.target" not in err
    assert not outdir.exists()


def test_command_line_refuses_missing_and_unreadable_files(tmp_path, capsys, no_training):
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (17 * 2**20))
    for path in (tmp_path / "missing.toml", tmp_path, big, "/dev/zero"):
        outdir = tmp_path / "out"
        code = cli.main(["run", str(path), "-o", str(outdir), "--backend", "serial", "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("dysonlearn: error: config: ") and "\n" == err[-1]
        assert len(err.splitlines()) == 1 and not outdir.exists()


def test_command_line_replicas_override_is_validated(tmp_path, capsys, no_training):
    path = tmp_path / "ok.toml"
    path.write_text(doc(), encoding="utf-8")
    outdir = tmp_path / "out"
    argv = ["run", str(path), "-o", str(outdir), "--backend", "serial", "--quiet"]
    assert cli.main([*argv, "--replicas", str(10**12)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dysonlearn: error: replicas: gathering the results of ")
    assert len(err.splitlines()) == 1 and not outdir.exists()
