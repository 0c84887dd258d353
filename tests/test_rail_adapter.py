"""The RAIL adapter: one stage per rank, chunk after chunk, without keeping dead chunks alive."""

from __future__ import annotations

import gc

import numpy as np
import pyarrow.parquet as pq
from conftest import object_input, write_config

from pzmpi.estimators.cleaning import clean_chunk, input_columns
from pzmpi.estimators.config import load_config
from pzmpi.estimators.rail_adapter import RailEstimator


def chunk_of(config, sample, rows=2000):
    """Cleaned magnitudes of the first rows of the sample, as the engine hands them to an estimator."""
    table = pq.read_table(sample / "catalog" / "dc2_object_000.parquet").slice(0, rows)
    raw = {c: table.column(c).to_numpy() for c in input_columns(config.input, config.cleaning)}
    return clean_chunk(raw, config.input, config.cleaning).columns


def load(tmp_path, sample, models, key, name):
    """A run configuration for one of the session's trained models."""
    return load_config(write_config(tmp_path / f"{key}.toml", input=object_input(str(sample / "catalog")),
                                    estimator={"name": name, "model": str(models[key])}, output={"folder": "run"}))


def qp_generators_alive() -> int:
    """qp's per-ensemble generators (``interp_gen``, ``norm_gen``...) hold each chunk's PDFs in reference cycles."""
    return sum(1 for o in gc.get_objects() if str(type(o)).startswith("<class 'qp.") and str(type(o)).endswith("_gen'>"))


def test_no_chunk_outlives_its_estimate(tmp_path, sample, models):
    """Without the adapter's per-chunk collection, two generators (about 24 MB here) pile up per chunk."""
    config = load(tmp_path, sample, models, "bpz", "bpz")
    columns = chunk_of(config, sample, rows=5000)
    estimator = RailEstimator(config)
    first = estimator.estimate(columns)
    alive = qp_generators_alive()  # other tests' RAIL stages may legitimately keep theirs
    for _ in range(3):
        again = estimator.estimate(columns)
        assert qp_generators_alive() == alive
    np.testing.assert_array_equal(first.pdfs, again.pdfs)


def test_tpz_treats_a_nondetection_as_the_band_limit_with_error_1(tmp_path, sample, models):
    config = load(tmp_path, sample, models, "tpz", "tpz")
    columns = chunk_of(config, sample)
    nondetected = columns["mag_u_lsst"] == 99.0
    assert nondetected.sum() > 50
    as_limit = {k: v.copy() for k, v in columns.items()}
    as_limit["mag_u_lsst"][nondetected] = config.cleaning.mag_limits["u"]
    as_limit["mag_err_u_lsst"][nondetected] = 1.0
    estimator = RailEstimator(config)
    np.testing.assert_array_equal(estimator.estimate(columns).pdfs, estimator.estimate(as_limit).pdfs)


def test_gpz_ignores_the_error_of_a_nondetection(tmp_path, sample, models):
    config = load(tmp_path, sample, models, "gpz", "gpz")
    columns = chunk_of(config, sample)
    nondetected = columns["mag_u_lsst"] == 99.0
    assert nondetected.sum() > 50
    other_error = {k: v.copy() for k, v in columns.items()}
    other_error["mag_err_u_lsst"][nondetected] = 0.5
    estimator = RailEstimator(config)
    reference = estimator.estimate(columns).pdfs
    np.testing.assert_array_equal(reference, estimator.estimate(other_error).pdfs)
    # and a non-detection is not a detection at the limit with its usual error
    as_detection = {k: v.copy() for k, v in columns.items()}
    as_detection["mag_u_lsst"][nondetected] = config.cleaning.mag_limits["u"]
    as_detection["mag_err_u_lsst"][nondetected] = 0.1
    changed = np.abs(estimator.estimate(as_detection).pdfs - reference).max(axis=1) > 0
    assert changed[nondetected].mean() > 0.9 and not changed[~nondetected].any()
