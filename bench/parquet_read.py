"""Reading catalogs through pyarrow: which ``ParquetFile`` options serve pzmpi's reader, on one core.

    python bench/parquet_read.py [--rows 100000] [--files 2] [--repeats 15]

On bench_skinny.py's catalogs (DP0.2-style, 991 columns, and DP1-style, 1,296
columns; kept between invocations), the columns ``pzmpi skinny`` needs (16)
are read to numpy arrays, every row, in chunks of 100,000 and of 10,000 rows
(``pzmpi skinny``'s and ``pzmpi run``'s default ``rows_per_chunk``), with each
choice ``pzmpi.io.catalog.CatalogFile`` could make: ``pre_buffer`` on or off,
a read buffer (``buffer_size``) or none. The first line is what CatalogFile
does. Also: opening the file alone (the footer). ns per row from CPU time,
pinned to CPU 1, best of the repeats, the ways alternating, in a process set up
as the pzmpi commands set theirs up. On a local disk with the files in the page
cache, this measures CPU cost only; the choice of ``pre_buffer`` for a parallel
file system (few large reads) is argued in docs/design/parquet_io.md.
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
from bench_skinny import make_catalog  # noqa: E402

from pzmpi.acquire.skinny.config import build_skinny_config  # noqa: E402
from pzmpi.core.runtime import settle_process  # noqa: E402
from pzmpi.io import catalog  # noqa: E402
from pzmpi.io.catalog import CatalogFile, chunk_of_batch  # noqa: E402


def pzmpi_rows(path: str, columns: list[str], rows_per_chunk: int) -> int:
    with CatalogFile(path, columns) as reader:
        return sum(len(chunk[columns[0]]) for chunk in reader.iter_rows(0, reader.num_rows, rows_per_chunk))


def arrow_rows(path: str, columns: list[str], rows_per_chunk: int, pre_buffer: bool, buffer_size: int) -> int:
    with pq.ParquetFile(path, pre_buffer=pre_buffer, buffer_size=buffer_size) as parquet:
        return sum(len(chunk_of_batch(path, batch, columns)[columns[0]])
                   for batch in parquet.iter_batches(batch_size=rows_per_chunk, columns=columns, use_threads=False))


def best_seconds(ways: dict, repeats: int) -> dict[str, float]:
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(repeats):
        for name, way in ways.items():
            start = time.process_time()
            way()
            best[name] = min(best[name], time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--work", type=Path, default=Path("bench/results/skinny"))
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    settle_process()
    print(f"pyarrow {pa.__version__}; CatalogFile: pre_buffer={catalog.PRE_BUFFER}, no read buffer")
    print(f"{'schema':<7}{'read':<62}{'ns/row':>8}")
    for style, extra in (("dp02", {}), ("dp1", {"dereddening": {"method": "column"}})):
        config = build_skinny_config({"input": {"preset": style}, "output": {"folder": "unused"}, **extra},
                                     base_dir=Path("."), source="bench")
        columns = config.input_columns()
        paths = [str(p) for p in make_catalog(args.work.resolve() / "catalogs" / style, style, args.files, args.rows)]
        ways = {"open (footer and schema)": lambda: [CatalogFile(p, columns).close() for p in paths]}
        for chunk in (100_000, 10_000):
            ways[f"{len(columns)} columns, {chunk:,}-row chunks: CatalogFile"] = \
                lambda chunk=chunk: [pzmpi_rows(p, columns, chunk) for p in paths]
            for pre_buffer in (True, False):
                for buffer_size in (0, 1 << 20):
                    name = f"  pre_buffer={pre_buffer}, buffer_size={buffer_size >> 10} KiB"
                    ways[name + f" ({chunk:,})"] = lambda chunk=chunk, pb=pre_buffer, bs=buffer_size: \
                        [arrow_rows(p, columns, chunk, pb, bs) for p in paths]
        for name, seconds in best_seconds(ways, args.repeats).items():
            print(f"{style:<7}{name:<62}{seconds / (args.files * args.rows) * 1e9:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
