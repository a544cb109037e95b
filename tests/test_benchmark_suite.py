"""The asv suite imports with the package's declared dependencies alone, and asv.conf.json
takes them from the package's metadata (no asv run here: these checks build nothing).

asv installs each benchmarked commit's wheel with its dependencies into an environment
that holds, besides, only the build requirements of ``asv.conf.json``'s matrix. Every
third-party module a benchmark file imports must therefore be a runtime dependency of
pyproject.toml (or the package itself): these tests read the imports with ``ast``.
"""

import ast
import importlib.metadata
import json
import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them (case, runs of -_. folded)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The distribution name of a PEP 508 requirement string, canonical."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, f"unparsable requirement {requirement!r}"
    return canonical(match.group(1))


def imported_modules(source: str) -> set[str]:
    """Top-level names of the absolute imports anywhere in ``source`` (also inside
    functions and ``try`` blocks: asv may call any of them)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def undeclared(source: str, declared: set[str], local: set[str]) -> dict[str, str]:
    """The third-party modules ``source`` imports that no declared distribution provides,
    each with the reason.

    Standard library, the package itself and the suite's own modules (``local``) are
    always available; any other module must come from a distribution in ``declared``
    (canonical names), looked up in this environment's installed metadata.
    """
    providers = importlib.metadata.packages_distributions()
    missing = {}
    for module in sorted(imported_modules(source)):
        if module in sys.stdlib_module_names or module == "dysonlearn" or module in local:
            continue
        dists = {canonical(d) for d in providers.get(module, ())}
        if not dists:
            missing[module] = "installed by no distribution here, so declared by none"
        elif not dists & declared:
            missing[module] = f"provided by {', '.join(sorted(dists))}, not a dependency"
    return missing


def runtime_dependencies() -> set[str]:
    return {requirement_name(r) for r in PYPROJECT["project"]["dependencies"]}


def asv_config() -> dict:
    """asv.conf.json, whose // comment lines asv allows and json does not."""
    text = (ROOT / "asv.conf.json").read_text()
    return json.loads("\n".join(line for line in text.splitlines()
                                if not line.lstrip().startswith("//")))  # fmt: skip


BENCHMARK_FILES = sorted(BENCHMARKS.glob("*.py"))


@pytest.mark.parametrize("path", BENCHMARK_FILES, ids=lambda p: p.name)
def test_every_benchmark_import_is_a_declared_dependency(path):
    local = {p.stem for p in BENCHMARK_FILES} | {"benchmarks"}
    assert undeclared(path.read_text(), runtime_dependencies(), local) == {}


def test_the_check_catches_an_undeclared_import():
    # numpy is declared; pytest is installed here but only as a test extra; torch is the
    # optional example's; the import inside a function counts as much as a top-level one.
    source = "import numpy\nimport os.path\nfrom . import sibling\n" \
             "def f():\n    import pytest\n    from torch import nn\n"  # fmt: skip
    missing = undeclared(source, runtime_dependencies(), {"sibling"})
    assert set(missing) == {"pytest", "torch"}
    assert "not a dependency" in missing["pytest"]


def test_asv_installs_the_wheel_with_its_dependencies():
    config = asv_config()
    install = " ".join(config["install_command"])
    assert "{wheel_file}" in install and "--no-deps" not in install


def test_the_asv_matrix_is_the_build_requirements():
    # The matrix is what the no-isolation build needs: exactly build-system.requires.
    # A runtime dependency in it would hide a missing one from the metadata.
    matrix = {canonical(name) for name in asv_config()["matrix"]["req"]}
    build = {requirement_name(r) for r in PYPROJECT["build-system"]["requires"]}
    assert matrix == build


# -- the suites themselves (imported as asv imports them: the package benchmarks) -----------


@pytest.fixture(scope="module")
def suites():
    sys.path.insert(0, str(ROOT))
    try:
        import benchmarks.benchmark_numpy_baselines as baselines
        import benchmarks.benchmark_rbm as rbm
        import benchmarks.benchmark_teacher_student as teacher_student
        import benchmarks.common as common
    finally:
        sys.path.remove(str(ROOT))
    return {"baselines": baselines, "rbm": rbm, "ts": teacher_student, "common": common}


def _benchmark_classes(module):
    return [cls for name, cls in vars(module).items()
            if isinstance(cls, type) and not name.startswith("_")
            and any(a.startswith(("time_", "track_", "peakmem_")) for a in dir(cls))]  # fmt: skip


def test_track_timing_spreads_its_calls_over_a_window(suites):
    common, calls = suites["common"], []
    best = common.best_seconds(lambda: calls.append(1), repeats=3, min_seconds=0.05)
    assert best >= 0 and 3 < len(calls) <= common.TRACK_MAX_CALLS
    calls.clear()
    common.interleaved_best({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                            repeats=4, min_seconds=0.0)  # fmt: skip
    assert calls == ["a", "b"] * 4


def test_sig_keeps_three_significant_figures(suites):
    sig = suites["common"].sig
    assert sig(3.14159265) == 3.14 and sig(0.000123456) == 0.000123 and sig(98765.4) == 98800
    assert sig(0.0) == 0.0 and np.isnan(sig(float("nan")))


def test_time_benchmarks_take_enough_samples_and_tracks_have_units(suites):
    for module in (suites["rbm"], suites["ts"], suites["baselines"]):
        for cls in _benchmark_classes(module):
            if any(a.startswith("time_") for a in dir(cls)):
                # EnsembleThroughput: 8 s calls, its own (smaller) sampling
                assert cls.number == 1 and cls.repeat[0] >= 3, cls
            for name in dir(cls):
                if name.startswith("track_"):
                    assert getattr(cls, name).unit, (cls, name)


def test_the_baselines_mirror_the_kernel_suites_and_only_they_time_numpy(suites):
    b, rbm, ts = suites["baselines"], suites["rbm"], suites["ts"]
    pairs = [(b.PCDStepNumpy, rbm.PCDStep), (b.TeacherStudentStepNumpy, ts.TeacherStudentStep),
             (b.DysonStepNumpy, ts.DysonStep), (b.NormalsFloorNumpy, rbm.NormalsFloor)]
    for baseline, kernel in pairs:
        assert baseline.param_names == kernel.param_names
        assert "numpy" in {str(p) for group in baseline.params for p in group}
        assert "numpy" not in {str(p) for group in kernel.params for p in group}


def test_a_ratio_to_the_baseline_runs(suites, monkeypatch):
    ts = suites["ts"]
    monkeypatch.setattr(ts, "TRACK_REPEATS", 1)
    monkeypatch.setattr(ts, "STEPS_N2", 5)
    monkeypatch.setattr(suites["common"], "TRACK_SECONDS", 0.0)
    bench = ts.DysonStep()
    bench.setup(2, "kernel")
    try:
        ratio = bench.track_time_vs_numpy(2, "kernel")
    finally:
        bench.teardown(2, "kernel")
    assert 0 < ratio < 100 and ratio == float(f"{ratio:.3g}")
