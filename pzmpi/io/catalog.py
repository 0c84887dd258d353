"""Catalogs in: the needed columns of parquet catalog files, streamed as numpy chunks through pyarrow.

``CatalogFile`` is the one reader, shared by ``pzmpi run`` (pieces of whole
row groups), ``pzmpi skinny`` (any row range) and the training-set maker.
Only the needed columns of the needed row groups are decoded, a row group at a
time, so memory per rank is bounded by a row group's needed columns plus a
chunk of ``rows_per_chunk`` rows, never by the file size.

Every reader gets the same arrays: floating columns with nulls as NaN, boolean
columns with nulls as False; an integer column with nulls, or a column of any
other type, is an ``InputFileError`` naming the file and the column.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.core.errors import ConfigError, InputFileError

Chunk = dict[str, np.ndarray]  # column name -> values, all of one length

# Reading options, measured by bench/parquet_read.py on 991-column DP0.2-like files (docs/performance.md):
# pre-buffering coalesces the reads of a row group's needed column chunks into few large ones, which
# is what a parallel file system wants, and costs nothing measurable on a local disk.
PRE_BUFFER = True


def list_input_files(specs: list[str]) -> list[str]:
    """Expand folders, glob patterns and ``.txt``/``.lst`` list files into a sorted list of parquet files."""
    found: list[str] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found.extend(str(p) for p in path.glob("*.parquet") if p.is_file())
        elif path.is_file() and path.suffix in (".txt", ".lst"):
            base = path.resolve().parent
            for line in path.read_text().splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    found.append(str(base / line) if not os.path.isabs(line) else line)
        elif path.is_file():
            found.append(str(path))
        elif glob.has_magic(spec):
            found.extend(p for p in glob.glob(spec) if os.path.isfile(p))
        else:
            raise ConfigError(f"'input.paths': {spec} is neither a file, a folder nor a glob pattern")
    if not found:
        raise ConfigError(f"'input.paths' matched no parquet file: {', '.join(specs)}")
    return sorted(dict.fromkeys(os.path.abspath(p) for p in found))


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
        try:
            self._parquet = pq.ParquetFile(path, pre_buffer=PRE_BUFFER)
        except Exception as error:  # a missing file, or one of pyarrow's several errors for a damaged one
            raise InputFileError(f"{path}: cannot open: {error}") from None
        schema = self._parquet.schema_arrow  # built from the whole footer: once per file
        present = set(schema.names)
        self.kinds = {name: _kind(schema.field(name).type) for name in self.columns if name in present}
        metadata = self._parquet.metadata
        self.row_groups = tuple(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups))
        self.num_rows = metadata.num_rows

    def check_columns(self) -> None:
        """Fail with the file and every missing column named, before any row is read."""
        check_columns(self.path, self.kinds, self.columns)

    def close(self) -> None:
        self._parquet.close()

    def __enter__(self) -> CatalogFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def iter_rows(self, row_start: int, row_stop: int, rows_per_chunk: int) -> Iterator[Chunk]:
        """Rows ``[row_start, row_stop)``, at most ``rows_per_chunk`` at a time; InputFileError if they do not decode."""
        self.check_columns()
        if row_stop > self.num_rows:
            raise InputFileError(f"{self.path}: rows {row_start}-{row_stop} asked for, past its {self.num_rows} rows")
        offsets = np.cumsum((0,) + self.row_groups)
        first = int(np.searchsorted(offsets, row_start, side="right")) - 1
        last = int(np.searchsorted(offsets, row_stop, side="left"))
        skip, remaining = row_start - int(offsets[first]), row_stop - row_start
        batches = self._parquet.iter_batches(batch_size=rows_per_chunk, row_groups=range(first, last),
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


def iter_chunks(path: str, row_start: int, row_stop: int, columns: list[str],
                rows_per_chunk: int) -> Iterator[Chunk]:
    """Rows ``[row_start, row_stop)`` of ``path`` as dicts of numpy arrays, ``rows_per_chunk`` rows at a time.

    ``columns[0]`` is the id column, which must be a non-null integer column.
    """
    with CatalogFile(path, columns) as catalog:
        catalog.check_columns()
        id_kind = catalog.kinds[columns[0]]
        if id_kind != "integer":
            raise InputFileError(f"{path}: id column {columns[0]} has type {id_kind}, expected an integer")
        yield from catalog.iter_rows(row_start, row_stop, rows_per_chunk)


def _kind(arrow_type: pa.DataType) -> str:
    """'boolean', 'integer', 'floating', or Arrow's name of any other type."""
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "floating"
    return str(arrow_type)


def chunk_of_batch(path: str, batch: pa.RecordBatch, columns: list[str]) -> Chunk:
    """An Arrow batch's ``columns`` as numpy arrays (module docstring); errors name ``path``."""
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
