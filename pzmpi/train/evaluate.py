"""``pzmpi evaluate``: validate finished runs against known redshifts, exactly, under MPI (docs/validation.md).

The pieces of every run are shared out over the ranks, largest first. A
rank reads each of its pieces' PDFs and the same rows of the run's input (the
true redshift and the binning magnitude), and computes every object's values
(``validation.per_object_values``). Those values, 64 bytes an object, are
gathered on the root in plan order, where the metrics are qp's own functions
over all of them: medians and quantiles are exact, and the report is the same
whatever the number of ranks. A run of more than ``evaluate.max_gathered_objects``
objects is refused before any work (validation sets are spectroscopic samples:
thousands to millions of objects). The stacked PDFs are summed exactly
(``pzmpi.core.exactsum``) and reduced over the ranks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pzmpi.core import mpi
from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.errors import ConfigError, InputFileError
from pzmpi.core.exactsum import ExactSum
from pzmpi.core.release import Release, releases_root
from pzmpi.core.sharding import assign_pieces
from pzmpi.estimators.cleaning import clean_chunk, input_columns, magnitude_column
from pzmpi.estimators.config import Config, load_run_config
from pzmpi.io.catalog import CatalogFile
from pzmpi.io.run_folder import RunPiece, finished_pieces
from pzmpi.train import validation, validation_report
from pzmpi.train.evaluate_config import EvaluateConfig

EXIT_OK = 0
EXIT_SOME_PIECES_FAILED = 3
OBJECT_COLUMNS = ("object_id", "z_true", "z_point", "magnitude") + validation.PER_OBJECT


@dataclass(frozen=True)
class RunSource:
    """A run to validate: its name in the report, folder, configuration and finished pieces."""

    name: str
    folder: str
    config: Config
    pieces: list[RunPiece]

    @property
    def objects(self) -> int:
        return sum(piece.rows for piece in self.pieces)


def open_runs(config: EvaluateConfig) -> list[RunSource]:
    """Every run, checked before any work: a ConfigError names the run and the key."""
    sources = []
    for index, folder in enumerate(config.runs):
        run_config = load_run_config(folder)
        if config.point_estimate not in run_config.output.point_estimates:
            raise ConfigError(f"{config.source}: 'evaluate.point_estimate' = {config.point_estimate!r} is not "
                              f"stored by the run {folder} (its output.point_estimates: "
                              f"{', '.join(run_config.output.point_estimates)})")
        if config.magnitude_band not in run_config.input.bands:
            raise ConfigError(f"{config.source}: 'evaluate.magnitude_band' = {config.magnitude_band!r} is not a "
                              f"band of the run {folder}")
        name = config.names[index] if config.names else run_config.estimator.name
        pieces = finished_pieces(Path(folder))
        if not pieces:
            raise ConfigError(f"{config.source}: the run {folder} has no finished piece")
        source = RunSource(name, folder, run_config, pieces)
        if source.objects > config.max_gathered_objects:
            raise ConfigError(f"{config.source}: the run {folder} has {source.objects:,} objects, more than "
                              f"'evaluate.max_gathered_objects' = {config.max_gathered_objects:,}")
        sources.append(source)
    names = [validation_report.objects_file_name(source.name) for source in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"{config.source}: two runs would have the same name in the report ({names}); "
                          "set 'evaluate.names'")
    return sources


def read_truth(source: RunSource, piece: RunPiece, config: EvaluateConfig) -> dict[str, np.ndarray]:
    """objectId, true redshift and the binning band's magnitude of the piece's input rows."""
    run_config = source.config
    band_input = replace(run_config.input, bands=[config.magnitude_band])
    columns = input_columns(band_input, run_config.cleaning) + [config.truth_column]
    with CatalogFile(piece.input_path, columns) as catalog:
        chunks = list(catalog.iter_rows(piece.row_start, piece.row_stop, config.chunk_rows))
    raw = {name: np.concatenate([chunk[name] for chunk in chunks]) for name in columns}
    cleaned = clean_chunk(raw, band_input, run_config.cleaning)
    return {"object_id": np.asarray(cleaned.ids, dtype=np.int64),
            "z_true": np.asarray(raw[config.truth_column], dtype=np.float64),
            "magnitude": np.asarray(cleaned.columns[magnitude_column(config.magnitude_band)], dtype=np.float64)}


def evaluate_piece(piece: RunPiece, truth: dict[str, np.ndarray], config: EvaluateConfig,
                   limits: tuple[float, float], stack: ExactSum) -> dict[str, np.ndarray]:
    """Every object's values for one piece; its stacked PDF is added to ``stack``."""
    with h5py.File(piece.file, "r") as handle:
        ids = handle["ancil/objectId"][()]
        if not np.array_equal(ids, truth["object_id"]):
            raise InputFileError(f"{piece.file}: its objectIds are not those of rows {piece.row_start}-"
                                 f"{piece.row_stop} of {piece.input_path}: the input changed since the run")
        xvals = np.asarray(handle["meta/xvals"][()], dtype=np.float64).ravel()
        z_point = np.asarray(handle[f"ancil/{config.point_estimate}"][()], dtype=np.float64)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in validation.PER_OBJECT}
        for start, stop in validation.chunk_bounds(ids.size, config.chunk_rows):
            values, stacked = validation.per_object_values(xvals, handle["data/yvals"][start:stop],
                                                           truth["z_true"][start:stop], limits)
            stack.add(stacked)
            for name in validation.PER_OBJECT:
                parts[name].append(values[name])
    found = {**truth, "z_point": z_point}
    found.update({name: np.concatenate(chunks) for name, chunks in parts.items()})
    return found


def run(config: EvaluateConfig, comm: mpi.Comm, command: str) -> int:
    """Collective: validate the runs; the root writes the report. Returns the exit status on every rank."""
    start = time.perf_counter()
    sources = mpi.broadcast_from_root(comm, lambda: open_runs(config))
    tasks = [(run_index, piece) for run_index, source in enumerate(sources) for piece in source.pieces]
    assignment = assign_pieces([piece.rows for _, piece in tasks], comm.Get_size())
    mine = [tasks[i] for i in assignment[comm.Get_rank()]]
    truths, failures = {}, []
    for run_index, piece in mine:
        try:
            truths[(run_index, piece.index)] = read_truth(sources[run_index], piece, config)
        except InputFileError as error:
            failures.append({"run": sources[run_index].folder, "piece": str(piece.file), "error": str(error)})
    limits = _brier_limits(comm, truths)
    stacks = [ExactSum((source.config.estimator.nzbins,)) for source in sources]
    results = []
    for run_index, piece in mine:
        key = (run_index, piece.index)
        if key not in truths:
            continue
        try:
            values = evaluate_piece(piece, truths.pop(key), config, limits, stacks[run_index])
        except InputFileError as error:
            failures.append({"run": sources[run_index].folder, "piece": str(piece.file), "error": str(error)})
            continue
        results.append((run_index, piece.index, values))
    gathered = mpi.gather_to_root(comm, (results, failures))
    merged = mpi.sum_to_root(comm, StackList(stacks))
    status = EXIT_OK
    if comm.Get_rank() == mpi.ROOT:
        assert gathered is not None and merged is not None
        every_failure = sorted((f for _, part in gathered for f in part), key=lambda f: (f["run"], f["piece"]))
        per_run = _objects_per_run(sources, [r for part, _ in gathered for r in part])
        document = validation_report.build(config, sources, per_run, [s.value() for s in merged.sums], limits,
                                           every_failure)
        json_path, html_path = validation_report.write(config, document)
        validation_report.write_objects(config, document, per_run)
        print(validation_report.summary_lines(document, html_path, time.perf_counter() - start), flush=True)
        status = EXIT_SOME_PIECES_FAILED if every_failure else EXIT_OK
        if config.release:
            _register_in_release(config, document, json_path, command)
    return mpi.broadcast(comm, status)


def _register_in_release(config: EvaluateConfig, document: dict[str, Any], report: Path, command: str) -> None:
    """The validation in its release's record: the runs, their sample sizes, the report's checksum."""
    release = Release.open(releases_root(config.releases or None), config.release)
    runs = [{"name": run["name"], "folder": run["folder"], "objects": run["objects"]} for run in document["runs"]]
    entry = {"folder": config.folder, "runs": runs, "report": str(report), "report_sha256": sha256_of_file(report),
             "config": config.text}
    release.log(command, {"validation": config.folder, "runs": {run["name"]: run["objects"] for run in runs}},
                section="validations", entry=entry, replacing="folder")


@dataclass
class StackList:
    """The runs' stacks, added run by run (what MPI's reduction adds)."""

    sums: list[ExactSum]

    def __add__(self, other: StackList) -> StackList:
        return StackList([a + b for a, b in zip(self.sums, other.sums)])


def _brier_limits(comm: mpi.Comm, truths: dict[Any, dict[str, np.ndarray]]) -> tuple[float, float]:
    """qp's Brier limits, widened to every true redshift of every run (a collective)."""
    finite = [t["z_true"][np.isfinite(t["z_true"])] for t in truths.values()]
    local = [(float(v.min()), float(v.max())) for v in finite if v.size]
    everything = [pair for part in mpi.all_gather(comm, local) for pair in part]
    if not everything:
        return validation.BRIER_LIMITS
    return validation.brier_limits(min(low for low, _ in everything), max(high for _, high in everything))


def _objects_per_run(sources: list[RunSource], results: list[tuple[int, int, dict[str, np.ndarray]]]
                     ) -> list[dict[str, np.ndarray]]:
    """Every run's per-object values, its pieces in plan order."""
    per_run = []
    for run_index in range(len(sources)):
        pieces = sorted(((piece_index, values) for index, piece_index, values in results if index == run_index),
                        key=lambda entry: entry[0])
        per_run.append({name: np.concatenate([values[name] for _, values in pieces]) if pieces else np.empty(0)
                        for name in OBJECT_COLUMNS})
    return per_run
