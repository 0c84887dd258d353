"""numpy's summation order, compiled: where a sum decides a result, the native kernels add as numpy does.

numpy adds a contiguous float64 run pairwise: runs of at most 128 values with 8
interleaved accumulators, longer runs halved at a multiple of 8. Bisections and
normalisations compared with a tolerance (flexcode's, BPZ's) then take the same
branches as RAIL's numpy code.
"""

from __future__ import annotations

import numba
import numpy as np

PAIRWISE_BLOCK = 128  # numpy's PW_BLOCKSIZE: sums up to this length use 8 interleaved accumulators


def summation_plan(n: int) -> np.ndarray:
    """numpy's pairwise-summation tree for ``n`` contiguous float64 values, children before parents.

    One row per node: (start, length, left child, right child), children -1
    for a leaf (a block of at most PAIRWISE_BLOCK values). numpy halves longer
    runs at a multiple of 8. The kernels follow this plan instead of recursing:
    numba's on-disk cache crashes on recursive functions (numba issue #6061).
    """
    nodes: list[tuple[int, int, int, int]] = []

    def visit(start: int, length: int) -> int:
        if length <= PAIRWISE_BLOCK:
            nodes.append((start, length, -1, -1))
        else:
            half = length // 2 - (length // 2) % 8
            left = visit(start, half)
            right = visit(start + half, length - half)
            nodes.append((start, length, left, right))
        return len(nodes) - 1

    visit(0, n)
    return np.array(nodes, dtype=np.int64)


@numba.njit(cache=True, nogil=True)
def block_sum(values, start, n):  # pragma: no cover - compiled
    """numpy's sum of at most PAIRWISE_BLOCK values: 8 interleaved accumulators, then the remainder in turn."""
    if n < 8:
        total = 0.0
        for i in range(start, start + n):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = 8
    while i < n - n % 8:
        k = start + i
        r0 += values[k]
        r1 += values[k + 1]
        r2 += values[k + 2]
        r3 += values[k + 3]
        r4 += values[k + 4]
        r5 += values[k + 5]
        r6 += values[k + 6]
        r7 += values[k + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += values[start + i]
        i += 1
    return total


@numba.njit(cache=True, nogil=True)
def pairwise_sum(values, plan, sums):  # pragma: no cover - compiled
    """np.sum(values) bit for bit, following ``summation_plan(values.size)``; ``sums`` holds one value per node."""
    for k in range(plan.shape[0]):
        if plan[k, 2] < 0:
            sums[k] = block_sum(values, plan[k, 0], plan[k, 1])
        else:
            sums[k] = sums[plan[k, 2]] + sums[plan[k, 3]]
    return sums[plan.shape[0] - 1]
