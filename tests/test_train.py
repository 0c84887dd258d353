"""Training tables: read with the run's column handling, missing columns named."""

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import object_input, write_config

from pzmpi.core.errors import InputFileError
from pzmpi.estimators.config import load_config
from pzmpi.train.training import read_training_table


def config_for(tmp_path, table, group=""):
    return load_config(write_config(tmp_path / "train.toml", input=object_input("catalog"),
                                    estimator={"name": "bpz", "model": "bpz.pkl"},
                                    training={"input": table, "hdf5_group": group}, output={"folder": "run"}))


def columns(bands="ugrizy"):
    data = {f"{b}_cModelFlux": np.full(3, 100.0) for b in bands}
    data.update({f"{b}_cModelFluxErr": np.ones(3) for b in bands})
    data["redshift"] = np.array([0.1, 0.5, 1.0])
    return data


def test_parquet_and_hdf5_training_tables(tmp_path):
    pq.write_table(pa.table(columns()), tmp_path / "t.parquet")
    with h5py.File(tmp_path / "t.hdf5", "w") as handle:
        for name, values in columns().items():
            handle.create_dataset(f"photometry/{name}", data=values)
    from_parquet = read_training_table(config_for(tmp_path, "t.parquet"))
    from_hdf5 = read_training_table(config_for(tmp_path, "t.hdf5", group="photometry"))
    assert from_parquet.keys() == from_hdf5.keys() and "redshift" in from_parquet
    np.testing.assert_array_equal(from_parquet["g_cModelFlux"], from_hdf5["g_cModelFlux"])


def test_missing_training_columns_are_named(tmp_path):
    pq.write_table(pa.table(columns("ugriz")), tmp_path / "t.parquet")
    with pytest.raises(InputFileError, match=r"t.parquet: missing column\(s\) y_cModelFlux, y_cModelFluxErr"):
        read_training_table(config_for(tmp_path, "t.parquet"))
