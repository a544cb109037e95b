"""Progress over replica-steps: a tqdm bar on a terminal, plain log lines elsewhere.

A run of one point shows one bar. A scan shows a bar per point, labelled with its place in
the scan and its parameters (``[3/6] lr=0.1 B=16``), and carries the estimated time left
for the whole scan (``scan ETA 4.2 min``); plain log lines say the same.
"""

from __future__ import annotations

import sys
import time
from typing import Self

from tqdm.auto import tqdm

_LOG_INTERVAL = 10.0  # seconds between plain log lines when not on a terminal


def duration(seconds: float) -> str:
    """A duration for people: "42 s", "3.5 min", "2.1 h", "4.0 days", "3.2e+04 years".

    Parameters
    ----------
    seconds : float

    Returns
    -------
    str

    Examples
    --------
    >>> duration(42), duration(210), duration(7560)
    ('42 s', '3.5 min', '2.1 h')
    """
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            value = seconds / size
            return f"{value:.3g} {unit}" if value < 1e5 else f"{value:.2g} {unit}"
    return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"


class ScanProgress:
    """The progress of a whole scan, point after point, and its estimated time left.

    The time left is the time taken so far, scaled by the work left over the work done,
    where the work of a point is its replica-steps to train times an estimate of the cost
    of one (its model's :meth:`~dysonlearn.models.Model.cost_per_replica_step`): points that
    cost more per step (a larger batch) are not taken to run as fast as the first.

    Parameters
    ----------
    work : list of float
        The work left at each point, in any unit (0 for a point with nothing to train).
    enabled : bool
        Show progress (see :class:`Progress`); False shows nothing.
    stream : file, optional
        Where to show it (default: ``sys.stderr``).

    Examples
    --------
    >>> scan = ScanProgress([1.0, 3.0], enabled=False)
    >>> with scan.point(0, total=100, desc="lr=0.1") as bar:
    ...     bar.update(100)
    >>> scan.fraction_done()
    0.25
    """

    def __init__(self, work: list[float], enabled: bool = True, stream=None):
        self.work = [float(w) for w in work]
        self.enabled = enabled
        self.stream = stream
        self._total = sum(self.work)
        self._index = 0
        self._point_fraction = 0.0
        self._start = time.monotonic()

    def label(self, index: int, desc: str) -> str:
        """``[i/n] desc``: the point's place in the scan (counted from 1) and its label."""
        return f"[{index + 1}/{len(self.work)}] {desc}"

    def point(self, index: int, total: int, desc: str) -> Progress:
        """The progress of point ``index`` (``total`` replica-steps), labelled with its
        place in the scan, and showing the scan's time left.

        Parameters
        ----------
        index : int
            The point's index in the scan (from 0).
        total : int
            Replica-steps the point will train.
        desc : str
            The point's label (its parameters).

        Returns
        -------
        Progress
        """
        self._index, self._point_fraction = index, 0.0
        return Progress(total, self.enabled, self.label(index, desc), self.stream, scan=self)

    def advance(self, fraction: float) -> None:
        """The current point is ``fraction`` (0 to 1) done."""
        self._point_fraction = fraction

    def fraction_done(self) -> float:
        """The part of the scan's work done, from 0 to 1."""
        if self._total <= 0:
            return 1.0
        done = sum(self.work[: self._index]) + self.work[self._index] * self._point_fraction
        return min(done / self._total, 1.0)

    def eta(self) -> float | None:
        """Seconds left for the whole scan (None: nothing done yet to estimate from)."""
        fraction = self.fraction_done()
        if fraction <= 0:
            return None
        return (time.monotonic() - self._start) * (1 - fraction) / fraction

    def summary(self) -> str:
        """``scan 38% done, ETA 4.2 min``."""
        eta = self.eta()
        left = "ETA unknown" if eta is None else f"ETA {duration(eta)}"
        return f"scan {100 * self.fraction_done():.0f}% done, {left}"


class ScanPosition:
    """A point's place in a scan, handed as ``progress`` to the code that trains one point,
    which makes its bar through :func:`reporter`.

    Parameters
    ----------
    scan : ScanProgress
    index : int
        The point's index in the scan.
    """

    def __init__(self, scan: ScanProgress, index: int):
        self.scan = scan
        self.index = index


class Progress:
    """Counts replica-steps done and shows them.

    Parameters
    ----------
    total : int
        Replica-steps the run will do.
    enabled : bool
        Show progress: a tqdm bar on a terminal, a log line every ten seconds elsewhere;
        False prints nothing at all.
    desc : str
        Label of the bar or of the log lines.
    stream : file, optional
        Where to show it (default: ``sys.stderr``).
    callback : callable, optional
        Also called as ``callback(n)`` with each increment ``n`` of replica-steps done.
    scan : ScanProgress, optional
        The scan this is a point of: its time left is shown too (the bar's postfix, the
        end of each log line).

    Attributes
    ----------
    done : int
        Replica-steps done so far.
    """

    def __init__(self, total: int, enabled: bool = True, desc: str = "dysonlearn", stream=None,
                 callback=None, scan: ScanProgress | None = None):  # fmt: skip
        self.total = total
        self.done = 0
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.callback = callback
        self.scan = scan
        self._bar = None
        self._log = False
        self._start = time.monotonic()
        self._last_log = self._start
        if not enabled:
            return
        if getattr(self.stream, "isatty", lambda: False)():
            self._bar = tqdm(
                total=total, desc=desc, unit="replica-step", unit_scale=True,
                file=self.stream, dynamic_ncols=True, smoothing=0.1,
                postfix=None if scan is None else scan.summary(),
            )  # fmt: skip
        else:
            self._log = True

    def update(self, n: int) -> None:
        """Count ``n`` more replica-steps done (and pass them to the callback)."""
        self.done += n
        if self.callback is not None:
            self.callback(n)
        if self.scan is not None:
            self.scan.advance(self.done / self.total if self.total else 1.0)
        if self._bar is not None:
            if self.scan is not None:  # shown at the bar's next refresh
                self._bar.set_postfix_str(self.scan.summary(), refresh=False)
            self._bar.update(n)
        elif self._log and time.monotonic() - self._last_log >= _LOG_INTERVAL:
            self._write_line()

    def _write_line(self) -> None:
        now = time.monotonic()
        self._last_log = now
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        eta = duration((self.total - self.done) / rate) if rate > 0 else "unknown"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        scan = f"; {self.scan.summary()}" if self.scan is not None else ""
        print(
            f"{self.desc}: {pct:5.1f}% ({self.done:,}/{self.total:,} replica-steps), "
            f"{rate:,.0f} replica-steps/s, elapsed {duration(elapsed)}, ETA {eta}{scan}",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        """End the bar, or write a last log line."""
        if self._bar is not None:
            if self.scan is not None:
                self._bar.set_postfix_str(self.scan.summary(), refresh=False)
            self._bar.close()
        elif self._log:
            self._write_line()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def reporter(progress, total: int, desc: str = "dysonlearn") -> Progress:
    """The :class:`Progress` of a run, from the ``progress`` argument of the library.

    Parameters
    ----------
    progress : bool, callable or ScanPosition
        True: a bar on a terminal, log lines elsewhere; False: nothing; a callable: called
        with each increment of replica-steps done, and nothing shown; a
        :class:`ScanPosition`: the bar of that point of a scan.
    total : int
        Replica-steps the run will do.
    desc : str
        Label of the bar or of the log lines.

    Returns
    -------
    Progress
    """
    if isinstance(progress, ScanPosition):
        return progress.scan.point(progress.index, total, desc)
    if callable(progress):
        return Progress(total, enabled=False, desc=desc, callback=progress)
    return Progress(total, enabled=bool(progress), desc=desc)
