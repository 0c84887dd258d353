"""pzmpi publish against hats-import on the same rows, one core each, in one invocation.

    python bench/publish_speed.py RUN [RUN ...] [--max-rows 100000] [--order 8] [--work DIR]

Both are pinned to CPU 0. pzmpi is timed as a whole command
(``mpiexec -n 1 pzmpi publish RUNS``, start-up included): it reads the runs'
PDFs, computes every code's columns, joins the codes and writes the catalog
and its objectId index. hats-import (its own pipeline, a local Dask cluster of
one single-threaded worker, timed from the cluster's start) only partitions
rows that are already made: the rows of pzmpi's own table, written first as
flat parquet files, one per run piece. It builds no index. Prints rows/s for
both and the ratio; the target is at least 2. Then it prints the bytes on
disk of pzmpi's partitions per object per code, and per group of columns;
last, it writes pzmpi's table again at zstd levels 3 (pzmpi's), 9 and 15
(hats's default) and prints the bytes per object per code and the time each took.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.deliver.hats_catalog import SORT_COLUMNS, write_kwargs


def publish_with_pzmpi(runs: list[Path], out: Path, max_rows: int, order: int) -> float:
    command = ["mpiexec", "-n", "1", sys.executable, "-m", "pzmpi", "publish", *map(str, runs), "--out", str(out),
               "--max-rows", str(max_rows), "--order", str(order)]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def flat_input(table: Path, folder: Path, files: int) -> int:
    """The published rows, without the spatial index, as ``files`` parquet files; returns the row count."""
    rows = pq.read_table(table / "object_photoz" / "dataset").drop_columns(["_healpix_29"])
    folder.mkdir(parents=True)
    step = -(-rows.num_rows // files)
    for k in range(files):
        pq.write_table(rows.slice(k * step, step), folder / f"part{k:03d}.parquet")
    return rows.num_rows


def publish_with_hats_import(input_dir: Path, work: Path, max_rows: int, order: int) -> float:
    from dask.distributed import Client, LocalCluster
    from hats_import.catalog.arguments import ImportArguments
    from hats_import.pipeline import pipeline_with_client

    arguments = ImportArguments(
        input_path=str(input_dir), file_reader="parquet", ra_column="coord_ra", dec_column="coord_dec",
        sort_columns="objectId", catalog_type="object", highest_healpix_order=order, lowest_healpix_order=0,
        pixel_threshold=max_rows, drop_empty_siblings=True, output_path=str(work),
        output_artifact_name="object_photoz", tmp_dir=str(work / "tmp"), resume=False, progress_bar=False)
    start = time.perf_counter()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      local_directory=str(work / "dask")) as cluster, Client(cluster) as client:
        pipeline_with_client(arguments, client)
    return time.perf_counter() - start


def table_bytes(table: Path, codes: list[str]) -> None:
    """Bytes on disk of the published partitions per object per code, and per group of columns per object."""
    files = sorted((table / "object_photoz" / "dataset").glob("Norder=*/Dir=*/*.parquet"))
    rows = sum(pq.read_metadata(path).num_rows for path in files)
    groups: dict[str, int] = {}
    for path in files:
        metadata = pq.read_metadata(path)
        for group in range(metadata.num_row_groups):
            for column in range(metadata.num_columns):
                chunk = metadata.row_group(group).column(column)
                name = chunk.path_in_schema.split(".")[0]
                code = next((c for c in codes if name.startswith(f"{c}_")), "")
                kind = "keys" if not code else "pdf" if "_pdf_" in name else "flags" if name.endswith("_flags") \
                    else "points"
                groups[f"{code} {kind}".strip()] = groups.get(f"{code} {kind}".strip(), 0) + chunk.total_compressed_size
    total = sum(path.stat().st_size for path in files)
    print(f"table: {total / rows / len(codes):.1f} bytes/object/code on disk ({len(files)} partitions); "
          "bytes/object per group of columns:")
    print("  " + ", ".join(f"{group} {size / rows:.1f}" for group, size in groups.items()))


def compression_levels(table: Path, codes: int) -> None:
    """The published rows written again at a few zstd levels: bytes per object per code, and seconds."""
    rows = pq.read_table(table / "object_photoz" / "dataset")
    rows = rows.replace_schema_metadata(None)
    for level in (3, 9, 15):
        options = {**write_kwargs(rows.schema, SORT_COLUMNS), "compression_level": level}
        sink = pa.BufferOutputStream()
        start = time.perf_counter()
        pq.write_table(rows, sink, **options)
        seconds = time.perf_counter() - start
        print(f"zstd level {level:2d}  {sink.getvalue().size / rows.num_rows / codes:6.1f} bytes/object/code  "
              f"written in {seconds:5.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--max-rows", type=int, default=100_000)
    parser.add_argument("--order", type=int, default=8)
    parser.add_argument("--work", type=Path, default=Path("publish_speed"))
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})  # children (mpiexec, the Dask worker) inherit it
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    pzmpi_seconds = publish_with_pzmpi(args.runs, args.work / "pzmpi", args.max_rows, args.order)
    pieces = len(list((args.runs[0] / "pieces").glob("*.hdf5")))
    rows = flat_input(args.work / "pzmpi", args.work / "flat", pieces)
    hats_seconds = publish_with_hats_import(args.work / "flat", args.work / "hats_import", args.max_rows,
                                            args.order)
    print(f"{rows:,} rows, {len(args.runs)} codes, max_rows {args.max_rows:,}, order {args.order}, one core")
    print(f"pzmpi publish  {pzmpi_seconds:7.2f} s  {rows / pzmpi_seconds:10,.0f} rows/s  (from the runs' PDFs)")
    print(f"hats-import    {hats_seconds:7.2f} s  {rows / hats_seconds:10,.0f} rows/s  (from finished rows)")
    print(f"ratio          {hats_seconds / pzmpi_seconds:7.2f}  (target: at least 2)")
    codes = pq.read_schema(args.work / "pzmpi" / "object_photoz" / "dataset" / "_common_metadata").names
    table_bytes(args.work / "pzmpi", sorted({name.split("_")[0] for name in codes if name.endswith("_flags")}))
    compression_levels(args.work / "pzmpi", len(args.runs))


if __name__ == "__main__":
    main()
