"""Run configuration: one TOML file per run, validated before any MPI work.

Every key is declared once in ``SCHEMA`` with its type and default, so that an
unknown key, a wrong type or a missing file is reported with the key's full
name (``estimator.nzbins``) and the configuration file it came from.  This
module imports no numpy, numba or MPI: the command line reads the configuration
first and pins thread counts before those libraries load.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pzmpi.errors import ConfigError
from pzmpi.estimators import default_nondetect_val

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LSST_BANDS = ("u", "g", "r", "i", "z", "y")

# A_b / E(B-V) for the LSST bands (pz-compute's coefficients, REFERENCE.md section 2).
LSST_EXTINCTION = {"u": 4.81, "g": 3.64, "r": 2.70, "i": 2.06, "z": 1.58, "y": 1.31}

# RAIL's default 5-sigma limiting magnitudes (rail/core/common_params.py).
LSST_MAG_LIMITS = {"u": 27.79, "g": 29.04, "r": 29.06, "i": 28.62, "z": 27.98, "y": 27.05}

POINT_ESTIMATES = ("zmode", "zmean", "zmedian", "z_lo68", "z_hi68")


@dataclass(frozen=True)
class Key:
    """One configuration key: accepted Python types, default, and its documentation line."""

    types: tuple[type, ...]
    default: Any
    doc: str
    required: bool = False


_NUMBER = (int, float)

SCHEMA: dict[str, dict[str, Key]] = {
    "input": {
        "paths": Key((str, list), None, "folder, glob pattern or .txt list of parquet files (or a list of these)", required=True),
        "id_column": Key((str,), "objectId", "column holding the unique object identifier"),
        "bands": Key((list,), list(LSST_BANDS), "photometric bands, in the order the model was trained with"),
        "flux_column": Key((str,), "", "template of the flux column in nJy, e.g. '{band}_cModelFlux'"),
        "flux_error_column": Key((str,), "", "template of the flux error column in nJy, e.g. '{band}_cModelFluxErr'"),
        "magnitude_column": Key((str,), "", "template of an AB magnitude column (skinny tables), e.g. 'mag_{band}'"),
        "magnitude_error_column": Key((str,), "", "template of the magnitude error column, e.g. 'magerr_{band}'"),
        "magnitude_nondetect_val": Key(_NUMBER, 99.0, "value marking a non-detection in magnitude columns (NaN and inf are always non-detections)"),
        "ebv_column": Key((str,), "ebv", "column holding E(B-V), read when cleaning.deredden is true"),
    },
    "cleaning": {
        "deredden": Key((bool,), False, "subtract A_b * E(B-V) from detected magnitudes"),
        "extinction": Key((dict,), dict(LSST_EXTINCTION), "A_b / E(B-V) per band"),
        "nondetect_val": Key(_NUMBER, None, "magnitude written for a non-detection (the estimator's nondetect_val); default 99, NaN for LePHARE"),
        "mag_limits": Key((dict,), dict(LSST_MAG_LIMITS), "per-band limiting magnitude: error of a non-detection without a usable flux error"),
        "magnitude_dtype": Key((str,), "float32", "'float32' (as RAIL's sample files) or 'float64': precision of the magnitudes given to the estimator"),
    },
    "estimator": {
        "name": Key((str,), None, "'flexzboost', 'bpz', 'tpz', 'gpz', 'lephare', or the class path of a RAIL CatEstimator", required=True),
        "model": Key((str,), None, "model file written by 'pzmpi train' (RAIL informer output)", required=True),
        "zmin": Key(_NUMBER, 0.0, "lower end of the redshift grid"),
        "zmax": Key(_NUMBER, 3.0, "upper end of the redshift grid"),
        "nzbins": Key((int,), 301, "number of redshift grid points"),
        "params": Key((dict,), {}, "extra parameters passed unchanged to the RAIL estimator stage"),
        "data_dir": Key((str,), "", "auxiliary data of the estimator: LEPHAREDIR for LePHARE (e.g. shared/lephare-data)"),
        "implementation": Key((str,), "native", "'native': pzmpi's compiled code where it has one (flexzboost, bpz, tpz, gpz), RAIL's otherwise; 'rail': always RAIL's own code"),
    },
    "training": {
        "input": Key((str,), "", "training table (parquet or HDF5) for 'pzmpi train'"),
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
        "compression": Key((str,), "none", "'none', 'gzip' or 'lzf' for the PDF dataset"),
        "resume": Key((bool,), True, "skip pieces whose finished output exists with the same configuration"),
    },
    "run": {
        "rows_per_chunk": Key((int,), 10000, "rows read, cleaned and estimated at once by a rank"),
        "max_rows_per_piece": Key((int,), 500000, "a file with more rows is split, at row-group boundaries, into pieces of about this size"),
        "threads_per_rank": Key((int,), 1, "BLAS, OpenMP, numba and Arrow threads per rank"),
        "progress_interval": Key(_NUMBER, 30.0, "seconds between progress lines in a batch log"),
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
    compression: str
    resume: bool


@dataclass(frozen=True)
class RunSettings:
    rows_per_chunk: int
    max_rows_per_piece: int
    threads_per_rank: int
    progress_interval: float


@dataclass(frozen=True)
class Config:
    """A validated run configuration; relative paths are resolved against ``base_dir``."""

    input: InputConfig
    cleaning: CleaningConfig
    estimator: EstimatorConfig
    training: TrainingConfig
    output: OutputConfig
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


def read_toml(path: Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Parse a TOML configuration file and apply ``section.key=value`` overrides to it."""
    if not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    for override in overrides or []:
        _apply_override(raw, override, path)
    return raw


def build_config(raw: dict[str, Any], base_dir: Path, source: str) -> Config:
    """Validate a parsed TOML document against ``SCHEMA`` and build the typed configuration."""
    values = validate_sections(raw, SCHEMA, source)
    if values["cleaning"]["nondetect_val"] is None:
        values["cleaning"]["nondetect_val"] = default_nondetect_val(values["estimator"]["name"])
    config = Config(
        input=InputConfig(**{**values["input"], "paths": _as_list(values["input"]["paths"])}),
        cleaning=CleaningConfig(**values["cleaning"]),
        estimator=EstimatorConfig(**values["estimator"]),
        training=TrainingConfig(**values["training"]),
        output=OutputConfig(**values["output"]),
        run=RunSettings(**values["run"]),
        source=source,
        text=dump_toml(raw),
    )
    _check_semantics(config, source)
    return _resolve_paths(config, base_dir)


def validate_sections(raw: dict[str, Any], schema: dict[str, dict[str, Key]], source: str) -> dict[str, dict[str, Any]]:
    """Check a parsed TOML document against ``schema``; return every key's value, defaults filled in.

    Unknown sections and keys, wrong types and missing required keys raise a
    ``ConfigError`` naming the key (``section.key``) and ``source``.
    """
    for section in raw:
        if section not in schema:
            raise ConfigError(f"{source}: unknown section [{section}] (known: {', '.join(schema)})")
    values: dict[str, dict[str, Any]] = {}
    for section, keys in schema.items():
        given = raw.get(section, {})
        if not isinstance(given, dict):
            raise ConfigError(f"{source}: '{section}' must be a table [{section}]")
        for key in given:
            if key not in keys:
                raise ConfigError(f"{source}: unknown key '{section}.{key}' (known: {', '.join(keys)})")
        values[section] = {}
        for key, spec in keys.items():
            full = f"{section}.{key}"
            if key not in given:
                if spec.required:
                    raise ConfigError(f"{source}: missing required key '{full}' ({spec.doc})")
                values[section][key] = _copy_default(spec.default)
                continue
            value = given[key]
            if isinstance(value, bool) and bool not in spec.types:
                raise ConfigError(f"{source}: '{full}' must be {_type_names(spec)}, got a boolean")
            if not isinstance(value, spec.types):
                raise ConfigError(f"{source}: '{full}' must be {_type_names(spec)}, got {type(value).__name__} {value!r}")
            if isinstance(value, list):  # every list key holds names: paths, bands, columns
                for position, item in enumerate(value, start=1):
                    if not isinstance(item, str) or not item:
                        raise ConfigError(f"{source}: '{full}' entry {position} must be a non-empty string, "
                                          f"got {type(item).__name__} {item!r}")
            values[section][key] = float(value) if spec.types == _NUMBER else value
    return values


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
    if not inp.paths:
        raise ConfigError(f"{source}: 'input.paths' must name at least one folder, pattern or list file")
    if not inp.bands:
        raise ConfigError(f"{source}: 'input.bands' must name at least one band")
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
    for key in ("bands", "point_estimates", "estimator_columns"):
        values = getattr(inp if key == "bands" else out, key)
        section = "input" if key == "bands" else "output"
        if not all(isinstance(v, str) for v in values) or len(set(values)) != len(values):
            raise ConfigError(f"{source}: '{section}.{key}' must be a list of distinct names, got {values!r}")
    taken = [c for c in out.estimator_columns if c in POINT_ESTIMATES or c == "objectId"]
    if taken:
        raise ConfigError(f"{source}: 'output.estimator_columns' {taken} would overwrite pzmpi's own columns")
    unknown = [p for p in out.point_estimates if p not in POINT_ESTIMATES]
    if unknown:
        raise ConfigError(f"{source}: 'output.point_estimates' has unknown {unknown} (known: {', '.join(POINT_ESTIMATES)})")
    for key in ("rows_per_chunk", "max_rows_per_piece", "threads_per_rank"):
        if getattr(config.run, key) < 1:
            raise ConfigError(f"{source}: 'run.{key}' must be at least 1")


def _resolve_paths(config: Config, base_dir: Path) -> Config:
    """Make file paths absolute, relative to the configuration file's folder."""

    def resolve(value: str) -> str:
        return resolve_path(base_dir, value)

    return replace(
        config,
        input=replace(config.input, paths=[resolve(p) for p in config.input.paths]),
        estimator=replace(config.estimator, model=resolve(config.estimator.model),
                          data_dir=resolve(config.estimator.data_dir)),
        training=replace(config.training, input=resolve(config.training.input)),
        output=replace(config.output, folder=resolve(config.output.folder)),
    )


def resolve_path(base_dir: Path, value: str) -> str:
    """An absolute path for ``value``, read relative to ``base_dir`` (the configuration's folder); '' stays ''."""
    return os.path.normpath(base_dir / value) if value and not os.path.isabs(value) else value


def require_file(path: str, key: str, source: str) -> None:
    """Raise a ConfigError naming ``key`` when the file it points to does not exist."""
    if not path:
        raise ConfigError(f"{source}: '{key}' is not set")
    if not Path(path).is_file():
        raise ConfigError(f"{source}: '{key}' points to a missing file: {path}")


def require_dir(path: str, key: str, source: str) -> None:
    """Raise a ConfigError naming ``key`` when the folder it points to does not exist."""
    if not path:
        raise ConfigError(f"{source}: '{key}' is not set")
    if not Path(path).is_dir():
        raise ConfigError(f"{source}: '{key}' points to a missing folder: {path}")


def _apply_override(raw: dict[str, Any], override: str, source: Path) -> None:
    if "=" not in override or "." not in override.split("=", 1)[0]:
        raise ConfigError(f"override {override!r} must look like section.key=value")
    dotted, text = override.split("=", 1)
    section, key = dotted.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text  # a bare word is taken as a string
    table = raw.setdefault(section, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: '{section}' must be a table to override {dotted}")
    table[key] = value


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _copy_default(value: Any) -> Any:
    return value.copy() if isinstance(value, (dict, list)) else value


def _type_names(spec: Key) -> str:
    if spec.types == _NUMBER:
        return "a number"
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", list: "a list", dict: "a table"}
    return " or ".join(dict.fromkeys(names[t] for t in spec.types))


def dump_toml(raw: dict[str, Any]) -> str:
    """Serialise a (possibly overridden) configuration back to TOML, deterministically."""
    lines: list[str] = []

    def emit(prefix: str, table: dict[str, Any]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in table.items() if isinstance(v, dict)}
        if prefix and (scalars or not tables):
            lines.append(f"[{prefix}]")
        for key in sorted(scalars):
            lines.append(f"{_toml_key(key)} = {_toml_value(scalars[key])}")
        for key in sorted(tables):
            emit(f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key), tables[key])

    emit("", raw)
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value else "nan"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sorted(value.items())) + "}"
    raise ConfigError(f"cannot write {value!r} as TOML")


def _toml_key(key: str) -> str:
    """A bare key when TOML allows it, else a quoted one (``"lephare.Z_STEP"`` must not become a table)."""
    return key if key and all(c.isalnum() or c in "_-" for c in key) else _toml_value(key)
