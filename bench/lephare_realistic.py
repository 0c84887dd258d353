"""LePHARE on a realistic library: RAIL's estimate() against pzmpi's native fit, one core each, same objects.

    python bench/lephare_realistic.py [--objects 1000] [--work bench/results/lephare-realistic]

The library is RAIL's default galaxy library cut at z = 3: the 31 COSMOS templates, 4
extinction laws (SMC on templates 18-26, three Calzetti variants on 26-33), 10 E(B-V)
values, 5 emission-line strengths, z from 0 to 3 in steps of 0.01, with RAIL's QSO
library and the shipped star list. ``pzmpi train`` builds it once (one core, minutes;
kept in ``--work``). Then, one after the other, pinned to CPU 0:

* RAIL: ``LephareEstimator.estimate()`` on the first ``--objects`` objects of RAIL's DC2
  validation sample (its own HDF5 magnitudes);
* pzmpi: ``mpiexec -n 1 pzmpi run`` of the same objects, ``estimator.implementation =
  "native"``; its ``estimate`` stage (the fit) and its busy time;
* the floor of a fit written as matrix products: (objects x bands) @ (bands x models) twice,
  in blocks of 256 objects and 2,048 models, numpy with one BLAS thread, on the library's size.

Prints objects/s of each, the ratios, and the library's size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq
from common import LEPHARE_DATA, TRAINING_PARAMS, environment, on_one_core, pzmpi_run, timed

from pzmpi.core.tomlconfig import dump_toml
from pzmpi.datasets.dc2_sample import DC2_VALIDATION, make_sample, object_table, rail_sample_path, read_rail_table

REALISTIC_GALAXIES = {  # RAIL's defaults (lephare.default_cosmos_config and RAIL's LSST overrides)
    "gal.GAL_SED": str(LEPHARE_DATA / "sed/GAL/COSMOS_SED/COSMOS_MOD.list"),
    "gal.EXTINC_LAW": "SMC_prevot.dat,SB_calzetti.dat,SB_calzetti_bump1.dat,SB_calzetti_bump2.dat",
    "gal.MOD_EXTINC": "18,26,26,33,26,33,26,33",
    "gal.EB_V": "0.,0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.5",
    "gal.EM_DISPERSION": "0.5,0.75,1.,1.5,2.",
    "gal.LIB_ASCII": "NO", "star.LIB_ASCII": "NO", "qso.LIB_ASCII": "NO",
}


def configuration(work: Path, folder: str) -> Path:
    params = {**TRAINING_PARAMS["lephare"], **REALISTIC_GALAXIES}
    sections = {
        "input": {"paths": str(work / "catalog"), "flux_column": "{band}_cModelFlux",
                  "flux_error_column": "{band}_cModelFluxErr"},
        "estimator": {"name": "lephare", "model": str(work / "lephare.pkl"), "implementation": "native",
                      "data_dir": str(LEPHARE_DATA), "zmin": 0.0, "zmax": 3.0, "nzbins": 301},
        "training": {"input": str(work / "training.parquet"), "params": params},
        "output": {"folder": folder, "resume": False, "estimator_columns": ["Z_BEST", "CHI_BEST"]},
        "run": {"rows_per_chunk": 1000, "progress_interval": 60.0},
    }
    path = work / f"{folder}.toml"
    path.write_text(dump_toml(sections))
    return path


def prepare(work: Path, objects: int) -> None:
    """The objects as Object parquet and as RAIL HDF5; the library, built once."""
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "training.parquet").is_file():
        make_sample(work / "sample", n_files=1)
        (work / "training.parquet").symlink_to(work / "sample" / "training.parquet")
    table = read_rail_table(rail_sample_path(DC2_VALIDATION))
    subset = {name: values[:objects] for name, values in table.items()}
    (work / "catalog").mkdir(exist_ok=True)
    pq.write_table(object_table(subset, keep_redshift=True), work / "catalog" / "objects.parquet")
    with h5py.File(work / "rail_input.hdf5", "w") as handle:  # RAIL gets what pzmpi gives LePHARE: NaN, not 99
        for name, values in subset.items():
            if name.startswith("mag_") and not name.startswith("mag_err_"):
                values = np.where(values == 99.0, np.float32(np.nan), values)
            handle.create_dataset(f"photometry/{name}", data=values)
    if not (work / "lephare.pkl").is_file():
        seconds = timed(on_one_core([sys.executable, "-m", "pzmpi", "train", str(configuration(work, "train"))]))
        print(f"library built in {seconds:.0f} s (one core)", flush=True)


def matrix_floor(models: int, objects: int, bands: int = 6, object_block: int = 256, model_block: int = 2048) -> float:
    """Seconds of the two products a chunk's fit needs, (objects x bands) @ (bands x models), in blocks of objects
    and models that stay in cache (numpy, one BLAS thread)."""
    rng = np.random.default_rng(0)
    library = rng.random((bands, models))
    squared = library * library
    weights = rng.random((object_block, bands))
    start = time.perf_counter()
    for _ in range(0, objects, object_block):
        for first in range(0, models, model_block):
            weights @ library[:, first:first + model_block]
            weights @ squared[:, first:first + model_block]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("bench/results/lephare-realistic"))
    args = parser.parse_args()
    work = args.work.resolve()
    prepare(work, args.objects)

    command = [sys.executable, str(Path(__file__).parent / "rail_estimate.py"), "lephare", str(work / "lephare.pkl"),
               str(work / "rail_input.hdf5"), str(work / "rail_lephare.hdf5")]
    result = subprocess.run(on_one_core(command), env=environment(), capture_output=True, text=True, check=True)
    rail = json.loads(result.stdout.strip().splitlines()[-1])
    wall, profile = pzmpi_run(configuration(work, "run-native"), 1)
    estimate = profile["stages"]["estimate"]["max"]
    busy = profile["total_rows"] / profile["per_rank"][0]["objects_per_second"]
    with h5py.File(work / "run-native" / "index.hdf5") as index, h5py.File(work / "rail_lephare.hdf5") as reference:
        z_best = index["ancil/Z_BEST"][()]
        same = np.array_equal(z_best, reference["ancil/Z_BEST"][()].ravel())
    size = library_size(work)
    floor = matrix_floor(size, args.objects)
    rows = args.objects
    print(f"{rows:,} objects; library of {size:,} models; one core each")
    print(f"RAIL estimate():          {rail['seconds']:8.1f} s  {rows / rail['seconds']:9.1f} obj/s")
    print(f"pzmpi native, busy:       {busy:8.1f} s  {rows / busy:9.1f} obj/s  ratio {rail['seconds'] / busy:.2f}x "
          f"(target 20x)")
    print(f"pzmpi native, fit only:   {estimate:8.1f} s  {rows / estimate:9.1f} obj/s  (wall with start-up "
          f"{wall:.1f} s)")
    print(f"two matrix products:      {floor:8.2f} s  {rows / floor:9.1f} obj/s  fit / floor {estimate / floor:.1f}x "
          f"(target: within 3x)")
    print(f"Z_BEST identical to RAIL's: {same}")


def library_size(work: Path) -> int:
    """Models in the library pzmpi's native fit reads (its run log records them)."""
    for log in sorted((work / "run-native" / "logs").glob("*.log")):
        for line in log.read_text().splitlines():
            if "LePHARE library:" in line:
                return int(line.split("LePHARE library:")[1].split()[0].replace(",", ""))
    raise SystemExit("the native run's log does not give the library's size")


if __name__ == "__main__":
    main()
