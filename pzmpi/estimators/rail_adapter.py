"""Run a RAIL estimator one chunk at a time, in-process, without its file I/O.

RAIL's ``CatEstimator.estimate()`` reads a whole table and writes (then
re-reads) a whole output file.  pzmpi instead drives the stage's own chunk
protocol: the model is opened once per rank, then each cleaned chunk goes
through ``_process_chunk``, whose ``_do_chunk_output`` hook is replaced to hand
back the qp ensemble.  The science is RAIL's code unchanged; only the I/O differs.
"""

from __future__ import annotations

import gc
import logging
import random
from typing import Any

import numpy as np
import qp
import structlog

from pzmpi.core.errors import ConfigError
from pzmpi.estimators import estimator_class_path, import_class, informer_class_path, lephare
from pzmpi.estimators.cleaning import magnitude_column, magnitude_error_column
from pzmpi.estimators.config import Config
from pzmpi.estimators.interface import Estimate, redshift_grid


def quiet_rail() -> None:
    """RAIL logs a line per chunk and per data handle: keep only its warnings and errors."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def shared_stage_params(config: Config, stage_class: type) -> dict[str, Any]:
    """Parameters every RAIL photo-z stage understands, derived from pzmpi's configuration.

    Only those the stage declares are passed; ``estimator.params`` or
    ``training.params`` override any of them.
    """
    bands = config.input.bands
    params: dict[str, Any] = dict(
        hdf5_groupname="",
        zmin=config.estimator.zmin,
        zmax=config.estimator.zmax,
        nzbins=config.estimator.nzbins,
        nondetect_val=config.cleaning.nondetect_val,
        bands=[magnitude_column(b) for b in bands],
        err_bands=[magnitude_error_column(b) for b in bands],
        mag_limits={magnitude_column(b): float(config.cleaning.mag_limits[b]) for b in bands},
        calculated_point_estimates=[],
    )
    declared = set(getattr(stage_class, "config_options", {}))
    return {key: value for key, value in params.items() if key in declared}


def open_rail_stage(config: Config) -> Any:
    """RAIL's estimator stage for this configuration, its model opened, ready for ``_process_chunk``.

    pzmpi's native implementations open the same stage for its resolved
    parameters and one-off set-up (templates, priors), then compute on their own.
    """
    quiet_rail()
    class_path = estimator_class_path(config.estimator.name)
    if class_path == lephare.CLASS_PATH:
        lephare.prepare_environment(config)
    stage_class = import_class(class_path)
    params = shared_stage_params(config, stage_class)
    params.update(lephare.flat_keys(config.estimator.params) if class_path == lephare.CLASS_PATH
                  else config.estimator.params)
    stage = stage_class.make_stage(
        name=f"pzmpi_{stage_class.__name__}", model=config.estimator.model, output_mode="return", **params
    )
    stage.open_model(**stage.config)
    stage._initialize_run()
    return stage


class RailEstimator:
    """One RAIL CatEstimator, loaded once, estimating chunk after chunk with RAIL's own code."""

    def __init__(self, config: Config) -> None:
        self.grid = redshift_grid(config)
        self.extra_columns = list(config.output.estimator_columns)
        self._stage = open_rail_stage(config)
        is_lephare = estimator_class_path(config.estimator.name) == lephare.CLASS_PATH
        self._libraries = lephare.LibraryCache() if is_lephare else None
        self._captured: list[qp.Ensemble] = []
        self._stage._do_chunk_output = self._capture
        self._rows_done = 0

    def compile(self) -> None:
        """RAIL's code is not compiled by pzmpi: nothing to do."""

    @property
    def library_loads(self) -> int:
        """Times this rank loaded template libraries (LePHARE); 0 for codes without them."""
        return self._libraries.loads if self._libraries is not None else 0

    def _capture(self, qp_dstn: qp.Ensemble, start: int, end: int, first: bool, data: Any = None) -> None:
        self._captured.append(qp_dstn)

    def estimate(self, columns: dict[str, np.ndarray]) -> Estimate:
        """PDFs on the configured grid for one chunk of magnitudes (RAIL column names)."""
        n = len(next(iter(columns.values())))
        data = {name: values.copy() for name, values in columns.items()}  # RAIL edits its input in place
        start = self._rows_done
        self._stage._process_chunk(start, start + n, data, start == 0)
        self._rows_done += n
        if len(self._captured) != 1:
            raise RuntimeError(f"{type(self._stage).__name__} produced {len(self._captured)} outputs for one chunk")
        ensemble = self._captured.pop()
        if ensemble.npdf != n:
            raise RuntimeError(f"{type(self._stage).__name__} returned {ensemble.npdf} PDFs for {n} objects")
        estimate = Estimate(pdfs=pdfs_on_grid(ensemble, self.grid), extras=self._extras(ensemble))
        del ensemble
        # qp's generators hold their arrays in reference cycles: without this young-generation
        # collection (cheap: the garbage is young; RAIL runs a full gc.collect() per chunk instead)
        # a rank keeps several chunks of dead PDFs alive (494 -> 930 MB over six 10,000-row BPZ chunks).
        gc.collect(0)
        return estimate

    def _extras(self, ensemble: qp.Ensemble) -> dict[str, np.ndarray]:
        """The named per-object values of the ensemble: its ancillary columns, or its own one-number-per-object
        parameters (a Gaussian's ``loc`` and ``scale``)."""
        available = dict(ensemble.ancil or {})
        for name, values in ensemble.objdata.items():
            if np.asarray(values).size == ensemble.npdf:
                available.setdefault(name, values)
        missing = [c for c in self.extra_columns if c not in available]
        if missing:
            raise ConfigError(f"'output.estimator_columns': {type(self._stage).__name__} provides no "
                              f"{', '.join(missing)} (it provides: {', '.join(available) or 'nothing'})")
        return {name: np.asarray(available[name]).reshape(ensemble.npdf, -1).squeeze(axis=1)
                for name in self.extra_columns}


def pdfs_on_grid(ensemble: qp.Ensemble, grid: np.ndarray) -> np.ndarray:
    """The ensemble's PDFs sampled on ``grid``: the stored values when it is already gridded there."""
    if ensemble.metadata.get("pdf_name", [b""])[0] == b"interp":
        xvals = np.asarray(ensemble.metadata["xvals"]).ravel()
        if xvals.shape == grid.shape and np.array_equal(xvals, grid):
            return np.asarray(ensemble.objdata["yvals"], dtype=np.float64)
    return np.asarray(ensemble.pdf(grid), dtype=np.float64).reshape(ensemble.npdf, grid.size)


def train_model(config: Config, columns: dict[str, np.ndarray]) -> None:
    """Run the estimator's RAIL informer on cleaned training columns; it writes ``estimator.model``.

    Some informers draw from the global generators (TPZ's bootstrap uses ``random``,
    GPz's validation split ``numpy.random``): both are seeded so that training is repeatable.
    """
    quiet_rail()
    random.seed(config.training.seed)
    np.random.seed(config.training.seed)
    is_lephare = estimator_class_path(config.estimator.name) == lephare.CLASS_PATH
    if is_lephare:
        lephare.prepare_environment(config)
    informer_class = import_class(informer_class_path(config.estimator.name))
    params = shared_stage_params(config, informer_class)
    if is_lephare:
        params.update(lephare.informer_params(config))
        params.update(lephare.flat_keys(config.training.params))
    else:
        params.update(config.training.params)
    informer = informer_class.make_stage(
        name=f"pzmpi_{informer_class.__name__}", model=config.estimator.model, **params
    )
    informer.inform(columns)
