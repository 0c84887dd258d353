"""Exact sums of float64 arrays: the same bits whatever the order of the terms, hence whatever the ranks.

A run's statistics (stacked PDFs, per-bin sums) are sums over pieces that
different ranks hold. Floating-point addition is not associative, so a sum
taken in rank order would change with the number of ranks. Here every float64
term is turned into the integer it is a multiple of 2^-1074 (the smallest
subnormal), exactly; integers add exactly in any order, and the total is
rounded to float64 once, at the end (Python's int division rounds correctly).
"""

from __future__ import annotations

import numpy as np

SCALE_BITS = 1074  # every finite float64 is an integer multiple of 2^-1074
MANTISSA_BITS = 53


def exact_integers(values: np.ndarray) -> np.ndarray:
    """Each finite float64 of ``values`` as the exact Python int ``value * 2**1074`` (an object array)."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("exact sums take finite values only")
    fractions, exponents = np.frexp(values)
    mantissas = np.ldexp(fractions, MANTISSA_BITS).astype(np.int64)  # exact: |fraction| < 1 holds 53 bits
    shifts = exponents.astype(np.int64) - MANTISSA_BITS + SCALE_BITS
    flat = [m << s if s >= 0 else m >> -s for m, s in zip(mantissas.ravel().tolist(), shifts.ravel().tolist())]
    result = np.empty(values.size, dtype=object)
    result[:] = flat
    return result.reshape(values.shape)


class ExactSum:
    """A running exact sum of float64 arrays of one shape; ``+`` merges two sums (any order, same result)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.total = np.zeros(shape, dtype=object)  # Python int zeros

    def add(self, values: np.ndarray) -> None:
        """Add ``values`` (finite float64, this sum's shape) exactly."""
        self.total = self.total + exact_integers(values)

    def __add__(self, other: ExactSum) -> ExactSum:
        merged = ExactSum(self.total.shape)
        merged.total = self.total + other.total
        return merged

    def value(self) -> np.ndarray:
        """The sum, rounded to the nearest float64 once."""
        denominator = 1 << SCALE_BITS
        return np.array([n / denominator for n in self.total.ravel().tolist()], dtype=np.float64).reshape(
            self.total.shape)
