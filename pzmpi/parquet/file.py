"""``ColumnFile``: a few flat numeric columns of one parquet file, decoded by pzmpi's compiled kernels.

Reads only the wanted columns' chunks, one row group at a time, and decodes
them page by page (``pzmpi.parquet.chunk``), so memory holds one row group's
wanted chunks and a page per column. Values come back as numpy arrays:
floating columns with nulls as NaN, boolean columns with nulls as False. A
null in an integer column is not decided here: the chunk is reported
Malformed and Arrow, the reader of reference, reads it (and says whether the
rows asked for hold a null).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from pzmpi.errors import InputFileError
from pzmpi.parquet import chunk, pages, thrift
from pzmpi.parquet.footer import (BOOLEAN, CODEC, COMPRESSED_SIZE, DATA_PAGE_OFFSET, DICTIONARY_PAGE_OFFSET,
                                  NUM_VALUES, Layout, Unsupported, read_layout)

# the codecs whose pages the compiled code decompresses: none and snappy (Rubin's). Other files go to Arrow:
# pyarrow.decompress cannot tell a page that decompresses short, which Arrow's own reader refuses.
CODECS = {0: False, 1: True}  # parquet's codec number -> snappy


@dataclass
class WorkArrays:
    """Work space the cursors of one file share: page headers, the thrift stack, decompressed pages, levels."""

    header: np.ndarray = field(default_factory=lambda: np.empty(pages.HEADER_FIELDS, dtype=np.int64))
    stack: np.ndarray = field(default_factory=thrift.new_stack)
    page: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint8))
    levels: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint8))


class Malformed(Exception):
    """A column chunk's bytes do not decode as its footer and page headers say."""


def kind_of(dtype: np.dtype) -> str:
    """'boolean', 'integer' or 'floating': what a column holds, as the readers' users check it."""
    return {"b": "boolean", "i": "integer", "f": "floating"}[dtype.kind]


class ColumnFile:
    """The wanted columns of one parquet file.

    Raises Unsupported when the file is outside what the kernels decode (Arrow
    then reads it) and InputFileError when it cannot be opened. Columns the file
    lacks are listed in ``missing``; reading rows then fails.
    """

    def __init__(self, path: str, columns: list[str]) -> None:
        self.path = path
        self.columns = list(dict.fromkeys(columns))  # a name asked for twice is read once
        self.work = WorkArrays()
        try:
            self._fd = os.open(path, os.O_RDONLY)
        except OSError as error:
            raise InputFileError(f"{path}: cannot open: {error}") from None
        try:
            self._size = os.fstat(self._fd).st_size
            self.layout: Layout = read_layout(self._fd, self._size, self.columns)
            present = [j for j, name in enumerate(self.columns) if name not in self.layout.missing]
            codecs = set(self.layout.chunks[:, present, CODEC].ravel().tolist())
            if not codecs <= CODECS.keys():
                raise Unsupported(f"compression codec(s) {sorted(codecs - CODECS.keys())}: Arrow reads them")
        except BaseException:
            self.close()
            raise

    @property
    def num_rows(self) -> int:
        return self.layout.num_rows

    @property
    def row_groups(self) -> tuple[int, ...]:
        return tuple(int(r) for r in self.layout.row_group_rows)

    @property
    def missing(self) -> list[str]:
        return list(self.layout.missing)

    @property
    def kinds(self) -> dict[str, str]:
        """What each present column holds."""
        return {name: kind_of(self.layout.dtype(j)) for j, name in enumerate(self.columns)
                if name not in self.layout.missing}

    def close(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ColumnFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def iter_rows(self, row_start: int, row_stop: int, rows_per_chunk: int) -> Iterator[dict[str, np.ndarray]]:
        """Rows ``[row_start, row_stop)`` in chunks of at most ``rows_per_chunk`` rows, none spanning row groups.

        Raises Malformed when a chunk does not decode; the rows yielded before it are right.
        """
        if self.layout.missing:
            raise Malformed(f"no column(s) {', '.join(self.layout.missing)}")
        first = 0
        for group, rows in enumerate(self.row_groups):
            begin, end = max(row_start - first, 0), min(row_stop - first, rows)
            first += rows
            if begin >= end:
                continue
            cursors = [self._cursor(group, j) for j in range(len(self.columns))]
            for cursor in cursors:
                cursor.skip(begin)
            while begin < end:
                count = min(rows_per_chunk, end - begin)
                yield {name: cursor.take(count) for name, cursor in zip(self.columns, cursors)}
                begin += count

    def _cursor(self, group: int, column: int) -> _ColumnCursor:
        fields = self.layout.chunks[group, column]
        return _ColumnCursor(self, group, column, CODECS[int(fields[CODEC])], int(fields[NUM_VALUES]))

    def read_chunk(self, group: int, column: int) -> bytes:
        """The bytes of a column chunk: from its dictionary page, if any, to its last data page."""
        fields = self.layout.chunks[group, column]
        start = int(fields[DATA_PAGE_OFFSET])
        dictionary = int(fields[DICTIONARY_PAGE_OFFSET])
        if 0 < dictionary < start:
            start = dictionary
        length = int(fields[COMPRESSED_SIZE])
        where = f"column {self.columns[column]}, row group {group}"
        if start < 0 or length < 0 or length > self._size - start:
            raise Malformed(f"{where}: its chunk lies outside the file")
        data = os.pread(self._fd, length, start)
        if len(data) != length:
            raise Malformed(f"{where}: {len(data)} of its {length} bytes could be read")
        return data


class _ColumnCursor:
    """One column chunk, decoded by ``chunk.advance`` (one compiled call per run of rows) into the runs asked for.

    The chunk's bytes are read when first needed, so that they are still in
    the CPU's cache when decompressed and decoded, one column after another.
    """

    def __init__(self, file: ColumnFile, group: int, column: int, snappy_pages: bool, num_values: int) -> None:
        self.file = file
        self.group = group
        self.column = column
        self.snappy_pages = snappy_pages
        self.is_boolean = file.layout.physical_types[column] == BOOLEAN
        self.dtype = file.layout.dtype(column)
        self.null = np.nan if self.dtype.kind == "f" else 0
        self.optional = file.layout.optional[column]
        self.state = chunk.new_state(num_values)
        self.buf: np.ndarray | None = None  # read when first needed
        self.dictionary = self.pending = self.values = np.empty(0, dtype=self.dtype)

    def skip(self, count: int) -> None:
        """Pass over ``count`` rows; whole data pages before them are not decompressed."""
        self._advance(np.empty(0, dtype=self.dtype), count)

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` rows' values, in a new array."""
        out = np.empty(count, dtype=self.dtype)
        self._advance(out, count)
        return out

    def _advance(self, out: np.ndarray, count: int) -> None:
        if count <= 0:
            return
        if self.buf is None:
            self.buf = np.frombuffer(self.file.read_chunk(self.group, self.column), dtype=np.uint8)
        work = self.file.work
        status, nulls, self.dictionary, self.pending, work.page, work.levels, self.values = chunk.advance(
            self.buf, self.state, self.snappy_pages, self.is_boolean, self.optional, self.null, work.header,
            work.stack, self.dictionary, self.pending, work.page, work.levels, self.values, out, count)
        where = f"column {self.file.columns[self.column]}, row group {self.group}"
        if status != chunk.OK:
            raise Malformed(f"{where}: the page before byte {self.state[chunk.POSITION]} of the chunk does not decode")
        if nulls and self.dtype.kind == "i":
            raise Malformed(f"{where}: an integer column with nulls")
