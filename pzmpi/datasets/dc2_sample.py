"""Sample data: RAIL's DC2 test tables turned into Object-like parquet catalogs with nJy fluxes.

The catalog keeps each object's true redshift (``redshift``), for validation,
and gets seeded sky positions, which RAIL's tables do not have. The training
sample comes twice: as ``training.parquet`` (photometry and redshift, ready
to train on), and as what a survey gives, from which ``pzmpi training-set``
makes it: the photometry of the fields (``field/``, no redshift) and a
spectroscopic catalog (``spectra.parquet``) of the same objects, as a
spectrograph would measure them: positions off by a fraction of an arcsecond,
a quality flag, a few objects observed twice, and some spectra of objects too
faint to be in the photometry.

RAIL ships magnitudes (``mag_{b}_lsst``, ``mag_err_{b}_lsst``, 99 for a
non-detection whose error holds the 1-sigma limiting magnitude).  The inverse
of pzmpi's cleaning gives Rubin-style ``{b}_cModelFlux``/``{b}_cModelFluxErr``
columns in nJy: a non-detection becomes zero flux with the limiting flux as its
error, so that cleaning gives back the same magnitudes.  Rows are split over
several files, each with several row groups, to exercise planning.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.photometry.bands import LSST_BANDS, MAG_ERR_PER_FRACTIONAL_FLUX, ZP_NJY

DC2_TRAINING = "examples_data/testdata/test_dc2_training_9816.hdf5"
DC2_VALIDATION = "examples_data/testdata/test_dc2_validation_9816.hdf5"
REPLICA_ID_STRIDE = 1 << 40  # objectId offset between replicas of the sample
PATCH_RA, PATCH_DEC = (50.0, 70.0), (-44.0, -28.0)  # degrees: around DC2's footprint
VALIDATION_SEED, TRAINING_SEED, SPECTRA_SEED = 9816, 9817, 9818
SPECTRA_SCATTER_ARCSEC = 0.3  # the spectra's position errors (per coordinate, Gaussian)
REPEATED_FRACTION = 0.03  # objects observed twice: a second spectrum, lower flag, slightly off redshift
UNMATCHED_SPECTRA = 200  # spectra of objects absent from the photometry


def rail_sample_path(relative: str) -> Path:
    from rail.utils.path_utils import find_rail_file

    return Path(find_rail_file(relative))


def read_rail_table(path: Path, group: str = "photometry") -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as handle:
        return {name: handle[group][name][()] for name in handle[group]}


def magnitudes_to_fluxes(mag: np.ndarray, mag_err: np.ndarray, nondetect_val: float = 99.0) -> tuple[np.ndarray, np.ndarray]:
    """nJy flux and error for AB magnitudes; non-detections get zero flux and the limiting flux as error."""
    mag = mag.astype(np.float64)
    mag_err = mag_err.astype(np.float64)
    detected = np.isfinite(mag) & ~np.isclose(mag, nondetect_val, atol=0.01)
    flux = np.where(detected, 10.0 ** (-0.4 * (mag - ZP_NJY)), 0.0)
    flux_err = np.where(detected, flux * mag_err / MAG_ERR_PER_FRACTIONAL_FLUX, 10.0 ** (-0.4 * (mag_err - ZP_NJY)))
    return flux, flux_err


def sky_positions(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded positions, uniform on the sphere over the patch RAIL's DC2 sample has none of its own for."""
    rng = np.random.default_rng(seed)
    ra = rng.uniform(PATCH_RA[0], PATCH_RA[1], rows)
    dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(PATCH_DEC[0])), np.sin(np.radians(PATCH_DEC[1])), rows)))
    return ra, dec


def object_table(rail: dict[str, np.ndarray], replicas: int = 1, flux_dtype: str = "float64",
                 keep_redshift: bool = False, seed: int = VALIDATION_SEED) -> pa.Table:
    """An Object-like table (objectId, coord_ra, coord_dec, nJy cModel fluxes) from a RAIL magnitude table."""
    ids = np.asarray(rail["id"], dtype=np.int64)
    ra, dec = sky_positions(ids.size * replicas, seed)
    columns: dict[str, np.ndarray] = {
        "objectId": np.concatenate([ids + k * REPLICA_ID_STRIDE for k in range(replicas)]),
        "coord_ra": ra, "coord_dec": dec}
    for band in LSST_BANDS:
        flux, flux_err = magnitudes_to_fluxes(rail[f"mag_{band}_lsst"], rail[f"mag_err_{band}_lsst"])
        columns[f"{band}_cModelFlux"] = np.tile(flux.astype(flux_dtype), replicas)
        columns[f"{band}_cModelFluxErr"] = np.tile(flux_err.astype(flux_dtype), replicas)
    if keep_redshift:
        columns["redshift"] = np.tile(np.asarray(rail["redshift"], dtype=np.float64), replicas)
    return pa.table(columns)


def write_split(table: pa.Table, folder: Path, n_files: int, row_group_rows: int, stem: str) -> list[Path]:
    """Split ``table`` into ``n_files`` parquet files of nearly equal size."""
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, table.num_rows, n_files + 1).astype(int)
    paths = []
    for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        path = folder / f"{stem}_{i:03d}.parquet"
        pq.write_table(table.slice(start, stop - start), path, row_group_size=row_group_rows)
        paths.append(path)
    return paths


def make_sample(out_dir: Path, n_files: int = 4, replicas: int = 1, row_group_rows: int = 2000) -> dict[str, list[Path]]:
    """The demo data: ``catalog/`` from RAIL's DC2 validation sample, ``training.parquet`` from its training sample."""
    validation = read_rail_table(rail_sample_path(DC2_VALIDATION))
    catalog = write_split(object_table(validation, replicas, keep_redshift=True), out_dir / "catalog", n_files,
                          row_group_rows, "dc2_object")
    training = read_rail_table(rail_sample_path(DC2_TRAINING))
    training_path = out_dir / "training.parquet"
    training_table = object_table(training, keep_redshift=True, seed=TRAINING_SEED)
    pq.write_table(training_table, training_path)
    field = write_split(training_table.drop_columns(["redshift"]), out_dir / "field", 2, row_group_rows, "field")
    spectra_path = out_dir / "spectra.parquet"
    pq.write_table(spectroscopic_catalog(training_table), spectra_path)
    return {"catalog": catalog, "training": [training_path], "field": field, "spectra": [spectra_path]}


def spectroscopic_catalog(objects: pa.Table) -> pa.Table:
    """Spectra of ``objects`` (objectId, coord_ra, coord_dec, redshift): ra, dec, z, flag and survey.

    Each object has a spectrum with its redshift (flag 3 or 4) a fraction of an
    arcsecond away; some have a second, worse one (flag 2, z off by 0.01);
    and a few spectra are of objects the photometry does not have.
    """
    rng = np.random.default_rng(SPECTRA_SEED)
    ra, dec = objects["coord_ra"].to_numpy(), objects["coord_dec"].to_numpy()
    redshift = objects["redshift"].to_numpy()
    repeated = np.flatnonzero(rng.random(ra.size) < REPEATED_FRACTION)
    rows = np.r_[np.arange(ra.size), repeated]
    scatter = rng.normal(0.0, SPECTRA_SCATTER_ARCSEC / 3600.0, (2, rows.size))
    s_ra = ra[rows] + scatter[0] / np.cos(np.radians(dec[rows]))
    s_dec = dec[rows] + scatter[1]
    z = np.r_[redshift, redshift[repeated] + 0.01]
    flag = np.r_[rng.choice([3.0, 4.0], ra.size, p=[0.3, 0.7]), np.full(repeated.size, 2.0)]
    lonely_ra, lonely_dec = sky_positions(UNMATCHED_SPECTRA, SPECTRA_SEED)
    survey = np.r_[np.where(rng.random(rows.size) < 0.5, "DESI-like", "VVDS-like"), np.full(UNMATCHED_SPECTRA, "DESI-like")]
    return pa.table({"ra": np.r_[s_ra, lonely_ra], "dec": np.r_[s_dec, lonely_dec],
                     "z": np.r_[z, rng.uniform(0.1, 1.5, UNMATCHED_SPECTRA)],
                     "flag": np.r_[flag, np.full(UNMATCHED_SPECTRA, 4.0)], "survey": survey})
