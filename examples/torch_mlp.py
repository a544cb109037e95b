"""The same tracking for a PyTorch model: tensors reach dysonlearn through DLPack.

    pip install torch && python examples/torch_mlp.py

dysonlearn never imports torch; ``SpectrumTracker.update`` reads any object with
``__dlpack__``. Pass ``weight.detach()``: a tensor that requires grad cannot be exported.
"""

from __future__ import annotations

import torch

import dysonlearn as dl


def main(steps=500, every=50, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(50, 200), torch.nn.Tanh(),
                                torch.nn.Linear(200, 1)).double()  # fmt: skip
    optimiser = torch.optim.SGD(model.parameters(), lr=0.05)
    teacher = torch.randn(50, dtype=torch.float64) / 50**0.5
    tracker = dl.SpectrumTracker(every=every, kind="gram")
    for step in range(steps + 1):
        tracker.update(step, model[0].weight.detach())
        x = torch.randn(32, 50, dtype=torch.float64)
        loss = ((model(x).squeeze(-1) - torch.tanh(x @ teacher)) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    result = tracker.result()
    print(f"{result.steps.size} spectra of W^T W, largest eigenvalue "
          f"{result.eigenvalues[0, 0, -1]:.3f} -> {result.eigenvalues[0, -1, -1]:.3f}")  # fmt: skip
    return result


if __name__ == "__main__":
    main()
