"""Synthetic Rubin Object catalogs in the DP0.2 and DP1 styles, for tests, benchmarks and walkthroughs.

REFERENCE.md section 1: DP0.2 has float64 nJy fluxes and ``detect_isPrimary``;
DP1/DP2 have float32 fluxes, an ``ebv`` column, ready-made magnitudes and no
primary flag. Both carry ``objectId``, ``coord_ra``, ``coord_dec``, ``tract``
and ``patch``. Values are drawn from a seeded generator, so a catalog is the
same bytes every time; ``with_bad_photometry`` plants every kind of invalid
flux a real catalog holds (zero, negative, NaN, inf fluxes; NaN, inf, negative errors).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.photometry.bands import LSST_BANDS, ZP_NJY

STYLES = ("dp02", "dp1")
TRACT_SPAN_DEG = 1.5  # sky span of one synthetic tract in RA


def object_catalog(n_rows: int, style: str, seed: int, first_id: int = 1, tract: int = 3828) -> pa.Table:
    """``n_rows`` objects of one tract with magnitudes 18-28 and realistic errors, in ``style``'s schema."""
    if style not in STYLES:
        raise ValueError(f"unknown catalog style {style!r} (known: {', '.join(STYLES)})")
    rng = np.random.default_rng(seed)
    flux_dtype = np.float64 if style == "dp02" else np.float32
    columns: dict[str, np.ndarray] = {
        "objectId": np.arange(first_id, first_id + n_rows, dtype=np.int64),
        "coord_ra": 55.0 + (tract % 100) * TRACT_SPAN_DEG + rng.uniform(0.0, TRACT_SPAN_DEG, n_rows),
        "coord_dec": rng.uniform(-40.0, -38.5, n_rows),
        "tract": np.full(n_rows, tract, dtype=np.int64),
        "patch": rng.integers(0, 100, n_rows, dtype=np.int64),
    }
    depth = rng.uniform(18.0, 28.0, n_rows)
    for band in LSST_BANDS:
        mag = depth + rng.normal(0.0, 0.3, n_rows)
        flux = 10.0 ** (-0.4 * (mag - ZP_NJY))
        flux_err = 10.0 ** (-0.4 * (27.5 - ZP_NJY)) * rng.uniform(0.8, 1.2, n_rows)
        columns[f"{band}_cModelFlux"] = (flux + rng.normal(0.0, 1.0, n_rows) * flux_err).astype(flux_dtype)
        columns[f"{band}_cModelFluxErr"] = flux_err.astype(flux_dtype)
        columns[f"{band}_psfFlux"] = (0.9 * flux).astype(flux_dtype)
        columns[f"{band}_psfFluxErr"] = flux_err.astype(flux_dtype)
        if style == "dp1":
            with np.errstate(invalid="ignore", divide="ignore"):
                f = columns[f"{band}_cModelFlux"].astype(np.float64)
                columns[f"{band}_cModelMag"] = (-2.5 * np.log10(f) + ZP_NJY).astype(np.float32)
                columns[f"{band}_cModelMagErr"] = (2.5 / np.log(10.0) * flux_err / f).astype(np.float32)
        columns[f"{band}_cModel_flag"] = rng.random(n_rows) < 0.01
    if style == "dp02":
        columns["detect_isPrimary"] = rng.random(n_rows) < 0.9
    else:
        columns["ebv"] = rng.uniform(0.0, 0.1, n_rows).astype(np.float32)
    return pa.table(columns)


def with_bad_photometry(table: pa.Table, band: str = "g") -> pa.Table:
    """A copy whose first rows carry each invalid flux/error kind in ``band`` (rows 0-7, in this order):

    zero flux, negative flux, NaN flux, +inf flux, NaN error, +inf error, negative error, zero error.
    """
    flux = table[f"{band}_cModelFlux"].to_numpy().copy()
    error = table[f"{band}_cModelFluxErr"].to_numpy().copy()
    flux[:4] = [0.0, -5.0, np.nan, np.inf]
    error[4:8] = [np.nan, np.inf, -1.0, 0.0]
    table = table.set_column(table.schema.get_field_index(f"{band}_cModelFlux"), f"{band}_cModelFlux", pa.array(flux))
    return table.set_column(table.schema.get_field_index(f"{band}_cModelFluxErr"), f"{band}_cModelFluxErr",
                            pa.array(error))


def write_catalog(folder: Path, style: str, n_files: int, rows_per_file: int, seed: int = 0,
                  row_group_rows: int = 2000) -> list[Path]:
    """``n_files`` parquet files of one style, one tract each, with ids unique across files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_files):
        table = object_catalog(rows_per_file, style, seed=seed + i, first_id=1 + i * rows_per_file, tract=3828 + i)
        path = folder / f"{style}_object_tract{3828 + i}.parquet"
        pq.write_table(table, path, row_group_size=row_group_rows)
        paths.append(path)
    return paths
