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

import numpy as np
from mpi4py import MPI

from pzmpi.core.errors import ConfigError, InputFileError
from pzmpi.core.progress import ProgressReporter

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


def root_first(comm: Comm, job: Callable[[], T]) -> T:
    """Collective: the root runs ``job``, then every other rank does; returns this rank's result.

    For set-up that fills a shared cache on first use: numba's compiled kernels
    (the root compiles, the others load from the on-disk cache where they share
    its folder), and the files RAIL's estimators make when they are missing, such
    as BPZ's AB files (written in place, which the other ranks must not read half made).
    """
    result = job() if comm.Get_rank() == ROOT else None
    comm.Barrier()
    if comm.Get_rank() != ROOT:
        result = job()
    return result  # type: ignore[return-value]


def broadcast(comm: Comm, value: T) -> T:
    return comm.bcast(value, root=ROOT)


def all_gather(comm: Comm, value: T) -> list[T]:
    """Collective: every rank's ``value``, in rank order, on every rank."""
    return comm.allgather(value)


def scatter_from_root(comm: Comm, values: list[T] | None) -> T:
    """Collective: the root's ``values[rank]`` on each rank (``values`` is ignored elsewhere)."""
    return comm.scatter(values, root=ROOT)


def gather_to_root(comm: Comm, value: T) -> list[T] | None:
    return comm.gather(value, root=ROOT)


MAX_MPI_COUNT = 2**31 - 1  # MPI counts and displacements are C ints


def alltoallv_arrays(comm: Comm, arrays: list[np.ndarray], counts: list[int] | np.ndarray) -> list[np.ndarray]:
    """Collective: personalised all-to-all of numpy arrays that share one layout.

    Each array holds this rank's outgoing rows grouped by destination in rank
    order, ``counts[r]`` of them for rank ``r``; a row is one element, or a
    fixed-size row of a 2-D array.  Returns, for each array, what every rank sent
    here, grouped by source in rank order.  Counts travel first (one ``Alltoall``),
    then one ``Alltoallv`` per array, so no rank gathers more than its share.
    """
    size = comm.Get_size()
    send_counts = np.asarray(counts, dtype=np.int64)
    if send_counts.shape != (size,):
        raise ValueError(f"alltoallv_arrays: {send_counts.size} counts for {size} ranks")
    for array in arrays:
        if len(array) != int(send_counts.sum()):
            raise ValueError(f"alltoallv_arrays: an array of {len(array)} elements for counts summing to "
                             f"{int(send_counts.sum())}")
    recv_counts = np.empty(size, dtype=np.int64)
    comm.Alltoall(send_counts, recv_counts)
    if max(int(send_counts.sum()), int(recv_counts.sum())) > MAX_MPI_COUNT:
        raise ValueError(f"alltoallv_arrays: more than {MAX_MPI_COUNT} elements to or from one rank; use more ranks")
    send_displacements = np.concatenate(([0], np.cumsum(send_counts)[:-1])).astype(np.int64)
    recv_displacements = np.concatenate(([0], np.cumsum(recv_counts)[:-1])).astype(np.int64)
    received = []
    for array in arrays:
        outgoing = np.ascontiguousarray(array)
        row = int(np.prod(outgoing.shape[1:], dtype=np.int64))
        if row * max(int(send_counts.sum()), int(recv_counts.sum())) > MAX_MPI_COUNT:
            raise ValueError(f"alltoallv_arrays: more than {MAX_MPI_COUNT} values to or from one rank; use more ranks")
        incoming = np.empty((int(recv_counts.sum()), *outgoing.shape[1:]), dtype=outgoing.dtype)
        comm.Alltoallv([outgoing, ((send_counts * row).tolist(), (send_displacements * row).tolist())],
                       [incoming, ((recv_counts * row).tolist(), (recv_displacements * row).tolist())])
        received.append(incoming)
    return received


def sum_to_root(comm: Comm, value: T) -> T | None:
    """Collective: ``value`` of every rank added with ``+``, on the root (None elsewhere).

    A tree reduction: no rank holds more than two values at once. For objects
    whose ``+`` is exact (``pzmpi.core.exactsum``), the result does not depend on
    the number of ranks.
    """
    return comm.reduce(value, op=MPI.SUM, root=ROOT)


def reduce_sum_to_root(comm: Comm, array: np.ndarray) -> np.ndarray | None:
    """Collective: the element-wise sum of every rank's ``array`` (same shape and dtype everywhere), on the root.

    Meant for integer counts (histograms), whose sum does not depend on the order of addition.
    """
    outgoing = np.ascontiguousarray(array)
    total = np.empty_like(outgoing) if comm.Get_rank() == ROOT else None
    comm.Reduce(outgoing, total, op=MPI.SUM, root=ROOT)
    return total


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
