"""Thrift's compact protocol, written: the encoder behind the footers and page headers pzmpi writes.

A struct is given as a list of ``(field id, type, value)`` in increasing
field id; fields whose value is None are left out. A list value is
``(element type, items)``; a struct value is another such list.
"""

from __future__ import annotations

from typing import Any

from pzmpi.parquet.thrift import BINARY, FALSE, I16, I32, I64, LIST, STOP, STRUCT, TRUE

BOOL = TRUE  # a field's type when its value is a bool: written as TRUE or FALSE in the field header

Fields = list[tuple[int, int, Any]]


def varint(value: int) -> bytes:
    """Unsigned LEB128."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def encode_struct(fields: Fields, last_id: int = 0) -> bytes:
    """A struct's fields and its STOP; ``last_id`` > 0 continues a struct whose fields up to it are written
    already (the caller then drops this one's STOP where more follow)."""
    out = bytearray()
    last = last_id
    for field_id, kind, value in fields:
        if value is None:
            continue
        header_kind = (TRUE if value else FALSE) if kind == BOOL else kind
        delta = field_id - last
        if 0 < delta <= 15:
            out.append((delta << 4) | header_kind)
        else:
            out.append(header_kind)
            out += varint(_zigzag(field_id))
        last = field_id
        if kind != BOOL:
            out += _encode_value(kind, value)
    out.append(STOP)
    return bytes(out)


def _encode_value(kind: int, value: Any) -> bytes:
    if kind in (I16, I32, I64):
        return varint(_zigzag(int(value)))
    if kind == BINARY:
        data = value.encode() if isinstance(value, str) else bytes(value)
        return varint(len(data)) + data
    if kind == STRUCT:
        return encode_struct(value)
    if kind == LIST:
        element, items = value
        header = bytes([(len(items) << 4) | element]) if len(items) < 15 else bytes([0xF0 | element]) + varint(len(items))
        return header + b"".join(_encode_value(element, item) for item in items)
    raise ValueError(f"no encoding for thrift type {kind}")
