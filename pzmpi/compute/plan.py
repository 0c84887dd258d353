"""Planning: which rows of which file each rank processes, and where each result goes.

The root lists the input files; every rank reads the parquet footers of its
share of them (``read_footers``), and the root makes the plan from all the
footers (``plan_from_footers``), so that planning a run of many files costs
each rank only its share of the footer reads.  Files are cut into *pieces*
(whole row groups, at most ``max_rows_per_piece`` rows unless one row group
is larger); each piece becomes one output file.  The pieces depend only on
the inputs and that setting, never on the number of ranks, so outputs are
identical whatever the world size.  Pieces are then assigned to ranks by
longest-processing-time-first on their row counts, which balances rows per
rank without regard to how the files happen to be sized.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

import pyarrow.parquet as pq

from pzmpi.core.errors import ConfigError, InputFileError
from pzmpi.core.sharding import assign_pieces
from pzmpi.io.catalog import list_input_files


@dataclass(frozen=True)
class InputFile:
    path: str
    size_bytes: int
    row_group_rows: tuple[int, ...]


@dataclass(frozen=True)
class Piece:
    """A contiguous run of whole row groups of one file, written to one output file."""

    index: int
    path: str
    input_size: int
    row_group_start: int
    row_group_stop: int
    row_start: int
    row_stop: int
    output_name: str

    @property
    def num_rows(self) -> int:
        return self.row_stop - self.row_start


@dataclass(frozen=True)
class Plan:
    n_ranks: int
    pieces: list[Piece]
    assignment: list[list[int]]
    unreadable: dict[str, str] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(p.num_rows for p in self.pieces)

    def pieces_of(self, rank: int) -> list[Piece]:
        return [self.pieces[i] for i in self.assignment[rank]]

    def rows_of(self, rank: int) -> int:
        return sum(self.pieces[i].num_rows for i in self.assignment[rank])

    def to_json(self) -> str:
        document = {
            "n_ranks": self.n_ranks,
            "total_rows": self.total_rows,
            "rows_per_rank": [self.rows_of(r) for r in range(self.n_ranks)],
            "pieces": [asdict(p) for p in self.pieces],
            "assignment": self.assignment,
            "unreadable": self.unreadable,
        }
        return json.dumps(document, indent=1)


def read_footer(path: str) -> InputFile:
    """Row counts of a file and of each row group, from the parquet footer alone."""
    try:
        with pq.ParquetFile(path) as parquet:
            metadata = parquet.metadata
    except Exception as error:  # pyarrow raises several types for corrupt files
        raise InputFileError(f"{path}: unreadable parquet footer: {error}") from None
    rows = tuple(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups))
    return InputFile(path=path, size_bytes=os.path.getsize(path), row_group_rows=rows)


def split_into_pieces(files: list[InputFile], max_rows_per_piece: int) -> list[Piece]:
    """Cut files into pieces of whole row groups with at most ``max_rows_per_piece`` rows each.

    A file that fits is a single piece named after the file; larger files are
    cut greedily, each piece named with its row range.  Empty files give no piece.
    """
    common = os.path.commonpath([os.path.dirname(f.path) for f in files]) if files else ""
    pieces: list[Piece] = []
    for file in files:
        stem = os.path.relpath(file.path, common).removesuffix(".parquet").replace(os.sep, "__")
        ranges = _row_group_ranges(file.row_group_rows, max_rows_per_piece)
        offsets = [0]
        for n in file.row_group_rows:
            offsets.append(offsets[-1] + n)
        for start, stop in ranges:
            row_start, row_stop = offsets[start], offsets[stop]
            if row_stop == row_start:
                continue
            name = f"{stem}.hdf5" if len(ranges) == 1 else f"{stem}.rows{row_start}-{row_stop}.hdf5"
            pieces.append(Piece(len(pieces), file.path, file.size_bytes, start, stop, row_start, row_stop, name))
    return pieces


def _row_group_ranges(row_group_rows: tuple[int, ...], limit: int) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    start, rows = 0, 0
    for i, n in enumerate(row_group_rows):
        if rows and rows + n > limit:
            ranges.append((start, i))
            start, rows = i, 0
        rows += n
    ranges.append((start, len(row_group_rows)))
    return ranges


def read_footers(paths: list[str], recorded: dict[str, tuple[int, list[int]]] | None = None
                 ) -> tuple[list[InputFile | str], int]:
    """Each file's footer, or the error that names why it cannot be read; and how many footers were read.

    A file in ``recorded`` (path -> size and rows per row group, as a release record
    keeps a skinny table's files) that still has its recorded size is not opened.
    """
    recorded = recorded or {}
    footers: list[InputFile | str] = []
    read = 0
    for path in paths:
        known = recorded.get(path)
        if known is not None and os.path.isfile(path) and os.path.getsize(path) == known[0]:
            footers.append(InputFile(path=path, size_bytes=known[0], row_group_rows=tuple(known[1])))
            continue
        read += 1
        try:
            footers.append(read_footer(path))
        except InputFileError as error:
            footers.append(str(error))
    return footers, read


def shares_of(paths: list[str], n_ranks: int) -> list[list[str]]:
    """The files whose footers each rank reads: every ``n_ranks``-th, so that a folder's files spread out."""
    return [paths[rank::n_ranks] for rank in range(n_ranks)]


def in_listed_order(shares: list[list[InputFile | str]]) -> list[InputFile | str]:
    """The footers read by ``shares_of``'s shares, back in the order the files were listed."""
    merged: list[InputFile | str] = []
    for position in range(max((len(share) for share in shares), default=0)):
        merged += [share[position] for share in shares if position < len(share)]
    return merged


def plan_from_footers(paths: list[str], footers: list[InputFile | str], n_ranks: int,
                      max_rows_per_piece: int) -> Plan:
    """Cut the readable files into pieces and assign them; unreadable files are set aside with their error."""
    files = [footer for footer in footers if isinstance(footer, InputFile)]
    unreadable = {path: footer for path, footer in zip(paths, footers) if isinstance(footer, str)}
    pieces = split_into_pieces(files, max_rows_per_piece)
    names: dict[str, str] = {}
    for piece in pieces:
        other = names.setdefault(piece.output_name, piece.path)
        if other != piece.path:
            raise ConfigError(f"'input.paths': {other} and {piece.path} would both write {piece.output_name}; "
                              "rename one of them")
    assignment = assign_pieces([p.num_rows for p in pieces], n_ranks)
    return Plan(n_ranks=n_ranks, pieces=pieces, assignment=assignment, unreadable=unreadable)


def make_plan(specs: list[str], n_ranks: int, max_rows_per_piece: int) -> Plan:
    """The plan of one process that reads every footer itself (the reference the distributed plan equals)."""
    paths = list_input_files(specs)
    return plan_from_footers(paths, read_footers(paths)[0], n_ranks, max_rows_per_piece)
