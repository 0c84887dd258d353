"""Reading catalogs: pzmpi's compiled parquet reader against Arrow's, on one core.

    python bench/parquet_read.py [--rows 100000] [--files 2] [--repeats 15]

On bench_skinny.py's catalogs (DP0.2-style, 991 columns, and DP1-style, 1,296
columns; kept between invocations), the columns ``pzmpi skinny`` needs (16)
are read three ways: the footer alone (Arrow's ``read_metadata`` and
``ParquetFile``, pzmpi's ``footer.read_layout``), then every row to numpy
arrays (Arrow: ``ParquetFile(pre_buffer=True).iter_batches`` and ``to_numpy``,
pzmpi's reader until this package; pzmpi: ``CatalogFile.iter_rows``). Then
snappy decompression of page-like buffers, Arrow's (``pyarrow.decompress``)
against the compiled one inside pzmpi's reader. ns per row (or GB/s) from CPU
time, pinned to CPU 1, best of the repeats, the ways alternating, in a process
set up as the pzmpi commands set theirs up.
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
from bench_skinny import make_catalog  # noqa: E402

from pzmpi.parquet import snappy  # noqa: E402
from pzmpi.parquet.footer import read_layout  # noqa: E402
from pzmpi.reader import CatalogFile, chunk_of_batch  # noqa: E402
from pzmpi.runtime import settle_process  # noqa: E402
from pzmpi.skinny_config import build_skinny_config  # noqa: E402


def arrow_rows(path: str, columns: list[str]) -> int:
    with pq.ParquetFile(path, pre_buffer=True) as parquet:
        return sum(len(chunk_of_batch(path, batch, columns)[columns[0]])
                   for batch in parquet.iter_batches(batch_size=100_000, columns=columns, use_threads=False))


def pzmpi_rows(path: str, columns: list[str]) -> int:
    with CatalogFile(path, columns) as catalog:
        assert catalog.compiled
        return sum(len(chunk[columns[0]]) for chunk in catalog.iter_rows(0, catalog.num_rows, 100_000))


def pzmpi_footer(path: str, columns: list[str]) -> int:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        return read_layout(descriptor, os.fstat(descriptor).st_size, columns).num_rows
    finally:
        os.close(descriptor)


def best_seconds(ways: dict, repeats: int) -> dict[str, float]:
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(repeats):
        for name, way in ways.items():
            start = time.process_time()
            way()
            best[name] = min(best[name], time.process_time() - start)
    return best


def page_like_buffers(rows: int) -> dict[str, bytes]:
    """What snappy pages of catalogs hold: a dictionary of doubles, its indices, floats split in bytes, levels."""
    rng = np.random.default_rng(0)
    floats = np.round(rng.normal(24, 2, rows), 4).astype(np.float32)
    return {"dictionary page (random float64)": (rng.standard_normal(rows) * 100).tobytes(),
            "dictionary indices (16 bits)": np.arange(rows, dtype=np.uint16).tobytes(),
            "float32 magnitudes, byte-stream-split": floats.view(np.uint8).reshape(-1, 4).T.tobytes(),
            "definition levels (all 1)": b"\x01" * rows}


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
    print(f"{'schema':<7}{'read':<46}{'ns/row':>8}")
    for style, extra in (("dp02", {}), ("dp1", {"dereddening": {"method": "column"}})):
        config = build_skinny_config({"input": {"preset": style}, "output": {"folder": "unused"}, **extra},
                                     base_dir=Path("."), source="bench")
        columns = config.input_columns()
        paths = [str(p) for p in make_catalog(args.work.resolve() / "catalogs" / style, style, args.files, args.rows)]
        ways = {
            "footer: Arrow's read_metadata": lambda: [pq.read_metadata(p) for p in paths],
            "footer: Arrow's ParquetFile": lambda: [pq.ParquetFile(p).close() for p in paths],
            "footer: pzmpi's read_layout": lambda: [pzmpi_footer(p, columns) for p in paths],
            f"{len(columns)} columns to numpy: Arrow": lambda: [arrow_rows(p, columns) for p in paths],
            f"{len(columns)} columns to numpy: pzmpi's reader": lambda: [pzmpi_rows(p, columns) for p in paths],
        }
        for name, seconds in best_seconds(ways, args.repeats).items():
            print(f"{style:<7}{name:<46}{seconds / (args.files * args.rows) * 1e9:>8.1f}", flush=True)
    print(f"\n{'snappy decompression of':<46}{'Arrow GB/s':>12}{'pzmpi GB/s':>12}")
    for name, raw in page_like_buffers(args.rows).items():
        compressed = np.frombuffer(pa.compress(raw, codec="snappy", asbytes=True), dtype=np.uint8)
        out = np.empty(len(raw), dtype=np.uint8)
        assert snappy.decompress(compressed, 0, compressed.size, out) == len(raw) and out.tobytes() == raw
        ways = {"arrow": lambda: [pa.decompress(compressed, decompressed_size=len(raw), codec="snappy")
                                  for _ in range(20)],
                "pzmpi": lambda: [snappy.decompress(compressed, 0, compressed.size, out) for _ in range(20)]}
        best = best_seconds(ways, args.repeats)
        print(f"{name:<46}{20 * len(raw) / best['arrow'] / 1e9:>12.1f}{20 * len(raw) / best['pzmpi'] / 1e9:>12.1f}")


if __name__ == "__main__":
    main()
