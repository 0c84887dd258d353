"""The per-file checks of ``pzmpi verify``: pure functions, no MPI (docs/verify.md).

For one file: the sha256 of its bytes against the manifest or the release
record; the parquet footer and every row group decode (one row group in memory
at a time); rows decoded against the footer and the record; the schema against
the release's reference; the required columns; per photometric column the
counts of NaN, inf, zero and negative values and the range of the finite
ones; the sky footprint; fixed-bin histograms. Everything a file yields is a
plain dict or an integer array whose merge does not depend on the order of
files or ranks. Every problem is an *issue* that names the check, the file and
the column.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.acquire.verify.statistics import (Histograms, bin_magnitudes, bin_positions, empty_footprint, empty_stats,
                                             finite_or_none, fractions, merge_footprints, merge_stats, value_stats)
from pzmpi.core.checksum import SequentialHasher
from pzmpi.core.errors import ConfigError
from pzmpi.photometry.bands import LSST_BANDS, ZP_NJY

ID_COLUMN = "objectId"
RA_COLUMN = "coord_ra"
DEC_COLUMN = "coord_dec"
TRACT_COLUMN = "tract"
DEFAULT_REQUIRED = ("objectId", "coord_ra", "coord_dec", "{band}_cModelFlux", "{band}_cModelFluxErr")
MAGNITUDE_FLUX = "{band}_cModelFlux"  # the fluxes of the magnitude histograms
PHOTOMETRIC = re.compile(r"Flux(Err)?$")  # required columns with these endings get photometry statistics

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


def photometry_warnings(file: str, column: str, stats: dict[str, Any]) -> list[dict[str, Any]]:
    """A warning naming the file, the column and each kind whose fraction exceeds ``PHOTOMETRY_LIMITS``."""
    limits = PHOTOMETRY_LIMITS["error" if column.endswith("Err") else "flux"]
    over = [f"{stats[kind]} {kind} ({share:.3%}, limit {limits[kind]:.0%})"
            for kind, share in fractions(stats).items() if share is not None and share > limits[kind]]
    return [issue("photometry", file, "; ".join(over), column)] if over else []


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
            bin_magnitudes(_as_float_array(table.column(name)), ZP_NJY, self.histograms.magnitude[band_index])
        if self.footprint is not None:
            self._add_positions(table)

    def _add_positions(self, table: pa.Table) -> None:
        ra = _as_float_array(table.column(RA_COLUMN))
        dec = _as_float_array(table.column(DEC_COLUMN))
        bad_ra, bad_dec, ra_low, ra_high, dec_low, dec_high = bin_positions(ra, dec, self.histograms.sky)
        part = {"ra_min": finite_or_none(ra_low), "ra_max": finite_or_none(ra_high),
                "dec_min": finite_or_none(dec_low), "dec_max": finite_or_none(dec_high),
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


def row_group_end(metadata: pq.FileMetaData, index: int) -> int:
    """The offset just past the last column chunk of row group ``index``, as its footer records it."""
    group = metadata.row_group(index)
    end = 0
    for i in range(group.num_columns):
        column = group.column(i)
        start = column.dictionary_page_offset if column.has_dictionary_page else column.data_page_offset
        end = max(end, (start or 0) + column.total_compressed_size)
    return end
