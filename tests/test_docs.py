"""The documentation: the Sphinx site builds with warnings as errors and says what it must.

The fast tests need no Sphinx build: every field of every configuration has a meaning in
its class docstring (the configuration reference is generated from them), the docstring
examples run, and the outputs the guide shows are those its example experiments give now
(two runs of a few seconds). ``test_docs_build`` builds the whole site once (about 20-30 s on
two cores) offline, with ``-W``, and checks the pages that are generated from the code.
"""

from __future__ import annotations

import dataclasses
import doctest
import html
import importlib
import os
import pkgutil
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dysonlearn
from dysonlearn import DysonConfig, RBMConfig, TeacherStudentConfig
from dysonlearn.models import MODELS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import dl_configref  # noqa: E402  (the docs' own extension, importable without Sphinx)

CONFIG_CLASSES = sorted(
    {RBMConfig, TeacherStudentConfig, DysonConfig} | {m.config_class for m in MODELS.values()},
    key=lambda cls: cls.__name__,
)
# The modules whose public names (``__all__``) the API reference documents.
API_MODULES = (
    "dysonlearn",
    "dysonlearn.analysis",
    "dysonlearn.kernels",
    "dysonlearn.targets",
    "dysonlearn.plots",
    "dysonlearn.models",
    "dysonlearn.scan",
    "dysonlearn.seeding",
)


# --- without Sphinx ---------------------------------------------------------------------


@pytest.mark.parametrize("config_class", CONFIG_CLASSES, ids=lambda cls: cls.__name__)
def test_every_config_field_has_a_documented_meaning(config_class):
    from numpydoc.docscrape import ClassDoc

    doc = ClassDoc(config_class, config={"show_class_members": False})
    meanings = dl_configref.parameter_meanings(doc)
    fields = [f.name for f in dataclasses.fields(config_class)]
    undocumented = [name for name in fields if not meanings.get(name, "").strip()]
    assert not undocumented, f"{config_class.__name__}: fields without a meaning {undocumented}"
    unknown = sorted(set(meanings) - set(fields))
    assert not unknown, f"{config_class.__name__}: documents fields it lacks {unknown}"


@pytest.mark.parametrize("config_class", CONFIG_CLASSES, ids=lambda cls: cls.__name__)
def test_every_rule_row_names_a_field(config_class):
    fields = {f.name for f in dataclasses.fields(config_class)}
    for row in config_class.RULES:
        assert row.field in fields
        assert row.describe(), row  # every rule has a text for the reference


@pytest.mark.parametrize("kind", list(MODELS))
def test_reference_entries_cover_every_field_with_type_default_rule_and_meaning(kind):
    entries = dl_configref.model_entries(kind)
    fields = [f.name for f in dataclasses.fields(MODELS[kind].config_class)]
    assert [e.key for e in entries] == ["kind", *fields]
    for entry in entries:
        assert entry.type and entry.default and entry.rule and entry.meaning, entry
    by_key = {e.key: e for e in entries}
    # The section map of experiment.py: training keys in [train], the rest in [model].
    assert by_key["lr"].section == "train" and by_key["lr"].scan
    assert by_key["steps"].section == "train" and not by_key["steps"].scan


def test_reference_defaults_and_rules_are_those_of_the_code():
    entries = {e.key: e for e in dl_configref.model_entries("rbm")}
    assert entries["n_visible"].default == repr(RBMConfig().n_visible)
    # The declared default ("auto"), which the configuration resolves to a sampler.
    default = {f.name: f.default for f in dataclasses.fields(RBMConfig)}["sampler"]
    assert entries["sampler"].default == f'"{default}"' == '"auto"'
    assert entries["sampler"].rule == "one of 'auto', 'collapsed', 'gibbs', 'gibbs-eigen'"
    assert entries["target"].default == "unset"
    ts = {e.key: e for e in dl_configref.model_entries("teacher_student")}
    assert ts["teacher"].default == "[2.0, 2.0]"
    assert ts["dataset_shared"].default == "true"
    assert ts["dataset_size"].rule == "an integer >= 1, or unset"


def test_target_and_ensemble_keys_have_meanings():
    from dysonlearn import experiment, targets

    by_kind = dl_configref.target_entries()
    assert set(by_kind) == set(targets.PARAMETERS)
    for kind, entries in by_kind.items():
        assert [e.key for e in entries] == ["kind", *targets.PARAMETERS[kind]]
        assert all(e.meaning for e in entries), entries
    ensemble = dl_configref.ensemble_entries()
    assert [e.key for e in ensemble] == list(experiment.ENSEMBLE_KEYS)
    assert all(e.meaning for e in ensemble)
    defaults = {e.key: e.default for e in ensemble}
    assert defaults == {"replicas": "1000", "seed": "unset", "bit_generator": '"SFC64"'}


def test_analysis_keys_have_meanings_and_the_default_of_the_code():
    from dysonlearn import experiment

    analysis = dl_configref.analysis_entries()
    assert [e.key for e in analysis] == list(experiment.ANALYSIS_KEYS)
    assert all(e.meaning and e.rule and e.type for e in analysis), analysis
    defaults = {e.key: e.default for e in analysis}
    assert defaults["pool_last"] == str(experiment.DEFAULT_POOL_LAST)


# The outputs page shows what a run of its example experiments writes and prints: the files
# beside the example (docs/guide/examples/NAME.toml), made by
#     dysonlearn run NAME.toml -o OUTDIR > NAME.headline.txt
# (and, for the scan, OUTDIR/summary.md copied to NAME.summary.md).


def test_docstring_examples_run():
    """Every ``Examples`` section of the package gives the output it shows."""
    modules = [
        info.name
        for info in pkgutil.walk_packages(dysonlearn.__path__, "dysonlearn.")
        if "_core" not in info.name and info.name != "dysonlearn.__main__"
    ]
    attempted = 0
    for name in modules:
        result = doctest.testmod(
            importlib.import_module(name),
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
            report=False,
        )
        assert result.failed == 0, f"{name}: {result.failed} docstring example(s) failed"
        attempted += result.attempted
    assert attempted >= 20  # the examples are there to be run


# --- the Sphinx build -------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The HTML site, built once with -W, offline (no intersphinx inventories)."""
    out = tmp_path_factory.mktemp("docs")
    env = dict(os.environ, DYSONLEARN_DOCS_OFFLINE="1", MPLBACKEND="Agg")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-d", str(out / "doctrees"), str(DOCS), str(out / "html")]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    print(f"\ndocs build: {seconds:.1f} s")
    assert done.returncode == 0, f"sphinx -W failed:\n{done.stderr[-6000:]}"
    return out / "html"


def _text(path: Path) -> str:
    return html.unescape(path.read_text(encoding="utf-8"))


def test_docs_build_has_every_page(site):
    for page in ("index", "guide/index", "guide/installation", "guide/quickstart",
                 "guide/configuration", "guide/cli", "guide/outputs", "guide/store",
                 "guide/reproduce",
                 "guide/tracking", "guide/embedding", "guide/cluster", "guide/performance",
                 "theory/index", "api/index"):  # fmt: skip
        assert (site / f"{page}.html").is_file(), page


def test_outputs_page_shows_what_this_version_prints(site):
    """The guide's example runs are made at build time (docs/_ext/dl_examples.py): the page
    shows a scan's headline slopes, and the warning of a run too short to be stationary."""
    page = _text(site / "guide" / "outputs.html")
    assert "slope of <S> against sqrt(alpha A^2 / B)" in page
    assert "not stationary" in page
    assert "## Symbols" in page and "- alpha: learning rate" in page


def test_api_page_of_run_ensemble_documents_its_parameters(site):
    import inspect

    page = _text(site / "api" / "generated" / "dysonlearn.run_ensemble.html")
    # numpydoc renders each documented parameter as a bold term of a definition list.
    documented = re.findall(r"<dt><strong>(\w+)</strong>", page)
    assert documented == list(inspect.signature(dysonlearn.run_ensemble).parameters)
    assert "Returns" in page and "EnsembleResult" in page


@pytest.mark.parametrize("module_name", API_MODULES)
def test_every_public_name_has_an_api_page(site, module_name):
    module = importlib.import_module(module_name)
    generated = site / "api" / "generated"
    missing = []
    for name in module.__all__:
        if name == "__version__":
            continue
        value = getattr(module, name)
        if isinstance(value, type(sys)):  # a sub-package: its own page of the reference
            page = site / "api" / f"{value.__name__.rsplit('.', 1)[-1]}.html"
        else:
            page = generated / f"{module_name}.{name}.html"
        if not page.is_file():
            missing.append(name)
    assert not missing, f"{module_name}: no API page for {missing}"


def test_configuration_reference_lists_every_field_of_every_config_class(site):
    page = _text(site / "guide" / "configuration.html")
    for kind, model in MODELS.items():
        assert model.config_class.__name__ in page
        for field in dataclasses.fields(model.config_class):
            anchor = f'id="config-{kind}-{field.name}"'.replace("_", "-")
            assert anchor in page, f"{kind}.{field.name} missing from the reference"
    for key in ("replicas", "seed", "bit_generator"):
        assert f'id="config-ensemble-{key}"'.replace("_", "-") in page
    from dysonlearn.experiment import ANALYSIS_KEYS

    for key in ANALYSIS_KEYS:
        assert f'id="config-analysis-{key}"'.replace("_", "-") in page
    assert 'id="config-points"' in page  # the [[points]] tables
    # A rule and a meaning as the code states them, not just the key.
    assert "an integer in [1, steps], or a strictly increasing list of steps" in page
    assert "The amplitude A of the noise added by hand" in page


def test_cli_page_lists_every_sub_command_and_option(site):
    import argparse

    from dysonlearn.cli import build_parser

    page = _text(site / "guide" / "cli.html")
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert commands.choices
    for name, sub in commands.choices.items():
        assert f'id="dysonlearn-{name}"' in page, f"sub-command {name} missing"
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue  # every sub-command has -h; the page does not repeat it
            for option in action.option_strings:
                assert re.search(rf"<kbd>(?:[^<]*, )?{re.escape(option)}[,<]", page), f"{name} {option} missing"
