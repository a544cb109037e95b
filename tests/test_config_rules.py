"""Invalid values generated from the configurations' rule tables (as scikit-learn generates
invalid parameters from its constraints): every row of every table, every kind of bad value
its rule names, through the Python API and through a TOML experiment.

What is asserted does not come from the rule that generated the value: the configuration
must refuse it with a :class:`dl.ConfigError` whose records name the field and carry the value
received, and the message must read "field: rule, got value". The rule texts themselves are
checked against hand-written expectations below.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

import dysonlearn as dl
from dysonlearn.config import Levels, Snapshots, Teacher
from dysonlearn.errors import NO_VALUE, Problem, shown
from dysonlearn.experiment import TRAIN_KEYS, parse_experiment
from dysonlearn.validation import Boolean, Choice, FieldRule, Integer, Problems, Real

CONFIGS = (dl.RBMConfig, dl.TeacherStudentConfig, dl.DysonConfig, dl.DeepLinearConfig)


def _context(row: FieldRule) -> dict:
    """Fields that make the row apply (its ``when``), first allowed value of each."""
    return {name: values[0] for name, values in row.when}


def _cases():
    for config_class in CONFIGS:
        for row in config_class.RULES:
            for index, value in enumerate(row.rule.invalid_examples()):
                if value is None and row.optional:
                    continue
                yield pytest.param(
                    config_class, row, value, id=f"{config_class.kind}-{row.field}-{index}"
                )


def _same(a: object, b: object) -> bool:
    return shown(a) == shown(b)


@pytest.mark.parametrize(("config_class", "row", "value"), list(_cases()))
def test_python_api_refuses_every_generated_invalid_value(config_class, row, value):
    with pytest.raises(dl.ConfigError) as caught:
        config_class(**_context(row), **{row.field: value})
    mine = [p for p in caught.value.details if p.field == row.field]
    assert mine, caught.value.problems
    assert all(_same(p.value, value) for p in mine)
    assert str(mine[0]) == f"{row.field}: {mine[0].rule}, got {shown(value)}"


def _toml_value(value: object) -> object:
    """The value as TOML would give it (tuples are arrays), or None if TOML has no such value."""
    if value is None:
        return None
    if isinstance(value, tuple):
        inner = [_toml_value(v) for v in value]
        return None if any(v is None for v in inner) else inner
    return value


# TOML has no null: the values it cannot express are the Python API's alone.
TOML_CASES = [case for case in _cases() if _toml_value(case.values[2]) is not None]


@pytest.mark.parametrize(("config_class", "row", "value"), TOML_CASES)
def test_toml_experiment_names_the_section_of_every_generated_invalid_value(
    config_class, row, value
):
    toml_value = _toml_value(value)
    section = "train" if row.field in TRAIN_KEYS else "model"
    document = {"model": {"kind": config_class.kind, **_context(row)}, "train": {"steps": 10}}
    document.setdefault(section, {})[row.field] = toml_value
    with pytest.raises(dl.ConfigError) as caught:
        parse_experiment(document)
    fields = {p.field for p in caught.value.details}
    assert f"{section}.{row.field}" in fields, caught.value.problems


@pytest.mark.parametrize("config_class", CONFIGS)
def test_every_choice_of_every_table_is_accepted(config_class):
    for row in config_class.RULES:
        if not isinstance(row.rule, Choice):
            continue
        for choice in row.rule.choices:
            try:
                config_class(**{row.field: choice})
            except dl.ConfigError as exc:  # another field's rule may depend on the choice
                assert row.field not in {p.field for p in exc.details}, exc.problems


@pytest.mark.parametrize("config_class", CONFIGS)
def test_rule_tables_cover_fields_of_their_class(config_class):
    fields = {f.name for f in dataclasses.fields(config_class)}
    rows = [row.field for row in config_class.RULES]
    assert len(rows) == len(set(rows)) and set(rows) <= fields
    for row in config_class.RULES:
        assert row.describe()  # the configuration reference is generated from these
        for name, _ in row.when:
            assert rows.index(name) < rows.index(row.field), "a condition is checked first"


# --- the rules' own texts, written out by hand ------------------------------------------------

RULE_TEXTS = [
    (Integer(1), 0, "must be an integer >= 1"),
    (Integer(1), True, "must be an integer >= 1"),
    (Integer(1), 2.0, "must be an integer >= 1"),
    (Integer(1, 2**31 - 1, "a C int"), 2**31, "must be at most 2**31 - 1 = 2147483647 (a C int)"),
    (Real(), 0.0, "must be a finite number > 0"),
    (Real(), math.inf, "must be a finite number > 0"),
    (Real(), "1", "must be a finite number > 0"),
    (Real(0.0, closed=True), -1e-300, "must be a finite number >= 0"),
    (Choice(("a", "b")), "c", "must be one of 'a', 'b'"),
    (Choice(("a", "b")), ["a"], "must be one of 'a', 'b'"),
    (Boolean(), 1, "must be true or false"),
    (Levels(2), (1.0,), "must be a list of at least 2 numbers"),
    (Levels(2), (1.0, math.nan), "every value must be finite"),
    (Levels(2), "ab", "must be a list of at least 2 numbers"),
    (Teacher(), ((1.0, 2.0), (3.0, 4.0)), "a matrix must be symmetric"),
    (Teacher(), ((1.0, 2.0),), "a matrix must be square, N >= 2, finite"),
    (Snapshots(), 0, "must be an integer in [1, steps]"),
    (Snapshots(), (5, 3), "must be strictly increasing"),
    (Snapshots(), (), "must be a non-empty list of integer steps"),
]


@pytest.mark.parametrize(("rule", "value", "text"), RULE_TEXTS)
def test_rule_texts(rule, value, text):
    assert rule.violation(value) == text


@pytest.mark.parametrize(
    ("rule", "value"),
    [(Integer(1), 1), (Integer(1, 3), 3), (Real(), 1e-300), (Real(0.0, closed=True), 0.0),
     (Choice(("a",)), "a"), (Boolean(), False), (Levels(2), (1.0, 2.0)),
     (Teacher(), ((2.0, 0.5), (0.5, 1.0))), (Snapshots(), (0, 3, 7))],
)  # fmt: skip
def test_valid_values_pass(rule, value):
    assert rule.violation(value) is None


def test_snapshots_rule_reads_steps_from_its_owner():
    class Owner:
        steps = 10

    assert Snapshots().violation(11, Owner()) == "must be an integer in [1, steps]"
    assert Snapshots().violation((0, 11), Owner()) == "every step must lie in [0, steps]"
    assert Snapshots().violation(10, Owner()) is None


def test_problems_are_records_not_messages():
    problems = Problems()
    problems.add("lr", "must be a finite number > 0", -1)
    problems.note("train.lrr", "unknown key (did you mean 'lr'?)")
    problems.add("lr", "must be a finite number > 0", -1)  # the same problem once
    assert problems.items == [
        Problem("lr", "must be a finite number > 0", -1),
        Problem("train.lrr", "unknown key (did you mean 'lr'?)", NO_VALUE),
    ]
    error = dl.ConfigError(problems.items)
    assert error.problems == [
        "lr: must be a finite number > 0, got -1",
        "train.lrr: unknown key (did you mean 'lr'?)",
    ]
    assert [p.field for p in error.details] == ["lr", "train.lrr"]
    assert str(error.details[0].within("train")) == "train.lr: must be a finite number > 0, got -1"


def test_conditional_rule_applies_only_under_its_condition():
    # init_scale is not used by init = "normal": a bad value there is not a problem.
    dl.RBMConfig(init="normal", init_scale=-1.0)
    with pytest.raises(dl.ConfigError) as caught:
        dl.RBMConfig(init="mp_hidden", init_scale=-1.0)
    assert [p.field for p in caught.value.details] == ["init_scale"]
