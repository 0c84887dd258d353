"""LePHARE on a realistic library: RAIL's estimate() against pzmpi's native fit, one core each, same objects.

    python bench/lephare_realistic.py [--objects 2000] [--library full|minimal] [--prior] [--work DIR]

The library (``pzmpi.datasets.lephare_libraries``): ``full`` is RAIL's default galaxy
library cut at z = 3 (31 COSMOS templates, 4 extinction laws, 10 E(B-V) values, 5
emission-line strengths, z from 0 to 3 in steps of 0.01) with RAIL's QSO library and the
shipped star list, 448,625 models; ``minimal`` the smallest library issue 16 calls
realistic. ``pzmpi train`` builds it once (one core; kept in ``--work``, by default
``bench/results/lephare-LIBRARY``). Then, one after the other, pinned to CPU 0:

* RAIL: ``LephareEstimator.estimate()`` on the first quarter of ``--objects`` objects of
  RAIL's DC2 validation sample, then on all of them (its own HDF5 magnitudes). RAIL reads
  the library again for every chunk (``lephare.process``); the two sizes give its cost per
  object apart from that: (t_all - t_quarter) / (3/4 of the objects);
* pzmpi: ``mpiexec -n 1 pzmpi run`` of the same objects, ``estimator.implementation =
  "native"``: its busy time, and its ``estimate`` stage (the fit) per object;
* the floor of a fit written as matrix products: (objects x bands) @ (bands x models) twice,
  in blocks of 256 objects and 2,048 models, numpy with one BLAS thread, on the library's size.

``--prior`` runs both with LePHARE's N(z) prior (NZ_PRIOR = 4,5: the i band, z as fallback),
in a work folder of its own (``lephare-LIBRARY-prior``: the model records the setting).

Prints the times, the ratios (the whole command, and per object apart from the one-time
library reading, which is what a DR11 rank of millions of objects sees), the fit against
the floor, and how far pzmpi's values and PDFs are from RAIL's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq
import qp
from common import LEPHARE_DATA, on_one_core, pzmpi_run, rail_estimate, timed

from pzmpi.core.tomlconfig import dump_toml
from pzmpi.datasets.dc2_sample import DC2_VALIDATION, make_sample, object_table, rail_sample_path, read_rail_table
from pzmpi.datasets.lephare_libraries import cosmos_library_params

KEYS = ["Z_BEST", "CHI_BEST", "ZQ_BEST", "CHI_QSO", "MOD_STAR", "CHI_STAR"]  # RAIL's output_keys


def configuration(work: Path, folder: str, library: str, prior: bool, catalog: str = "catalog") -> Path:
    params = cosmos_library_params(LEPHARE_DATA, library)
    if prior:
        params["lephare.NZ_PRIOR"] = "4,5"
    sections = {
        "input": {"paths": str(work / catalog), "flux_column": "{band}_cModelFlux",
                  "flux_error_column": "{band}_cModelFluxErr"},
        "estimator": {"name": "lephare", "model": str(work / "lephare.pkl"), "implementation": "native",
                      "data_dir": str(LEPHARE_DATA), "zmin": 0.0, "zmax": 3.0, "nzbins": 301},
        "training": {"input": str(work / "training.parquet"), "params": params},
        "output": {"folder": folder, "resume": False, "estimator_columns": KEYS},
        "run": {"rows_per_chunk": 1000, "progress_interval": 60.0},
    }
    path = work / f"{folder}.toml"
    path.write_text(dump_toml(sections))
    return path


def prepare(work: Path, objects: int, library: str, prior: bool) -> None:
    """The objects as Object parquet and as RAIL HDF5 (all, and the first quarter); the library, built once."""
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "training.parquet").is_file():
        make_sample(work / "sample", n_files=1)
        (work / "training.parquet").symlink_to(work / "sample" / "training.parquet")
    table = read_rail_table(rail_sample_path(DC2_VALIDATION))
    subset = {name: values[:objects] for name, values in table.items()}
    for folder, rows in (("catalog", objects), ("catalog_quarter", objects // 4)):
        (work / folder).mkdir(exist_ok=True)
        part = {name: values[:rows] for name, values in subset.items()}
        pq.write_table(object_table(part, keep_redshift=True), work / folder / "objects.parquet")
    for path, rows in ((work / "rail_input.hdf5", objects), (work / "rail_quarter.hdf5", objects // 4)):
        with h5py.File(path, "w") as handle:  # RAIL gets what pzmpi gives LePHARE: NaN, not 99
            for name, values in subset.items():
                if name.startswith("mag_") and not name.startswith("mag_err_"):
                    values = np.where(values == 99.0, np.float32(np.nan), values)
                handle.create_dataset(f"photometry/{name}", data=values[:rows])
    if not (work / "lephare.pkl").is_file():
        seconds = timed(on_one_core([sys.executable, "-m", "pzmpi", "train", str(configuration(work, "train", library,
                                                                                                  prior))]))
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


def differences(work: Path) -> tuple[list[str], float]:
    """RAIL's output keys that differ between RAIL's run and pzmpi's, and the largest |delta p| / max p."""
    with h5py.File(work / "run-native" / "index.hdf5") as index, h5py.File(work / "rail_output.hdf5") as reference:
        differing = [key for key in KEYS if not np.array_equal(index[f"ancil/{key}"][()],
                                                               reference[f"ancil/{key}"][()].ravel())]
        pdfs = index["data/yvals"][()]
        grid = index["meta/xvals"][()].ravel()
    rail = np.asarray(qp.read(str(work / "rail_output.hdf5")).pdf(grid))
    fitted = ~np.isnan(rail).any(axis=1)
    peak = rail[fitted].max(axis=1, keepdims=True)
    return differing, float((np.abs(pdfs[fitted] - rail[fitted]) / peak).max())


def per_chunk_seconds(profile: dict) -> float:
    """A run's seconds in the stages it goes through for every chunk: read, clean, estimate, summary, write."""
    return sum(profile["stages"][name]["max"] for name in ("read", "clean", "estimate", "summary", "write"))


def library_size(work: Path) -> int:
    """Models in the library pzmpi's native fit reads (its run log records them)."""
    for log in sorted((work / "run-native" / "logs").glob("*.log")):
        for line in log.read_text().splitlines():
            if "LePHARE library:" in line:
                return int(line.split("LePHARE library:")[1].split()[0].replace(",", ""))
    raise SystemExit("the native run's log does not give the library's size")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--library", choices=("full", "minimal"), default="full")
    parser.add_argument("--prior", action="store_true", help="with the N(z) prior (NZ_PRIOR = 4,5)")
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    measure(args.objects, args.library, args.prior, args.work)


def measure(objects: int, library: str, prior: bool, work: Path | None = None) -> None:
    """Build the library once, run RAIL and pzmpi on ``objects`` objects, and print the comparison."""
    name = f"lephare-{library}" + ("-prior" if prior else "")
    work = (work or Path(__file__).parent / "results" / name).resolve()
    prepare(work, objects, library, prior)

    rows, quarter = objects, objects // 4
    model = work / "lephare.pkl"
    rail_quarter = rail_estimate("lephare", model, work / "rail_quarter.hdf5",
                                 work / "rail_output_quarter.hdf5")["seconds"]
    rail_all = rail_estimate("lephare", model, work / "rail_input.hdf5", work / "rail_output.hdf5")["seconds"]
    rail_per_object = (rail_all - rail_quarter) / (rows - quarter)
    profile_quarter = pzmpi_run(configuration(work, "run-native-quarter", library, prior, "catalog_quarter"), 1)[1]
    wall, profile = pzmpi_run(configuration(work, "run-native", library, prior), 1)
    pzmpi_per_object = (per_chunk_seconds(profile) - per_chunk_seconds(profile_quarter)) / (rows - quarter)
    fit = profile["stages"]["estimate"]["max"]
    busy = profile["total_rows"] / profile["per_rank"][0]["objects_per_second"]
    differing, worst = differences(work)
    size = library_size(work)
    floor = matrix_floor(size, rows)
    print(f"{rows:,} objects; library of {size:,} models; one core each"
          + ("; the N(z) prior on (NZ_PRIOR = 4,5)" if prior else ""))
    print(f"RAIL estimate():      {rail_all:8.1f} s ({quarter:,} objects: {rail_quarter:.1f} s); per object apart from "
          f"its library reads {rail_per_object * 1e3:.2f} ms")
    stages = profile["stages"]
    print(f"pzmpi native, busy:   {busy:8.1f} s  {rows / busy:9.1f} obj/s  whole command ratio {rail_all / busy:.2f}x "
          f"(set-up {stages['setup']['max']:.1f} s, compile {stages['compile']['max']:.1f} s; wall with start-up "
          f"{wall:.1f} s)")
    print(f"pzmpi native, per object apart from its set-up (read, clean, fit, summary, write; the two sizes): "
          f"{pzmpi_per_object * 1e3:.3f} ms; per object ratio {rail_per_object / pzmpi_per_object:.1f}x (target 20x)")
    print(f"pzmpi native, fit:    {fit:8.1f} s  {fit / rows * 1e3:.3f} ms per object (the estimate stage alone: "
          f"{rail_per_object * rows / fit:.1f}x)")
    print(f"two matrix products:  {floor:8.2f} s  fit / floor {fit / floor:.2f}x (target: within 3x)")
    print(f"values that differ from RAIL's: {', '.join(differing) or 'none'} (of {', '.join(KEYS)}); "
          f"PDFs: max |delta p| / max p = {worst:.1e}")


if __name__ == "__main__":
    main()
