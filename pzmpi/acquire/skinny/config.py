"""Configuration of ``pzmpi skinny``: one TOML file, validated like a run's (``pzmpi.config``).

Presets name the columns of the Rubin schemas (REFERENCE.md section 1); any
column key given in ``[input]`` overrides its preset value, and with no preset
every column template must be given.  Like ``pzmpi.config``, this module imports
no numpy, numba or MPI, so the command line can pin thread counts first.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pzmpi.core.errors import ConfigError
from pzmpi.core.tomlconfig import NUMBER, Key, dump_toml, read_toml, resolve_path, validate_sections
from pzmpi.photometry.bands import LSST_BANDS, LSST_EXTINCTION, LSST_MAG_LIMITS

# Column names per schema. DP1, DP2 and later releases share the DP1 layout.
PRESETS: dict[str, dict[str, str]] = {
    "dp02": {"id_column": "objectId", "ra_column": "coord_ra", "dec_column": "coord_dec",
             "flux_column": "{band}_cModelFlux", "flux_error_column": "{band}_cModelFluxErr",
             "primary_column": "detect_isPrimary", "ebv_column": ""},
    "dp1": {"id_column": "objectId", "ra_column": "coord_ra", "dec_column": "coord_dec",
            "flux_column": "{band}_cModelFlux", "flux_error_column": "{band}_cModelFluxErr",
            "primary_column": "", "ebv_column": "ebv"},
}
COLUMN_KEYS = ("id_column", "ra_column", "dec_column", "flux_column", "flux_error_column", "primary_column")
DEREDDENING_METHODS = ("none", "column", "map")
COMPRESSIONS = ("none", "snappy", "zstd", "gzip", "lz4")
MAX_DECIMALS = 10

SKINNY_SCHEMA: dict[str, dict[str, Key]] = {
    "input": {
        "preset": Key((str,), "", "'dp02' (DP0.2), 'dp1' (DP1, DP2 and later), or '' to give every column below"),
        "bands": Key((list,), list(LSST_BANDS), "bands to convert, in output order"),
        "id_column": Key((str,), "", "unique integer object identifier (preset: 'objectId')"),
        "ra_column": Key((str,), "", "right ascension in degrees (preset: 'coord_ra')"),
        "dec_column": Key((str,), "", "declination in degrees (preset: 'coord_dec')"),
        "flux_column": Key((str,), "", "template of the nJy flux column (preset: '{band}_cModelFlux')"),
        "flux_error_column": Key((str,), "", "template of the flux error column (preset: '{band}_cModelFluxErr')"),
        "primary_column": Key((str,), "", "boolean column marking the rows to keep (preset dp02: "
                                          "'detect_isPrimary'; dp1 has none)"),
        "primary_cut": Key((bool,), True, "keep only the rows whose input.primary_column is true, "
                                          "when the schema has one"),
    },
    "dereddening": {
        "method": Key((str,), "none", "'none', 'column' (E(B-V) from dereddening.ebv_column) or 'map' "
                                      "(from the HEALPix map dereddening.map)"),
        "ebv_column": Key((str,), "", "E(B-V) column for method 'column' (preset dp1: 'ebv')"),
        "map": Key((str,), "", "HEALPix E(B-V) map for method 'map': a .npy array or a FITS binary table"),
        "map_ordering": Key((str,), "", "'ring' or 'nested'; required for .npy, read from a FITS header's ORDERING"),
        "map_frame": Key((str,), "", "'galactic' or 'icrs': coordinates of the map's pixels; required for .npy, "
                                     "read from a FITS header's COORDSYS"),
        "map_column": Key((str,), "", "FITS column holding E(B-V); '' for the first column"),
        "extinction": Key((dict,), dict(LSST_EXTINCTION), "A_b / E(B-V) per band"),
    },
    "output": {
        "folder": Key((str,), None, "folder of the skinny parquet files, manifest.json and config.toml", required=True),
        "nondetect_val": Key(NUMBER, 99.0, "magnitude written for a non-detection (RAIL's 99; nan is allowed)"),
        "mag_limits": Key((dict,), dict(LSST_MAG_LIMITS), "per-band magnitude error of a non-detection "
                                                          "whose flux error is unusable"),
        "decimals": Key((int,), -1, "round magnitudes and errors to this many decimals; -1: no rounding"),
        "max_rows_per_file": Key((int,), 500000, "input rows per output file at most (the primary cut makes "
                                                 "files smaller)"),
        "row_group_rows": Key((int,), 100000, "rows per parquet row group of the output files"),
        "compression": Key((str,), "snappy", "parquet compression: 'none', 'snappy', 'zstd', 'gzip' or 'lz4'"),
        "resume": Key((bool,), True, "skip output files already written with the same configuration and inputs"),
    },
    "run": {
        "rows_per_chunk": Key((int,), 100000, "input rows read and converted at once by a rank"),
        "threads_per_rank": Key((int,), 1, "numba, Arrow, BLAS and OpenMP threads per rank"),
    },
}

# Keys that do not change a single output byte: left out of the result key, so changing them recomputes nothing.
_NOT_IN_RESULT = {"output": ("folder", "resume"), "run": ("rows_per_chunk", "threads_per_rank")}


@dataclass(frozen=True)
class SkinnyConfig:
    """A validated ``pzmpi skinny`` configuration with the preset's columns filled in."""

    bands: list[str]
    columns: dict[str, str]
    ebv_method: str
    ebv_column: str
    map_path: str
    map_ordering: str
    map_frame: str
    map_column: str
    extinction: dict[str, float]
    folder: str
    nondetect_val: float
    mag_limits: dict[str, float]
    decimals: int
    max_rows_per_file: int
    row_group_rows: int
    compression: str
    resume: bool
    rows_per_chunk: int
    threads_per_rank: int
    source: str
    text: str = field(repr=False)
    values: dict[str, dict[str, Any]] = field(repr=False, default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def flux_columns(self) -> list[str]:
        return [self.columns["flux_column"].format(band=band) for band in self.bands]

    def flux_error_columns(self) -> list[str]:
        return [self.columns["flux_error_column"].format(band=band) for band in self.bands]

    def input_columns(self) -> list[str]:
        """Every column read from an input file, each once, in a fixed order."""
        names = [self.columns["id_column"], self.columns["ra_column"], self.columns["dec_column"]]
        for flux, error in zip(self.flux_columns(), self.flux_error_columns()):
            names += [flux, error]
        if self.columns["primary_column"]:
            names.append(self.columns["primary_column"])
        if self.ebv_method == "column":
            names.append(self.ebv_column)
        return list(dict.fromkeys(names))

    def result_key(self, map_sha256: str) -> str:
        """Checksum of every setting that decides the output bytes (with the dust map's content), nothing else."""
        document = {section: {k: v for k, v in keys.items() if k not in _NOT_IN_RESULT.get(section, ())}
                    for section, keys in self.values.items()}
        document["dereddening"]["map"] = map_sha256
        return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def load_skinny_config(path: str | Path, overrides: list[str] | None = None) -> SkinnyConfig:
    """Read, override and validate a skinny configuration file; relative paths are read from its folder."""
    path = Path(path)
    raw = read_toml(path, overrides)
    return build_skinny_config(raw, base_dir=path.resolve().parent, source=str(path))


def build_skinny_config(raw: dict[str, Any], base_dir: Path, source: str) -> SkinnyConfig:
    values = validate_sections(raw, SKINNY_SCHEMA, source)
    inp, dered, out, run = values["input"], values["dereddening"], values["output"], values["run"]
    preset = inp["preset"]
    if preset and preset not in PRESETS:
        raise ConfigError(f"{source}: 'input.preset' must be one of {', '.join(PRESETS)} or '', got {preset!r}")
    defaults = PRESETS.get(preset, {})
    columns = {}
    for key in COLUMN_KEYS:
        columns[key] = inp[key] or defaults.get(key, "")
        if not columns[key] and key != "primary_column":
            raise ConfigError(f"{source}: 'input.{key}' is required without an 'input.preset' ({SKINNY_SCHEMA['input'][key].doc})")
    if not inp["primary_cut"]:
        columns["primary_column"] = ""
    for key in ("flux_column", "flux_error_column"):
        if "{band}" not in columns[key]:
            raise ConfigError(f"{source}: 'input.{key}' = {columns[key]!r} must contain '{{band}}'")
    bands = inp["bands"]
    if not bands or not all(isinstance(b, str) and b for b in bands) or len(set(bands)) != len(bands):
        raise ConfigError(f"{source}: 'input.bands' must be a non-empty list of distinct names, got {bands!r}")

    method = dered["method"]
    if method not in DEREDDENING_METHODS:
        raise ConfigError(f"{source}: 'dereddening.method' must be one of {', '.join(DEREDDENING_METHODS)}, "
                          f"got {method!r}")
    ebv_column = dered["ebv_column"] or defaults.get("ebv_column", "")
    if method == "column" and not ebv_column:
        raise ConfigError(f"{source}: 'dereddening.ebv_column' is required with method 'column' "
                          f"(the {preset or 'custom'} schema has no E(B-V) column)")
    map_path = resolve_path(base_dir, dered["map"])
    if method == "map" and not map_path:
        raise ConfigError(f"{source}: 'dereddening.map' is required with method 'map'")
    for key, allowed in (("map_ordering", ("ring", "nested")), ("map_frame", ("galactic", "icrs"))):
        if dered[key] and dered[key] not in allowed:
            raise ConfigError(f"{source}: 'dereddening.{key}' must be one of {', '.join(allowed)} or '', "
                              f"got {dered[key]!r}")
    for section, key in (("dereddening", "extinction"), ("output", "mag_limits")):
        if section == "dereddening" and method == "none":
            continue
        table = values[section][key]
        missing = [b for b in bands if not isinstance(table.get(b), NUMBER) or isinstance(table.get(b), bool)]
        if missing:
            raise ConfigError(f"{source}: '{section}.{key}' has no number for band(s) {', '.join(missing)}")

    if not -1 <= out["decimals"] <= MAX_DECIMALS:
        raise ConfigError(f"{source}: 'output.decimals' must be -1 (no rounding) to {MAX_DECIMALS}, got {out['decimals']}")
    if out["compression"] not in COMPRESSIONS:
        raise ConfigError(f"{source}: 'output.compression' must be one of {', '.join(COMPRESSIONS)}, "
                          f"got {out['compression']!r}")
    for section, key in (("output", "max_rows_per_file"), ("output", "row_group_rows"), ("run", "rows_per_chunk"),
                         ("run", "threads_per_rank")):
        if values[section][key] < 1:
            raise ConfigError(f"{source}: '{section}.{key}' must be at least 1")
    nondetect = out["nondetect_val"]
    if nondetect == nondetect and abs(nondetect) != float("inf") and 0 < nondetect < 50:
        raise ConfigError(f"{source}: 'output.nondetect_val' = {nondetect} could be a real magnitude; "
                          "use 99 (RAIL), a negative number or nan")
    if nondetect in (float("inf"), float("-inf")):
        raise ConfigError(f"{source}: 'output.nondetect_val' must not be infinite")

    resolved = {**values, "input": {**inp, **columns}, "dereddening": {**dered, "ebv_column": ebv_column,
                                                                        "map": map_path}}
    return SkinnyConfig(
        bands=list(bands), columns=columns, ebv_method=method, ebv_column=ebv_column, map_path=map_path,
        map_ordering=dered["map_ordering"], map_frame=dered["map_frame"], map_column=dered["map_column"],
        extinction={b: float(dered["extinction"].get(b, 0.0)) for b in bands},
        folder=resolve_path(base_dir, out["folder"]), nondetect_val=float(nondetect),
        mag_limits={b: float(out["mag_limits"][b]) for b in bands}, decimals=out["decimals"],
        max_rows_per_file=out["max_rows_per_file"], row_group_rows=out["row_group_rows"],
        compression=out["compression"], resume=out["resume"], rows_per_chunk=run["rows_per_chunk"],
        threads_per_rank=run["threads_per_rank"], source=source, text=dump_toml(raw), values=resolved,
    )
