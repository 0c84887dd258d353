"""Reading: stream a row range of a parquet file, only the needed columns, chunk by chunk.

``CatalogFile`` is the one reader, shared by ``pzmpi run`` (pieces of whole
row groups, ``iter_chunks``) and ``pzmpi skinny`` (any row range). It decodes
with pzmpi's compiled reader (``pzmpi.parquet``) when every needed column is a
flat boolean, integer or floating column, and with Arrow otherwise; a chunk
the compiled reader cannot decode (a damaged page, a null in an integer
column, anything unexpected) is read again by Arrow, from that row on, so that
Arrow is the judge of every file the compiled reader does not take whole.
Both give the same arrays: floating columns with nulls as NaN, boolean
columns with nulls as False, and an error naming the file and the column for
an integer column with nulls or a column of any other type.

Memory per rank is bounded by a row group's needed columns plus a chunk of
``rows_per_chunk`` rows, never by the file size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.errors import InputFileError
from pzmpi.parquet.file import ColumnFile
from pzmpi.plan import Piece

Chunk = dict[str, np.ndarray]  # column name -> values, all of one length


def chunk_rows(chunk: Chunk) -> int:
    return len(next(iter(chunk.values())))


def slice_chunk(chunk: Chunk, start: int, stop: int) -> Chunk:
    return {name: values[start:stop] for name, values in chunk.items()}


def check_columns(path: str, available: Iterable[str], columns: list[str]) -> None:
    """Fail with the file and every missing column named, before any row is read."""
    names = set(available)
    missing = [c for c in columns if c not in names]
    if missing:
        raise InputFileError(f"{path}: missing column(s) {', '.join(missing)}")


class CatalogFile:
    """The needed columns of one parquet catalog file, open for reading row ranges.

    Raises InputFileError, naming the file, when it cannot be opened; columns
    it lacks have no entry in ``kinds`` (``check_columns`` raises for them).
    """

    def __init__(self, path: str, columns: list[str]) -> None:
        self.path = path
        self.columns = list(dict.fromkeys(columns))  # a name asked for twice is read once
        self._arrow: pq.ParquetFile | None = None
        self._arrow_kinds: dict[str, str] = {}
        self._compiled: ColumnFile | None = None
        try:
            self._compiled = ColumnFile(path, self.columns)
        except InputFileError:
            raise
        except Exception:  # Unsupported, or anything else the compiled reader trips on: Arrow judges the file
            self._open_arrow()

    @property
    def num_rows(self) -> int:
        return self._compiled.num_rows if self._compiled else self._arrow.metadata.num_rows

    @property
    def row_groups(self) -> tuple[int, ...]:
        if self._compiled:
            return self._compiled.row_groups
        metadata = self._arrow.metadata
        return tuple(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups))

    @property
    def kinds(self) -> dict[str, str]:
        """What each present column holds: 'boolean', 'integer', 'floating', or Arrow's name of any other type."""
        return self._compiled.kinds if self._compiled else self._arrow_kinds

    def check_columns(self) -> None:
        """Fail with the file and every missing column named, before any row is read."""
        check_columns(self.path, self.kinds, self.columns)

    @property
    def compiled(self) -> bool:
        """Whether pzmpi's compiled reader decodes this file (else Arrow does)."""
        return self._compiled is not None

    def close(self) -> None:
        for reader in (self._compiled, self._arrow):
            if reader is not None:
                reader.close()

    def __enter__(self) -> CatalogFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def iter_rows(self, row_start: int, row_stop: int, rows_per_chunk: int) -> Iterator[Chunk]:
        """Rows ``[row_start, row_stop)``, at most ``rows_per_chunk`` at a time; InputFileError if they do not decode."""
        self.check_columns()
        row = row_start
        if self._compiled:
            try:
                for chunk in self._compiled.iter_rows(row_start, row_stop, rows_per_chunk):
                    row += chunk_rows(chunk)
                    yield chunk
            except Exception:  # Malformed, or any other trip: Arrow, the reference, reads the rest or says why not
                self._open_arrow()
            else:
                if row < row_stop:
                    raise InputFileError(f"{self.path}: rows {row}-{row_stop} asked for, past its {self.num_rows} rows")
                return
        yield from self._arrow_rows(row, row_stop, rows_per_chunk)

    def _open_arrow(self) -> None:
        if self._arrow is not None:
            return
        try:
            self._arrow = pq.ParquetFile(self.path, pre_buffer=True)  # coalesced reads of the needed chunks
        except Exception as error:  # a missing file, or one of pyarrow's several errors for a damaged one
            raise InputFileError(f"{self.path}: cannot open: {error}") from None
        schema = self._arrow.schema_arrow  # built from the whole footer: once
        present = set(schema.names)
        self._arrow_kinds = {name: _kind(schema.field(name).type) for name in self.columns if name in present}

    def _arrow_rows(self, row_start: int, row_stop: int, rows_per_chunk: int) -> Iterator[Chunk]:
        metadata = self._arrow.metadata
        offsets = np.cumsum([0] + [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)])
        first = int(np.searchsorted(offsets, row_start, side="right")) - 1
        last = int(np.searchsorted(offsets, row_stop, side="left"))
        skip, remaining = row_start - int(offsets[first]), row_stop - row_start
        batches = self._arrow.iter_batches(batch_size=rows_per_chunk, row_groups=range(first, last),
                                           columns=self.columns, use_threads=False)
        while remaining > 0:
            try:
                batch = next(batches)
            except StopIteration:
                raise InputFileError(f"{self.path}: {remaining} fewer rows than its footer announces") from None
            except (OSError, pa.ArrowException) as error:
                raise InputFileError(f"{self.path}: cannot decode rows {row_start}-{row_stop} "
                                     f"(row groups {first}-{last - 1}): {error}") from None
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                continue
            batch = batch.slice(skip, remaining)
            skip = 0
            remaining -= batch.num_rows
            yield chunk_of_batch(self.path, batch, self.columns)


def iter_chunks(piece: Piece, columns: list[str], rows_per_chunk: int) -> Iterator[Chunk]:
    """Yield the piece's rows as dicts of numpy arrays, ``rows_per_chunk`` rows at a time.

    ``columns[0]`` is the id column, which must be a non-null integer column.
    """
    with CatalogFile(piece.path, columns) as catalog:
        catalog.check_columns()
        id_kind = catalog.kinds[columns[0]]
        if id_kind != "integer":
            raise InputFileError(f"{piece.path}: id column {columns[0]} has type {id_kind}, expected an integer")
        yield from catalog.iter_rows(piece.row_start, piece.row_stop, rows_per_chunk)


def _kind(arrow_type: pa.DataType) -> str:
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "floating"
    return str(arrow_type)


def chunk_of_batch(path: str, batch: pa.RecordBatch, columns: list[str]) -> Chunk:
    """An Arrow batch's ``columns`` as the compiled reader gives them (module docstring); errors name ``path``."""
    return {name: _to_numpy(path, name, batch.column(name)) for name in columns}


def _to_numpy(path: str, name: str, column: pa.Array) -> np.ndarray:
    kind = _kind(column.type)
    if kind == "floating":
        return column.to_numpy(zero_copy_only=False)
    if kind == "boolean":
        return column.fill_null(False).to_numpy(zero_copy_only=False)
    if kind == "integer":
        if column.null_count:
            raise InputFileError(f"{path}: column {name} has {column.null_count} null value(s)")
        return column.to_numpy(zero_copy_only=False)
    raise InputFileError(f"{path}: column {name} has type {column.type}, expected a number")
