"""Parquet pages of flat columns: headers, definition levels and values.

Compiled kernels, each checking every offset it reads against the buffer's
end: a corrupt page yields a status, never a read outside the page. The
encodings are those Arrow and parquet-mr write for numeric columns: PLAIN,
dictionary (PLAIN_DICTIONARY, RLE_DICTIONARY), BYTE_STREAM_SPLIT,
DELTA_BINARY_PACKED integers and RLE booleans, with levels in the
RLE/bit-packed hybrid.
"""

from __future__ import annotations

import numba
import numpy as np

from pzmpi.intrinsics import copy_bytes, load_u64
from pzmpi.parquet import delta, thrift
from pzmpi.parquet.thrift import read_field, read_int, read_varint_within

DATA_PAGE, INDEX_PAGE, DICTIONARY_PAGE, DATA_PAGE_V2 = 0, 1, 2, 3
BIT_VALUES = np.array([0, 1], dtype=np.uint8)  # the "dictionary" of levels and RLE booleans
PLAIN, PLAIN_DICTIONARY, RLE, DELTA_BINARY_PACKED, RLE_DICTIONARY, BYTE_STREAM_SPLIT = 0, 2, 3, 5, 8, 9
# PageHeader fields, flattened: what read_page_header fills
HEADER_FIELDS = 9
(PAGE_TYPE, UNCOMPRESSED_SIZE, COMPRESSED_SIZE, NUM_VALUES, ENCODING, LEVELS_ENCODING, DEFINITION_BYTES,
 REPETITION_BYTES, IS_COMPRESSED) = range(HEADER_FIELDS)


@numba.njit(cache=True, nogil=True)
def read_page_header(buf, pos, header, stack):  # pragma: no cover - compiled
    """Fill ``header`` from the PageHeader at ``pos`` (absent fields -1); return the position after it, or -1."""
    header[:] = -1
    header[IS_COMPRESSED] = 1  # DataPageHeaderV2's default
    last = np.int64(0)
    while pos >= 0:
        kind, last, pos = read_field(buf, pos, last)
        if kind == thrift.STOP or pos < 0:
            break
        if 1 <= last <= 3 and kind == thrift.I32:  # type, uncompressed_page_size, compressed_page_size
            value, pos = read_int(buf, pos)
            header[last - 1] = value
        elif (last == 5 or last == 7 or last == 8) and kind == thrift.STRUCT:
            inner = np.int64(0)
            while pos >= 0:
                inner_kind, inner, pos = read_field(buf, pos, inner)
                if inner_kind == thrift.STOP or pos < 0:
                    break
                if inner_kind == thrift.TRUE or inner_kind == thrift.FALSE:
                    if last == 8 and inner == 7:
                        header[IS_COMPRESSED] = 1 if inner_kind == thrift.TRUE else 0
                elif inner_kind == thrift.I32:
                    value, pos = read_int(buf, pos)
                    slot = _header_slot(last, inner)
                    if slot >= 0:
                        header[slot] = value
                else:
                    pos = thrift.skip(buf, pos, inner_kind, stack)
        else:
            pos = thrift.skip(buf, pos, kind, stack)
    if header[PAGE_TYPE] < 0 or header[COMPRESSED_SIZE] < 0 or header[UNCOMPRESSED_SIZE] < 0:
        return -1
    return pos


@numba.njit(cache=True, nogil=True, inline="always")
def _header_slot(header_field, field):  # pragma: no cover - compiled
    """Where a field of DataPageHeader (5), DictionaryPageHeader (7) or DataPageHeaderV2 (8) goes."""
    if field == 1:
        return NUM_VALUES
    if header_field == 5:
        return ENCODING if field == 2 else (LEVELS_ENCODING if field == 3 else -1)
    if header_field == 7:
        return ENCODING if field == 2 else -1
    if field == 4:
        return ENCODING
    if field == 5:
        return DEFINITION_BYTES
    if field == 6:
        return REPETITION_BYTES
    return -1


@numba.njit(cache=True, nogil=True)
def rle_hybrid(buf, pos, end, bit_width, count, dictionary, out):  # pragma: no cover - compiled
    """Decode ``count`` values of the RLE/bit-packed hybrid in ``buf[pos:end]`` as ``out[k] = dictionary[value]``.

    Used for dictionary indices (``dictionary`` the column's dictionary) and
    for levels and RLE booleans (``dictionary`` = [0, 1]). Returns 0, or -1
    when the bytes end early or a value is outside the dictionary.
    """
    if bit_width < 0 or bit_width > 32 or end > buf.size:
        return -1
    mask = (np.uint64(1) << np.uint64(bit_width)) - np.uint64(1)
    width = np.uint64(bit_width)
    size = np.uint64(dictionary.size)
    value_bytes = (bit_width + 7) // 8
    done = 0
    while done < count:
        header, pos = read_varint_within(buf, pos, end)  # the run's header
        if pos < 0 or header < 0 or header >> 36:
            return -1
        if header & 1:  # bit-packed: groups of 8 values
            values = (header >> 1) * 8
            nbytes = (header >> 1) * bit_width
            if nbytes > end - pos:
                return -1
            take = min(values, count - done)
            avail = end - pos  # values whose 8-byte load stays inside the buffer take the fast loop
            fast = 0 if avail < 8 or bit_width == 0 else min(take, ((avail - 8) * 8 + 7) // bit_width + 1)
            if fast and size == 0:
                return -1
            last = size - np.uint64(1) if size else np.uint64(0)
            largest = np.uint64(0)
            for k in range(fast):  # no branch: an index outside the dictionary is clamped, and reported after
                bit = np.uint64(k) * width
                word = load_u64(buf, pos + np.int64(bit >> np.uint64(3)))
                index = (word >> (bit & np.uint64(7))) & mask
                largest = max(largest, index)
                out[done + k] = dictionary[min(index, last)]
            if largest > last:
                return -1
            for k in range(fast, take):
                bit = k * bit_width
                index = np.uint64(0)
                for b in range(bit_width):
                    at = bit + b
                    index |= np.uint64((buf[pos + (at >> 3)] >> (at & 7)) & 1) << np.uint64(b)
                if index >= size:
                    return -1
                out[done + k] = dictionary[index]
            pos += nbytes
            done += take
        else:  # a run of one value
            repeat = header >> 1
            if value_bytes > end - pos:
                return -1
            index = np.uint64(0)
            for b in range(value_bytes):
                index |= np.uint64(buf[pos + b]) << np.uint64(8 * b)
            pos += value_bytes
            take = min(repeat, count - done)
            if take > 0 and index >= size:
                return -1
            for k in range(take):
                out[done + k] = dictionary[index]
            done += take
    return 0


@numba.njit(cache=True, nogil=True)
def _unpack_booleans(buf, pos, end, count, out):  # pragma: no cover - compiled
    """PLAIN booleans: one bit each, least significant first. Returns 0, or -1 when the bytes end early."""
    if pos + (count + 7) // 8 > end or end > buf.size:
        return -1
    for k in range(count):
        out[k] = (buf[pos + (k >> 3)] >> (k & 7)) & 1
    return 0


@numba.njit(cache=True, nogil=True)
def _plain(buf, pos, end, count, out):  # pragma: no cover - compiled
    """PLAIN numbers: ``count`` little-endian values of ``out``'s type. Returns 0, or -1 when the bytes end early."""
    size = count * out.itemsize
    if pos < 0 or count > out.size or size > end - pos or end > buf.size:
        return -1
    copy_bytes(out, 0, buf, pos, size)
    return 0


@numba.njit(cache=True, nogil=True)
def _join_byte_streams(buf, pos, end, count, out):  # pragma: no cover - compiled
    """BYTE_STREAM_SPLIT: byte b of value i is at ``b * count + i``. Returns 0, or -1 when the bytes end early."""
    width = out.itemsize
    if pos < 0 or count > out.size or count * width > end - pos or end > buf.size:
        return -1
    raw = out[:count].view(np.uint8)
    for i in range(count):
        for b in range(width):
            raw[width * i + b] = buf[pos + b * count + i]
    return 0


@numba.njit(cache=True, nogil=True)
def decode_values(buf, pos, end, count, encoding, is_boolean, dictionary, out):  # pragma: no cover - compiled
    """``count`` values of a data page's value section ``buf[pos:end]`` into ``out``. Returns 0, or -1."""
    if encoding == PLAIN:
        if is_boolean:
            return _unpack_booleans(buf, pos, end, count, out)
        return _plain(buf, pos, end, count, out)
    if encoding == BYTE_STREAM_SPLIT and not is_boolean:
        return _join_byte_streams(buf, pos, end, count, out)
    if encoding == DELTA_BINARY_PACKED and not is_boolean:
        return delta.decode(buf, pos, end, count, out)
    if encoding == PLAIN_DICTIONARY or encoding == RLE_DICTIONARY:
        if dictionary.size == 0 and count > 0 or pos >= end:
            return -1
        return rle_hybrid(buf, pos + 1, end, np.int64(buf[pos]), count, dictionary, out)
    if encoding == RLE and is_boolean:  # a 4-byte length, then the hybrid with bit width 1
        if end - pos < 4:
            return -1
        length = np.int64(buf[pos]) | (np.int64(buf[pos + 1]) << 8) | (np.int64(buf[pos + 2]) << 16) \
            | (np.int64(buf[pos + 3]) << 24)
        return rle_hybrid(buf, pos + 4, min(pos + 4 + length, end), 1, count, BIT_VALUES, out)
    return -1


@numba.njit(cache=True, nogil=True, inline="always")
def _one_run_of_ones(buf, pos, end, count):  # pragma: no cover - compiled
    """Whether 1-bit levels at ``buf[pos:end]`` start with one RLE run of at least ``count`` ones."""
    header, pos = read_varint_within(buf, pos, end)
    return 0 <= pos < end and (header & 1) == 0 and (header >> 1) >= count and buf[pos] == 1


@numba.njit(cache=True, nogil=True)
def decode_page(levels_buf, levels_start, levels_end, buf, values_start, values_end, count, encoding, is_boolean,
                dictionary, null, levels, scratch, out):  # pragma: no cover - compiled
    """One data page into ``out[:count]``: definition levels (when ``levels_end`` > ``levels_start``), then values.

    Rows whose level is 0 get ``null``. ``levels`` and ``scratch`` (the
    non-null values) are work space of at least ``count`` entries. Returns the
    number of nulls, or -1 when the page does not decode.
    """
    if levels_end <= levels_start:
        return 0 if decode_values(buf, values_start, values_end, count, encoding, is_boolean, dictionary, out) == 0 \
            else -1
    if levels_end > levels_buf.size:
        return -1
    if _one_run_of_ones(levels_buf, levels_start, levels_end, count):  # no nulls: the usual case, no level array
        present = count
    else:
        if rle_hybrid(levels_buf, levels_start, levels_end, 1, count, BIT_VALUES, levels) != 0:
            return -1
        present = 0
        for i in range(count):
            present += levels[i]
    if present == count:
        return 0 if decode_values(buf, values_start, values_end, count, encoding, is_boolean, dictionary, out) == 0 \
            else -1
    if decode_values(buf, values_start, values_end, present, encoding, is_boolean, dictionary, scratch) != 0:
        return -1
    k = 0
    for i in range(count):
        if levels[i]:
            out[i] = scratch[k]
            k += 1
        else:
            out[i] = null
    return count - present
