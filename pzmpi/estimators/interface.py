"""What the engine asks of an estimator, whichever code computes the PDFs.

Two families implement it: ``rail_adapter.RailEstimator`` runs RAIL's own code,
and ``native.*`` are pzmpi's compiled re-implementations of the same science
(same model file, same PDFs). ``factory.make_estimator`` chooses between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pzmpi.estimators.config import Config


@dataclass(frozen=True)
class Estimate:
    """PDFs of one chunk on the run's redshift grid, plus the estimator's own per-object extras."""

    pdfs: np.ndarray
    extras: dict[str, np.ndarray]


class ChunkEstimator(Protocol):
    """One model, loaded once per rank, estimating chunk after chunk."""

    grid: np.ndarray

    @property
    def library_loads(self) -> int:
        """Times this rank loaded template libraries (LePHARE); 0 for codes without them."""

    def compile(self) -> None:
        """Compile, or load from numba's on-disk cache, every kernel ``estimate`` will call."""

    def estimate(self, columns: dict[str, np.ndarray]) -> Estimate:
        """PDFs on ``grid`` for one chunk of magnitudes, keyed by RAIL column name."""


def redshift_grid(config: Config) -> np.ndarray:
    est = config.estimator
    return np.linspace(est.zmin, est.zmax, est.nzbins)
