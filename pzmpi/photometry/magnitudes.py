"""nJy fluxes (or AB magnitudes) to the AB magnitudes and errors photo-z codes read, in compiled loops.

Policy (docs/cleaning.md):

* a flux is *detected* when it is finite and > 0 and its error is finite and
  >= 0; then m = -2.5 log10(f / nJy) + ZP_NJY and sigma_m = (2.5/ln 10) sigma_f/f;
* anything else (zero, negative, NaN or inf flux, NaN/inf/negative error) is a
  *non-detection*: the magnitude is ``nondetect_val`` and the error is the
  1-sigma limiting magnitude -2.5 log10(sigma_f) + ZP_NJY when sigma_f is
  finite and > 0, else the band's limiting magnitude;
* magnitude inputs are detected when finite, not the input's non-detection
  value, with a finite error >= 0; non-detections are rewritten the same way;
* dereddening subtracts A_b E(B-V) from detected magnitudes only.

Magnitudes are computed in float64 and stored in the output arrays' dtype.
"""

from __future__ import annotations

import numba
import numpy as np

from pzmpi.photometry.bands import MAG_ERR_PER_FRACTIONAL_FLUX, ZP_NJY
from pzmpi.photometry.log10 import log10

GATHER_BLOCK = 512  # rows copied to scratch at a time when converting selected rows


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
def flux_to_magnitude(flux, flux_err, ebv, a_band, nondetect_val, mag_limit, scale, mag, mag_err):  # pragma: no cover - compiled
    """Fill ``mag``/``mag_err`` from every row of nJy fluxes; return the number of non-detections.

    ``ebv`` is per row, or empty (no dereddening); ``scale`` > 0 rounds (see
    ``_from_flux``). The loop vectorises.
    """
    nondetected = 0
    if ebv.size:  # two loops: a test inside the loop kept float32 inputs from vectorising (18 ns a value, not 3)
        for i in range(flux.size):
            mag[i], mag_err[i], missed = _from_flux(np.float64(flux[i]), np.float64(flux_err[i]), ebv[i], a_band,
                                                    nondetect_val, mag_limit, scale)
            nondetected += missed
    else:
        for i in range(flux.size):
            mag[i], mag_err[i], missed = _from_flux(np.float64(flux[i]), np.float64(flux_err[i]), 0.0, a_band,
                                                    nondetect_val, mag_limit, scale)
            nondetected += missed
    return nondetected


@numba.njit(cache=True, nogil=True, error_model="numpy")
def selected_flux_to_magnitude(flux, flux_err, ebv, rows, a_band, nondetect_val, mag_limit, scale, mag,
                               mag_err):  # pragma: no cover - compiled
    """``flux_to_magnitude`` of the input ``rows`` only, in order, into the first ``rows.size`` outputs.

    The selected rows are copied a block at a time into contiguous scratch
    arrays first, because loops that gather do not vectorise.
    """
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
        nondetected += flux_to_magnitude(block_flux[:count], block_err[:count], block_dust[:count if ebv.size else 0],
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
    """Compile (or load from numba's on-disk cache) the three kernels for float32 and float64 inputs.

    Inputs are read-only, as pyarrow hands columns over without a copy: numba
    compiles read-only and writable arrays apart.
    """
    out = np.empty(1, dtype=magnitude_dtype)
    out_err = np.empty(1, dtype=magnitude_dtype)
    for dtype in (np.float32, np.float64):
        one = np.ones(1, dtype=dtype)
        one.setflags(write=False)
        flux_to_magnitude(one, one, np.empty(0), 0.0, 99.0, 27.0, 0.0, out, out_err)
        selected_flux_to_magnitude(one, one, np.empty(0), np.zeros(1, np.int64), 0.0, 99.0, 27.0, 0.0, out, out_err)
        check_magnitude(one, one, np.empty(0), 0.0, 99.0, 99.0, 27.0, out, out_err)
