"""log10 in a compiled loop: libm's (numba's np.log10), numpy's own SIMD ufunc, and pzmpi's (pzmpi/photometry/log10.py).

    python bench/log10_speed.py [--values 4000000] [--repeats 10]

ns per value (wall time, pinned to CPU 1, best of the repeats) on fluxes spread
over 1e-3 to 1e9 nJy, and each one's largest error in ulps against the exact
value (40-digit decimal arithmetic, on every 200th value).
"""

from __future__ import annotations

import argparse
import os
import time
from decimal import Decimal, localcontext

import numba
import numpy as np

from pzmpi.photometry.log10 import log10


@numba.njit(cache=True, error_model="numpy")
def with_libm(values, out):
    for i in range(values.size):
        out[i] = np.log10(values[i])


@numba.njit(cache=True, error_model="numpy")
def with_pzmpi(values, out):
    for i in range(values.size):
        out[i] = log10(values[i])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--values", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    values = 10 ** np.random.default_rng(0).uniform(-3, 9, args.values)
    out = np.empty_like(values)
    ways = {"libm (numba's np.log10)": lambda: with_libm(values, out),
            "numpy's ufunc": lambda: np.log10(values, out=out),
            "pzmpi.log10": lambda: with_pzmpi(values, out)}
    with localcontext() as context:
        context.prec = 40
        exact = np.array([float(Decimal(v).log10()) for v in values[::200]])
    print(f"{'log10':<26}{'ns/value':>10}{'max ulps':>10}")
    for name, way in ways.items():
        way()
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            way()
            best = min(best, time.perf_counter() - start)
        ulps = np.max(np.abs(out[::200] - exact) / np.spacing(np.abs(exact)))
        print(f"{name:<26}{best / values.size * 1e9:>10.2f}{ulps:>10.1f}")


if __name__ == "__main__":
    main()
