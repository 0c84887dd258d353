"""Writing a skinny table with pyarrow's ParquetWriter: what each of pzmpi's writing options costs and saves.

    python bench/skinny_writer.py [--rows 200000] [--repeats 9] [--decimals -1]

The table is a real skinny output (``convert_chunk`` on a synthetic
DP0.2-style catalog, ``pzmpi.datasets.synthetic``). The first line is pzmpi's
choice (``pzmpi.acquire.skinny.output.write_options``: no dictionaries,
byte-stream-split magnitudes and positions, delta-encoded ids, statistics on id and position,
65,536-row write batches, snappy); each other line changes one option. Encoding
time in ns per row (CPU time, pinned to CPU 1, best of the repeats, the lines
alternating) and bytes per row of the file.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

for _name in ("OMP_NUM_THREADS", "ARROW_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from pzmpi.acquire.skinny.config import build_skinny_config  # noqa: E402
from pzmpi.acquire.skinny.convert import convert_chunk  # noqa: E402
from pzmpi.acquire.skinny.output import output_schema, write_options  # noqa: E402
from pzmpi.datasets.synthetic import object_catalog  # noqa: E402
from pzmpi.io.catalog import chunk_of_batch  # noqa: E402

ROW_GROUP_ROWS = 100_000


def write(table: pa.Table, options: dict[str, Any]) -> int:
    """Encode ``table`` to memory with ``options``; the file's size."""
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, table.schema, **options) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
    return sink.getvalue().size


def variants(bands: list[str]) -> dict[str, dict[str, Any]]:
    """pzmpi's options, then each with one choice changed."""
    chosen = write_options(bands, "snappy")
    encodings = chosen["column_encoding"]
    without = lambda kind: {k: v for k, v in encodings.items() if v != kind}  # noqa: E731
    return {
        "pzmpi's options": chosen,
        "no compression": {**chosen, "compression": "none"},
        "zstd": {**chosen, "compression": "zstd"},
        "lz4": {**chosen, "compression": "lz4"},
        "magnitudes PLAIN": {**chosen, "column_encoding": without("BYTE_STREAM_SPLIT")},
        "ids PLAIN": {**chosen, "column_encoding": without("DELTA_BINARY_PACKED")},
        "positions PLAIN": {**chosen, "column_encoding": {
            k: v for k, v in encodings.items() if k not in ("coord_ra", "coord_dec")}},
        "dictionaries (pyarrow's default)": {key: value for key, value in chosen.items()
                                             if key not in ("use_dictionary", "column_encoding")},
        "statistics on every column": {**chosen, "write_statistics": True},
        "1,024-row write batches (default)": {**chosen, "write_batch_size": 1024},
        "data page version 2.0": {**chosen, "data_page_version": "2.0"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--decimals", type=int, default=-1, help="magnitudes rounded so (-1: not rounded)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    pa.set_cpu_count(1)
    config = build_skinny_config({"input": {"preset": "dp02"},
                                  "output": {"folder": "unused", "decimals": args.decimals}},
                                 base_dir=Path("."), source="bench")
    catalog = object_catalog(args.rows, "dp02", seed=5).select(config.input_columns()).combine_chunks()
    columns = convert_chunk(chunk_of_batch("synthetic", catalog.to_batches()[0], config.input_columns()), config,
                            None).columns
    schema = output_schema(config.bands)
    table = pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)
    lines = variants(config.bands)
    best = dict.fromkeys(lines, float("inf"))
    sizes = {}
    for _ in range(args.repeats):
        for name, options in lines.items():
            start = time.process_time()
            sizes[name] = write(table, options)
            best[name] = min(best[name], time.process_time() - start)
    rows = table.num_rows
    print(f"pyarrow {pa.__version__}, numpy {np.__version__}: {rows:,} rows of skinny output (DP0.2-style, "
          f"{table.num_columns} columns, decimals {args.decimals})")
    print(f"{'writer':<36}{'ns/row':>8}{'bytes/row':>11}")
    for name in lines:
        print(f"{name:<36}{best[name] / rows * 1e9:>8.1f}{sizes[name] / rows:>11.1f}")


if __name__ == "__main__":
    main()
