"""The RAIL adapter: one stage per rank, chunk after chunk, without memory growth."""

from __future__ import annotations

import resource

import numpy as np
import pyarrow.parquet as pq

from conftest import object_input, write_config
from pzmpi.cleaning import clean_chunk, input_columns
from pzmpi.config import load_config
from pzmpi.estimators.rail_adapter import RailEstimator


def test_memory_does_not_grow_with_chunks(tmp_path, sample, models):
    config = load_config(write_config(tmp_path / "run.toml", input=object_input(str(sample / "catalog")),
                                      estimator={"name": "bpz", "model": str(models["bpz"])},
                                      output={"folder": "run"}))
    table = pq.read_table(sample / "catalog" / "dc2_object_000.parquet").slice(0, 5000)
    raw = {c: table.column(c).to_numpy() for c in input_columns(config.input, config.cleaning)}
    columns = clean_chunk(raw, config.input, config.cleaning).columns
    estimator = RailEstimator(config)
    first = estimator.estimate(columns)
    estimator.estimate(columns)
    settled = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(8):  # 40,000 more rows: about 180 MB if each chunk's PDFs stayed alive
        again = estimator.estimate(columns)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - settled) / 1024
    assert grown_mb < 30, f"peak RSS grew by {grown_mb:.0f} MB over 8 chunks"
    np.testing.assert_array_equal(first.pdfs, again.pdfs)
