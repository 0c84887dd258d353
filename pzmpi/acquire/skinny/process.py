"""Making a rank's skinny files: read each input once, convert chunk by chunk, write each file atomically.

A finished file (same result key, same input) is kept on a re-run. A bad
input costs only the files it spoils: its error names the file and the
column, and the rest is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pzmpi.acquire.skinny.config import SkinnyConfig
from pzmpi.acquire.skinny.convert import check_schema, convert_chunk
from pzmpi.acquire.skinny.output import (encode_table, finished_metadata, new_outputs, row_group_layout,
                                         write_table_file)
from pzmpi.acquire.skinny.slicing import SkinnyPiece, adjacent_runs
from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.errors import InputFileError
from pzmpi.io.catalog import CatalogFile, Chunk, chunk_rows, slice_chunk
from pzmpi.photometry.dust import DustMap


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
    size: int = 0
    row_groups: tuple[int, ...] = ()


def process_pieces(pieces: list[SkinnyPiece], config: SkinnyConfig, dust: DustMap | None, result_key: str,
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


def _stream_pieces(catalog: CatalogFile, run: list[SkinnyPiece], config: SkinnyConfig, dust: DustMap | None,
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
    size, row_groups = row_group_layout(final)
    return PieceOutcome(piece.output_name, piece.input_name, rows=recorded["rows"], sha256=sha256_of_file(final),
                        skipped=True, nondetections=recorded["nondetections"], bad_ebv=recorded["bad_ebv"],
                        size=size, row_groups=row_groups)


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


def _write_piece(piece: SkinnyPiece, chunks: list[Chunk], config: SkinnyConfig, dust: DustMap | None,
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
    content = encode_table({name: values[:rows] for name, values in out.items()}, config.bands,
                           config.row_group_rows, config.compression, recorded)
    outcome.sha256 = write_table_file(Path(config.folder) / piece.output_name, content)
    outcome.rows = rows
    outcome.size, outcome.row_groups = row_group_layout(content)
    return outcome
