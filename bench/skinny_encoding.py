"""Cost of writing a skinny table under each parquet setting ``pzmpi.skinny.encode_parquet`` chose, one at a time.

    python bench/skinny_encoding.py [--rows 200000] [--repeats 9] [--decimals -1]

The table is a real skinny output (``convert_batch`` on a synthetic DP0.2-style
catalog, ``pzmpi.synthetic``). Each line undoes one of pzmpi's choices
(required fields, statistics only on id and position, 65,536-row write
batches, byte-stream-split magnitudes, no dictionaries) or changes the
compression, and gives the encoding time in ns per row
(CPU time, pinned to CPU 1, best of the repeats, the settings alternating) and
the bytes per row.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "ARROW_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from pzmpi.skinny import convert_batch, output_schema, write_options  # noqa: E402
from pzmpi.skinny_config import build_skinny_config  # noqa: E402
from pzmpi.synthetic import object_catalog  # noqa: E402

VARIANTS = {  # changes to pzmpi's own options (pzmpi.skinny.write_options)
    "pzmpi's settings (snappy)": {},
    "nullable fields": {"nullable": True},
    "statistics on every column": {"write_statistics": True},
    "Arrow's default write batch (1,024 rows)": {"write_batch_size": 1024},
    "magnitudes not byte-stream-split": {"column_encoding": None},
    "dictionary encoding": {"use_dictionary": True, "column_encoding": None},
    "no compression": {"compression": "none"},
    "lz4": {"compression": "lz4"},
    "zstd level 1": {"compression": "zstd", "compression_level": 1},
}


def skinny_table(rows: int, decimals: int) -> pa.Table:
    config = build_skinny_config({"input": {"preset": "dp02"}, "output": {"folder": "unused", "decimals": decimals}},
                                 base_dir=Path("."), source="bench")
    catalog = object_catalog(rows, "dp02", seed=5).select(config.input_columns()).combine_chunks()
    schema = output_schema(config.bands)
    columns = convert_batch(catalog.to_batches()[0], "synthetic", config, None).columns
    return pa.table([columns[f.name] for f in schema], schema=schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--decimals", type=int, default=-1, help="magnitudes rounded so (-1: not rounded)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    pa.set_cpu_count(1)
    required = skinny_table(args.rows, args.decimals)
    nullable = required.cast(pa.schema([f.with_nullable(True) for f in required.schema]))
    best = dict.fromkeys(VARIANTS, float("inf"))
    sizes = {}
    for _ in range(args.repeats):
        for name, change in VARIANTS.items():
            options = {**write_options(required.column_names, "snappy"),
                       **{k: v for k, v in change.items() if k != "nullable"}}
            table = nullable if change.get("nullable") else required
            start = time.process_time()
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink, row_group_size=100_000, **options)
            best[name] = min(best[name], time.process_time() - start)
            sizes[name] = sink.getvalue().size
    rows = required.num_rows
    print(f"{rows:,} rows of skinny output (DP0.2-style, {required.num_columns} columns, decimals {args.decimals})")
    print(f"{'setting':<44}{'ns/row':>8}{'bytes/row':>11}")
    for name in VARIANTS:
        print(f"{name:<44}{best[name] / rows * 1e9:>8.1f}{sizes[name] / rows:>11.1f}")


if __name__ == "__main__":
    main()
