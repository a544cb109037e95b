"""Progress over replica-steps: a tqdm bar on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import Self

from tqdm.auto import tqdm

_LOG_INTERVAL = 10.0  # seconds between plain log lines when not on a terminal


class Progress:
    """Counts replica-steps done; ``enabled=False`` prints nothing at all."""

    def __init__(self, total: int, enabled: bool = True, desc: str = "dysonlearn", stream=None):
        self.total = total
        self.done = 0
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
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
        self.done += n
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
        if self._bar is not None:
            self._bar.close()
        elif self._log:
            self._write_line()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
