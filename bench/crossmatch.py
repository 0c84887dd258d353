"""The training-set maker's sky cross-match on one core, against lsdb's crossmatch on the same inputs (target: >= 1x).

    python bench/crossmatch.py [--objects 1000000] [--spectra 50000] [--repeats 3]

Inputs (made once, seeded): ``--objects`` photometric objects uniform over a
10 x 10 degree patch in 4 parquet files, and ``--spectra`` spectra a fraction
of an arcsecond from some of them (one in ten of them with a second spectrum;
a few near nothing). Each contender runs in its own process pinned to CPU 0
with one thread everywhere (dask's synchronous scheduler for lsdb):

* pzmpi: ``mpiexec -n 1 pzmpi training-set`` from the parquet files to the
  tables and the QA report (it does more than match: duplicates, split, report);
* lsdb from parquet: read both files, ``lsdb.from_dataframe`` (HEALPix
  partitions; a margin of 5 arcsec on the photometry, lsdb's default), and
  ``crossmatch`` (nearest within 1 arcsec) computed to a DataFrame;
* lsdb on HATS: the same catalogs written as HATS collections beforehand (not
  timed: the PZ Server keeps its catalogs in HATS), opened and cross-matched.

Printed: the median wall time of each, the ratios lsdb / pzmpi, and whether
both found the same pairs (spectrum, object) before duplicates are resolved.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import COMMAND_TIMEOUT, environment, on_one_core, timed

from pzmpi.core.tomlconfig import dump_toml

PATCH_RA, PATCH_DEC = (40.0, 50.0), (-35.0, -25.0)
RADIUS_ARCSEC = 1.0
LSDB_MARGIN_ARCSEC = 5.0  # lsdb's default margin of from_dataframe


def make_inputs(work: Path, objects: int, spectra: int) -> None:
    """Photometry (objectId, coord_ra, coord_dec, six magnitudes) and spectra (ra, dec, z, flag), seeded."""
    if (work / "spectra.parquet").is_file():
        return
    rng = np.random.default_rng(42)
    ra = rng.uniform(*PATCH_RA, objects)
    dec = np.degrees(np.arcsin(rng.uniform(*np.sin(np.radians(PATCH_DEC)), objects)))
    depth = rng.uniform(18.0, 27.0, objects)
    photometry = {"objectId": rng.permutation(objects).astype(np.int64) + 1, "coord_ra": ra, "coord_dec": dec,
                  **{f"mag_{band}": (depth + rng.normal(0, 0.3, objects)).astype(np.float32) for band in "ugrizy"}}
    table = pa.table(photometry)
    (work / "photometry").mkdir(parents=True, exist_ok=True)
    for part, rows in enumerate(np.array_split(np.arange(objects), 4)):
        pq.write_table(table.slice(rows[0], rows.size), work / "photometry" / f"part{part}.parquet",
                       row_group_size=100_000)
    near = rng.choice(objects, spectra - spectra // 10 - 100, replace=False)
    targets = np.r_[near, near[: spectra // 10]]
    distance = rng.uniform(0.0, 0.8, targets.size) / 3600.0
    angle = rng.uniform(0.0, 2 * np.pi, targets.size)
    s_dec = dec[targets] + distance * np.cos(angle)
    s_ra = ra[targets] + distance * np.sin(angle) / np.cos(np.radians(s_dec))
    s_ra, s_dec = np.r_[s_ra, rng.uniform(60.0, 61.0, 100)], np.r_[s_dec, rng.uniform(-30.0, -29.0, 100)]
    pq.write_table(pa.table({"spectrum": np.arange(s_ra.size, dtype=np.int64), "ra": s_ra, "dec": s_dec,
                             "z": rng.uniform(0.05, 2.5, s_ra.size), "flag": rng.integers(1, 5, s_ra.size) * 1.0}),
                   work / "spectra.parquet")


def lsdb_worker(work: Path, mode: str) -> None:
    """One timed lsdb cross-match, in this process; prints its seconds and pairs as JSON."""
    import dask
    import lsdb
    import pandas as pd

    dask.config.set(scheduler="synchronous")
    start = time.perf_counter()
    if mode == "parquet":
        spectra = pd.read_parquet(work / "spectra.parquet")
        photometry = pd.read_parquet(work / "photometry")
        left = lsdb.from_dataframe(spectra, ra_column="ra", dec_column="dec", margin_threshold=None)
        right = lsdb.from_dataframe(photometry, ra_column="coord_ra", dec_column="coord_dec",
                                    margin_threshold=LSDB_MARGIN_ARCSEC)
    else:
        left, right = lsdb.open_catalog(work / "hats" / "spectra"), lsdb.open_catalog(work / "hats" / "photometry")
    pairs = left.crossmatch(right, n_neighbors=1, radius_arcsec=RADIUS_ARCSEC, suffixes=("_s", "_p"),
                            suffix_method="all_columns").compute()
    seconds = time.perf_counter() - start
    found = sorted(zip(pairs["spectrum_s"].to_numpy().tolist(), pairs["objectId_p"].to_numpy().tolist()))
    print(json.dumps({"seconds": seconds, "pairs": found}))


def write_hats(work: Path) -> None:
    """Both catalogs as HATS collections (the photometry with its margin), once, untimed."""
    if (work / "hats" / "photometry").is_dir():
        return
    import lsdb
    import pandas as pd

    lsdb.from_dataframe(pd.read_parquet(work / "spectra.parquet"), ra_column="ra", dec_column="dec",
                        margin_threshold=None).write_catalog(work / "hats" / "spectra", progress_bar=False)
    lsdb.from_dataframe(pd.read_parquet(work / "photometry"), ra_column="coord_ra", dec_column="coord_dec",
                        margin_threshold=LSDB_MARGIN_ARCSEC).write_catalog(work / "hats" / "photometry",
                                                                          progress_bar=False)


def run_lsdb(work: Path, mode: str) -> tuple[float, list]:
    command = on_one_core([sys.executable, __file__, "--work", str(work), "--lsdb-worker", mode])
    result = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    if result.returncode != 0:
        sys.exit(f"lsdb ({mode}) failed:\n{result.stderr[-3000:]}")
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return answer["seconds"], [tuple(pair) for pair in answer["pairs"]]


def pzmpi_pairs(work: Path) -> list:
    matches = pq.read_table(work / "out" / "matches.parquet")
    return sorted(zip(matches["spectrum"].to_pylist(), matches["objectId"].to_pylist()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--spectra", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("bench/results/crossmatch"))
    parser.add_argument("--lsdb-worker", choices=("parquet", "hats"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work.resolve()
    if args.lsdb_worker:
        return lsdb_worker(work, args.lsdb_worker)
    make_inputs(work, args.objects, args.spectra)
    write_hats(work)
    config = work / "training_set.toml"
    config.write_text(dump_toml({"spectra": {"paths": ["spectra.parquet"], "flag_column": "flag"},
                                 "photometry": {"paths": ["photometry"]}, "match": {"radius_arcsec": RADIUS_ARCSEC},
                                 "output": {"folder": "out"}}))
    command = on_one_core(["mpiexec", "-n", "1", sys.executable, "-m", "pzmpi", "training-set", str(config)])
    timed(command, cwd=work)  # warm-up: the page cache, imports
    times: dict[str, list[float]] = {"pzmpi": [], "lsdb from parquet": [], "lsdb on HATS": []}
    pairs = {}
    for _ in range(args.repeats):
        times["pzmpi"].append(timed(command, cwd=work))
        for name, mode in (("lsdb from parquet", "parquet"), ("lsdb on HATS", "hats")):
            seconds, pairs[name] = run_lsdb(work, mode)
            times[name].append(seconds)
    ours = pzmpi_pairs(work)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{args.objects:,} objects, {args.spectra:,} spectra, radius {RADIUS_ARCSEC} arcsec; one core (CPU 0), "
          f"median of {args.repeats}")
    print(f"  pzmpi training-set (whole command: read, match, policy, split, tables, QA report): "
          f"{median['pzmpi']:.2f} s")
    for name in ("lsdb from parquet", "lsdb on HATS"):
        same = "same pairs" if pairs[name] == ours else f"DIFFERENT pairs ({len(pairs[name])} against {len(ours)})"
        print(f"  {name} (match only, in process): {median[name]:.2f} s; ratio lsdb / pzmpi "
              f"{median[name] / median['pzmpi']:.2f}; {same}")
    verdict = min(median["lsdb from parquet"], median["lsdb on HATS"]) / median["pzmpi"]
    print(f"target: at least as fast per core as lsdb (ratio >= 1): {'met' if verdict >= 1 else 'NOT met'} "
          f"(worst ratio {verdict:.2f})")


if __name__ == "__main__":
    main()
