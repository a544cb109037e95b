"""Target kernels and spectra, :eq:`free-scalar-target`."""

import json
import re

import numpy as np
import pytest

import dysonlearn as dl


def test_free_scalar_spectrum_is_the_lattice_dispersion():
    for n, m in [(10, 2.0), (7, 0.5), (2, 1.0)]:
        t = dl.targets.free_scalar(n=n, m=m)
        k = np.arange(n)
        np.testing.assert_allclose(t.spectrum, np.sort(m**2 + 4 * np.sin(np.pi * k / n) ** 2))
        np.testing.assert_allclose(t.covariance @ t.kernel, np.eye(n), atol=1e-12)


def test_reference_target_values():
    t = dl.targets.free_scalar(n=10, m=2.0)
    expected = [4, 4.382, 4.382, 5.382, 5.382, 6.618, 6.618, 7.618, 7.618, 8]
    np.testing.assert_allclose(t.spectrum, expected, atol=1e-3)
    x_star = [1, 1.382, 1.382, 2.382, 2.382, 3.618, 3.618, 4.618, 4.618, 5]
    np.testing.assert_allclose(t.learnt_spectrum(3.0), x_star, atol=1e-3)


def test_from_spectrum_and_from_kernel():
    t = dl.targets.from_spectrum([3.0, 1.0, 2.0])
    np.testing.assert_allclose(t.spectrum, [1, 2, 3])
    K = np.array([[2.0, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(dl.targets.from_kernel(K).covariance, np.linalg.inv(K))
    assert dl.targets.Target.from_dict(t.to_dict()) == t


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: dl.targets.free_scalar(n=1, m=2.0), "target.n: must be an integer >= 2"),
        (lambda: dl.targets.free_scalar(n=10, m=0.0), "target.m: must be a finite number > 0"),
        (lambda: dl.targets.from_spectrum([1.0, -2.0]), "target.values: every eigenvalue"),
        (lambda: dl.targets.from_kernel([[1.0, 2.0], [0.0, 1.0]]), "must be symmetric"),
        (lambda: dl.targets.from_kernel([[1.0, 2.0], [2.0, 1.0]]), "must be positive definite"),
        (lambda: dl.targets.from_kernel([1.0, 2.0]), "must be a square"),
        (lambda: dl.targets.Target.from_dict({"kind": "wave"}), "target.kind: must be one of"),
    ],
)
def test_invalid_targets_raise_config_errors(build, message):
    with pytest.raises(dl.ConfigError, match=re.escape(message)):
        build()


def test_targets_take_numbers_only_and_round_trip():
    # Strings, booleans and ragged lists are refused, not converted by NumPy.
    for values in (["1", "2"], [True, 2.0], [[1.0, 2.0], [3.0]], "12"):
        with pytest.raises(dl.ConfigError, match="target.values: must be a non-empty list"):
            dl.targets.from_spectrum(values)
    with pytest.raises(dl.ConfigError, match="target.matrix: must be a square"):
        dl.targets.from_kernel([["2", "0"], ["0", "2"]])
    with pytest.raises(dl.ConfigError) as err:
        dl.targets.Target.from_dict({"kind": "free_scalar", "n": 4, "values": [1.0]})
    assert err.value.problems == [
        "target.values: unknown key for kind 'free_scalar'; allowed: n, m"
    ]
    for target in (
        dl.targets.free_scalar(np.int64(6), np.float32(1.5)),
        dl.targets.from_spectrum(np.array([1.0, 2.0])),
        dl.targets.from_kernel(np.array([[2.0, 0.5], [0.5, 1.0]])),
    ):
        assert dl.targets.Target.from_dict(json.loads(json.dumps(target.to_dict()))) == target
