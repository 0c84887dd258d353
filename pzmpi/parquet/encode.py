"""A parquet file of flat, required numeric columns, encoded by pzmpi: the skinny tables' writer.

Arrow's writer is general, and slower on the skinny table than this one
(``bench/skinny_writer.py`` measures both). This writes exactly the layout
skinny needs and nothing else: required INT32/INT64/FLOAT/DOUBLE columns,
PLAIN, BYTE_STREAM_SPLIT (floats) or DELTA_BINARY_PACKED (integers) values,
version-1 data pages of at most PAGE_BYTES before compression, min/max
statistics where asked, and key-value metadata. The file comes back as a list
of buffers, so that it can be hashed and written without being joined into one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba
import numpy as np
import pyarrow as pa

from pzmpi.parquet.compact import Fields, encode_struct
from pzmpi.parquet.footer import DOUBLE, FLOAT, INT32, INT64, MAGIC, REQUIRED
from pzmpi.parquet import delta
from pzmpi.parquet.pages import BYTE_STREAM_SPLIT, DATA_PAGE, DELTA_BINARY_PACKED, PLAIN, RLE
from pzmpi.parquet.thrift import BINARY, I16, I32, I64, LIST, STRUCT

PAGE_BYTES = 1 << 20  # uncompressed values per data page at most, as Arrow's default
FORMAT_VERSION = 2
# skinny's compression names -> (parquet's codec number, pyarrow's codec name)
CODECS = {"none": (0, ""), "snappy": (1, "snappy"), "gzip": (2, "gzip"), "zstd": (6, "zstd"), "lz4": (7, "lz4_raw")}
PHYSICAL_TYPES = {np.dtype(np.int32): INT32, np.dtype(np.int64): INT64, np.dtype(np.float32): FLOAT,
                  np.dtype(np.float64): DOUBLE}


@dataclass(frozen=True)
class ColumnSpec:
    """How a column is written: its encoding (PLAIN, BYTE_STREAM_SPLIT or DELTA_BINARY_PACKED), min/max or not."""

    name: str
    encoding: int = PLAIN
    statistics: bool = False


@numba.njit(cache=True, nogil=True)
def byte_stream_split(values, out):  # pragma: no cover - compiled
    """BYTE_STREAM_SPLIT: byte b of value i goes to ``out[b * n + i]``, so that like bytes sit together.

    Written out for 4- and 8-byte values: a loop over the bytes inside the loop
    over values runs about twenty times slower.
    """
    raw = values.view(np.uint8)
    n = values.size
    if values.itemsize == 4:
        for i in range(n):
            out[i] = raw[4 * i]
            out[n + i] = raw[4 * i + 1]
            out[2 * n + i] = raw[4 * i + 2]
            out[3 * n + i] = raw[4 * i + 3]
    else:
        for i in range(n):
            for b in range(8):
                out[b * n + i] = raw[8 * i + b]


def encode_file(columns: list[tuple[ColumnSpec, np.ndarray]], row_group_rows: int, compression: str,
                metadata: dict[str, str], created_by: str) -> list[bytes | memoryview | pa.Buffer]:
    """The bytes of a parquet file holding ``columns`` (1-D arrays of one length), in buffers to write in order."""
    codec, codec_name = CODECS[compression]
    rows = columns[0][1].size if columns else 0
    parts: list[bytes | memoryview | pa.Buffer] = [MAGIC]
    offset = len(MAGIC)
    row_groups: list[Fields] = []
    for first in range(0, rows, row_group_rows):
        last = min(rows, first + row_group_rows)
        group_start, chunks, sizes = offset, [], [0, 0]
        for spec, values in columns:
            chunk_start = offset
            chunk_parts, uncompressed = _column_pages(values[first:last], spec.encoding, codec_name)
            parts += chunk_parts
            compressed = sum(len(part) for part in chunk_parts)
            offset += compressed
            sizes[0] += uncompressed
            sizes[1] += compressed
            statistics = _statistics(values[first:last]) if spec.statistics else None
            chunks.append(_column_chunk(spec, values.dtype, codec, last - first, uncompressed, compressed,
                                        chunk_start, statistics))
        row_groups.append([(1, LIST, (STRUCT, chunks)), (2, I64, sizes[0]), (3, I64, last - first),
                           (5, I64, group_start), (6, I64, sizes[1]), (7, I16, len(row_groups))])
    key_values = [[(1, BINARY, key), (2, BINARY, value)] for key, value in metadata.items()]
    schema, orders = _schema_and_orders(tuple((spec.name, values.dtype) for spec, values in columns))
    footer = b"".join([encode_struct([(1, I32, FORMAT_VERSION)])[:-1], schema,
                       encode_struct([(3, I64, rows), (4, LIST, (STRUCT, row_groups)),
                                      (5, LIST, (STRUCT, key_values)), (6, BINARY, created_by)],
                                     last_id=2)[:-1], orders])
    parts += [footer, len(footer).to_bytes(4, "little") + MAGIC]
    return parts


@functools.lru_cache(maxsize=16)
def _schema_and_orders(columns: tuple[tuple[str, np.dtype], ...]) -> tuple[bytes, bytes]:
    """FileMetaData's field 2 (the schema) and field 7 (a TypeDefinedOrder per column, then the STOP):
    the same for every file of a table, so encoded once."""
    schema = [[(4, BINARY, "schema"), (5, I32, len(columns))]]
    schema += [[(1, I32, PHYSICAL_TYPES[dtype]), (3, I32, REQUIRED), (4, BINARY, name)] for name, dtype in columns]
    orders = [[(1, STRUCT, [])] for _ in columns]
    return (encode_struct([(2, LIST, (STRUCT, schema))], last_id=1)[:-1],
            encode_struct([(7, LIST, (STRUCT, orders))], last_id=6))


def _column_pages(values: np.ndarray, encoding: int, codec_name: str) -> tuple[list, int]:
    """A column chunk's pages (header, body, ...) and its uncompressed size, headers included."""
    per_page = max(1, PAGE_BYTES // values.itemsize)
    parts: list = []
    uncompressed = 0
    for first in range(0, values.size, per_page):
        page = np.ascontiguousarray(values[first:first + per_page])
        if encoding == BYTE_STREAM_SPLIT:
            body = np.empty(page.nbytes, dtype=np.uint8)
            byte_stream_split(page, body)
        elif encoding == DELTA_BINARY_PACKED:
            body = np.empty(delta.encoded_bound(page.size), dtype=np.uint8)
            body = body[:delta.encode(page, body)]
        else:
            body = page.view(np.uint8)
        stored = pa.compress(body, codec=codec_name) if codec_name else memoryview(body)
        header = encode_struct([(1, I32, DATA_PAGE), (2, I32, body.size), (3, I32, len(stored)),
                                (5, STRUCT, [(1, I32, page.size), (2, I32, encoding), (3, I32, RLE), (4, I32, RLE)])])
        parts += [header, stored]
        uncompressed += len(header) + body.size
    return parts, uncompressed


@numba.njit(cache=True, nogil=True)
def _min_max(values):  # pragma: no cover - compiled
    """(count of non-NaN values, smallest, largest) in one pass."""
    low = values.dtype.type(0)
    high = values.dtype.type(0)
    seen = 0
    for value in values:
        if value != value:  # NaN
            continue
        if seen == 0 or value < low:
            low = value
        if seen == 0 or value > high:
            high = value
        seen += 1
    return seen, low, high


def _statistics(values: np.ndarray) -> Fields:
    """min/max as parquet orders them: NaN left out (no min/max if all are NaN), a zero min -0.0, a zero max +0.0."""
    seen, low, high = _min_max(values)
    if not seen:
        return [(3, I64, 0)]
    if values.dtype.kind == "f":
        low = values.dtype.type(-0.0) if low == 0 else low
        high = values.dtype.type(0.0) if high == 0 else high
    as_bytes = [np.array([v], dtype=values.dtype).tobytes() for v in (high, low)]
    return [(3, I64, 0), (5, BINARY, as_bytes[0]), (6, BINARY, as_bytes[1])]


def _column_chunk(spec: ColumnSpec, dtype: np.dtype, codec: int, rows: int, uncompressed: int, compressed: int,
                  start: int, statistics: Fields | None) -> Fields:
    meta = [(1, I32, PHYSICAL_TYPES[dtype]), (2, LIST, (I32, [spec.encoding])),
            (3, LIST, (BINARY, [spec.name])), (4, I32, codec), (5, I64, rows), (6, I64, uncompressed),
            (7, I64, compressed), (9, I64, start), (12, STRUCT, statistics)]
    return [(2, I64, 0), (3, STRUCT, meta)]
