"""What a results report says about a model: its file and checksum, what it was trained on, its priors.

The training record is the file ``pzmpi train`` writes beside the model
(``<model>.training.json``). Priors and templates are read where the estimator
has them: BPZ's prior parameters live in its model file, its templates in the
SED list its RAIL stage names.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from pzmpi.core.errors import ConfigError
from pzmpi.estimators import KNOWN_ESTIMATORS, estimator_class_path
from pzmpi.estimators.config import Config

def training_record_path(model: str | Path) -> Path:
    """Where ``pzmpi train`` records what a model was trained on: beside it."""
    return Path(f"{model}.training.json")


def check_trained_bands(config: Config) -> None:
    """A model runs on the bands it was trained on, in their order; its training record (when it has one) says
    which. A ConfigError names both lists and the key to change."""
    record = training_record_path(config.estimator.model)
    if not record.is_file():
        return
    trained = json.loads(record.read_text()).get("bands")
    if trained is not None and list(trained) != list(config.input.bands):
        raise ConfigError(f"{config.source}: 'input.bands' = {list(config.input.bands)}, but the model "
                          f"{config.estimator.model} was trained on the bands {trained} (its training record "
                          f"{record}): set 'input.bands' to those, or train the model again")


BPZ_PRIOR_KEYS = ("fo_arr", "kt_arr", "zo_arr", "km_arr", "a_arr", "mo", "nt_array")


def describe_model(config: Config, sha256: str) -> dict[str, Any]:
    """The model's file, size, checksum (the run's record of it: a model file can be large), training record and
    (BPZ) priors and templates."""
    model = Path(config.estimator.model)
    info: dict[str, Any] = {"file": str(model), "bytes": model.stat().st_size, "sha256": sha256,
                            "training": None, "priors": None, "templates": None}
    record = training_record_path(model)
    if record.is_file():
        info["training"] = json.loads(record.read_text())
    if estimator_class_path(config.estimator.name) == KNOWN_ESTIMATORS["bpz"]:
        info["priors"], info["templates"] = _bpz_priors_and_templates(config, model)
    return info


def _bpz_priors_and_templates(config: Config, model: Path) -> tuple[dict[str, Any] | None, list[str] | None]:
    from pzmpi.estimators.rail_adapter import open_rail_stage

    with open(model, "rb") as handle:
        content = pickle.load(handle)
    prior = content.get("priormodel") if isinstance(content, dict) else None
    priors = None
    if isinstance(prior, dict):
        priors = {key: _plain(prior[key]) for key in BPZ_PRIOR_KEYS if key in prior}
    stage = open_rail_stage(config)
    spectra = Path(stage.bpz_ref_data_path) / "SED" / stage.config.spectra_file
    templates = [line.split()[0].removesuffix(".sed") for line in spectra.read_text().splitlines()
                 if line.strip() and not line.startswith("#")] if spectra.is_file() else None
    return priors, templates


def _plain(value: Any) -> Any:
    """A model value as JSON: arrays as lists of floats."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
