"""The release registry at DR11's size: init a synthetic release of 267,000 files, then time what operators run.

    python bench/registry_scale.py [--files 267000] [--work DIR]

Registers a release of ``--files`` catalog files (name, size, sha256, rows, row groups;
no parquet is written) and a skinny table of as many files, in one registry. Then times,
each as the best of three:

* ``pzmpi release show NAME`` as a command (Python start-up and imports included);
* the planner's lookup of the skinny table's layouts (``recorded_layouts``), in process;
* one command's update of the record (``Release.log``).

Beside them, the reference: what each command paid before the registry, writing the
whole record as one JSON file, measured on the same record. Issue 15's targets: show and
the planner's lookup under 2 s each.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import environment

from pzmpi.core.files import write_text_atomically
from pzmpi.core.release import Release, recorded_layouts

NAME = "dr11_like"


def best_of_three(job: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def make_release(root: Path, files: int) -> Release:
    catalog = [{"name": f"tract{i // 40:05d}/patch{i % 40:02d}.parquet", "size": 350_000_000 + i,
                "sha256": f"{i:064x}", "rows": 150_000, "row_groups": [50_000] * 3} for i in range(files)]
    schema = [{"name": f"column_{i}", "type": "double"} for i in range(991)]
    release = Release.create(root, NAME, root / "catalog", catalog, schema, "pzmpi release init (bench)")
    skinny = [{"name": f"part-{i:06d}.parquet", "size": 40_000_000 + i, "rows": 140_000, "row_groups": [140_000],
               "sha256": f"{i:064x}"} for i in range(files)]
    release.log("pzmpi skinny (bench)", {"files": files}, section="skinny_tables",
                entry={"output_folder": str(root / "skinny"), "rows": 140_000 * files, "files": skinny})
    return release


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=267_000)
    parser.add_argument("--work", type=Path, default=None, help="folder for the registry (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pzmpi-registry-"))
    root = work / "releases"
    shutil.rmtree(root, ignore_errors=True)

    start = time.perf_counter()
    release = make_release(root, args.files)
    init_seconds = time.perf_counter() - start
    database = root / "registry.sqlite"

    command = [sys.executable, "-m", "pzmpi", "release", "show", NAME, "--releases", str(root)]
    shown = subprocess.run(command, env=environment(), capture_output=True, text=True, check=True)
    show_seconds = best_of_three(lambda: subprocess.run(command, env=environment(), capture_output=True, check=True))
    startup_seconds = best_of_three(lambda: subprocess.run([sys.executable, "-m", "pzmpi", "--help"],
                                                           env=environment(), capture_output=True, check=True))
    layouts: dict[str, tuple[int, list[int]]] = {}
    lookup_seconds = best_of_three(lambda: layouts.update(recorded_layouts(Release.open(root, NAME))))
    log_seconds = best_of_three(lambda: release.log("pzmpi run (bench)", {"rows": 1}, section="runs",
                                                    entry={"folder": "/run", "code": "fzb"}, replacing="folder"))
    record = release.record
    json_path = work / "release.json"
    json_seconds = best_of_three(lambda: write_text_atomically(json_path, json.dumps(record, indent=1)))
    json_read_seconds = best_of_three(lambda: json.loads(json_path.read_text()))

    print(f"registry of {args.files:,} catalog files and a skinny table of {args.files:,} files: "
          f"{database.stat().st_size / 1e6:.0f} MB (the same record as JSON: {json_path.stat().st_size / 1e6:.0f} MB); "
          f"init took {init_seconds:.1f} s")
    print(f"  first lines of 'pzmpi release show': {' | '.join(shown.stdout.splitlines()[:3])}")
    print(f"  pzmpi release show (a command):        {show_seconds:6.2f} s  (of which start-up, 'pzmpi --help': "
          f"{startup_seconds:.2f} s)  target < 2 s: {'met' if show_seconds < 2 else 'NOT met'}")
    print(f"  planner's lookup of {len(layouts):,} layouts:  {lookup_seconds:6.2f} s  target < 2 s: "
          f"{'met' if lookup_seconds < 2 else 'NOT met'}")
    print(f"  one command's update (Release.log):    {log_seconds:6.3f} s")
    print(f"  before the registry, per command: read the JSON {json_read_seconds:.2f} s + rewrite it "
          f"{json_seconds:.2f} s; update ratio JSON/registry {(json_seconds + json_read_seconds) / log_seconds:.0f}x")
    if args.work is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
