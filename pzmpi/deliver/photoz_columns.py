"""A code's columns in the federated table, from its gridded PDFs: pure functions of one chunk.

The point columns are those of Rubin's DP1 ``object_photoz`` table, computed
the way pzmpi's point estimates are (docs/output.md): the mode is the grid
point of the largest p, the mean sum(z p) / sum(p), and the median and the
68% and 95% bounds are where the trapezoid-integrated CDF reaches 0.5, 0.16 /
0.84 and 0.025 / 0.975, linearly interpolated between grid points.

The compact PDF is a set of quantiles at fixed levels (qp's ``quant``
representation); docs/publish.md gives the levels and how qp rebuilds a PDF
from them. The flags column says what a user must know before trusting a row:
no PDF, mass outside the grid, and the bands that were non-detections.
"""

from __future__ import annotations

import numba
import numpy as np

POINT_LEVELS = {"z_err95_low": 0.025, "z_err68_low": 0.16, "z_median": 0.5, "z_err68_high": 0.84,
                "z_err95_high": 0.975}
POINT_COLUMNS = ("z_median", "z_mean", "z_mode", "z_err68_low", "z_err68_high", "z_err95_low", "z_err95_high")

FLAG_NO_PDF = 1  # the PDF is NaN somewhere, or has no positive mass
FLAG_MASS_OUTSIDE_GRID = 2  # more than MASS_OUTSIDE_LIMIT of the PDF lies outside the grid
NONDETECTION_SHIFT = 8  # bits 8 to 23: band b of the run's input.bands was a non-detection
MASS_OUTSIDE_LIMIT = 0.01  # the run's results report counts the same objects


def quantile_levels(count: int) -> np.ndarray:
    """``count`` levels evenly inside (0, 1): the centres of ``count`` equal slices of probability."""
    return (np.arange(count) + 0.5) / count


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
            p = pdfs[i, j]
            if not np.isfinite(p):
                ok = False
                break
            if p > pdfs[i, best]:
                best = j
            total += p
            moment += p * grid[j]
        cdf[0] = 0.0
        if ok:
            for j in range(1, nz):
                cdf[j] = cdf[j - 1] + 0.5 * (pdfs[i, j] + pdfs[i, j - 1]) * (grid[j] - grid[j - 1])
        norm = cdf[nz - 1] if ok else 0.0
        mass[i] = norm
        if not ok or total <= 0.0 or norm <= 0.0:
            out[i, :] = np.nan
            continue
        out[i, 0] = grid[best]
        out[i, 1] = moment / total
        j = 1
        for k in range(levels.size):  # levels increase, so the search goes on from where it stopped
            target = levels[k] * norm
            while j < nz - 1 and cdf[j] < target:
                j += 1
            step = cdf[j] - cdf[j - 1]
            frac = (target - cdf[j - 1]) / step if step > 0.0 else 0.0
            out[i, 2 + k] = grid[j - 1] + frac * (grid[j] - grid[j - 1])


def compile_kernel() -> None:
    """Compile (or load from numba's on-disk cache) the summarising kernel."""
    code_columns(np.ones((1, 2), np.float32), np.array([0.0, 1.0]), np.zeros(1, np.uint16), 2)


def code_columns(pdfs: np.ndarray, grid: np.ndarray, nondetected_bands: np.ndarray,
                 quantile_count: int) -> dict[str, np.ndarray]:
    """The point columns (float32), ``flags`` (uint32) and ``pdf_quantiles`` ((rows, count) float32) of a chunk.

    Every row is computed on its own, in a fixed order: a row's values do not
    depend on the chunk it came in.
    """
    point_levels = np.array(sorted(POINT_LEVELS.values()))
    levels = np.sort(np.concatenate((point_levels, quantile_levels(quantile_count))))
    out = np.empty((pdfs.shape[0], 2 + levels.size))
    mass = np.empty(pdfs.shape[0])
    _summarize(np.ascontiguousarray(pdfs), np.asarray(grid, dtype=np.float64), levels, out, mass)
    at_level = {float(level): out[:, 2 + k] for k, level in enumerate(levels)}
    columns = {"z_mode": out[:, 0], "z_mean": out[:, 1]}
    columns.update({name: at_level[level] for name, level in POINT_LEVELS.items()})
    result = {name: columns[name].astype(np.float32) for name in POINT_COLUMNS}
    no_pdf = np.isnan(out[:, 0])
    flags = np.where(no_pdf, FLAG_NO_PDF, 0).astype(np.uint32)
    flags |= np.where(~no_pdf & (1.0 - mass > MASS_OUTSIDE_LIMIT), FLAG_MASS_OUTSIDE_GRID, 0).astype(np.uint32)
    flags |= nondetected_bands.astype(np.uint32) << np.uint32(NONDETECTION_SHIFT)
    result["flags"] = flags
    result["pdf_quantiles"] = np.stack([at_level[float(level)] for level in quantile_levels(quantile_count)],
                                       axis=1).astype(np.float32)
    return result
