"""A parquet footer read for a few flat numeric columns: where their bytes are, in each row group.

Arrow turns the whole footer into objects, every column of every row group
(991 columns in DP0.2, 1296 in DP1): on a 100,000-row DP0.2 file, a quarter of
the time Arrow then takes to decode the 16 columns skinny needs
(``bench/parquet_read.py``: 24.6 to 27.6 against 99 ns a row; this walk, 5.2). ``read_layout`` walks the footer's bytes
once in compiled code and keeps only the wanted columns' schema and chunk
positions. Anything outside the flat numeric case (nesting, other types,
encryption, chunks in other files) is reported as unsupported, not guessed at.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numba
import numpy as np

from pzmpi.parquet import thrift
from pzmpi.parquet.thrift import read_binary, read_field, read_int, read_list

MAGIC = b"PAR1"
ENCRYPTED_MAGIC = b"PARE"
TAIL_BYTES = 8  # footer length (4 bytes, little-endian) and the magic

# parquet's physical types pzmpi decodes, and what they become
BOOLEAN, INT32, INT64, FLOAT, DOUBLE = 0, 1, 2, 4, 5
DTYPES = {BOOLEAN: np.dtype(np.bool_), INT32: np.dtype(np.int32), INT64: np.dtype(np.int64),
          FLOAT: np.dtype(np.float32), DOUBLE: np.dtype(np.float64)}
REQUIRED, OPTIONAL = 0, 1
CONVERTED_INT_32, CONVERTED_INT_64 = 17, 18
LOGICAL_INTEGER = 10  # the INTEGER member of the LogicalType union
CHUNK_FIELDS = 5  # codec, num_values, total_compressed_size, data_page_offset, dictionary_page_offset
CODEC, NUM_VALUES, COMPRESSED_SIZE, DATA_PAGE_OFFSET, DICTIONARY_PAGE_OFFSET = range(CHUNK_FIELDS)

OK, MALFORMED, UNSUPPORTED = 0, 1, 2
_REASONS = {MALFORMED: "the footer is malformed",
            UNSUPPORTED: "a wanted column is not a flat boolean, integer or floating column, or its chunks are "
                         "encrypted or in another file, or the footer's fields are out of order"}


class Unsupported(Exception):
    """The file is outside what pzmpi's reader decodes; Arrow reads it instead."""


@dataclass(frozen=True)
class Layout:
    """Where the wanted columns are: one row per row group, one column per wanted name, in the order asked."""

    names: tuple[str, ...]
    num_rows: int
    physical_types: tuple[int, ...]
    optional: tuple[bool, ...]
    row_group_rows: np.ndarray  # (row groups,)
    chunks: np.ndarray  # (row groups, wanted columns, CHUNK_FIELDS)
    missing: tuple[str, ...]  # wanted names the schema lacks

    def dtype(self, column: int) -> np.dtype:
        return DTYPES[self.physical_types[column]]


def read_layout(fd: int, file_size: int, names: list[str]) -> Layout:
    """The layout of ``names`` in the open parquet file ``fd``.

    Raises Unsupported (the caller then uses Arrow) for anything but a plain
    footer with flat numeric wanted columns; a wanted column the schema lacks
    is listed in ``missing``.
    """
    if file_size < 2 * len(MAGIC) + TAIL_BYTES - len(MAGIC):
        raise Unsupported("too short for a parquet file")
    tail = os.pread(fd, TAIL_BYTES, file_size - TAIL_BYTES)
    if tail[4:] != MAGIC:
        raise Unsupported("an encrypted footer" if tail[4:] == ENCRYPTED_MAGIC else "no parquet magic at the end")
    footer_size = int.from_bytes(tail[:4], "little")
    if footer_size > file_size - TAIL_BYTES - len(MAGIC):
        raise Unsupported("the footer length exceeds the file")
    footer = np.frombuffer(os.pread(fd, footer_size, file_size - TAIL_BYTES - footer_size), dtype=np.uint8)
    encoded = [name.encode() for name in names]
    offsets = np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64)
    packed = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.zeros(0, np.uint8)
    status, num_rows, leaves, physical, repetition, rows, chunks = _parse(footer, packed, offsets, thrift.new_stack())
    if status != OK:
        raise Unsupported(_REASONS[status])
    if sum(int(r) for r in rows) != num_rows:
        raise Unsupported("the row groups do not add up to the footer's row count")
    return Layout(tuple(names), int(num_rows), tuple(int(p) for p in physical),
                  tuple(bool(r == OPTIONAL) for r in repetition), rows, chunks,
                  tuple(name for name, leaf in zip(names, leaves) if leaf < 0))


@numba.njit(cache=True, nogil=True)
def _name_index(buf, start, length, names, offsets):  # pragma: no cover - compiled
    """Which wanted name the footer's bytes ``buf[start:start + length]`` are, or -1."""
    for j in range(offsets.size - 1):
        if offsets[j + 1] - offsets[j] != length:
            continue
        same = True
        for k in range(length):
            if buf[start + k] != names[offsets[j] + k]:
                same = False
                break
        if same:
            return j
    return -1


@numba.njit(cache=True, nogil=True)
def _decodable(physical, repetition, converted, logical, int_bits, int_signed):  # pragma: no cover - compiled
    """A flat boolean, signed 32/64-bit integer or float/double leaf, without any other meaning attached."""
    if repetition != REQUIRED and repetition != OPTIONAL:
        return False
    if physical == BOOLEAN or physical == FLOAT or physical == DOUBLE:
        return converted < 0 and logical < 0
    if physical != INT32 and physical != INT64:
        return False
    bits = 32 if physical == INT32 else 64
    if converted >= 0 and converted != (CONVERTED_INT_32 if bits == 32 else CONVERTED_INT_64):
        return False
    return logical < 0 or (logical == LOGICAL_INTEGER and int_bits == bits and int_signed)


@numba.njit(cache=True, nogil=True)
def _parse(buf, names, offsets, stack):  # pragma: no cover - compiled
    """FileMetaData's schema (field 2) and row groups (field 4), for the wanted names only.

    Returns (status, num_rows, leaf index, physical type and repetition per
    wanted name, rows per row group, chunk fields per row group and wanted name).
    """
    wanted = offsets.size - 1
    leaves = np.full(wanted, -1, dtype=np.int64)
    physical = np.full(wanted, -1, dtype=np.int64)
    repetition = np.full(wanted, -1, dtype=np.int64)
    rows = np.zeros(0, dtype=np.int64)
    chunks = np.zeros((0, wanted, CHUNK_FIELDS), dtype=np.int64)
    slot_of_leaf = np.zeros(0, dtype=np.int64)
    num_rows = np.int64(-1)
    status = OK
    seen_schema = False
    pos = 0
    last = np.int64(0)
    while True:
        kind, last, pos = read_field(buf, pos, last)
        if pos < 0:
            return MALFORMED, num_rows, leaves, physical, repetition, rows, chunks
        if kind == thrift.STOP:
            break
        if last == 2 and kind == thrift.LIST:
            slot_of_leaf, pos, status = _parse_schema(buf, pos, names, offsets, leaves, physical, repetition, stack)
            seen_schema = True
        elif last == 3 and kind == thrift.I64:
            num_rows, pos = read_int(buf, pos)
        elif last == 4 and kind == thrift.LIST:
            if not seen_schema:
                return UNSUPPORTED, num_rows, leaves, physical, repetition, rows, chunks
            rows, chunks, pos, status = _parse_row_groups(buf, pos, slot_of_leaf, physical, wanted, stack)
        else:
            pos = thrift.skip(buf, pos, kind, stack)
        if status != OK:
            return status, num_rows, leaves, physical, repetition, rows, chunks
    if not seen_schema or num_rows < 0:
        return MALFORMED, num_rows, leaves, physical, repetition, rows, chunks
    return OK, num_rows, leaves, physical, repetition, rows, chunks


@numba.njit(cache=True, nogil=True)
def _parse_schema(buf, pos, names, offsets, leaves, physical, repetition, stack):  # pragma: no cover - compiled
    """The list of SchemaElements: fills the wanted names' leaf index, type and repetition.

    Returns (wanted slot of each leaf or -1, position, status). A wanted name
    must be a decodable leaf directly under the root, and appear once.
    """
    _, size, pos = read_list(buf, pos)
    if pos < 0 or size < 0 or size > buf.size - pos:  # each element takes a byte at least
        return np.zeros(0, dtype=np.int64), -1, MALFORMED
    slot_of_leaf = np.full(size, -1, dtype=np.int64)
    children_left = np.zeros(thrift.MAX_DEPTH, dtype=np.int64)
    depth = -1
    leaf_count = 0
    status = OK
    for element in range(size):
        ptype = np.int64(-1)
        rep = np.int64(-1)
        converted = np.int64(-1)
        logical = np.int64(-1)
        int_bits = np.int64(0)
        int_signed = False
        children = np.int64(0)
        name_start = np.int64(0)
        name_length = np.int64(-1)
        last = np.int64(0)
        while pos >= 0:
            kind, last, pos = read_field(buf, pos, last)
            if kind == thrift.STOP or pos < 0:
                break
            if last == 1 and kind == thrift.I32:
                ptype, pos = read_int(buf, pos)
            elif last == 3 and kind == thrift.I32:
                rep, pos = read_int(buf, pos)
            elif last == 4 and kind == thrift.BINARY:
                name_start, name_length, pos = read_binary(buf, pos)
            elif last == 5 and kind == thrift.I32:
                children, pos = read_int(buf, pos)
            elif last == 6 and kind == thrift.I32:
                converted, pos = read_int(buf, pos)
            elif last == 10 and kind == thrift.STRUCT:
                logical, int_bits, int_signed, pos = _parse_logical_type(buf, pos, stack)
            else:
                pos = thrift.skip(buf, pos, kind, stack)
        if pos < 0 or name_length < 0:
            return slot_of_leaf, -1, MALFORMED
        if element == 0:  # the root
            depth = 0
            children_left[0] = children
            continue
        if depth < 0:
            return slot_of_leaf, -1, MALFORMED
        level = depth + 1  # 1: directly under the root
        children_left[depth] -= 1
        j = _name_index(buf, name_start, name_length, names, offsets) if level == 1 else -1
        if children > 0:
            if j >= 0:
                status = UNSUPPORTED  # a wanted name is a group (nested column)
            depth += 1
            if depth >= thrift.MAX_DEPTH:
                return slot_of_leaf, -1, MALFORMED
            children_left[depth] = children
        else:
            if j >= 0:
                if leaves[j] >= 0 or not _decodable(ptype, rep, converted, logical, int_bits, int_signed):
                    status = UNSUPPORTED
                leaves[j] = leaf_count
                physical[j] = ptype
                repetition[j] = rep
                slot_of_leaf[leaf_count] = j
            leaf_count += 1
        while depth >= 0 and children_left[depth] == 0:
            depth -= 1
    if depth >= 0 and size > 0:
        return slot_of_leaf, -1, MALFORMED
    return slot_of_leaf[:leaf_count], pos, status


@numba.njit(cache=True, nogil=True)
def _parse_logical_type(buf, pos, stack):  # pragma: no cover - compiled
    """The LogicalType union: (member field id, integer bit width, signedness, position)."""
    member = np.int64(-1)
    bits = np.int64(0)
    signed = False
    last = np.int64(0)
    while pos >= 0:
        kind, last, pos = read_field(buf, pos, last)
        if kind == thrift.STOP or pos < 0:
            break
        member = last
        if last == LOGICAL_INTEGER and kind == thrift.STRUCT:
            inner = np.int64(0)
            while pos >= 0:
                inner_kind, inner, pos = read_field(buf, pos, inner)
                if inner_kind == thrift.STOP or pos < 0:
                    break
                if inner == 1 and inner_kind == thrift.BYTE:
                    bits = np.int64(np.int8(buf[pos])) if pos < buf.size else 0
                    pos += 1
                elif inner == 2 and (inner_kind == thrift.TRUE or inner_kind == thrift.FALSE):
                    signed = inner_kind == thrift.TRUE
                else:
                    pos = thrift.skip(buf, pos, inner_kind, stack)
        else:
            pos = thrift.skip(buf, pos, kind, stack)
    return member, bits, signed, pos


@numba.njit(cache=True, nogil=True)
def _parse_row_groups(buf, pos, slot_of_leaf, physical, wanted, stack):  # pragma: no cover - compiled
    """The list of RowGroups: rows of each, and the wanted columns' chunk fields.

    Returns (rows, chunks, position, status).
    """
    _, size, pos = read_list(buf, pos)
    # each row group holds a column chunk per leaf, of 3 bytes at least: the arrays below stay within
    # about 13 times the footer's size whatever it claims
    if pos < 0 or size < 0 or size > (buf.size - pos) // max(1, 3 * slot_of_leaf.size):
        return np.zeros(0, np.int64), np.zeros((0, wanted, CHUNK_FIELDS), np.int64), -1, MALFORMED
    rows = np.full(size, -1, dtype=np.int64)
    chunks = np.full((size, wanted, CHUNK_FIELDS), -1, dtype=np.int64)
    status = OK
    for group in range(size):
        last = np.int64(0)
        while pos >= 0:
            kind, last, pos = read_field(buf, pos, last)
            if kind == thrift.STOP or pos < 0:
                break
            if last == 1 and kind == thrift.LIST:
                _, count, pos = read_list(buf, pos)
                if count != slot_of_leaf.size or pos < 0:
                    return rows, chunks, -1, MALFORMED
                for leaf in range(count):
                    j = slot_of_leaf[leaf]
                    if j < 0:
                        pos = thrift.skip(buf, pos, thrift.STRUCT, stack)
                    else:
                        pos, chunk_status = _parse_column_chunk(buf, pos, chunks[group, j], physical[j], stack)
                        if chunk_status != OK:
                            status = chunk_status
                    if pos < 0:
                        break
            elif last == 3 and kind == thrift.I64:
                rows[group], pos = read_int(buf, pos)
            else:
                pos = thrift.skip(buf, pos, kind, stack)
        if pos < 0 or rows[group] < 0:
            return rows, chunks, -1, MALFORMED
        for j in range(wanted):  # a wanted column's chunk: where it is, and one value per row (flat columns)
            if physical[j] >= 0 and (chunks[group, j, DATA_PAGE_OFFSET] < 0 or chunks[group, j, COMPRESSED_SIZE] < 0
                                     or chunks[group, j, NUM_VALUES] != rows[group]):
                return rows, chunks, -1, MALFORMED
    return rows, chunks, pos, status


@numba.njit(cache=True, nogil=True)
def _parse_column_chunk(buf, pos, fields, physical, stack):  # pragma: no cover - compiled
    """A ColumnChunk of a wanted column: fills ``fields`` from its ColumnMetaData. Returns (position, status)."""
    status = OK
    last = np.int64(0)
    while pos >= 0:
        kind, last, pos = read_field(buf, pos, last)
        if kind == thrift.STOP or pos < 0:
            break
        if last == 3 and kind == thrift.STRUCT:
            inner = np.int64(0)
            while pos >= 0:
                inner_kind, inner, pos = read_field(buf, pos, inner)
                if inner_kind == thrift.STOP or pos < 0:
                    break
                if inner_kind == thrift.I32 or inner_kind == thrift.I64:
                    value, after = read_int(buf, pos)
                    if inner == 1 and value != physical:
                        status = UNSUPPORTED
                    elif inner == 4:
                        fields[CODEC] = value
                    elif inner == 5:
                        fields[NUM_VALUES] = value
                    elif inner == 7:
                        fields[COMPRESSED_SIZE] = value
                    elif inner == 9:
                        fields[DATA_PAGE_OFFSET] = value
                    elif inner == 11:
                        fields[DICTIONARY_PAGE_OFFSET] = value
                    pos = after
                elif inner == 3 and inner_kind == thrift.LIST:
                    _, path_length, _ = read_list(buf, pos)
                    if path_length != 1:
                        status = UNSUPPORTED
                    pos = thrift.skip(buf, pos, inner_kind, stack)
                else:
                    pos = thrift.skip(buf, pos, inner_kind, stack)
        elif last == 1 or last == 8 or last == 9:  # file_path, crypto_metadata, encrypted_column_metadata
            status = UNSUPPORTED
            pos = thrift.skip(buf, pos, kind, stack)
        else:
            pos = thrift.skip(buf, pos, kind, stack)
    return pos, status
