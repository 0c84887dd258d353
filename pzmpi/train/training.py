"""Training: clean a spec-z table exactly as a run cleans the catalog, then run RAIL's informer.

Beside the model, ``<model>.training.json`` records what it was trained on
(the table's checksum, size and redshift range), for the results report of
every run that uses it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pyarrow.parquet as pq

from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.files import write_text_atomically
from pzmpi.core.release import table_files
from pzmpi.core.tomlconfig import require_file
from pzmpi.estimators import estimator_code
from pzmpi.estimators.cleaning import clean_chunk, input_columns
from pzmpi.estimators.model_info import training_record_path
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


def train(config: Config, command: str = "") -> Path:
    """Write ``estimator.model`` from ``training.input`` (by default, from ``input.release``: its newest training
    set's training split); returns the model's path. A model trained on a release's training set enters its record."""
    release = config.input.release_record() if config.input.release else None
    if release is not None and not config.training.input:
        config = replace(config, training=replace(config.training, input=table_files(release, "training")[0]))
    raw = read_training_table(config)
    redshift = np.asarray(raw.pop(config.training.redshift_column), dtype=np.float64)
    raw[config.input.id_column] = np.arange(len(redshift))
    columns = clean_chunk(raw, config.input, config.cleaning).columns
    columns["redshift"] = redshift
    Path(config.estimator.model).parent.mkdir(parents=True, exist_ok=True)
    train_model(config, columns)
    record = training_record(config, redshift)
    write_text_atomically(training_record_path(config.estimator.model), json.dumps(record, indent=1) + "\n")
    if release is not None:
        code = estimator_code(config.estimator.name)
        entry = {"code": code, "model_file": str(config.estimator.model), **record, "config": config.text,
                 "config_sha256": config.sha256}
        release.log(command or f"pzmpi train ({code})", {"model": entry["model_file"], "code": code,
                                                          "rows": record["rows"]},
                    section="models", entry=entry, replacing="model_file")
    return Path(config.estimator.model)


def training_record(config: Config, redshift: np.ndarray) -> dict[str, Any]:
    """What a model was trained on: the table, its size and redshift range, the settings."""
    finite = redshift[np.isfinite(redshift)]
    return {"estimator": config.estimator.name, "model_sha256": sha256_of_file(config.estimator.model),
            "table": config.training.input, "table_sha256": sha256_of_file(config.training.input),
            "rows": int(redshift.size), "bands": list(config.input.bands),
            "redshift_column": config.training.redshift_column,
            "redshift": {"min": float(finite.min()), "max": float(finite.max()), "mean": float(finite.mean()),
                         "median": float(np.median(finite))} if finite.size else None,
            "params": config.training.params, "seed": config.training.seed}
