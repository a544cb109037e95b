"""The balancedness of a deep linear network and its drift under SGD
(:doc:`/theory/deep_linear`).

Gradient flow conserves D_l = W_{l+1}^T W_{l+1} - W_l W_l^T :eq:`dl-balancedness`; a
noiseless SGD step changes it at second order in the learning rate, and the noise added by
hand at first order, so that it diffuses :eq:`dl-balancedness-diffusion`. This module
measures ``|D_l(t) - D_l(0)|`` over an ensemble trained as :func:`dysonlearn.run_ensemble`
trains it (the model's ``initial_state`` and ``advance``, the same streams) and fits it
with a power law ``c t^gamma``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import backends
from ..config import DeepLinearConfig
from ..models import model_for
from ..seeding import BIT_GENERATORS, replica_seeds
from .statistics import jackknife

__all__ = [
    "BalancednessDrift",
    "DriftFit",
    "balanced_layers",
    "balancedness",
    "balancedness_drift",
    "diffusion_prefactor",
    "fit_drift",
    "split_layers",
]

# Replica blocks of the jackknife in fit_drift (as analysis.power_law): the error of an
# error ~ 1 / sqrt(2 (blocks - 1)) = 13%.
DEFAULT_BLOCKS = 32


def _widths(widths) -> tuple[int, ...]:
    try:
        values = tuple(int(n) for n in widths)
    except (TypeError, ValueError):
        raise ValueError(f"widths: must be a sequence of integers n_0, ..., n_L, got "
                         f"{widths!r}") from None  # fmt: skip
    if len(values) < 2 or min(values) < 1:
        raise ValueError(f"widths: must be at least two integers >= 1 (n_0, ..., n_L), got "
                         f"{list(values)}")  # fmt: skip
    return values


def split_layers(weights, widths) -> list[np.ndarray]:
    """The layers W_1, ..., W_L of deep linear replicas, as views of their weight vectors.

    Parameters
    ----------
    weights : numpy.ndarray
        (R, n_weights) (or any (..., n_weights)): each replica's layers W_1 (n_1, n_0), ...,
        W_L (n_L, n_{L-1}), row-major, concatenated, as ``result.weights`` of a deep linear
        run with ``keep_weights=True``.
    widths : sequence of int
        n_0, n_1, ..., n_L.

    Returns
    -------
    list of numpy.ndarray
        L arrays (R, n_l, n_{l-1}), views of ``weights`` (writing to them writes the
        weights).

    Raises
    ------
    ValueError
        If ``widths`` is not at least two integers >= 1 or the last axis of ``weights`` is
        not sum_l n_l n_{l-1} long.
    """
    widths = _widths(widths)
    weights = np.asarray(weights)
    n_weights = sum(widths[i] * widths[i + 1] for i in range(len(widths) - 1))
    if weights.ndim < 1 or weights.shape[-1] != n_weights:
        raise ValueError(f"weights: the last axis must hold the {n_weights} weights of widths "
                         f"{list(widths)}, got shape {weights.shape}")  # fmt: skip
    lead = weights.shape[:-1]
    layers, start = [], 0
    for i in range(len(widths) - 1):
        stop = start + widths[i + 1] * widths[i]
        layers.append(weights[..., start:stop].reshape(*lead, widths[i + 1], widths[i]))
        start = stop
    return layers


def balancedness(weights, widths) -> list[np.ndarray]:
    """The balancedness matrices D_l = W_{l+1}^T W_{l+1} - W_l W_l^T :eq:`dl-balancedness`.

    Parameters
    ----------
    weights : numpy.ndarray
        (R, n_weights) (or any (..., n_weights)) layers, as for :func:`split_layers`.
    widths : sequence of int
        n_0, n_1, ..., n_L.

    Returns
    -------
    list of numpy.ndarray
        L - 1 arrays (R, n_l, n_l), l = 1, ..., L - 1 (empty for one layer): symmetric,
        conserved by gradient flow.

    Raises
    ------
    ValueError
        As :func:`split_layers`.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.concatenate([np.eye(2).ravel(), 2 * np.eye(2).ravel()])[None, :]
    >>> balancedness(w, [2, 2, 2])[0][0]
    array([[3., 0.],
           [0., 3.]])
    """
    layers = split_layers(np.asarray(weights, dtype=np.float64), widths)
    return [np.swapaxes(upper, -1, -2) @ upper - lower @ np.swapaxes(lower, -1, -2)
            for lower, upper in zip(layers[:-1], layers[1:])]  # fmt: skip


def balanced_layers(config: DeepLinearConfig) -> np.ndarray:
    """A balanced factorisation of the teacher as one replica's weight vector: the layers of
    :attr:`DeepLinearConfig.balanced_layers <dysonlearn.DeepLinearConfig.balanced_layers>`
    (a minimum with every D_l = 0), row-major, concatenated.

    Parameters
    ----------
    config : DeepLinearConfig
        The widths and teacher.

    Returns
    -------
    numpy.ndarray
        (n_weights,) the layers W_1 .. W_L, row-major, concatenated.
    """
    return np.concatenate([layer.ravel() for layer in config.balanced_layers])


def diffusion_prefactor(config: DeepLinearConfig, weights) -> np.ndarray:
    """The root-mean-square drift of D_l per square root of a step, from the noise added
    by hand at first order :eq:`dl-balancedness-diffusion`.

    ``sqrt(E |D_l(t) - D_l(0)|_F^2) ~ c_l sqrt(t)``, with
    ``c_l^2 = 2 alpha^2 A^2 (n_l + 1) (|W_l|_F^2 + |W_{l+1}|_F^2) / B``, while the layers
    stay near ``weights``.

    Parameters
    ----------
    config : DeepLinearConfig
        lr alpha, noise A, batch size B and the widths.
    weights : numpy.ndarray
        (..., n_weights) layers at which the rate is evaluated.

    Returns
    -------
    numpy.ndarray
        (..., L - 1) c_l.

    Raises
    ------
    ValueError
        As :func:`split_layers`.
    """
    layers = split_layers(np.asarray(weights, dtype=np.float64), config.widths)
    sq = [np.sum(w * w, axis=(-1, -2)) for w in layers]
    scale = 2.0 * (config.lr * config.noise) ** 2 / config.batch_size
    rates = [scale * (config.widths[i] + 1) * (sq[i - 1] + sq[i])
             for i in range(1, config.n_layers)]  # fmt: skip
    if not rates:
        return np.zeros((*np.shape(weights)[:-1], 0))
    return np.sqrt(np.stack(rates, axis=-1))


def bottleneck_drift_rate(config: DeepLinearConfig) -> np.ndarray:
    """The noiseless drift of D_l per step at the balanced minimum of a bottleneck
    :eq:`dl-balancedness-sgd`.

    With k = min(n_0, ..., n_L) below the teacher's rank, the fluctuating batch covariance
    keeps the last layer's gradient alive at the minimum and ``|D_(L-1)(t) - D_(L-1)(0)|``
    grows as c t, c = lr^2 (sum_(i>k) kappa_i^2 / B) (sum_(i<=k) kappa_i^(4 (L-1)/L))^(1/2)
    (kappa descending); the other D_l do not drift at this order.

    Parameters
    ----------
    config : DeepLinearConfig
        The model (SGD, no noise: the rate of the second-order term alone).

    Returns
    -------
    numpy.ndarray
        (L - 1,) c_l; all zero when the narrowest width carries the teacher's rank.
    """
    kappa = np.sort(config.teacher_singular_values)[::-1]
    k = min(config.widths)
    rates = np.zeros(config.n_layers - 1)
    if rates.size:
        kept = np.sum(kappa[:k] ** (4.0 * (config.n_layers - 1) / config.n_layers))
        rates[-1] = config.lr**2 * np.sum(kappa[k:] ** 2) / config.batch_size * math.sqrt(kept)
    return rates


@dataclass(frozen=True)
class BalancednessDrift:
    """What :func:`balancedness_drift` measured.

    Parameters
    ----------
    config : DeepLinearConfig
        The configuration trained.
    seed : int
        The ensemble's seed.
    times : numpy.ndarray
        (T,) the steps t at which the drift was measured, increasing, >= 1.
    drift : numpy.ndarray
        (R, T, L - 1) ``|D_l(t) - D_l(0)|_F`` (Frobenius norm); NaN from a replica's divergence
        on.
    initial : numpy.ndarray
        (R, n_weights) the layers at step 0.
    weights : numpy.ndarray
        (R, T, n_weights) the layers at each of ``times``.
    failed : numpy.ndarray
        (R,) bool: the replica diverged.
    fail_step : numpy.ndarray
        (R,) int64: the step it diverged at, -1 if it did not.
    """

    config: DeepLinearConfig
    seed: int
    times: np.ndarray
    drift: np.ndarray
    initial: np.ndarray
    weights: np.ndarray
    failed: np.ndarray
    fail_step: np.ndarray

    def diffusion_rate(self, layer: int = 1) -> tuple[float, float]:
        """The root-mean-square drift per square root of a step,
        ``sqrt(E |D_l(t) - D_l(0)|^2 / t)``, what :func:`diffusion_prefactor` predicts
        :eq:`dl-balancedness-diffusion`.

        Per replica the mean over the times of ``|D_l(t) - D_l(0)|^2 / t``; the square root
        of their mean over the replicas that did not diverge.

        Parameters
        ----------
        layer : int
            l of D_l (1 <= l <= L - 1).

        Returns
        -------
        rate : float
        error : float
            Its standard error: that of the mean over replicas, halved for the square root
            (delta method).

        Raises
        ------
        ValueError
            If ``layer`` is out of range or fewer than 2 replicas survived.
        """
        if not 1 <= layer <= self.drift.shape[2]:
            raise ValueError(f"layer: must be in 1 .. {self.drift.shape[2]}, got {layer!r}")
        data = self.drift[:, :, layer - 1]
        per_replica = np.mean(data[np.all(np.isfinite(data), axis=1)] ** 2 / self.times, axis=1)
        if per_replica.size < 2:
            raise ValueError("diffusion_rate: needs at least 2 replicas that did not diverge")
        rate = math.sqrt(per_replica.mean())
        return rate, float(per_replica.std(ddof=1) / math.sqrt(per_replica.size) / (2 * rate))

    def fit(self, layer: int = 1, blocks: int | None = DEFAULT_BLOCKS) -> DriftFit:
        """:func:`fit_drift` of one D_l over every measured time.

        Parameters
        ----------
        layer : int
            l, 1 <= l <= L - 1.
        blocks : int, optional
            As for :func:`fit_drift`.

        Returns
        -------
        DriftFit

        Raises
        ------
        ValueError
            If ``layer`` is out of range, or as :func:`fit_drift`.
        """
        count = self.drift.shape[2]
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not (
                1 <= layer <= count):  # fmt: skip
            raise ValueError(f"layer: must be an integer l with 1 <= l <= L - 1 = {count}, "
                             f"got {layer!r}")  # fmt: skip
        return fit_drift(self.times, self.drift[:, :, layer - 1], blocks=blocks)


def _times(times, steps: int) -> np.ndarray:
    values = np.asarray(times)
    if values.ndim != 1 or values.size == 0 or not (
            np.issubdtype(values.dtype, np.integer)
            or (np.issubdtype(values.dtype, np.floating) and np.all(values == np.round(values)))):
        raise ValueError(f"times: must be a non-empty 1-d sequence of whole steps, got "
                         f"{times!r}")  # fmt: skip
    values = values.astype(np.int64)
    if values[0] < 1 or np.any(np.diff(values) <= 0) or values[-1] > steps:
        raise ValueError(f"times: must increase strictly within [1, steps = {steps}], got "
                         f"{values.tolist()}")  # fmt: skip
    return values


def balancedness_drift(
    config: DeepLinearConfig,
    replicas: int,
    seed: int,
    times=None,
    *,
    initial=None,
    bit_generator: str = "SFC64",
    normal_method: str = "ziggurat",
) -> BalancednessDrift:
    """Train a deep linear ensemble and measure ``|D_l(t) - D_l(0)|`` at given steps.

    Replica i runs on ``SeedSequence(seed).spawn(replicas)[i]`` and draws its initial
    layers from it as :func:`dysonlearn.run_ensemble` does
    (the model's ``initial_state``), then is trained by its ``advance`` (the kernel
    :func:`dysonlearn.kernels.deep_linear`) in chunks that end at ``times``: without
    ``initial``, the layers at ``config.steps`` are bit for bit those a run with
    ``keep_weights=True`` returns.

    Parameters
    ----------
    config : DeepLinearConfig
        The model; ``config.steps`` bounds ``times``.
    replicas : int
        R >= 1.
    seed : int
        The ensemble's seed (>= 0).
    times : sequence of int, optional
        The steps t at which to measure, increasing, in [1, config.steps]; default the
        configuration's snapshot steps after 0.
    initial : numpy.ndarray, optional
        (n_weights,) or (R, n_weights) layers to start from instead of the random draw
        (which is still made, so that the training streams are those of the ensemble):
        :func:`balanced_layers` starts every replica at a balanced minimum.
    bit_generator, normal_method : str
        As for :func:`dysonlearn.run_ensemble`.

    Returns
    -------
    BalancednessDrift

    Raises
    ------
    ValueError
        A configuration of another model, ``replicas`` below 1, a negative or non-integer
        ``seed``, ``times`` not increasing within [1, steps], ``initial`` of the wrong shape
        or not finite, an unknown ``bit_generator`` or ``normal_method``.
    """
    if not isinstance(config, DeepLinearConfig):
        raise ValueError(f"config: must be a DeepLinearConfig, got {type(config).__name__}")
    if isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer)) or replicas < 1:
        raise ValueError(f"replicas: must be an integer >= 1, got {replicas!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: must be an integer >= 0, got {seed!r}")
    if bit_generator not in BIT_GENERATORS:
        raise ValueError(f"bit_generator: must be one of {list(BIT_GENERATORS)}, got "
                         f"{bit_generator!r}")  # fmt: skip
    if normal_method not in ("ziggurat", "numpy"):
        raise ValueError(f"normal_method: must be 'ziggurat' or 'numpy', got {normal_method!r}")
    steps = _times(config.snapshot_steps[config.snapshot_steps > 0] if times is None
                   else times, config.steps)  # fmt: skip
    n_rep, n_weights = int(replicas), config.n_weights
    bit_gen_class = getattr(np.random, bit_generator)
    gens = [bit_gen_class(s) for s in replica_seeds(int(seed), n_rep)]
    failed = np.zeros(n_rep, np.uint8)
    fail_step = np.full(n_rep, -1, np.int64)
    # Through the model's protocol (initial_state, advance), as the ensemble trains it.
    model = model_for(config)
    no_snapshots = np.zeros(0, np.int64)
    no_spectra = np.empty((n_rep, 0, config.n_modes))
    with backends.single_threaded_blas():
        state = model.initial_state(config, [np.random.Generator(g) for g in gens])
        if initial is not None:
            start = np.asarray(initial, dtype=np.float64)
            if start.shape not in ((n_weights,), (n_rep, n_weights)):
                raise ValueError(f"initial: must have shape ({n_weights},) or ({n_rep}, "
                                 f"{n_weights}), got {start.shape}")  # fmt: skip
            if not np.all(np.isfinite(start)):
                raise ValueError("initial: must be finite")
            state.weights[:] = start
        d0 = balancedness(state.weights, config.widths)
        initial_weights = state.weights.copy()
        weights = np.empty((n_rep, steps.size, n_weights))
        drift = np.empty((n_rep, steps.size, config.n_layers - 1))
        step = 0
        for j, stop in enumerate(steps):
            model.advance(config, state, gens, step, int(stop), no_snapshots, no_spectra,
                          failed, fail_step, normal_method)  # fmt: skip
            step = int(stop)
            weights[:, j] = state.weights
            for i, (now, then) in enumerate(zip(balancedness(state.weights, config.widths), d0)):
                drift[:, j, i] = np.linalg.norm((now - then).reshape(n_rep, -1), axis=1)
            drift[failed.astype(bool), j] = np.nan
    return BalancednessDrift(
        config=config, seed=int(seed), times=steps, drift=drift, initial=initial_weights,
        weights=weights, failed=failed.astype(bool), fail_step=fail_step,
    )  # fmt: skip


@dataclass(frozen=True)
class DriftFit:
    """The power law ``<|D(t) - D(0)|> = c t^gamma`` fitted by :func:`fit_drift`.

    Parameters
    ----------
    c, c_err : float
        The prefactor (drift at t = 1) and its jackknife error.
    gamma, gamma_err : float
        The exponent and its jackknife error.
    chi2_dof : float
        chi^2 per degree of freedom of the weighted fit in logs (the times are correlated,
        so this is a rough guide only; NaN with 2 times).
    n_times : int
        Times fitted.
    replicas : int
        Replicas used (finite at every time).
    blocks : int
        Replica blocks left out in turn by the jackknife.
    """

    c: float
    c_err: float
    gamma: float
    gamma_err: float
    chi2_dof: float
    n_times: int
    replicas: int
    blocks: int

    def __call__(self, t):
        """The fitted law at steps ``t``.

        Parameters
        ----------
        t : array_like
            Steps.

        Returns
        -------
        numpy.ndarray
            c t^gamma.
        """
        return self.c * np.asarray(t, dtype=np.float64) ** self.gamma


def _wls(log_t: np.ndarray, means: np.ndarray, weights: np.ndarray):
    design = np.column_stack([np.ones_like(log_t), log_t])
    y = np.log(means)
    root = np.sqrt(weights)
    coef, *_ = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)
    return coef, float(np.sum(weights * (y - design @ coef) ** 2))


def fit_drift(times, drift, blocks: int | None = DEFAULT_BLOCKS) -> DriftFit:
    """Fit ``c t^gamma`` to the replica mean of a drift against steps.

    The mean over replicas at each time is fitted by weighted least squares in
    (log t, log mean), weights (mean / its standard error)^2. The errors of c and gamma come
    from the jackknife over replicas (:func:`~dysonlearn.analysis.jackknife`, the replicas
    cut into ``blocks`` blocks, the weights held fixed): replicas are independent, while one
    replica's drift at different times is not, so the jackknife is honest where the
    least-squares errors would not be.

    Parameters
    ----------
    times : array_like
        (T,) steps t > 0, at least 2 distinct.
    drift : array_like
        (R, T) drift of each replica at each time (a replica with a non-finite value is left
        out).
    blocks : int, optional
        Replica blocks of the jackknife (capped at the replicas); None: delete-one.

    Returns
    -------
    DriftFit

    Raises
    ------
    ValueError
        Mismatched shapes, fewer than 2 distinct positive times, fewer than 3 finite
        replicas, a mean that is not > 0 or has no spread over replicas, or ``blocks``
        below 2.
    """
    t = np.asarray(times, dtype=np.float64)
    data = np.asarray(drift, dtype=np.float64)
    if t.ndim != 1 or data.ndim != 2 or data.shape[1] != t.size:
        raise ValueError(f"times, drift: need times (T,) and drift (R, T), got shapes "
                         f"{t.shape} and {data.shape}")  # fmt: skip
    if np.any(~(t > 0)) or np.unique(t).size < 2:
        raise ValueError(f"times: need at least 2 distinct steps, all > 0, got {t.tolist()}")
    data = data[np.all(np.isfinite(data), axis=1)]
    if data.shape[0] < 3:
        raise ValueError(f"drift: need at least 3 replicas finite at every time, got "
                         f"{data.shape[0]}")  # fmt: skip
    if blocks is not None and (isinstance(blocks, bool) or int(blocks) < 2):
        raise ValueError(f"blocks: must be >= 2 or None, got {blocks!r}")
    means = data.mean(axis=0)
    errors = data.std(axis=0, ddof=1) / math.sqrt(data.shape[0])
    if np.any(~(means > 0)) or np.any(~(errors > 0)):
        raise ValueError("drift: the mean at every time must be > 0 with a spread over "
                         "replicas")  # fmt: skip
    weights = (means / errors) ** 2  # 1 / var(log mean)
    log_t = np.log(t)
    k = data.shape[0] if blocks is None else int(min(blocks, data.shape[0]))

    def statistic(subset: np.ndarray) -> np.ndarray:
        return _wls(log_t, subset.mean(axis=0), weights)[0]

    (log_c, gamma), (log_c_err, gamma_err) = jackknife(statistic, data, blocks=k)
    _, chi2 = _wls(log_t, means, weights)
    dof = t.size - 2
    c = math.exp(log_c)
    return DriftFit(
        c=c, c_err=c * float(log_c_err), gamma=float(gamma), gamma_err=float(gamma_err),
        chi2_dof=chi2 / dof if dof > 0 else math.nan, n_times=int(t.size),
        replicas=int(data.shape[0]), blocks=k,
    )  # fmt: skip
