"""Skinny planning: which input rows make each output file, from the release record alone (no file opened).

Each input file is cut into row ranges of at most ``output.max_rows_per_file``
rows, where row groups meet when they can; each range is one output file,
named after the input and the range, so that the outputs do not depend on the
number of ranks. A file's ranges stay together on as few ranks as possible and
are read in one pass.
"""

from __future__ import annotations

import bisect
import itertools
import os
from dataclasses import dataclass
from typing import Any

from pzmpi.core.errors import ConfigError
from pzmpi.core.release import Release


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


def adjacent_runs(pieces: list[SkinnyPiece]) -> list[list[SkinnyPiece]]:
    """Split pieces into runs where each piece of a file starts at the row where the previous one stops."""
    runs: list[list[SkinnyPiece]] = []
    for piece in pieces:
        if runs and runs[-1][-1].path == piece.path and runs[-1][-1].row_stop == piece.row_start:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    return runs
