"""The examples run: the NumPy network (always) and the PyTorch one (when torch is there)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_numpy_two_layer_example(tmp_path):
    example = load("numpy_two_layer")
    result, losses, sigma_w = example.train(steps=300, every=50)
    assert result.steps.tolist() == [0, 50, 100, 150, 200, 250, 300]
    assert result.eigenvalues.shape == (1, 7, 100)
    assert losses[-50:].mean() < losses[:50].mean()  # it learns
    # Initial spectrum of W^T W / N_h: mean sigma_w^2 = 0.25 (Marchenko-Pastur's mean);
    # 100 eigenvalues of one matrix fluctuate by far less than 2 per cent about it.
    assert np.mean(result.eigenvalues[0, 0] ** 2 / 400) == pytest.approx(sigma_w**2, rel=0.02)
    (figure,) = example.figures(result, losses, sigma_w, tmp_path)
    assert figure.stat().st_size > 10_000


def test_torch_example():
    pytest.importorskip("torch")
    result = load("torch_mlp").main(steps=100, every=50)
    assert result.eigenvalues.shape == (1, 3, 50)
