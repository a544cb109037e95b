"""Progress over replica-steps: a tqdm bar on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import Self

from tqdm.auto import tqdm

_LOG_INTERVAL = 10.0  # seconds between plain log lines when not on a terminal


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

    Attributes
    ----------
    done : int
        Replica-steps done so far.
    """

    def __init__(self, total: int, enabled: bool = True, desc: str = "dysonlearn", stream=None,
                 callback=None):  # fmt: skip
        self.total = total
        self.done = 0
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.callback = callback
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
            )  # fmt: skip
        else:
            self._log = True

    def update(self, n: int) -> None:
        """Count ``n`` more replica-steps done (and pass them to the callback)."""
        self.done += n
        if self.callback is not None:
            self.callback(n)
        if self._bar is not None:
            self._bar.update(n)
        elif self._log and time.monotonic() - self._last_log >= _LOG_INTERVAL:
            self._write_line()

    def _write_line(self) -> None:
        now = time.monotonic()
        self._last_log = now
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        pct = 100.0 * self.done / self.total if self.total else 100.0
        print(
            f"{self.desc}: {pct:5.1f}% ({self.done:,}/{self.total:,} replica-steps), "
            f"{rate:,.0f} replica-steps/s, elapsed {elapsed:.0f} s, ETA {eta:.0f} s",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        """End the bar, or write a last log line."""
        if self._bar is not None:
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
    progress : bool or callable
        True: a bar on a terminal, log lines elsewhere; False: nothing; a callable: called
        with each increment of replica-steps done, and nothing shown.
    total : int
        Replica-steps the run will do.
    desc : str
        Label of the bar or of the log lines.

    Returns
    -------
    Progress
    """
    if callable(progress):
        return Progress(total, enabled=False, desc=desc, callback=progress)
    return Progress(total, enabled=bool(progress), desc=desc)
