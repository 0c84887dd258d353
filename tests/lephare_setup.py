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
