"""Configuration of ``pzmpi training-set``: spectroscopic catalogs, the photometry to match them with, the match,
the duplicate policy's flag order, the split, and where the tables go (docs/training_set.md).

Checked against its schema before any MPI work; imports no numpy, scipy or MPI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pzmpi.core.errors import ConfigError
from pzmpi.core.tomlconfig import NUMBER, Key, dump_toml, read_toml, resolve_path, validate_sections


TRAINING_SET_SCHEMA: dict[str, dict[str, Key]] = {
    "spectra": {
        "paths": Key((list,), None, "spectroscopic catalogs: parquet, CSV or FITS files", required=True),
        "ra_column": Key((str,), "ra", "right ascension in degrees"),
        "dec_column": Key((str,), "dec", "declination in degrees"),
        "redshift_column": Key((str,), "z", "spectroscopic redshift"),
        "redshift_error_column": Key((str,), "", "its error, carried into the tables when given"),
        "flag_column": Key((str,), "", "quality flag (a number; higher is better unless flag_lower_is_better)"),
        "flag_lower_is_better": Key((bool,), False, "the duplicate policy prefers the lowest flag"),
        "survey_column": Key((str,), "", "column naming each spectrum's survey; '' takes each file's name"),
        "min_flag": Key(NUMBER, float("-inf"), "quality cut: keep spectra whose flag is at least this (at most, "
                                               "when lower is better)"),
        "min_redshift": Key(NUMBER, 0.0, "quality cut: keep spectra with redshift at least this"),
        "max_redshift": Key(NUMBER, 3.0, "quality cut: keep spectra with redshift at most this"),
    },
    "photometry": {
        "release": Key((str,), "", "a release whose latest skinny table is the photometry (see 'pzmpi skinny')"),
        "releases": Key((str,), "", "folder of releases (default: $PZMPI_RELEASES, else ./releases)"),
        "paths": Key((list,), [], "or: parquet files or folders with positions and photometry"),
        "id_column": Key((str,), "objectId", "unique object identifier"),
        "ra_column": Key((str,), "coord_ra", "right ascension in degrees"),
        "dec_column": Key((str,), "coord_dec", "declination in degrees"),
        "columns": Key((list,), [], "photometry columns carried into the tables; default: every column "
                                    "but the id and the position"),
        "magnitude_column": Key((str,), "mag_{band}", "template of the AB magnitude for the QA report's "
                                                      "distributions and completeness ('' for none)"),
        "flux_column": Key((str,), "", "or: template of the flux in nJy, turned into AB magnitudes for the QA "
                                       "report (when set, magnitude_column is not read)"),
        "bands": Key((list,), ["u", "g", "r", "i", "z", "y"], "bands of the QA report"),
    },
    "match": {
        "radius_arcsec": Key(NUMBER, 1.0, "largest separation of a match, in arcseconds"),
        "healpix_order": Key((int,), 8, "HEALPix order of the partition (order 8: 13.7 arcmin pixels)"),
    },
    "split": {
        "train_fraction": Key(NUMBER, 0.7, "fraction of matched objects in the training table"),
        "seed": Key((int,), 0, "seed of the split; the split depends only on objectId and this"),
    },
    "output": {
        "folder": Key((str,), None, "folder of training.parquet, test.parquet and the QA report", required=True),
        "name": Key((str,), "training_set", "the training set's name in the release record"),
    },
    "run": {
        "rows_per_chunk": Key((int,), 200000, "photometry rows read at once by a rank"),
    },
}


@dataclass(frozen=True)
class TrainingSetConfig:
    spectra: dict[str, Any]
    photometry: dict[str, Any]
    radius_arcsec: float
    healpix_order: int
    train_fraction: float
    seed: int
    folder: str
    name: str
    rows_per_chunk: int
    source: str
    text: str = field(repr=False)


def load_training_set_config(path: str | Path, overrides: list[str] | None = None) -> TrainingSetConfig:
    path = Path(path)
    return build_training_set_config(read_toml(path, overrides), path.resolve().parent, str(path))


def build_training_set_config(raw: dict[str, Any], base_dir: Path, source: str) -> TrainingSetConfig:
    values = validate_sections(raw, TRAINING_SET_SCHEMA, source)
    spectra, photometry = dict(values["spectra"]), dict(values["photometry"])
    spectra["paths"] = [resolve_path(base_dir, p) for p in spectra["paths"]]
    for path in spectra["paths"]:
        if not Path(path).is_file():
            raise ConfigError(f"{source}: 'spectra.paths': {path} is not a file")
        if spectra_format(path) is None:
            raise ConfigError(f"{source}: 'spectra.paths': {path} is neither parquet, CSV nor FITS")
    if not spectra["paths"]:
        raise ConfigError(f"{source}: 'spectra.paths' must name at least one catalog")
    photometry["paths"] = [resolve_path(base_dir, p) for p in photometry["paths"]]
    if bool(photometry["release"]) == bool(photometry["paths"]):
        raise ConfigError(f"{source}: set exactly one of 'photometry.release' and 'photometry.paths'")
    for key in ("magnitude_column", "flux_column"):
        if photometry[key] and "{band}" not in photometry[key]:
            raise ConfigError(f"{source}: 'photometry.{key}' must contain '{{band}}' or be ''")

    match, split = values["match"], values["split"]
    if not match["radius_arcsec"] > 0:
        raise ConfigError(f"{source}: 'match.radius_arcsec' must be positive")
    if not 0 <= match["healpix_order"] <= 13:
        raise ConfigError(f"{source}: 'match.healpix_order' must be between 0 and 13")
    if not 0.0 <= split["train_fraction"] <= 1.0:
        raise ConfigError(f"{source}: 'split.train_fraction' must be between 0 and 1")
    if values["run"]["rows_per_chunk"] < 1:
        raise ConfigError(f"{source}: 'run.rows_per_chunk' must be at least 1")
    return TrainingSetConfig(spectra=spectra, photometry=photometry, radius_arcsec=float(match["radius_arcsec"]),
                             healpix_order=match["healpix_order"], train_fraction=float(split["train_fraction"]),
                             seed=split["seed"], folder=resolve_path(base_dir, values["output"]["folder"]),
                             name=values["output"]["name"], rows_per_chunk=values["run"]["rows_per_chunk"],
                             source=source, text=dump_toml(raw))


def spectra_format(path: str) -> str | None:
    """'parquet', 'csv' or 'fits' from a file's name, or None."""
    name = Path(path).name.lower()
    for suffixes, kind in (((".parquet", ".pq"), "parquet"), ((".csv", ".csv.gz"), "csv"),
                           ((".fits", ".fit", ".fits.gz"), "fits")):
        if name.endswith(suffixes):
            return kind
    return None
