"""``pzmpi verify``: prove a release's catalog files complete and sane (docs/verify.md).

Rank 0 lists the files the catalog folder holds and the manifest or the
release record expects, and shards the present ones over the ranks, largest
first. Every rank checks its files (``checks``); the duplicate-id check runs
across all of them (``duplicates``); the root builds and writes the JSON and
HTML reports (``report``) and records the run in the release record. The exit
status is 4 when a blocking check fails.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pzmpi.acquire.verify import report as qa_report
from pzmpi.acquire.verify.checks import (DEFAULT_REQUIRED, FileTask, absent_file_result, check_file, expand_columns,
                                         parse_manifest, photometric_columns)
from pzmpi.acquire.verify.duplicates import DUPLICATE_EXAMPLES, distributed_duplicates, duplicate_issues
from pzmpi.acquire.verify.statistics import Histograms, compile_kernels
from pzmpi.core import mpi
from pzmpi.core.errors import ConfigError
from pzmpi.core.profiling import peak_rss_bytes
from pzmpi.core.release import Release, utc_now
from pzmpi.core.runtime import settle_process
from pzmpi.core.sharding import assign_pieces

EXIT_OK = 0
EXIT_BLOCKING_FAILURE = 4


@dataclass(frozen=True)
class Options:
    """Validated command-line options, the same on every rank."""

    manifest: Path | None
    required: list[str]

    @property
    def photometric(self) -> list[str]:
        return photometric_columns(self.required)


def resolve_options(manifest: str | None, required: list[str] | None) -> Options:
    """Check the options before any collective call: a ``ConfigError`` names the bad one."""
    path = Path(manifest).absolute() if manifest else None
    if path is not None and not path.is_file():
        raise ConfigError(f"--manifest {manifest}: file not found")
    return Options(manifest=path, required=expand_columns(required if required else DEFAULT_REQUIRED))


@dataclass(frozen=True)
class VerifyPlan:
    """What rank 0 decides before the work: the files, what each should be, who checks which."""

    tasks: list[FileTask]
    absent: dict[int, str]  # task index -> where the absent file is listed
    checksum_source: str
    reference: list[dict[str, str]]
    assignment: list[list[int]]
    report_dir: str


def catalog_listing(catalog_dir: Path) -> dict[str, int]:
    """{name relative to the catalog folder: size} of its parquet files (as ``pzmpi release init`` lists them)."""
    if not catalog_dir.is_dir():
        raise ConfigError(f"catalog folder not found: {catalog_dir}")
    return {path.name: path.stat().st_size for path in sorted(catalog_dir.glob("*.parquet")) if path.is_file()}


def make_plan(release: Release, options: Options, n_ranks: int) -> VerifyPlan:
    """List the expected and present files and shard the present ones, largest first (rank 0 only)."""
    on_disk = catalog_listing(release.catalog_dir)
    record = {entry["name"]: entry for entry in release.files}
    if options.manifest is not None:
        expected = parse_manifest(options.manifest.read_text(), str(options.manifest))
        source = f"the manifest {options.manifest.name}"
    else:
        expected = {name: entry.get("sha256") for name, entry in record.items()}
        source = "the release record"
    names = sorted(set(on_disk) | set(record) | set(expected))
    tasks = [FileTask(index, name, str(release.catalog_dir / name), on_disk.get(name), expected.get(name),
                      record.get(name, {}).get("rows"), source) for index, name in enumerate(names)]
    absent = {task.index: " and ".join(where for where, listed in ((source, task.name in expected),
                                                                    ("the release record", task.name in record))
                                       if listed)
              for task in tasks if task.size is None}
    present = [task.index for task in tasks if task.size is not None]
    assignment = [[present[i] for i in ranks]
                  for ranks in assign_pieces([tasks[i].size or 0 for i in present], n_ranks)]
    return VerifyPlan(tasks, absent, source, release.schema, assignment, str(new_report_dir(release.folder)))


def new_report_dir(release_folder: Path) -> Path:
    """``<release>/verify/<UTC time>/``, created now; a suffix keeps two runs of the same second apart."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = release_folder / "verify"
    base.mkdir(parents=True, exist_ok=True)
    for attempt in range(1000):
        folder = base / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise ConfigError(f"{base}: cannot create a new report folder for {stamp}")


def run(comm: mpi.Comm, release: Release, options: Options, command: str) -> int:
    """Verify the release on every rank; returns the exit status (the same on every rank)."""
    start = time.perf_counter()
    started = utc_now()
    rank = comm.Get_rank()
    plan = mpi.broadcast_from_root(comm, lambda: make_plan(release, options, comm.Get_size()))
    mpi.root_first(comm, compile_kernels)
    settle_process()
    setup = time.perf_counter() - start

    results, histograms, id_parts, file_parts, timing = _check_files(plan, options, rank)
    timing["setup_seconds"] = setup
    exchange_start = time.perf_counter()
    duplicates, rows_per_file = distributed_duplicates(comm, id_parts, file_parts, len(plan.tasks))
    timing["duplicates_seconds"] = time.perf_counter() - exchange_start
    timing["peak_rss_bytes"] = peak_rss_bytes()
    magnitude = mpi.reduce_sum_to_root(comm, histograms.magnitude)
    sky = mpi.reduce_sum_to_root(comm, histograms.sky)
    gathered = mpi.gather_to_root(comm, (results, timing))

    status = EXIT_OK
    if rank == mpi.ROOT:
        assert gathered is not None and duplicates is not None and rows_per_file is not None
        assert magnitude is not None and sky is not None
        status = _report_on_root(comm, release, options, plan, gathered, duplicates, rows_per_file,
                                 Histograms(magnitude, sky), started, start, command)
    return mpi.broadcast(comm, status)


def _check_files(plan: VerifyPlan, options: Options, rank: int) -> tuple[
        list[dict[str, Any]], Histograms, list[np.ndarray], list[np.ndarray], dict[str, Any]]:
    """Check this rank's files: their results, summed histograms, ids and file indices per file, and timings."""
    results: list[dict[str, Any]] = []
    histograms = Histograms.empty()
    id_parts: list[np.ndarray] = []
    file_parts: list[np.ndarray] = []
    timing = {"rank": rank, "host": socket.gethostname(), "files": 0, "bytes": 0, "checksum_seconds": 0.0,
              "decode_seconds": 0.0}
    for index in plan.assignment[rank]:
        task = plan.tasks[index]
        check = check_file(task, plan.reference, options.required, options.photometric)
        results.append(check.result)
        histograms.merge(check.histograms)
        id_parts.append(check.ids)
        file_parts.append(np.full(check.ids.size, task.index, dtype=np.int32))
        timing["files"] += 1
        timing["bytes"] += task.size or 0
        timing["checksum_seconds"] += check.seconds["checksum"]
        timing["decode_seconds"] += check.seconds["decode"]
    return results, histograms, id_parts, file_parts, timing


def _report_on_root(comm: mpi.Comm, release: Release, options: Options, plan: VerifyPlan,
                    gathered: list[tuple[list[dict[str, Any]], dict[str, Any]]], duplicates: dict[str, Any],
                    rows_per_file: np.ndarray, histograms: Histograms, started: str, start: float,
                    command: str) -> int:
    by_name = {result["file"]: result for results, _ in gathered for result in results}
    results = []
    for task in plan.tasks:
        result = absent_file_result(task, plan.absent[task.index]) if task.index in plan.absent else by_name[task.name]
        result["duplicate_rows"] = {"within_file": int(rows_per_file[0, task.index]),
                                    "across_files": int(rows_per_file[1, task.index])}
        results.append(result)
    names = [task.name for task in plan.tasks]
    run_block = {"ranks": comm.Get_size(), "hosts": sorted({t["host"] for _, t in gathered}),
                 "started": started, "wall_seconds": time.perf_counter() - start,
                 "per_rank": sorted((t for _, t in gathered), key=lambda t: t["rank"])}
    report = qa_report.build_report(
        release=release.name, catalog_dir=str(release.catalog_dir), checksum_source=plan.checksum_source,
        reference_columns=len(plan.reference),
        required=options.required, photometric=options.photometric, results=results,
        extra_issues=duplicate_issues(names, rows_per_file), duplicates=_named_examples(duplicates, names),
        histograms=histograms, run=run_block)
    json_path, html_path = qa_report.write_reports(report, Path(plan.report_dir))
    print(qa_report.format_summary(report, html_path), flush=True)
    counts = report["counts"]
    release.log(command, {"passed": report["passed"], "files": counts["files"], "rows": counts["rows"],
                          "failures": counts["failures"], "warnings": counts["warnings"]},
                section="verify_runs",
                entry={"report_json": str(json_path), "report_html": str(html_path), "passed": report["passed"],
                       "checksums_from": plan.checksum_source, "files": counts["files"], "rows": counts["rows"],
                       "failures": counts["failures"], "warnings": counts["warnings"]})
    return EXIT_OK if report["passed"] else EXIT_BLOCKING_FAILURE


def _named_examples(duplicates: dict[str, Any], names: list[str]) -> dict[str, Any]:
    named = dict(duplicates)
    named["examples"] = [{"id": objectid, "files": [{"file": names[f], "rows": rows} for f, rows in holders]}
                         for objectid, holders in duplicates["examples"]]
    named["max_examples"] = DUPLICATE_EXAMPLES
    return named
