"""SpectrumTracker: spectra of any weight matrix in anybody's training loop, against NumPy."""

import h5py
import numpy as np
import pytest
from dysonlearn._core import spectra
from scipy import stats

import dysonlearn as dl
from dysonlearn import analysis
from dysonlearn.tracker import SpectrumTracker, TrackerConfig, load_tracked


def reference(kind, w):
    """The spectrum numpy.linalg gives, ascending, batched over the leading axes."""
    if kind == "gram":
        return np.linalg.eigvalsh(np.swapaxes(w, -1, -2) @ w)
    if kind == "symmetric":
        return np.linalg.eigvalsh(w)
    return np.sort(np.linalg.svd(w, compute_uv=False), axis=-1)


def symmetric(rng, shape):
    a = rng.normal(size=shape)
    return a + np.swapaxes(a, -1, -2)


class DLPackOnly:
    """A stand-in tensor exposing only DLPack (as PyTorch and JAX CPU tensors do)."""

    def __init__(self, array):
        self._array = array
        self.exports = 0

    def __dlpack__(self, **kwargs):
        self.exports += 1
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


class ArrayOnly:
    """A stand-in tensor exposing only the ``__array__`` protocol."""

    def __init__(self, array):
        self._array = array

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._array, dtype=dtype)


SHAPES = [(5, 3), (3, 5), (4, 4), (2, 3, 5, 3), (2, 3, 3, 5), (6, 4, 4)]
CASES = [(kind, shape) for kind in ("gram", "singular") for shape in SHAPES] + [
    ("symmetric", shape) for shape in SHAPES if shape[-1] == shape[-2]
]


@pytest.mark.parametrize(("kind", "shape"), CASES)
def test_spectra_equal_numpy(kind, shape):
    """Single (N, M) and batched (..., N, M) input, N < M, N = M and N > M."""
    rng = np.random.default_rng(1)
    tracker = SpectrumTracker(every=1, kind=kind)
    ws = [symmetric(rng, shape) if kind == "symmetric" else rng.normal(size=shape)]
    ws.append(2.0 * ws[0] + 0.5)
    for step, w in enumerate(ws):
        assert tracker.update(step, w)
    res = tracker.result()
    n, m = shape[-2:]
    n_modes = min(n, m) if kind == "singular" else m
    n_rep = int(np.prod(shape[:-2]))
    assert res.eigenvalues.shape == (n_rep, 2, n_modes)
    assert np.all(np.diff(res.eigenvalues, axis=-1) >= 0)
    for s, w in enumerate(ws):
        expected = reference(kind, w).reshape(n_rep, n_modes)
        np.testing.assert_allclose(res.eigenvalues[:, s, :], expected, rtol=1e-10, atol=1e-10)
    assert res.config == TrackerConfig(kind, 1, shape)
    assert res.config.n_modes == n_modes


def test_gram_of_a_wide_matrix_has_zero_lowest_levels():
    w = np.random.default_rng(2).normal(size=(3, 7))
    values = SpectrumTracker(kind="gram")
    values.update(0, w)
    eig = values.result().eigenvalues[0, 0]
    # W^T W (7 x 7) has rank 3: the first 7 - 3 levels vanish up to rounding.
    np.testing.assert_allclose(eig[:4], 0.0, atol=1e-12)
    np.testing.assert_allclose(np.sqrt(eig[4:]), np.sort(np.linalg.svd(w)[1]), rtol=1e-12)


def test_core_kernels_check_their_input():
    x = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="square"):
        spectra.eigvalsh_batched(x)
    w = np.ones((2, 3, 4))
    w[1, 2, 0] = np.inf
    with pytest.raises(ValueError, match="matrix 1 of the batch has non-finite"):
        spectra.singular_values_batched(w)
    with pytest.raises(ValueError, match="at least one row"):
        spectra.gram_eigvalsh_batched(np.zeros((2, 0, 3)))
    assert spectra.gram_eigvalsh_batched(np.zeros((0, 2, 3))).shape == (0, 3)
    w = np.random.default_rng(3).normal(size=(2, 4, 3))
    before = w.copy()
    spectra.singular_values_batched(w)
    spectra.gram_eigvalsh_batched(w)
    np.testing.assert_array_equal(w, before)  # inputs are never modified


def test_dlpack_and_array_protocol_inputs():
    rng = np.random.default_rng(4)
    w = rng.normal(size=(2, 6, 4)).astype(np.float32)
    via_dlpack = DLPackOnly(w)
    tracker = SpectrumTracker(kind="singular")
    tracker.update(0, via_dlpack)
    tracker.update(1, ArrayOnly(w))
    tracker.update(2, w)
    assert via_dlpack.exports == 1
    res = tracker.result()
    expected = reference("singular", w.astype(np.float64))
    for s in range(3):
        np.testing.assert_allclose(res.eigenvalues[:, s, :], expected, rtol=1e-12)

    class Opaque:
        pass

    with pytest.raises(ValueError, match="W: must hold real numbers"):
        tracker.update(3, Opaque())


def test_every_force_and_step_validation():
    rng = np.random.default_rng(5)
    w = rng.normal(size=(4, 3))
    tracker = SpectrumTracker(every=3)
    recorded = [tracker.update(step, w) for step in range(11)]
    assert recorded == [s % 3 == 0 for s in range(11)]
    assert tracker.update(11, w, force=True)
    np.testing.assert_array_equal(tracker.result().steps, [0, 3, 6, 9, 11])
    # Steps must increase on every call, recorded or not.
    for bad in (11, 5):
        with pytest.raises(ValueError, match="step: steps must increase"):
            tracker.update(bad, w)
    with pytest.raises(TypeError, match="step: must be an integer"):
        tracker.update(12.0, w)
    with pytest.raises(ValueError, match="step: must be >= 0"):
        SpectrumTracker().update(-1, w)
    # np.int64 steps are fine; a step that is not recorded never touches W.
    assert tracker.update(np.int64(13), None) is False
    assert tracker.update(np.int64(15), w)


def test_invalid_input_is_refused_with_the_argument_named():
    rng = np.random.default_rng(6)
    with pytest.raises(dl.ConfigError, match="every: must be an integer >= 1") as error:
        SpectrumTracker(every=0, kind="eig")
    assert len(error.value.problems) == 2 and "kind: must be one of" in str(error.value)
    tracker = SpectrumTracker(kind="gram")
    with pytest.raises(ValueError, match="nothing recorded yet"):
        tracker.result()
    tracker.update(0, rng.normal(size=(2, 4, 3)))
    with pytest.raises(ValueError, match=r"W: shape changed from \(2, 4, 3\)"):
        tracker.update(1, rng.normal(size=(4, 3)))
    bad = rng.normal(size=(2, 4, 3))
    bad[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="W: has non-finite entries"):
        tracker.update(2, bad)
    with pytest.raises(ValueError, match="W: must be real"):
        tracker.update(3, np.ones((2, 4, 3), dtype=complex))
    with pytest.raises(ValueError, match="W: must be a matrix"):
        SpectrumTracker().update(0, np.ones(5))
    # A refused update records nothing and does not consume its step.
    tracker.update(3, rng.normal(size=(2, 4, 3)))
    np.testing.assert_array_equal(tracker.result().steps, [0, 3])

    sym = SpectrumTracker(kind="symmetric")
    with pytest.raises(ValueError, match="W: kind 'symmetric' needs square"):
        sym.update(0, np.ones((3, 4)))
    a = symmetric(rng, (5, 5))
    a[0, 1] += 1e-3
    with pytest.raises(ValueError, match=r"W: kind 'symmetric' needs symmetric.*max \|W - W\^T\|"):
        sym.update(0, a)
    # Rounding-level asymmetry (one float32 ulp) passes the default tolerance, sqrt(eps).
    b = symmetric(rng, (5, 5)).astype(np.float32)
    b[0, 1] = np.nextafter(b[0, 1], np.float32(np.inf))
    assert sym.update(0, b)
    with pytest.raises(ValueError, match="W: kind 'symmetric' needs symmetric"):
        SpectrumTracker(kind="symmetric", symmetry_tol=0.0).update(0, b)


def test_result_feeds_the_analysis():
    rng = np.random.default_rng(7)
    tracker = SpectrumTracker(every=2, kind="symmetric")
    for step in range(9):
        tracker.update(step, symmetric(rng, (30, 6, 6)))
    res = tracker.result()
    assert isinstance(res, dl.EnsembleResult)
    assert res.eigenvalues.shape == (30, 5, 6) and res.steps.tolist() == [0, 2, 4, 6, 8]
    assert not res.failed.any() and (res.fail_step == -1).all() and res.seed == 0
    assert res.config.to_dict() == {"kind": "symmetric", "every": 2, "shape": [30, 6, 6]}
    assert 0.3 < analysis.gap_ratio(res.eigenvalues) < 0.7
    spacings = analysis.level_spacings(res.spectra_at(4), [(0, 1), (2, 3)])
    assert spacings.shape == (30, 2) and (spacings >= 0).all()


def test_streaming_store_round_trips(tmp_path):
    rng = np.random.default_rng(8)
    path = tmp_path / "spectra.h5"
    memory = SpectrumTracker(every=5, kind="singular")
    streamed = SpectrumTracker(every=5, kind="singular", store=path)
    for step in range(21):
        w = rng.normal(size=(3, 7, 4))
        memory.update(step, w)
        streamed.update(step, w)
        if step == 10:
            # Complete between updates: another reader sees the snapshots so far.
            assert load_tracked(path).steps.tolist() == [0, 5, 10]
    with h5py.File(path, "r") as handle:
        assert handle.attrs["format"] == "dysonlearn-spectrum-tracker"
        assert handle.attrs["kind"] == "singular" and handle.attrs["every"] == 5
        np.testing.assert_array_equal(handle["steps"][...], [0, 5, 10, 15, 20])
        np.testing.assert_array_equal(handle["eigenvalues"][...], memory.result().eigenvalues)
        assert handle["eigenvalues"].shape == (3, 5, 4)
    res = streamed.result()
    np.testing.assert_array_equal(res.eigenvalues, memory.result().eigenvalues)
    assert res.config == memory.result().config == TrackerConfig("singular", 5, (3, 7, 4))
    with pytest.raises(ValueError, match="store: .* exists; pass overwrite=True"):
        SpectrumTracker(store=path)
    SpectrumTracker(store=path, overwrite=True)
    with pytest.raises(ValueError, match="holds no recorded spectrum"):
        load_tracked(path)


def test_tracking_a_numpy_network_from_marchenko_pastur_initialisation():
    """A two-layer tanh network trained by mini-batch SGD in plain NumPy, tracked from
    initialisation: the initial W^T W / N_h follows Marchenko-Pastur :eq:`marchenko-pastur`."""
    rng = np.random.default_rng(9)
    n_in, n_hidden, batch, lr, sigma_w = 100, 400, 32, 0.05, 0.5
    teacher = rng.normal(size=n_in) / np.sqrt(n_in)
    w = rng.normal(0.0, sigma_w, size=(n_hidden, n_in))  # first layer, (N_h, N_v)
    a = rng.normal(0.0, 1.0 / np.sqrt(n_hidden), size=n_hidden)
    tracker = SpectrumTracker(every=50, kind="singular")
    losses = []
    for step in range(301):
        tracker.update(step, w)
        x = rng.normal(size=(batch, n_in))
        y = np.tanh(x @ teacher)
        h = np.tanh(x @ w.T / np.sqrt(n_in))
        err = h @ a - y
        losses.append(np.mean(err**2))
        grad_h = np.outer(err, a) * (1 - h**2) / batch
        a -= lr * h.T @ err / batch
        w -= lr * grad_h.T @ x / np.sqrt(n_in)
    res = tracker.result()
    assert res.steps.tolist() == list(range(0, 301, 50))
    assert res.eigenvalues.shape == (1, 7, n_in)
    assert np.mean(losses[-50:]) < 0.8 * np.mean(losses[:50])  # it learnt something
    # W moves little in this lazy regime (2e-4 of the top singular value), but it moves.
    moved = np.abs(res.eigenvalues[0, -1] - res.eigenvalues[0, 0]).max()
    assert moved > 1e-5 * res.eigenvalues[0, 0, -1]

    y0 = res.eigenvalues[0, 0] ** 2 / n_hidden  # eigenvalues of W^T W / N_h at step 0
    ratio = n_in / n_hidden
    # E[mean level] = sigma_w^2 exactly; its relative standard error is
    # sqrt(2 / (N_h N_v)) = 0.7 per cent, so 5 per cent is 7 standard errors.
    assert np.mean(y0) == pytest.approx(sigma_w**2, rel=0.05)
    edges = sigma_w**2 * (1 - np.sqrt(ratio)) ** 2, sigma_w**2 * (1 + np.sqrt(ratio)) ** 2
    # Edge fluctuations are O(N^(-2/3)) (Tracy-Widom), about 5 per cent of the edge here.
    assert edges[0] * 0.85 < y0.min() and y0.max() < edges[1] * 1.1
    # The levels against the CDF of marchenko_pastur_pdf (integrated here by the
    # trapezoidal rule). KS assumes independent draws; levels of one matrix repel each
    # other and fluctuate less than that, so p > 1e-3 is a loose test.
    grid = np.linspace(*edges, 20001)
    pdf = analysis.marchenko_pastur_pdf(grid, ratio, sigma_w)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    assert stats.kstest(y0, lambda v: np.interp(v, grid, cdf / cdf[-1])).pvalue > 1e-3
