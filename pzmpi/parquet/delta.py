"""Parquet's DELTA_BINARY_PACKED encoding of integers, both ways: how skinny tables store objectId.

Catalog ids come sorted or nearly so; stored as differences, bit-packed per
32 values, they take a few bits a row: PLAIN int64 under snappy made the skinny
file 3.8 bytes a row bigger and took 3.7 ns a row more to encode
(``bench/skinny_writer.py``, "ids PLAIN").

Layout (parquet-format's Encodings.md): a header of varints (values per block,
miniblocks per block, value count, first value zigzag-encoded), then per block
the smallest difference (zigzag varint), one bit width per miniblock, and the
miniblocks: the differences minus the smallest, bit-packed least significant
bit first, 32 values each. Arithmetic wraps at 64 bits, as the format says.
"""

from __future__ import annotations

import numba
import numpy as np

from pzmpi.intrinsics import load_u64
from pzmpi.parquet.thrift import read_varint_within

BLOCK_VALUES = 128
MINIBLOCKS = 4
MINIBLOCK_VALUES = BLOCK_VALUES // MINIBLOCKS  # 32
MAX_BLOCK_VALUES = 1 << 16  # writers use 128 (Arrow, parquet-mr) to 1,024; more is a damaged header


def encoded_bound(count: int) -> int:
    """Bytes the encoding of ``count`` values can take at most."""
    blocks = max(1, -(-count // BLOCK_VALUES))
    return 4 * 10 + blocks * (10 + MINIBLOCKS + BLOCK_VALUES * 8)


@numba.njit(cache=True, nogil=True, inline="always")
def _put_varint(out, pos, value):  # pragma: no cover - compiled
    value = np.uint64(value)
    while value >= np.uint64(0x80):
        out[pos] = np.uint8((value & np.uint64(0x7F)) | np.uint64(0x80))
        value >>= np.uint64(7)
        pos += 1
    out[pos] = np.uint8(value)
    return pos + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _zigzag(value):  # pragma: no cover - compiled
    return (np.uint64(value) << np.uint64(1)) ^ np.uint64(value >> 63)


@numba.njit(cache=True, nogil=True)
def encode(values, out):  # pragma: no cover - compiled
    """Encode int32/int64 ``values`` into ``out`` (at least ``encoded_bound`` bytes); return the bytes used.

    Differences are taken modulo 2^32 for int32 values, modulo 2^64 for int64, as readers undo them.
    """
    count = values.size
    pos = _put_varint(out, 0, BLOCK_VALUES)
    pos = _put_varint(out, pos, MINIBLOCKS)
    pos = _put_varint(out, pos, count)
    pos = _put_varint(out, pos, _zigzag(np.int64(values[0]) if count else np.int64(0)))
    deltas = np.empty(BLOCK_VALUES, dtype=np.uint64)
    for start in range(1, count, BLOCK_VALUES):
        n = min(BLOCK_VALUES, count - start)
        smallest = np.int64(0x7FFFFFFFFFFFFFFF)
        for k in range(n):
            delta = np.int64(np.uint64(np.int64(values[start + k])) - np.uint64(np.int64(values[start + k - 1])))
            if values.itemsize == 4:  # INT32: differences wrap at 32 bits, so that no width exceeds 32
                delta = ((delta + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            deltas[k] = np.uint64(delta)
            smallest = min(smallest, delta)
        pos = _put_varint(out, pos, _zigzag(smallest))
        widths_at = pos
        pos += MINIBLOCKS
        for m in range(MINIBLOCKS):
            first = m * MINIBLOCK_VALUES
            if first >= n:
                out[widths_at + m] = 0
                continue
            largest = np.uint64(0)
            for k in range(first, min(first + MINIBLOCK_VALUES, n)):
                deltas[k] -= np.uint64(smallest)
                largest = max(largest, deltas[k])
            width = 0
            while width < 64 and (largest >> np.uint64(width)) != np.uint64(0):
                width += 1
            out[widths_at + m] = width
            buffer = np.uint64(0)
            held = 0
            for k in range(first, first + MINIBLOCK_VALUES):  # the last miniblock is padded with zeros
                value = deltas[k] if k < n else np.uint64(0)
                if width == 0:
                    continue
                buffer |= value << np.uint64(held)
                if held + width >= 64:
                    spill = held + width - 64
                    for _ in range(8):
                        out[pos] = np.uint8(buffer & np.uint64(0xFF))
                        buffer >>= np.uint64(8)
                        pos += 1
                    buffer = value >> np.uint64(width - spill) if spill else np.uint64(0)
                    held = spill
                else:
                    held += width
            while held > 0:
                out[pos] = np.uint8(buffer & np.uint64(0xFF))
                buffer >>= np.uint64(8)
                pos += 1
                held -= 8
    return pos


@numba.njit(cache=True, nogil=True)
def decode(buf, pos, end, count, out):  # pragma: no cover - compiled
    """Decode ``count`` values from ``buf[pos:end]`` into ``out``; 0, or -1 when the bytes do not decode."""
    if end > buf.size:
        return -1
    header = np.zeros(4, dtype=np.uint64)
    for h in range(4):
        encoded, pos = read_varint_within(buf, pos, end)
        if pos < 0:
            return -1
        header[h] = np.uint64(encoded)
    block_values, miniblocks, total = header[0], header[1], header[2]
    if block_values == 0 or block_values > MAX_BLOCK_VALUES or block_values % 128 != 0 or miniblocks == 0 \
            or block_values % miniblocks != 0 or (block_values // miniblocks) % 32 != 0 or total < np.uint64(count) \
            or count > out.size:
        return -1
    per_miniblock = np.int64(block_values // miniblocks)
    current = np.int64((header[3] >> np.uint64(1)) ^ (np.uint64(0) - (header[3] & np.uint64(1))))
    if count == 0:
        return 0
    out[0] = current
    done = 1
    while done < count:
        encoded, pos = read_varint_within(buf, pos, end)
        if pos < 0:
            return -1
        raw = np.uint64(encoded)
        smallest = (raw >> np.uint64(1)) ^ (np.uint64(0) - (raw & np.uint64(1)))
        widths_at = pos
        pos += np.int64(miniblocks)
        if pos > end:
            return -1
        for m in range(np.int64(miniblocks)):
            if done >= count:
                break
            width = np.int64(buf[widths_at + m])
            if width > 64 or pos + per_miniblock * width // 8 > end:
                return -1
            mask = np.uint64(0xFFFFFFFFFFFFFFFF) if width == 64 else (np.uint64(1) << np.uint64(width)) - np.uint64(1)
            whole_loads = width <= 56 and pos + per_miniblock * width // 8 + 8 <= end
            for k in range(min(per_miniblock, count - done)):
                bit = k * width
                if whole_loads:  # one unaligned 8-byte load holds the value
                    value = (load_u64(buf, pos + (bit >> 3)) >> np.uint64(bit & 7)) & mask
                else:
                    value = np.uint64(0)
                    for b in range(width):  # width bits, least significant first
                        at = bit + b
                        value |= np.uint64((buf[pos + (at >> 3)] >> (at & 7)) & 1) << np.uint64(b)
                current = np.int64(np.uint64(current) + smallest + value)
                out[done] = current
                done += 1
            pos += per_miniblock * width // 8
    return 0
