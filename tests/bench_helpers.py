"""What the benchmark tests share: a module of benchmarks/ loaded by its path (the
directory is a package for asv, not an installed one)."""

import importlib.util
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str, module_name: str | None = None):
    """benchmarks/<name>.py as a module, registered in sys.modules under ``module_name``
    (default: ``name``; dataclasses look their module up there)."""
    module_name = module_name or name
    spec = importlib.util.spec_from_file_location(module_name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
