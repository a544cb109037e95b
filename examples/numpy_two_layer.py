"""Weight spectra of a two-layer network trained by mini-batch SGD, in plain NumPy.

The first layer W (N_h x N_in) starts at W_ij ~ N(0, sigma_w^2): the eigenvalues of
W^T W / N_h then follow Marchenko-Pastur :eq:`marchenko-pastur`. SGD on a teacher task moves them;
a ``dysonlearn.SpectrumTracker`` records them every ``every`` steps, and every dysonlearn
analysis applies to what it returns.

    python examples/numpy_two_layer.py [OUTDIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import dysonlearn as dl


def train(steps=2000, n_in=100, n_hidden=400, batch=32, lr=0.05, sigma_w=0.5, every=100,
          seed=0):  # fmt: skip
    """Train y = v . tanh(W x) on a random teacher of the same form; track W's spectrum."""
    rng = np.random.default_rng(seed)
    teacher_w = rng.normal(0, 1 / np.sqrt(n_in), (8, n_in))
    teacher_v = rng.normal(0, 1, 8)
    W = rng.normal(0, sigma_w, (n_hidden, n_in))
    v = rng.normal(0, 1 / np.sqrt(n_hidden), n_hidden)
    tracker = dl.SpectrumTracker(every=every, kind="singular")
    losses = []
    for step in range(steps + 1):
        tracker.update(step, W)
        x = rng.normal(size=(batch, n_in))
        y = np.tanh(x @ teacher_w.T) @ teacher_v
        hidden = np.tanh(x @ W.T / np.sqrt(n_in))
        error = hidden @ v - y
        losses.append(0.5 * np.mean(error**2))
        grad_v = hidden.T @ error / batch
        grad_hidden = np.outer(error, v) * (1 - hidden**2)
        W -= lr * grad_hidden.T @ x / (batch * np.sqrt(n_in))
        v -= lr * grad_v
    return tracker.result(), np.array(losses), sigma_w


def figures(result, losses, sigma_w, outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    n_hidden, n_in = result.config.shape[-2:]
    squares = result.eigenvalues[0] ** 2 / n_hidden  # eigenvalues of W^T W / N_h
    fig = Figure(figsize=(7.0, 2.6), layout="constrained")
    FigureCanvasAgg(fig)
    left, middle, right = fig.subplots(1, 3)
    ratio = n_in / n_hidden
    y = np.linspace(0, sigma_w**2 * (1 + np.sqrt(ratio)) ** 2 * 1.05, 400)
    left.hist(squares[0], bins=dl.analysis.freedman_diaconis_bins(squares[0]), density=True,
              color="0.8", label="step 0")  # fmt: skip
    left.plot(y, dl.analysis.marchenko_pastur_pdf(y, ratio, sigma_w), label="Marchenko-Pastur")
    left.set(xlabel=r"eigenvalue of $W^TW/N_h$", ylabel="density", title="initialisation")
    left.legend(frameon=False)
    # In this (lazy) regime the spectrum stays near Marchenko-Pastur: show how far each
    # sorted eigenvalue has moved from its initial value.
    moved = np.abs(squares[1:] - squares[0]) / squares[0]
    middle.semilogy(result.steps[1:], np.median(moved, axis=1), label="median level")
    middle.semilogy(result.steps[1:], moved.max(axis=1), label="most moved level")
    middle.set(xlabel="step", ylabel="relative change since step 0", title="during training")
    middle.legend(frameon=False)
    right.semilogy(losses, lw=0.5)
    right.set(xlabel="step", ylabel="loss", title="teacher task")
    path = outdir / "numpy_two_layer.png"
    fig.savefig(path, dpi=150)
    return [path]


def main(outdir="dysonlearn-examples", steps=2000) -> list[Path]:
    result, losses, sigma_w = train(steps=steps)
    print(f"recorded {result.steps.size} spectra of {result.n_modes} singular values; "
          f"gap ratio at the end {dl.analysis.gap_ratio(result.eigenvalues[:, -1]):.3f} "
          "(GOE 0.531, Poisson 0.386)")  # fmt: skip
    return figures(result, losses, sigma_w, Path(outdir))


if __name__ == "__main__":
    print("wrote", *main(*sys.argv[1:2]))
