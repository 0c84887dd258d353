"""Planning and finishing a run of many small files, on 1 and 2 ranks, in one invocation.

    python bench/many_files.py [--files 2000] [--rows 20] [--columns 991] [--finish 2000,8000,32000] [--work DIR]

Writes ``--files`` parquet files of ``--rows`` rows and ``--columns`` columns (DP0.2's
Object table has 991), the six bands' nJy fluxes among them, once; trains BPZ on
RAIL's DC2 training sample; then runs ``pzmpi run`` over all of them with 1 and
with 2 ranks, one after the other, each from an empty run folder. Prints, per rank
count, the planning time (the slowest rank's ``plan`` stage: listing, its share of
the footers, the root's plan), the root's finish (summary and ``index.hdf5``) in
total and per piece, and the wall time; then the 2-rank planning time over the
1-rank one (issue 15's target: at most 0.6).

Then the finish at scale: for each count in ``--finish``, a 2-rank run of that many
one-row pieces (files of 100 one-row row groups, ``max_rows_per_piece = 1``), and the
root's finish (the pieces' check, ``index.hdf5`` and its parts, ``timeline.parquet``) per
piece. Issue 15's target: it does not grow from 2,000 to 32,000 pieces.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import environment

from pzmpi.core.tomlconfig import dump_toml
from pzmpi.datasets.dc2_sample import make_sample
from pzmpi.photometry.bands import LSST_BANDS


def write_files(folder: Path, files: int, rows: int, columns: int) -> None:
    """``files`` Object-like parquet files; kept between invocations (a ``.done`` mark tells they are whole)."""
    if (folder / ".done").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = ["objectId", "coord_ra", "coord_dec"] + [f"{b}_cModelFlux{e}" for b in LSST_BANDS for e in ("", "Err")]
    names += [f"column_{k:03d}" for k in range(columns - len(names))]
    for index in range(files):
        data = {"objectId": np.arange(index * rows, (index + 1) * rows, dtype=np.int64),
                "coord_ra": rng.uniform(0, 1, rows), "coord_dec": rng.uniform(0, 1, rows)}
        for band in LSST_BANDS:
            data[f"{band}_cModelFlux"] = rng.uniform(1e3, 1e4, rows)
            data[f"{band}_cModelFluxErr"] = rng.uniform(10, 100, rows)
        filler = rng.normal(size=(len(names) - len(data), rows)).astype(np.float32)
        data.update({name: values for name, values in zip(names[len(data):], filler)})
        pq.write_table(pa.table(data), folder / f"object_{index:06d}.parquet")
    (folder / ".done").touch()


def write_one_row_pieces(folder: Path, pieces: int, per_file: int = 100) -> None:
    """Skinny-like files of ``per_file`` row groups of one row each, ``pieces`` rows in all; kept between invocations."""
    if (folder / ".done").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for index in range(0, pieces, per_file):
        rows = min(per_file, pieces - index)
        data = {"objectId": np.arange(index, index + rows, dtype=np.int64),
                "coord_ra": rng.uniform(0, 1, rows), "coord_dec": rng.uniform(0, 1, rows)}
        for band in LSST_BANDS:
            data[f"{band}_cModelFlux"] = rng.uniform(1e3, 1e4, rows)
            data[f"{band}_cModelFluxErr"] = rng.uniform(10, 100, rows)
        pq.write_table(pa.table(data), folder / f"one_row_groups_{index:07d}.parquet", row_group_size=1)
    (folder / ".done").touch()


def run(work: Path, ranks: int, name: str, overrides: tuple[str, ...] = ()) -> dict:
    """A run of ``bpz.toml`` (with ``--set`` ``overrides``) on ``ranks`` ranks, from an empty folder."""
    folder = work / name
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    command = ["mpiexec", "-n", str(ranks), sys.executable, "-m", "pzmpi", "run", str(work / "bpz.toml"),
               "--set", f"output.folder={json.dumps(str(folder))}"]
    command += [item for setting in overrides for item in ("--set", setting)]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True, env=environment())
    wall = time.perf_counter() - start
    profile = json.loads((folder / "profile.json").read_text())
    pieces = len(json.loads((folder / "plan.json").read_text())["pieces"])
    return {"plan": profile["stages"]["plan"]["max"], "finish": profile["finish_seconds"], "pieces": pieces,
            "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--columns", type=int, default=991)
    parser.add_argument("--finish", default="2000,8000,32000",
                        help="piece counts of the finish runs (comma-separated; empty for none)")
    parser.add_argument("--work", type=Path, default=Path("many_files"))
    args = parser.parse_args()
    work = args.work.resolve()
    catalog = work / f"catalog-{args.files}x{args.rows}x{args.columns}"
    start = time.perf_counter()
    write_files(catalog, args.files, args.rows, args.columns)
    print(f"{args.files:,} files of {args.rows} rows and {args.columns} columns in {catalog} "
          f"({time.perf_counter() - start:.1f} s to make or find)")
    sample = make_sample(work / "sample", n_files=1)
    config = {"input": {"paths": str(catalog), "flux_column": "{band}_cModelFlux",
                        "flux_error_column": "{band}_cModelFluxErr"},
              "estimator": {"name": "bpz", "model": str(work / "bpz.pkl")},
              "training": {"input": str(sample["training"][0])}, "output": {"folder": "unused"}}
    (work / "bpz.toml").write_text(dump_toml(config))
    if not (work / "bpz.pkl").exists():
        subprocess.run([sys.executable, "-m", "pzmpi", "train", str(work / "bpz.toml")], check=True,
                       env=environment(), capture_output=True)
    results = {ranks: run(work, ranks, f"run-{ranks}") for ranks in (1, 2)}
    print(f"{'ranks':>5} {'pieces':>7} {'plan s':>8} {'finish s':>9} {'finish ms/piece':>16} {'wall s':>8}")
    for ranks, result in results.items():
        print(f"{ranks:>5} {result['pieces']:>7,} {result['plan']:>8.2f} {result['finish']:>9.2f} "
              f"{1000 * result['finish'] / result['pieces']:>16.3f} {result['wall']:>8.1f}")
    print(f"planning on 2 ranks / on 1 rank: {results[2]['plan'] / results[1]['plan']:.2f} (target: at most 0.6)")

    counts = [int(count) for count in args.finish.split(",") if count]
    finishes = {}
    for count in counts:
        pieces = work / f"one-row-{count}"
        write_one_row_pieces(pieces, count)
        finishes[count] = run(work, 2, f"finish-{count}", (f"input.paths={json.dumps(str(pieces))}",
                                                           "run.max_rows_per_piece=1"))
    if finishes:
        print(f"\nthe root's finish on 2 ranks, one-row pieces:\n{'pieces':>7} {'finish s':>9} {'ms/piece':>9} "
              f"{'run wall s':>11}")
        for result in finishes.values():
            print(f"{result['pieces']:>7,} {result['finish']:>9.2f} {1000 * result['finish'] / result['pieces']:>9.3f} "
                  f"{result['wall']:>11.1f}")
        first, last = finishes[counts[0]], finishes[counts[-1]]
        growth = (last["finish"] / last["pieces"]) / (first["finish"] / first["pieces"])
        print(f"finish per piece at {last['pieces']:,} / at {first['pieces']:,} pieces: {growth:.2f} "
              f"(target: not above 1)")


if __name__ == "__main__":
    main()
