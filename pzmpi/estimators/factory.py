"""Choose the code that computes an estimator's PDFs: pzmpi's native path where one exists, else RAIL's."""

from __future__ import annotations

from pzmpi.estimators import estimator_class_path, import_class
from pzmpi.estimators.config import Config
from pzmpi.estimators.interface import ChunkEstimator
from pzmpi.estimators.model_info import check_trained_bands
from pzmpi.estimators.native import NATIVE_IMPLEMENTATIONS, implementation_used


def make_estimator(config: Config) -> ChunkEstimator:
    """The configured estimator, its model loaded, ready to compile and estimate."""
    check_trained_bands(config)
    if implementation_used(config) == "native":
        native_class = import_class(NATIVE_IMPLEMENTATIONS[estimator_class_path(config.estimator.name)])
        return native_class(config)
    from pzmpi.estimators.rail_adapter import RailEstimator  # RAIL and qp cost seconds a rank to import: only when used

    return RailEstimator(config)
