"""Snappy decompression in compiled code, so that a whole column chunk decodes in one call.

Rubin's catalogs are written with parquet's default codec, snappy. Arrow's
decompressor is only reachable one page at a time from Python; this one runs
inside the chunk decoder (``pzmpi.parquet.chunk``). Literals and copies that do
not overlap go through memcpy, so pages of floats, nearly all literals,
decompress as fast as with Arrow (``bench/parquet_read.py``).

Format (google/snappy, format_description.txt): the uncompressed length as a
varint, then elements whose tag's two low bits say literal (length in the tag
or in 1 to 4 following bytes) or copy of an earlier run (offset in 1, 2 or 4
bytes). Every length and offset is checked against both buffers.
"""

from __future__ import annotations

import numba
import numpy as np

from pzmpi.intrinsics import copy_bytes
from pzmpi.parquet.thrift import read_varint_within


@numba.njit(cache=True, nogil=True)
def decompress(src, pos, end, dst):  # pragma: no cover - compiled
    """Decompress ``src[pos:end]`` into the start of ``dst``; the length written, or -1 if the stream is bad."""
    if end > src.size or pos < 0:
        return -1
    length, pos = read_varint_within(src, pos, end)
    if pos < 0 or length > dst.size:
        return -1
    out = np.int64(0)
    while pos < end:
        tag = np.int64(src[pos])
        pos += 1
        kind = tag & 3
        if kind == 0:  # a literal
            size = tag >> 2
            if size >= 60:
                extra = size - 59
                if pos + extra > end:
                    return -1
                size = 0
                for k in range(extra):
                    size |= np.int64(src[pos + k]) << (8 * k)
                pos += extra
            size += 1
            if size > end - pos or size > length - out:
                return -1
            copy_bytes(dst, out, src, pos, size)
            pos += size
            out += size
            continue
        if kind == 1:
            if pos >= end:
                return -1
            size = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | np.int64(src[pos])
            pos += 1
        elif kind == 2:
            if pos + 2 > end:
                return -1
            size = (tag >> 2) + 1
            offset = np.int64(src[pos]) | (np.int64(src[pos + 1]) << 8)
            pos += 2
        else:
            if pos + 4 > end:
                return -1
            size = (tag >> 2) + 1
            offset = np.int64(src[pos]) | (np.int64(src[pos + 1]) << 8) | (np.int64(src[pos + 2]) << 16) \
                | (np.int64(src[pos + 3]) << 24)
            pos += 4
        if offset == 0 or offset > out or size > length - out:
            return -1
        start = out - offset
        while size > 0:  # an overlapping copy repeats the last ``offset`` bytes: copy them in growing runs
            step = min(size, out - start)
            copy_bytes(dst, out, dst, start, step)
            out += step
            size -= step
    return out if out == length else -1
