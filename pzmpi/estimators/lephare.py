"""LePHARE through RAIL: template libraries built once by training, loaded once per rank.

RAIL's ``LephareEstimator`` calls ``lephare.process`` for every chunk, which
builds a new ``lephare.PhotoZ`` and so re-reads every template library (seconds
per chunk).  pzmpi keeps RAIL's code path unchanged and only memoises that
constructor: the first chunk of a rank loads the libraries, later chunks reuse
them.  Reuse is sequential (one ``PhotoZ`` per process, never shared between
threads), and estimation never writes (``write_outputs`` stays false), so all
ranks read the training's library folder without writing into it.

Environment: ``LEPHAREDIR`` (auxiliary data, ``estimator.data_dir``) and
``LEPHAREWORK`` are read when ``lephare`` is imported, so they are set before.
Training builds the libraries in ``<model>.lephare/<stage name>``, a folder
recorded in the model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pzmpi.core.tomlconfig import require_dir
from pzmpi.estimators.config import Config

CLASS_PATH = "rail.estimation.algos.lephare.LephareEstimator"
SECTIONS = ("lephare", "star", "gal", "qso")


def prepare_environment(config: Config) -> None:
    """Point LePHARE at the configured auxiliary data and at this model's work folder."""
    require_dir(config.estimator.data_dir, "estimator.data_dir", config.source)
    work = Path(config.estimator.model + ".lephare") / "work"
    work.mkdir(parents=True, exist_ok=True)
    os.environ["LEPHAREDIR"] = config.estimator.data_dir
    os.environ["LEPHAREWORK"] = str(work)


def informer_params(config: Config) -> dict[str, Any]:
    """The redshift grid of the libraries, from the run's grid (RAIL's own derivation of it is lost)."""
    est = config.estimator
    step = (est.zmax - est.zmin) / (est.nzbins - 1)
    return {"lephare.Z_STEP": f"{step:g},{est.zmin:g},{est.zmax:g}"}


def flat_keys(params: dict[str, Any]) -> dict[str, Any]:
    """RAIL's LePHARE reads flat keys (``gal.EB_V``); TOML tables ``[training.params.gal]`` become those.

    A nested table would otherwise reach RAIL as one unknown key and be ignored without a word.
    """
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if key in SECTIONS and isinstance(value, dict):
            flat.update({f"{key}.{name}": entry for name, entry in value.items()})
        else:
            flat[key] = value
    return flat


class LibraryCache:
    """Replace ``lephare.PhotoZ`` by a constructor that builds one instance per configuration."""

    def __init__(self) -> None:
        import lephare

        self._module = lephare
        self._build = lephare.PhotoZ
        self._instances: dict[str, Any] = {}
        self.loads = 0
        lephare.PhotoZ = self

    def __call__(self, keymap: Any) -> Any:
        key = repr(sorted((name, keyword.value) for name, keyword in keymap.items()))
        if key not in self._instances:
            self._instances[key] = self._build(keymap)
            self.loads += 1
        return self._instances[key]
