"""Sharding: who does what, as pure functions of the work's sizes and the number of ranks.

Each function is deterministic (ties broken by index), so that every rank
computes or receives the same assignment, and the work itself (pieces, files,
ids) never depends on the number of ranks: only who does it does.
"""

from __future__ import annotations

import heapq

import numpy as np


def assign_pieces(piece_rows: list[int], n_ranks: int) -> list[list[int]]:
    """Balance rows over ranks: largest piece first onto the least-loaded rank.

    Deterministic (ties go to the lower piece index and the lower rank); each
    rank's list is returned in piece order so that it reads its files in order.
    """
    loads = [(0, rank) for rank in range(n_ranks)]
    heapq.heapify(loads)
    assignment: list[list[int]] = [[] for _ in range(n_ranks)]
    for index in sorted(range(len(piece_rows)), key=lambda i: (-piece_rows[i], i)):
        load, rank = heapq.heappop(loads)
        assignment[rank].append(index)
        heapq.heappush(loads, (load + piece_rows[index], rank))
    return [sorted(indices) for indices in assignment]


def assign_in_order(piece_rows: list[int], n_ranks: int) -> list[list[int]]:
    """Cut the pieces, kept in plan order, into ``n_ranks`` consecutive runs of about equal rows.

    A piece goes to the rank whose share of the rows holds the piece's middle
    row, so each rank's load is within one piece of an equal share. The pieces
    of one file stay together on as few ranks as possible, and a rank can read
    its pieces of a file in one pass.
    """
    total = sum(piece_rows)
    assignment: list[list[int]] = [[] for _ in range(n_ranks)]
    start = 0
    for index, rows in enumerate(piece_rows):
        middle_twice = 2 * start + rows  # twice the middle row: integers only, hence exact and deterministic
        assignment[min(n_ranks - 1, middle_twice * n_ranks // (2 * max(total, 1)))].append(index)
        start += rows
    return assignment


BLOCK = 1 << 20  # values hashed per step, to bound the temporaries


def mix64(values: np.ndarray, seed: int = 0) -> np.ndarray:
    """splitmix64's finaliser of each int64 value offset by ``seed`` (as uint64): bits that look random.

    Rubin ids encode tract and patch in their bits; mixing spreads them evenly,
    and the same value always gives the same bits, on any rank.
    """
    out = np.empty(values.size, dtype=np.uint64)
    offset = np.uint64(seed * 0x9E3779B97F4A7C15 % (1 << 64))  # Python ints: no overflow warning
    for start in range(0, values.size, BLOCK):
        x = np.asarray(values[start:start + BLOCK], dtype=np.int64).view(np.uint64) + offset
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out[start:start + BLOCK] = x ^ (x >> np.uint64(31))
    return out


def owner_ranks(ids: np.ndarray, size: int) -> np.ndarray:
    """The rank (int32) that owns each id: ``mix64`` of the id, modulo ``size``."""
    return (mix64(ids) % np.uint64(size)).astype(np.int32)


def uniform_of(ids: np.ndarray, seed: int) -> np.ndarray:
    """A number in [0, 1) per id that depends only on the id and ``seed`` (the top 53 bits of ``mix64``)."""
    return (mix64(ids, seed) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
