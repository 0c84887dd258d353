"""A LePHARE library trained by ``pzmpi train`` beside DC2 objects, as Object parquet and as RAIL's HDF5 input."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import object_input, run_pzmpi, write_config

from pzmpi.datasets.dc2_sample import DC2_VALIDATION, object_table, rail_sample_path, read_rail_table

DATA = Path(__file__).resolve().parents[2] / "shared" / "lephare-data"


def train_library(folder: Path, sample: Path, params: dict[str, str], nzbins: int, rows: int) -> dict:
    """The first ``rows`` DC2 validation objects in ``folder/catalog`` and ``folder/rail_input.hdf5`` (NaN for a
    non-detection, as pzmpi gives LePHARE), and the library built from ``params``; returns the estimator section."""
    if not DATA.is_dir():
        pytest.skip(f"LePHARE auxiliary data not found at {DATA}")
    validation = read_rail_table(rail_sample_path(DC2_VALIDATION))
    subset = {name: values[:rows] for name, values in validation.items()}
    (folder / "catalog").mkdir()
    pq.write_table(object_table(subset, keep_redshift=True), folder / "catalog" / "part.parquet", row_group_size=500)
    with h5py.File(folder / "rail_input.hdf5", "w") as handle:
        for name, values in subset.items():
            if name.startswith("mag_") and not name.startswith("mag_err_"):
                values = np.where(values == 99.0, np.float32(np.nan), values)
            handle.create_dataset(f"photometry/{name}", data=values)
    estimator = {"name": "lephare", "model": str(folder / "lephare.pkl"), "data_dir": str(DATA), "nzbins": nzbins}
    config = write_config(folder / "train.toml", input=object_input(str(folder / "catalog")), estimator=estimator,
                          training={"input": str(sample / "training.parquet"), "params": params},
                          output={"folder": "run"})
    result = run_pzmpi(["train", str(config)], timeout=1800)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return estimator


def with_lephare_settings(monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]) -> None:
    """Every RAIL LePHARE stage opened from now on (by pzmpi's RAIL adapter and by the native estimator) runs with
    these LePHARE ``settings`` over its model's, as if the model had been trained with them."""
    import pzmpi.estimators.native.common as native_common
    import pzmpi.estimators.rail_adapter as rail_adapter

    opened = rail_adapter.open_rail_stage

    def with_settings(stage_settings):
        stage = opened(stage_settings)
        stage.lephare_config.update(settings)
        return stage

    monkeypatch.setattr(rail_adapter, "open_rail_stage", with_settings)
    monkeypatch.setattr(native_common, "open_rail_stage", with_settings)


def assert_same_as_rail(mine, theirs, keys: list[str], tolerance: float) -> np.ndarray:
    """Two ``Estimate``s of the same objects, pzmpi's and RAIL's: every value of ``keys`` equal, the same objects
    left unfitted (NaN PDFs), and each fitted PDF within ``tolerance`` of its peak. Returns which were fitted."""
    for name in keys:
        np.testing.assert_array_equal(mine.extras[name], np.asarray(theirs.extras[name], dtype=mine.extras[name].dtype),
                                      err_msg=name)
    fitted = ~np.isnan(theirs.pdfs).any(axis=1)
    np.testing.assert_array_equal(~np.isnan(mine.pdfs).any(axis=1), fitted)
    peak = np.abs(theirs.pdfs[fitted]).max(axis=1, keepdims=True)
    worst = (np.abs(mine.pdfs[fitted] - theirs.pdfs[fitted]) / peak).max()
    assert worst <= tolerance, f"max |delta p| / max p = {worst:.2e}"
    return fitted
