"""pzmpi's native FlexZBoost gives RAIL's PDFs: same model file, same objects, both qp representations.

RAIL's own ``estimate()`` on the 20,449 objects of RAIL's DC2 validation file is
the reference, for the session's test model and for copies of it without bump
removal or sharpening; crafted rows (non-detections, NaN magnitudes) go through
RAIL's own ``_process_chunk`` in float32 and float64, on the model's grid and another.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import object_input, write_config
from native_check import (CraftedRows, assert_pdfs_do_not_depend_on_the_chunking, assert_same_pdfs,
                          assert_same_pdfs_on_grid, both_paths_on_rows, load_model, native_estimate, rail_reference,
                          tampered)

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.config import load_config
from pzmpi.estimators.factory import make_estimator
from pzmpi.estimators.native.flexzboost import NativeFlexZBoost
from pzmpi.estimators.native.numpy_sums import block_sum, pairwise_sum, summation_plan

pytestmark = pytest.mark.slow

GRID = np.linspace(0.0, 3.0, 301)


@pytest.mark.parametrize("representation", ["interp", "flexzboost"])
def test_test_model_matches_rail_estimate(tmp_path, models, representation):
    params = {"qp_representation": representation}
    reference, reference_mode = rail_reference("flexzboost", models["flexzboost"], GRID, tmp_path / "rail.hdf5",
                                               **params)
    native, native_mode, extras = native_estimate("flexzboost", models["flexzboost"], tmp_path, params=params)
    assert extras == {}
    assert_same_pdfs(native, reference, native_mode, reference_mode)


@pytest.mark.parametrize("changes", [{"bump_threshold": None}, {"sharpen_alpha": None},
                                     {"bump_threshold": 0.05, "sharpen_alpha": 2.3}])
def test_models_with_other_post_processing_match_rail_estimate(tmp_path, models, changes):
    """flexcode's tuning may keep no bump threshold or no sharpening: each branch of the post-processing."""
    trained = load_model(models["flexzboost"])
    assert trained.bump_threshold is not None and trained.sharpen_alpha is not None
    model = tampered(models["flexzboost"], tmp_path, **changes)
    reference, reference_mode = rail_reference("flexzboost", model, GRID, tmp_path / "rail.hdf5")
    native, native_mode, _ = native_estimate("flexzboost", model, tmp_path)
    assert_same_pdfs(native, reference, native_mode, reference_mode)


def test_an_objects_pdf_does_not_depend_on_the_chunking(tmp_path, models):
    assert_pdfs_do_not_depend_on_the_chunking("flexzboost", models["flexzboost"], tmp_path)


def crafted_rows(dtype: type) -> dict[str, np.ndarray]:
    """Validation objects, then one band at a time: a magnitude of 99, just within or just outside
    RAIL's ``np.isclose(atol=0.01)`` of it, NaN, or an error of 99."""
    crafted = CraftedRows.validation(dtype, n_base=20)
    crafted.add_base()
    crafted.add_band_cases([(mag, None) for mag in (99.0, 99.009, 99.02, np.nan)] + [(None, 99.0)])
    return crafted.columns()


# The second case also evaluates on a grid other than the model's: wider than its zmax, coarser.
@pytest.mark.parametrize("dtype, nondetect_val, grid", [
    (np.float32, 99.0, {}),
    (np.float64, float("nan"), {"zmin": 0.0, "zmax": 3.2, "nzbins": 161}),
])
def test_crafted_rows_match_rails_process_chunk(tmp_path, models, dtype, nondetect_val, grid):
    reference, native, _, config = both_paths_on_rows(tmp_path, "flexzboost", models["flexzboost"],
                                                      crafted_rows(dtype), dtype, nondetect_val, grid,
                                                      NativeFlexZBoost)
    assert np.isfinite(reference.pdfs).all()
    assert_same_pdfs_on_grid(native.pdfs, reference.pdfs, config)


@pytest.mark.parametrize("n", [1, 7, 8, 128, 129, 301, 1000, 4097])
def test_summation_plan_sums_as_numpy_does(n):
    """The compiled pairwise sum behind the normalisations is np.sum bit for bit (flexcode sums with numpy)."""
    values = np.random.default_rng(n).standard_normal(n) * 10.0 ** np.random.default_rng(n + 1).uniform(-8, 8, n)
    plan = summation_plan(n)
    assert pairwise_sum(values, plan, np.empty(plan.shape[0])) == np.sum(values)
    if n <= 128:
        assert block_sum(values, 0, n) == np.sum(values)


@pytest.mark.parametrize("params, changes, message", [
    ({"qp_representation": "mixmod"}, {}, "qp_representation"),
    ({}, {"model": object()}, "per-basis regressors"),
])
def test_what_the_native_path_cannot_do_is_a_configuration_error(tmp_path, models, params, changes, message):
    model = tampered(models["flexzboost"], tmp_path, **changes) if changes else models["flexzboost"]
    config = load_config(write_config(
        tmp_path / "run.toml", input=object_input("unused"), output={"folder": "unused"},
        estimator={"name": "flexzboost", "model": str(model), "implementation": "native", "params": params}))
    with pytest.raises(ConfigError, match=message):
        make_estimator(config)
