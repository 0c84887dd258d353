"""Cleaning: raw photometry of one chunk into the magnitudes an estimator expects.

Policy (docs/cleaning.md):

* a flux is *detected* when it is finite and > 0 and its error is finite and
  >= 0; then m = -2.5 log10(f / nJy) + ZP_NJY and sigma_m = (2.5/ln 10) sigma_f/f;
* anything else (zero, negative, NaN or inf flux, NaN/inf/negative error) is a
  *non-detection*: the magnitude is ``nondetect_val`` (99, RAIL's convention; NaN for LePHARE)
  and the error is the 1-sigma limiting magnitude -2.5 log10(sigma_f) + ZP_NJY
  when sigma_f is finite and > 0, else the band's ``mag_limits`` value;
* magnitude inputs are detected when finite, not the input's non-detection
  value, with a finite error >= 0; non-detections are rewritten the same way;
* dereddening subtracts A_b E(B-V) from detected magnitudes only; a row whose
  E(B-V) is not finite is left uncorrected and counted;
* magnitudes are computed in float64 and stored as ``magnitude_dtype``
  (float32 by default, as in RAIL's own files: RAIL's estimators compute colours
  in the dtype they are given, so the dtype is part of the result).

Output columns follow RAIL's names, ``mag_{band}_lsst`` and ``mag_err_{band}_lsst``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from pzmpi.config import CleaningConfig, InputConfig
from pzmpi.log10 import log10

ZP_NJY = 2.5 * math.log10(3631e9)  # AB zero point for fluxes in nJy: 31.40007
MAG_ERR_PER_FRACTIONAL_FLUX = 2.5 / math.log(10.0)
GATHER_BLOCK = 512  # rows copied to scratch at a time when converting selected rows


def magnitude_column(band: str) -> str:
    return f"mag_{band}_lsst"


def magnitude_error_column(band: str) -> str:
    return f"mag_err_{band}_lsst"


@dataclass(frozen=True)
class CleanChunk:
    """Magnitudes of one chunk, keyed by RAIL column name, with data-quality counts."""

    ids: np.ndarray
    columns: dict[str, np.ndarray]
    nondetections: dict[str, int]
    bad_ebv: int

    def __len__(self) -> int:
        return len(self.ids)


@numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _from_flux(f, e, ebv, a_band, nondetect_val, mag_limit, scale):  # pragma: no cover - compiled
    """(magnitude, error, 1 if a non-detection) of one flux, without branches, so that loops of it vectorise.

    One log10 per value: of the flux when detected, else of its error (the
    1-sigma limiting magnitude) when that is usable. ``scale`` > 0 rounds both
    results as numpy's round does: rint(x * scale) / scale.
    """
    detected = (f > 0.0) & (f < np.inf) & (e >= 0.0) & (e < np.inf)  # NaN compares false
    usable_err = (e > 0.0) & (e < np.inf)
    magnitude_of = log10(f if detected else (e if usable_err else 1.0))
    m = -2.5 * magnitude_of + ZP_NJY
    mag = m - a_band * ebv if detected else nondetect_val
    err = MAG_ERR_PER_FRACTIONAL_FLUX * e / f if detected else (m if usable_err else mag_limit)
    if scale > 0.0:
        mag = np.rint(mag * scale) / scale
        err = np.rint(err * scale) / scale
    return mag, err, 0 if detected else 1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _convert_all(flux, flux_err, ebv, a_band, nondetect_val, mag_limit, scale, mag, mag_err):  # pragma: no cover - compiled
    """The vectorised loop: every row of ``flux`` into the same row of ``mag``."""
    nondetected = 0
    for i in range(flux.size):
        dust = ebv[i] if ebv.size else 0.0
        mag[i], mag_err[i], missed = _from_flux(np.float64(flux[i]), np.float64(flux_err[i]), dust, a_band,
                                                nondetect_val, mag_limit, scale)
        nondetected += missed
    return nondetected


@numba.njit(cache=True, nogil=True, error_model="numpy")
def flux_to_magnitude(flux, flux_err, ebv, a_band, nondetect_val, mag_limit, mag, mag_err, rows=np.empty(0, np.int64),
                      scale=0.0):  # pragma: no cover - compiled
    """Fill ``mag``/``mag_err`` from nJy fluxes; return the number of non-detections.

    ``ebv`` is per input row, or empty (no dereddening). ``rows`` selects the
    input rows to convert, in order (empty: all); they are copied a block at a
    time into contiguous scratch arrays first, because loops that gather do not
    vectorise. ``scale`` > 0 rounds (see ``_from_flux``).
    """
    if rows.size == 0:
        return _convert_all(flux, flux_err, ebv, a_band, nondetect_val, mag_limit, scale, mag, mag_err)
    nondetected = 0
    block_flux = np.empty(GATHER_BLOCK)
    block_err = np.empty(GATHER_BLOCK)
    block_dust = np.empty(GATHER_BLOCK if ebv.size else 0)
    for start in range(0, rows.size, GATHER_BLOCK):
        count = min(GATHER_BLOCK, rows.size - start)
        for k in range(count):
            i = rows[start + k]
            block_flux[k] = flux[i]
            block_err[k] = flux_err[i]
            if ebv.size:
                block_dust[k] = ebv[i]
        nondetected += _convert_all(block_flux[:count], block_err[:count], block_dust[:count if ebv.size else 0],
                                    a_band, nondetect_val, mag_limit, scale, mag[start:start + count],
                                    mag_err[start:start + count])
    return nondetected


@numba.njit(cache=True, nogil=True)
def check_magnitude(mag_in, err_in, ebv, a_band, input_nondetect, nondetect_val, mag_limit, mag, mag_err):  # pragma: no cover - compiled
    """Fill ``mag``/``mag_err`` from magnitude columns; return the number of non-detections."""
    nondetected = 0
    deredden = ebv.size > 0
    for i in range(mag_in.size):
        m = np.float64(mag_in[i])
        e = np.float64(err_in[i])
        flagged = not np.isnan(input_nondetect) and abs(m - input_nondetect) <= 0.01
        if np.isfinite(m) and not flagged and np.isfinite(e) and e >= 0.0:
            if deredden:
                m -= a_band * ebv[i]
            mag[i] = m
            mag_err[i] = e
        else:
            nondetected += 1
            mag[i] = nondetect_val
            mag_err[i] = e if (np.isfinite(e) and e > 0.0) else mag_limit
    return nondetected


def compile_kernels(magnitude_dtype: str) -> None:
    """Compile (or load from numba's on-disk cache) both kernels for float32 and float64 inputs."""
    out = np.empty(1, dtype=magnitude_dtype)
    out_err = np.empty(1, dtype=magnitude_dtype)
    for dtype in (np.float32, np.float64):
        one = np.ones(1, dtype=dtype)
        flux_to_magnitude(one, one, np.empty(0), 0.0, 99.0, 27.0, out, out_err)
        check_magnitude(one, one, np.empty(0), 0.0, 99.0, 99.0, 27.0, out, out_err)


def input_columns(inp: InputConfig, cleaning: CleaningConfig) -> list[str]:
    """The parquet columns one chunk needs, in a fixed order."""
    columns = [inp.id_column]
    for value, error in zip(inp.value_columns(), inp.error_columns()):
        columns += [value, error]
    if cleaning.deredden:
        columns.append(inp.ebv_column)
    return columns


def clean_chunk(raw: dict[str, np.ndarray], inp: InputConfig, cleaning: CleaningConfig) -> CleanChunk:
    """Turn one chunk of raw columns into magnitudes and errors as RAIL expects them."""
    n = len(raw[inp.id_column])
    ebv = np.empty(0)
    bad_ebv = 0
    if cleaning.deredden:
        ebv = np.asarray(raw[inp.ebv_column], dtype=np.float64)
        finite = np.isfinite(ebv)
        bad_ebv = int(n - finite.sum())
        if bad_ebv:
            ebv = np.where(finite, ebv, 0.0)
    columns: dict[str, np.ndarray] = {}
    nondetections: dict[str, int] = {}
    for band, value, error in zip(inp.bands, inp.value_columns(), inp.error_columns()):
        mag = np.empty(n, dtype=cleaning.magnitude_dtype)
        mag_err = np.empty(n, dtype=cleaning.magnitude_dtype)
        a_band = float(cleaning.extinction.get(band, 0.0))
        limit = float(cleaning.mag_limits[band])
        if inp.reads_fluxes:
            count = flux_to_magnitude(raw[value], raw[error], ebv, a_band, cleaning.nondetect_val, limit, mag, mag_err)
        else:
            count = check_magnitude(raw[value], raw[error], ebv, a_band, inp.magnitude_nondetect_val,
                                    cleaning.nondetect_val, limit, mag, mag_err)
        columns[magnitude_column(band)] = mag
        columns[magnitude_error_column(band)] = mag_err
        nondetections[band] = int(count)
    ids = np.asarray(raw[inp.id_column])
    return CleanChunk(ids=ids, columns=columns, nondetections=nondetections, bad_ebv=bad_ebv)
