"""The kernels' standard normal sampler (the ziggurat of _core/dl_normal.h)."""

import numpy as np
import pytest
from scipy import stats

from dysonlearn import kernels

N = 4_000_000


@pytest.fixture(scope="module", params=["SFC64", "PCG64"])
def sample(request):
    return kernels.standard_normals(getattr(np.random, request.param)(2024), N)


def test_moments_match_the_standard_normal(sample):
    # Standard errors of the sample mean, variance, third and fourth moments for N draws:
    # sqrt(1/N), sqrt(2/N), sqrt(15/N), sqrt(96/N); five of them is the tolerance.
    se = np.sqrt(np.array([1, 2, 15, 96]) / N)
    moments = np.array([sample.mean(), sample.var(), np.mean(sample**3), np.mean(sample**4)])
    assert np.all(np.abs(moments - [0, 1, 0, 3]) < 5 * se)


def test_histogram_matches_the_normal_density(sample):
    """Chi-squared over 120 bins across the whole line, tails and the tail edge r included."""
    edges = np.concatenate([[-np.inf], np.linspace(-6, 6, 119), [np.inf]])
    expected = N * np.diff(stats.norm.cdf(edges))
    counts, _ = np.histogram(sample, edges)
    keep = expected > 20
    chi2 = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    # For a correct sampler chi2 ~ chi2(dof): a p-value below 1e-4 would be a real defect.
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-4


def test_tails_beyond_the_ziggurat_base_are_sampled(sample):
    # The base layer hands |x| > r = 3.654 to an exact tail method; its frequency is
    # 2 * Phi(-r) = 2.58e-4, about 1030 of 4e6 draws, Poisson error ~32: allow 5 of them.
    beyond = np.count_nonzero(np.abs(sample) > 3.6541528853610088)
    expected = N * 2 * stats.norm.sf(3.6541528853610088)
    assert abs(beyond - expected) < 5 * np.sqrt(expected)
    assert np.abs(sample).max() > 4.5  # the tail is reached, not clipped


def test_numpy_method_is_numpys_stream():
    a = kernels.standard_normals(np.random.PCG64(7), 1000, "numpy")
    b = np.random.Generator(np.random.PCG64(7)).standard_normal(1000)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="normal_method: must be one of"):
        kernels.standard_normals(np.random.PCG64(7), 10, "box-muller")
