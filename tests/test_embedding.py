"""The cimportable kernels: build examples/embed_cython against the installed dysonlearn
and check that its Cython-level call to the PCD kernel equals the array-level API."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import kernels

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "embed_cython"


@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("mesonpy", "Cython")),
    reason="building the example needs meson-python and Cython (the test extra has them)",
)
def test_embedded_kernel_builds_and_equals_the_array_api(tmp_path):
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q",
         "-w", str(wheels), str(EXAMPLE)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("embed_example-*.whl")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    script = """
import json, numpy as np, embed_example, dysonlearn as dl
W = np.random.default_rng(1).normal(0, 0.1, (10, 10)); chains = np.ones((16, 10))
cov = dl.targets.free_scalar(10, 2.0).covariance
spectrum, status = embed_example.train(W, chains, cov, np.random.SFC64(7), 0.1, 3.0, 3, 500)
print(json.dumps({"spectrum": spectrum.tolist(), "status": status, "W": W.tolist()}))
"""
    env = dict(os.environ, PYTHONPATH=str(site))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    embedded = json.loads(run.stdout)
    W = np.random.default_rng(1).normal(0, 0.1, (1, 10, 10))
    eig = kernels.rbm_pcd(W, np.ones((1, 16, 10)), [np.random.SFC64(7)],
                          dl.targets.free_scalar(10, 2.0).covariance, lr=0.1, mu=3.0, k=3,
                          stop=500, snapshot_steps=[500], sampler="collapsed")  # fmt: skip
    assert embedded["status"] == -1
    np.testing.assert_array_equal(np.array(embedded["W"]), W[0])
    np.testing.assert_array_equal(np.array(embedded["spectrum"]), eig[0, -1])
