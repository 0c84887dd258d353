"""Progress of a run as rank 0 shows it: a bar on a terminal, plain periodic lines in a batch log."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


class ProgressReporter:
    """Turns "objects done so far" into progress output, at most every ``interval`` seconds.

    On a terminal the bar is redrawn at most every half second whatever the interval.
    """

    def __init__(self, total: int, stream: TextIO, interactive: bool, interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.stream = stream
        self.interactive = interactive
        self.interval = 0.5 if interactive else interval
        self.clock = clock
        self.start = clock()
        self._last_shown = self.start
        self.done = 0

    def update(self, done: int, force: bool = False) -> None:
        self.done = done
        now = self.clock()
        if force or now - self._last_shown >= self.interval:
            self._last_shown = now
            self.stream.write(self.render(now))
            self.stream.flush()

    def finish(self) -> None:
        self.update(self.done, force=True)
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()

    def render(self, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        fraction = self.done / self.total if self.total else 1.0
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = _duration(left)
        if self.interactive:
            width = 30
            filled = int(round(width * fraction))
            return (f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * fraction:5.1f}% "
                    f"{self.done:,}/{self.total:,} objects {rate:,.0f}/s, {eta} left ")
        return (f"progress: {self.done:,}/{self.total:,} objects ({100 * fraction:.1f}%), "
                f"{rate:,.0f} objects/s, {eta} left, {_duration(elapsed)} elapsed\n")


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
