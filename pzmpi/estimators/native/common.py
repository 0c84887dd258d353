"""What every native implementation shares: the RAIL stage it mirrors, the grid, the extras asked for."""

from __future__ import annotations

from typing import Any

import numpy as np

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.cleaning import magnitude_column, magnitude_error_column
from pzmpi.estimators.config import Config
from pzmpi.estimators.interface import Estimate, redshift_grid
from pzmpi.estimators.rail_adapter import open_rail_stage


class NativeEstimator:
    """Base of pzmpi's native estimators.

    ``stage`` is RAIL's own estimator stage with the model opened: subclasses
    read the model (``stage.model``) and resolved parameters (``stage.config``)
    from it, once, and never call its per-chunk code. ``provides`` lists the
    per-object extras a subclass can return, as RAIL names them.
    """

    provides: tuple[str, ...] = ()
    library_loads = 0

    def __init__(self, config: Config) -> None:
        self.grid = redshift_grid(config)
        self.bands = [magnitude_column(b) for b in config.input.bands]
        self.error_bands = [magnitude_error_column(b) for b in config.input.bands]
        self.extra_columns = list(config.output.estimator_columns)
        unknown = [name for name in self.extra_columns if name not in self.provides]
        if unknown:
            raise ConfigError(f"'output.estimator_columns': the native {type(self).__name__} provides no "
                              f"{', '.join(unknown)} (it provides: {', '.join(self.provides) or 'nothing'}; "
                              f"set estimator.implementation = 'rail' for RAIL's own extras)")
        self.stage: Any = open_rail_stage(config)

    def magnitudes(self, columns: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The chunk's magnitudes and errors as (objects, bands) arrays, in the model's band order."""
        mags = np.column_stack([columns[name] for name in self.bands])
        errors = np.column_stack([columns[name] for name in self.error_bands])
        return mags, errors

    def compile(self) -> None:
        raise NotImplementedError

    def estimate(self, columns: dict[str, np.ndarray]) -> Estimate:
        raise NotImplementedError
