"""Skinny-table rows/s on one core: pzmpi against the pandas way pz-compute does it and against the Arrow floor.

    python bench/bench_skinny.py [--rows 100000] [--files 2] [--repeats 15] [--decimals -1]
                                 [--compression snappy] [--core 1]

Targets: pzmpi at least 3x the pandas way, and at least 0.7x the Arrow floor
(conversion, checks and checksums cost at most 30% over the I/O itself).

Each way runs in a worker process of its own, as each does in production, and
the workers take turns on one core (``--core``) with every thread pool at 1
thread, on the same synthetic catalogs (``pzmpi.datasets.synthetic``, widened
to the real column counts: DP0.2 991 columns, DP1 1296, so that reading only
the needed columns counts as it would). Each makes the same skinny table:
objectId, coord_ra, coord_dec, mag_{band}, magerr_{band} (float32), with
pzmpi's non-detection policy (docs/skinny.md), the ``detect_isPrimary`` cut
(DP0.2) and dereddening with the ``ebv`` column (DP1); the script checks that
the pandas way's output agrees with pzmpi's to 1 float32 ulp before timing.

* pzmpi: what one rank of ``pzmpi skinny`` does for its pieces
  (``pzmpi.acquire.skinny.process.process_pieces``): pyarrow's reader, the
  compiled conversion kernel, pyarrow's writer, the sha256 of every output and
  its atomic, flushed write, in a process set up as the command sets up its
  own (``pzmpi.core.runtime.settle_process``);
* pzmpi, untuned: the same with Python's and glibc's defaults, to show what
  those process settings are worth;
* the Arrow floor: pyarrow reading the same columns of the same row ranges
  (``ParquetFile.iter_batches``, as pzmpi's reader) and writing pzmpi's output
  table, made beforehand, with pzmpi's writer options to the same files,
  flushed to storage: the I/O alone, no conversion, no checks, no checksums;
* the pandas way mirrors ``rail_scripts/rail-preprocess-parquet`` of
  linea-it/pz-compute (commit becdedf): ``ParquetFile(buffer_size=1 MiB)``, one
  ``iter_batches`` batch per output file, ``to_pandas()``, ``numpy.nan_to_num``
  on every float column, column-wise flux to magnitude on the renamed columns,
  ``table.query('detect_isPrimary == True', inplace=True)``, column-wise
  dereddening, optional ``round``, then a pandas write (``DataFrame.to_parquet``
  here; pz-compute writes HDF5 through tables_io). Its conversion is given
  pzmpi's policy with pandas/numpy column operations, because pz-compute's own
  (f = 0 to +inf, f < 0 to NaN with a negative error) is the bug the skinny
  command fixes. It runs with Python's and glibc's defaults, as pz-compute's
  processes do.

Timing: CPU time of each way, the ways run in turn (the order rotating), the
rows/s from the best run of each and each ratio from the median of the paired
ratios, with their range: on a shared machine a single pair can be off by 2x.
``--compression`` sets every way's output codec.
"""

from __future__ import annotations

import argparse
import hashlib
import json
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

from pzmpi.acquire.skinny.command import result_settings  # noqa: E402
from pzmpi.acquire.skinny.config import COMPRESSIONS, SkinnyConfig, build_skinny_config  # noqa: E402
from pzmpi.acquire.skinny.convert import convert_chunk  # noqa: E402
from pzmpi.acquire.skinny.output import encode_table, new_outputs, output_schema, write_options  # noqa: E402
from pzmpi.acquire.skinny.process import process_pieces  # noqa: E402
from pzmpi.acquire.skinny.slicing import InputFooter, SkinnyPiece, split_inputs  # noqa: E402
from pzmpi.core.runtime import settle_process  # noqa: E402
from pzmpi.core.threads import pin_threads  # noqa: E402
from pzmpi.datasets.synthetic import object_catalog  # noqa: E402
from pzmpi.io.catalog import CatalogFile  # noqa: E402
from pzmpi.photometry.bands import LSST_BANDS, LSST_EXTINCTION, LSST_MAG_LIMITS, ZP_NJY  # noqa: E402

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


def skinny_config(out: Path, style: str, output: Output) -> SkinnyConfig:
    raw = {"input": {"preset": style}, "output": {"folder": str(out), "resume": False, "decimals": output.decimals,
                                                  "compression": output.compression,
                                                  "max_rows_per_file": MAX_ROWS_PER_FILE}}
    if style == "dp1":
        raw["dereddening"] = {"method": "column"}
    return build_skinny_config(raw, base_dir=out, source="bench")


def pzmpi_way(registry: list[InputFooter], out: Path, style: str, output: Output) -> int:
    """What one rank of ``pzmpi skinny`` does with these files; returns the rows written."""
    config = skinny_config(out, style, output)
    settings = result_settings(config)
    rows = 0
    pieces = split_inputs(registry, config.max_rows_per_file)
    for _, outcome in process_pieces(pieces, config, None, settings["result_key"], settings["settings"]):
        assert not outcome.error, outcome.error
        rows += outcome.rows
    return rows


class ArrowFloor:
    """pyarrow reading what pzmpi reads and writing what pzmpi writes, with no conversion in between.

    The output tables are pzmpi's own, made once (untimed) from the same pieces.
    """

    def __init__(self, registry: list[InputFooter], out: Path, style: str, output: Output) -> None:
        self.config = skinny_config(out, style, output)
        self.pieces = split_inputs(registry, self.config.max_rows_per_file)
        self.options = write_options(self.config.bands, self.config.compression)
        schema = output_schema(self.config.bands)
        self.tables: list[pa.Table] = []
        for piece in self.pieces:
            with CatalogFile(piece.path, self.config.input_columns()) as catalog:
                out_columns, rows = new_outputs(self.config.bands, piece.num_rows), 0
                for chunk in catalog.iter_rows(piece.row_start, piece.row_stop, self.config.rows_per_chunk):
                    rows += len(convert_chunk(chunk, self.config, None, out_columns, rows).columns["objectId"])
            self.tables.append(pa.Table.from_arrays([out_columns[n][:rows] for n in schema.names], schema=schema))

    def __call__(self, registry: list[InputFooter], out: Path, style: str, output: Output) -> int:
        rows = 0
        for piece, table in zip(self.pieces, self.tables):
            self.read(piece)
            path = out / piece.output_name
            with pq.ParquetWriter(path, table.schema, **self.options) as writer:
                writer.write_table(table, row_group_size=self.config.row_group_rows)
            with open(path, "rb+") as handle:
                os.fsync(handle.fileno())
            rows += table.num_rows
        return rows

    def read(self, piece: SkinnyPiece) -> None:
        with pq.ParquetFile(piece.path, pre_buffer=True) as parquet:
            offsets = np.cumsum([0] + [parquet.metadata.row_group(i).num_rows
                                       for i in range(parquet.metadata.num_row_groups)])
            first = int(np.searchsorted(offsets, piece.row_start, side="right")) - 1
            last = int(np.searchsorted(offsets, piece.row_stop, side="left"))
            for batch in parquet.iter_batches(batch_size=self.config.rows_per_chunk, row_groups=range(first, last),
                                              columns=self.config.input_columns(), use_threads=False):
                for column in batch.columns:
                    column.to_numpy(zero_copy_only=False)


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
    """CPU seconds of pzmpi's steps for these files: the same calls as ``process_pieces``, timed apart.

    The file is encoded and hashed but not written.
    """
    config = skinny_config(Path("unused"), style, output)
    seconds = dict.fromkeys(("open + decode", "convert", "encode", "sha256"), 0.0)
    for piece in split_inputs(registry, config.max_rows_per_file):
        marks = [time.process_time()]
        with CatalogFile(piece.path, config.input_columns()) as catalog:
            chunks = list(catalog.iter_rows(piece.row_start, piece.row_stop, config.rows_per_chunk))
        marks.append(time.process_time())
        out, rows = new_outputs(config.bands, piece.num_rows), 0
        for chunk in chunks:
            rows += len(convert_chunk(chunk, config, None, out, rows).columns["objectId"])
        marks.append(time.process_time())
        content = encode_table({name: values[:rows] for name, values in out.items()}, config.bands,
                               config.row_group_rows, config.compression, {})
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


WAYS = {"pzmpi": "pzmpi", "pzmpi-untuned": "pzmpi, Python's and glibc's defaults", "pandas": "pandas way",
        "arrow": "Arrow floor (read and write, no conversion)"}


def worker(args: argparse.Namespace) -> None:
    """One way in a process of its own: answers 'run' with its CPU and wall seconds, 'split' with pzmpi's steps."""
    os.sched_setaffinity(0, {args.core})
    pin_threads(1)
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    work = args.work.resolve()
    output = Output(args.decimals, args.compression)
    paths = make_catalog(work / "catalogs" / args.style, args.style, args.files, args.rows)
    out = work / f"out-{args.worker}" / args.style
    if args.worker == "pandas":
        way, inputs = pandas_way, paths
    elif args.worker == "arrow":
        inputs = registered(paths)
        way = ArrowFloor(inputs, out, args.style, output)
    else:
        way, inputs = pzmpi_way, registered(paths)
    way(inputs[:1] if args.worker != "arrow" else inputs, fresh(out), args.style, output)  # warm-up: caches
    if args.worker == "pzmpi":
        settle_process()  # as 'pzmpi skinny' does once set up
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "run":
            fresh(out)
            cpu, wall = time.process_time(), time.perf_counter()
            way(inputs, out, args.style, output)
            reply = {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}
        else:
            steps = [pzmpi_split(inputs, args.style, output) for _ in range(args.repeats)]
            reply = {name: min(step[name] for step in steps) for name in steps[0]}
        print(json.dumps(reply), flush=True)


class Worker:
    """A worker process of this script, driven through its standard input and output."""

    def __init__(self, way: str, style: str, args: argparse.Namespace) -> None:
        command = [sys.executable, __file__, "--worker", way, "--style", style, "--rows", str(args.rows),
                   "--files", str(args.files), "--repeats", str(args.repeats), "--decimals", str(args.decimals),
                   "--compression", args.compression, "--core", str(args.core), "--work", str(args.work)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            sys.exit(f"the {way} worker did not start")

    def ask(self, request: str) -> dict[str, float]:
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100000, help="rows per catalog file")
    parser.add_argument("--files", type=int, default=2, help="catalog files per style")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs of each way, in turn")
    parser.add_argument("--decimals", type=int, default=-1, help="round magnitudes (-1: no rounding)")
    parser.add_argument("--compression", default="snappy", choices=sorted(COMPRESSIONS),
                        help="parquet compression of both ways' outputs")
    parser.add_argument("--styles", nargs="+", default=["dp02", "dp1"], choices=sorted(REAL_COLUMNS))
    parser.add_argument("--core", type=int, default=1, help="the CPU every worker is pinned to")
    parser.add_argument("--work", type=Path, default=Path("bench/results/skinny"))
    parser.add_argument("--worker", choices=sorted(WAYS), help=argparse.SUPPRESS)
    parser.add_argument("--style", choices=sorted(REAL_COLUMNS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    work = args.work.resolve()
    print(f"one core: CPU {args.core}, one worker process per way, 1 thread per pool; pandas {pd.__version__}, "
          f"pyarrow {pa.__version__}, numpy {np.__version__}; decimals {args.decimals}, "
          f"compression {args.compression}; rows/s from CPU time (wall time in brackets), best of {args.repeats}; "
          f"ratio: its CPU time over pzmpi's, median of the {args.repeats} paired runs (range)", flush=True)
    print(f"{'style':<6}{'columns':>8}{'rows':>10}{'MiB':>7}  {'way':<46}{'rows/s':>24}{'ratio':>8}{'range':>11}")
    ratios, floor_ratios, pandas_rates, splits = [], [], {}, []
    for style in args.styles:
        paths = make_catalog(work / "catalogs" / style, style, args.files, args.rows)
        size = sum(p.stat().st_size for p in paths) / 2**20
        workers = {way: Worker(way, style, args) for way in WAYS}
        check_agreement(work / "out-pzmpi" / style, work / "out-pandas" / style)
        runs: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
        order = list(WAYS)
        for repeat in range(args.repeats):
            shift = repeat % len(order)
            for way in order[shift:] + order[:shift]:  # drift falls on every way alike
                reply = workers[way].ask("run")
                runs[way].append((reply["cpu"], reply["wall"]))
        rows = args.files * args.rows
        for way, label in WAYS.items():
            cpu, wall = min(c for c, _ in runs[way]), min(w for _, w in runs[way])
            paired = [p[0] / z[0] for p, z in zip(runs[way], runs["pzmpi"])]
            ratio = float(np.median(paired))
            if way == "pandas":
                ratios.append(ratio)
                pandas_rates[style] = rows / cpu
            if way == "arrow":
                floor_ratios.append(ratio)
            shown = f"{ratio:>7.1f}x{min(paired):>6.1f}-{max(paired):.1f}x" if way != "pzmpi" else ""
            print(f"{style:<6}{REAL_COLUMNS[style]:>8}{rows:>10,}{size:>7.0f}  {label:<46}"
                  f"{f'{rows / cpu:,.0f} ({rows / wall:,.0f})':>24}{shown}", flush=True)
        splits.append((style, workers["pzmpi"].ask("split"), min(c for c, _ in runs["pandas"])))
        for process in workers.values():
            process.close()
    print(f"targets: pzmpi >= 3x the pandas way per core: {'met' if min(ratios) >= 3 else 'NOT met'} "
          f"(lowest median ratio {min(ratios):.1f}x); pzmpi >= 0.7x the Arrow floor: "
          f"{'met' if min(floor_ratios) >= 0.7 else 'NOT met'} (lowest median ratio {min(floor_ratios):.2f}x)")
    for style, seconds, pandas_seconds in splits:
        total = sum(seconds.values())
        rows = args.files * args.rows
        print(f"pzmpi's CPU time on {style}, by step (without the file writes): "
              + ", ".join(f"{name} {value / rows * 1e9:.0f} ns/row ({value / total:.0%})"
                          for name, value in seconds.items()))
    start = process_start_seconds(args.core)
    print(f"pz-compute also starts one process per input file (srun per file in rail-slurm-preprocess.batch); "
          f"its imports take {start:.2f} s here. With that, per file of {args.rows:,} rows the pandas way makes "
          + ", ".join(f"{style} {args.rows / (args.rows / rate + start):,.0f} rows/s"
                      for style, rate in pandas_rates.items()))


if __name__ == "__main__":
    main()
