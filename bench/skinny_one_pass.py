"""One rank making the skinny slices of one large file: adjacent slices in one pass, against slices read apart.

    python bench/skinny_one_pass.py [--rows 400000] [--row-groups 8 1] [--max-rows 150000] [--repeats 7]

For each row-group layout, a DP1-style file of ``--rows`` rows in the real
column count (bench_skinny.py's catalog, rewritten) is cut into slices of
``--max-rows`` rows. "one pass" is ``process_pieces`` given all the slices (as a
rank of ``pzmpi skinny`` reads its adjacent slices of a file); "apart" calls it
once per slice, as when each slice is read on its own: the footer parsed again
and every row group a slice boundary cuts decoded again. Rows/s from CPU time,
pinned to CPU 1, best of the repeats, the two alternating.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "ARROW_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from bench_skinny import make_catalog  # noqa: E402

from pzmpi.acquire.skinny.command import result_settings  # noqa: E402
from pzmpi.acquire.skinny.config import build_skinny_config  # noqa: E402
from pzmpi.acquire.skinny.process import process_pieces  # noqa: E402
from pzmpi.acquire.skinny.slicing import InputFooter, split_inputs  # noqa: E402


def layout(source: Path, row_groups: int, folder: Path) -> Path:
    """``source`` rewritten with ``row_groups`` row groups (kept between invocations)."""
    path = folder / f"{source.stem}-{row_groups}groups.parquet"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        table = pq.read_table(source)
        pq.write_table(table, path.with_suffix(".tmp"), row_group_size=-(-table.num_rows // row_groups))
        path.with_suffix(".tmp").rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--row-groups", type=int, nargs="+", default=[8, 1])
    parser.add_argument("--max-rows", type=int, default=150_000, help="output.max_rows_per_file")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path("bench/results/skinny"))
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    work = args.work.resolve()
    (source,) = make_catalog(work / "catalogs" / "dp1", "dp1", 1, args.rows)
    out = Path(tempfile.mkdtemp(prefix="one-pass-"))
    config = build_skinny_config({"input": {"preset": "dp1"}, "dereddening": {"method": "column"},
                                  "output": {"folder": str(out), "resume": False, "max_rows_per_file": args.max_rows}},
                                 base_dir=out, source="bench")
    settings = result_settings(config)
    print(f"{'row groups':>10}{'slices':>8}{'one pass rows/s':>18}{'apart rows/s':>15}{'apart / one pass':>18}")
    for row_groups in args.row_groups:
        path = layout(source, row_groups, work / "catalogs" / "dp1-layouts")
        footer = InputFooter(path.name, str(path), path.stat().st_size, args.rows)
        pieces = split_inputs([footer], args.max_rows)
        ways = {"one pass": [pieces], "apart": [[piece] for piece in pieces]}
        best = dict.fromkeys(ways, float("inf"))
        for _ in range(args.repeats):
            for name, groups in ways.items():
                start = time.process_time()
                for group in groups:
                    for _, done in process_pieces(group, config, None, settings["result_key"], settings["settings"]):
                        assert not done.error, done.error
                best[name] = min(best[name], time.process_time() - start)
        rates = [args.rows / best[name] for name in ways]
        print(f"{row_groups:>10}{len(pieces):>8}{rates[0]:>18,.0f}{rates[1]:>15,.0f}"
              f"{best['apart'] / best['one pass']:>17.2f}x", flush=True)


if __name__ == "__main__":
    main()
