"""Run the user guide's example experiments when the documentation is built.

Every ``docs/guide/examples/<name>.toml`` is run with ``dysonlearn run`` (serial backend,
in a temporary directory); what it printed and the ``summary.md`` it wrote are placed in
``docs/guide/examples/generated/`` (not kept in git), where the guide's ``literalinclude``
directives read them. So the outputs the guide shows are always those of the version being
documented, and nothing written by the code is stored as expected output.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _version_free(text: str) -> str:
    # The summary's version line ("dysonlearn 0.1.0. 2 points, ...") would date the page.
    return re.sub(r"^dysonlearn \S+\. ", "dysonlearn VERSION. ", text, flags=re.M)


def run_examples(app) -> None:
    """Run every example experiment of the guide and keep its printed and written output."""
    from dysonlearn.cli import main

    examples = Path(app.srcdir) / "guide" / "examples"
    generated = examples / "generated"
    shutil.rmtree(generated, ignore_errors=True)
    generated.mkdir()
    for config in sorted(examples.glob("*.toml")):
        outdir = f"{config.stem}-output"
        printed = io.StringIO()
        cwd = os.getcwd()
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)  # the headline names the output directory as given: keep it short
            try:
                with contextlib.redirect_stdout(printed), \
                        contextlib.redirect_stderr(io.StringIO()):  # fmt: skip
                    code = main(["run", str(config), "-o", outdir, "--backend", "serial"])
                if code != 0:
                    raise ExtensionError(f"example {config.name}: dysonlearn run exited {code}")
                summary = (Path(tmp) / outdir / "summary.md").read_text(encoding="utf-8")
            finally:
                os.chdir(cwd)
        (generated / f"{config.stem}.headline.txt").write_text(printed.getvalue(),
                                                                encoding="utf-8")  # fmt: skip
        (generated / f"{config.stem}.summary.md").write_text(_version_free(summary),
                                                              encoding="utf-8")  # fmt: skip
        logger.info(f"dl_examples: ran {config.name}")


def setup(app):
    app.connect("builder-inited", run_examples)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
