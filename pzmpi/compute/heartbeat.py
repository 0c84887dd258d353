"""Each rank's heartbeat: a small JSON file in the run folder that the rank refreshes at most once per interval.

``pzmpi status`` reads them from any node that sees the run folder, while the run
goes or after it ended: rows done, the piece in hand, the rate, the memory, and
when the rank last wrote. A rank writes its last heartbeat, ``finished`` or
``stopped``, as it leaves its loop, and none after.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pzmpi.core.files import write_text_atomically

HEARTBEAT_FOLDER = "status"


def heartbeat_path(run_dir: Path, rank: int) -> Path:
    return run_dir / HEARTBEAT_FOLDER / f"rank{rank:05d}.json"


def current_rss_bytes() -> int:
    """This process's resident memory now (Linux), else its peak."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class Heartbeat:
    """One rank's heartbeat file, refreshed by ``beat`` no more often than every ``interval`` seconds."""

    run_dir: Path
    rank: int
    rows_assigned: int
    interval: float
    rows_done: int = 0
    failures: int = 0
    piece: str = ""
    started: float = field(default_factory=time.time)
    longest_gap: float = 0.0  # the longest time between two calls of ``beat``: a chunk's work, at least
    _written: float = 0.0
    _called: float = field(default_factory=time.monotonic)

    def beat(self, rows: int = 0, piece: str | None = None, failed: bool = False) -> None:
        now = time.monotonic()
        self.longest_gap = max(self.longest_gap, now - self._called)
        self._called = now
        self.rows_done += rows
        self.failures += failed
        if piece is not None:
            self.piece = piece
        if time.monotonic() - self._written >= self.interval:
            self._write("running")

    def last(self, state: str) -> None:
        """The final heartbeat: ``finished`` or ``stopped``."""
        self.piece = ""
        self._write(state)

    def _write(self, state: str) -> None:
        now = time.time()
        elapsed = max(now - self.started, 1e-9)
        record: dict[str, Any] = {
            "rank": self.rank, "host": socket.gethostname(), "pid": os.getpid(), "state": state,
            "rows_done": self.rows_done, "rows_assigned": self.rows_assigned, "piece": self.piece,
            "rows_per_second": self.rows_done / elapsed, "failures": self.failures,
            "rss_bytes": current_rss_bytes(), "interval": self.interval, "longest_gap": self.longest_gap,
            "started": self.started, "time": now,
        }
        path = heartbeat_path(self.run_dir, self.rank)
        path.parent.mkdir(exist_ok=True)
        write_text_atomically(path, json.dumps(record))
        self._written = time.monotonic()
