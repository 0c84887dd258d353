"""Everything pzmpi does with MPI, in one place; every function takes the communicator.

The rules that keep a job from hanging live here:

* ``exception_guard``: an exception on any rank prints its traceback, each line
  prefixed ``[rank N@host]``, then aborts the whole job with a non-zero status;
* ``agree`` and ``broadcast_from_root``: a setup failure on some ranks becomes the
  same ``AgreedError`` on every rank, so all exit cleanly and the message is
  printed once;
* progress messages travel on a duplicated communicator, and every rank's last
  message is received before the run ends.
"""

from __future__ import annotations

import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from mpi4py import MPI

from pzmpi.errors import ConfigError, InputFileError
from pzmpi.progress import ProgressReporter

Comm = MPI.Comm
T = TypeVar("T")
ROOT = 0
PROGRESS_TAG = 17


class AgreedError(RuntimeError):
    """An error every rank raises together, so that the job can exit without Abort."""


def world() -> Comm:
    return MPI.COMM_WORLD


def rank_label(comm: Comm) -> str:
    return f"[rank {comm.Get_rank()}@{socket.gethostname()}]"


@contextmanager
def exception_guard(comm: Comm) -> Iterator[None]:
    """Abort the whole job when this rank raises anything but an agreed error.

    Everything else (a bug, a ``ConfigError`` met by one rank mid-run, ``sys.exit`` or
    Ctrl-C on one rank) would leave the other ranks waiting in their next collective.
    """
    try:
        yield
    except AgreedError:
        raise
    except BaseException:
        label = rank_label(comm)
        text = traceback.format_exc()
        sys.stderr.write("".join(f"{label} {line}\n" for line in text.rstrip("\n").split("\n")))
        sys.stderr.write(f"{label} aborting the job: an exception on one rank ends all of them\n")
        sys.stderr.flush()
        comm.Abort(1)


def agree(comm: Comm, error: str | None) -> None:
    """Collective: raise ``AgreedError`` on every rank if any rank passes an error message."""
    errors = comm.allgather(error)
    failed = [(rank, message) for rank, message in enumerate(errors) if message]
    if failed:
        rank, message = failed[0]
        more = f" (and {len(failed) - 1} other rank(s))" if len(failed) > 1 else ""
        raise AgreedError(f"rank {rank}: {message}{more}")


def broadcast_from_root(comm: Comm, produce: Callable[[], T]) -> T:
    """Run ``produce`` on the root and broadcast its value, or its operator-facing error, to all ranks."""
    outcome: tuple[bool, Any] = (True, None)
    if comm.Get_rank() == ROOT:
        try:
            outcome = (True, produce())
        except (ConfigError, InputFileError, OSError) as error:
            outcome = (False, str(error))
    ok, value = comm.bcast(outcome, root=ROOT)
    if not ok:
        raise AgreedError(value)
    return value


def broadcast(comm: Comm, value: T) -> T:
    return comm.bcast(value, root=ROOT)


def gather_to_root(comm: Comm, value: T) -> list[T] | None:
    return comm.gather(value, root=ROOT)


class ProgressChannel:
    """Ranks report objects done; the root sums the reports and drives a ``ProgressReporter``.

    Workers send at most one message per ``min_interval`` seconds (and always a
    final one); the root polls between its own chunks and, once its own work is
    done, until every rank's final message has arrived.
    """

    def __init__(self, comm: Comm, reporter: ProgressReporter | None, min_interval: float = 1.0) -> None:
        self.comm = comm.Dup()
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.reporter = reporter
        self.min_interval = min_interval
        self.done = 0
        self._latest = [0] * self.size
        self._finished: set[int] = set()
        self._requests: list[MPI.Request] = []
        self._last_sent = 0.0

    def add(self, rows: int) -> None:
        self.done += rows
        if self.rank == ROOT:
            self._poll()
        elif time.monotonic() - self._last_sent >= self.min_interval:
            self._send(final=False)

    def close(self) -> None:
        """Collective in effect: returns on the root once every rank has closed."""
        if self.rank == ROOT:
            self._finished.add(ROOT)
            while len(self._finished) < self.size:
                self._poll()
                time.sleep(0.05)
            if self.reporter is not None:
                self.reporter.update(sum(self._latest) + self.done)
                self.reporter.finish()
        else:
            self._send(final=True)
            MPI.Request.Waitall(self._requests)
        self.comm.Free()

    def _send(self, final: bool) -> None:
        self._requests = [r for r in self._requests if not r.Test()]
        self._requests.append(self.comm.isend((self.done, final), dest=ROOT, tag=PROGRESS_TAG))
        self._last_sent = time.monotonic()

    def _poll(self) -> None:
        status = MPI.Status()
        while self.comm.iprobe(source=MPI.ANY_SOURCE, tag=PROGRESS_TAG, status=status):
            source = status.Get_source()
            done, final = self.comm.recv(source=source, tag=PROGRESS_TAG)
            self._latest[source] = done
            if final:
                self._finished.add(source)
        if self.reporter is not None:
            self.reporter.update(sum(self._latest) + self.done)
