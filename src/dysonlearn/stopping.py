"""Stop signals (SIGINT, SIGTERM, SIGHUP): one exception for all, raised where it is safe.

The command line turns each stop signal into :class:`Stopped`, a KeyboardInterrupt, so
that every cleanup written for Ctrl-C (stopping workers, consolidating the store) runs for
SIGTERM and SIGHUP too. Code that must not be cut in the middle (starting worker
processes: one started but not yet registered would be left behind) runs under
:func:`deferred`, and a signal arriving meanwhile is raised when it ends.
"""

from __future__ import annotations

import contextlib
import signal
import sys

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

_depth = 0
_pending: int | None = None
# The last stop signal received under handled(): the Stopped raised for it can be lost when
# the handler runs inside code that swallows exceptions (a destructor, a finaliser: Python
# reports those as unraisable and goes on), and the handler has ignored further signals by
# then. check() raises it again at a safe point.
_received: int | None = None


class Stopped(KeyboardInterrupt):
    """A stop signal arrived: unwind like Ctrl-C, saving the work done.

    Parameters
    ----------
    signum : int
        The signal's number.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def exit_status(self) -> int:
        """128 + the signal number, the shell's convention (130 for Ctrl-C)."""
        return 128 + self.signum

    @property
    def name(self) -> str:
        """The signal's name, e.g. ``"SIGTERM"``."""
        return signal.Signals(self.signum).name


def raise_stop(signum: int) -> None:
    """Raise :class:`Stopped` now, or when the enclosing :func:`deferred` block ends."""
    global _pending
    if _depth:
        _pending = signum
        return
    raise Stopped(signum)


def check() -> None:
    """Raise :class:`Stopped` if a stop signal arrived under :func:`handled` and its
    exception may have been lost; call it only where nothing is unwinding (a loop's normal
    flow)."""
    global _received
    if _received is not None and not _depth:
        signum, _received = _received, None
        raise Stopped(signum)


@contextlib.contextmanager
def deferred():
    """Hold a stop signal back until the block ends (then raise :class:`Stopped`)."""
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending is not None:
            signum, _pending = _pending, None
            raise Stopped(signum)


@contextlib.contextmanager
def handled():
    """Turn SIGINT, SIGTERM and SIGHUP into :class:`Stopped` for the duration (main
    thread only; elsewhere signals are left as they are, and so is a signal that this
    process inherited as ignored)."""

    global _received

    def handler(signum, frame):
        global _received
        # The cleanup that follows (saving, stopping workers) is not cut short by a
        # second signal.
        for other in STOP_SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        _received = signum
        raise_stop(signum)

    _received = None
    previous_hook = sys.unraisablehook

    def unraisable(report):
        # A Stopped lost in a destructor is raised again by check(): no report of it.
        if not isinstance(report.exc_value, Stopped):
            previous_hook(report)

    try:
        # A signal ignored by whoever started us stays ignored: `nohup` ignores SIGHUP, and
        # a shell ignores SIGINT for the jobs it starts in the background.
        previous = {
            s: signal.signal(s, handler)
            for s in STOP_SIGNALS
            if signal.getsignal(s) is not signal.SIG_IGN
        }
    except ValueError:  # not the main thread
        yield
        return
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        _received = None
        sys.unraisablehook = previous_hook
        for signum, old in previous.items():
            signal.signal(signum, old)
