"""The Slurm job scripts under a stand-in Slurm (a recording ``sbatch``, the mpich wheel's ``mpiexec``): at the
walltime warning the run stops cleanly and the job submits its next pass, which completes the run; a pass that
finished no piece submits none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import mpi_environment, object_input, run_pzmpi, write_config

from pzmpi.core.stopping import EXIT_STOPPED

pytestmark = pytest.mark.mpi

SCRIPT = Path(__file__).resolve().parent.parent / "jobscripts" / "santos_dumont.slurm"


def start_job(folder: Path, config: Path, stubs: Path, log: str) -> subprocess.Popen:
    """The job script as Slurm's batch step would run it (job 4242, 2 tasks), its output in ``log``."""
    env = {**mpi_environment(), "SLURM_JOB_ID": "4242", "SLURM_NTASKS": "2", "SLURM_JOB_NUM_NODES": "1",
           "PZMPI_CONFIG": str(config), "PZMPI_VENV": sys.prefix, "PZMPI_LAUNCH": "mpiexec",
           "PZMPI_JOBSCRIPT": str(SCRIPT), "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}"}
    with open(folder / log, "w") as output:
        return subprocess.Popen(["bash", str(SCRIPT)], cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT)


def wait_for(path_glob: tuple[Path, str], job: subprocess.Popen) -> None:
    folder, pattern = path_glob
    deadline = time.monotonic() + 120
    while not list(folder.glob(pattern)) and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.poll() is None, "the job ended before it could be signalled"


def test_a_pass_stopped_at_the_walltime_submits_the_next_until_the_run_is_complete(tmp_path, sample):
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    calls = tmp_path / "sbatch.calls"
    (stubs / "sbatch").write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\necho "Submitted batch job 4243"\n')
    (stubs / "sbatch").chmod(0o755)
    config = write_config(tmp_path / "run.toml", input=object_input(str(sample / "catalog")),
                          estimator={"name": "slow_estimator.SlowEstimator", "model": "model.pkl"},
                          training={"input": str(sample / "training.parquet")}, output={"folder": "run"},
                          run={"rows_per_chunk": 500, "max_rows_per_piece": 4000})
    assert run_pzmpi(["train", str(config)]).returncode == 0

    # pass 1: Slurm's --signal=B:TERM reaches the script alone, mid-run; it passes it on
    job = start_job(tmp_path, config, stubs, "pass1.log")
    wait_for((tmp_path / "run" / "pieces", "*.hdf5"), job)
    job.send_signal(signal.SIGTERM)
    assert job.wait(timeout=60) == EXIT_STOPPED, (tmp_path / "pass1.log").read_text()
    log = (tmp_path / "pass1.log").read_text()
    assert "SIGTERM at" in log and "submitting the next pass" in log, log
    assert calls.read_text().split() == ["--dependency=afterany:4242", "--export=ALL", str(SCRIPT)]

    # pass 2, the submitted job: it finishes the run, and submits nothing
    job = start_job(tmp_path, config, stubs, "pass2.log")
    assert job.wait(timeout=120) == 0, (tmp_path / "pass2.log").read_text()
    assert '"pieces_skipped"' in (tmp_path / "run" / "profile.json").read_text()
    assert len(calls.read_text().splitlines()) == 1

    # a pass stopped before it finished any piece ends the chain
    (tmp_path / "run").rename(tmp_path / "finished")
    job = start_job(tmp_path, config, stubs, "pass3.log")
    wait_for((tmp_path / "run", "plan.json"), job)
    job.send_signal(signal.SIGTERM)
    assert job.wait(timeout=60) == EXIT_STOPPED, (tmp_path / "pass3.log").read_text()
    assert "no piece finished in this pass: not submitting another" in (tmp_path / "pass3.log").read_text()
    assert len(calls.read_text().splitlines()) == 1
