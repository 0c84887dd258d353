"""Skinny-table rows/s on one core: pzmpi's kernels against the pandas way pz-compute does it (target: >= 5x).

    python bench/bench_skinny.py [--rows 100000] [--files 2] [--repeats 15] [--decimals -1]
                                 [--compression snappy] [--core 1]

Both implementations run in this one process, pinned to one core with every
thread pool at 1 thread, on the same synthetic catalogs (``pzmpi.synthetic``,
widened to the real column counts: DP0.2 991 columns, DP1 1296, so that reading
only the needed columns counts as it would). Each makes the same skinny table:
objectId, coord_ra, coord_dec, mag_{band}, magerr_{band} (float32), with
pzmpi's non-detection policy (docs/skinny.md), the ``detect_isPrimary`` cut
(DP0.2) and dereddening with the ``ebv`` column (DP1); the script checks that
both outputs agree to 1 float32 ulp before timing.

The pandas way mirrors ``rail_scripts/rail-preprocess-parquet`` of
linea-it/pz-compute (commit becdedf): ``ParquetFile(buffer_size=1 MiB)``, one
``iter_batches`` batch per output file (``batch_size = ceil(rows / ceil(rows /
max_rows))``, the needed columns, ``use_pandas_metadata``), ``to_pandas()``,
``numpy.nan_to_num`` on every float column (inf to NaN; pandas 3's copy-on-write
makes it a copy where pz-compute's older pandas worked in place), column-wise flux to magnitude
on the renamed columns, ``table.query('detect_isPrimary == True', inplace=True)``,
column-wise dereddening, optional ``round``, then a pandas write
(``DataFrame.to_parquet`` here; pz-compute writes HDF5 through tables_io). Its
conversion is given pzmpi's policy with pandas/numpy column operations, because
pz-compute's own (f = 0 to +inf, f < 0 to NaN with a negative error) is the bug
the skinny command fixes. pzmpi's side is what one rank of ``pzmpi skinny`` does
for its pieces (``pzmpi.skinny.process_pieces``), sha256 of the outputs included.

Timing: CPU time of each way, the two run in pairs (the order alternating), the
rows/s from the best run of each and the ratio from the median of the paired
ratios, with their range: on a shared machine a single pair can be off by 2x.
``--compression`` sets both ways' output codec.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from math import ceil
from pathlib import Path

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "ARROW_NUM_THREADS")
for _name in THREAD_VARIABLES:  # before numpy, numba and pyarrow load
    os.environ[_name] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from pzmpi.cleaning import ZP_NJY  # noqa: E402
from pzmpi.config import LSST_BANDS, LSST_EXTINCTION, LSST_MAG_LIMITS  # noqa: E402
from pzmpi.skinny import (InputFooter, convert_batch, encode_parquet, output_schema, process_pieces,  # noqa: E402
                          result_settings, split_inputs)
from pzmpi.reader import iter_row_range  # noqa: E402
from pzmpi.skinny_config import COMPRESSIONS, build_skinny_config  # noqa: E402
from pzmpi.synthetic import object_catalog  # noqa: E402
from pzmpi.threads import pin_threads  # noqa: E402

REAL_COLUMNS = {"dp02": 991, "dp1": 1296}  # REFERENCE.md section 1
MAX_ROWS_PER_FILE = 150000  # pz-compute's default --rows
PZ_COMPUTE_BUFFER = 1 << 20
PZ_COMPUTE_IMPORTS = ("import numpy, pandas, pyarrow.parquet, tables_io; "
                      "from astropy.coordinates import SkyCoord")  # rail-preprocess-parquet's, less docopt
warnings.filterwarnings("ignore", message="The inplace keyword")  # pandas 4 deprecates what pz-compute uses


@dataclass(frozen=True)
class Output:
    """What both ways are asked to write: magnitudes rounded to ``decimals`` (-1: not rounded), compressed so."""

    decimals: int
    compression: str


def widen(table: pa.Table, style: str, total: int, seed: int) -> pa.Table:
    """Add columns until the table has ``total``: fluxes and shapes as floats, one in four a flag."""
    rng = np.random.default_rng(seed)
    float_type = np.float64 if style == "dp02" else np.float32
    n = table.num_rows
    columns = dict(zip(table.column_names, table.columns))
    for i in range(total - table.num_columns):
        name = f"extra_{i:04d}"
        if i % 4 == 3:
            columns[name + "_flag"] = pa.array(rng.random(n) < 0.02)
        else:
            columns[name] = pa.array((rng.standard_normal(n) * 100.0).astype(float_type))
    return pa.table(columns)


def make_catalog(folder: Path, style: str, files: int, rows: int) -> list[Path]:
    """``files`` parquet files of ``rows`` rows in the real column count; kept between invocations."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(files):
        path = folder / f"{style}_tract{3828 + i}_{rows}.parquet"
        if not path.is_file():
            table = widen(object_catalog(rows, style, seed=i, first_id=1 + i * rows, tract=3828 + i), style,
                          REAL_COLUMNS[style], seed=100 + i)
            pq.write_table(table, path.with_suffix(".tmp"), row_group_size=50000)
            path.with_suffix(".tmp").rename(path)
        paths.append(path)
    return paths


def registered(paths: list[Path]) -> list[InputFooter]:
    """The files as the release record describes them (size, rows and row groups, from 'pzmpi release init')."""
    footers = []
    for path in paths:
        metadata = pq.read_metadata(path)
        row_groups = tuple(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups))
        footers.append(InputFooter(path.name, str(path), path.stat().st_size, metadata.num_rows, row_groups))
    return footers


def pzmpi_way(registry: list[InputFooter], out: Path, style: str, output: Output) -> int:
    """What one rank of ``pzmpi skinny`` does with these files; returns the rows written."""
    raw = {"input": {"preset": style}, "output": {"folder": str(out), "resume": False, "decimals": output.decimals,
                                                  "compression": output.compression,
                                                  "max_rows_per_file": MAX_ROWS_PER_FILE}}
    if style == "dp1":
        raw["dereddening"] = {"method": "column"}
    config = build_skinny_config(raw, base_dir=out, source="bench")
    settings = result_settings(config)
    rows = 0
    pieces = split_inputs(registry, config.max_rows_per_file)
    for _, outcome in process_pieces(pieces, config, None, settings["result_key"], settings["settings"]):
        assert not outcome.error, outcome.error
        rows += outcome.rows
    return rows


def pandas_way(paths: list[Path], out: Path, style: str, output: Output) -> int:
    """rail-preprocess-parquet's structure, with pzmpi's non-detection policy in column operations."""
    bands = list(LSST_BANDS)
    flux_columns = [f"{b}_cModelFlux" for b in bands]
    error_columns = [f"{b}_cModelFluxErr" for b in bands]
    mag_columns = [f"mag_{b}" for b in bands]
    magerr_columns = [f"magerr_{b}" for b in bands]
    extra = ["detect_isPrimary"] if style == "dp02" else ["ebv"]
    all_columns = ["objectId", "coord_ra", "coord_dec"] + extra + flux_columns + error_columns
    rows = 0
    for path in paths:
        with pq.ParquetFile(path, buffer_size=PZ_COMPUTE_BUFFER) as parquet:
            total_rows = parquet.metadata.num_rows
            num_files = ceil(total_rows / MAX_ROWS_PER_FILE)
            batch_size = ceil(total_rows / num_files)
            batches = parquet.iter_batches(batch_size=batch_size, columns=all_columns, use_pandas_metadata=True)
            for i, block in enumerate(batches):
                table = block.to_pandas()
                for column in all_columns:  # pandas 3 (copy-on-write) cannot do this in place as pz-compute did
                    if table[column].dtype.kind == "f":
                        table[column] = np.nan_to_num(table[column].to_numpy(), nan=np.nan, posinf=np.nan,
                                                      neginf=np.nan)
                table.rename(dict(zip(flux_columns + error_columns, mag_columns + magerr_columns)), axis=1,
                             inplace=True, errors="raise")
                for band, mag, err in zip(bands, mag_columns, magerr_columns):
                    flux, flux_err = table[mag].astype(np.float64), table[err].astype(np.float64)  # as pzmpi
                    detected = (flux > 0) & (flux_err >= 0)  # NaN (and inf, now NaN) compare false
                    table[err] = np.where(detected, 2.5 / np.log(10.0) * flux_err / flux,
                                          np.where(flux_err > 0, -2.5 * np.log10(flux_err.where(flux_err > 0))
                                                   + ZP_NJY, LSST_MAG_LIMITS[band]))
                    table[mag] = np.where(detected, -2.5 * np.log10(flux.where(detected)) + ZP_NJY, 99.0)
                if style == "dp02":
                    table.query("detect_isPrimary == True", inplace=True)
                else:
                    for band, mag in zip(bands, mag_columns):
                        correction = table["ebv"].astype(np.float64) * LSST_EXTINCTION[band]  # float32 column
                        table[mag] = table[mag].where(table[mag] == 99.0, table[mag] - correction)
                if output.decimals >= 0:
                    for mag, err in zip(mag_columns, magerr_columns):
                        table[mag] = table[mag].round(decimals=output.decimals)
                        table[err] = table[err].round(decimals=output.decimals)
                for column in mag_columns + magerr_columns:
                    table[column] = table[column].astype(np.float32)
                table = table[["objectId", "coord_ra", "coord_dec"] + mag_columns + magerr_columns]
                table.to_parquet(out / f"{path.stem}-part{i}.parquet", index=False,
                                 compression=None if output.compression == "none" else output.compression)
                rows += len(table)
    return rows


def read_all(folder: Path) -> pd.DataFrame:
    frames = [pq.read_table(p).to_pandas() for p in sorted(folder.glob("*.parquet"))]
    return pd.concat(frames).sort_values("objectId", kind="stable").reset_index(drop=True)


def check_agreement(pzmpi_out: Path, pandas_out: Path) -> None:
    """Same rows, same ids and positions, magnitudes within 1 float32 ulp."""
    ours, theirs = read_all(pzmpi_out), read_all(pandas_out)
    assert list(ours.columns) == list(theirs.columns) and len(ours) == len(theirs), "outputs differ in shape"
    for column in ours.columns:
        if ours[column].dtype == np.float32:
            np.testing.assert_array_max_ulp(ours[column].to_numpy(), theirs[column].to_numpy(), maxulp=1)
        else:
            np.testing.assert_array_equal(ours[column].to_numpy(), theirs[column].to_numpy())


def pzmpi_split(registry: list[InputFooter], style: str, output: Output) -> dict[str, float]:
    """CPU seconds of pzmpi's steps for these files: Arrow's (open and decode, encode) and its own.

    The same calls as ``process_pieces``, timed apart; the file is written to memory only.
    """
    config = build_skinny_config({"input": {"preset": style},
                                  "output": {"folder": "unused", "decimals": output.decimals,
                                             "compression": output.compression},
                                  "dereddening": {"method": "column" if style == "dp1" else "none"}},
                                 base_dir=Path("."), source="bench")
    schema = output_schema(config.bands)
    seconds = dict.fromkeys(("open + decode (Arrow)", "convert (pzmpi)", "encode (Arrow)", "sha256"), 0.0)
    for item in registry:
        marks = [time.process_time()]
        with pq.ParquetFile(item.path, pre_buffer=True) as parquet:
            batches = list(iter_row_range(parquet, item.path, config.input_columns(), 0, item.rows,
                                          config.rows_per_chunk))
        marks.append(time.process_time())
        parts = [convert_batch(batch, item.path, config, None) for batch in batches]
        table = pa.Table.from_batches([pa.record_batch([part.columns[f.name] for f in schema], schema=schema)
                                       for part in parts])
        marks.append(time.process_time())
        content = encode_parquet(table, config)
        marks.append(time.process_time())
        hashlib.sha256(content).hexdigest()
        marks.append(time.process_time())
        for name, start, stop in zip(seconds, marks, marks[1:]):
            seconds[name] += stop - start
    return seconds


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def process_start_seconds(core: int) -> float:
    """Wall time of a fresh Python that imports what rail-preprocess-parquet imports (best of 3)."""
    command = ["taskset", "-c", str(core), sys.executable, "-c", PZ_COMPUTE_IMPORTS]
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        times.append(time.perf_counter() - start)
    return min(times)


def timed(way, inputs, out: Path, style: str, output: Output) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run into a fresh ``out``."""
    fresh(out)
    cpu, wall = time.process_time(), time.perf_counter()
    way(inputs, out, style, output)
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100000, help="rows per catalog file")
    parser.add_argument("--files", type=int, default=2, help="catalog files per style")
    parser.add_argument("--repeats", type=int, default=15, help="paired timed runs of the two ways")
    parser.add_argument("--decimals", type=int, default=-1, help="round magnitudes (-1: no rounding)")
    parser.add_argument("--compression", default="snappy", choices=sorted(COMPRESSIONS),
                        help="parquet compression of both ways' outputs")
    parser.add_argument("--styles", nargs="+", default=["dp02", "dp1"], choices=sorted(REAL_COLUMNS))
    parser.add_argument("--core", type=int, default=1, help="the CPU to pin to (taskset -c CORE)")
    parser.add_argument("--work", type=Path, default=Path("bench/results/skinny"))
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})
    pin_threads(1)
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    work = args.work.resolve()
    output = Output(args.decimals, args.compression)
    print(f"one core: CPU {sorted(os.sched_getaffinity(0))}, 1 thread per pool; pandas {pd.__version__}, "
          f"pyarrow {pa.__version__}, numpy {np.__version__}; decimals {args.decimals}, "
          f"compression {args.compression}; "
          f"rows/s from CPU time (wall time in brackets), best of {args.repeats}; ratio: median of the "
          f"{args.repeats} paired runs (range)", flush=True)
    print(f"{'style':<6}{'columns':>8}{'rows':>10}{'MiB':>7}{'pzmpi rows/s':>26}{'pandas rows/s':>26}{'ratio':>8}"
          f"{'range':>10}")
    ratios, pandas_rates, splits = [], {}, []
    for style in args.styles:
        paths = make_catalog(work / "catalogs" / style, style, args.files, args.rows)
        registry = registered(paths)
        size = sum(p.stat().st_size for p in paths) / 2**20
        ours, theirs = work / "out-pzmpi" / style, work / "out-pandas" / style
        ways = {"pzmpi": (pzmpi_way, registry), "pandas": (pandas_way, paths)}
        outs = {"pzmpi": ours, "pandas": theirs}
        pzmpi_way(registry[:1], fresh(ours), style, output)  # warm-up: numba's cache, the page cache
        pandas_way(paths[:1], fresh(theirs), style, output)
        check_agreement(ours, theirs)
        best = {"pzmpi": (float("inf"),) * 2, "pandas": (float("inf"),) * 2}
        paired = []
        for repeat in range(args.repeats):
            order = ["pzmpi", "pandas"] if repeat % 2 == 0 else ["pandas", "pzmpi"]  # drift falls on both
            runs = {name: timed(*ways[name], out=outs[name], style=style, output=output) for name in order}
            best = {name: tuple(min(a, b) for a, b in zip(best[name], runs[name])) for name in best}
            paired.append(runs["pandas"][0] / runs["pzmpi"][0])
        rows = args.files * args.rows
        ratio = float(np.median(paired))
        ratios.append(ratio)
        pandas_rates[style] = rows / best["pandas"][0]
        rates = {name: f"{rows / cpu:,.0f} ({rows / wall:,.0f})" for name, (cpu, wall) in best.items()}
        print(f"{style:<6}{REAL_COLUMNS[style]:>8}{rows:>10,}{size:>7.0f}{rates['pzmpi']:>26}{rates['pandas']:>26}"
              f"{ratio:>7.1f}x{min(paired):>6.1f}-{max(paired):.1f}x", flush=True)
        steps = [pzmpi_split(registry, style, output) for _ in range(args.repeats)]
        splits.append((style, {name: min(step[name] for step in steps) for name in steps[0]}, best["pandas"][0]))
    print(f"target: pzmpi >= 5x the pandas way per core: {'met' if min(ratios) >= 5 else 'NOT met'} "
          f"(lowest median ratio {min(ratios):.1f}x)")
    for style, seconds, pandas_seconds in splits:
        total = sum(seconds.values())
        print(f"pzmpi's CPU time on {style}, by step: "
              + ", ".join(f"{name} {value / total:.0%}" for name, value in seconds.items())
              + f"; the ratio if all but Arrow's reading cost nothing: "
              f"{pandas_seconds / seconds['open + decode (Arrow)']:.1f}x")
    start = process_start_seconds(args.core)
    print(f"pz-compute also starts one process per input file (srun per file in rail-slurm-preprocess.batch); "
          f"its imports take {start:.2f} s here. With that, per file of {args.rows:,} rows the pandas way makes "
          + ", ".join(f"{style} {args.rows / (args.rows / rate + start):,.0f} rows/s"
                      for style, rate in pandas_rates.items()))


if __name__ == "__main__":
    main()
