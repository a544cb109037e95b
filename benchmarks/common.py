"""What every suite shares: how asv samples a timed call, and how a tracked figure is
rounded.

asv (0.6, asv_runner 0.3) runs a ``time_*`` benchmark whose class has a ``setup`` once per
sample (``number = 1``), so a sample is one call: the suites size their calls to last
10 ms to a second. :class:`Sampled` asks for at least ``MIN_SAMPLES`` samples in each of
asv's two rounds (two fresh processes), so that ``asv compare`` has the samples its
Mann-Whitney test needs to tell a change from noise (with one sample, as ``--quick`` gives,
it compares the bare figures and flags noise). The run-to-run spread these settings leave is
in the user guide's benchmarks page.

A ``track_*`` figure is a single value, the best of timed calls spread over
``TRACK_SECONDS`` inside the benchmark (interference from other processes only ever adds
time); :func:`sig` rounds it
to three significant figures, which is more than its run-to-run spread warrants (asv prints
a tracked float as it is, 16 digits, and its unit only in the HTML of ``asv publish``).
"""

from __future__ import annotations

import math
import time

#: Samples per round (asv runs two rounds) of a time_* benchmark at least, and at most.
MIN_SAMPLES = 10
MAX_SAMPLES = 20
#: Seconds a round samples for beyond MIN_SAMPLES before it stops (asv's max_time).
MAX_SECONDS = 10.0
#: A track_* figure is the best of calls spread over at least this many seconds: the other
#: processes of a shared machine come and go in bursts of seconds, and a best of five calls
#: of 10 ms could all fall in one (two runs of the same code then differed by up to 1.75x).
TRACK_SECONDS = 2.0
#: ... and of at most this many calls (of each implementation, when interleaved).
TRACK_MAX_CALLS = 200


class Sampled:
    """asv's sampling of every ``time_*`` benchmark of a suite: a class attribute mixin.

    ``repeat = (MIN_SAMPLES, MAX_SAMPLES, MAX_SECONDS)``: between 10 and 20 samples a round
    (stopping after 10 s once 10 are taken); ``number = 1``: one call a sample (the calls
    last 10 ms or more); ``warmup_time``: the calls of the first 0.2 s are not kept (first
    BLAS call, page faults of the work buffers); ``min_run_count``: at least three calls
    however long.
    """

    repeat = (MIN_SAMPLES, MAX_SAMPLES, MAX_SECONDS)
    number = 1
    warmup_time = 0.2
    min_run_count = 3


def sig(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant figures (NaN and 0 unchanged).

    Parameters
    ----------
    value : float
    digits : int

    Returns
    -------
    float
    """
    value = float(value)
    if value == 0.0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def best_seconds(run, repeats: int, min_seconds: float | None = None) -> float:
    """The shortest of at least ``repeats`` timed calls of ``run()`` spread over at least
    ``min_seconds`` (default ``TRACK_SECONDS``; at most ``TRACK_MAX_CALLS`` calls), in
    seconds.

    Parameters
    ----------
    run : callable
    repeats : int
    min_seconds : float, optional

    Returns
    -------
    float
    """
    return interleaved_best({"run": run}, repeats, min_seconds)["run"]


def interleaved_best(runs: dict, repeats: int, min_seconds: float | None = None) -> dict:
    """The shortest of at least ``repeats`` timed calls of each of ``runs`` (name:
    callable), the calls interleaved (a, b, a, b, ...) so that a slow moment of the machine
    falls on all of them alike, spread over at least ``min_seconds`` (default
    ``TRACK_SECONDS``; at most ``TRACK_MAX_CALLS`` rounds): the figures' ratio is steadier
    than either.

    Parameters
    ----------
    runs : dict of str to callable
    repeats : int
    min_seconds : float, optional

    Returns
    -------
    dict of str to float
        Seconds.
    """
    min_seconds = TRACK_SECONDS if min_seconds is None else min_seconds
    best = dict.fromkeys(runs, float("inf"))
    start_all = time.perf_counter()
    calls = 0
    while calls < repeats or (time.perf_counter() - start_all < min_seconds
                              and calls < TRACK_MAX_CALLS):  # fmt: skip
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
        calls += 1
    return best
