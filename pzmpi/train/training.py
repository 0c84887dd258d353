"""Training: clean a spec-z table exactly as a run cleans the catalog, then run RAIL's informer."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq

from pzmpi.core.tomlconfig import require_file
from pzmpi.estimators.cleaning import clean_chunk, input_columns
from pzmpi.estimators.config import Config
from pzmpi.estimators.rail_adapter import train_model
from pzmpi.io.catalog import check_columns


def read_training_table(config: Config) -> dict[str, np.ndarray]:
    """The photometric and redshift columns of the training table (parquet, or HDF5 with ``training.hdf5_group``)."""
    path = config.training.input
    require_file(path, "training.input", config.source)
    wanted = [c for c in input_columns(config.input, config.cleaning) if c != config.input.id_column]
    wanted.append(config.training.redshift_column)
    if Path(path).suffix in (".h5", ".hdf5", ".hdf"):
        with h5py.File(path, "r") as handle:
            group = handle[config.training.hdf5_group] if config.training.hdf5_group else handle
            check_columns(path, group.keys(), wanted)
            return {c: np.asarray(group[c][()]) for c in wanted}
    check_columns(path, pq.read_schema(path).names, wanted)
    table = pq.read_table(path, columns=wanted)
    return {c: table.column(c).to_numpy() for c in wanted}


def train(config: Config) -> Path:
    """Write ``estimator.model`` from ``training.input``; returns the model's path."""
    raw = read_training_table(config)
    redshift = np.asarray(raw.pop(config.training.redshift_column), dtype=np.float64)
    raw[config.input.id_column] = np.arange(len(redshift))
    columns = clean_chunk(raw, config.input, config.cleaning).columns
    columns["redshift"] = redshift
    Path(config.estimator.model).parent.mkdir(parents=True, exist_ok=True)
    train_model(config, columns)
    return Path(config.estimator.model)
