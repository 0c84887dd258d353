"""Native BPZ's vectorisable exp against libm's scalar exp, on the values one object needs.

    taskset -c 1 python bench/bpz_exp.py

Both run in numba over 2,408 values in [-700, 0] (8 templates x 301 redshifts, as
the likelihood of one object), many times; the largest difference in ulp is printed too.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np

from pzmpi.estimators.native.bpz import _exp_in_place

VALUES = 2408
REPEATS = 20000


@numba.njit(cache=True)
def _libm_exp(values, out):  # pragma: no cover - compiled
    for k in range(values.size):
        out[k] = math.exp(values[k])


def best_seconds(run, repeats: int = 5) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    x = np.random.default_rng(0).uniform(-700.0, 0.0, VALUES)
    work, out, bits = x.copy(), np.empty(VALUES), np.empty(VALUES, dtype=np.int64)
    _exp_in_place(work, bits)
    _libm_exp(x, out)

    def native() -> None:
        for _ in range(REPEATS):
            work[:] = x
            _exp_in_place(work, bits)

    def libm() -> None:
        for _ in range(REPEATS):
            _libm_exp(x, out)

    native_s, libm_s = best_seconds(native), best_seconds(libm)
    work[:] = x
    _exp_in_place(work, bits)
    reference = np.exp(x)
    ulp = np.max(np.abs(work - reference) / np.spacing(reference))
    per = REPEATS * VALUES
    print(f"native exp {native_s / per * 1e9:.2f} ns/value, libm exp {libm_s / per * 1e9:.2f} ns/value: "
          f"{libm_s / native_s:.1f}x; largest difference from numpy's exp {ulp:.1f} ulp")


if __name__ == "__main__":
    main()
