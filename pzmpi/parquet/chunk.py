"""A column chunk decoded in compiled code, many pages per call: the reader's one path through pages.

``advance`` reads page headers, decompresses and decodes (``pzmpi.parquet.pages``)
until it has the rows asked for, decoding each data page straight into the
caller's array when the page fits, else into a pending buffer whose rest the
next call hands out first. Pages wholly before the rows asked for are passed
over without being decompressed.

Snappy pages (Rubin's catalogs) are decompressed inside (``pzmpi.parquet.snappy``).
For other codecs ``advance`` stops at each compressed page and returns
NEEDS_PAGE with the page's byte range in ``state``; the caller decompresses it
into ``page`` (Arrow does) and calls again, which resumes where it stopped.

``state`` (int64, STATE_FIELDS) holds the position in the chunk: the next
page header, the values the chunk's pages still hold, the pending buffer's
unread range, the rows of the current request already filled, and the page
the caller was asked to decompress (its byte range, its size, -1 while not
done). Work arrays that may have to grow are returned, for the caller to pass back.
"""

from __future__ import annotations

import numba
import numpy as np

from pzmpi.parquet import pages, snappy
from pzmpi.parquet.pages import (COMPRESSED_SIZE, DATA_PAGE, DATA_PAGE_V2, DEFINITION_BYTES, DICTIONARY_PAGE,
                                 ENCODING, INDEX_PAGE, IS_COMPRESSED, LEVELS_ENCODING, NUM_VALUES, PAGE_TYPE, PLAIN,
                                 PLAIN_DICTIONARY, REPETITION_BYTES, RLE, UNCOMPRESSED_SIZE)

(POSITION, LEFT, PENDING_START, PENDING_STOP, FILLED, REQUEST_START, REQUEST_END, REQUEST_SIZE,
 DECOMPRESSED) = range(9)
STATE_FIELDS = 9
UNCOMPRESSED, SNAPPY, BY_CALLER = 0, 1, 2  # who decompresses pages
OK, MALFORMED, NEEDS_PAGE = 0, -1, 1


def new_state(num_values: int) -> np.ndarray:
    """The state of a chunk not read yet, whose pages hold ``num_values`` values in all."""
    state = np.zeros(STATE_FIELDS, dtype=np.int64)
    state[LEFT] = num_values
    state[DECOMPRESSED] = -1
    return state


@numba.njit(cache=True, nogil=True)
def _grown(array, size):  # pragma: no cover - compiled
    return array if array.size >= size else np.empty(size, dtype=array.dtype)


@numba.njit(cache=True, nogil=True)
def _body(buf, start, end, size, codec, state, page):  # pragma: no cover - compiled
    """A page's compressed bytes ``buf[start:end]`` as (bytes, start, end, page); end -1 if they do not decode,
    -2 when the caller must decompress them first (their range and ``size`` are then in ``state``)."""
    if codec == UNCOMPRESSED:
        return buf, start, end if end - start == size else -1, page
    if codec == SNAPPY:
        page = _grown(page, size)
        length = snappy.decompress(buf, start, end, page)
        return page, 0, length if length == size else -1, page
    if state[DECOMPRESSED] < 0:
        state[REQUEST_START], state[REQUEST_END], state[REQUEST_SIZE] = start, end, size
        return page, 0, -2, page
    length = state[DECOMPRESSED]
    state[DECOMPRESSED] = -1
    return page, 0, length if length == size else -1, page


@numba.njit(cache=True, nogil=True)
def advance(buf, state, codec, is_boolean, optional, null, header, stack, dictionary, pending, page, levels,
            values, out, count):  # pragma: no cover - compiled
    """The next ``count`` rows into ``out[:count]``, or passed over when ``out`` is empty.

    Returns (status, nulls, dictionary, pending, page, levels, values): status
    OK, MALFORMED or NEEDS_PAGE (decompress the page ``state`` names into
    ``page``, set ``state[DECOMPRESSED]`` to its length, call again with the
    same ``out`` and ``count``), and the nulls in the pages decoded.
    """
    skipping = out.size == 0
    filled = state[FILLED]
    step = min(count - filled, state[PENDING_STOP] - state[PENDING_START])
    if not skipping:
        out[filled:filled + step] = pending[state[PENDING_START]:state[PENDING_START] + step]
    state[PENDING_START] += step
    filled += step
    nulls = 0
    while filled < count:
        if state[LEFT] <= 0:
            return MALFORMED, nulls, dictionary, pending, page, levels, values
        start = pages.read_page_header(buf, state[POSITION], header, stack)
        end = start + header[COMPRESSED_SIZE]
        if start < 0 or end > buf.size:
            return MALFORMED, nulls, dictionary, pending, page, levels, values
        kind = header[PAGE_TYPE]
        n = header[NUM_VALUES]
        if kind == INDEX_PAGE:
            state[POSITION] = end
            continue
        if kind == DICTIONARY_PAGE:
            if n < 0 or (header[ENCODING] != PLAIN and header[ENCODING] != PLAIN_DICTIONARY):
                return MALFORMED, nulls, dictionary, pending, page, levels, values
            body, body_start, body_end, page = _body(buf, start, end, header[UNCOMPRESSED_SIZE], codec, state, page)
            if body_end == -2:
                state[FILLED] = filled
                return NEEDS_PAGE, nulls, dictionary, pending, page, levels, values
            dictionary = np.empty(n, dtype=dictionary.dtype)
            if body_end < 0 or pages.decode_values(body, body_start, body_end, n, PLAIN, is_boolean, dictionary,
                                                   dictionary) != 0:
                return MALFORMED, nulls, dictionary, pending, page, levels, values
            state[POSITION] = end
            continue
        if (kind != DATA_PAGE and kind != DATA_PAGE_V2) or n <= 0 or n > state[LEFT]:
            return MALFORMED, nulls, dictionary, pending, page, levels, values
        if skipping and filled + n <= count:  # wholly before the rows asked for: not even decompressed
            state[POSITION] = end
            state[LEFT] -= n
            filled += n
            continue
        if kind == DATA_PAGE:
            body, body_start, body_end, page = _body(buf, start, end, header[UNCOMPRESSED_SIZE], codec, state, page)
            levels_buf, levels_start, levels_end, values_start = body, body_start, body_start, body_start
            if optional and body_end >= 0:
                if header[LEVELS_ENCODING] != RLE or body_end - body_start < 4:
                    return MALFORMED, nulls, dictionary, pending, page, levels, values
                length = np.int64(body[body_start]) | (np.int64(body[body_start + 1]) << 8) \
                    | (np.int64(body[body_start + 2]) << 16) | (np.int64(body[body_start + 3]) << 24)
                levels_start, levels_end = body_start + 4, body_start + 4 + length
                values_start = levels_end
        else:
            definition = header[DEFINITION_BYTES]
            if header[REPETITION_BYTES] != 0 or definition < 0 or definition > end - start:
                return MALFORMED, nulls, dictionary, pending, page, levels, values
            levels_buf, levels_start = buf, start
            levels_end = start + definition if optional else start
            size = header[UNCOMPRESSED_SIZE] - definition
            if header[IS_COMPRESSED] == 0 or codec == UNCOMPRESSED:
                body, values_start, body_end = buf, start + definition, end
                if end - start - definition != size:
                    body_end = -1
            else:
                body, values_start, body_end, page = _body(buf, start + definition, end, size, codec, state, page)
        if body_end == -2:
            state[FILLED] = filled
            return NEEDS_PAGE, nulls, dictionary, pending, page, levels, values
        if body_end < 0:
            return MALFORMED, nulls, dictionary, pending, page, levels, values
        state[POSITION] = end
        state[LEFT] -= n
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
    state[FILLED] = 0
    return OK, nulls, dictionary, pending, page, levels, values
