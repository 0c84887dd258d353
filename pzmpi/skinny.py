"""``pzmpi skinny``: a release's Object catalog reduced to the columns photo-z codes read.

Each output file holds ``objectId`` (int64), ``coord_ra``, ``coord_dec`` (float64,
degrees), then ``mag_{band}`` and ``magerr_{band}`` (float32, AB) for every band
(docs/skinny.md).  The data flow:

* plan (rank 0, from the release record's row counts and sizes, no file opened):
  each input file is cut into row ranges of at most ``output.max_rows_per_file``
  rows; each range is one output file, named after the input and the range, so
  the outputs do not depend on the number of ranks; the ranges, in order, are cut
  into one consecutive run per rank of about equal rows, so that a file's ranges
  stay together. A file that changed since ``pzmpi release init`` fails with a clear error;
* convert (each rank, chunk by chunk, reading only the needed columns, adjacent
  ranges of a file in one pass): the
  primary cut, E(B-V) from a column or a HEALPix map, then ``cleaning``'s numba
  kernel ``flux_to_magnitude`` (the engine's non-detection policy), optional rounding;
* write: one parquet file per range, under a temporary name, flushed and renamed when complete,
  whose metadata records the result key and the input's identity, so that a
  re-run skips it; a bad input costs only its own files (exit status 3);
* finish (rank 0): ``manifest.json`` and ``sha256sums.txt`` of the outputs, and the
  release record's ``skinny_tables`` entry.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi import mpi
from pzmpi.checksum import sha256_of_buffers, sha256_of_file
from pzmpi.cleaning import flux_to_magnitude
from pzmpi.dustmap import HealpixMap, load_map
from pzmpi.errors import ConfigError, InputFileError
from pzmpi.parquet.encode import ColumnSpec, encode_file
from pzmpi.parquet.pages import BYTE_STREAM_SPLIT, DELTA_BINARY_PACKED, PLAIN
from pzmpi.plan import assign_in_order
from pzmpi.progress import ProgressReporter
from pzmpi.reader import CatalogFile, Chunk, chunk_rows, slice_chunk
from pzmpi.release import Release
from pzmpi.runtime import settle_process
from pzmpi.skinny_config import SkinnyConfig
from pzmpi.writer import TEMP_SUFFIX, write_parts_atomically, write_text_atomically

EXIT_OK = 0
EXIT_SOME_INPUTS_FAILED = 3  # as 'pzmpi run'
METADATA_KEY = b"pzmpi.skinny"
CREATED_BY = "pzmpi skinny (pzmpi.parquet.encode)"
MANIFEST = "manifest.json"
SHA256SUMS = "sha256sums.txt"
CONFIG_COPY = "config.toml"


def mag_column(band: str) -> str:
    return f"mag_{band}"


def magerr_column(band: str) -> str:
    return f"magerr_{band}"


# Row-group min/max only where a reader can use them to skip row groups: id lookups and sky cuts.
# Magnitude ranges span nearly everything in every row group, so computing them buys nothing.
STATISTICS_COLUMNS = ("objectId", "coord_ra", "coord_dec")


def output_columns(bands: list[str]) -> list[tuple[ColumnSpec, np.dtype]]:
    """Identity and position, then all magnitudes, then all errors (pz-compute's column order), with their types.

    No column may be null (a null flux is a non-detection, a null position
    NaN), so every column is required: no definition levels are stored.
    Magnitudes and errors are stored byte-stream-split (each float's bytes in
    four streams, the exponents together): smaller once compressed, and much
    cheaper for snappy when they are rounded; ids as differences
    (DELTA_BINARY_PACKED), a few bits a row for sorted ids (bench/skinny_writer.py).
    """
    columns = [(ColumnSpec(name, encoding, statistics=name in STATISTICS_COLUMNS), np.dtype(kind))
               for name, encoding, kind in (("objectId", DELTA_BINARY_PACKED, np.int64),
                                            ("coord_ra", PLAIN, np.float64), ("coord_dec", PLAIN, np.float64))]
    columns += [(ColumnSpec(mag_column(b), BYTE_STREAM_SPLIT), np.dtype(np.float32)) for b in bands]
    columns += [(ColumnSpec(magerr_column(b), BYTE_STREAM_SPLIT), np.dtype(np.float32)) for b in bands]
    return columns


def encode_skinny(columns: dict[str, np.ndarray], config: SkinnyConfig, recorded: dict[str, Any]) -> list:
    """The bytes of one skinny output file, as buffers to hash and write in order."""
    specs = [(spec, columns[spec.name]) for spec, _ in output_columns(config.bands)]
    return encode_file(specs, config.row_group_rows, config.compression,
                       {METADATA_KEY.decode(): json.dumps(recorded, sort_keys=True)}, CREATED_BY)


@dataclass(frozen=True)
class SkinnyPiece:
    """Input rows ``[row_start, row_stop)`` of one catalog file, written to one output file."""

    input_name: str
    path: str
    input_size: int
    input_rows: int
    row_start: int
    row_stop: int
    output_name: str

    @property
    def num_rows(self) -> int:
        return self.row_stop - self.row_start

    def identity(self, result_key: str) -> dict[str, Any]:
        """What a finished output must record to be skipped by a re-run."""
        return {"result_key": result_key, "input_name": self.input_name, "input_size": self.input_size,
                "row_start": self.row_start, "row_stop": self.row_stop}


@dataclass(frozen=True)
class InputFooter:
    """A catalog file as the release record describes it; ``row_groups`` empty when the record predates them."""

    name: str
    path: str
    size: int
    rows: int
    row_groups: tuple[int, ...] = ()


def slice_rows(row_groups: tuple[int, ...], max_rows: int) -> list[tuple[int, int]]:
    """The fewest row ranges of at most ``max_rows`` rows covering the file, cut where row groups meet if they can.

    There are ``ceil(rows / max_rows)`` ranges, as when cutting every ``max_rows``
    rows. Each cut goes to the furthest row-group boundary that still lets every
    range hold at most ``max_rows`` rows, so that two ranges (possibly on two ranks)
    do not both decode a row group; where there is none, the cut falls ``max_rows``
    rows after the previous one. A file of one row group (or whose row groups the
    record does not give) is thus cut every ``max_rows`` rows.
    """
    total = sum(row_groups)
    if total == 0:
        return []
    count = -(-total // max_rows)
    boundaries = sorted(set(itertools.accumulate(row_groups)))
    cuts = [0]
    for k in range(1, count):
        lowest = total - (count - k) * max_rows  # the ranges after this cut must hold the rest
        highest = cuts[-1] + max_rows
        candidates = boundaries[bisect.bisect_left(boundaries, max(lowest, cuts[-1] + 1)):
                                bisect.bisect_right(boundaries, highest)]
        cuts.append(candidates[-1] if candidates else highest)
    cuts.append(total)
    return list(zip(cuts, cuts[1:]))


def split_inputs(inputs: list[InputFooter], max_rows: int) -> list[SkinnyPiece]:
    """Cut each input into ranges of at most ``max_rows`` rows (``slice_rows``); a file that fits is one piece.

    ``name`` is the input's path inside the catalog: its folders become ``__`` in the output name, and
    a range's output is named after the input and the range. Empty inputs give no piece. Two inputs
    that would write the same output name are a ConfigError.
    """
    pieces: list[SkinnyPiece] = []
    owners: dict[str, str] = {}
    for item in sorted(inputs, key=lambda i: i.name):
        stem = item.name.removesuffix(".parquet").replace("/", "__").replace(os.sep, "__")
        ranges = slice_rows(item.row_groups or (item.rows,), max_rows)
        for start, stop in ranges:
            name = f"{stem}.parquet" if len(ranges) == 1 else f"{stem}.rows{start}-{stop}.parquet"
            other = owners.setdefault(name, item.name)
            if other != item.name:
                raise ConfigError(f"catalog files {other} and {item.name} would both write {name}; rename one")
            pieces.append(SkinnyPiece(item.name, item.path, item.size, item.rows, start, stop, name))
    return pieces


def release_inputs(release: Release) -> tuple[list[InputFooter], dict[str, str]]:
    """The catalog files with the size, row count and row groups recorded at ``pzmpi release init``.

    A file whose footer was unreadable then comes back as name -> error, to be reported.
    Row groups that do not add up to the row count (a record edited by hand) are ignored.
    """
    footers, unreadable = [], {}
    for entry, path in zip(release.files, release.catalog_paths()):
        if entry.get("rows") is None:
            unreadable[entry["name"]] = (f"{path}: unreadable when the release was registered "
                                         f"({entry.get('error', 'no row count')})")
            continue
        rows = int(entry["rows"])
        row_groups = tuple(int(r) for r in entry.get("row_groups") or ())
        footers.append(InputFooter(entry["name"], str(path), int(entry["size"]), rows,
                                   row_groups if sum(row_groups) == rows else ()))
    return footers, unreadable


def check_schema(path: str, kinds: dict[str, str], config: SkinnyConfig) -> None:
    """Every needed column of a usable type (``CatalogFile.kinds``); the error names the file and the columns."""
    problems = []
    id_column, primary = config.columns["id_column"], config.columns["primary_column"]
    for name in config.input_columns():
        kind = kinds[name]
        if name == id_column:
            ok, expected = kind == "integer", "an integer"
        elif name == primary:
            ok, expected = kind == "boolean", "a boolean"
        else:
            ok, expected = kind in ("floating", "integer"), "a number"
        if not ok:
            problems.append(f"column {name} has type {kind}, expected {expected}")
    if problems:
        raise InputFileError(f"{path}: {'; '.join(problems)}")


@dataclass
class Converted:
    """A chunk's skinny columns and its data-quality counts."""

    columns: dict[str, np.ndarray]
    rows_read: int
    nondetections: dict[str, int]
    bad_ebv: int


def convert_chunk(chunk: Chunk, config: SkinnyConfig, dust: HealpixMap | None,
                  out: dict[str, np.ndarray] | None = None, at: int = 0) -> Converted:
    """Primary cut, E(B-V), magnitudes and errors of one chunk, by the policy of docs/skinny.md.

    The results go to rows ``at...`` of ``out`` (``new_outputs``), or to new
    arrays when ``out`` is None. The primary cut is not applied to the input
    columns: the kernel converts only the selected rows, and ids and positions
    are gathered.
    """
    rows_read = chunk_rows(chunk)
    primary = config.columns["primary_column"]
    rows = np.flatnonzero(chunk[primary]) if primary else np.empty(0, dtype=np.int64)
    n = rows.size if primary else rows_read
    if out is None:
        out, at = new_outputs(config.bands, n), 0
    ra = np.asarray(chunk[config.columns["ra_column"]], dtype=np.float64)
    dec = np.asarray(chunk[config.columns["dec_column"]], dtype=np.float64)
    ebv = np.empty(0)
    bad_ebv = 0
    if config.ebv_method != "none":  # per input row, as the kernel reads it
        ebv = np.asarray(chunk[config.ebv_column], dtype=np.float64) if config.ebv_method == "column" \
            else dust.lookup(ra, dec)
        usable = np.isfinite(ebv)
        bad_ebv = n - int(np.count_nonzero(usable[rows] if primary else usable))
        if bad_ebv:  # left uncorrected, and counted
            ebv = np.where(usable, ebv, 0.0)
    ids = chunk[config.columns["id_column"]]
    for name, values in (("objectId", ids), ("coord_ra", ra), ("coord_dec", dec)):
        if primary:
            np.take(values, rows, out=out[name][at:at + n])
        else:
            out[name][at:at + n] = values
    nondetections: dict[str, int] = {}
    scale = float(10 ** config.decimals) if config.decimals >= 0 else 0.0
    for band, flux_name, error_name in zip(config.bands, config.flux_columns(), config.flux_error_columns()):
        a_band = config.extinction[band] if config.ebv_method != "none" else 0.0
        nondetections[band] = int(flux_to_magnitude(_numbers(chunk[flux_name]), _numbers(chunk[error_name]), ebv,
                                                    a_band, config.nondetect_val, config.mag_limits[band],
                                                    out[mag_column(band)][at:at + n],
                                                    out[magerr_column(band)][at:at + n], rows, scale))
    return Converted({name: values[at:at + n] for name, values in out.items()}, rows_read, nondetections, bad_ebv)


def new_outputs(bands: list[str], rows: int) -> dict[str, np.ndarray]:
    """Room for ``rows`` rows of every skinny column."""
    return {spec.name: np.empty(rows, dtype=dtype) for spec, dtype in output_columns(bands)}


def _numbers(values: np.ndarray) -> np.ndarray:
    """A flux column as the kernel reads it: float32 or float64 kept as stored, integers as float64."""
    return values if values.dtype in (np.float32, np.float64) else values.astype(np.float64)


@dataclass
class PieceOutcome:
    """What became of one piece: a file (written or kept), or a failure."""

    output_name: str
    input_name: str
    rows: int = 0
    sha256: str = ""
    skipped: bool = False
    error: str = ""
    nondetections: dict[str, int] = field(default_factory=dict)
    bad_ebv: int = 0


def finished_metadata(path: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The skinny metadata of ``path`` when it is a finished output matching ``identity``, else None."""
    if not path.is_file():
        return None
    try:
        metadata = pq.read_schema(path).metadata or {}
        recorded = json.loads(metadata[METADATA_KEY])
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None
    return recorded if all(recorded.get(k) == v for k, v in identity.items()) else None


def process_pieces(pieces: list[SkinnyPiece], config: SkinnyConfig, dust: HealpixMap | None, result_key: str,
                   settings: dict[str, Any]) -> Iterator[tuple[SkinnyPiece, PieceOutcome]]:
    """Convert and write pieces given in plan order, yielding each one's outcome as it is done.

    Adjacent pieces of one file are read in a single pass: the footer is parsed
    once and no row group is decoded twice. A finished output is kept when
    resuming. A bad input fails only the pieces it spoils: reading starts again
    after a piece that failed.
    """
    todo = []
    for piece in pieces:
        kept = _finished_outcome(piece, config, result_key)
        if kept is None:
            todo.append(piece)
        else:
            yield piece, kept
    for run in adjacent_runs(todo):
        try:
            catalog = _open_input(run[0], config)
        except InputFileError as error:  # the file itself is unusable: every piece of it fails with that
            for piece in run:
                yield piece, _failed_outcome(piece, config, error)
            continue
        with catalog:
            yield from _stream_pieces(catalog, run, config, dust, result_key, settings)


def _stream_pieces(catalog: CatalogFile, run: list[SkinnyPiece], config: SkinnyConfig, dust: HealpixMap | None,
                   result_key: str, settings: dict[str, Any]) -> Iterator[tuple[SkinnyPiece, PieceOutcome]]:
    """Convert and write adjacent pieces of one open file in one pass; a read error fails only the piece it spoils.

    A chunk can span pieces, so after an error the piece being made is read
    again by itself: it fails only if its own rows are bad. The pass then
    resumes at the next piece.
    """
    alone = False
    while run:
        segment = run[:1] if alone else run
        done = 0
        try:
            chunks = catalog.iter_rows(segment[0].row_start, segment[-1].row_stop, config.rows_per_chunk)
            for piece, group in zip(segment, regroup_rows(chunks, [p.num_rows for p in segment])):
                outcome = _write_piece(piece, group, config, dust, result_key, settings)
                done += 1
                yield piece, outcome
            alone = False
        except InputFileError as error:
            if len(segment) > 1:
                alone = True
            else:
                yield segment[0], _failed_outcome(segment[0], config, error)
                done, alone = 1, False
        run = run[done:]


def adjacent_runs(pieces: list[SkinnyPiece]) -> list[list[SkinnyPiece]]:
    """Split pieces into runs where each piece of a file starts at the row where the previous one stops."""
    runs: list[list[SkinnyPiece]] = []
    for piece in pieces:
        if runs and runs[-1][-1].path == piece.path and runs[-1][-1].row_stop == piece.row_start:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    return runs


def regroup_rows(chunks: Iterator[Chunk], sizes: list[int]) -> Iterator[list[Chunk]]:
    """Cut a stream of chunks into consecutive groups of exactly ``sizes[i]`` rows, lazily.

    The stream must hold at least ``sum(sizes)`` rows (``CatalogFile.iter_rows``
    raises when a file holds fewer); a group is yielded as soon as its last row is read.
    """
    pending: Chunk | None = None
    for size in sizes:
        group: list[Chunk] = []
        needed = size
        while needed > 0:
            chunk = pending if pending is not None else next(chunks)
            pending = None
            rows = chunk_rows(chunk)
            if rows > needed:
                chunk, pending = slice_chunk(chunk, 0, needed), slice_chunk(chunk, needed, rows)
            group.append(chunk)
            needed -= chunk_rows(chunk)
        yield group


def _finished_outcome(piece: SkinnyPiece, config: SkinnyConfig, result_key: str) -> PieceOutcome | None:
    """The outcome of a finished output a re-run keeps, or None when the piece is to be made."""
    final = Path(config.folder) / piece.output_name
    recorded = finished_metadata(final, piece.identity(result_key)) if config.resume else None
    if recorded is None:
        return None
    return PieceOutcome(piece.output_name, piece.input_name, rows=recorded["rows"], sha256=sha256_of_file(final),
                        skipped=True, nondetections=recorded["nondetections"], bad_ebv=recorded["bad_ebv"])


def _failed_outcome(piece: SkinnyPiece, config: SkinnyConfig, error: InputFileError) -> PieceOutcome:
    """A piece whose input is bad: its error, with the file named, and no output file left under its name."""
    (Path(config.folder) / piece.output_name).unlink(missing_ok=True)  # an older output no longer matches
    message = str(error)
    return PieceOutcome(piece.output_name, piece.input_name,
                        error=message if piece.path in message else f"{piece.path}: {message}")


def _open_input(piece: SkinnyPiece, config: SkinnyConfig) -> CatalogFile:
    """The piece's catalog file, opened, once it is known to be the file registered, with the columns needed."""
    catalog = CatalogFile(piece.path, config.input_columns())
    try:
        size = os.path.getsize(piece.path)
        if (size, catalog.num_rows) != (piece.input_size, piece.input_rows):
            raise InputFileError(f"{piece.path}: {size} bytes and {catalog.num_rows} rows, where the release record "
                                 f"has {piece.input_size} bytes and {piece.input_rows} rows: the file changed since "
                                 "'pzmpi release init'")
        catalog.check_columns()
        check_schema(piece.path, catalog.kinds, config)
    except BaseException:
        catalog.close()
        raise
    return catalog


def _write_piece(piece: SkinnyPiece, chunks: list[Chunk], config: SkinnyConfig, dust: HealpixMap | None,
                 result_key: str, settings: dict[str, Any]) -> PieceOutcome:
    """Convert one piece's input rows and write its output file atomically, with its checksum."""
    outcome = PieceOutcome(piece.output_name, piece.input_name, nondetections={band: 0 for band in config.bands})
    out = new_outputs(config.bands, piece.num_rows)  # at most one output row per input row
    rows = 0
    for chunk in chunks:
        converted = convert_chunk(chunk, config, dust, out, rows)
        rows += len(converted.columns["objectId"])
        outcome.bad_ebv += converted.bad_ebv
        for band, count in converted.nondetections.items():
            outcome.nondetections[band] += count
    recorded = {**piece.identity(result_key), "rows": rows, "nondetections": outcome.nondetections,
                "bad_ebv": outcome.bad_ebv, "settings": settings}
    parts = encode_skinny({name: values[:rows] for name, values in out.items()}, config, recorded)
    outcome.sha256 = sha256_of_buffers(parts)  # of exactly the bytes written
    write_parts_atomically(Path(config.folder) / piece.output_name, parts)
    outcome.rows = rows
    return outcome


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
        if old.name not in planned and _is_skinny_output(old):
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


def _is_skinny_output(path: Path) -> bool:
    try:
        return METADATA_KEY in (pq.read_schema(path).metadata or {})
    except (OSError, pa.ArrowException):
        return False


def _finish_on_root(config: SkinnyConfig, release: Release, plan: SkinnyPlan, outcomes: list[PieceOutcome],
                    wall: float, size: int, command: str) -> int:
    """Manifest, release record and report; the exit status."""
    folder = Path(config.folder)
    written = [o for o in outcomes if not o.error]
    failures = [{"input": o.input_name, "output": o.output_name, "error": o.error} for o in outcomes if o.error]
    failures += [{"input": name, "output": "", "error": error} for name, error in sorted(plan.unreadable.items())]
    files = [{"name": o.output_name, "rows": o.rows, "sha256": o.sha256} for o in written]
    rows = sum(o.rows for o in written)
    nondetections = {band: sum(o.nondetections.get(band, 0) for o in written) for band in config.bands}
    manifest = {"result_key": plan.result_key, "settings": plan.settings, "files": files, "rows": rows,
                "failures": failures}
    write_text_atomically(folder / MANIFEST, json.dumps(manifest, indent=1))
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
