"""Thrift's compact protocol, in which parquet writes its footer and page headers: compiled readers.

Each reader takes the bytes and a position and returns what it read with the
position after it. A position of -1 means the bytes ended early or were
malformed; it passes through later calls unchanged, so a caller checks once.
"""

from __future__ import annotations

import numba
import numpy as np

# Type codes of the compact protocol.
STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)
MAX_DEPTH = 32  # parquet nests a few levels; deeper is a corrupt footer


@numba.njit(cache=True, nogil=True, inline="always")
def read_varint_within(buf, pos, end):  # pragma: no cover - compiled
    """An unsigned LEB128 integer of at most 64 bits (as int64 bits) in ``buf[pos:end]``, ``end`` <= ``buf.size``."""
    result = np.int64(0)
    shift = 0
    while 0 <= pos < end and shift <= 63:
        byte = np.int64(buf[pos])
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    return np.int64(0), -1


@numba.njit(cache=True, nogil=True, inline="always")
def read_varint(buf, pos):  # pragma: no cover - compiled
    """An unsigned LEB128 integer of at most 64 bits."""
    return read_varint_within(buf, pos, buf.size)


@numba.njit(cache=True, nogil=True, inline="always")
def read_int(buf, pos):  # pragma: no cover - compiled
    """A zigzag varint: how i16, i32 and i64 are written."""
    raw, pos = read_varint(buf, pos)
    return ((raw >> 1) & 0x7FFFFFFFFFFFFFFF) ^ -(raw & 1), pos


@numba.njit(cache=True, nogil=True, inline="always")
def read_field(buf, pos, last_id):  # pragma: no cover - compiled
    """A struct field's header: (type, field id, position); type STOP ends the struct."""
    if pos < 0 or pos >= buf.size:
        return np.int64(STOP), np.int64(0), -1
    byte = np.int64(buf[pos])
    pos += 1
    kind = byte & 0x0F
    if kind == STOP:
        return kind, np.int64(0), pos
    delta = byte >> 4
    if delta:
        return kind, last_id + delta, pos
    field_id, pos = read_int(buf, pos)
    return kind, field_id, pos


@numba.njit(cache=True, nogil=True, inline="always")
def read_list(buf, pos):  # pragma: no cover - compiled
    """A list's header: (element type, size, position)."""
    if pos < 0 or pos >= buf.size:
        return np.int64(STOP), np.int64(0), -1
    byte = np.int64(buf[pos])
    pos += 1
    size = byte >> 4
    if size == 15:
        size, pos = read_varint(buf, pos)
    return byte & 0x0F, size, pos


@numba.njit(cache=True, nogil=True, inline="always")
def read_binary(buf, pos):  # pragma: no cover - compiled
    """A binary or string: (offset of its bytes, length, position after it)."""
    length, pos = read_varint(buf, pos)
    if pos < 0 or length > buf.size - pos:
        return np.int64(0), np.int64(0), -1
    return np.int64(pos), length, pos + length


@numba.njit(cache=True, nogil=True)
def skip(buf, pos, kind, stack):  # pragma: no cover - compiled
    """The position after a value of type ``kind`` (a boolean in a field header has no bytes of its own).

    Nested values are walked in one loop, with ``stack`` (2 x MAX_DEPTH int64)
    holding per level the values left (-1 for a struct, which ends at STOP) and
    the element types of a list, set (both the same) or map (key, value).
    """
    remaining, types = stack[0], stack[1]
    depth = -1
    while pos >= 0:
        if kind == STRUCT or kind == LIST or kind == SET or kind == MAP:
            depth += 1
            if depth >= MAX_DEPTH:
                return -1
            if kind == STRUCT:
                remaining[depth] = -1
            elif kind == MAP:
                size, pos = read_varint(buf, pos)
                remaining[depth] = 2 * size
                if size > 0:
                    if pos < 0 or pos >= buf.size:
                        return -1
                    types[depth] = np.int64(buf[pos])
                    pos += 1
            else:
                element, size, pos = read_list(buf, pos)
                remaining[depth] = size
                types[depth] = element * 17  # key and value nibbles both the element type
        elif kind == BYTE:
            pos = pos + 1 if pos < buf.size else -1
        elif kind == I16 or kind == I32 or kind == I64:
            _, pos = read_varint(buf, pos)
        elif kind == DOUBLE:
            pos = pos + 8 if pos + 8 <= buf.size else -1
        elif kind == BINARY:
            _, _, pos = read_binary(buf, pos)
        elif kind != TRUE and kind != FALSE:
            return -1
        kind = -1
        while kind < 0 and pos >= 0:  # the next value to skip, closing finished levels
            if depth < 0:
                return pos
            left = remaining[depth]
            if left < 0:
                kind, _, pos = read_field(buf, pos, 0)
                if kind == STOP:
                    depth -= 1
                    kind = -1
            elif left == 0:
                depth -= 1
            else:
                remaining[depth] = left - 1
                kind = (types[depth] >> 4) if left % 2 == 0 else (types[depth] & 0x0F)
                if kind == TRUE or kind == FALSE:  # in a collection, each boolean is one byte
                    kind = BYTE
    return -1


def new_stack() -> np.ndarray:
    """The work space ``skip`` needs."""
    return np.empty((2, MAX_DEPTH), dtype=np.int64)
