"""A column chunk decoded in compiled code, many pages per call: the reader's one path through pages.

``advance`` reads page headers, decompresses snappy pages (``pzmpi.parquet.snappy``)
and decodes (``pzmpi.parquet.pages``) until it has the rows asked for, decoding
each data page straight into the caller's array when the page fits, else into
a pending buffer whose rest the next call hands out first. Pages wholly before
the rows asked for are passed over without being decompressed.

Every size a page claims is checked against the bytes that hold it before
anything is allocated, and a page may hold at most MAX_PAGE_VALUES values, so
that a damaged or hostile file costs no more memory than a sane one: Arrow,
which decodes in bounded batches, reads whatever is refused here.

``state`` (int64, STATE_FIELDS) holds the position in the chunk: the next page
header, the values the chunk's pages still hold, and the pending buffer's
unread range. Work arrays that may have to grow are returned, for the caller to
pass back.
"""

from __future__ import annotations

import numba
import numpy as np

from pzmpi.parquet import pages, snappy
from pzmpi.parquet.pages import (COMPRESSED_SIZE, DATA_PAGE, DATA_PAGE_V2, DEFINITION_BYTES, DICTIONARY_PAGE,
                                 ENCODING, INDEX_PAGE, IS_COMPRESSED, LEVELS_ENCODING, NUM_VALUES, PAGE_TYPE, PLAIN,
                                 PLAIN_DICTIONARY, REPETITION_BYTES, RLE, UNCOMPRESSED_SIZE)

POSITION, LEFT, PENDING_START, PENDING_STOP = range(4)
STATE_FIELDS = 4
OK, MALFORMED = 0, -1
MAX_PAGE_VALUES = 1 << 24  # far above what writers put in a page (Arrow: 20,000 rows or 1 MiB)
SNAPPY_MAX_RATIO = 32  # a snappy stream expands at most about 21 times (a 3-byte copy of 64 bytes)


def new_state(num_values: int) -> np.ndarray:
    """The state of a chunk not read yet, whose pages hold ``num_values`` values in all."""
    state = np.zeros(STATE_FIELDS, dtype=np.int64)
    state[LEFT] = num_values
    return state


@numba.njit(cache=True, nogil=True)
def _grown(array, size):  # pragma: no cover - compiled
    return array if array.size >= size else np.empty(size, dtype=array.dtype)


@numba.njit(cache=True, nogil=True)
def _body(buf, start, end, size, snappy_pages, page):  # pragma: no cover - compiled
    """A page's stored bytes ``buf[start:end]``, holding ``size`` bytes once decompressed, as
    (bytes, start, end, page); end is -1 when they do not decode to exactly ``size`` bytes."""
    if not snappy_pages:
        return buf, start, end if end - start == size else -1, page
    if size < 0 or size > SNAPPY_MAX_RATIO * (end - start) + 64:
        return page, 0, -1, page
    page = _grown(page, size)
    length = snappy.decompress(buf, start, end, page)
    return page, 0, length if length == size else -1, page


@numba.njit(cache=True, nogil=True)
def advance(buf, state, snappy_pages, is_boolean, optional, null, header, stack, dictionary, pending, page, levels,
            values, out, count):  # pragma: no cover - compiled
    """The next ``count`` rows into ``out[:count]``, or passed over when ``out`` is empty.

    ``snappy_pages``: the chunk's pages are snappy-compressed (else not compressed).
    Returns (status, nulls, dictionary, pending, page, levels, values): status
    OK or MALFORMED, and the nulls in the pages decoded.
    """
    skipping = out.size == 0
    filled = min(count, state[PENDING_STOP] - state[PENDING_START])
    if not skipping:
        out[:filled] = pending[state[PENDING_START]:state[PENDING_START] + filled]
    state[PENDING_START] += filled
    nulls = 0
    itemsize = dictionary.itemsize
    while filled < count:
        if state[LEFT] <= 0:
            return MALFORMED, nulls, dictionary, pending, page, levels, values
        start = pages.read_page_header(buf, state[POSITION], header, stack)
        if start < 0 or header[COMPRESSED_SIZE] > buf.size - start:
            return MALFORMED, nulls, dictionary, pending, page, levels, values
        end = start + header[COMPRESSED_SIZE]
        state[POSITION] = end
        kind = header[PAGE_TYPE]
        n = header[NUM_VALUES]
        if kind == INDEX_PAGE:
            continue
        if kind == DICTIONARY_PAGE:
            if n < 0 or n > MAX_PAGE_VALUES or (header[ENCODING] != PLAIN and header[ENCODING] != PLAIN_DICTIONARY):
                return MALFORMED, nulls, dictionary, pending, page, levels, values
            if ((n + 7) // 8 if is_boolean else n * itemsize) > header[UNCOMPRESSED_SIZE]:
                return MALFORMED, nulls, dictionary, pending, page, levels, values
            body, body_start, body_end, page = _body(buf, start, end, header[UNCOMPRESSED_SIZE], snappy_pages, page)
            if body_end < 0:
                return MALFORMED, nulls, dictionary, pending, page, levels, values
            dictionary = np.empty(n, dtype=dictionary.dtype)
            if pages.decode_values(body, body_start, body_end, n, PLAIN, is_boolean, dictionary, dictionary) != 0:
                return MALFORMED, nulls, dictionary, pending, page, levels, values
            continue
        if (kind != DATA_PAGE and kind != DATA_PAGE_V2) or n <= 0 or n > state[LEFT] or n > MAX_PAGE_VALUES:
            return MALFORMED, nulls, dictionary, pending, page, levels, values
        state[LEFT] -= n
        if skipping and filled + n <= count:  # wholly before the rows asked for: not even decompressed
            filled += n
            continue
        if kind == DATA_PAGE:
            body, body_start, body_end, page = _body(buf, start, end, header[UNCOMPRESSED_SIZE], snappy_pages, page)
            if body_end < 0:
                return MALFORMED, nulls, dictionary, pending, page, levels, values
            levels_buf, levels_start, levels_end, values_start = body, body_start, body_start, body_start
            if optional:
                if header[LEVELS_ENCODING] != RLE or body_end - body_start < 4:
                    return MALFORMED, nulls, dictionary, pending, page, levels, values
                length = np.int64(body[body_start]) | (np.int64(body[body_start + 1]) << 8) \
                    | (np.int64(body[body_start + 2]) << 16) | (np.int64(body[body_start + 3]) << 24)
                levels_start, levels_end = body_start + 4, body_start + 4 + length
                values_start = levels_end
        else:
            definition = header[DEFINITION_BYTES]
            size = header[UNCOMPRESSED_SIZE] - definition
            if header[REPETITION_BYTES] != 0 or definition < 0 or definition > end - start or size < 0:
                return MALFORMED, nulls, dictionary, pending, page, levels, values
            levels_buf, levels_start = buf, start
            levels_end = start + definition if optional else start
            compressed = snappy_pages and header[IS_COMPRESSED] != 0
            body, values_start, body_end, page = _body(buf, start + definition, end, size, compressed, page)
            if body_end < 0:
                return MALFORMED, nulls, dictionary, pending, page, levels, values
        if optional:
            levels = _grown(levels, n)
            values = _grown(values, n)
        direct = not skipping and filled + n <= count
        if not direct:
            pending = _grown(pending, n)
        target = out[filled:filled + n] if direct else pending[:n]
        page_nulls = pages.decode_page(levels_buf, levels_start, levels_end, body, values_start, body_end, n,
                                       header[ENCODING], is_boolean, dictionary, null, levels, values, target)
        if page_nulls < 0:
            return MALFORMED, nulls, dictionary, pending, page, levels, values
        nulls += page_nulls  # of the whole page, even when part of it is handed out later
        if direct:
            filled += n
        else:
            used = count - filled
            if not skipping:
                out[filled:count] = pending[:used]
            state[PENDING_START], state[PENDING_STOP] = used, n
            filled = count
    return OK, nulls, dictionary, pending, page, levels, values
