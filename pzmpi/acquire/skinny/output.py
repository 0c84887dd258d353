"""Skinny output files: their columns, how pyarrow writes them, and how a re-run recognises a finished one.

Each file holds ``objectId`` (int64), ``coord_ra``, ``coord_dec`` (float64,
degrees), then ``mag_{band}`` for every band, then ``magerr_{band}`` (float32,
AB), pz-compute's column order. No column may be null (a null flux is a
non-detection, a null position NaN), so every field is required. The writing
options were chosen by ``bench/skinny_writer.py`` (docs/skinny.md):

* no dictionaries: magnitudes barely repeat, and dictionary encoding was the
  slowest and largest choice;
* magnitudes, errors and positions BYTE_STREAM_SPLIT (each float's bytes in
  separate streams, the exponents together): smaller once compressed, and
  cheaper to compress when rounded;
* ids DELTA_BINARY_PACKED: a few bits a row for sorted ids;
* row-group statistics only on id and position, where readers use them to
  skip row groups (id lookups, sky cuts).

A file is encoded in memory, hashed, and written atomically, so that its
checksum is of exactly the bytes written and it crosses the file system once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.core.files import write_bytes_atomically
from pzmpi.photometry.bands import SKINNY_MAGNITUDE, SKINNY_MAGNITUDE_ERROR

METADATA_KEY = b"pzmpi.skinny"
STATISTICS_COLUMNS = ("objectId", "coord_ra", "coord_dec")
WRITE_BATCH_ROWS = 1 << 16  # rows pyarrow encodes per batch: 3-8% faster than its default, 1,024


def mag_column(band: str) -> str:
    return SKINNY_MAGNITUDE.format(band=band)


def magerr_column(band: str) -> str:
    return SKINNY_MAGNITUDE_ERROR.format(band=band)


def output_schema(bands: list[str]) -> pa.Schema:
    """Identity and position, then all magnitudes, then all errors, every field required."""
    fields = [pa.field("objectId", pa.int64(), nullable=False), pa.field("coord_ra", pa.float64(), nullable=False),
              pa.field("coord_dec", pa.float64(), nullable=False)]
    fields += [pa.field(mag_column(b), pa.float32(), nullable=False) for b in bands]
    fields += [pa.field(magerr_column(b), pa.float32(), nullable=False) for b in bands]
    return pa.schema(fields)


def new_outputs(bands: list[str], rows: int) -> dict[str, np.ndarray]:
    """Room for ``rows`` rows of every skinny column."""
    return {field.name: np.empty(rows, dtype=field.type.to_pandas_dtype()) for field in output_schema(bands)}


def write_options(bands: list[str], compression: str) -> dict[str, Any]:
    """``pq.ParquetWriter``'s options for a skinny file (module docstring)."""
    encodings = {"objectId": "DELTA_BINARY_PACKED", "coord_ra": "BYTE_STREAM_SPLIT", "coord_dec": "BYTE_STREAM_SPLIT"}
    encodings.update({name: "BYTE_STREAM_SPLIT" for b in bands for name in (mag_column(b), magerr_column(b))})
    return {"compression": compression, "use_dictionary": False, "column_encoding": encodings,
            "write_statistics": list(STATISTICS_COLUMNS), "write_batch_size": WRITE_BATCH_ROWS}


def encode_table(columns: dict[str, np.ndarray], bands: list[str], row_group_rows: int, compression: str,
                 recorded: dict[str, Any]) -> pa.Buffer:
    """The bytes of one skinny file; ``recorded`` goes into its metadata under ``METADATA_KEY``."""
    schema = output_schema(bands).with_metadata({METADATA_KEY: json.dumps(recorded, sort_keys=True)})
    table = pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, schema, **write_options(bands, compression)) as writer:
        writer.write_table(table, row_group_size=row_group_rows)
    return sink.getvalue()


def write_table_file(path: Path, content: pa.Buffer) -> str:
    """Write an encoded file atomically; returns the sha256 of its bytes."""
    digest = hashlib.sha256(content).hexdigest()
    write_bytes_atomically(path, content)
    return digest


def row_group_layout(source: Path | pa.Buffer) -> tuple[int, tuple[int, ...]]:
    """A skinny file's size and rows per row group, from its footer: what the release record keeps, so that a run
    of the table plans without reading any footer."""
    if isinstance(source, Path):
        metadata, size = pq.read_metadata(source), source.stat().st_size
    else:
        metadata, size = pq.read_metadata(pa.BufferReader(source)), source.size
    return size, tuple(metadata.row_group(k).num_rows for k in range(metadata.num_row_groups))


def finished_metadata(path: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The skinny metadata of ``path`` when it is a finished output matching ``identity``, else None."""
    recorded = recorded_metadata(path)
    if recorded is None:
        return None
    return recorded if all(recorded.get(k) == v for k, v in identity.items()) else None


def recorded_metadata(path: Path) -> dict[str, Any] | None:
    """What ``encode_table`` recorded in a skinny file, or None for any other file."""
    if not path.is_file():
        return None
    try:
        return json.loads((pq.read_schema(path).metadata or {})[METADATA_KEY])
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None
