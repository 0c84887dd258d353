"""Spectroscopic catalogs in: parquet, CSV or FITS, the configured columns, the quality cuts.

Each file is read whole (spectroscopic catalogs are millions of rows at most)
by the field's readers: pyarrow for parquet and CSV, astropy for FITS. Every
spectrum gets a key, ``file index * 2**40 + row``, that fixes the order the
duplicate policy falls back on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq

from pzmpi.core.errors import ConfigError, InputFileError
from pzmpi.io.catalog import check_columns
from pzmpi.train.trainingset_config import spectra_format

ROW_BITS = 40


@dataclass
class Spectra:
    """Spectra that passed the cuts, as arrays of one length; ``survey`` indexes ``surveys``."""

    key: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    redshift: np.ndarray
    redshift_error: np.ndarray
    flag: np.ndarray
    survey: np.ndarray
    surveys: list[str]

    def __len__(self) -> int:
        return self.key.size

    def take(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The chosen rows' arrays (to send to another rank)."""
        return {name: getattr(self, name)[rows] for name in ("key", "ra", "dec", "redshift", "redshift_error",
                                                             "flag", "survey")}


def read_table(path: str, columns: list[str]) -> dict[str, np.ndarray]:
    """The ``columns`` of one catalog file; an InputFileError names the file and what is missing."""
    kind = spectra_format(path)
    try:
        if kind == "parquet":  # only the columns asked for are decoded
            check_columns(path, pq.read_schema(path).names, columns)
            table = pq.read_table(path, columns=columns)
        elif kind == "csv":
            table = pyarrow.csv.read_csv(path)
        else:
            from astropy.table import Table

            table = pa.table({name: np.asarray(column) for name, column in Table.read(path).columns.items()})
    except (OSError, ValueError, pa.ArrowException) as error:
        raise InputFileError(f"{path}: not a readable {kind} catalog: {error}") from None
    check_columns(path, table.column_names, columns)
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in columns}


def read_spectra(settings: dict[str, Any]) -> tuple[Spectra, dict[str, dict[str, int]]]:
    """Every catalog's spectra that pass the cuts, and per survey how many were read and kept."""
    parts: list[dict[str, Any]] = []
    surveys: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    for index, path in enumerate(settings["paths"]):
        wanted = [settings["ra_column"], settings["dec_column"], settings["redshift_column"]]
        optional = {"flag": settings["flag_column"], "error": settings["redshift_error_column"],
                    "survey": settings["survey_column"]}
        columns = read_table(path, wanted + [name for name in optional.values() if name])
        rows = columns[settings["ra_column"]].size
        numbers = {}
        for role, name in (("ra", settings["ra_column"]), ("dec", settings["dec_column"]),
                           ("redshift", settings["redshift_column"]), ("flag", optional["flag"]),
                           ("error", optional["error"])):
            if not name:
                numbers[role] = np.full(rows, np.nan)
                continue
            try:
                numbers[role] = np.asarray(columns[name], dtype=np.float64)
            except (TypeError, ValueError):
                raise InputFileError(f"{path}: column {name} is not numeric") from None
        names = (np.asarray(columns[optional["survey"]]).astype(str) if optional["survey"]
                 else np.full(rows, Path(path).stem))
        keep = (np.isfinite(numbers["ra"]) & np.isfinite(numbers["dec"]) & (np.abs(numbers["dec"]) <= 90.0)
                & (numbers["redshift"] >= settings["min_redshift"]) & (numbers["redshift"] <= settings["max_redshift"]))
        if settings["flag_column"]:
            flag = numbers["flag"]
            keep &= (flag <= settings["min_flag"]) if settings["flag_lower_is_better"] else (flag >= settings["min_flag"])
        for survey in np.unique(names):
            entry = counts.setdefault(str(survey), {"read": 0, "kept": 0})
            entry["read"] += int((names == survey).sum())
            entry["kept"] += int(((names == survey) & keep).sum())
        codes = np.empty(rows, dtype=np.int64)
        for survey in np.unique(names):
            if survey not in surveys:
                surveys.append(str(survey))
            codes[names == survey] = surveys.index(str(survey))
        rows_kept = np.flatnonzero(keep)
        parts.append({"key": (np.int64(index) << ROW_BITS) + rows_kept, "ra": numbers["ra"][rows_kept],
                      "dec": numbers["dec"][rows_kept], "redshift": numbers["redshift"][rows_kept],
                      "redshift_error": numbers["error"][rows_kept], "flag": numbers["flag"][rows_kept],
                      "survey": codes[rows_kept]})
    joined = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    if joined["key"].size == 0:
        raise ConfigError(f"no spectrum passes the cuts in {', '.join(settings['paths'])}")
    return Spectra(**joined, surveys=surveys), counts
