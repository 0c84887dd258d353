"""A clean stop before the walltime: SIGTERM, what Slurm sends every process of a job before it kills it (at the
time limit, on preemption or on ``scancel``), asks the run to stop after the chunk in hand.

A rank that receives it finishes its current chunk, drops the piece it was writing
(no partial piece ever gets a final name), and leaves its loop; the job then ends
with ``EXIT_STOPPED`` once the root has written the profile of what was done. The
next run of the same configuration skips every finished piece, so a job script
resubmits on that status until the run is complete (jobscripts/).
"""

from __future__ import annotations

import signal
from types import FrameType, TracebackType

EXIT_STOPPED = 75  # sysexits' EX_TEMPFAIL: "try again later"; distinct from every other status pzmpi returns
STOP_SIGNALS = (signal.SIGTERM,)


class StopRequested(Exception):
    """Raised between chunks once a stop signal has arrived."""


class StopSignal:
    """While entered, a stop signal is recorded instead of killing the process; ``check`` raises once one came."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignal:
        for number in STOP_SIGNALS:
            self._previous[number] = signal.signal(number, self._record)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]

    def _record(self, number: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(number).name

    def check(self) -> None:
        if self.received is not None:
            raise StopRequested(self.received)
