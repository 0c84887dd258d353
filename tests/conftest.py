"""Shared fixtures: RAIL's DC2 sample as Object-like parquet, trained models, and an mpiexec runner.

``bin/test`` runs the suite on both cores with pytest-xdist, two workers sharing
every test: two ``mpiexec`` jobs may run at once, oversubscribed, each under its
timeout. The sample, the trained models and the end-to-end demos are made once
per session, by whichever worker asks first, under a file lock.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pzmpi.core.tomlconfig import dump_toml
from pzmpi.datasets.dc2_sample import make_sample

TESTS = Path(__file__).parent
MPI_TIMEOUT = 300  # seconds: no mpiexec launched by a test may outlive this


def mpi_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HYDRA_LAUNCHER="fork", MPIEXEC_TIMEOUT=str(MPI_TIMEOUT), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS / "plugins"), env.get("PYTHONPATH")])))
    return env


def run_pzmpi(args: list[str], ranks: int | None = None, cwd: Path | None = None,
              timeout: float = MPI_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run ``pzmpi ARGS`` (under ``mpiexec -n RANKS`` when given) with a hard timeout."""
    command = [sys.executable, "-m", "pzmpi", *args]
    if ranks is not None:
        command = ["mpiexec", "-n", str(ranks), *command]
    return subprocess.run(command, cwd=cwd, env=mpi_environment(), capture_output=True, text=True, timeout=timeout)


def write_config(path: Path, **sections: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_toml(sections))
    return path


def object_input(paths: str | list[str]) -> dict:
    return {"paths": paths, "flux_column": "{band}_cModelFlux", "flux_error_column": "{band}_cModelFluxErr"}


def session_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shared by every xdist worker of this session (the parent of each worker's base)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed): one worker makes what the others wait for."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def made_once(folder: Path, make: Callable[[Path], None]) -> Path:
    """``folder``, made by ``make`` by whichever worker comes first; a ``.done`` mark tells it is whole."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(folder.with_name(folder.name + ".lock")):
        if not (folder / ".done").exists():
            folder.mkdir(exist_ok=True)
            make(folder)
            (folder / ".done").touch()
    return folder


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RAIL's DC2 validation sample as 4 parquet files (3 row groups each), and its training sample."""
    return made_once(session_folder(tmp_path_factory) / "sample",
                     lambda folder: make_sample(folder, n_files=4, row_group_rows=2000))


# Estimator name (or class path) and informer parameters small enough for tests.
TEST_ESTIMATORS = {
    # 20 basis functions of 25 trees of depth 6: 8 s of training and 2 MB, against 32 s and 38 MB for RAIL's
    # defaults; the native and RAIL paths see the same model either way
    "flexzboost": ("flexzboost", {"nbump": 3, "nsharp": 3, "max_basis": 20,
                                  "regression_params": {"max_depth": 6, "objective": "reg:squarederror",
                                                        "n_estimators": 25}}),
    "bpz": ("bpz", {}),
    "tpz": ("tpz", {"n_random": 1, "n_trees": 3}),
    "gpz": ("gpz", {"n_basis": 10, "max_iter": 30, "gpz_method": "VL"}),
    "knn": ("rail.estimation.algos.k_nearneigh.KNearNeighEstimator", {"ngrid_sigma": 3, "nneigh_max": 4}),
}


class TrainedModels:
    """Models trained by ``pzmpi train`` on the sample's training table, once per session, on first use."""

    def __init__(self, sample: Path) -> None:
        self.sample = sample
        self.paths: dict[str, Path] = {}

    def __getitem__(self, key: str) -> Path:
        name, params = TEST_ESTIMATORS[key]
        model = self.train(key, name, params)
        if key == "bpz":
            made_once(self.sample.parent / "bpz-templates", lambda folder: make_bpz_templates(folder, model))
        return model

    def train(self, key: str, name: str, params: dict, training_rows: int | None = None) -> Path:
        """The model ``key`` of estimator ``name`` trained with ``params`` (on the first ``training_rows`` rows)."""
        if key not in self.paths:
            def train(folder: Path) -> None:
                training = self.sample / "training.parquet"
                if training_rows is not None:
                    import pyarrow.parquet as pq

                    pq.write_table(pq.read_table(training).slice(0, training_rows), folder / "training.parquet")
                    training = folder / "training.parquet"
                config = write_config(folder / "train.toml", input=object_input(str(self.sample / "catalog")),
                                      estimator={"name": name, "model": f"{key}.pkl"},
                                      training={"input": str(training), "params": params},
                                      output={"folder": "unused"})
                result = run_pzmpi(["train", str(config)])
                assert result.returncode == 0, result.stderr

            self.paths[key] = made_once(self.sample.parent / f"model-{key}", train) / f"{key}.pkl"
        return self.paths[key]


def make_bpz_templates(folder: Path, model: Path) -> None:
    """BPZ's AB files, made once, before any test uses BPZ: RAIL makes them on first use, in place, and a process
    that reads one while another writes it fails (within a job, pzmpi's root makes them first)."""
    from pzmpi.estimators.config import load_config
    from pzmpi.estimators.rail_adapter import open_rail_stage

    config = write_config(folder / "bpz.toml", input=object_input("unused"),
                          estimator={"name": "bpz", "model": str(model)}, output={"folder": "unused"})
    open_rail_stage(load_config(config))


@pytest.fixture(scope="session")
def models(sample: Path) -> TrainedModels:
    return TrainedModels(sample)
