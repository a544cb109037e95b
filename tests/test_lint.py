"""The compiled core passes cython-lint (unused names and cimports, pycodestyle), configured
in pyproject.toml's [tool.cython-lint]."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "_core"


@pytest.mark.skipif(importlib.util.find_spec("cython_lint") is None,
                    reason="cython-lint is not installed (it is in the test extra: "
                           "pip install -e '.[test]')")  # fmt: skip
@pytest.mark.skipif(not CORE.is_dir(), reason="the _core/ sources are not beside the tests "
                                               "(an installed package without its sources)")
def test_core_passes_cython_lint():
    sources = sorted(str(p) for pattern in ("*.pyx", "*.pxd", "*.pxi")
                     for p in CORE.glob(pattern))  # fmt: skip
    run = subprocess.run([sys.executable, "-m", "cython_lint.cython_lint", *sources], cwd=ROOT,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
