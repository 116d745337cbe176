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

    def _format(self, i: int, metrics: dict) -> str:
        elapsed = time.perf_counter() - self.start
        eta = elapsed / i * (self.total - i) if i else float("nan")
        parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()]
        return f"{self.label} {i}/{self.total}  {'  '.join(parts)}  {elapsed:.1f}s elapsed, eta {eta:.1f}s"

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
