"""What verify counts in every file, and how counts of different files merge.

Per photometric column: NaN, inf, zero and negative values and the finite
range; per file: the sky footprint and tracts; fixed-bin histograms of cModel
magnitudes and of sky density. Every merge is a sum, a minimum or a maximum, so
that the totals do not depend on the order of files or ranks. Compiled kernels
count a row group's column in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from pzmpi.photometry.bands import LSST_BANDS, ZP_NJY

MAG_START, MAG_STOP, MAG_WIDTH = 14.0, 34.0, 0.05
MAG_BINS = round((MAG_STOP - MAG_START) / MAG_WIDTH)  # layout: below, MAG_BINS bins, above, no magnitude
SKY_BIN_DEG = 0.2
SKY_RA_BINS = round(360.0 / SKY_BIN_DEG)
SKY_DEC_BINS = round(180.0 / SKY_BIN_DEG)


@numba.njit(cache=True, nogil=True)
def _count_values(values):  # pragma: no cover - compiled
    """NaN, inf (either sign), zero and finite negative counts, and the range of the finite values."""
    nan = 0
    inf = 0
    zero = 0
    negative = 0
    low = np.inf
    high = -np.inf
    for i in range(values.size):
        v = np.float64(values[i])
        if np.isnan(v):
            nan += 1
        elif np.isinf(v):
            inf += 1
        else:
            if v == 0.0:
                zero += 1
            elif v < 0.0:
                negative += 1
            low = min(low, v)
            high = max(high, v)
    return nan, inf, zero, negative, low, high


@numba.njit(cache=True, nogil=True)
def bin_magnitudes(flux, zero_point, counts):  # pragma: no cover - compiled
    """Add AB magnitudes of nJy fluxes to ``counts`` (below, bins, above, no magnitude)."""
    for i in range(flux.size):
        f = np.float64(flux[i])
        if not (np.isfinite(f) and f > 0.0):
            counts[MAG_BINS + 2] += 1
            continue
        k = np.floor((-2.5 * np.log10(f) + zero_point - MAG_START) / MAG_WIDTH)
        if k < 0:
            counts[0] += 1
        elif k >= MAG_BINS:
            counts[MAG_BINS + 1] += 1
        else:
            counts[int(k) + 1] += 1


@numba.njit(cache=True, nogil=True)
def bin_positions(ra, dec, sky):  # pragma: no cover - compiled
    """Add valid positions to the sky map; return (bad ra, bad dec, ra min, ra max, dec min, dec max).

    A position is valid when ra is finite in [0, 360) and dec finite in [-90, 90];
    the ranges cover valid positions only.
    """
    bad_ra = 0
    bad_dec = 0
    ra_low = np.inf
    ra_high = -np.inf
    dec_low = np.inf
    dec_high = -np.inf
    for i in range(ra.size):
        a = np.float64(ra[i])
        d = np.float64(dec[i])
        ra_ok = np.isfinite(a) and 0.0 <= a < 360.0
        dec_ok = np.isfinite(d) and -90.0 <= d <= 90.0
        if not ra_ok:
            bad_ra += 1
        if not dec_ok:
            bad_dec += 1
        if ra_ok and dec_ok:
            ra_low = min(ra_low, a)
            ra_high = max(ra_high, a)
            dec_low = min(dec_low, d)
            dec_high = max(dec_high, d)
            row = min(int((d + 90.0) / SKY_BIN_DEG), SKY_DEC_BINS - 1)
            col = min(int(a / SKY_BIN_DEG), SKY_RA_BINS - 1)
            sky[row, col] += 1
    return bad_ra, bad_dec, ra_low, ra_high, dec_low, dec_high


def compile_kernels() -> None:
    """Compile (or load from numba's cache) the kernels for float32 and float64 columns."""
    histograms = Histograms.empty()
    for dtype in (np.float32, np.float64):
        one = np.ones(1, dtype=dtype)
        _count_values(one)
        bin_magnitudes(one, ZP_NJY, histograms.magnitude[0])
        bin_positions(one, one, histograms.sky)


def finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def value_stats(values: np.ndarray, nulls: int = 0) -> dict[str, Any]:
    """Counts of one column's values (nulls, read as NaN, are counted in ``nan`` too) and finite range."""
    nan, inf, zero, negative, low, high = _count_values(values)
    return {"rows": int(values.size), "null": int(nulls), "nan": int(nan), "inf": int(inf), "zero": int(zero),
            "negative": int(negative), "min": finite_or_none(low), "max": finite_or_none(high)}


def _merge_range(a: float | None, b: float | None, pick: Any) -> float | None:
    return b if a is None else a if b is None else pick(a, b)


def merge_stats(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Statistics of two sets of rows of the same column."""
    merged = {key: a[key] + b[key] for key in ("rows", "null", "nan", "inf", "zero", "negative")}
    merged["min"] = _merge_range(a["min"], b["min"], min)
    merged["max"] = _merge_range(a["max"], b["max"], max)
    return merged


def empty_stats() -> dict[str, Any]:
    return {"rows": 0, "null": 0, "nan": 0, "inf": 0, "zero": 0, "negative": 0, "min": None, "max": None}


def fractions(stats: dict[str, Any]) -> dict[str, float | None]:
    """Fraction of rows of each kind (None for a column without rows)."""
    rows = stats["rows"]
    return {key: (stats[key] / rows if rows else None) for key in ("nan", "inf", "zero", "negative")}


def empty_footprint() -> dict[str, Any]:
    return {"ra_min": None, "ra_max": None, "dec_min": None, "dec_max": None, "bad_ra": 0, "bad_dec": 0,
            "tracts": {}}


def merge_footprints(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Footprint of the rows of both; tract counts are keyed by the tract number as a string."""
    tracts = dict(a["tracts"])
    for tract, count in b["tracts"].items():
        tracts[tract] = tracts.get(tract, 0) + count
    return {"ra_min": _merge_range(a["ra_min"], b["ra_min"], min),
            "ra_max": _merge_range(a["ra_max"], b["ra_max"], max),
            "dec_min": _merge_range(a["dec_min"], b["dec_min"], min),
            "dec_max": _merge_range(a["dec_max"], b["dec_max"], max),
            "bad_ra": a["bad_ra"] + b["bad_ra"], "bad_dec": a["bad_dec"] + b["bad_dec"],
            "tracts": dict(sorted(tracts.items(), key=lambda item: int(item[0])))}


@dataclass
class Histograms:
    """Fixed-bin counts for the plots: cModel magnitudes per band, and objects per sky cell.

    ``magnitude[b]`` holds, for band ``LSST_BANDS[b]``: rows below ``MAG_START``, the
    ``MAG_BINS`` bins, rows at or above ``MAG_STOP``, rows without a magnitude (flux
    not finite or <= 0). ``sky[row, col]`` counts objects with dec in
    ``-90 + row * SKY_BIN_DEG`` and ra in ``col * SKY_BIN_DEG``, each cell ``SKY_BIN_DEG`` wide.
    """

    magnitude: np.ndarray
    sky: np.ndarray

    @classmethod
    def empty(cls) -> Histograms:
        return cls(np.zeros((len(LSST_BANDS), MAG_BINS + 3), dtype=np.int64),
                   np.zeros((SKY_DEC_BINS, SKY_RA_BINS), dtype=np.int64))

    def merge(self, other: Histograms) -> None:
        self.magnitude += other.magnitude
        self.sky += other.sky
