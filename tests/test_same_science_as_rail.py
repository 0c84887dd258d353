"""pzmpi's PDFs are RAIL's (same model, same objects, RAIL's own estimate() as the reference), and its
validation metrics of those PDFs are qp's."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from conftest import TEST_ESTIMATORS, object_input, run_pzmpi, write_config
from native_check import rail_reference
from report_check import assert_metrics_are_qps, qp_reference

from pzmpi.datasets.dc2_sample import DC2_VALIDATION, rail_sample_path

pytestmark = [pytest.mark.slow, pytest.mark.mpi]

GRID = np.linspace(0.0, 3.0, 301)


@pytest.mark.parametrize("key", list(TEST_ESTIMATORS))
def test_pdfs_match_rail_estimate_and_their_validation_is_qps(tmp_path, sample, models, key):
    name = TEST_ESTIMATORS[key][0]
    reference_pdfs, reference_mode = rail_reference(name, models[key], GRID, tmp_path / "rail.hdf5")
    config = write_config(tmp_path / "run.toml", input=object_input(str(sample / "catalog")),
                          estimator={"name": name, "model": str(models[key])}, output={"folder": "run"},
                          run={"rows_per_chunk": 3000})
    result = run_pzmpi(["run", str(config)], ranks=2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with h5py.File(tmp_path / "run" / "index.hdf5") as index:
        pdfs = index["data/yvals"][()]
        zmode = index["ancil/zmode"][()]
        ids = index["ancil/objectId"][()]
    with h5py.File(rail_sample_path(DC2_VALIDATION)) as source:
        np.testing.assert_array_equal(ids, source["photometry/id"][()])
    assert pdfs.dtype == np.float32 and pdfs.shape == reference_pdfs.shape == (20449, 301)
    peak = reference_pdfs.max(axis=1, keepdims=True)
    worst = (np.abs(pdfs - reference_pdfs) / peak).max()
    assert worst <= 1e-5, f"max |delta p| / max p = {worst:.2e}"
    np.testing.assert_array_equal(zmode, reference_mode)
    # pzmpi evaluate over the same run: every metric is qp's, on the same PDFs
    evaluate = write_config(tmp_path / "evaluate.toml", evaluate={"runs": ["run"]}, output={"folder": "validation"})
    result = run_pzmpi(["evaluate", str(evaluate)], ranks=2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (report,) = json.loads((tmp_path / "validation" / "validation.json").read_text())["runs"]
    assert report["objects"] == 20449
    assert_metrics_are_qps(report["metrics"], report["pit"], qp_reference(tmp_path / "run" / "index.hdf5",
                                                                          sample / "catalog"))
