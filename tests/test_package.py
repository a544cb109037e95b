"""The package namespace: every public name reachable as ``dl.<name>``, imported lazily."""

import subprocess
import sys

import pytest

import dysonlearn as dl


def _modules_after(code: str) -> set[str]:
    """The heavy modules loaded by ``code`` in a fresh interpreter."""
    script = f"import sys; {code}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return set(out.stdout.split()) & {"numpy", "scipy", "h5py", "matplotlib", "dysonlearn.plots"}


def test_plots_is_an_attribute_of_the_package():
    figure_writer = dl.plots.save_figures
    assert callable(figure_writer)
    assert dl.plots is sys.modules["dysonlearn.plots"]
    assert "plots" in dir(dl) and "plots" in dl.__all__


def test_import_dysonlearn_stays_light_and_plots_loads_on_first_use():
    assert _modules_after("import dysonlearn") == set()
    loaded = _modules_after("import dysonlearn; dysonlearn.plots")
    assert {"matplotlib", "dysonlearn.plots"} <= loaded


@pytest.mark.parametrize("name", sorted(set(dl.__all__) - {"__version__"}))
def test_every_public_name_resolves(name):
    assert getattr(dl, name) is not None


def test_an_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'plot'"):
        dl.plot  # noqa: B018
