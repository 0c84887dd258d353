"""Estimators: RAIL's photo-z codes behind one chunk-at-a-time interface.

``resolve_classes`` maps a configured name to the RAIL estimator and informer
classes; ``RailEstimator`` and ``train_model`` (in ``rail_adapter``) drive them.
"""

from __future__ import annotations

import importlib

from pzmpi.core.errors import ConfigError

KNOWN_ESTIMATORS = {
    "flexzboost": "rail.estimation.algos.flexzboost.FlexZBoostEstimator",
    "bpz": "rail.estimation.algos.bpz_lite.BPZliteEstimator",
    "tpz": "rail.estimation.algos.tpz_lite.TPZliteEstimator",
    "gpz": "rail.estimation.algos.gpz.GPzEstimator",
    "lephare": "rail.estimation.algos.lephare.LephareEstimator",
}


# RAIL's LePHARE wrapper ignores nondetect_val: it fits any positive magnitude with a positive error,
# so a 99 would enter the fit as a measured, vanishing flux. NaN makes it leave the band out.
NONDETECT_VAL_BY_ESTIMATOR = {KNOWN_ESTIMATORS["lephare"]: float("nan")}
RAIL_NONDETECT_VAL = 99.0


def default_nondetect_val(name: str) -> float:
    """The magnitude that marks a non-detection for this estimator unless the configuration says otherwise."""
    return NONDETECT_VAL_BY_ESTIMATOR.get(estimator_class_path(name), RAIL_NONDETECT_VAL)


def estimator_class_path(name: str) -> str:
    """A short name ('flexzboost', 'bpz', 'tpz', 'gpz', 'lephare') or a full class path, as a class path."""
    return KNOWN_ESTIMATORS.get(name.lower(), name)


def estimator_code(name: str) -> str:
    """The short name of an estimator's code, as the federated table and the release record name it."""
    return name.rsplit(".", 1)[-1].lower()


def informer_class_path(name: str) -> str:
    """RAIL pairs each ``XEstimator`` with an ``XInformer`` in the same module."""
    path = estimator_class_path(name)
    if not path.endswith("Estimator"):
        raise ConfigError(f"'estimator.name' = {name!r}: cannot derive an informer class from {path!r}")
    return path.removesuffix("Estimator") + "Informer"


def import_class(path: str, key: str = "estimator.name") -> type:
    """Import ``package.module.Class``; a failure names the configuration key."""
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise ConfigError(f"'{key}' = {path!r} is neither a known estimator "
                          f"({', '.join(KNOWN_ESTIMATORS)}) nor a class path")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"'{key}': cannot import module {module_name!r}: {error}") from None
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ConfigError(f"'{key}': module {module_name!r} has no class {class_name!r}") from None
