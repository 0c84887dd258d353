"""Shared fixtures: RAIL's DC2 sample as Object-like parquet, trained models, and an mpiexec runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pzmpi.config import dump_toml
from pzmpi.sample import make_sample

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


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RAIL's DC2 validation sample as 4 parquet files (3 row groups each), and its training sample."""
    folder = tmp_path_factory.mktemp("sample")
    make_sample(folder, n_files=4, row_group_rows=2000)
    return folder


# Estimator name (or class path) and informer parameters small enough for tests.
TEST_ESTIMATORS = {
    "flexzboost": ("flexzboost", {"nbump": 3, "nsharp": 3}),
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
        if key not in self.paths:
            name, params = TEST_ESTIMATORS[key]
            config = write_config(self.sample / f"train-{key}.toml", input=object_input("catalog"),
                                  estimator={"name": name, "model": f"{key}.pkl"},
                                  training={"input": "training.parquet", "params": params},
                                  output={"folder": f"unused-{key}"})
            result = run_pzmpi(["train", str(config)])
            assert result.returncode == 0, result.stderr
            self.paths[key] = self.sample / f"{key}.pkl"
        return self.paths[key]


@pytest.fixture(scope="session")
def models(sample: Path) -> TrainedModels:
    return TrainedModels(sample)
