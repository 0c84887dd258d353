"""pzmpi's native TPZ gives RAIL's PDFs: same model file, same objects, both kinds of tree RAIL trains.

RAIL's own ``estimate()`` on the 20,449 objects of RAIL's DC2 validation file is
the reference; rows crafted to sit exactly on, and one float step either side
of, the splits along their own path check that every object reaches the leaf
RAIL's trees send it to, in float32 and float64, with non-detections and NaNs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import object_input, write_config
from native_check import (CraftedRows, assert_pdfs_do_not_depend_on_the_chunking, assert_same_pdfs,
                          assert_same_pdfs_on_grid, both_paths_on_rows, load_model, native_estimate, rail_reference,
                          saved_model)

from pzmpi.core.errors import ConfigError
from pzmpi.datasets.dc2_sample import DC2_VALIDATION, rail_sample_path, read_rail_table
from pzmpi.estimators.config import load_config
from pzmpi.estimators.factory import make_estimator
from pzmpi.estimators.interface import redshift_grid
from pzmpi.estimators.native.tpz import NativeTPZ
from pzmpi.estimators.point_estimates import point_estimates
from pzmpi.estimators.rail_adapter import RailEstimator

pytestmark = pytest.mark.slow

GRID = np.linspace(0.0, 3.0, 301)
TPZ_TREE_ROWS = 3000  # TPZ's own trees are grown in pure Python: a training subset keeps this test short


@pytest.fixture(scope="module")
def tpz_trees_model(models: Any) -> Path:
    """A model of TPZ's own trees (``tree_strategy = 'native'``), 2 random realisations x 1 bootstrap."""
    return models.train("tpz-trees", "tpz", {"n_random": 2, "n_trees": 1, "tree_strategy": "native"},
                        training_rows=TPZ_TREE_ROWS)


@pytest.fixture(params=["sklearn_trees", "tpz_trees"])
def model(request: pytest.FixtureRequest, models: Any) -> Path:
    """The session's default TPZ test model (scikit-learn trees), then the model of TPZ's own trees."""
    return models["tpz"] if request.param == "sklearn_trees" else request.getfixturevalue("tpz_trees_model")


def test_pdfs_match_rail_estimate(tmp_path, model):
    reference, reference_mode = rail_reference("tpz", model, GRID, tmp_path / "rail.hdf5")
    native, native_mode, extras = native_estimate("tpz", model, tmp_path)
    assert extras == {}
    assert_same_pdfs(native, reference, native_mode, reference_mode)


def test_an_objects_pdf_does_not_depend_on_the_chunking(tmp_path, models):
    assert_pdfs_do_not_depend_on_the_chunking("tpz", models["tpz"], tmp_path)


def split_values(model: dict[str, Any], x: np.ndarray) -> list[tuple[int, float]]:
    """(feature, split value) of each node on the path of features ``x`` through the model's first tree.

    The path follows RAIL's own rule for the tree's kind (scikit-learn: float32
    x <= threshold; TPZ: x < point); it only chooses the values to craft.
    """
    tree = model["treedict"]["tree_0"]
    splits = []
    if model["tree_strategy"] == "sklearn":
        nodes, node = tree.tree_, 0
        while nodes.children_left[node] != -1:
            feature, value = int(nodes.feature[node]), float(nodes.threshold[node])
            splits.append((feature, value))
            goes_left = np.float32(x[feature]) <= value
            node = nodes.children_left[node] if goes_left else nodes.children_right[node]
        return splits
    node = tree.root
    while not isinstance(node, np.ndarray):
        splits.append((int(node.dim), float(node.point)))
        node = node.left if x[node.dim] < node.point else node.right
    return splits


def crafted_rows(model: dict[str, Any], dtype: type, n_base: int = 25) -> dict[str, np.ndarray]:
    """Validation objects with one magnitude moved onto each split of their path, or one float step off it.

    Then a few objects per band: magnitude NaN, magnitude 99 (or just within,
    or just outside, ``np.isclose`` of it), error 99.
    """
    crafted = CraftedRows.validation(dtype, n_base)
    column = {name: crafted.bands.index(name) for name in model["use_atts"]}
    for i in crafted.base:
        path = crafted.mags[i, [column[a] for a in model["use_atts"]]]
        for feature, value in split_values(model, path):
            on_split = dtype(value)
            for moved in (on_split, np.nextafter(on_split, dtype(-np.inf)), np.nextafter(on_split, dtype(np.inf))):
                row = crafted.mags[i].copy()
                row[column[model["use_atts"][feature]]] = moved
                crafted.add(row, crafted.errors[i])
    crafted.add_band_cases([(mag, None) for mag in (np.nan, 99.0, 99.0009, 99.0011)] + [(None, 99.0)])
    return crafted.columns()


# The second case also evaluates on a grid other than the model's: wider than its zmax, coarser.
@pytest.mark.parametrize("dtype, nondetect_val, grid", [
    (np.float32, 99.0, {}),
    (np.float64, float("nan"), {"zmin": 0.0, "zmax": 3.2, "nzbins": 161}),
])
def test_objects_on_the_splits_reach_rails_leaves(tmp_path, model, dtype, nondetect_val, grid):
    reference, native, _, config = both_paths_on_rows(tmp_path, "tpz", model, crafted_rows(load_model(model), dtype),
                                                      dtype, nondetect_val, grid, NativeTPZ)
    assert np.isfinite(reference.pdfs).all()
    assert_same_pdfs_on_grid(native.pdfs, reference.pdfs, config)


def validation_magnitudes(rows: int) -> dict[str, np.ndarray]:
    table = read_rail_table(rail_sample_path(DC2_VALIDATION))
    return {name: values[:rows] for name, values in table.items() if name.startswith("mag_")}


@pytest.mark.parametrize("case", ["wrapped_and_dropped", "nothing_in_range"])
def test_leaf_redshifts_are_binned_as_rail_bins_them(tmp_path, models, case):
    """Leaf redshifts in [-3, 0) count in the last bins (Python's negative indexing in RAIL's
    histogram) and -1.0 nowhere; an object whose every leaf is past zmax gets RAIL's PDF:
    NaN over the model's bin centres (qp's 0/0), 0 outside them."""
    content = load_model(models["tpz"])
    trees = [content["treedict"][f"tree_{k}"].tree_ for k in range(3)]
    leaves = [np.flatnonzero(tree.children_left == -1) for tree in trees]
    if case == "wrapped_and_dropped":
        trees[0].value[leaves[0], 0, 0] -= 1.0
        trees[1].value[leaves[1][::2], 0, 0] = -1.0
    else:
        for tree, leaf in zip(trees, leaves):
            tree.value[leaf, 0, 0] += 5.0
    config = load_config(write_config(
        tmp_path / "run.toml", input=object_input("unused"), output={"folder": "unused"},
        estimator={"name": "tpz", "model": str(saved_model(content, tmp_path)), "implementation": "native",
                   "zmin": 0.0, "zmax": 3.2, "nzbins": 161}))
    columns = validation_magnitudes(2000)
    reference = RailEstimator(config).estimate(columns).pdfs
    native = make_estimator(config).estimate(columns).pdfs
    if case == "nothing_in_range":
        assert np.isnan(reference).any(axis=1).all() and (reference[:, -1] == 0.0).all()
        np.testing.assert_array_equal(native, reference)
        return
    run_grid = redshift_grid(config)
    assert_same_pdfs(native, reference, point_estimates(native, run_grid)["zmode"],
                     point_estimates(reference, run_grid)["zmode"])


@pytest.mark.parametrize("changes, bands, message", [
    ({"sigmafactor": 1000.0}, "ugrizy", "sigmafactor"),
    ({"tree_strategy": "other"}, "ugrizy", "tree_strategy"),
    ({}, "grizy", "mag_u_lsst"),
])
def test_what_the_native_path_cannot_do_is_a_configuration_error(tmp_path, models, changes, bands, message):
    content = load_model(models["tpz"])
    content.update(changes)
    config = load_config(write_config(
        tmp_path / "run.toml", input={**object_input("unused"), "bands": list(bands)}, output={"folder": "unused"},
        estimator={"name": "tpz", "model": str(saved_model(content, tmp_path)), "implementation": "native"}))
    with pytest.raises(ConfigError, match=message):
        make_estimator(config)


def test_leaf_redshifts_rails_histogram_cannot_bin_are_a_configuration_error(tmp_path, models):
    """Below -(zmax - zmin) RAIL's histogram index fails (IndexError); the native kernel would write out of bounds."""
    content = load_model(models["tpz"])
    tree = content["treedict"]["tree_0"].tree_
    tree.value[tree.children_left == -1, 0, 0] = -5.0
    config = load_config(write_config(
        tmp_path / "run.toml", input=object_input("unused"), output={"folder": "unused"},
        estimator={"name": "tpz", "model": str(saved_model(content, tmp_path)), "implementation": "native"}))
    with pytest.raises(ConfigError, match="cannot bin"):
        make_estimator(config)
