"""Same seed, same bits: the arrays of small seeded runs of every model, sampler and kernel
entry point, against those committed before a refactor (see ``fingerprint_runs.py``).

A refactor must not change a single number. The committed arrays were taken on one BLAS
kernel family (recorded beside them); on the same family the comparison is bitwise. On a
different CPU, OpenBLAS picks other kernels whose rounding differs in the last bits, which
a few dozen steps amplify at most to ~1e-12 relative, so there the test allows 1e-9 (still
far below any change of an update rule, which moves the arrays at the 1e-3 level).
"""

from __future__ import annotations

import numpy as np
import pytest

from fingerprint_runs import DATA, blas_architecture, runs


@pytest.fixture(scope="module")
def committed():
    with np.load(DATA) as data:
        return {name: data[name] for name in data.files}


@pytest.fixture(scope="module")
def current():
    return runs()


def test_every_run_is_fingerprinted(committed, current):
    assert sorted(current) == sorted(name for name in committed if name != "__blas__")


def test_same_seed_same_bits(committed, current):
    same_blas = str(committed["__blas__"]) == blas_architecture()
    changed = []
    for name, array in current.items():
        expected = committed[name]
        assert array.shape == expected.shape and array.dtype == expected.dtype, name
        if same_blas:
            # NaN at snapshots after a divergence: compare the bit patterns.
            equal = np.array_equal(array, expected, equal_nan=array.dtype.kind == "f")
        else:
            equal = np.allclose(array, expected, rtol=1e-9, atol=1e-12, equal_nan=True)
        if not equal:
            changed.append(name)
    assert not changed, f"changed for the same seed: {', '.join(changed)}"
