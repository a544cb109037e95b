"""The package's metadata: one version, the licence in the metadata, the sdist and the
wheel, classifiers, URLs, extras, the wheel-building configuration.

Cheap checks only (nothing is built): ``.ci/package-roundtrip`` builds the sdist, a wheel
from it, installs that in a fresh environment and runs it; run it by hand after a change to
the packaging (it takes minutes).
"""

import importlib.metadata
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

import dysonlearn as dl

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
MESON = (ROOT / "meson.build").read_text()


def meson_project_field(name: str) -> str:
    """A string field of meson.build's project() call."""
    match = re.search(rf"^\s*{name}\s*:\s*'([^']*)'", MESON, re.MULTILINE)
    assert match, f"meson.build's project() has no {name}"
    return match.group(1)


def test_one_version_source():
    version = meson_project_field("version")
    # pyproject.toml takes it from meson.build; nothing else states it
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    assert importlib.metadata.version("dysonlearn") == version, (
        "the installed metadata is not meson.build's version: reinstall the package")
    assert dl.__version__ == version
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf'^version:\s*"{re.escape(version)}"', citation, re.MULTILINE)
    conf = (ROOT / "docs" / "conf.py").read_text()
    assert re.search(r"^version = release = dysonlearn\.__version__", conf, re.MULTILINE)


def test_licence_metadata_is_pep_639():
    assert PROJECT["license"] == "BSD-3-Clause" and PROJECT["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("BSD 3-Clause License")
    assert meson_project_field("license") == "BSD-3-Clause"
    assert not any(c.startswith("License ::") for c in PROJECT["classifiers"])
    # meson-python reads PEP 639 fields from 0.18 on
    backend = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("meson-python")]
    assert backend == ["meson-python>=0.18"]


def test_installed_metadata_carries_the_licence():
    metadata = importlib.metadata.metadata("dysonlearn")
    assert metadata["License-Expression"] == "BSD-3-Clause", (
        "installed with an older pyproject.toml or meson-python < 0.18: reinstall")
    assert "LICENSE" in (metadata.get_all("License-File") or [])


def test_classifiers_urls_and_extras():
    classifiers = set(PROJECT["classifiers"])
    minor = int(PROJECT["requires-python"].removeprefix(">=3."))
    for version in range(minor, 14):
        assert f"Programming Language :: Python :: 3.{version}" in classifiers
    assert {"Intended Audience :: Science/Research", "Programming Language :: Cython",
            "Programming Language :: C", "Operating System :: POSIX :: Linux",
            "Operating System :: MacOS"} <= classifiers  # fmt: skip
    assert all(url.startswith("https://") for url in PROJECT["urls"].values())
    assert any(r.startswith("torch") for r in PROJECT["optional-dependencies"]["torch"])
    assert "import torch" in (ROOT / "examples" / "torch_mlp.py").read_text()


def test_cibuildwheel_tests_files_that_exist():
    config = PYPROJECT["tool"]["cibuildwheel"]
    assert {"x86_64", "aarch64"} <= set(config["linux"]["archs"])
    assert {"x86_64", "arm64"} <= set(config["macos"]["archs"])
    named = re.findall(r"\{project\}/(\S+\.py)", config["test-command"])
    assert named and all((ROOT / path).is_file() for path in named)


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="not a git checkout")  # fmt: skip
def test_the_sdist_file_list_has_the_licence_and_no_ci_files():
    # meson dist (meson-python's sdist) archives the tracked files with git archive, which
    # leaves out what .gitattributes marks export-ignore: that list, without building.
    tracked = _git("ls-files", "-z").split("\0")
    tracked = [path for path in tracked if path]
    ignored = set()
    for line in _git("check-attr", "export-ignore", "--", *tracked).splitlines():
        path, _, value = line.rsplit(": ", 2)
        if value == "set":
            ignored.add(path)
    in_sdist = set(tracked) - ignored
    assert {"LICENSE", "pyproject.toml", "meson.build", "README.md"} <= in_sdist
    assert ".ci/run" in tracked and not any(p.startswith(".ci/") for p in in_sdist)
    assert not any(p.startswith(".git") for p in in_sdist)
