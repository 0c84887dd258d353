"""The implementation switch: native where pzmpi has one, RAIL otherwise, and the resume key follows it."""

from __future__ import annotations

import pytest
from conftest import object_input, write_config

from pzmpi.compute.provenance import result_key
from pzmpi.core.errors import ConfigError
from pzmpi.estimators.config import load_config
from pzmpi.estimators.factory import make_estimator
from pzmpi.estimators.native import implementation_used
from pzmpi.estimators.rail_adapter import RailEstimator

KNN = "rail.estimation.algos.k_nearneigh.KNearNeighEstimator"


def config_for(tmp_path, name, implementation=None, model="model.pkl"):
    estimator = {"name": name, "model": str(model)}
    if implementation is not None:
        estimator["implementation"] = implementation
    return load_config(write_config(tmp_path / "run.toml", input=object_input("catalog"), estimator=estimator,
                                    output={"folder": "run"}))


@pytest.mark.parametrize("name", ["flexzboost", "bpz", "tpz", "gpz", "lephare"])
def test_native_is_the_default_where_it_exists(tmp_path, name):
    assert implementation_used(config_for(tmp_path, name)) == "native"
    assert implementation_used(config_for(tmp_path, name, "rail")) == "rail"


def test_estimators_without_a_native_path_run_rail(tmp_path):
    assert implementation_used(config_for(tmp_path, KNN, "native")) == "rail"


def test_resume_key_depends_on_the_implementation_actually_used(tmp_path):
    key = lambda name, implementation: result_key(config_for(tmp_path, name, implementation), "0" * 64)
    assert key("flexzboost", "native") != key("flexzboost", "rail")
    assert key(KNN, "native") == key(KNN, "rail")


def test_unknown_implementation_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match="'estimator.implementation' must be 'native' or 'rail', got 'fast'"):
        config_for(tmp_path, "bpz", "fast")


@pytest.mark.slow
def test_make_estimator_builds_the_chosen_code(tmp_path, models):
    rail = make_estimator(config_for(tmp_path, "gpz", "rail", models["gpz"]))
    native = make_estimator(config_for(tmp_path, "gpz", "native", models["gpz"]))
    assert isinstance(rail, RailEstimator) and type(native).__module__ == "pzmpi.estimators.native.gpz"
