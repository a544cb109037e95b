"""Sphinx configuration of the dysonlearn documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` after
``pip install ".[docs]"``. Set the environment variable ``DYSONLEARN_DOCS_OFFLINE`` (to any
value) on a machine that cannot reach the documentation sites of NumPy, SciPy, h5py,
matplotlib and Python: intersphinx then fetches no inventories (links to those projects
become plain text instead of failing the build).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dysonlearn

HERE = Path(__file__).parent
# The local extensions (the configuration reference) live beside this file.
sys.path.insert(0, str(HERE / "_ext"))

project = "dysonlearn"
author = "dysonlearn developers"
copyright = "2026, dysonlearn developers"
version = release = dysonlearn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "sphinxarg.ext",
    "dl_configref",
    "dl_examples",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
default_role = "py:obj"  # `name` links to the API where it can
# Rules and values quote strings as Python does ('rbm'): keep the quotes straight.
smartquotes = False

# Equations are numbered and cited as (n) everywhere: :eq:`label`.
numfig = True
math_numfig = True
math_eqref_format = "({number})"

# --- API reference ------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the numpydoc sections give the types, in words
numpydoc_show_class_members = False  # the class template lists members itself
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# A useful subset of numpydoc's validation, as warnings (errors under -W): every documented
# object has a docstring, every parameter is documented and none is unknown, and functions
# say what they return.
numpydoc_validation_checks = {"PR01", "PR02", "RT01", "GL08"}
numpydoc_validation_exclude = {
    # Dunder methods and dataclass machinery say nothing a user needs.
    r"\.__\w+__$",
    # An enum: its "parameters" are those of the Enum machinery, not a constructor to call.
    r"^dysonlearn\.kernels\.Status$",
}

# --- links to the projects dysonlearn builds on --------------------------------------------
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "h5py": ("https://docs.h5py.org/en/stable", None),
    "matplotlib": ("https://matplotlib.org/stable", None),
}
if os.environ.get("DYSONLEARN_DOCS_OFFLINE"):
    # No network (CI reaches only the package index): no inventories to fetch.
    intersphinx_mapping = {}

# --- figures drawn at build time ------------------------------------------------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.figsize": (6.0, 3.5)}

# --- HTML ---------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"dysonlearn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False
