"""MPI helpers on a one-rank communicator (no mpiexec): agreed errors and progress."""

import io

import pytest

from pzmpi.core import mpi
from pzmpi.core.errors import ConfigError
from pzmpi.core.progress import ProgressReporter


def test_root_errors_become_agreed_errors():
    comm = mpi.world().Dup()
    assert mpi.broadcast_from_root(comm, lambda: 42) == 42

    def fails():
        raise ConfigError("'input.paths' matched no parquet file: /nowhere")

    with pytest.raises(mpi.AgreedError, match="matched no parquet file"):
        mpi.broadcast_from_root(comm, fails)
    mpi.agree(comm, None)
    with pytest.raises(mpi.AgreedError, match="rank 0: model unreadable"):
        mpi.agree(comm, "model unreadable")
    comm.Free()


def test_progress_channel_reports_and_closes():
    out = io.StringIO()
    channel = mpi.ProgressChannel(mpi.world(), ProgressReporter(10, out, interactive=False, interval=0.0))
    channel.add(4)
    channel.add(6)
    channel.close()
    assert out.getvalue().splitlines()[-1].startswith("progress: 10/10 objects (100.0%)")
