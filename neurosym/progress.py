"""A plain-text progress display for long loops (fits, training), quiet when asked."""

from __future__ import annotations

import sys
import time


class Progress:
    """Prints `label  i/n  [metrics]  elapsed, eta` lines at most every `every_seconds`.

    Example:
      >>> p = Progress(3, label="fit", enabled=False)
      >>> for i in range(3):
      ...     p.update(i + 1, loss=0.5)
      >>> p.close()
    """

    def __init__(self, total: int, *, label: str = "", enabled: bool = True, every_seconds: float = 2.0, stream=None):
        self.total = int(total)
        self.label = label
        self.enabled = enabled
        self.every = every_seconds
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self._last = -float("inf")
        self._line = ""
        self._rate_start = (self.start, 0)  # (time, items) the rate is measured from

    def note(self, text: str) -> None:
        """Print one line of text (e.g. "compiling ...") before a long silent wait, if enabled."""
        if self.enabled:
            print(f"{self.label}: {text}" if self.label else text, file=self.stream, flush=True)

    def restart_rate(self, i: int) -> None:
        """Estimate the time left from now on, after `i` items (e.g. once compilation is over).

        Until another item is done, no time left is shown.
        """
        self._rate_start = (time.perf_counter(), int(i))

    def _format(self, i: int, metrics: dict) -> str:
        now = time.perf_counter()
        elapsed = now - self.start
        t0, i0 = self._rate_start
        eta = f"eta {(now - t0) / (i - i0) * (self.total - i):.1f}s" if i > i0 else "eta -"
        parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()]
        return f"{self.label} {i}/{self.total}  {'  '.join(parts)}  {elapsed:.1f}s elapsed, {eta}"

    def update(self, i: int, **metrics) -> None:
        """Report progress after `i` of `total` items, with named metrics (floats shown as %.4g)."""
        metrics = {k: float(v) if hasattr(v, "__float__") and not isinstance(v, int) else v for k, v in metrics.items()}
        self._line = self._format(i, metrics)
        now = time.perf_counter()
        if self.enabled and (now - self._last >= self.every or i >= self.total):
            print(self._line, file=self.stream, flush=True)
            self._last = now

    def close(self) -> None:
        """Finish (prints nothing extra; the last update line already shows the totals)."""
