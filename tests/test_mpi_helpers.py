"""MPI helpers on a one-rank communicator (no mpiexec): agreed errors and progress."""

import io
import subprocess
import sys

import pytest
from conftest import mpi_environment

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


ROOT_FIRST = """
import sys, time
from pzmpi.core import mpi
comm = mpi.world()
def job():
    with open(sys.argv[1], "a") as log:
        log.write(f"start {comm.Get_rank()}\\n")
        log.flush()
        time.sleep(0.5 if comm.Get_rank() == 0 else 0.0)
        log.write(f"end {comm.Get_rank()}\\n")
mpi.root_first(comm, job)
"""


@pytest.mark.mpi
def test_root_first_finishes_the_roots_job_before_any_other_rank_starts(tmp_path):
    log = tmp_path / "log"
    command = ["mpiexec", "-n", "3", sys.executable, "-c", ROOT_FIRST, str(log)]
    result = subprocess.run(command, env=mpi_environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = log.read_text().split("\n")
    assert lines[:2] == ["start 0", "end 0"] and sorted(lines[2:-1]) == ["end 1", "end 2", "start 1", "start 2"]
