"""Cost of writing a skinny table: pzmpi's own parquet encoder against Arrow's writer, and its layout choices.

    python bench/skinny_writer.py [--rows 200000] [--repeats 9] [--decimals -1] [--compression snappy]

The table is a real skinny output (``convert_chunk`` on a synthetic DP0.2-style
catalog, ``pzmpi.synthetic``). Lines: pzmpi's encoder (``pzmpi.skinny.encode_skinny``:
required columns, byte-stream-split magnitudes, delta-encoded ids, statistics on
id and position); Arrow's ``write_table`` asked for the same layout (no
dictionaries, the same encodings and statistics, 65,536-row write batches); then
pzmpi's encoder with one choice changed. Encoding time in ns per row (CPU time,
pinned to CPU 1, best of the repeats, the lines alternating) and bytes per row.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "ARROW_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from pzmpi.parquet.encode import ColumnSpec, encode_file  # noqa: E402
from pzmpi.parquet.pages import BYTE_STREAM_SPLIT, DELTA_BINARY_PACKED, PLAIN  # noqa: E402
from pzmpi.reader import chunk_of_batch  # noqa: E402
from pzmpi.skinny import STATISTICS_COLUMNS, convert_chunk, encode_skinny, output_columns  # noqa: E402
from pzmpi.skinny_config import COMPRESSIONS, build_skinny_config  # noqa: E402
from pzmpi.synthetic import object_catalog  # noqa: E402


def arrow_writer(columns: dict[str, np.ndarray], compression: str, bands: list[str]) -> int:
    """Arrow's writer with the layout pzmpi writes; the file's size."""
    specs = output_columns(bands)
    schema = pa.schema([pa.field(spec.name, pa.from_numpy_dtype(dtype), nullable=False) for spec, dtype in specs])
    table = pa.table([columns[spec.name] for spec, _ in specs], schema=schema)
    sink = pa.BufferOutputStream()
    names = {BYTE_STREAM_SPLIT: "BYTE_STREAM_SPLIT", DELTA_BINARY_PACKED: "DELTA_BINARY_PACKED"}
    pq.write_table(table, sink, row_group_size=100_000, compression=compression, use_dictionary=False,
                   column_encoding={spec.name: names[spec.encoding] for spec, _ in specs if spec.encoding in names},
                   write_statistics=list(STATISTICS_COLUMNS), write_batch_size=65536)
    return sink.getvalue().size


def pzmpi_encoder(columns: dict[str, np.ndarray], compression: str, bands: list[str], plain: tuple[int, ...] = (),
                  statistics: bool = True) -> int:
    """pzmpi's encoder, with the columns of the encodings in ``plain`` written PLAIN instead."""
    specs = [(ColumnSpec(spec.name, PLAIN if spec.encoding in plain else spec.encoding,
                         statistics=spec.statistics and statistics), columns[spec.name])
             for spec, _ in output_columns(bands)]
    return sum(len(part) for part in encode_file(specs, 100_000, compression, {}, "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--decimals", type=int, default=-1, help="magnitudes rounded so (-1: not rounded)")
    parser.add_argument("--compression", default="snappy", choices=sorted(COMPRESSIONS))
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    pa.set_cpu_count(1)
    config = build_skinny_config({"input": {"preset": "dp02"},
                                  "output": {"folder": "unused", "decimals": args.decimals,
                                             "compression": args.compression}},
                                 base_dir=Path("."), source="bench")
    catalog = object_catalog(args.rows, "dp02", seed=5).select(config.input_columns()).combine_chunks()
    columns = convert_chunk(chunk_of_batch("synthetic", catalog.to_batches()[0], config.input_columns()), config,
                            None).columns
    compression, bands = args.compression, config.bands
    lines = {
        "pzmpi's encoder (encode_skinny)": lambda: sum(len(p) for p in encode_skinny(columns, config, {})),
        "Arrow's writer, the same layout": lambda: arrow_writer(columns, compression, bands),
        "pzmpi's encoder, magnitudes PLAIN": lambda: pzmpi_encoder(columns, compression, bands,
                                                                   plain=(BYTE_STREAM_SPLIT,)),
        "pzmpi's encoder, ids PLAIN": lambda: pzmpi_encoder(columns, compression, bands, plain=(DELTA_BINARY_PACKED,)),
        "pzmpi's encoder, no statistics": lambda: pzmpi_encoder(columns, compression, bands, statistics=False),
    }
    best = dict.fromkeys(lines, float("inf"))
    sizes = {}
    for _ in range(args.repeats):
        for name, write in lines.items():
            start = time.process_time()
            sizes[name] = write()
            best[name] = min(best[name], time.process_time() - start)
    rows = len(columns["objectId"])
    print(f"{rows:,} rows of skinny output (DP0.2-style, {len(columns)} columns, decimals {args.decimals}, "
          f"{compression})")
    print(f"{'writer':<40}{'ns/row':>8}{'bytes/row':>11}")
    for name in lines:
        print(f"{name:<40}{best[name] / rows * 1e9:>8.1f}{sizes[name] / rows:>11.1f}")


if __name__ == "__main__":
    main()
