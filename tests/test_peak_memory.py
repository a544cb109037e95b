"""Peak memory of a run: 1000 RBM replicas at N = 100 with 5 snapshots, measured in a fresh
process against the stated formula (docs/guide/performance.rst, "Cost against N").

The formula, for R replicas trained in blocks of b (serial backend, spectra gathered in
memory):

    peak - baseline <= R r + b (s + r) + w

with r = ``result_bytes_per_replica`` (S x N doubles of spectra and 16 bytes of flags, held
for all R replicas to the end), s = ``state_bytes_per_replica`` (weights and chains of one
replica in training), b the largest block of ``plan_blocks`` (at most 256 replicas) and w =
``shared_bytes`` (the kernel's work space and the target's matrices, once per process). The
baseline is the process's resident memory just before the run, after the imports and a
two-replica warm-up run (BLAS and LAPACK allocate their buffers at their first call).
"""

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, math, re
    import dysonlearn as dl
    from dysonlearn.ensemble import plan_blocks, record_bytes
    from dysonlearn.models import model_for

    def status(field):
        text = open("/proc/self/status").read()
        return 1024 * int(re.search(field + r":\\s+(\\d+)", text).group(1))

    n, replicas = 100, 1000
    config = dl.RBMConfig(
        n_visible=n, n_hidden=n, mu=3.0, sigma_h=1.0, k=3, lr=0.1, batch_size=16,
        steps=5, snapshots=5, init_std=0.1 * math.sqrt(10 / n), sampler="gibbs",
        target=dl.targets.free_scalar(n=n, m=2.0),
    )
    dl.run_ensemble(config.replace(steps=1, snapshots=1), replicas=2, seed=1,
                    backend="serial", progress=False)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident size
    baseline = status("VmRSS")
    result = dl.run_ensemble(config, replicas=replicas, seed=1, backend="serial",
                             progress=False)
    peak = status("VmHWM")
    model = model_for(config)
    blocks = plan_blocks(replicas, 1, model.cost_per_replica_step(config) * config.steps,
                         None, model.bytes_per_replica(config), record_bytes(config))
    print(json.dumps({
        "baseline": baseline, "peak": peak, "failed": int(result.failed.sum()),
        "shape": list(result.eigenvalues.shape),
        "block": max(stop - start for start, stop in blocks),
        "r": config.result_bytes_per_replica, "s": config.state_bytes_per_replica,
        "w": config.shared_bytes,
    }))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_memory_of_1000_replicas_at_n_100_stays_within_the_formula():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True, timeout=120)  # fmt: skip
    m = json.loads(out.stdout.strip().splitlines()[-1])
    assert m["shape"] == [1000, 6, 100] and m["failed"] == 0
    # r: 6 spectra of 100 doubles and the flags; s: W (100 x 100) and chains (16 x 100)
    assert (m["r"], m["s"]) == (8 * 6 * 100 + 16, 8 * 100 * (100 + 16))
    assert m["block"] <= 256
    formula = 1000 * m["r"] + m["block"] * (m["s"] + m["r"]) + m["w"]
    # Allowance: the Python objects of a block (a SeedSequence, a BitGenerator and a
    # Generator per replica, about 2 KB each), the temporaries of the initial state (one
    # N x N array at a time) and the allocator's rounding to pages: 4 MB, about 13% of the
    # formula's 30 MB.
    allowance = 4 * 2**20
    grown = m["peak"] - m["baseline"]
    assert grown <= formula + allowance, (grown, formula)
