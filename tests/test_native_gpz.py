"""pzmpi's native GPz gives RAIL's PDFs: same model file, same objects, every kind of basis function RAIL trains.

RAIL's own ``estimate()`` on the 20,449 objects of RAIL's DC2 validation file is
the reference, for the session's test model (VL) and for small models of the
other five methods; crafted rows (non-detections, NaN and infinite magnitudes,
bad errors) go through RAIL's own ``_process_chunk`` in float32 and float64.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from conftest import TEST_ESTIMATORS, object_input, write_config
from native_check import (CraftedRows, assert_pdfs_do_not_depend_on_the_chunking, assert_same_pdfs,
                          assert_same_pdfs_on_grid, both_paths_on_rows, native_estimate, rail_reference, tampered)
from rail.estimation.algos.gpz import _prepare_data
from scipy import stats

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.config import load_config
from pzmpi.estimators.factory import make_estimator
from pzmpi.estimators.native.gpz import NativeGPz, _gaussians

pytestmark = pytest.mark.slow

GRID = np.linspace(0.0, 3.0, 301)
SMALL = {"n_basis": 10, "max_iter": 30}  # as the session's test model
# The session's model is VL; these are the other basis functions RAIL trains, and a model without
# the joint linear part, the heteroscedastic noise and the PCA, on raw errors (RAIL's estimator must
# then be told log_errors = false too).
OTHER_MODELS = {
    "GL": {"gpz_method": "GL"}, "GD": {"gpz_method": "GD"}, "VD": {"gpz_method": "VD"},
    "GC": {"gpz_method": "GC"}, "VC": {"gpz_method": "VC"},
    "plain": {"gpz_method": "GD", "learn_jointly": False, "hetero_noise": False, "pca_decorrelate": False,
              "log_errors": False},
}
ESTIMATE_PARAMS = {"plain": {"log_errors": False}}


@pytest.fixture(scope="module")
def train_gpz(models: Any) -> Callable[[str], Path]:
    """Trains (once, by ``pzmpi train``) the GPz model ``OTHER_MODELS[key]`` on the sample's training table."""
    return lambda key: models.train(f"gpz-{key}", "gpz", {**SMALL, **OTHER_MODELS[key]})


def test_test_model_matches_rail_estimate(tmp_path, models):
    assert TEST_ESTIMATORS["gpz"][1]["gpz_method"] == "VL"
    reference, reference_mode = rail_reference("gpz", models["gpz"], GRID, tmp_path / "rail.hdf5")
    native, native_mode, extras = native_estimate("gpz", models["gpz"], tmp_path)
    assert extras == {}
    assert_same_pdfs(native, reference, native_mode, reference_mode)


@pytest.mark.parametrize("key", list(OTHER_MODELS))
def test_other_models_match_rail_estimate(tmp_path, train_gpz, key):
    model = train_gpz(key)
    params = ESTIMATE_PARAMS.get(key, {})
    reference, reference_mode = rail_reference("gpz", model, GRID, tmp_path / "rail.hdf5", **params)
    native, native_mode, _ = native_estimate("gpz", model, tmp_path, params=params)
    assert_same_pdfs(native, reference, native_mode, reference_mode)


def test_an_objects_pdf_does_not_depend_on_the_chunking(tmp_path, models):
    assert_pdfs_do_not_depend_on_the_chunking("gpz", models["gpz"], tmp_path)


def crafted_rows(dtype: type) -> dict[str, np.ndarray]:
    """Validation objects, then one band at a time: a magnitude of 99 (or within or just outside
    ``np.isclose`` of it), NaN or infinite; an error of 0, negative, NaN, infinite or 99."""
    crafted = CraftedRows.validation(dtype, n_base=20)
    crafted.add_base()
    crafted.add_band_cases([(mag, None) for mag in (99.0, 99.0009, 99.0011, np.nan, np.inf, -np.inf)]
                           + [(None, error) for error in (0.0, -0.1, np.nan, np.inf, 99.0)])
    return crafted.columns()


# The second case also evaluates on another grid, wider than the mass of most PDFs and coarser.
@pytest.mark.parametrize("dtype, nondetect_val, grid", [
    (np.float32, 99.0, {}),
    (np.float64, float("nan"), {"zmin": -0.5, "zmax": 4.0, "nzbins": 91}),
])
def test_crafted_rows_match_rails_process_chunk(tmp_path, models, dtype, nondetect_val, grid):
    """The features are RAIL's ``_prepare_data``'s bit for bit, the PDFs RAIL's within tolerance."""
    columns = crafted_rows(dtype)
    reference, native, native_estimator, config = both_paths_on_rows(tmp_path, "gpz", models["gpz"], columns, dtype,
                                                                     nondetect_val, grid, NativeGPz)
    stage = native_estimator.stage.config
    rail_features = _prepare_data({name: values.copy() for name, values in columns.items()}, stage.bands,
                                  stage.err_bands, stage.nondetect_val, stage.mag_limits, stage.log_errors,
                                  stage.replace_error_vals)
    np.testing.assert_array_equal(native_estimator.recipe.features(columns), rail_features)
    assert np.isfinite(reference.pdfs).all()
    assert_same_pdfs_on_grid(native.pdfs, reference.pdfs, config)


def test_gaussians_are_scipys_density_on_the_grid():
    """Means inside, on the edges of and far outside the grid; widths from a hundredth of a step to 1,000."""
    means, widths = np.meshgrid([-5.0, -0.01, 0.0, 0.004, 1.2345, 2.995, 3.0, 3.5, 40.0],
                                [1e-4, 3e-3, 0.01, 0.0567, 0.3, 2.0, 1e3])
    means, widths = means.ravel(), widths.ravel()
    out = np.empty((means.size, GRID.size))
    _gaussians(means, widths**2, GRID[0], (GRID[-1] - GRID[0]) / (GRID.size - 1), out)
    reference = stats.norm.pdf(GRID, loc=means[:, None], scale=widths[:, None])
    peak = reference.max(axis=1, keepdims=True)
    assert (np.abs(out - reference) <= 1e-11 * np.where(peak > 0, peak, 1.0)).all()


def test_a_variance_that_is_not_positive_or_finite_gives_nan():
    out = np.empty((4, GRID.size))
    _gaussians(np.array([1.0, 1.0, np.nan, 1.0]), np.array([0.0, -1.0, 0.1, np.inf]), 0.0, 0.01, out)
    assert np.isnan(out).all()


@pytest.mark.parametrize("changes, bands, params, message", [
    ({"method": "ANN"}, "ugrizy", {}, "GPz method 'ANN'"),
    ({"k": 2}, "ugrizy", {}, "2 outputs"),
    ({}, "grizy", {"replace_error_vals": [0.1] * 5}, "trained on 12 GPz features"),
    ({}, "ugrizy", {"mag_limits": {"mag_u_lsst": 27.79}}, "'mag_limits' by position"),
])
def test_what_the_native_path_cannot_do_is_a_configuration_error(tmp_path, models, changes, bands, params, message):
    config = load_config(write_config(
        tmp_path / "run.toml", input={**object_input("unused"), "bands": list(bands)}, output={"folder": "unused"},
        estimator={"name": "gpz", "model": str(tampered(models["gpz"], tmp_path, **changes)),
                   "implementation": "native", "params": params}))
    with pytest.raises(ConfigError, match=message):
        make_estimator(config)


def test_the_kept_gaussian_is_rails_loc_and_scale(tmp_path, models):
    """``estimator_columns = ["loc", "scale"]``: the same numbers on the native path as on RAIL's (its qp norm)."""
    columns = crafted_rows(np.float32)
    reference, native, _, _ = both_paths_on_rows(tmp_path, "gpz", models["gpz"], columns, np.float32, 99.0, {},
                                                 NativeGPz, output={"estimator_columns": ["loc", "scale"]})
    assert set(native.extras) == set(reference.extras) == {"loc", "scale"}
    for name in ("loc", "scale"):
        np.testing.assert_allclose(native.extras[name], reference.extras[name], rtol=1e-9, err_msg=name)
