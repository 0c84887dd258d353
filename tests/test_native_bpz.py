"""pzmpi's native BPZ gives RAIL's PDFs and ancillary values: same model, same objects, same parameters.

RAIL's own ``estimate()`` on the 20,449 objects of RAIL's DC2 validation file is
the reference, with the prior, without it, and with Gaussian smoothing and a
``p_min`` cut; crafted rows (non-detections, unobserved bands, NaN magnitudes)
go through RAIL's own ``_process_chunk`` in float32 and float64, with the best
template ``tb`` and its odds ``todds`` compared too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import object_input, write_config
from native_check import (CraftedRows, assert_pdfs_do_not_depend_on_the_chunking, assert_same_pdfs,
                          assert_same_pdfs_on_grid, both_paths_on_rows, load_model, native_estimate, rail_reference,
                          saved_model)

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.config import load_config
from pzmpi.estimators.factory import make_estimator
from pzmpi.estimators.native.bpz import NativeBPZ

pytestmark = pytest.mark.slow

GRID = np.linspace(0.0, 3.0, 301)
ODDS_TOLERANCE = 1e-9  # todds is a ratio of sums over the posterior: a few roundings apart from RAIL's


@pytest.mark.parametrize("params", [{}, {"no_prior": True}, {"gauss_kernel": 0.05, "p_min": 0.01}],
                         ids=["prior", "no_prior", "smoothed"])
def test_pdfs_match_rail_estimate(tmp_path, models, params):
    reference, reference_mode = rail_reference("bpz", models["bpz"], GRID, tmp_path / "rail.hdf5", **params)
    native, native_mode, _ = native_estimate("bpz", models["bpz"], tmp_path, params=params)
    assert_same_pdfs(native, reference, native_mode, reference_mode)


def test_an_objects_pdf_does_not_depend_on_the_chunking(tmp_path, models):
    assert_pdfs_do_not_depend_on_the_chunking("bpz", models["bpz"], tmp_path)


def crafted_rows(dtype: type) -> dict[str, np.ndarray]:
    """Validation objects, then one band at a time: a non-detection (99), an unobserved band (-99),
    NaN, a magnitude just outside ``np.isclose`` of 99, an error of 0 or 99."""
    crafted = CraftedRows.validation(dtype, n_base=40)
    crafted.add_base()
    crafted.add_band_cases([(mag, None) for mag in (99.0, -99.0, np.nan, 99.01)]
                           + [(None, error) for error in (0.0, 99.0)])
    return crafted.columns()


# The second case also evaluates on a grid other than the model's (wider than its zmax, coarser).
@pytest.mark.parametrize("dtype, nondetect_val, grid", [
    (np.float32, 99.0, {}),
    (np.float64, float("nan"), {"zmin": 0.0, "zmax": 3.2, "nzbins": 161}),
])
def test_crafted_rows_and_extras_match_rails_process_chunk(tmp_path, models, dtype, nondetect_val, grid):
    """PDFs, and the best template ``tb`` and its odds ``todds``, as RAIL's ancil gives them."""
    reference, native, _, config = both_paths_on_rows(tmp_path, "bpz", models["bpz"], crafted_rows(dtype), dtype,
                                                      nondetect_val, grid, NativeBPZ,
                                                      output={"estimator_columns": ["tb", "todds"]})
    # A NaN magnitude that does not mark a non-detection is a NaN flux: RAIL's PDF is NaN, and so is pzmpi's.
    undefined = ~np.isfinite(reference.pdfs).all(axis=1)
    assert undefined.sum() == (0 if np.isnan(nondetect_val) else 6)
    assert np.isnan(native.pdfs[undefined]).all() and np.isnan(reference.pdfs[undefined]).all()
    assert_same_pdfs_on_grid(native.pdfs[~undefined], reference.pdfs[~undefined], config)
    np.testing.assert_array_equal(native.extras["tb"], reference.extras["tb"])
    np.testing.assert_allclose(native.extras["todds"], reference.extras["todds"], rtol=ODDS_TOLERANCE)


def tampered_prior(source: Path, folder: Path, nt_array: list[int]) -> str:
    """A copy of the BPZ model whose prior counts its templates per broad type differently."""
    content = load_model(source)
    content["priormodel"]["nt_array"] = nt_array
    return str(saved_model(content, folder))


@pytest.mark.parametrize("case, message", [
    ("wide_kernel", "gauss_kernel"),
    ("prior_counts", "nt_array counts 9 templates"),
    ("unknown_extra", "provides no zbest"),
])
def test_what_the_native_path_cannot_do_is_a_configuration_error(tmp_path, models, case, message):
    model = tampered_prior(models["bpz"], tmp_path, [1, 3, 5]) if case == "prior_counts" else str(models["bpz"])
    params = {"gauss_kernel": 2.0} if case == "wide_kernel" else {}
    output = {"folder": "unused", "estimator_columns": ["zbest"] if case == "unknown_extra" else []}
    config = load_config(write_config(
        tmp_path / "run.toml", input=object_input("unused"), output=output,
        estimator={"name": "bpz", "model": model, "implementation": "native", "params": params}))
    with pytest.raises(ConfigError, match=message):
        make_estimator(config)
