"""Time of ``pzmpi verify`` per GB of parquet, on one rank, split into checksum and decode.

    python bench/bench_verify.py [--files 8] [--rows-per-file 150000] [--work bench/results/verify]

The catalog is DP0.2-style (float64 fluxes, ``detect_isPrimary``; pzmpi.datasets.synthetic),
made once in ``--work`` and registered as a release. The verify run is pinned to
one core and timed from the command line (start-up included); its report's "run"
block gives the time spent hashing (sha256) and decoding (every row group, with
the statistics and histograms computed on it) and in the duplicate check. The
files were just written, so they are read from the page cache: this measures
CPU cost per GB, not the file system.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common import on_one_core, timed

from pzmpi.acquire.release_init import create_release, describe_file
from pzmpi.core.release import Release
from pzmpi.datasets.synthetic import write_catalog

RELEASE = "bench_dp02"


def prepare(work: Path, files: int, rows_per_file: int) -> Path:
    """The catalog and its release record (reused when the same size already exists); returns the releases root."""
    catalog = work / f"catalog-{files}x{rows_per_file}"
    releases = work / f"releases-{files}x{rows_per_file}"
    if not catalog.is_dir():
        write_catalog(catalog, "dp02", files, rows_per_file, seed=0, row_group_rows=50_000)
    if not (releases / RELEASE / "release.json").is_file():
        described = [describe_file(path, catalog) for path in sorted(catalog.glob("*.parquet"))]
        create_release(releases, RELEASE, catalog, described, "bench/bench_verify.py")
    return releases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--rows-per-file", type=int, default=150_000, help="default: about 300 MB in all")
    parser.add_argument("--work", type=Path, default=Path("bench/results/verify"))
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    releases = prepare(work, args.files, args.rows_per_file)
    release = Release.open(releases, RELEASE)
    size = sum(f["size"] for f in release.files)
    rows = sum(f["rows"] for f in release.files)

    command = ["mpiexec", "-n", "1", sys.executable, "-m", "pzmpi", "verify", RELEASE, "--releases", str(releases)]
    wall = timed(on_one_core(command), cwd=work)
    release = Release.open(releases, RELEASE)
    report = json.loads(Path(release.record["verify_runs"][-1]["report_json"]).read_text())
    if not report["passed"]:
        sys.exit(f"verify failed on the benchmark catalog: {report['failures'][:5]}")
    (rank,) = report["run"]["per_rank"]
    gb = size / 1e9
    parts = [("checksum (sha256)", rank["checksum_seconds"]), ("decode + statistics", rank["decode_seconds"]),
             ("duplicate check", rank["duplicates_seconds"]), ("set-up (plan, numba cache)", rank["setup_seconds"])]
    other = wall - sum(seconds for _, seconds in parts)
    print(f"catalog: {len(release.files)} DP0.2-style files, {rows:,} rows, {size / 1e6:,.0f} MB of parquet")
    print(f"pzmpi verify, 1 rank: {wall:.1f} s wall = {wall / gb:.1f} s per GB = {size / 1e6 / wall:.0f} MB/s "
          f"(peak RSS {rank['peak_rss_bytes'] / 2**20:,.0f} MiB)")
    print(f"{'part':<30}{'seconds':>9}{'s per GB':>10}{'MB/s':>9}{'share':>8}")
    for name, seconds in parts + [("start-up, report, record", other)]:
        rate = f"{size / 1e6 / seconds:>9.0f}" if seconds > 0 else f"{'':>9}"
        print(f"{name:<30}{seconds:>9.2f}{seconds / gb:>10.2f}{rate}{seconds / wall:>8.0%}")
    work_seconds = sum(seconds for _, seconds in parts[:3])
    print(f"per-file work alone (checksum + decode + duplicates, what grows with the catalog): "
          f"{work_seconds / gb:.1f} s per GB = {size / 1e6 / work_seconds:.0f} MB/s per core")
    print(f"command: {' '.join(command)}")


if __name__ == "__main__":
    main()
