"""Peak memory per rank on one 2-million-row parquet file (target: every rank under 1.5 GiB).

    python bench/bench_memory.py [--replicas 98] [--ranks 2] [--estimator bpz]

RAIL's estimate() needs 3.0 to 3.2 GB for 0.2 million rows (bench_throughput.py);
pzmpi streams the file in chunks, so its memory does not grow with the file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import prepare, pzmpi_run, write_config

LIMIT_BYTES = 1.5 * 2**30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=98, help="copies of the 20,449-row sample (98: 2,004,002 rows)")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--estimator", default="bpz")
    parser.add_argument("--work", type=Path, default=Path("bench/results/memory"))
    args = parser.parse_args()
    work = args.work.resolve()
    prepare(work, args.replicas, 1, [args.estimator])
    config = write_config(work / "memory.toml", args.estimator, work, "run-memory")
    seconds, profile = pzmpi_run(config, args.ranks)
    print(f"{profile['total_rows']:,} rows in one file, {args.estimator}, {args.ranks} ranks, {seconds:.0f} s")
    print(f"{'rank':>5}{'rows':>12}{'peak RSS GiB':>14}{'under 1.5 GiB':>15}")
    for rank in profile["per_rank"]:
        print(f"{rank['rank']:>5}{rank['rows']:>12,}{rank['peak_rss_bytes'] / 2**30:>14.3f}"
              f"{str(rank['peak_rss_bytes'] < LIMIT_BYTES):>15}")
    worst = profile["peak_rss_bytes_max"]
    print(f"largest rank: {worst / 2**30:.3f} GiB = {worst / LIMIT_BYTES:.2f} x the 1.5 GiB target")
    raise SystemExit(0 if worst < LIMIT_BYTES else 1)


if __name__ == "__main__":
    main()
