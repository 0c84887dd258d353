"""A whole synthetic release with real photo-z content: RAIL's DC2 objects dressed as DP0.2 or DP1 Object tables.

``pzmpi synthetic --photometry dc2`` writes what an end-to-end run needs, with no
hand-work between the stages:

* ``catalog/``: every object of RAIL's DC2 training and validation samples,
  with seeded positions, one tract a file, in the style's schema
  (``synthetic.STYLES``): DP0.2's float64 fluxes and ``detect_isPrimary``, with
  5% extra non-primary rows (copies a deblender would make, new ids, a
  fraction of an arcsecond off); or DP1's float32 fluxes, dimmed by the dust of
  an ``ebv`` column, so that dereddening gives RAIL's magnitudes back;
* ``spectra.parquet``: spectra of the training objects, as a spectrograph
  gives them (``dc2_sample.spectroscopic_catalog``);
* ``truth.parquet``: every primary object's true redshift, for checks only:
  the catalog, like Rubin's, has none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.datasets.dc2_sample import (DC2_TRAINING, DC2_VALIDATION, magnitudes_to_fluxes, rail_sample_path,
                                       read_rail_table, sky_positions, spectroscopic_catalog)
from pzmpi.datasets.synthetic import STYLES
from pzmpi.photometry.bands import LSST_BANDS, LSST_EXTINCTION

NON_PRIMARY_FRACTION = 0.05
FIRST_TRACT = 3828
EBV_RANGE = (0.0, 0.1)


def release_tables(style: str, seed: int, fraction: float = 1.0) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(catalog, spectra, truth) of the DC2 release in ``style`` ('dp02' or 'dp1'), made of a seeded ``fraction``
    of RAIL's training and validation objects (a smaller release for quick end-to-end checks)."""
    if style not in STYLES:
        raise ValueError(f"unknown catalog style {style!r} (known: {', '.join(STYLES)})")
    rng = np.random.default_rng(seed)
    training, validation = (_subset(read_rail_table(rail_sample_path(name)), fraction, rng)
                            for name in (DC2_TRAINING, DC2_VALIDATION))
    rail = {name: np.concatenate([training[name], validation[name]]) for name in validation}
    n = rail["redshift"].size
    ra, dec = sky_positions(n, seed)
    ids = np.arange(1, n + 1, dtype=np.int64)
    columns: dict[str, np.ndarray] = {"objectId": ids, "coord_ra": ra, "coord_dec": dec}
    flux_dtype = np.float64 if style == "dp02" else np.float32
    # E(B-V) as stored (float32), so that dereddening with the column undoes exactly this dimming
    ebv = rng.uniform(*EBV_RANGE, n).astype(np.float32).astype(np.float64) if style == "dp1" else np.zeros(n)
    for band in LSST_BANDS:
        flux, error = magnitudes_to_fluxes(rail[f"mag_{band}_lsst"], rail[f"mag_err_{band}_lsst"])
        dimming = 10.0 ** (-0.4 * LSST_EXTINCTION[band] * ebv)
        columns[f"{band}_cModelFlux"] = (flux * dimming).astype(flux_dtype)
        columns[f"{band}_cModelFluxErr"] = (error * dimming).astype(flux_dtype)
    if style == "dp1":
        columns["ebv"] = ebv.astype(np.float32)
    truth = pa.table({"objectId": ids, "redshift": rail["redshift"].astype(np.float64)})
    catalog = pa.table(columns)
    n_train = training["redshift"].size
    spectra = spectroscopic_catalog(pa.table({"objectId": ids[:n_train], "coord_ra": ra[:n_train],
                                              "coord_dec": dec[:n_train], "redshift": rail["redshift"][:n_train]}))
    if style == "dp02":
        catalog = catalog.append_column("detect_isPrimary", pa.array(np.ones(n, dtype=bool)))
        copies = np.sort(rng.choice(n, int(NON_PRIMARY_FRACTION * n), replace=False))
        extra = catalog.take(copies).to_pydict()
        extra["objectId"] = list(range(n + 1, n + 1 + copies.size))
        extra["coord_ra"] = list(np.asarray(extra["coord_ra"]) + rng.normal(0.0, 1e-4, copies.size))
        extra["detect_isPrimary"] = [False] * copies.size
        catalog = pa.concat_tables([catalog, pa.table(extra, schema=catalog.schema)])
    return catalog, spectra, truth


def _subset(table: dict[str, np.ndarray], fraction: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(next(iter(table.values())))
    keep = np.sort(rng.choice(n, max(1, round(fraction * n)), replace=False))
    return {name: values[keep] for name, values in table.items()}


def write_release(folder: Path, style: str, n_files: int, seed: int = 0, row_group_rows: int = 2000,
                  fraction: float = 1.0) -> dict[str, Path]:
    """Write the release under ``folder``: one tract a file (cut in right ascension), spectra and truth."""
    catalog, spectra, truth = release_tables(style, seed, fraction)
    order = np.argsort(catalog["coord_ra"].to_numpy(), kind="stable")
    catalog = catalog.take(order)
    bounds = np.linspace(0, catalog.num_rows, n_files + 1).astype(int)
    (folder / "catalog").mkdir(parents=True, exist_ok=True)
    for k, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        tract = catalog.slice(start, stop - start)
        tract = tract.append_column("tract", pa.array(np.full(tract.num_rows, FIRST_TRACT + k, dtype=np.int64)))
        pq.write_table(tract, folder / "catalog" / f"{style}_object_tract{FIRST_TRACT + k}.parquet",
                       row_group_size=row_group_rows)
    pq.write_table(spectra, folder / "spectra.parquet")
    pq.write_table(truth, folder / "truth.parquet")
    return {"catalog": folder / "catalog", "spectra": folder / "spectra.parquet", "truth": folder / "truth.parquet"}
