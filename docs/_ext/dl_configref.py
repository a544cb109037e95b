"""The configuration reference, generated from the configuration classes at build time.

``.. dl-config-reference::`` writes one section per TOML section of an experiment file and,
in it, one entry per key: its type, its default, its rule and its meaning. Nothing is
written by hand, so the page cannot drift from the code:

- the keys and their defaults are the fields of each model's configuration class
  (``dysonlearn.models.MODELS[kind].config_class``, a dataclass), placed in ``[model]``,
  ``[train]`` or ``[target]`` by the section map of :mod:`dysonlearn.experiment`;
- the rules are the rows of the class's ``RULES`` table (``FieldRule.describe()``);
- the meanings are the class docstring's Parameters section (read with
  ``numpydoc.docscrape``);
- ``[target]`` is read from the target builders (:data:`dysonlearn.targets.BUILDERS`);
- ``[optimizer]`` from the optimiser classes (:data:`dysonlearn.optim.OPTIMIZERS`): their
  fields, defaults, ``RULES`` tables and docstrings;
  ``[ensemble]`` and ``[analysis]`` from :class:`dysonlearn.Experiment` (its Parameters
  section), the defaults an experiment takes and the key lists of
  :mod:`dysonlearn.experiment` (``ENSEMBLE_KEYS``, ``ANALYSIS_KEYS``).

:func:`model_entries`, :func:`target_entries`, :func:`optimizer_entries`,
:func:`ensemble_entries` and
:func:`analysis_entries` need no Sphinx: the test suite calls them to check that every key
has a meaning.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass

from numpydoc.docscrape import ClassDoc, FunctionDoc

from dysonlearn import experiment as _experiment
from dysonlearn import targets as _targets
from dysonlearn.optim import OPTIMIZERS
from dysonlearn.models import MODELS
from dysonlearn.seeding import BIT_GENERATORS
from dysonlearn.validation import Choice, Integer

# Python annotations of the configuration fields, in TOML words.
_TYPE_WORDS = {
    "int": "integer",
    "float": "float",
    "str": "string",
    "bool": "boolean",
    "tuple": "array",
    "tuple[int, ...]": "array of integers",
    "targets.Target": "table (see [target])",
}


@dataclass(frozen=True)
class Entry:
    """One key of an experiment file, as the reference shows it."""

    section: str
    key: str
    type: str
    default: str
    rule: str
    meaning: str
    scan: bool = False


def toml_type(annotation: object) -> str:
    """A field's annotation (a string under ``from __future__ import annotations``) in TOML
    words: ``"int | tuple[int, ...]"`` -> ``"integer or array of integers"``."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    parts = [part.strip() for part in str(text).split("|")]
    words = [_TYPE_WORDS.get(part, part) for part in parts if part != "None"]
    return " or ".join(words) or "any"


def toml_value(value: object) -> str:
    """A default as it would be written in TOML (``None`` is "unset")."""
    if value is None or value is dataclasses.MISSING:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def parameter_meanings(doc) -> dict[str, str]:
    """``{name: description}`` of a numpydoc Parameters section; an entry documenting
    several names at once (``"lr, batch_size : float"``) gives each of them."""
    meanings = {}
    for parameter in doc["Parameters"]:
        text = " ".join(line.strip() for line in parameter.desc).strip()
        for name in re.split(r"\s*,\s*", parameter.name.strip()):
            if name:
                meanings[name.lstrip("*")] = text
    return meanings


def model_entries(kind: str) -> list[Entry]:
    """The keys of model kind ``kind``: ``[model] kind`` first, then every field of its
    configuration class in the order of the class, each in its TOML section.

    Parameters
    ----------
    kind : str
        A key of ``dysonlearn.models.MODELS``.

    Returns
    -------
    list of Entry
    """
    config_class = MODELS[kind].config_class
    meanings = parameter_meanings(ClassDoc(config_class, config={"show_class_members": False}))
    rules = {row.field: row for row in config_class.RULES}
    entries = [
        Entry(
            "model", "kind", "string", '"rbm"',
            Choice(tuple(MODELS)).describe(),
            f'The model to train; ``"{kind}"`` selects the keys below. The default '
            "is ``\"rbm\"``.",
        )
    ]  # fmt: skip
    for field in dataclasses.fields(config_class):
        if field.name in _experiment.TRAIN_KEYS:
            section = "train"
        elif field.name == "optimizer":
            entries.append(
                Entry("optimizer", field.name, "table (see [optimizer])", 'kind = "sgd"',
                      "see [optimizer]", meanings.get(field.name, ""))
            )  # fmt: skip
            continue
        elif field.name == "target":
            section = "target"
        else:
            section = "model"
        row = rules.get(field.name)
        rule = row.describe() if row is not None else "checked with the other fields (see meaning)"
        default = field.default
        if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        entries.append(
            Entry(
                section, field.name, toml_type(field.type), toml_value(default), rule,
                meanings.get(field.name, ""), field.name in _experiment.SCAN_KEYS,
            )
        )  # fmt: skip
    return entries


def target_entries() -> dict[str, list[Entry]]:
    """The keys of ``[target]`` for each target kind (model kind ``"rbm"`` only).

    Returns
    -------
    dict of str to list of Entry
        Target kind -> its keys, ``kind`` first.
    """
    out = {}
    for kind, builder in _targets.BUILDERS.items():
        doc = FunctionDoc(builder)
        types = {p.name: p.type for p in doc["Parameters"]}
        meanings = parameter_meanings(doc)
        signature = inspect.signature(builder)
        summary = " ".join(doc["Summary"])
        entries = [
            Entry("target", "kind", "string", "", f'"{kind}"',
                  f"{summary} (built by :func:`dysonlearn.targets.{builder.__name__}`).")
        ]  # fmt: skip
        for name in _targets.PARAMETERS[kind]:
            default = signature.parameters[name].default
            default = "required" if default is inspect.Parameter.empty else toml_value(default)
            entries.append(
                Entry("target", name, types.get(name, ""), default, "see meaning",
                      meanings.get(name, ""))
            )  # fmt: skip
        out[kind] = entries
    return out


def optimizer_entries() -> dict[str, list[Entry]]:
    """The keys of ``[optimizer]`` for each optimiser kind (models with an ``optimizer``
    field), each scannable.

    Returns
    -------
    dict of str to list of Entry
        Optimiser kind -> its keys, ``kind`` first.
    """
    out = {}
    for kind, cls in OPTIMIZERS.items():
        doc = ClassDoc(cls, config={"show_class_members": False})
        meanings = parameter_meanings(doc)
        rules = {row.field: row for row in cls.RULES}
        summary = " ".join(doc["Summary"])
        meaning = f"{summary.rstrip('.')} (:class:`dysonlearn.{cls.__name__}`)."
        entries = [Entry("optimizer", "kind", "string", '"sgd"', f'"{kind}"', meaning)]
        for field in dataclasses.fields(cls):
            row = rules.get(field.name)
            entries.append(
                Entry("optimizer", field.name, toml_type(field.type), toml_value(field.default),
                      row.describe() if row is not None else "see meaning",
                      meanings.get(field.name, ""), scan=True)
            )  # fmt: skip
        out[kind] = entries
    return out


def _experiment_entries(section: str, keys, types: dict, rules: dict) -> list[Entry]:
    """Entries of an experiment-level section: the meaning from :class:`Experiment`'s
    docstring, the default from a parsed experiment that gives none of the keys."""
    meanings = parameter_meanings(
        ClassDoc(_experiment.Experiment, config={"show_class_members": False})
    )
    bare = _experiment.parse_experiment({"model": {"kind": "dyson"}})
    return [
        Entry(section, key, types[key], toml_value(getattr(bare, key)), rules[key],
              meanings.get(key, ""))
        for key in keys
    ]  # fmt: skip


def ensemble_entries() -> list[Entry]:
    """The keys of ``[ensemble]``, with the defaults an experiment takes when they are left
    out.

    Returns
    -------
    list of Entry
    """
    rules = {
        "replicas": Integer(1).describe(),
        "seed": Integer(0).describe() + ", or unset",
        "bit_generator": Choice(BIT_GENERATORS).describe(),
    }
    types = {"replicas": "integer", "seed": "integer", "bit_generator": "string"}
    return _experiment_entries("ensemble", _experiment.ENSEMBLE_KEYS, types, rules)


def analysis_entries() -> list[Entry]:
    """The keys of ``[analysis]``, with the defaults an experiment takes when they are left
    out.

    Returns
    -------
    list of Entry
    """
    # The rule of experiment.check_pool_last: its maximum depends on the points.
    rules = {
        "pool_last": Integer(1).describe()
        + ", at most the snapshots each point records after step 0",
    }
    return _experiment_entries("analysis", _experiment.ANALYSIS_KEYS, {"pool_last": "integer"},
                               rules)  # fmt: skip


def _kinds_section(table: str, entries_by_kind: dict, intro: str) -> list[str]:
    """The reference of a table whose ``kind`` selects its fields ([target], [optimizer]):
    its label and title, ``intro``, then each kind's fields under its own heading."""
    title = f"[{table}]"
    lines = [f".. _config-{table}:", "", title, "-" * len(title), "", intro, ""]
    for kind, entries in entries_by_kind.items():
        heading = f'kind = "{kind}"'
        lines += [heading, "~" * len(heading), ""]
        for entry in entries:
            lines += _entry_rst(entry, f"config-{table}-{kind}-{entry.key}")
    return lines


def _entry_rst(entry: Entry, anchor: str) -> list[str]:
    """The reStructuredText of one entry: a definition list item with a link target."""
    facts = [f"*{entry.type}*"]
    if entry.default:
        facts.append(f"default ``{entry.default}``")
    facts.append(f"rule: {entry.rule}")
    if entry.scan:
        facts.append("a list of values makes a scan")
    lines = [f".. _{anchor}:", "", f"``{entry.key}``", "   " + "; ".join(facts) + ".", ""]
    if entry.meaning:
        lines += ["   " + entry.meaning, ""]
    return lines


def reference_rst() -> list[str]:
    """The whole reference as reStructuredText lines."""
    lines: list[str] = []
    for kind in MODELS:
        entries = model_entries(kind)
        title = f'Model kind ``"{kind}"`` ({MODELS[kind].config_class.__name__})'
        lines += [title, "-" * len(title), ""]
        lines += [
            f"Python: :class:`dysonlearn.{MODELS[kind].config_class.__name__}` takes the "
            "same fields as keyword arguments.",
            "",
        ]
        for section in ("model", "train", "target", "optimizer"):
            chosen = [e for e in entries if e.section == section]
            if not chosen:
                continue
            heading = f"[{section}]"
            lines += [heading, "~" * len(heading), ""]
            if section == "target":
                lines += [
                    "Given as a ``[target]`` table, described in :ref:`config-target`.",
                    "",
                ]
            if section == "optimizer":
                lines += [
                    "Given as an ``[optimizer]`` table, described in :ref:`config-optimizer`.",
                    "",
                ]
            for entry in chosen:
                lines += _entry_rst(entry, f"config-{kind}-{entry.key}")
    lines += _kinds_section("target", target_entries(), (
        "Model kind ``\"rbm\"`` only: the kernel K of the field the RBM learns. "
        "``kind`` selects one of the builders below; without a ``[target]`` table the "
        "target is ``free_scalar(n = n_visible, m = 2.0)``."))
    lines += _kinds_section("optimizer", optimizer_entries(), (
        "Model kinds ``\"rbm\"`` and ``\"teacher_student\"``: how the stochastic "
        "gradient becomes the update (:doc:`/theory/optimizers`). ``kind`` selects one of "
        "the optimisers below; without an ``[optimizer]`` table the model trains with SGD. "
        "The learning rate stays ``lr`` of ``[train]``. Every field may be a list: a scan, "
        "like ``lr`` (its points are labelled ``beta=0.9``), and ``[[points]]`` tables may "
        "give the fields too."))
    title = "[ensemble]"
    lines += [title, "-" * len(title), ""]
    lines += ["How many replicas each scan point trains, and from which seed.", ""]
    for entry in ensemble_entries():
        lines += _entry_rst(entry, f"config-ensemble-{entry.key}")
    title = "[analysis]"
    lines += [".. _config-analysis:", "", title, "-" * len(title), ""]
    lines += [
        "How ``dysonlearn run``, ``analyze`` and ``reproduce`` compute their statistics "
        "(:doc:`outputs`). Every statistic (level means and widths, spacings, fits, Binder "
        "cumulants, the scaling slopes) pools the last ``pool_last`` snapshots of each "
        "replica; its errors are jackknife errors over replicas, which stay honest however "
        "correlated the snapshots of one replica are. The settings are kept in the store "
        "(its ``analysis`` attribute), so that every analysis of a store gives the same "
        "numbers; ``dysonlearn analyze --pool-last N`` overrides ``pool_last`` for one "
        "analysis.",
        "",
    ]
    for entry in analysis_entries():
        lines += _entry_rst(entry, f"config-analysis-{entry.key}")
    return lines


def setup(app):
    """Register the ``dl-config-reference`` directive."""
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective
    from sphinx.util.nodes import nested_parse_with_titles

    class ConfigReference(SphinxDirective):
        """``.. dl-config-reference::``: the generated reference (no arguments)."""

        has_content = False

        def run(self):
            # Rebuild the page whenever the package's sources change.
            from dysonlearn import optim as _optim

            for module in (_experiment, _targets, _optim):
                self.env.note_dependency(module.__file__)
            for model in MODELS.values():
                self.env.note_dependency(inspect.getsourcefile(model.config_class))
            container = nodes.section()
            container.document = self.state.document
            source = StringList(reference_rst(), source="<dl-config-reference>")
            nested_parse_with_titles(self.state, source, container)
            return container.children

    app.add_directive("dl-config-reference", ConfigReference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
