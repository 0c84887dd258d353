"""Conversion of one chunk of a catalog into skinny columns: primary cut, E(B-V), magnitudes, rounding.

The magnitudes come from ``pzmpi.photometry.magnitudes``'s compiled kernel,
the engine's own non-detection policy; E(B-V) from a column or a dust map
(``pzmpi.photometry.dust``). Pure functions of the chunk and the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pzmpi.acquire.skinny.config import SkinnyConfig
from pzmpi.acquire.skinny.output import mag_column, magerr_column, new_outputs
from pzmpi.core.errors import InputFileError
from pzmpi.io.catalog import Chunk, chunk_rows
from pzmpi.photometry.dust import DustMap
from pzmpi.photometry.magnitudes import flux_to_magnitude, selected_flux_to_magnitude


def check_schema(path: str, kinds: dict[str, str], config: SkinnyConfig) -> None:
    """Every needed column of a usable type (``CatalogFile.kinds``); the error names the file and the columns."""
    problems = []
    id_column, primary = config.columns["id_column"], config.columns["primary_column"]
    for name in config.input_columns():
        kind = kinds[name]
        if name == id_column:
            ok, expected = kind == "integer", "an integer"
        elif name == primary:
            ok, expected = kind == "boolean", "a boolean"
        else:
            ok, expected = kind in ("floating", "integer"), "a number"
        if not ok:
            problems.append(f"column {name} has type {kind}, expected {expected}")
    if problems:
        raise InputFileError(f"{path}: {'; '.join(problems)}")


@dataclass
class Converted:
    """A chunk's skinny columns and its data-quality counts."""

    columns: dict[str, np.ndarray]
    rows_read: int
    nondetections: dict[str, int]
    bad_ebv: int


def convert_chunk(chunk: Chunk, config: SkinnyConfig, dust: DustMap | None,
                  out: dict[str, np.ndarray] | None = None, at: int = 0) -> Converted:
    """Primary cut, E(B-V), magnitudes and errors of one chunk, by the policy of docs/skinny.md.

    The results go to rows ``at...`` of ``out`` (``new_outputs``), or to new
    arrays when ``out`` is None. The primary cut is not applied to the input
    columns: the kernel converts only the selected rows, and ids and positions
    are gathered.
    """
    rows_read = chunk_rows(chunk)
    primary = config.columns["primary_column"]
    rows = np.flatnonzero(chunk[primary]) if primary else np.empty(0, dtype=np.int64)
    n = rows.size if primary else rows_read
    if out is None:
        out, at = new_outputs(config.bands, n), 0
    ra = np.asarray(chunk[config.columns["ra_column"]], dtype=np.float64)
    dec = np.asarray(chunk[config.columns["dec_column"]], dtype=np.float64)
    ebv = np.empty(0)
    bad_ebv = 0
    if config.ebv_method != "none":  # per input row, as the kernel reads it
        ebv = np.asarray(chunk[config.ebv_column], dtype=np.float64) if config.ebv_method == "column" \
            else dust.lookup(ra, dec)
        usable = np.isfinite(ebv)
        bad_ebv = n - int(np.count_nonzero(usable[rows] if primary else usable))
        if bad_ebv:  # left uncorrected, and counted
            ebv = np.where(usable, ebv, 0.0)
    ids = chunk[config.columns["id_column"]]
    for name, values in (("objectId", ids), ("coord_ra", ra), ("coord_dec", dec)):
        if primary:
            np.take(values, rows, out=out[name][at:at + n])
        else:
            out[name][at:at + n] = values
    nondetections: dict[str, int] = {}
    scale = float(10 ** config.decimals) if config.decimals >= 0 else 0.0
    for band, flux_name, error_name in zip(config.bands, config.flux_columns(), config.flux_error_columns()):
        a_band = config.extinction[band] if config.ebv_method != "none" else 0.0
        flux, error = _numbers(chunk[flux_name]), _numbers(chunk[error_name])
        mag, magerr = out[mag_column(band)][at:at + n], out[magerr_column(band)][at:at + n]
        limit = config.mag_limits[band]
        if primary:
            missed = selected_flux_to_magnitude(flux, error, ebv, rows, a_band, config.nondetect_val, limit, scale,
                                                mag, magerr)
        else:
            missed = flux_to_magnitude(flux, error, ebv, a_band, config.nondetect_val, limit, scale, mag, magerr)
        nondetections[band] = int(missed)
    return Converted({name: values[at:at + n] for name, values in out.items()}, rows_read, nondetections, bad_ebv)


def _numbers(values: np.ndarray) -> np.ndarray:
    """A flux column as the kernel reads it: float32 or float64 kept as stored, integers as float64."""
    return values if values.dtype in (np.float32, np.float64) else values.astype(np.float64)
