"""Cleaning: raw photometry of one chunk into the magnitudes an estimator expects.

The conversion policy is ``pzmpi.photometry.magnitudes``'s (docs/cleaning.md);
what is per estimator is decided here, from the configuration:

* a non-detection's magnitude is ``cleaning.nondetect_val`` (99, RAIL's
  convention; NaN for LePHARE), its error the band's limit when the flux error
  is unusable;
* a row whose E(B-V) is not finite is left uncorrected and counted;
* magnitudes are computed in float64 and stored as ``magnitude_dtype``
  (float32 by default, as in RAIL's own files: RAIL's estimators compute colours
  in the dtype they are given, so the dtype is part of the result).

Output columns follow RAIL's names, ``mag_{band}_lsst`` and ``mag_err_{band}_lsst``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pzmpi.estimators.config import CleaningConfig, InputConfig
from pzmpi.photometry.magnitudes import check_magnitude, flux_to_magnitude


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
    nondetected_bands: np.ndarray  # per object, bit b set where band b (in input.bands order) is a non-detection
    bad_ebv: int

    def __len__(self) -> int:
        return len(self.ids)


def input_columns(inp: InputConfig, cleaning: CleaningConfig) -> list[str]:
    """The parquet columns one chunk needs, in a fixed order."""
    columns = [inp.id_column]
    for value, error in zip(inp.value_columns(), inp.error_columns()):
        columns += [value, error]
    if cleaning.deredden:
        columns.append(inp.ebv_column)
    return columns


def position_columns(inp: InputConfig) -> list[str]:
    """The position columns a run reads and copies into its pieces, when the input has them."""
    return [name for name in (inp.ra_column, inp.dec_column) if name]


def nondetected_bands(magnitudes: list[np.ndarray], nondetect_val: float) -> np.ndarray:
    """Per object, a bit mask of the bands (in order) whose cleaned magnitude marks a non-detection."""
    mask = np.zeros(len(magnitudes[0]) if magnitudes else 0, dtype=np.uint16)
    for bit, mag in enumerate(magnitudes):
        missing = np.isnan(mag) if np.isnan(nondetect_val) else mag == nondetect_val
        mask |= missing.astype(np.uint16) << np.uint16(bit)
    return mask


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
            count = flux_to_magnitude(raw[value], raw[error], ebv, a_band, cleaning.nondetect_val, limit, 0.0, mag,
                                      mag_err)
        else:
            count = check_magnitude(raw[value], raw[error], ebv, a_band, inp.magnitude_nondetect_val,
                                    cleaning.nondetect_val, limit, mag, mag_err)
        columns[magnitude_column(band)] = mag
        columns[magnitude_error_column(band)] = mag_err
        nondetections[band] = int(count)
    ids = np.asarray(raw[inp.id_column])
    mask = nondetected_bands([columns[magnitude_column(band)] for band in inp.bands], float(cleaning.nondetect_val))
    return CleanChunk(ids=ids, columns=columns, nondetections=nondetections, nondetected_bands=mask, bad_ebv=bad_ebv)
