"""Shared by the native-implementation tests: the same model and objects through RAIL and through pzmpi.

The reference is RAIL's own ``estimate()`` on RAIL's DC2 validation file; the
native estimator gets that file's own float32 magnitudes, so both see the same
numbers. Both PDFs are compared in float64 on the run's grid.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from conftest import exclusive, object_input, write_config
from rail.core.data import TableHandle

from pzmpi.datasets.dc2_sample import DC2_VALIDATION, rail_sample_path, read_rail_table
from pzmpi.estimators import estimator_class_path, import_class
from pzmpi.estimators.config import Config, load_config
from pzmpi.estimators.factory import make_estimator
from pzmpi.estimators.interface import Estimate, redshift_grid
from pzmpi.estimators.point_estimates import point_estimates
from pzmpi.estimators.rail_adapter import RailEstimator

PDF_TOLERANCE = 1e-6  # max |delta p| allowed, as a fraction of the object's max p


def rail_reference(name: str, model: Path, grid: np.ndarray, out: Path, **params) -> tuple[np.ndarray, np.ndarray]:
    """PDFs on ``grid`` (float64) and zmode from RAIL's own estimate() on RAIL's validation file.

    Computed once per model file, grid and parameters in a test session (kept beside the model, under a
    lock): the native tests and the run tests compare against the same reference.
    """
    key = hashlib.sha256(json.dumps([name, grid.tolist(), sorted(params.items())], default=str).encode())
    cached = Path(model).with_name(f"{Path(model).name}.rail-{key.hexdigest()[:16]}.npz")
    with exclusive(cached.with_suffix(".lock")):
        if not cached.exists():
            stage_class = import_class(estimator_class_path(name))
            stage = stage_class.make_stage(name=f"reference_{stage_class.__name__}", model=str(model),
                                           hdf5_groupname="photometry", chunk_size=7000, output=str(out), **params)
            ensemble = stage.estimate(TableHandle("input", path=str(rail_sample_path(DC2_VALIDATION)))).data
            np.savez(cached, pdfs=np.asarray(ensemble.pdf(grid), dtype=np.float64), mode=ensemble.mode(grid).ravel())
        with np.load(cached) as saved:
            return saved["pdfs"], saved["mode"]


def native_estimate(name: str, model: Path, folder: Path, rows_per_call: int = 7000,
                    **estimator: object) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The native implementation's float64 PDFs, zmode and extras for RAIL's validation file, chunk by chunk."""
    config_path = write_config(folder / "native.toml", input=object_input("unused"),
                               estimator={"name": name, "model": str(model), "implementation": "native", **estimator},
                               output={"folder": "unused"})
    config = load_config(config_path)
    native = make_estimator(config)
    assert type(native).__module__.startswith("pzmpi.estimators.native"), type(native)
    native.compile()
    table = read_rail_table(rail_sample_path(DC2_VALIDATION))
    columns = {key: value for key, value in table.items() if key.startswith("mag_")}
    n = len(table["id"])
    pdf_parts, extra_parts = [], []
    for start in range(0, n, rows_per_call):
        result = native.estimate({key: value[start:start + rows_per_call] for key, value in columns.items()})
        assert result.pdfs.shape == (min(rows_per_call, n - start), config.estimator.nzbins)
        pdf_parts.append(np.asarray(result.pdfs, dtype=np.float64))
        extra_parts.append(result.extras)
    pdfs = np.concatenate(pdf_parts)
    grid = redshift_grid(config)
    extras = {key: np.concatenate([part[key] for part in extra_parts]) for key in extra_parts[0]}
    return pdfs, point_estimates(pdfs, grid)["zmode"], extras


def assert_same_pdfs(native: np.ndarray, reference: np.ndarray, native_mode: np.ndarray,
                     reference_mode: np.ndarray) -> None:
    """Every PDF within PDF_TOLERANCE of its max; the same zmode except where the reference ties within it."""
    assert native.shape == reference.shape
    peak = reference.max(axis=1, keepdims=True)
    worst = (np.abs(native - reference) / np.where(peak > 0, peak, 1.0)).max()
    assert worst <= PDF_TOLERANCE, f"max |delta p| / max p = {worst:.2e}"
    differ = native_mode != reference_mode
    top_two = np.sort(reference, axis=1)[:, -2:]
    tied = (top_two[:, 1] - top_two[:, 0]) <= PDF_TOLERANCE * peak.ravel()
    assert not (differ & ~tied).any(), f"{int((differ & ~tied).sum())} objects with a different zmode"


@dataclass
class CraftedRows:
    """RAIL's validation magnitudes in one dtype, from which a test builds the rows it feeds both paths.

    ``base`` are the first ``n_base`` objects detected in every band; ``add`` appends a
    row, ``add_band_cases`` copies of base objects with one band's magnitude or error
    replaced, ``columns`` gives the rows as RAIL's columns.
    """

    bands: list[str]
    mags: np.ndarray
    errors: np.ndarray
    base: np.ndarray
    rows: list[np.ndarray] = field(default_factory=list)
    row_errors: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def validation(cls, dtype: type, n_base: int) -> CraftedRows:
        table = read_rail_table(rail_sample_path(DC2_VALIDATION))
        bands = [name for name in table if name.startswith("mag_") and not name.startswith("mag_err_")]
        mags = np.column_stack([table[name] for name in bands]).astype(dtype)
        errors = np.column_stack([table[error_column(name)] for name in bands]).astype(dtype)
        return cls(bands, mags, errors, np.flatnonzero((mags < 90).all(axis=1))[:n_base])

    def add(self, row: np.ndarray, row_error: np.ndarray) -> None:
        self.rows.append(row)
        self.row_errors.append(row_error)

    def add_base(self) -> None:
        for i in self.base:
            self.add(self.mags[i].copy(), self.errors[i].copy())

    def add_band_cases(self, cases: list[tuple[float | None, float | None]]) -> None:
        """For band b, copies of base object b with its magnitude and/or error set by each (mag, error) case."""
        for b in range(len(self.bands)):
            for mag, error in cases:
                row, row_error = self.mags[self.base[b]].copy(), self.errors[self.base[b]].copy()
                if mag is not None:
                    row[b] = mag
                if error is not None:
                    row_error[b] = error
                self.add(row, row_error)

    def columns(self) -> dict[str, np.ndarray]:
        mags = np.array(self.rows, dtype=self.mags.dtype)
        errors = np.array(self.row_errors, dtype=self.mags.dtype)
        columns = {name: mags[:, k].copy() for k, name in enumerate(self.bands)}
        columns.update({error_column(name): errors[:, k].copy() for k, name in enumerate(self.bands)})
        return columns


def error_column(magnitude_column: str) -> str:
    return "mag_err_" + magnitude_column.removeprefix("mag_")


def both_paths_on_rows(folder: Path, name: str, model: Path, columns: dict[str, np.ndarray], dtype: type,
                       nondetect_val: float, grid: dict[str, Any], native_class: type,
                       output: dict[str, Any] | None = None) -> tuple[Estimate, Estimate, Any, Config]:
    """RAIL's own ``_process_chunk`` (pzmpi's RAIL path) and the native path on the same rows.

    Returns the reference estimate, the native one, the native estimator and the configuration.
    """
    config = load_config(write_config(
        folder / "run.toml", input=object_input("unused"), output={"folder": "unused", **(output or {})},
        cleaning={"magnitude_dtype": np.dtype(dtype).name, "nondetect_val": nondetect_val},
        estimator={"name": name, "model": str(model), "implementation": "native", **grid}))
    reference = RailEstimator(config).estimate(columns)
    native_estimator = make_estimator(config)
    assert isinstance(native_estimator, native_class), type(native_estimator)
    native = native_estimator.estimate(columns)
    assert native.pdfs.shape == reference.pdfs.shape == (len(next(iter(columns.values()))), config.estimator.nzbins)
    return reference, native, native_estimator, config


def assert_same_pdfs_on_grid(native: np.ndarray, reference: np.ndarray, config: Config) -> None:
    """``assert_same_pdfs``, with both zmodes taken on the configuration's grid."""
    grid = redshift_grid(config)
    assert_same_pdfs(native, reference, point_estimates(native, grid)["zmode"],
                     point_estimates(reference, grid)["zmode"])


def assert_pdfs_do_not_depend_on_the_chunking(name: str, model: Path, folder: Path) -> None:
    """The validation file at once, in 7,000-row and in 333-row calls: the same PDFs, bit for bit."""
    whole, _, _ = native_estimate(name, model, folder, rows_per_call=20449)
    for rows in (7000, 333):
        np.testing.assert_array_equal(native_estimate(name, model, folder, rows_per_call=rows)[0], whole)


def load_model(path: Path) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)


def saved_model(content: Any, folder: Path) -> Path:
    """``content`` pickled as a model file in ``folder``."""
    path = folder / "tampered.pkl"
    with open(path, "wb") as handle:
        pickle.dump(content, handle)
    return path


def tampered(source: Path, folder: Path, **attributes: Any) -> Path:
    """A copy of a model object (FlexZBoost's, GPz's) with some of its attributes changed."""
    content = load_model(source)
    for name, value in attributes.items():
        setattr(content, name, value)
    return saved_model(content, folder)
