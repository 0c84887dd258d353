"""The photo-z configuration: one TOML file per code, read by ``pzmpi train`` and ``pzmpi run``.

It says what to read (input), how to clean it (cleaning), which estimator and
model (estimator), how to train (training), what to write (output) and how to
run (run). Every key is declared once in ``SCHEMA`` (``pzmpi.core.tomlconfig``),
so that a mistake is reported with the key's full name and the file. This
module imports no numpy, numba or MPI.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pzmpi.core.errors import ConfigError
from pzmpi.core.release import RELEASE_TABLES, Release, releases_root
from pzmpi.core.tomlconfig import NUMBER, Key, dump_toml, read_toml, resolve_path, validate_sections
from pzmpi.estimators import default_nondetect_val
from pzmpi.io.run_folder import RunPaths
from pzmpi.photometry.bands import (LSST_BANDS, LSST_EXTINCTION, LSST_MAG_LIMITS, SKINNY_MAGNITUDE,
                                    SKINNY_MAGNITUDE_ERROR)

POINT_ESTIMATES = ("zmode", "zmean", "zmedian", "z_lo68", "z_hi68")



MAX_BANDS = 16  # the per-object non-detection mask is 16 bits
NONDETECTED_BANDS = "nondetected_bands"  # the pieces' per-object mask of non-detected bands

SCHEMA: dict[str, dict[str, Key]] = {
    "input": {
        "paths": Key((str, list), [], "folder, glob pattern or .txt list of parquet files (or a list of these); or 'input.release'"),
        "release": Key((str,), "", "a release whose table to read, found in its record (in place of 'input.paths'); the skinny table's magnitude columns are the default"),
        "table": Key((str,), "skinny", "with 'input.release': 'skinny' (its newest skinny table), 'training' or 'test' (its newest training set's split)"),
        "releases": Key((str,), "", "with 'input.release': where releases live (default: $PZMPI_RELEASES, else ./releases)"),
        "id_column": Key((str,), "objectId", "column holding the unique object identifier"),
        "bands": Key((list,), list(LSST_BANDS), "photometric bands, in the order the model was trained with"),
        "flux_column": Key((str,), "", "template of the flux column in nJy, e.g. '{band}_cModelFlux'"),
        "flux_error_column": Key((str,), "", "template of the flux error column in nJy, e.g. '{band}_cModelFluxErr'"),
        "magnitude_column": Key((str,), "", "template of an AB magnitude column (skinny tables), e.g. 'mag_{band}'"),
        "magnitude_error_column": Key((str,), "", "template of the magnitude error column, e.g. 'magerr_{band}'"),
        "magnitude_nondetect_val": Key(NUMBER, 99.0, "value marking a non-detection in magnitude columns (NaN and inf are always non-detections)"),
        "ebv_column": Key((str,), "ebv", "column holding E(B-V), read when cleaning.deredden is true"),
        "ra_column": Key((str,), "coord_ra", "right ascension in degrees, copied into the pieces and the run's sky map; '' if the input has none"),
        "dec_column": Key((str,), "coord_dec", "declination in degrees, copied into the pieces and the run's sky map; '' if the input has none"),
    },
    "cleaning": {
        "deredden": Key((bool,), False, "subtract A_b * E(B-V) from detected magnitudes"),
        "extinction": Key((dict,), dict(LSST_EXTINCTION), "A_b / E(B-V) per band"),
        "nondetect_val": Key(NUMBER, None, "magnitude written for a non-detection (the estimator's nondetect_val); default 99, NaN for LePHARE"),
        "mag_limits": Key((dict,), dict(LSST_MAG_LIMITS), "per-band limiting magnitude: error of a non-detection without a usable flux error"),
        "magnitude_dtype": Key((str,), "float32", "'float32' (as RAIL's sample files) or 'float64': precision of the magnitudes given to the estimator"),
    },
    "estimator": {
        "name": Key((str,), None, "'flexzboost', 'bpz', 'tpz', 'gpz', 'lephare', or the class path of a RAIL CatEstimator", required=True),
        "model": Key((str,), None, "model file written by 'pzmpi train' (RAIL informer output)", required=True),
        "zmin": Key(NUMBER, 0.0, "lower end of the redshift grid"),
        "zmax": Key(NUMBER, 3.0, "upper end of the redshift grid"),
        "nzbins": Key((int,), 301, "number of redshift grid points"),
        "params": Key((dict,), {}, "extra parameters passed unchanged to the RAIL estimator stage"),
        "data_dir": Key((str,), "", "auxiliary data of the estimator: LEPHAREDIR for LePHARE (e.g. shared/lephare-data)"),
        "implementation": Key((str,), "native", "'native': pzmpi's compiled code where it has one (flexzboost, bpz, tpz, gpz, lephare), RAIL's otherwise; 'rail': always RAIL's own code"),
    },
    "training": {
        "input": Key((str,), "", "training table (parquet or HDF5) for 'pzmpi train' (default with 'input.release': its newest training set's training split)"),
        "hdf5_group": Key((str,), "", "group holding the columns when the training table is HDF5"),
        "redshift_column": Key((str,), "redshift", "spectroscopic redshift column of the training table"),
        "seed": Key((int,), 0, "seed of Python's and numpy's global random generators before the informer runs"),
        "params": Key((dict,), {}, "extra parameters passed unchanged to the RAIL informer stage"),
    },
    "output": {
        "folder": Key((str,), None, "run folder: plan.json, profile.json, index.hdf5 and pieces/", required=True),
        "pdf_dtype": Key((str,), "float32", "'float32' or 'float64' storage of the PDFs"),
        "point_estimates": Key((list,), list(POINT_ESTIMATES), f"point estimates to store, among {', '.join(POINT_ESTIMATES)}"),
        "estimator_columns": Key((list,), [], "per-object extras of the RAIL estimator to keep (e.g. BPZ's 'tb', 'todds')"),
        "carry_columns": Key((list,), [], "other input columns copied into every piece beside the positions (e.g. tract, patch, a reference magnitude)"),
        "compression": Key((str,), "none", "'none', 'gzip' or 'lzf' for the PDF dataset"),
        "resume": Key((bool,), True, "skip pieces whose finished output exists with the same configuration"),
    },
    "summary": {
        "enabled": Key((bool,), True, "accumulate the run's results (stacked N(z), tomography, histograms, counts, sky) for 'pzmpi report'"),
        "tomography": Key((str,), "uniform", "'uniform' (tomographic_bins equal bins over [zmin, zmax]), 'edges' (tomographic_edges) or 'equal_count'"),
        "tomographic_bins": Key((int,), 5, "number of tomographic bins for 'uniform' and 'equal_count'"),
        "tomographic_edges": Key((list,), [], "bin edges for 'edges', increasing, e.g. [0.0, 0.5, 1.0, 2.0, 3.0]",
                                 numbers=True),
        "point_estimate": Key((str,), "zmode", "the point estimate that assigns tomographic bins"),
        "sky_order": Key((int,), 6, "HEALPix order of the run's sky map (6: 0.84 square degrees a pixel)"),
    },
    "run": {
        "rows_per_chunk": Key((int,), 10000, "rows read, cleaned and estimated at once by a rank"),
        "max_rows_per_piece": Key((int,), 500000, "a file with more rows is split, at row-group boundaries, into pieces of about this size"),
        "threads_per_rank": Key((int,), 1, "BLAS, OpenMP, numba and Arrow threads per rank"),
        "progress_interval": Key(NUMBER, 30.0, "seconds between progress lines in a batch log"),
        "heartbeat_interval": Key(NUMBER, 30.0, "seconds between a rank's heartbeats (RUN/status/), which 'pzmpi status' reads"),
    },
}


@dataclass(frozen=True)
class InputConfig:
    paths: list[str]
    id_column: str
    bands: list[str]
    flux_column: str
    flux_error_column: str
    magnitude_column: str
    magnitude_error_column: str
    magnitude_nondetect_val: float
    ebv_column: str
    ra_column: str
    dec_column: str
    release: str = ""
    table: str = "skinny"
    releases: str = ""

    def release_record(self) -> Release:
        """The release ``release`` names, its record read (a ConfigError names it when there is none)."""
        return Release.open(releases_root(self.releases or None), self.release)

    @property
    def reads_fluxes(self) -> bool:
        return bool(self.flux_column)

    def value_columns(self) -> list[str]:
        """Photometric value columns, one per band, in band order."""
        template = self.flux_column or self.magnitude_column
        return [template.format(band=band) for band in self.bands]

    def error_columns(self) -> list[str]:
        template = self.flux_error_column or self.magnitude_error_column
        return [template.format(band=band) for band in self.bands]


@dataclass(frozen=True)
class CleaningConfig:
    deredden: bool
    extinction: dict[str, float]
    nondetect_val: float
    mag_limits: dict[str, float]
    magnitude_dtype: str


@dataclass(frozen=True)
class EstimatorConfig:
    name: str
    model: str
    zmin: float
    zmax: float
    nzbins: int
    params: dict[str, Any]
    data_dir: str
    implementation: str


@dataclass(frozen=True)
class TrainingConfig:
    input: str
    hdf5_group: str
    redshift_column: str
    seed: int
    params: dict[str, Any]


@dataclass(frozen=True)
class OutputConfig:
    folder: str
    pdf_dtype: str
    point_estimates: list[str]
    estimator_columns: list[str]
    carry_columns: list[str]
    compression: str
    resume: bool


@dataclass(frozen=True)
class SummaryConfig:
    enabled: bool
    tomography: str
    tomographic_bins: int
    tomographic_edges: list[float]
    point_estimate: str
    sky_order: int


@dataclass(frozen=True)
class RunSettings:
    rows_per_chunk: int
    max_rows_per_piece: int
    threads_per_rank: int
    progress_interval: float
    heartbeat_interval: float


@dataclass(frozen=True)
class Config:
    """A validated run configuration; relative paths are resolved against ``base_dir``."""

    input: InputConfig
    cleaning: CleaningConfig
    estimator: EstimatorConfig
    training: TrainingConfig
    output: OutputConfig
    summary: SummaryConfig
    run: RunSettings
    source: str
    text: str = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read, override and validate a configuration file.

    ``overrides`` are ``section.key=value`` strings; the value is parsed as TOML
    (so ``run.rows_per_chunk=5000`` is an integer and ``output.folder="x"`` or
    ``output.folder=x`` a string).
    """
    path = Path(path)
    raw = read_toml(path, overrides)
    return build_config(raw, base_dir=path.resolve().parent, source=str(path))


def load_run_config(run_dir: str | Path) -> Config:
    """The configuration a run folder recorded, its paths resolved as they were for the run.

    ``pzmpi run`` keeps the configuration's text (``config.toml``) and where it
    came from (``run.json``'s ``config_file``) in its folder.
    """
    run_dir = Path(run_dir)
    paths = RunPaths(run_dir)
    record, text = paths.run_record, paths.config
    for required in (record, text):
        if not required.is_file():
            raise ConfigError(f"{run_dir}: no {required.name}: not the folder of a pzmpi run")
    origin = Path(json.loads(record.read_text())["config_file"])
    raw = read_toml(text)
    return build_config(raw, base_dir=origin.parent, source=str(text))


def build_config(raw: dict[str, Any], base_dir: Path, source: str) -> Config:
    """Validate a parsed TOML document against ``SCHEMA`` and build the typed configuration."""
    values = validate_sections(raw, SCHEMA, source)
    if values["cleaning"]["nondetect_val"] is None:
        values["cleaning"]["nondetect_val"] = default_nondetect_val(values["estimator"]["name"])
    inp = values["input"]
    if inp["release"] and not (inp["flux_column"] or inp["magnitude_column"]):
        inp.update(magnitude_column=SKINNY_MAGNITUDE, magnitude_error_column=SKINNY_MAGNITUDE_ERROR)
    config = Config(
        input=InputConfig(**{**inp, "paths": _as_list(inp["paths"])}),
        cleaning=CleaningConfig(**values["cleaning"]),
        estimator=EstimatorConfig(**values["estimator"]),
        training=TrainingConfig(**values["training"]),
        output=OutputConfig(**values["output"]),
        summary=SummaryConfig(**values["summary"]),
        run=RunSettings(**values["run"]),
        source=source,
        text=dump_toml(raw),
    )
    _check_semantics(config, source)
    return _resolve_paths(config, base_dir)


def _check_semantics(config: Config, source: str) -> None:
    """Cross-key checks: exactly one column kind, known bands, sane grid and sizes."""
    inp = config.input
    if bool(inp.flux_column) == bool(inp.magnitude_column):
        raise ConfigError(f"{source}: set exactly one of 'input.flux_column' (nJy) and 'input.magnitude_column'")
    if inp.flux_column and not inp.flux_error_column:
        raise ConfigError(f"{source}: 'input.flux_error_column' is required with 'input.flux_column'")
    if inp.magnitude_column and not inp.magnitude_error_column:
        raise ConfigError(f"{source}: 'input.magnitude_error_column' is required with 'input.magnitude_column'")
    for key in ("flux_column", "flux_error_column", "magnitude_column", "magnitude_error_column"):
        template = getattr(inp, key)
        if template and "{band}" not in template:
            raise ConfigError(f"{source}: 'input.{key}' = {template!r} must contain '{{band}}'")
    if bool(inp.paths) == bool(inp.release):
        raise ConfigError(f"{source}: set exactly one of 'input.paths' (folders, patterns or list files) and "
                          "'input.release' (a release's table)")
    if inp.table not in RELEASE_TABLES:
        raise ConfigError(f"{source}: 'input.table' must be one of {', '.join(RELEASE_TABLES)}, got {inp.table!r}")
    if not 1 <= len(inp.bands) <= MAX_BANDS:
        raise ConfigError(f"{source}: 'input.bands' must name 1 to {MAX_BANDS} bands, got {len(inp.bands)}")
    for key in ("extinction", "mag_limits"):
        table = getattr(config.cleaning, key)
        if key == "extinction" and not config.cleaning.deredden:
            continue
        missing = [b for b in inp.bands if not isinstance(table.get(b), (int, float)) or isinstance(table.get(b), bool)]
        if missing:
            raise ConfigError(f"{source}: 'cleaning.{key}' has no number for band(s) {', '.join(missing)}")
    if config.cleaning.magnitude_dtype not in ("float32", "float64"):
        raise ConfigError(f"{source}: 'cleaning.magnitude_dtype' must be 'float32' or 'float64', "
                          f"got {config.cleaning.magnitude_dtype!r}")
    est = config.estimator
    if not est.zmax > est.zmin:
        raise ConfigError(f"{source}: 'estimator.zmax' ({est.zmax}) must exceed 'estimator.zmin' ({est.zmin})")
    if est.nzbins < 2:
        raise ConfigError(f"{source}: 'estimator.nzbins' must be at least 2, got {est.nzbins}")
    if est.implementation not in ("native", "rail"):
        raise ConfigError(f"{source}: 'estimator.implementation' must be 'native' or 'rail', got {est.implementation!r}")
    out = config.output
    if out.pdf_dtype not in ("float32", "float64"):
        raise ConfigError(f"{source}: 'output.pdf_dtype' must be 'float32' or 'float64', got {out.pdf_dtype!r}")
    if out.compression not in ("none", "gzip", "lzf"):
        raise ConfigError(f"{source}: 'output.compression' must be 'none', 'gzip' or 'lzf', got {out.compression!r}")
    for key in ("bands", "point_estimates", "estimator_columns", "carry_columns"):
        values = getattr(inp if key == "bands" else out, key)
        section = "input" if key == "bands" else "output"
        if not all(isinstance(v, str) for v in values) or len(set(values)) != len(values):
            raise ConfigError(f"{source}: '{section}.{key}' must be a list of distinct names, got {values!r}")
    own = {*POINT_ESTIMATES, "objectId", "tomo_bin", NONDETECTED_BANDS}
    for key, names in (("estimator_columns", out.estimator_columns), ("carry_columns", out.carry_columns)):
        taken = [c for c in names if c in own or c in (inp.ra_column, inp.dec_column)]
        if taken:
            raise ConfigError(f"{source}: 'output.{key}' {taken} would overwrite pzmpi's own columns")
    both = set(out.estimator_columns) & set(out.carry_columns)
    if both:
        raise ConfigError(f"{source}: {sorted(both)} named in both 'output.estimator_columns' and 'output.carry_columns'")
    unknown = [p for p in out.point_estimates if p not in POINT_ESTIMATES]
    if unknown:
        raise ConfigError(f"{source}: 'output.point_estimates' has unknown {unknown} (known: {', '.join(POINT_ESTIMATES)})")
    _check_summary(config.summary, out.point_estimates, source)
    for key in ("rows_per_chunk", "max_rows_per_piece", "threads_per_rank"):
        if getattr(config.run, key) < 1:
            raise ConfigError(f"{source}: 'run.{key}' must be at least 1")


def _check_summary(summary: SummaryConfig, point_estimates: list[str], source: str) -> None:
    if summary.tomography not in ("uniform", "edges", "equal_count"):
        raise ConfigError(f"{source}: 'summary.tomography' must be 'uniform', 'edges' or 'equal_count', "
                          f"got {summary.tomography!r}")
    if summary.tomographic_bins < 1:
        raise ConfigError(f"{source}: 'summary.tomographic_bins' must be at least 1")
    edges = summary.tomographic_edges
    if summary.tomography == "edges" and (len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:]))):
        raise ConfigError(f"{source}: 'summary.tomographic_edges' must hold at least 2 increasing numbers, "
                          f"got {edges!r}")
    if summary.point_estimate not in POINT_ESTIMATES:
        raise ConfigError(f"{source}: 'summary.point_estimate' must be one of {', '.join(POINT_ESTIMATES)}, "
                          f"got {summary.point_estimate!r}")
    if summary.enabled and summary.tomography == "equal_count" and summary.point_estimate not in point_estimates:
        raise ConfigError(f"{source}: 'summary.point_estimate' = {summary.point_estimate!r} must be among "
                          "'output.point_estimates' for equal-count tomography: each object's bin is written from it")
    if not 0 <= summary.sky_order <= 12:
        raise ConfigError(f"{source}: 'summary.sky_order' must be between 0 and 12, got {summary.sky_order}")


def _resolve_paths(config: Config, base_dir: Path) -> Config:
    """Make file paths absolute, relative to the configuration file's folder."""

    def resolve(value: str) -> str:
        return resolve_path(base_dir, value)

    return replace(
        config,
        input=replace(config.input, paths=[resolve(p) for p in config.input.paths],
                      releases=resolve(config.input.releases) if config.input.releases else ""),
        estimator=replace(config.estimator, model=resolve(config.estimator.model),
                          data_dir=resolve(config.estimator.data_dir)),
        training=replace(config.training, input=resolve(config.training.input)),
        output=replace(config.output, folder=resolve(config.output.folder)),
    )


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
