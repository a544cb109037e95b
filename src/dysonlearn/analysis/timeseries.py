"""Statistics of time series: autocorrelation, errors of time means, stationarity and the
relaxation time of a mode (:doc:`/theory/time_series`).

A recording of one replica is a series of correlated records; records of different
replicas are independent. Every function takes a plain array and the axis that is time
(``axis``); the estimators work on all series of the array at once. Functions that take
``replica_axis`` treat that axis as independent replicas, each a series along ``axis``, and
take their errors from the jackknife over replicas (:eq:`jackknife-error`).

A series holding a non-finite value gives NaN for that series: drop diverged replicas
first (:func:`time_series_summary` does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft

from ..validation import Problems, check_int, check_positive, is_int
from .statistics import jackknife

__all__ = [
    "AutocorrelationDecay",
    "StationarityTest",
    "autocorrelation",
    "autocorrelation_decay",
    "effective_sample_size",
    "integrated_autocorrelation_time",
    "stationarity_test",
    "time_series_mean",
    "time_series_summary",
]

MIN_RECORDS = 4
"""The shortest series the estimators accept (each third of it, for the stationarity test)."""
SOKAL_C = 5.0
"""The default c of Sokal's window W >= c tau_int(W) :eq:`sokal-window`."""
DECAY_CUT = 0.1
"""The autocorrelation below which lags are left out of the exponential fit :eq:`acf-decay`."""
STATIONARITY_THRESHOLD = 3.0
"""|z| above this flags a series as not stationary."""


# -- input ------------------------------------------------------------------------------------


def _axis(problems: Problems, field: str, value, ndim: int) -> int | None:
    """``value`` as an axis index in [0, ndim), or None after recording a problem."""
    if not is_int(value) or not -ndim <= value < ndim:
        problems.add(field, f"must be an integer axis in [{-ndim}, {ndim}) of x", value)
        return None
    return int(value) % ndim


def _series(
    x, axis, replica_axis=None, *, min_records: int = MIN_RECORDS, problems: Problems | None = None
) -> np.ndarray:
    """x as float64 with time last and, when ``replica_axis`` is given, replicas first.

    Every problem (with those already in ``problems``) is raised at once as a ConfigError.
    """
    problems = Problems() if problems is None else problems
    try:
        data = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        problems.add("x", "must be an array of real numbers", x)
        problems.raise_if_any()
    if data.ndim == 0:
        problems.add("x", "must have at least one axis (time)", x)
        problems.raise_if_any()
    time = _axis(problems, "axis", axis, data.ndim)
    replica = None
    if replica_axis is not None:
        replica = _axis(problems, "replica_axis", replica_axis, data.ndim)
        if data.ndim < 2:
            problems.add("x", "must have a replica axis and a time axis", data.shape)
        elif replica is not None and replica == time:
            problems.add("replica_axis", f"must differ from axis ({axis!r})", replica_axis)
        elif replica is not None and data.shape[replica] < 2:
            problems.add("x", f"needs at least 2 replicas along replica_axis {replica_axis!r}",
                         data.shape)  # fmt: skip
    if time is not None and data.shape[time] < min_records:
        problems.add(
            "x",
            f"the series along axis {axis!r} must have at least {min_records} records",
            data.shape,
        )
    problems.raise_if_any()
    if replica is None:
        return np.moveaxis(data, time, -1)
    return np.moveaxis(data, (replica, time), (0, -1))


def _value(array):
    """A 0-d result as a Python scalar, arrays as they are."""
    array = np.asarray(array)
    return array.item() if array.ndim == 0 else array


# -- estimators on (..., T) arrays, time last ----------------------------------------------


def _acf(y: np.ndarray) -> np.ndarray:
    """rho(t), t = 0..T-1, of each series along the last axis :eq:`acf`, by FFT.

    Zero padding to at least 2T makes the circular correlation of the FFT the linear one.
    """
    records = y.shape[-1]
    size = fft.next_fast_len(2 * records, real=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = y - y.mean(axis=-1, keepdims=True)
        spectrum = fft.rfft(centred, n=size, axis=-1)
        power = spectrum.real**2 + spectrum.imag**2
        cov = fft.irfft(power, n=size, axis=-1)[..., :records]
        return cov / cov[..., :1]


def _tau_from_acf(rho: np.ndarray, c: float) -> np.ndarray:
    """tau_int :eq:`tau-int` at Sokal's window :eq:`sokal-window` of each ACF (..., T)."""
    # tau(W) = 1 + 2 sum_{t=1}^{W} rho(t) = 2 sum_{t=0}^{W} rho(t) - 1, for W = 0..T-1.
    tau = 2.0 * np.cumsum(rho, axis=-1) - 1.0
    window = np.arange(rho.shape[-1])
    closed = window >= c * tau
    # The smallest W that closes; a window that never closes (T too short for this tau, or
    # NaN) falls back on the longest W, whose tau is then unreliable (or NaN).
    w = np.where(closed.any(axis=-1), closed.argmax(axis=-1), rho.shape[-1] - 1)
    return np.take_along_axis(tau, w[..., None], axis=-1)[..., 0]


def _mean_error(y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Time mean and its error sqrt(var tau_int / T) :eq:`ts-mean-error` of series (..., T)."""
    mean = y.mean(axis=-1)
    var = y.var(axis=-1)
    # A series of zero variance has no ACF (NaN), but its mean is exact.
    tau = np.where(var > 0, _tau_from_acf(_acf(y), c), 1.0)
    return mean, np.sqrt(var * tau / y.shape[-1])


def _check_c(problems: Problems, c) -> None:
    check_positive(problems, "c", c)


# -- public functions ------------------------------------------------------------------------


def autocorrelation(x, axis: int = -1):
    """The normalised autocorrelation function rho(t) of each series :eq:`acf`.

    rho(t) = C(t) / C(0) with C(t) = (1/T) sum_{s=0}^{T-1-t} (x_s - m)(x_{s+t} - m) and m the
    series' mean: the estimator divides by T at every lag (not by T - t), which keeps it
    positive definite and its tail small. Computed by FFT with zero padding, in
    O(T log T).

    Parameters
    ----------
    x : array_like
        The series, time along ``axis``.
    axis : int, optional
        The time axis.

    Returns
    -------
    numpy.ndarray
        rho(t) for t = 0..T-1 along ``axis`` (the shape of ``x``); rho(0) = 1. NaN for a
        series with a non-finite value or of zero variance.

    Raises
    ------
    ConfigError
        ``axis`` out of range, or fewer than 4 records along it.

    Examples
    --------
    >>> import numpy as np
    >>> rho = autocorrelation(np.array([1.0, -1.0, 1.0, -1.0]))
    >>> rho.round(2).tolist()
    [1.0, -0.75, 0.5, -0.25]
    """
    y = _series(x, axis)
    return np.moveaxis(_acf(y), -1, axis)


def integrated_autocorrelation_time(x, axis: int = -1, *, c: float = SOKAL_C):
    """tau_int = 1 + 2 sum_{t=1}^{W} rho(t) of each series, at Sokal's window :eq:`tau-int`.

    W is the smallest lag with W >= c tau_int(W) :eq:`sokal-window`. The convention counts
    records: white noise has tau_int = 1, an AR(1) series x_t = phi x_{t-1} + e_t has
    (1 + phi) / (1 - phi), and a series of T records holds about T / tau_int independent
    ones (:func:`effective_sample_size`).

    The estimate is biased low by the lags beyond W (for an exponential ACF by a fraction
    about e^{-2c}, 5e-5 at c = 5) and by the subtraction of the series' mean (of relative
    order W / T), and its statistical error is about tau_int sqrt(2 (2W + 1) / T).
    It is reliable when the series is long compared with tau_int (T > ~50 tau_int); on
    shorter series it underestimates, and when no W <= T - 1 closes the window (T < ~c
    tau_int) the sum over all lags is returned, which is only a lower bound.

    Parameters
    ----------
    x : array_like
        The series, time along ``axis``.
    axis : int, optional
        The time axis.
    c : float, optional
        Sokal's window constant, > 0; 5 suits ACFs that decay about exponentially (larger
        c: less bias, more noise).

    Returns
    -------
    float or numpy.ndarray
        tau_int in records (multiply by the record interval for steps); the shape of ``x``
        without ``axis``. NaN for a series with a non-finite value or of zero variance.

    Raises
    ------
    ConfigError
        ``axis`` out of range, fewer than 4 records along it, or c not a positive number.

    Examples
    --------
    >>> import numpy as np
    >>> white = np.random.default_rng(1).standard_normal(100_000)
    >>> round(integrated_autocorrelation_time(white), 1)
    1.0
    """
    problems = Problems()
    _check_c(problems, c)
    y = _series(x, axis, problems=problems)
    return _value(_tau_from_acf(_acf(y), c))


def effective_sample_size(x, axis: int = -1, *, c: float = SOKAL_C):
    """T / tau_int: how many independent records a series of T correlated ones is worth.

    Parameters
    ----------
    x : array_like
        The series, time along ``axis``.
    axis : int, optional
        The time axis.
    c : float, optional
        Sokal's window constant (see :func:`integrated_autocorrelation_time`).

    Returns
    -------
    float or numpy.ndarray
        The shape of ``x`` without ``axis``; NaN where tau_int is.

    Raises
    ------
    ConfigError
        As :func:`integrated_autocorrelation_time`.
    """
    problems = Problems()
    _check_c(problems, c)
    y = _series(x, axis, problems=problems)
    return _value(y.shape[-1] / _tau_from_acf(_acf(y), c))


def time_series_mean(x, axis: int = -1, *, replica_axis: int | None = None, c: float = SOKAL_C):
    """Time mean of each series and its error, which accounts for the autocorrelation.

    Without ``replica_axis``, each series along ``axis`` is one recording and the error is
    sqrt(var tau_int / T) :eq:`ts-mean-error`, var the series' variance and tau_int its own
    integrated autocorrelation time: it inherits the bias of tau_int, so use it on series
    much longer than tau_int (T > ~50 tau_int).

    With ``replica_axis``, the entries along it are independent replicas, each a series
    along ``axis``; the result is the mean over replicas of the per-replica time means, and
    its error is the delete-one jackknife over replicas (:func:`jackknife`,
    :eq:`jackknife-error`). That error needs no autocorrelation time, so it is valid however
    long the correlations within a replica, and even on replicas shorter than tau_int; it is
    the one to use whenever there are a few replicas (its own relative error is about
    1 / sqrt(2 (R - 1)) for R replicas).

    Parameters
    ----------
    x : array_like
        The series, time along ``axis``.
    axis : int, optional
        The time axis.
    replica_axis : int, optional
        The axis of independent replicas (at least 2), if any.
    c : float, optional
        Sokal's window constant for tau_int (without replicas).

    Returns
    -------
    mean : float or numpy.ndarray
        The time mean (over replicas too, with ``replica_axis``); the shape of ``x``
        without ``axis`` (and ``replica_axis``).
    error : float or numpy.ndarray
        Its standard error, same shape. NaN for a series with a non-finite value.

    Raises
    ------
    ConfigError
        An axis out of range, the two axes equal, fewer than 4 records or 2 replicas, or c
        not a positive number.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(2).standard_normal((8, 1000)) + 5.0
    >>> mean, error = time_series_mean(x, axis=1, replica_axis=0)
    >>> abs(mean - 5.0) < 3 * error
    True
    """
    problems = Problems()
    _check_c(problems, c)
    y = _series(x, axis, replica_axis, problems=problems)
    if replica_axis is None:
        mean, error = _mean_error(y, c)
        return _value(mean), _value(error)
    mean, error = jackknife(lambda d: d.mean(axis=0), y.mean(axis=-1))
    return _value(mean), _value(error)


@dataclass(frozen=True)
class StationarityTest:
    """The means of the first and last thirds of a recording, compared
    (:doc:`/theory/time_series`).

    Parameters
    ----------
    z : float or numpy.ndarray
        Per series (or per mode, over replicas): (mean of the last third - mean of the first
        third) / its standard error.
    flagged : bool or numpy.ndarray
        abs(z) > threshold: the series is not stationary at that level.
    threshold : float
        The threshold on abs(z).
    """

    z: float | np.ndarray
    flagged: bool | np.ndarray
    threshold: float


def stationarity_test(
    x,
    axis: int = -1,
    replica_axis: int | None = None,
    threshold: float = STATIONARITY_THRESHOLD,
    *,
    c: float = SOKAL_C,
) -> StationarityTest:
    """Whether each recording is stationary: its first and last thirds have the same mean.

    With T records, the first and last floor(T/3) are compared; the middle third
    separates them, so that for T >> tau_int their means are nearly independent.

    - Without ``replica_axis``: z = (m_last - m_first) / sqrt(e_first^2 + e_last^2), each
      error from :func:`time_series_mean` on its third (tau_int of that third).
    - With ``replica_axis``: the per-replica difference d_r = m_last,r - m_first,r, and
      z = mean(d) / its delete-one jackknife error over replicas, valid whatever the
      autocorrelation within a replica. With R replicas z follows Student's t law with R - 1
      degrees of freedom: with few replicas, large abs(z) is more common than for a normal
      variable (for R = 10, abs(z) > 3 in 1.5% of stationary recordings, against 0.27%).

    A drift, or a relaxation not finished when the recording starts, shows as large
    abs(z). A series with a non-finite value gives z = NaN, not flagged.

    Parameters
    ----------
    x : array_like
        The series, time along ``axis``.
    axis : int, optional
        The time axis.
    replica_axis : int, optional
        The axis of independent replicas (at least 2), if any.
    threshold : float, optional
        abs(z) above this flags a series, > 0.
    c : float, optional
        Sokal's window constant for tau_int (without replicas).

    Returns
    -------
    StationarityTest
        z and flagged with the shape of ``x`` without ``axis`` (and ``replica_axis``).

    Raises
    ------
    ConfigError
        An axis out of range, the two axes equal, fewer than 12 records (4 per third) or 2
        replicas, or threshold or c not a positive number.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(3).standard_normal(3000)
    >>> drift = 1e-3 * np.arange(3000)
    >>> bool(stationarity_test(x).flagged), bool(stationarity_test(x + drift).flagged)
    (False, True)
    """
    problems = Problems()
    check_positive(problems, "threshold", threshold)
    _check_c(problems, c)
    y = _series(x, axis, replica_axis, min_records=3 * MIN_RECORDS, problems=problems)
    third = y.shape[-1] // 3
    first, last = y[..., :third], y[..., -third:]
    with np.errstate(invalid="ignore", divide="ignore"):
        if replica_axis is None:
            m_first, e_first = _mean_error(first, c)
            m_last, e_last = _mean_error(last, c)
            diff, error = m_last - m_first, np.hypot(e_first, e_last)
        else:
            diff, error = jackknife(
                lambda d: d.mean(axis=0), last.mean(axis=-1) - first.mean(axis=-1)
            )
        # Zero error (constant thirds): z is 0 if the means agree, infinite otherwise.
        z = np.where(error > 0, diff / np.where(error > 0, error, 1.0), np.sign(diff) * np.inf)
        z = np.where(diff == 0, 0.0, z)
        flagged = np.abs(z) > threshold
    return StationarityTest(z=_value(z), flagged=_value(flagged), threshold=float(threshold))


@dataclass(frozen=True)
class AutocorrelationDecay:
    """The exponential autocorrelation time of each series, rho(t) = exp(-t / tau)
    :eq:`acf-decay`.

    ``tau`` is in records: multiply by the record interval (``record_every``) for steps;
    the relaxation rate per unit t = lr * step is 1 / (tau * record_every * lr), to set
    beside the Fokker-Planck rate (:doc:`/theory/time_series`).

    Parameters
    ----------
    tau : float or numpy.ndarray
        The fitted tau_exp in records; NaN where no lag could be fitted (rho(1) already
        below the cut: a decay faster than about half a record) or the data hold NaN.
    tau_err : float or numpy.ndarray
        Its delete-one jackknife error over replicas (NaN without replicas).
    lags : int or numpy.ndarray
        The number of lags fitted (lags 1..lags).
    """

    tau: float | np.ndarray
    tau_err: float | np.ndarray
    lags: int | np.ndarray


def _fit_decay(rho: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """tau of log rho(t) = -t / tau, least squares through the origin over the lags 1..fitted.

    Weights rho(t)^2: the error of rho(t) varies slowly with t, so that of log rho(t) is
    about proportional to 1 / rho(t).
    """
    lags = np.arange(rho.shape[-1], dtype=np.float64)
    mask = (lags >= 1) & (lags <= fitted[..., None])
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(mask, rho, 1.0)
        weight = np.where(mask, safe * safe, 0.0)
        slope = np.sum(weight * lags * np.log(np.abs(safe)), axis=-1) / np.sum(
            weight * lags * lags, axis=-1
        )
        return np.where(fitted >= 1, -1.0 / slope, np.nan)


def autocorrelation_decay(
    x,
    axis: int = -1,
    replica_axis: int | None = None,
    max_lag: int | None = None,
    *,
    c: float = SOKAL_C,
) -> AutocorrelationDecay:
    """The relaxation time of each series: rho(t) = exp(-t / tau_exp) fitted to its ACF.

    The ACF :eq:`acf` (with ``replica_axis``: its mean over replicas) is fitted by weighted
    least squares of log rho(t) = -t / tau_exp :eq:`acf-decay` over the lags t = 1, 2, ...
    where rho is clearly positive: up to the lag before rho first drops below the larger of
    0.1 and two standard errors of rho (sqrt(tau_int / (R T)) for R replicas of T records),
    and at most ``max_lag``. rho(0) = 1 by construction, so the line goes through the
    origin. The lags are chosen once on all the data; the error is the delete-one
    jackknife over replicas of the whole fit.

    The fitted rate is that of the slowest relaxation the series shows: for a level, the
    lowest Fokker-Planck rate E_1 (:doc:`/theory/time_series`). The ACF estimator is
    biased low by about tau_int / T at every lag (the subtraction of the mean), which
    shortens tau_exp by a fraction of order 5 tau_int / T (1% at T = 500 tau_int).

    Parameters
    ----------
    x : array_like
        The series, time along ``axis``.
    axis : int, optional
        The time axis.
    replica_axis : int, optional
        The axis of independent replicas (at least 2), if any; without it there is no error.
    max_lag : int, optional
        The largest lag fitted, >= 1.
    c : float, optional
        Sokal's window constant for the tau_int of the standard error.

    Returns
    -------
    AutocorrelationDecay
        tau in records (multiply by the record interval for steps), its error and the lags
        fitted, each with the shape of ``x`` without ``axis`` (and ``replica_axis``).

    Raises
    ------
    ConfigError
        An axis out of range, the two axes equal, fewer than 4 records or 2 replicas,
        max_lag not an integer >= 1, or c not a positive number.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.signal import lfilter
    >>> e = np.random.default_rng(4).standard_normal((16, 20_000))
    >>> x = lfilter([1.0], [1.0, -0.8], e, axis=1)    # AR(1), tau_exp = -1/ln 0.8 = 4.48
    >>> fit = autocorrelation_decay(x, axis=1, replica_axis=0)
    >>> abs(fit.tau - 4.48) < 4 * fit.tau_err
    True
    """
    problems = Problems()
    if max_lag is not None:
        check_int(problems, "max_lag", max_lag, 1)
    _check_c(problems, c)
    y = _series(x, axis, replica_axis, problems=problems)
    rho = _acf(y)
    mean_rho = rho if replica_axis is None else rho.mean(axis=0)
    count = y.shape[-1] * (1 if replica_axis is None else y.shape[0])
    # Beyond the decay, rho(t) scatters about 0 with variance ~ sum_k rho(k)^2 / (R T), at
    # most tau_int / (R T).
    with np.errstate(invalid="ignore"):
        cut = np.maximum(DECAY_CUT, 2.0 * np.sqrt(_tau_from_acf(mean_rho, c) / count))
        below = ~(mean_rho >= cut[..., None])
    below[..., 0] = False
    first = np.where(below.any(axis=-1), below.argmax(axis=-1), mean_rho.shape[-1])
    fitted = first - 1
    if max_lag is not None:
        fitted = np.minimum(fitted, max_lag)
    fitted = np.where(np.isfinite(mean_rho[..., 0]), fitted, 0)
    # Only the fitted lags matter: cut the ACFs there before the jackknife copies them.
    kept = int(fitted.max(initial=0)) + 1
    tau = _fit_decay(mean_rho[..., :kept], fitted)
    if replica_axis is None:
        error = np.full_like(tau, np.nan)
    else:
        _, error = jackknife(lambda r: _fit_decay(r.mean(axis=0), fitted), rho[..., :kept])
        error = np.where(np.isfinite(tau), error, np.nan)
    return AutocorrelationDecay(tau=_value(tau), tau_err=_value(error), lags=_value(fitted))


# -- summary of a recorded ensemble ---------------------------------------------------------


def _floats(values) -> list:
    """JSON-friendly: Python floats, NaN and infinities as None."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=np.float64)]


def _describe(data: np.ndarray, replicas: bool, record: float, lr: float | None) -> list:
    """The statistics of :func:`time_series_summary` of (R, T, M) or, without replicas,
    (T, M) series (one replica): one dict per series m."""
    axis = 1 if replicas else 0
    rep = 0 if replicas else None
    mean, mean_err = time_series_mean(data, axis=axis, replica_axis=rep)
    tau_int = np.atleast_2d(integrated_autocorrelation_time(data, axis=axis))
    test = stationarity_test(data, axis=axis, replica_axis=rep)
    decay = autocorrelation_decay(data, axis=axis, replica_axis=rep)
    records = data.shape[axis]
    out = {
        "mean": _floats(mean),
        "mean_err": _floats(mean_err),
        # In steps: the median over replicas of tau_int in records, times the interval.
        "tau_int": _floats(record * np.median(tau_int, axis=0)),
        "effective_samples": _floats(np.sum(records / tau_int, axis=0)),
        "stationarity_z": _floats(test.z),
        "flagged": [bool(f) for f in np.atleast_1d(test.flagged)],
        "tau_exp": _floats(record * np.asarray(decay.tau)),
        "tau_exp_err": _floats(record * np.asarray(decay.tau_err)),
    }
    if lr is not None:
        # Per unit t = lr * step :eq:`acf-decay`: rate = 1 / (tau_exp[steps] lr).
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = 1.0 / (record * np.asarray(decay.tau) * lr)
            out["rate"] = _floats(rate)
            out["rate_err"] = _floats(rate * np.asarray(decay.tau_err) / np.asarray(decay.tau))
    return [{key: values[m] for key, values in out.items()} for m in range(data.shape[-1])]


def time_series_summary(eigenvalues, steps, *, lr: float | None = None) -> dict:
    """The statistics of a recorded ensemble, per mode and per adjacent spacing, as plain data.

    Replicas with a non-finite record (diverged) are dropped whole. For each mode x_i and
    each spacing S_i = x_{i+1} - x_i of the remaining R replicas: the mean over replicas of
    the time means and its jackknife error over replicas (:func:`time_series_mean`), the
    median over replicas of tau_int and the effective independent records in all (the sum
    over replicas of T / tau_int), the stationarity test of the first against the last third
    (:func:`stationarity_test`) and the exponential autocorrelation time with its jackknife
    error (:func:`autocorrelation_decay`). Times are in steps (records times the record
    interval of ``steps``); with ``lr``, the relaxation rate per unit t = lr * step
    :eq:`acf-decay` too. With a single usable replica the errors are those of one series
    (sqrt(var tau_int / T)) and tau_exp has none.

    Parameters
    ----------
    eigenvalues : array_like
        (R, T, N) records (replica, record, mode), levels ascending in each record.
    steps : array_like
        (T,) the step of each record, equally spaced.
    lr : float, optional
        The learning rate, for the rates per unit t.

    Returns
    -------
    dict
        ``replicas`` (R given), ``analysed`` (R used), ``records`` (T), ``record_every``
        (steps between records), ``threshold`` (of abs(z)), and ``modes`` and ``spacings``:
        lists with one dict per mode i (``"mode": i``) and per spacing x_{i+1} - x_i
        (``"modes": [i, i + 1]``), each with ``mean``, ``mean_err``, ``tau_int`` (steps),
        ``effective_samples``, ``stationarity_z``, ``flagged``, ``tau_exp``,
        ``tau_exp_err`` (steps) and, with ``lr``, ``rate``, ``rate_err`` (per unit t);
        ``flagged_modes`` and ``flagged_spacings`` list the indices flagged. NaN is None.
        With no usable replica, ``note`` says so and there are no statistics.

    Raises
    ------
    ConfigError
        eigenvalues not (R, T, N) with T >= 12, steps not (T,) strictly increasing and
        equally spaced, or lr not a positive number.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(5)
    >>> eigs = np.sort(rng.standard_normal((4, 200, 2)) + [1.0, 3.0], axis=-1)
    >>> out = time_series_summary(eigs, 10 * np.arange(200))
    >>> out["record_every"], len(out["modes"]), out["spacings"][0]["modes"]
    (10, 2, [0, 1])
    """
    problems = Problems()
    if lr is not None:
        check_positive(problems, "lr", lr)
    try:
        eigs = np.asarray(eigenvalues, dtype=np.float64)
        times = np.asarray(steps, dtype=np.float64)
    except (TypeError, ValueError):
        problems.add("eigenvalues", "must be arrays of real numbers", (eigenvalues, steps))
        problems.raise_if_any()
    if eigs.ndim != 3:
        problems.add("eigenvalues", "must have shape (replica, record, mode)", eigs.shape)
    elif eigs.shape[1] < 3 * MIN_RECORDS:
        problems.add("eigenvalues", f"must hold at least {3 * MIN_RECORDS} records", eigs.shape)
    elif times.shape != (eigs.shape[1],):
        problems.add("steps", f"must have shape ({eigs.shape[1]},) to match eigenvalues",
                     times.shape)  # fmt: skip
    else:
        interval = np.diff(times)
        if not (np.all(interval > 0) and np.allclose(interval, interval[0], rtol=1e-9, atol=0)):
            problems.add("steps", "must be strictly increasing and equally spaced", steps)
    problems.raise_if_any()
    usable = np.all(np.isfinite(eigs), axis=(1, 2))
    record = float(times[1] - times[0])
    out = {
        "replicas": int(eigs.shape[0]),
        "analysed": int(usable.sum()),
        "records": int(eigs.shape[1]),
        "record_every": int(record) if record.is_integer() else record,
        "threshold": STATIONARITY_THRESHOLD,
    }
    if not usable.any():
        out["note"] = f"{eigs.shape[0]} replicas, none without non-finite records: no statistics"
        return out
    eigs = eigs[usable]
    replicas = eigs.shape[0] >= 2
    if not replicas:
        eigs = eigs[0]
    out["modes"] = [{"mode": i, **entry}
                    for i, entry in enumerate(_describe(eigs, replicas, record, lr))]  # fmt: skip
    out["spacings"] = []
    if eigs.shape[-1] >= 2:
        out["spacings"] = [
            {"modes": [i, i + 1], **entry}
            for i, entry in enumerate(_describe(np.diff(eigs, axis=-1), replicas, record, lr))
        ]
    for name in ("modes", "spacings"):
        out[f"flagged_{name}"] = [i for i, entry in enumerate(out[name]) if entry["flagged"]]
    return out
