"""Shared helpers of the benchmarks: sample data at scale, configs, timed subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

from pzmpi.core.tomlconfig import dump_toml
from pzmpi.datasets.dc2_sample import DC2_VALIDATION, make_sample, rail_sample_path, read_rail_table
from pzmpi.estimators.config import load_config

COMMAND_TIMEOUT = 3 * 3600  # seconds: no benchmark command may hang a machine
LEPHARE_DATA = Path(__file__).resolve().parents[2] / "shared" / "lephare-data"
# LePHARE: the library that shared/lephare-data/README.md measured (its default star list is not shipped)
TRAINING_PARAMS = {
    "flexzboost": {"nbump": 3, "nsharp": 3}, "bpz": {}, "tpz": {}, "gpz": {},
    "lephare": {"lephare.STAR_SED": str(LEPHARE_DATA / "sed/STAR/STAR_MOD.list"),
                "star.STAR_SED": str(LEPHARE_DATA / "sed/STAR/STAR_MOD.list"),
                "gal.EXTINC_LAW": "SB_calzetti.dat", "gal.MOD_EXTINC": "18,26", "gal.EM_DISPERSION": "1."},
}
ESTIMATOR_KEYS = {"lephare": {"data_dir": str(LEPHARE_DATA), "nzbins": 61}}


def environment() -> dict[str, str]:
    """One thread per process for every library, RAIL's runs included (joblib too)."""
    env = dict(os.environ)
    env.update(HYDRA_LAUNCHER="fork", MPIEXEC_TIMEOUT=str(COMMAND_TIMEOUT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1", LOKY_MAX_CPU_COUNT="1")
    return env


def on_one_core(command: list[str]) -> list[str]:
    """Pin a command (and every process it starts) to CPU 0, so that 'one core' means one core."""
    return ["taskset", "-c", "0", *command] if shutil.which("taskset") else command


def timed(command: list[str], cwd: Path | None = None) -> float:
    """Wall seconds of a command, which must succeed."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=environment(), capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(command)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


def rail_magnitude_file(path: Path, replicas: int) -> Path:
    """RAIL's DC2 validation sample repeated ``replicas`` times, in RAIL's own HDF5 layout."""
    table = read_rail_table(rail_sample_path(DC2_VALIDATION))
    with h5py.File(path, "w") as handle:
        for name, values in table.items():
            handle.create_dataset(f"photometry/{name}", data=np.tile(values, replicas))
    return path


def prepare(work: Path, replicas: int, files: int, estimators: list[str]) -> dict[str, Path]:
    """The sample as Object parquet (and as RAIL HDF5), with a model per estimator trained by pzmpi.

    Training time (one core, RAIL's DC2 training sample of 10,225 rows) and model size are printed.
    """
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "catalog").is_dir():
        make_sample(work, n_files=files, replicas=replicas, row_group_rows=10000)
    if not (work / "rail_input.hdf5").is_file():
        rail_magnitude_file(work / "rail_input.hdf5", replicas)
    models = {}
    for name in estimators:
        models[name] = work / f"{name}.pkl"
        if not models[name].is_file():
            config = write_config(work / f"train-{name}.toml", name, work, "unused")
            seconds = timed(on_one_core([sys.executable, "-m", "pzmpi", "train", str(config)]))
            print(f"{name}: trained in {seconds:.1f} s, model {models[name].stat().st_size / 2**20:.2f} MiB", flush=True)
    return models


def write_config(path: Path, name: str, work: Path, folder: str, implementation: str = "native", **run: int) -> Path:
    sections = {
        "input": {"paths": str(work / "catalog"), "flux_column": "{band}_cModelFlux",
                  "flux_error_column": "{band}_cModelFluxErr"},
        "estimator": {"name": name, "model": str(work / f"{name}.pkl"), "implementation": implementation,
                      **ESTIMATOR_KEYS.get(name, {})},
        "training": {"input": str(work / "training.parquet"), "params": TRAINING_PARAMS[name]},
        "output": {"folder": folder, "resume": False},
        "run": {"rows_per_chunk": 10000, "progress_interval": 60.0, **run},
    }
    path.write_text(dump_toml(sections))
    return path


def rail_estimate(name: str, model: Path, source: Path, output: Path) -> dict:
    """RAIL's own estimate() of ``source`` on CPU 0 (bench/rail_estimate.py): its seconds and peak RSS."""
    command = [sys.executable, str(Path(__file__).parent / "rail_estimate.py"), name, str(model), str(source),
               str(output)]
    result = subprocess.run(on_one_core(command), env=environment(), capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT)
    if result.returncode != 0:
        sys.exit(f"RAIL estimate failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def pzmpi_run(config: Path, ranks: int) -> tuple[float, dict]:
    """Wall seconds of ``mpiexec -n RANKS pzmpi run`` (start-up included) and its profile; one rank runs on CPU 0."""
    command = ["mpiexec", "-n", str(ranks), sys.executable, "-m", "pzmpi", "run", str(config)]
    elapsed = timed(on_one_core(command) if ranks == 1 else command, cwd=config.parent)
    return elapsed, json.loads((Path(load_config(config).output.folder) / "profile.json").read_text())
