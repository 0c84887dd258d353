"""Provenance stamped on every output: configuration, model checksum, package versions.

Nothing here depends on the time, the host or the rank, so that the same
inputs and configuration give byte-identical outputs whatever the world size.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.versions import package_versions
from pzmpi.estimators.config import Config
from pzmpi.estimators.native import implementation_used


def result_key(config: Config, model_sha256: str) -> str:
    """Checksum of everything that decides a piece's numbers, and nothing else.

    A re-run skips a finished piece only when this key matches: the model's
    content, cleaning, estimator settings, output format and what the piece's
    summary holds count; where the run folder is, chunk sizes, thread counts and
    the resume switch do not.
    """
    output = {key: getattr(config.output, key) for key in ("pdf_dtype", "point_estimates", "estimator_columns",
                                                           "carry_columns", "compression")}
    estimator = {key: value for key, value in asdict(config.estimator).items() if key != "model"}
    estimator["implementation"] = implementation_used(config)  # asking for a native path that does not exist is RAIL
    document = {"input": {k: v for k, v in asdict(config.input).items() if k != "paths"},
                "cleaning": asdict(config.cleaning), "estimator": estimator, "output": output,
                "summary": asdict(config.summary), "model_sha256": model_sha256}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def piece_attributes(config: Config) -> dict[str, Any]:
    """HDF5 attributes shared by all pieces of a run (each piece adds its own input and rows)."""
    model_sha256 = sha256_of_file(config.estimator.model)
    return {
        "estimator": config.estimator.name,
        "implementation": implementation_used(config),
        "model_file": config.estimator.model,
        "model_sha256": model_sha256,
        "config": config.text,
        "config_sha256": config.sha256,
        "result_key": result_key(config, model_sha256),
        "versions": json.dumps(package_versions(), sort_keys=True),
    }


def run_record(config: Config, plan: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    """``RUN_DIR/run.json``: what the run computed from what, for its report (no time, host or rank count)."""
    return {"estimator": attrs["estimator"], "implementation": attrs["implementation"],
            "config_file": str(Path(config.source).resolve()), "config_sha256": attrs["config_sha256"],
            "model_file": attrs["model_file"], "model_sha256": attrs["model_sha256"],
            "result_key": attrs["result_key"], "inputs": sorted({piece.path for piece in plan.pieces}),
            "unreadable_inputs": sorted(plan.unreadable), "rows": plan.total_rows,
            "versions": json.loads(attrs["versions"])}
