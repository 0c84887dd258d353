"""``pzmpi skinny``: a release's Object catalog reduced to the columns photo-z codes read (docs/skinny.md).

The data flow, one module per step:

* plan (rank 0, ``slicing``): from the release record's row counts and sizes,
  no file opened, each input file is cut into row ranges, one output file each;
  the ranges, in order, are cut into one consecutive run per rank;
* convert (every rank, ``process`` and ``convert``): chunk by chunk, only the
  needed columns, adjacent ranges of a file in one pass: the primary cut,
  E(B-V) from a column or a dust map, magnitudes, optional rounding;
* write (``output``): one parquet file per range, written atomically, whose
  metadata records the result key and the input's identity, so that a re-run
  skips it; a bad input costs only its own files (exit status 3);
* finish (rank 0, here): ``manifest.json`` and ``sha256sums.txt`` of the
  outputs, and the release record's ``skinny_tables`` entry.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pzmpi.acquire.skinny.config import SkinnyConfig
from pzmpi.acquire.skinny.output import recorded_metadata
from pzmpi.acquire.skinny.process import PieceOutcome, process_pieces
from pzmpi.acquire.skinny.slicing import SkinnyPiece, release_inputs, split_inputs
from pzmpi.core import mpi
from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.errors import ConfigError
from pzmpi.core.files import TEMP_SUFFIX, write_text_atomically
from pzmpi.core.progress import ProgressReporter
from pzmpi.core.release import SKINNY_MANIFEST, Release
from pzmpi.core.runtime import settle_process
from pzmpi.core.sharding import assign_in_order
from pzmpi.photometry.dust import load_map
from pzmpi.photometry.magnitudes import compile_kernels

EXIT_OK = 0
EXIT_SOME_INPUTS_FAILED = 3  # as 'pzmpi run'
SHA256SUMS = "sha256sums.txt"
CONFIG_COPY = "config.toml"


@dataclass(frozen=True)
class SkinnyPlan:
    pieces: list[SkinnyPiece]
    assignment: list[list[int]]
    unreadable: dict[str, str]
    result_key: str
    settings: dict[str, Any]

    @property
    def total_rows(self) -> int:
        return sum(p.num_rows for p in self.pieces)


def run(config: SkinnyConfig, release: Release, comm: mpi.Comm, command: str) -> int:
    """Collective: make the release's skinny tables; returns the exit status (the same on every rank)."""
    start = time.perf_counter()
    rank, size = comm.Get_rank(), comm.Get_size()
    plan = mpi.broadcast_from_root(comm, lambda: _plan_on_root(config, release, size))
    dust = None
    problem = None
    if config.ebv_method == "map":
        try:
            dust = load_map(config.map_path, config.map_ordering, config.map_frame, config.map_column)
        except ConfigError as error:
            problem = str(error)
    mpi.agree(comm, problem)
    mpi.root_first(comm, lambda: compile_kernels("float32"))
    settle_process()

    reporter = None
    if rank == mpi.ROOT:
        reporter = ProgressReporter(plan.total_rows, sys.stderr, sys.stderr.isatty(), 30.0)
    progress = mpi.ProgressChannel(comm, reporter)
    outcomes = []
    mine = [plan.pieces[index] for index in plan.assignment[rank]]
    for piece, outcome in process_pieces(mine, config, dust, plan.result_key, plan.settings):
        outcomes.append(outcome)
        progress.add(piece.num_rows)
    progress.close()
    gathered_outcomes = mpi.gather_to_root(comm, outcomes)
    status = EXIT_OK
    if rank == mpi.ROOT:
        everything = sorted((o for part in gathered_outcomes for o in part), key=lambda o: o.output_name)
        status = _finish_on_root(config, release, plan, everything, time.perf_counter() - start, size, command)
    return mpi.broadcast(comm, status)


def _plan_on_root(config: SkinnyConfig, release: Release, size: int) -> SkinnyPlan:
    """Pieces and their ranks; the output folder made, cleared of temporary files and of stale outputs."""
    footers, unreadable = release_inputs(release)
    pieces = split_inputs(footers, config.max_rows_per_file)
    settings = result_settings(config)
    result_key = settings["result_key"]
    folder = Path(config.folder)
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob(f"*{TEMP_SUFFIX}"):  # from an aborted run; no rank writes yet
        leftover.unlink()
    planned = {p.output_name for p in pieces}
    for old in folder.glob("*.parquet"):
        if old.name not in planned and recorded_metadata(old) is not None:
            old.unlink()  # made by an earlier configuration or from a file no longer in the release
    write_text_atomically(folder / CONFIG_COPY, config.text)
    assignment = assign_in_order([p.num_rows for p in pieces], size)
    return SkinnyPlan(pieces, assignment, unreadable, result_key, settings["settings"])


def result_settings(config: SkinnyConfig) -> dict[str, Any]:
    """The result key (with the dust map's checksum) and the settings recorded in every output file."""
    map_sha256 = ""
    if config.ebv_method == "map":
        if not Path(config.map_path).is_file():
            raise ConfigError(f"{config.source}: 'dereddening.map' points to a missing file: {config.map_path}")
        map_sha256 = sha256_of_file(config.map_path)
    key = config.result_key(map_sha256)
    settings = {"bands": config.bands, "columns": config.columns, "dereddening": config.ebv_method,
                "ebv_column": config.ebv_column, "map_sha256": map_sha256, "map_name": Path(config.map_path).name
                if config.map_path else "", "extinction": config.extinction, "nondetect_val": config.nondetect_val,
                "mag_limits": config.mag_limits, "decimals": config.decimals}
    return {"result_key": key, "settings": settings}


def _finish_on_root(config: SkinnyConfig, release: Release, plan: SkinnyPlan, outcomes: list[PieceOutcome],
                    wall: float, size: int, command: str) -> int:
    """Manifest, release record and report; the exit status."""
    folder = Path(config.folder)
    written = [o for o in outcomes if not o.error]
    failures = [{"input": o.input_name, "output": o.output_name, "error": o.error} for o in outcomes if o.error]
    failures += [{"input": name, "output": "", "error": error} for name, error in sorted(plan.unreadable.items())]
    files = [{"name": o.output_name, "rows": o.rows, "sha256": o.sha256, "size": o.size,
              "row_groups": list(o.row_groups)} for o in written]
    rows = sum(o.rows for o in written)
    nondetections = {band: sum(o.nondetections.get(band, 0) for o in written) for band in config.bands}
    manifest = {"release": release.name, "releases_root": str(release.folder.parent),
                "result_key": plan.result_key, "settings": plan.settings, "files": files, "rows": rows,
                "failures": failures}
    write_text_atomically(folder / SKINNY_MANIFEST, json.dumps(manifest, indent=1))
    write_text_atomically(folder / SHA256SUMS, "".join(f"{f['sha256']}  {f['name']}\n" for f in files))
    input_rows = sum(p.num_rows for p in plan.pieces)
    summary = {"output_folder": str(folder), "files": len(files), "skipped": sum(o.skipped for o in written),
               "rows": rows, "input_rows": input_rows, "failures": len(failures), "ranks": size,
               "seconds": round(wall, 3)}
    entry = {"output_folder": str(folder), "config": config.text, "result_key": plan.result_key, "files": files,
             "rows": rows, "nondetections": nondetections, "bad_ebv": sum(o.bad_ebv for o in written),
             "failures": failures}
    release.log(command, summary, section="skinny_tables", entry=entry, replacing="output_folder")
    print(f"pzmpi: skinny: {len(files)} files ({summary['skipped']} already done), {rows:,} rows of "
          f"{input_rows:,} input rows in {folder}, {wall:.1f} s on {size} rank(s)")
    if failures:
        print(f"pzmpi: skinny: {len(failures)} piece(s) failed; their outputs are missing, everything else is "
              "written. Fix the inputs and run again: finished files are skipped.", file=sys.stderr)
        for error in dict.fromkeys(f["error"] for f in failures):
            print(f"pzmpi: skinny:   {error}", file=sys.stderr)
    return EXIT_SOME_INPUTS_FAILED if failures else EXIT_OK
