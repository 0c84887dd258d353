"""pzmpi's own implementations of RAIL estimators: same model file, same PDFs, whole chunks at once.

Each reads the model RAIL's informer wrote and takes its parameters from the
RAIL stage itself (``NativeEstimator.stage``), so that both implementations
always agree on what a parameter means; only the per-chunk computation is
pzmpi's: compiled kernels or array code, no per-object Python loop, no qp
ensemble, no forced garbage collection.
"""

from __future__ import annotations

from pzmpi.estimators import KNOWN_ESTIMATORS, estimator_class_path
from pzmpi.estimators.config import Config

# RAIL class path -> pzmpi class path of the native implementation.
NATIVE_IMPLEMENTATIONS = {
    KNOWN_ESTIMATORS["flexzboost"]: "pzmpi.estimators.native.flexzboost.NativeFlexZBoost",
    KNOWN_ESTIMATORS["bpz"]: "pzmpi.estimators.native.bpz.NativeBPZ",
    KNOWN_ESTIMATORS["tpz"]: "pzmpi.estimators.native.tpz.NativeTPZ",
    KNOWN_ESTIMATORS["gpz"]: "pzmpi.estimators.native.gpz.NativeGPz",
    KNOWN_ESTIMATORS["lephare"]: "pzmpi.estimators.native.lephare.NativeLephare",
}


def implementation_used(config: Config) -> str:
    """'native' when the configuration asks for it and pzmpi has one for this estimator, else 'rail'."""
    has_native = estimator_class_path(config.estimator.name) in NATIVE_IMPLEMENTATIONS
    return "native" if config.estimator.implementation == "native" and has_native else "rail"
