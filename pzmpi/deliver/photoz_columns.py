"""A code's columns in the federated table, from its gridded PDFs: pure functions of one chunk.

The point columns are those of Rubin's DP1 ``object_photoz`` table, computed
the way pzmpi's point estimates are (docs/output.md): the mode is the grid
point of the largest p, the mean sum(z p) / sum(p), and the median and the
68% and 95% bounds are where the trapezoid-integrated CDF reaches 0.5, 0.16 /
0.84 and 0.025 / 0.975, linearly interpolated between grid points.

Point values keep 14 bits of float32's 23-bit mantissa (a relative error
below 3.1e-5, a thousandth of the grid's spacing at z = 0.3): the dropped bits
are noise that compression cannot shrink.

The compact PDF is qp's ``packed_interp`` on the run's grid: each row's
maximum (float32) and every grid value as a byte, ``round(255 p / max)``
rounded further to 128 levels (every other byte value) or kept at 256.
``bench/compact_pdfs.py`` chose it, against quantiles and Gaussian
mixtures, by the fidelity of N(z), PIT and CDE loss and by bytes on disk
(docs/publish.md). The flags column says what a user must know before trusting
a row: no PDF, mass outside the grid, and the bands that were non-detections.
"""

from __future__ import annotations

import numba
import numpy as np

from pzmpi.estimators.point_estimates import summarize

POINT_LEVELS = {"z_err95_low": 0.025, "z_err68_low": 0.16, "z_median": 0.5, "z_err68_high": 0.84,
                "z_err95_high": 0.975}
POINT_COLUMNS = ("z_median", "z_mean", "z_mode", "z_err68_low", "z_err68_high", "z_err95_low", "z_err95_high")

FLAG_NO_PDF = 1  # the PDF is NaN somewhere, or has no positive mass
FLAG_MASS_OUTSIDE_GRID = 2  # more than MASS_OUTSIDE_LIMIT of the PDF lies outside the grid
NONDETECTION_SHIFT = 8  # bits 8 to 23: band b of the run's input.bands was a non-detection
MASS_OUTSIDE_LIMIT = 0.01  # the run's results report counts the same objects
MANTISSA_BITS = 14  # of float32's 23, kept in point values and the PDF's scale
PACKED_MAX = 255  # qp's linear_from_rowmax packing: p = byte / 255 * row maximum
PDF_LEVELS = (256, 128, 64)


def trim_mantissa(values: np.ndarray, bits: int = MANTISSA_BITS) -> np.ndarray:
    """float32 ``values`` rounded to ``bits`` mantissa bits (to nearest; NaN stays NaN)."""
    raw = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    drop = np.uint32(23 - bits)
    rounded = ((raw + (np.uint32(1) << (drop - np.uint32(1)))) >> drop) << drop
    return np.where(np.isnan(values), np.float32(np.nan), rounded.view(np.float32)).astype(np.float32)


@numba.njit(cache=True, nogil=True)
def _pack(pdfs, step, packed, maximum):  # pragma: no cover - compiled
    n, nz = pdfs.shape
    for i in range(n):
        top = 0.0
        ok = True
        for j in range(nz):
            p = np.float64(pdfs[i, j])
            if not np.isfinite(p):
                ok = False
                break
            if p > top:
                top = p
        if not ok or top <= 0.0:
            maximum[i] = 0.0
            packed[i, :] = 0
            continue
        maximum[i] = top
        scale = PACKED_MAX / top / step
        for j in range(nz):
            value = np.round(max(np.float64(pdfs[i, j]), 0.0) * scale) * step
            packed[i, j] = min(value, PACKED_MAX)


def pack_pdfs(pdfs: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """qp ``packed_interp`` data of gridded PDFs: bytes (rows, grid) and each row's maximum (float32).

    With fewer than 256 ``levels`` the bytes are multiples of ``256 // levels``
    (the peak stays 255): fewer distinct values, which parquet's dictionary and
    zstd store in fewer bits. A row with a NaN or no positive value packs to zeros.
    """
    packed = np.empty(pdfs.shape, dtype=np.uint8)
    maximum = np.empty(pdfs.shape[0])
    _pack(np.ascontiguousarray(pdfs), float(256 // levels), packed, maximum)
    return packed, trim_mantissa(maximum.astype(np.float32))


def compile_kernel() -> None:
    """Compile (or load from numba's on-disk cache) the kernels."""
    code_columns(np.ones((1, 2), np.float32), np.array([0.0, 1.0]), np.zeros(1, np.uint16), 128)


def code_columns(pdfs: np.ndarray, grid: np.ndarray, nondetected_bands: np.ndarray,
                 pdf_levels: int | None) -> dict[str, np.ndarray]:
    """The point columns (float32), ``flags`` (uint32), and ``pdf_packed`` ((rows, grid) uint8) and ``pdf_ymax``
    unless ``pdf_levels`` is None (a code whose compact PDF is its own Gaussian).

    Every row is computed on its own, in a fixed order: a row's values do not
    depend on the chunk it came in.
    """
    levels = np.array(sorted(POINT_LEVELS.values()))
    out, mass = summarize(pdfs, grid, levels)
    at_level = {float(level): out[:, 2 + k] for k, level in enumerate(levels)}
    columns = {"z_mode": out[:, 0], "z_mean": out[:, 1]}
    columns.update({name: at_level[level] for name, level in POINT_LEVELS.items()})
    result = {name: trim_mantissa(columns[name].astype(np.float32)) for name in POINT_COLUMNS}
    no_pdf = np.isnan(out[:, 0])
    flags = np.where(no_pdf, FLAG_NO_PDF, 0).astype(np.uint32)
    flags |= np.where(~no_pdf & (1.0 - mass > MASS_OUTSIDE_LIMIT), FLAG_MASS_OUTSIDE_GRID, 0).astype(np.uint32)
    flags |= nondetected_bands.astype(np.uint32) << np.uint32(NONDETECTION_SHIFT)
    result["flags"] = flags
    if pdf_levels is not None:
        result["pdf_packed"], result["pdf_ymax"] = pack_pdfs(pdfs, pdf_levels)
    return result
