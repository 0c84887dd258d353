"""``pzmpi verify``: prove a release's catalog files complete and sane (docs/verify.md).

Per file (pure functions, no MPI): the sha256 of its bytes against the manifest
or the release record; the parquet footer and every row group decode (one row
group in memory at a time); rows decoded against the footer and the record; the
schema against the release's reference; the required columns; per photometric
column the counts of NaN, inf, zero and negative values and the range of the
finite ones; the sky footprint; fixed-bin histograms of cModel magnitudes and of
sky density.  Everything a file yields is a plain dict or an integer array whose
merge (sums, minima, maxima) does not depend on the order of files or ranks.

Across files, under MPI: each objectId goes to an owner rank chosen by a mixing
hash of the id; an all-to-all exchange delivers every id to its owner, which
finds the ids it received more than once.  No rank ever holds more than its
share of the ids.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi import mpi
from pzmpi.checksum import SequentialHasher, row_group_end
from pzmpi.cleaning import ZP_NJY
from pzmpi.config import LSST_BANDS
from pzmpi.errors import ConfigError
from pzmpi.plan import assign_pieces
from pzmpi.profiling import peak_rss_bytes
from pzmpi.release import Release, utc_now
from pzmpi.runtime import settle_process

EXIT_OK = 0
EXIT_BLOCKING_FAILURE = 4

ID_COLUMN = "objectId"
RA_COLUMN = "coord_ra"
DEC_COLUMN = "coord_dec"
TRACT_COLUMN = "tract"
DEFAULT_REQUIRED = ("objectId", "coord_ra", "coord_dec", "{band}_cModelFlux", "{band}_cModelFluxErr")
MAGNITUDE_FLUX = "{band}_cModelFlux"  # the fluxes of the magnitude histograms
PHOTOMETRIC = re.compile(r"Flux(Err)?$")  # required columns with these endings get photometry statistics
DUPLICATE_EXAMPLES = 20  # duplicated ids listed in the report (the smallest ones); the total is always given

# Check name -> (blocking, what passing means). Failures and warnings carry the check's name as their kind.
CHECKS: dict[str, tuple[bool, str]] = {
    "present": (True, "every file of the manifest (or release record) is in the catalog folder"),
    "readable": (True, "the parquet footer and every row group decode"),
    "checksum": (True, "the sha256 equals the manifest's (or, without one, the release record's)"),
    "row_count": (True, "rows decoded = rows in the footer = rows in the release record"),
    "required_columns": (True, "every required column is present"),
    "unique_ids": (True, "objectId is an integer column without nulls, unique within and across files"),
    "schema": (False, "column names and types equal the release's reference schema"),
    "photometry": (False, "fractions of NaN, inf, zero and negative values within the limits"),
    "coordinates": (False, "coord_ra finite in [0, 360), coord_dec finite in [-90, 90]"),
    "empty": (False, "the file has rows"),
}

# A warning when a column's fraction of a kind exceeds its limit. Negative fluxes are noise
# around faint sources, NaN fluxes failed measurements: common in real catalogs up to a point.
PHOTOMETRY_LIMITS = {
    "flux": {"nan": 0.10, "inf": 0.0, "zero": 0.0, "negative": 0.50},
    "error": {"nan": 0.10, "inf": 0.0, "zero": 0.0, "negative": 0.0},
}

MAG_START, MAG_STOP, MAG_WIDTH = 14.0, 34.0, 0.05
MAG_BINS = round((MAG_STOP - MAG_START) / MAG_WIDTH)  # layout: below, MAG_BINS bins, above, no magnitude
SKY_BIN_DEG = 0.2
SKY_RA_BINS = round(360.0 / SKY_BIN_DEG)
SKY_DEC_BINS = round(180.0 / SKY_BIN_DEG)


def issue(kind: str, file: str | None, message: str, column: str | None = None) -> dict[str, Any]:
    """One failure (blocking check) or warning, naming the file and the column when there is one."""
    return {"kind": kind, "file": file, "column": column, "message": message}


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# --- options and the manifest -------------------------------------------------------------------

def expand_columns(templates: list[str] | tuple[str, ...], bands: tuple[str, ...] = LSST_BANDS) -> list[str]:
    """Column names from templates: ``{band}`` expands to every band; order kept, repeats dropped."""
    names: list[str] = []
    for template in templates:
        try:
            expanded = [template.format(band=b) for b in bands] if "{band}" in template else [template.format()]
        except (KeyError, IndexError, ValueError):
            raise ConfigError(f"--required {template!r}: only '{{band}}' may appear between braces") from None
        names.extend(expanded)
    return list(dict.fromkeys(names))


def photometric_columns(required: list[str]) -> list[str]:
    """The required flux and flux-error columns: those whose statistics the report gives."""
    return [name for name in required if PHOTOMETRIC.search(name)]


def parse_manifest(text: str, source: str) -> dict[str, str]:
    """``sha256sum`` output (``<hex>  <name>`` or ``<hex> *<name>``) as {name relative to the catalog: hex}.

    Names written by ``sha256sum`` with a leading backslash have ``\\\\`` and ``\\n``
    escaped; ``./`` prefixes are dropped. A malformed line, or one name with two
    different checksums, is a ``ConfigError`` naming ``source`` and the line.
    """
    checksums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        escaped = line.startswith("\\")
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line[1:] if escaped else line)
        if not match:
            raise ConfigError(f"{source}, line {number}: expected '<sha256 hex>  <file name>', got {line[:80]!r}")
        digest, name = match.group(1).lower(), match.group(2)
        if escaped:
            name = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), name)
        while name.startswith("./"):
            name = name[2:]
        if checksums.get(name, digest) != digest:
            raise ConfigError(f"{source}, line {number}: {name} is listed twice with different checksums")
        checksums[name] = digest
    return checksums


# --- per-column, per-position and histogram kernels ---------------------------------------------

@numba.njit(cache=True, nogil=True)
def _count_values(values):  # pragma: no cover - compiled
    """NaN, inf (either sign), zero and finite negative counts, and the range of the finite values."""
    nan = 0
    inf = 0
    zero = 0
    negative = 0
    low = np.inf
    high = -np.inf
    for i in range(values.size):
        v = np.float64(values[i])
        if np.isnan(v):
            nan += 1
        elif np.isinf(v):
            inf += 1
        else:
            if v == 0.0:
                zero += 1
            elif v < 0.0:
                negative += 1
            low = min(low, v)
            high = max(high, v)
    return nan, inf, zero, negative, low, high


@numba.njit(cache=True, nogil=True)
def _bin_magnitudes(flux, zero_point, counts):  # pragma: no cover - compiled
    """Add AB magnitudes of nJy fluxes to ``counts`` (below, bins, above, no magnitude)."""
    for i in range(flux.size):
        f = np.float64(flux[i])
        if not (np.isfinite(f) and f > 0.0):
            counts[MAG_BINS + 2] += 1
            continue
        k = np.floor((-2.5 * np.log10(f) + zero_point - MAG_START) / MAG_WIDTH)
        if k < 0:
            counts[0] += 1
        elif k >= MAG_BINS:
            counts[MAG_BINS + 1] += 1
        else:
            counts[int(k) + 1] += 1


@numba.njit(cache=True, nogil=True)
def _bin_positions(ra, dec, sky):  # pragma: no cover - compiled
    """Add valid positions to the sky map; return (bad ra, bad dec, ra min, ra max, dec min, dec max).

    A position is valid when ra is finite in [0, 360) and dec finite in [-90, 90];
    the ranges cover valid positions only.
    """
    bad_ra = 0
    bad_dec = 0
    ra_low = np.inf
    ra_high = -np.inf
    dec_low = np.inf
    dec_high = -np.inf
    for i in range(ra.size):
        a = np.float64(ra[i])
        d = np.float64(dec[i])
        ra_ok = np.isfinite(a) and 0.0 <= a < 360.0
        dec_ok = np.isfinite(d) and -90.0 <= d <= 90.0
        if not ra_ok:
            bad_ra += 1
        if not dec_ok:
            bad_dec += 1
        if ra_ok and dec_ok:
            ra_low = min(ra_low, a)
            ra_high = max(ra_high, a)
            dec_low = min(dec_low, d)
            dec_high = max(dec_high, d)
            row = min(int((d + 90.0) / SKY_BIN_DEG), SKY_DEC_BINS - 1)
            col = min(int(a / SKY_BIN_DEG), SKY_RA_BINS - 1)
            sky[row, col] += 1
    return bad_ra, bad_dec, ra_low, ra_high, dec_low, dec_high


def compile_kernels() -> None:
    """Compile (or load from numba's cache) the kernels for float32 and float64 columns."""
    histograms = Histograms.empty()
    for dtype in (np.float32, np.float64):
        one = np.ones(1, dtype=dtype)
        _count_values(one)
        _bin_magnitudes(one, ZP_NJY, histograms.magnitude[0])
        _bin_positions(one, one, histograms.sky)


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def value_stats(values: np.ndarray, nulls: int = 0) -> dict[str, Any]:
    """Counts of one column's values (nulls, read as NaN, are counted in ``nan`` too) and finite range."""
    nan, inf, zero, negative, low, high = _count_values(values)
    return {"rows": int(values.size), "null": int(nulls), "nan": int(nan), "inf": int(inf), "zero": int(zero),
            "negative": int(negative), "min": _finite_or_none(low), "max": _finite_or_none(high)}


def _merge_range(a: float | None, b: float | None, pick: Any) -> float | None:
    return b if a is None else a if b is None else pick(a, b)


def merge_stats(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Statistics of two sets of rows of the same column."""
    merged = {key: a[key] + b[key] for key in ("rows", "null", "nan", "inf", "zero", "negative")}
    merged["min"] = _merge_range(a["min"], b["min"], min)
    merged["max"] = _merge_range(a["max"], b["max"], max)
    return merged


def empty_stats() -> dict[str, Any]:
    return {"rows": 0, "null": 0, "nan": 0, "inf": 0, "zero": 0, "negative": 0, "min": None, "max": None}


def fractions(stats: dict[str, Any]) -> dict[str, float | None]:
    """Fraction of rows of each kind (None for a column without rows)."""
    rows = stats["rows"]
    return {key: (stats[key] / rows if rows else None) for key in ("nan", "inf", "zero", "negative")}


def photometry_warnings(file: str, column: str, stats: dict[str, Any]) -> list[dict[str, Any]]:
    """A warning naming the file, the column and each kind whose fraction exceeds ``PHOTOMETRY_LIMITS``."""
    limits = PHOTOMETRY_LIMITS["error" if column.endswith("Err") else "flux"]
    over = [f"{stats[kind]} {kind} ({share:.3%}, limit {limits[kind]:.0%})"
            for kind, share in fractions(stats).items() if share is not None and share > limits[kind]]
    return [issue("photometry", file, "; ".join(over), column)] if over else []


def empty_footprint() -> dict[str, Any]:
    return {"ra_min": None, "ra_max": None, "dec_min": None, "dec_max": None, "bad_ra": 0, "bad_dec": 0,
            "tracts": {}}


def merge_footprints(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Footprint of the rows of both; tract counts are keyed by the tract number as a string."""
    tracts = dict(a["tracts"])
    for tract, count in b["tracts"].items():
        tracts[tract] = tracts.get(tract, 0) + count
    return {"ra_min": _merge_range(a["ra_min"], b["ra_min"], min),
            "ra_max": _merge_range(a["ra_max"], b["ra_max"], max),
            "dec_min": _merge_range(a["dec_min"], b["dec_min"], min),
            "dec_max": _merge_range(a["dec_max"], b["dec_max"], max),
            "bad_ra": a["bad_ra"] + b["bad_ra"], "bad_dec": a["bad_dec"] + b["bad_dec"],
            "tracts": dict(sorted(tracts.items(), key=lambda item: int(item[0])))}


@dataclass
class Histograms:
    """Fixed-bin counts for the plots: cModel magnitudes per band, and objects per sky cell.

    ``magnitude[b]`` holds, for band ``LSST_BANDS[b]``: rows below ``MAG_START``, the
    ``MAG_BINS`` bins, rows at or above ``MAG_STOP``, rows without a magnitude (flux
    not finite or <= 0). ``sky[row, col]`` counts objects with dec in
    ``-90 + row * SKY_BIN_DEG`` and ra in ``col * SKY_BIN_DEG``, each cell ``SKY_BIN_DEG`` wide.
    """

    magnitude: np.ndarray
    sky: np.ndarray

    @classmethod
    def empty(cls) -> Histograms:
        return cls(np.zeros((len(LSST_BANDS), MAG_BINS + 3), dtype=np.int64),
                   np.zeros((SKY_DEC_BINS, SKY_RA_BINS), dtype=np.int64))

    def merge(self, other: Histograms) -> None:
        self.magnitude += other.magnitude
        self.sky += other.sky


# --- one file -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileTask:
    """One catalog file to check and what it should be; ``size`` is None when the file is absent.

    ``checksum_source`` names where ``expected_sha256`` comes from (the manifest or the release record).
    """

    index: int
    name: str
    path: str
    size: int | None
    expected_sha256: str | None
    expected_rows: int | None
    checksum_source: str


@dataclass
class FileCheck:
    """What checking one file gives: a JSON-ready result, its ids, its histograms and its timings."""

    result: dict[str, Any]
    ids: np.ndarray
    histograms: Histograms
    seconds: dict[str, float] = field(default_factory=dict)


def compare_schema(reference: list[dict[str, str]], actual: list[dict[str, str]]) -> dict[str, list[Any]]:
    """Every difference between two schemas (lists of name/type), whatever the column order."""
    expected = {column["name"]: column["type"] for column in reference}
    found = {column["name"]: column["type"] for column in actual}
    return {"missing": [name for name in expected if name not in found],
            "extra": [name for name in found if name not in expected],
            "type_changed": [{"column": name, "expected": expected[name], "found": found[name]}
                             for name in expected if name in found and found[name] != expected[name]]}


def schema_warnings(file: str, difference: dict[str, list[Any]]) -> list[dict[str, Any]]:
    warnings = [issue("schema", file, "column missing from the file (in the reference schema)", name)
                for name in difference["missing"]]
    warnings += [issue("schema", file, "column not in the reference schema", name) for name in difference["extra"]]
    warnings += [issue("schema", file, f"type {change['found']}, reference {change['expected']}", change["column"])
                 for change in difference["type_changed"]]
    return warnings


def _is_numeric(kind: pa.DataType) -> bool:
    return pa.types.is_floating(kind) or pa.types.is_integer(kind)


def _as_float_array(column: pa.ChunkedArray) -> np.ndarray:
    values = column.to_numpy()
    return values if values.dtype.kind == "f" else values.astype(np.float64)


class _FileScanner:
    """Decodes one parquet file row group by row group and accumulates what the checks need."""

    def __init__(self, task: FileTask, schema: pa.Schema, photometric: list[str],
                 issues: list[dict[str, Any]]) -> None:
        self.rows = 0
        self.bad_row_groups: list[int] = []
        self.id_parts: list[np.ndarray] = []
        self.null_ids = 0
        self.histograms = Histograms.empty()
        names = set(schema.names)
        id_type = schema.field(ID_COLUMN).type if ID_COLUMN in names else None
        self.reads_ids = id_type is not None and pa.types.is_integer(id_type)
        if id_type is not None and not self.reads_ids:
            issues.append(issue("unique_ids", task.name, f"type {id_type}, not an integer: ids not checked", ID_COLUMN))
        self.stats: dict[str, dict[str, Any]] = {}
        for name in photometric:
            if name in names and _is_numeric(schema.field(name).type):
                self.stats[name] = empty_stats()
            elif name in names:
                issues.append(issue("photometry", task.name, f"type {schema.field(name).type}, not a number: "
                                    "no statistics", name))
        self.magnitude_columns = [(i, MAGNITUDE_FLUX.format(band=band)) for i, band in enumerate(LSST_BANDS)
                                  if MAGNITUDE_FLUX.format(band=band) in names
                                  and _is_numeric(schema.field(MAGNITUDE_FLUX.format(band=band)).type)]
        has_position = all(c in names and _is_numeric(schema.field(c).type) for c in (RA_COLUMN, DEC_COLUMN))
        self.footprint = empty_footprint() if has_position else None
        self.reads_tracts = TRACT_COLUMN in names and pa.types.is_integer(schema.field(TRACT_COLUMN).type)

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self.reads_ids:
            column = table.column(ID_COLUMN)
            if column.null_count:
                self.null_ids += column.null_count
                column = column.drop_null()
            self.id_parts.append(column.to_numpy().astype(np.int64, copy=False))
        for name in self.stats:
            column = table.column(name)
            self.stats[name] = merge_stats(self.stats[name], value_stats(_as_float_array(column), column.null_count))
        for band_index, name in self.magnitude_columns:
            _bin_magnitudes(_as_float_array(table.column(name)), ZP_NJY, self.histograms.magnitude[band_index])
        if self.footprint is not None:
            self._add_positions(table)

    def _add_positions(self, table: pa.Table) -> None:
        ra = _as_float_array(table.column(RA_COLUMN))
        dec = _as_float_array(table.column(DEC_COLUMN))
        bad_ra, bad_dec, ra_low, ra_high, dec_low, dec_high = _bin_positions(ra, dec, self.histograms.sky)
        part = {"ra_min": _finite_or_none(ra_low), "ra_max": _finite_or_none(ra_high),
                "dec_min": _finite_or_none(dec_low), "dec_max": _finite_or_none(dec_high),
                "bad_ra": int(bad_ra), "bad_dec": int(bad_dec), "tracts": {}}
        if self.reads_tracts:
            tracts, counts = np.unique(table.column(TRACT_COLUMN).drop_null().to_numpy(), return_counts=True)
            part["tracts"] = {str(int(t)): int(c) for t, c in zip(tracts, counts)}
        assert self.footprint is not None
        self.footprint = merge_footprints(self.footprint, part)

    def ids(self) -> np.ndarray:
        return np.concatenate(self.id_parts) if self.id_parts else np.empty(0, dtype=np.int64)


def check_file(task: FileTask, reference: list[dict[str, str]], required: list[str],
               photometric: list[str]) -> FileCheck:
    """Run every per-file check on one present file; nothing raised, every problem recorded.

    The result holds the file's name, size, sha256, footer and decoded row counts,
    schema differences, missing required columns, photometry statistics, footprint
    and ``issues`` (failures of blocking checks and warnings, each naming the file
    and column). Only one row group is decoded at a time.
    """
    issues: list[dict[str, Any]] = []
    result: dict[str, Any] = {"file": task.name, "present": True, "size": task.size, "sha256": None,
                              "expected_sha256": task.expected_sha256, "footer_rows": None, "rows": 0,
                              "row_groups": None, "bad_row_groups": [], "columns": None, "schema": None,
                              "missing_required": [], "photometry": {}, "footprint": None}
    start = time.perf_counter()
    hasher = None
    try:
        hasher = SequentialHasher(task.path)
    except OSError as error:
        issues.append(issue("readable", task.name, f"cannot read the file: {one_line(error)}"))
    try:
        scanner = _decode(task, reference, required, photometric, result, issues, hasher)
        if hasher is not None:
            result["sha256"] = hasher.hexdigest()
            if hasher.error is not None:
                issues.append(issue("readable", task.name, f"cannot read the file: {one_line(hasher.error)}"))
    finally:
        if hasher is not None:
            hasher.close()
    checksum_seconds = hasher.seconds if hasher is not None else 0.0
    seconds = {"checksum": checksum_seconds, "decode": time.perf_counter() - start - checksum_seconds}
    if result["sha256"] is not None:
        if task.expected_sha256 is None:
            issues.append(issue("checksum", task.name, f"not listed in {task.checksum_source}: no checksum to "
                                "compare with"))
        elif result["sha256"] != task.expected_sha256:
            issues.append(issue("checksum", task.name, f"sha256 {result['sha256']}, {task.checksum_source} "
                                f"says {task.expected_sha256}"))
    if scanner is None:
        return FileCheck(_finish(result, issues), np.empty(0, dtype=np.int64), Histograms.empty(), seconds)
    return FileCheck(_finish(result, issues), scanner.ids(), scanner.histograms, seconds)


def _decode(task: FileTask, reference: list[dict[str, str]], required: list[str], photometric: list[str],
            result: dict[str, Any], issues: list[dict[str, Any]],
            hasher: SequentialHasher | None) -> _FileScanner | None:
    """Decode every row group, hashing each one's bytes right after (while the page cache holds them)."""
    try:
        parquet = pq.ParquetFile(task.path)
    except Exception as error:  # pyarrow raises several types for a damaged footer
        issues.append(issue("readable", task.name, f"unreadable parquet footer: {one_line(error)}"))
        return None
    with parquet:
        schema = parquet.schema_arrow
        metadata = parquet.metadata
        columns = [{"name": f.name, "type": str(f.type)} for f in schema]
        result.update(footer_rows=metadata.num_rows, row_groups=metadata.num_row_groups, columns=len(columns))
        if reference:
            result["schema"] = compare_schema(reference, columns)
            issues.extend(schema_warnings(task.name, result["schema"]))
        result["missing_required"] = [name for name in required if name not in schema.names]
        issues.extend(issue("required_columns", task.name, "required column missing", name)
                      for name in result["missing_required"])
        if ID_COLUMN not in schema.names and ID_COLUMN not in required:
            issues.append(issue("unique_ids", task.name, "no id column: ids not checked", ID_COLUMN))
        scanner = _FileScanner(task, schema, photometric, issues)
        for index in range(metadata.num_row_groups):
            try:
                table = parquet.read_row_group(index, use_threads=False)
            except Exception as error:  # a damaged page raises OSError or ArrowException
                scanner.bad_row_groups.append(index)
                issues.append(issue("readable", task.name, f"row group {index} of {metadata.num_row_groups} "
                                    f"does not decode: {one_line(error)}"))
                table = None
            if hasher is not None:
                hasher.hash_up_to(row_group_end(metadata, index))
            if table is not None:
                scanner.add(table)
                del table
    _record_scan(task, scanner, result, issues)
    return scanner


def _record_scan(task: FileTask, scanner: _FileScanner, result: dict[str, Any], issues: list[dict[str, Any]]) -> None:
    footer_rows = result["footer_rows"]
    result.update(rows=scanner.rows, bad_row_groups=scanner.bad_row_groups, footprint=scanner.footprint,
                  photometry=scanner.stats)
    if not scanner.bad_row_groups and scanner.rows != footer_rows:
        issues.append(issue("row_count", task.name, f"{scanner.rows} rows decoded, the footer says {footer_rows}"))
    if task.expected_rows is not None and footer_rows != task.expected_rows:
        issues.append(issue("row_count", task.name,
                            f"the footer says {footer_rows} rows, the release record {task.expected_rows}"))
    if footer_rows == 0:
        issues.append(issue("empty", task.name, "the file has no rows"))
    if scanner.null_ids:
        issues.append(issue("unique_ids", task.name, f"{scanner.null_ids} null id(s): those rows not checked",
                            ID_COLUMN))
    for name, stats in scanner.stats.items():
        issues.extend(photometry_warnings(task.name, name, stats))
    footprint = scanner.footprint
    if footprint is not None:
        for column, key, valid in ((RA_COLUMN, "bad_ra", "[0, 360)"), (DEC_COLUMN, "bad_dec", "[-90, 90]")):
            if footprint[key]:
                issues.append(issue("coordinates", task.name, f"{footprint[key]} row(s) not finite or outside "
                                    f"{valid}", column))


def _finish(result: dict[str, Any], issues: list[dict[str, Any]]) -> dict[str, Any]:
    result["issues"] = sorted(issues, key=issue_order)
    return result


def issue_order(entry: dict[str, Any]) -> tuple[str, str, str, str]:
    return (entry["file"] or "", entry["kind"], entry["column"] or "", entry["message"])


def absent_file_result(task: FileTask, listed_in: str) -> dict[str, Any]:
    """The result of a file that the manifest or the release record lists but the catalog folder lacks."""
    return {"file": task.name, "present": False, "expected_sha256": task.expected_sha256,
            "issues": [issue("present", task.name, f"listed in {listed_in} but not in the catalog folder")]}


# --- duplicated ids, across ranks ---------------------------------------------------------------

OWNER_BLOCK = 1 << 20  # ids hashed per step, to bound the temporaries


def owner_ranks(ids: np.ndarray, size: int) -> np.ndarray:
    """The rank (int32) that owns each id: splitmix64's finaliser of the id, modulo ``size``.

    Mixing spreads ids whose low bits follow a pattern (Rubin ids encode tract and
    patch) evenly over ranks; the same id always goes to the same rank.
    """
    owners = np.empty(ids.size, dtype=np.int32)
    for start in range(0, ids.size, OWNER_BLOCK):
        x = np.asarray(ids[start:start + OWNER_BLOCK], dtype=np.int64).view(np.uint64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
        owners[start:start + OWNER_BLOCK] = x % np.uint64(size)
    return owners


def find_duplicates(ids: np.ndarray, files: np.ndarray, n_files: int,
                    max_examples: int = DUPLICATE_EXAMPLES) -> dict[str, Any]:
    """Ids that occur more than once among (id, file index) pairs: counts, examples and rows per file.

    Returns ``ids`` (distinct ids seen more than once), ``within_file`` (of those, ids
    repeated inside one file), ``across_files`` (ids held by two files or more),
    ``extra_rows`` (rows beyond the first of each id), ``examples`` (the smallest
    ``max_examples`` duplicated ids, each with [file index, rows] pairs) and
    ``rows_per_file`` (2 x n_files: rows whose id repeats within their file, rows
    whose id also appears in another file). One sort of the ids finds the rows
    whose id repeats; only those few are analysed further, so the memory beyond
    the inputs is about 18 bytes a row.
    """
    order = np.argsort(ids)
    sorted_ids = ids[order]
    repeats_next = sorted_ids[1:] == sorted_ids[:-1]
    del sorted_ids
    repeated = np.zeros(ids.size, dtype=bool)
    repeated[:-1] = repeats_next
    repeated[1:] |= repeats_next
    extra_rows = int(repeats_next.sum())
    del repeats_next
    keep = order[repeated]
    del order, repeated
    summary = _describe_duplicates(ids[keep], files[keep], n_files, max_examples)
    summary["extra_rows"] = extra_rows
    return summary


def _describe_duplicates(ids: np.ndarray, files: np.ndarray, n_files: int, max_examples: int) -> dict[str, Any]:
    """The counts and examples of ``find_duplicates``, from rows whose ids all occur at least twice."""
    rows_per_file = np.zeros((2, n_files), dtype=np.int64)
    summary: dict[str, Any] = {"ids": 0, "within_file": 0, "across_files": 0, "extra_rows": 0, "examples": [],
                               "rows_per_file": rows_per_file}
    if ids.size == 0:
        return summary
    order = np.lexsort((files, ids))
    ids, files = ids[order], files[order]
    new_id = np.ones(ids.size, dtype=bool)
    new_id[1:] = ids[1:] != ids[:-1]
    new_pair = new_id.copy()
    new_pair[1:] |= files[1:] != files[:-1]
    id_group = np.cumsum(new_id) - 1
    n_ids = int(id_group[-1]) + 1
    pair_start = np.flatnonzero(new_pair)
    pair_rows = np.diff(np.append(pair_start, ids.size))
    pair_group = id_group[pair_start]
    pair_files = files[pair_start]
    files_per_id = np.bincount(pair_group, minlength=n_ids)
    repeated_pair = pair_rows > 1
    across_pair = files_per_id[pair_group] > 1
    np.add.at(rows_per_file[0], pair_files[repeated_pair], pair_rows[repeated_pair])
    np.add.at(rows_per_file[1], pair_files[across_pair], pair_rows[across_pair])
    first_pair = np.searchsorted(pair_group, np.arange(min(n_ids, max_examples)))
    examples = [[int(ids[pair_start[first]]),
                 [[int(pair_files[p]), int(pair_rows[p])] for p in range(first, first + files_per_id[group])]]
                for group, first in enumerate(first_pair)]
    summary.update(ids=n_ids, within_file=int(np.unique(pair_group[repeated_pair]).size),
                   across_files=int((files_per_id > 1).sum()), examples=examples)
    return summary


def merge_duplicate_summaries(parts: list[dict[str, Any]], max_examples: int = DUPLICATE_EXAMPLES) -> dict[str, Any]:
    """Summaries of disjoint sets of ids (one per owner rank) as one; the smallest examples are kept."""
    merged: dict[str, Any] = {key: sum(part[key] for part in parts)
                              for key in ("ids", "within_file", "across_files", "extra_rows")}
    merged["examples"] = sorted((e for part in parts for e in part["examples"]), key=lambda e: e[0])[:max_examples]
    return merged


def distributed_duplicates(comm: mpi.Comm, id_parts: list[np.ndarray], file_parts: list[np.ndarray],
                           n_files: int) -> tuple[dict[str, Any] | None, np.ndarray | None]:
    """Collective: route each id to its owner rank, find duplicates there, combine on the root.

    ``id_parts`` and ``file_parts`` are this rank's ids and file indices, one array
    per file; the lists are emptied, so that each array is freed as soon as it has
    been copied, and a rank never holds more than about 30 bytes per row of its
    share (docs/verify.md). Returns, on the root, the merged summary and the
    (2, n_files) rows-per-file counts; (None, None) elsewhere.
    """
    ids = _take_all(id_parts, np.int64)
    files = _take_all(file_parts, np.int32)
    owners = owner_ranks(ids, comm.Get_size())
    counts = np.bincount(owners, minlength=comm.Get_size())
    order = np.argsort(owners, kind="stable")
    del owners
    ids = ids[order]
    files = files[order]
    del order
    received_ids, received_files = mpi.alltoallv_arrays(comm, [ids, files], counts)
    del ids, files
    summary = find_duplicates(received_ids, received_files, n_files)
    del received_ids, received_files
    rows_per_file = mpi.reduce_sum_to_root(comm, summary.pop("rows_per_file"))
    parts = mpi.gather_to_root(comm, summary)
    if parts is None:
        return None, None
    return merge_duplicate_summaries(parts), rows_per_file


def duplicate_issues(names: list[str], rows_per_file: np.ndarray) -> list[dict[str, Any]]:
    """One blocking failure per file holding rows with a duplicated id."""
    found = []
    for index in np.flatnonzero(rows_per_file.sum(axis=0)):
        within, across = (int(v) for v in rows_per_file[:, index])
        parts = ([f"{within} row(s) share an id with another row of this file"] if within else []) + \
                ([f"{across} row(s) have an id also found in another file"] if across else [])
        found.append(issue("unique_ids", names[index], "; ".join(parts), ID_COLUMN))
    return found


# --- the run ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Options:
    """Validated command-line options, the same on every rank."""

    manifest: Path | None
    required: list[str]

    @property
    def photometric(self) -> list[str]:
        return photometric_columns(self.required)


def resolve_options(manifest: str | None, required: list[str] | None) -> Options:
    """Check the options before any collective call: a ``ConfigError`` names the bad one."""
    path = Path(manifest).absolute() if manifest else None
    if path is not None and not path.is_file():
        raise ConfigError(f"--manifest {manifest}: file not found")
    return Options(manifest=path, required=expand_columns(required if required else DEFAULT_REQUIRED))


@dataclass(frozen=True)
class VerifyPlan:
    """What rank 0 decides before the work: the files, what each should be, who checks which."""

    tasks: list[FileTask]
    absent: dict[int, str]  # task index -> where the absent file is listed
    checksum_source: str
    reference: list[dict[str, str]]
    assignment: list[list[int]]
    report_dir: str


def catalog_listing(catalog_dir: Path) -> dict[str, int]:
    """{name relative to the catalog folder: size} of its parquet files (as ``pzmpi release init`` lists them)."""
    if not catalog_dir.is_dir():
        raise ConfigError(f"catalog folder not found: {catalog_dir}")
    return {path.name: path.stat().st_size for path in sorted(catalog_dir.glob("*.parquet")) if path.is_file()}


def make_plan(release: Release, options: Options, n_ranks: int) -> VerifyPlan:
    """List the expected and present files and shard the present ones, largest first (rank 0 only)."""
    on_disk = catalog_listing(release.catalog_dir)
    record = {entry["name"]: entry for entry in release.files}
    if options.manifest is not None:
        expected = parse_manifest(options.manifest.read_text(), str(options.manifest))
        source = f"the manifest {options.manifest.name}"
    else:
        expected = {name: entry.get("sha256") for name, entry in record.items()}
        source = "the release record"
    names = sorted(set(on_disk) | set(record) | set(expected))
    tasks = [FileTask(index, name, str(release.catalog_dir / name), on_disk.get(name), expected.get(name),
                      record.get(name, {}).get("rows"), source) for index, name in enumerate(names)]
    absent = {task.index: " and ".join(where for where, listed in ((source, task.name in expected),
                                                                    ("the release record", task.name in record))
                                       if listed)
              for task in tasks if task.size is None}
    present = [task.index for task in tasks if task.size is not None]
    assignment = [[present[i] for i in ranks]
                  for ranks in assign_pieces([tasks[i].size or 0 for i in present], n_ranks)]
    return VerifyPlan(tasks, absent, source, release.schema, assignment, str(new_report_dir(release.folder)))


def new_report_dir(release_folder: Path) -> Path:
    """``<release>/verify/<UTC time>/``, created now; a suffix keeps two runs of the same second apart."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = release_folder / "verify"
    base.mkdir(parents=True, exist_ok=True)
    for attempt in range(1000):
        folder = base / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise ConfigError(f"{base}: cannot create a new report folder for {stamp}")


def run(comm: mpi.Comm, release: Release, options: Options, command: str) -> int:
    """Verify the release on every rank; returns the exit status (the same on every rank)."""
    start = time.perf_counter()
    started = utc_now()
    rank = comm.Get_rank()
    plan = mpi.broadcast_from_root(comm, lambda: make_plan(release, options, comm.Get_size()))
    compile_kernels()
    settle_process()
    setup = time.perf_counter() - start

    results, histograms, id_parts, file_parts, timing = _check_files(plan, options, rank)
    timing["setup_seconds"] = setup
    exchange_start = time.perf_counter()
    duplicates, rows_per_file = distributed_duplicates(comm, id_parts, file_parts, len(plan.tasks))
    timing["duplicates_seconds"] = time.perf_counter() - exchange_start
    timing["peak_rss_bytes"] = peak_rss_bytes()
    magnitude = mpi.reduce_sum_to_root(comm, histograms.magnitude)
    sky = mpi.reduce_sum_to_root(comm, histograms.sky)
    gathered = mpi.gather_to_root(comm, (results, timing))

    status = EXIT_OK
    if rank == mpi.ROOT:
        assert gathered is not None and duplicates is not None and rows_per_file is not None
        assert magnitude is not None and sky is not None
        status = _report_on_root(comm, release, options, plan, gathered, duplicates, rows_per_file,
                                 Histograms(magnitude, sky), started, start, command)
    return mpi.broadcast(comm, status)


def _check_files(plan: VerifyPlan, options: Options, rank: int) -> tuple[
        list[dict[str, Any]], Histograms, list[np.ndarray], list[np.ndarray], dict[str, Any]]:
    """Check this rank's files: their results, summed histograms, ids and file indices per file, and timings."""
    results: list[dict[str, Any]] = []
    histograms = Histograms.empty()
    id_parts: list[np.ndarray] = []
    file_parts: list[np.ndarray] = []
    timing = {"rank": rank, "host": socket.gethostname(), "files": 0, "bytes": 0, "checksum_seconds": 0.0,
              "decode_seconds": 0.0}
    for index in plan.assignment[rank]:
        task = plan.tasks[index]
        check = check_file(task, plan.reference, options.required, options.photometric)
        results.append(check.result)
        histograms.merge(check.histograms)
        id_parts.append(check.ids)
        file_parts.append(np.full(check.ids.size, task.index, dtype=np.int32))
        timing["files"] += 1
        timing["bytes"] += task.size or 0
        timing["checksum_seconds"] += check.seconds["checksum"]
        timing["decode_seconds"] += check.seconds["decode"]
    return results, histograms, id_parts, file_parts, timing


def _take_all(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """The parts as one array, emptying the list so that the array is their only copy."""
    whole = np.concatenate(parts) if parts else np.empty(0, dtype=dtype)
    parts.clear()
    return whole


def _report_on_root(comm: mpi.Comm, release: Release, options: Options, plan: VerifyPlan,
                    gathered: list[tuple[list[dict[str, Any]], dict[str, Any]]], duplicates: dict[str, Any],
                    rows_per_file: np.ndarray, histograms: Histograms, started: str, start: float,
                    command: str) -> int:
    from pzmpi import qa_report

    by_name = {result["file"]: result for results, _ in gathered for result in results}
    results = []
    for task in plan.tasks:
        result = absent_file_result(task, plan.absent[task.index]) if task.index in plan.absent else by_name[task.name]
        result["duplicate_rows"] = {"within_file": int(rows_per_file[0, task.index]),
                                    "across_files": int(rows_per_file[1, task.index])}
        results.append(result)
    names = [task.name for task in plan.tasks]
    run_block = {"ranks": comm.Get_size(), "hosts": sorted({t["host"] for _, t in gathered}),
                 "started": started, "wall_seconds": time.perf_counter() - start,
                 "per_rank": sorted((t for _, t in gathered), key=lambda t: t["rank"])}
    report = qa_report.build_report(
        release=release.name, catalog_dir=str(release.catalog_dir), checksum_source=plan.checksum_source,
        reference_columns=len(plan.reference),
        required=options.required, photometric=options.photometric, results=results,
        extra_issues=duplicate_issues(names, rows_per_file), duplicates=_named_examples(duplicates, names),
        histograms=histograms, run=run_block)
    json_path, html_path = qa_report.write_reports(report, Path(plan.report_dir))
    print(qa_report.format_summary(report, html_path), flush=True)
    counts = report["counts"]
    release.log(command, {"passed": report["passed"], "files": counts["files"], "rows": counts["rows"],
                          "failures": counts["failures"], "warnings": counts["warnings"]},
                section="verify_runs",
                entry={"report_json": str(json_path), "report_html": str(html_path), "passed": report["passed"],
                       "checksums_from": plan.checksum_source, "files": counts["files"], "rows": counts["rows"],
                       "failures": counts["failures"], "warnings": counts["warnings"]})
    return EXIT_OK if report["passed"] else EXIT_BLOCKING_FAILURE


def _named_examples(duplicates: dict[str, Any], names: list[str]) -> dict[str, Any]:
    named = dict(duplicates)
    named["examples"] = [{"id": objectid, "files": [{"file": names[f], "rows": rows} for f, rows in holders]}
                         for objectid, holders in duplicates["examples"]]
    named["max_examples"] = DUPLICATE_EXAMPLES
    return named
