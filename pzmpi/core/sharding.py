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


OWNER_BLOCK = 1 << 20  # ids hashed per step, to bound the temporaries


def owner_ranks(ids: np.ndarray, size: int) -> np.ndarray:
    """The rank (int32) that owns each id: splitmix64's finaliser of the id, modulo ``size``.

    Mixing spreads ids whose low bits follow a pattern (Rubin ids encode tract and
    patch) evenly over ranks; the same id always goes to the same rank.
    """
    owners = np.empty(ids.size, dtype=np.int32)
    for start in range(0, ids.size, OWNER_BLOCK):
        x = np.asarray(ids[start:start + OWNER_BLOCK], dtype=np.int64).view(np.uint64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
        owners[start:start + OWNER_BLOCK] = x % np.uint64(size)
    return owners
