"""Reading: stream a row range of a parquet file, only the needed columns, chunk by chunk.

Memory per rank is bounded by the chunk size, never by the file size: pyarrow
decodes the range's row groups in batches of ``rows_per_chunk`` rows.
``iter_row_range`` is the one reader, shared by ``pzmpi run`` (pieces of whole
row groups, ``iter_chunks``) and ``pzmpi skinny`` (any row range).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.errors import InputFileError
from pzmpi.plan import Piece


def check_columns(path: str, available: Iterable[str], columns: list[str]) -> None:
    """Fail with the file and every missing column named, before any row is read."""
    names = set(available)
    missing = [c for c in columns if c not in names]
    if missing:
        raise InputFileError(f"{path}: missing column(s) {', '.join(missing)}")


def iter_chunks(piece: Piece, columns: list[str], rows_per_chunk: int) -> Iterator[dict[str, np.ndarray]]:
    """Yield the piece's rows as dicts of numpy arrays, ``rows_per_chunk`` rows at a time.

    ``columns[0]`` is the id column, which must be a non-null integer column;
    floating columns come back with nulls as NaN.
    """
    try:
        parquet = pq.ParquetFile(piece.path)
    except Exception as error:
        raise InputFileError(f"{piece.path}: cannot open: {error}") from None
    with parquet:
        check_columns(piece.path, parquet.schema_arrow.names, columns)
        id_type = parquet.schema_arrow.field(columns[0]).type
        if not pa.types.is_integer(id_type):
            raise InputFileError(f"{piece.path}: id column {columns[0]} has type {id_type}, expected an integer")
        for batch in iter_row_range(parquet, piece.path, columns, piece.row_start, piece.row_stop, rows_per_chunk):
            yield {name: _to_numpy(piece.path, name, batch.column(name)) for name in columns}


def iter_row_range(parquet: pq.ParquetFile, path: str, columns: list[str], row_start: int, row_stop: int,
                   rows_per_chunk: int) -> Iterator[pa.RecordBatch]:
    """Stream rows ``[row_start, row_stop)`` of an open file, ``rows_per_chunk`` at a time, only ``columns``."""
    metadata = parquet.metadata
    offsets = np.cumsum([0] + [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)])
    first = int(np.searchsorted(offsets, row_start, side="right")) - 1
    last = int(np.searchsorted(offsets, row_stop, side="left"))
    skip, remaining = row_start - int(offsets[first]), row_stop - row_start
    batches = parquet.iter_batches(batch_size=rows_per_chunk, row_groups=range(first, last), columns=columns,
                                   use_threads=False)
    while remaining > 0:
        try:
            batch = next(batches)
        except StopIteration:
            raise InputFileError(f"{path}: {remaining} fewer rows than its footer announces") from None
        except (OSError, pa.ArrowException) as error:
            raise InputFileError(f"{path}: cannot decode rows {row_start}-{row_stop} "
                                 f"(row groups {first}-{last - 1}): {error}") from None
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        batch = batch.slice(skip, remaining)
        skip = 0
        remaining -= batch.num_rows
        yield batch


def _to_numpy(path: str, name: str, column: pa.Array) -> np.ndarray:
    if pa.types.is_floating(column.type):
        return column.to_numpy(zero_copy_only=False)
    if pa.types.is_integer(column.type) or pa.types.is_boolean(column.type):
        if column.null_count:
            raise InputFileError(f"{path}: column {name} has {column.null_count} null value(s)")
        return column.to_numpy(zero_copy_only=False)
    raise InputFileError(f"{path}: column {name} has type {column.type}, expected a number")
