"""The run: plan on the root, then every rank reads, cleans, estimates and writes its pieces.

Data flow one way: plan -> read -> clean -> estimate -> write -> profile.
A bad input file costs only its own pieces (recorded, exit status 3); any
other exception aborts the job through ``mpi.exception_guard``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pzmpi.compute import provenance
from pzmpi.compute.heartbeat import HEARTBEAT_FOLDER, Heartbeat
from pzmpi.compute.plan import InputFile, Piece, Plan, in_listed_order, plan_from_footers, read_footers, shares_of
from pzmpi.compute.summary import (TOMOGRAPHIC_BIN, Layout, Summary, Totals, read_piece_summary, summary_layout,
                                   write_run_summary)
from pzmpi.compute.summary import compile_kernel as compile_summary_kernel
from pzmpi.core import mpi
from pzmpi.core.errors import InputFileError
from pzmpi.core.files import TEMP_SUFFIX, write_text_atomically
from pzmpi.core.profiling import TIMELINE_FILE, StageTimer, summarize, write_timeline
from pzmpi.core.progress import ProgressReporter
from pzmpi.core.release import recorded_layouts, release_of_inputs, table_files
from pzmpi.core.runtime import settle_process
from pzmpi.core.stopping import EXIT_STOPPED, StopRequested, StopSignal
from pzmpi.estimators import estimator_code
from pzmpi.estimators.cleaning import clean_chunk, input_columns, position_columns
from pzmpi.estimators.config import NONDETECTED_BANDS, Config
from pzmpi.estimators.factory import make_estimator
from pzmpi.estimators.interface import ChunkEstimator
from pzmpi.estimators.point_estimates import compile_kernel, point_estimates
from pzmpi.io.catalog import iter_chunks, list_input_files
from pzmpi.io.pieces import PieceWriter, is_complete, write_run_index
from pzmpi.io.run_folder import RunPaths
from pzmpi.photometry.magnitudes import compile_kernels

EXIT_OK = 0
EXIT_SOME_INPUTS_FAILED = 3

log = logging.getLogger("pzmpi")


def run(config: Config, comm: mpi.Comm, command: str = "") -> int:
    """Process the whole catalog; returns the job's exit status (same on every rank).

    When the inputs are a release's skinny table, the finished run is entered in
    the release's record (``runs``), where ``pzmpi publish --release`` finds it.
    SIGTERM stops the run cleanly after the chunk in hand (``core.stopping``).
    """
    with StopSignal() as stop:
        return _run(config, comm, command, stop)


def _run(config: Config, comm: mpi.Comm, command: str, stop: StopSignal) -> int:
    start = time.perf_counter()
    timer = StageTimer(origin=start)
    rank, size = comm.Get_rank(), comm.Get_size()
    paths = RunPaths(Path(config.output.folder))

    with timer.stage("plan"):
        listed, recorded = mpi.broadcast_from_root(comm, lambda: _list_on_root(config, paths))
        share = shares_of(listed, size)[rank]
        footers, read = read_footers(share, recorded)
        timer.count("footers_read", read)
        footers = mpi.gather_to_root(comm, footers)
        plan = mpi.broadcast_from_root(comm, lambda: _plan_on_root(config, size, paths, listed, footers))
    _log_to_run_folder(paths, comm)
    if rank == mpi.ROOT:
        log.info("plan: %d pieces, %s objects on %d ranks (%s rows per rank at most); %d unreadable file(s)",
                 len(plan.pieces), f"{plan.total_rows:,}", size, f"{max(plan.rows_of(r) for r in range(size)):,}",
                 len(plan.unreadable))

    with timer.stage("setup"):
        estimator, error = mpi.root_first(comm, lambda: _load_estimator(config))
        mpi.agree(comm, error)
        attrs = mpi.broadcast_from_root(comm, lambda: provenance.piece_attributes(config))
        if rank == mpi.ROOT:
            write_text_atomically(paths.run_record, json.dumps(provenance.run_record(config, plan, attrs), indent=1))
    assert estimator is not None
    layout = summary_layout(config, estimator.grid) if config.summary.enabled else None

    def compile_everything() -> None:
        compile_kernels(config.cleaning.magnitude_dtype)
        compile_kernel()
        if layout is not None:
            compile_summary_kernel()
        estimator.compile()

    with timer.stage("compile"):
        mpi.root_first(comm, compile_everything)
    settle_process()

    reporter = None
    if rank == mpi.ROOT:
        reporter = ProgressReporter(plan.total_rows, sys.stderr, sys.stderr.isatty(), config.run.progress_interval)
    progress = mpi.ProgressChannel(comm, reporter)
    heartbeat = Heartbeat(paths.root, rank, plan.rows_of(rank), config.run.heartbeat_interval)
    failures: list[dict[str, str]] = []
    totals = Totals(layout) if layout is not None else None
    stopped_by = None
    context = RankContext(config, paths, estimator, attrs, layout, timer, progress, stop, heartbeat)
    try:
        for piece in plan.pieces_of(rank):
            stop.check()
            heartbeat.beat(piece=piece.output_name)
            with timer.piece(piece.output_name):
                outcome = _process_piece(piece, context)
                if isinstance(outcome, Summary):
                    with timer.stage("summary"):
                        totals.add(outcome)
            if isinstance(outcome, dict):
                failures.append(outcome)
                heartbeat.beat(failed=True)
    except StopRequested as request:
        stopped_by = str(request)
        log.warning("%s received: stopped after the chunk in hand, the piece being written dropped", stopped_by)
    heartbeat.last("stopped" if stopped_by else "finished")
    timer.count("library_loads", estimator.library_loads)
    with timer.stage("wait"):
        progress.close()
        records = mpi.gather_to_root(comm, (timer.record(rank), failures, stopped_by))
        merged = mpi.sum_to_root(comm, totals) if totals is not None else None

    status = EXIT_OK
    if rank == mpi.ROOT:
        assert records is not None
        finish_start = time.perf_counter()
        if merged is not None:
            write_run_summary(paths.summary, merged, {"estimator": config.estimator.name,
                                                      "result_key": attrs["result_key"]})
        status = _finish_on_root(config, plan, paths, records, attrs, time.perf_counter() - start, finish_start)
        _register_in_release(config, plan, paths, attrs, status, command)
    return mpi.broadcast(comm, status)


def _register_in_release(config: Config, plan: Plan, paths: RunPaths, attrs: dict[str, Any], status: int,
                         command: str) -> None:
    """Enter the run in the record of its release: ``input.release``, or the one whose skinny table it read."""
    if config.input.release:
        release, table = config.input.release_record(), config.input.table
    else:
        release, table = release_of_inputs([piece.path for piece in plan.pieces] + list(plan.unreadable)), "skinny"
    if release is None:
        return
    code = estimator_code(config.estimator.name)
    entry = {"code": code, "input": table, "folder": str(paths.root.absolute()), "result_key": attrs["result_key"],
             "model_file": str(config.estimator.model), "model_sha256": attrs["model_sha256"], "config": config.text,
             "config_sha256": attrs["config_sha256"],
             "rows": plan.total_rows, "complete": status == EXIT_OK}
    release.log(command or f"pzmpi run ({code})", {"run": entry["folder"], "code": code, "rows": entry["rows"],
                                                    "complete": entry["complete"]},
                section="runs", entry=entry, replacing="folder")
    log.info("entered in release %s's record", release.name)


def _list_on_root(config: Config, paths: RunPaths) -> tuple[list[str], dict[str, tuple[int, list[int]]]]:
    """The input files, listed once (a glob on every rank would be as many metadata storms), and the row-group
    layouts the release registry keeps for them: for a release's skinny table, named or given by its paths, no
    footer need be read."""
    recorded: dict[str, tuple[int, list[int]]] = {}
    if config.input.release:
        release = config.input.release_record()
        listed = list_input_files(table_files(release, config.input.table))
        if config.input.table == "skinny":
            recorded = recorded_layouts(release)
    else:
        listed = list_input_files(config.input.paths)
        release = release_of_inputs(listed)
        if release is not None:
            recorded = recorded_layouts(release)  # a file of another table has another path: its footer is read
    for folder in (paths.root, paths.pieces, paths.logs):
        folder.mkdir(parents=True, exist_ok=True)
    for leftover in paths.pieces.glob(f"*{TEMP_SUFFIX}"):  # from an aborted run; no rank writes yet
        leftover.unlink()
    for heartbeat in (paths.root / HEARTBEAT_FOLDER).glob("*.json"):  # an earlier run's ranks
        heartbeat.unlink()
    return listed, recorded


def _plan_on_root(config: Config, size: int, paths: RunPaths, listed: list[str],
                  footers: list[list[InputFile | str]] | None) -> Plan:
    """The plan from every rank's footers (the same plan whatever the number of ranks), written to the run folder."""
    assert footers is not None
    plan = plan_from_footers(listed, in_listed_order(footers), size, config.run.max_rows_per_piece)
    write_text_atomically(paths.plan, plan.to_json())
    write_text_atomically(paths.config, config.text)
    return plan


def _log_to_run_folder(paths: RunPaths, comm: mpi.Comm) -> None:
    """One log file per rank per run; the root also logs to the console."""
    rank = comm.Get_rank()
    handler = logging.FileHandler(paths.logs / f"rank-{rank:05d}.log", mode="w")
    handler.setFormatter(logging.Formatter(f"%(asctime)s {mpi.rank_label(comm)} %(levelname)s %(message)s"))
    log.addHandler(handler)
    if rank == mpi.ROOT:
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(logging.Formatter("pzmpi: %(message)s"))
        log.addHandler(console)
    log.setLevel(logging.INFO)
    log.propagate = False


def _load_estimator(config: Config) -> tuple[ChunkEstimator | None, str | None]:
    """Load the model once per rank; a failure is returned, to be agreed on by all ranks."""
    try:
        return make_estimator(config), None
    except Exception as error:  # any failure here is reported the same way by every rank
        return None, f"cannot set up estimator {config.estimator.name!r} with model {config.estimator.model}: " \
                     f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class RankContext:
    """What a rank processes each of its pieces with: the run's settings and folder, the estimator, the pieces'
    provenance attributes, the summary's layout (None without summaries), and the rank's timer, progress channel,
    stop signal and heartbeat."""

    config: Config
    paths: RunPaths
    estimator: ChunkEstimator
    attrs: dict[str, Any]
    layout: Layout | None
    timer: StageTimer
    progress: mpi.ProgressChannel
    stop: StopSignal
    heartbeat: Heartbeat


def _process_piece(piece: Piece, context: RankContext) -> Summary | dict[str, str] | None:
    """Read, clean, estimate and write one piece: its summary (when kept), or a failure record for a bad input.

    A finished piece with the same identity (and, when summaries are kept, a
    readable summary) is skipped, and its summary read back from its file.
    """
    config, estimator, layout, timer = context.config, context.estimator, context.layout, context.timer
    progress, heartbeat, attrs, stop = context.progress, context.heartbeat, context.attrs, context.stop
    final = context.paths.pieces / piece.output_name
    identity = {"result_key": attrs["result_key"], "input_file": piece.path, "input_size": piece.input_size,
                "row_start": piece.row_start, "row_stop": piece.row_stop}
    if config.output.resume and is_complete(final, identity):
        kept = read_piece_summary(final, layout) if layout is not None else None
        if layout is None or kept is not None:
            timer.count("pieces_skipped")
            progress.add(piece.num_rows)
            heartbeat.beat(piece.num_rows)
            log.info("%s: already done, skipped", piece.output_name)
            return kept
    grid = estimator.grid
    carried = position_columns(config.input) + config.output.carry_columns
    columns = input_columns(config.input, config.cleaning) + carried
    summary = Summary(layout) if layout is not None else None
    try:
        with PieceWriter(final, piece.num_rows, grid, config.output.pdf_dtype,
                         config.output.point_estimates, config.output.compression) as writer:
            chunks = iter_chunks(piece.path, piece.row_start, piece.row_stop, columns, config.run.rows_per_chunk)
            while True:
                with timer.stage("read"):
                    raw = next(chunks, None)
                if raw is None:
                    break
                with timer.stage("clean"):
                    chunk = clean_chunk(raw, config.input, config.cleaning)
                with timer.stage("estimate"):
                    estimate = estimator.estimate(chunk.columns)
                    points = point_estimates(estimate.pdfs, grid)
                stored = estimate.pdfs.astype(config.output.pdf_dtype, copy=False)
                extras = {**estimate.extras, **{name: raw[name] for name in carried},
                          NONDETECTED_BANDS: chunk.nondetected_bands}
                if summary is not None:
                    with timer.stage("summary"):
                        bins = summary.add_chunk(stored, points, extras, chunk.nondetections,
                                                 raw.get(config.input.ra_column), raw.get(config.input.dec_column))
                    if bins is not None:
                        extras = {**extras, TOMOGRAPHIC_BIN: bins}
                with timer.stage("write"):
                    writer.write(chunk.ids, stored, points, extras)
                _count_chunk(timer, chunk.nondetections, chunk.bad_ebv, len(chunk))
                progress.add(len(chunk))
                heartbeat.beat(len(chunk))
                stop.check()  # raises out of the writer, which deletes its unfinished file
            with timer.stage("write"):
                if summary is not None:
                    summary.write(writer.group("summary"))
                writer.commit({**attrs, **identity, "row_groups": [piece.row_group_start, piece.row_group_stop]})
    except InputFileError as error:
        final.unlink(missing_ok=True)  # an older result under this name no longer matches the inputs
        message = str(error) if piece.path in str(error) else f"{piece.path}: {error}"
        log.error("%s: FAILED, nothing written: %s", piece.output_name, message)
        timer.count("pieces_failed")
        return {"output": piece.output_name, "input_file": piece.path, "error": message}
    timer.count("pieces_done")
    log.info("%s: %s rows written", piece.output_name, f"{piece.num_rows:,}")
    return summary


def _count_chunk(timer: StageTimer, nondetections: dict[str, int], bad_ebv: int, rows: int) -> None:
    timer.count("rows", rows)
    timer.count("chunks")
    timer.count("bad_ebv", bad_ebv)
    for band, count in nondetections.items():
        timer.count(f"nondetect_{band}", count)


def _finish_on_root(config: Config, plan: Plan, paths: RunPaths, records: list[Any], attrs: dict[str, Any],
                    wall: float, finish_start: float) -> int:
    """Write the index and the profile (with the root's time to finish, summary and index), report, and choose
    the exit status."""
    failures = [f for _, rank_failures, _ in records for f in rank_failures]
    stopped = {rank: signal for rank, (_, _, signal) in enumerate(records) if signal}
    failures += [{"output": "", "input_file": path, "error": reason} for path, reason in plan.unreadable.items()]
    finished = [(paths.pieces / p.output_name, p.num_rows) for p in plan.pieces
                if (paths.pieces / p.output_name).is_file()]
    indexed_rows = write_run_index(paths.index, finished)
    write_timeline(paths.root / TIMELINE_FILE, [record for record, _, _ in records])
    profile = summarize([record for record, _, _ in records], wall, extra={
        "run_dir": str(paths.root),
        "estimator": config.estimator.name,
        "implementation": attrs["implementation"],
        "bands": config.input.bands,
        "index_rows": indexed_rows,
        "failures": failures,
        "stopped_ranks": stopped,
        "finish_seconds": time.perf_counter() - finish_start,
        "versions": json.loads(attrs["versions"]),
    })
    write_text_atomically(paths.profile, json.dumps(profile, indent=1))
    log.info("finished: %s objects in %s pieces indexed in %s", f"{indexed_rows:,}", len(finished), paths.index)
    if failures:
        log.error("%d input file(s) failed; their outputs are missing, everything else is written. "
                  "Fix them and run again: finished pieces are skipped.", len(failures))
        for failure in failures:
            log.error("  %s", failure["error"])
    log.info("%s objects in %.1f s on %d ranks: %s objects/s; load imbalance %.3f. Details: pzmpi profile %s",
             f"{profile['total_rows']:,}", wall, len(records), f"{profile['objects_per_second']:,.0f}",
             profile["load_imbalance"], paths.root)
    if stopped:
        log.warning("stopped by %s on %d rank(s) with %d of %d pieces finished: run the same command again to "
                    "finish (finished pieces are kept); exit status %d", ", ".join(sorted(set(stopped.values()))),
                    len(stopped), len(finished), len(plan.pieces), EXIT_STOPPED)
        return EXIT_STOPPED
    return EXIT_SOME_INPUTS_FAILED if failures else EXIT_OK

