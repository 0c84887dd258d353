"""Point estimates of gridded PDFs, computed for a whole chunk in one compiled pass.

Definitions (docs/output.md), for p sampled on a uniform grid z:

* zmode: the grid point of the largest p (the first one on ties), as qp's ``mode``;
* zmean: sum(z p) / sum(p);
* zmedian, z_lo68, z_hi68: where the trapezoid-integrated CDF reaches 0.5,
  0.16 and 0.84, linearly interpolated between grid points.

A PDF with no positive mass (all zeros or NaN) gets NaN for every estimate.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _summarize(pdfs, grid, levels, out, mass):  # pragma: no cover - compiled
    n, nz = pdfs.shape
    cdf = np.empty(nz)
    for i in range(n):
        best = 0
        total = 0.0
        moment = 0.0
        ok = True
        for j in range(nz):
            p = np.float64(pdfs[i, j])  # float32 PDFs are summed in float64, as if converted first
            if not np.isfinite(p):
                ok = False
                break
            if p > pdfs[i, best]:
                best = j
            total += p
            moment += p * grid[j]
        if not ok or total <= 0.0:
            out[i, :] = np.nan
            mass[i] = 0.0
            continue
        out[i, 0] = grid[best]
        out[i, 1] = moment / total
        cdf[0] = 0.0
        for j in range(1, nz):
            cdf[j] = cdf[j - 1] + 0.5 * (np.float64(pdfs[i, j]) + np.float64(pdfs[i, j - 1])) * (grid[j] - grid[j - 1])
        norm = cdf[nz - 1]
        mass[i] = norm
        if norm <= 0.0:  # positive sum but no area: negative values cancel it
            out[i, 2:] = grid[best]
            continue
        j = 1
        for k in range(levels.size):  # levels increase, so the search goes on from where it stopped
            target = levels[k] * norm
            while j < nz - 1 and cdf[j] < target:
                j += 1
            step = cdf[j] - cdf[j - 1]
            frac = (target - cdf[j - 1]) / step if step > 0.0 else 0.0
            out[i, 2 + k] = grid[j - 1] + frac * (grid[j] - grid[j - 1])


def summarize(pdfs: np.ndarray, grid: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: (zmode, zmean, where the CDF reaches each of the increasing ``levels``), and the area on the grid.

    The first array is (rows, 2 + len(levels)); a row with no positive mass is NaN there and has area 0.
    """
    out = np.empty((pdfs.shape[0], 2 + len(levels)))
    mass = np.empty(pdfs.shape[0])
    if pdfs.dtype != np.float32:  # float32 (stored PDFs) is read as it is; anything else as float64
        pdfs = np.asarray(pdfs, dtype=np.float64)
    _summarize(np.ascontiguousarray(pdfs), np.asarray(grid, dtype=np.float64),
               np.asarray(levels, dtype=np.float64), out, mass)
    return out, mass


def compile_kernel() -> None:
    """Compile (or load from numba's on-disk cache) the point-estimate kernel."""
    point_estimates(np.ones((1, 2)), np.array([0.0, 1.0]))


def point_estimates(pdfs: np.ndarray, grid: np.ndarray) -> dict[str, np.ndarray]:
    """zmode, zmean, zmedian and the central 68% interval of each row of ``pdfs``."""
    out, _ = summarize(pdfs, grid, np.array([0.16, 0.5, 0.84]))
    return {"zmode": out[:, 0], "zmean": out[:, 1], "z_lo68": out[:, 2], "zmedian": out[:, 3], "z_hi68": out[:, 4]}
