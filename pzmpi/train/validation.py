"""Photo-z validation metrics, exactly as qp and RAIL define them (REFERENCE.md section 6).

Per object, from its stored PDF read as qp reads it (``qp.interp``, which
normalises each row): the PIT (the CDF at the true redshift, non-finite values
set to 0 as qp does), the two terms of the CDE loss on qp's grid, and the
object's term of the Brier score on qp's grid. These are row by row, so they
do not depend on how the rows are split into chunks or ranks. Over a set of
objects (all, or a magnitude bin), the metrics are qp's own functions applied
to all the values: the point metrics' medians and percentiles, the PIT's
quantiles and its KS, CvM and Anderson-Darling statistics and outlier rate,
the CDE loss and the Brier score as means; no sketch, no t-digest.

Definitions beyond qp's (pzmpi's own, named so in the report): the fraction
of objects with |ez| > 0.15 ("catastrophic"), and the requirements table, in
which sigma_IQR stands for the RMS of ez.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import qp
from qp.metrics.pit import DEFAULT_QUANTS, PIT
from qp.metrics.point_estimate_metric_classes import PointBias, PointOutlierRate, PointSigmaIQR, PointSigmaMAD

from pzmpi.core.reports import finite_or_none

CDE_GRID = np.linspace(0.0, 2.5, 301)  # qp's CDELossMetric.default_eval_grid
BRIER_LIMITS = (0.0, 3.0)  # qp's BrierMetric defaults, as RAIL's evaluators pass them
BRIER_DX = 0.01
CATASTROPHIC = 0.15  # |ez| above this: the usual catastrophic outliers (not a qp metric)
PER_OBJECT = ("pit", "cde_square", "cde_at_truth", "brier")

# Rubin's requirements on photo-z (SRD via DMTN-049), for objects brighter than a magnitude limit (i < 25):
# what is checked, the metric it is checked on, and the bound (the metric must be below it).
REQUIREMENTS = (
    ("SRD: RMS of ez < 0.02 (sigma_IQR)", "sigma_iqr", 0.02),
    ("SRD: |bias| < 0.003", "abs_bias", 0.003),
    ("SRD: catastrophic outliers < 10% (|ez| > 0.15)", "catastrophic_fraction", 0.10),
    ("DMTN-049 minimum: sigma_z < 0.05 (sigma_IQR)", "sigma_iqr", 0.05),
    ("DMTN-049 minimum: outliers < 10% (qp's rate)", "outlier_rate", 0.10),
)


class PitOfSamples(PIT):
    """qp's PIT object from PIT values already computed (qp builds them from an ensemble and true values).

    Everything else is qp's: the quantile ensemble the statistics use, and the statistics themselves.
    """

    def __init__(self, samples: np.ndarray, eval_grid: np.ndarray = DEFAULT_QUANTS) -> None:
        self._pit_samps = samples
        if len(samples) < len(eval_grid):
            eval_grid = np.linspace(0, 1, len(samples))
        self._pit = self._produce_output_ensemble(np.quantile(samples, eval_grid), eval_grid)


def brier_grid(limits: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """qp's Brier grid and the edges of its one-hot truth (``qp.metrics.metrics._prepare_for_brier``)."""
    cardinality = int((limits[1] - limits[0]) / BRIER_DX)
    grid = np.linspace(limits[0], limits[1], cardinality)
    resolution = (limits[1] - limits[0]) / (cardinality - 1)
    edges = np.histogram_bin_edges((limits[0] - resolution / 2, limits[1] + resolution / 2), cardinality)
    return grid, edges


def brier_limits(z_min: float, z_max: float) -> tuple[float, float]:
    """qp widens the Brier limits to hold every true redshift."""
    return min(z_min, BRIER_LIMITS[0]), max(z_max, BRIER_LIMITS[1])


def chunk_bounds(rows: int, chunk: int) -> list[tuple[int, int]]:
    """Row ranges of at most ``chunk`` rows; a last range of one row joins the one before (qp evaluates a
    one-row ensemble through another path, a few units in the last place apart)."""
    bounds = [(start, min(start + chunk, rows)) for start in range(0, rows, chunk)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], rows)]
    return bounds


def per_object_values(xvals: np.ndarray, yvals: np.ndarray, z_true: np.ndarray,
                      limits: tuple[float, float]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """PIT, CDE terms and Brier term of each row, and the sum of the rows' PDFs on ``xvals``, as qp computes them."""
    ensemble = qp.Ensemble(qp.interp, data={"xvals": xvals, "yvals": yvals})
    pit = np.atleast_1d(np.squeeze(ensemble.cdf(np.vstack(z_true))))
    pit = np.where(np.isfinite(pit), pit, 0.0)
    on_cde_grid = ensemble.pdf(CDE_GRID)
    nearest = np.argmin(np.abs(CDE_GRID[None, :] - z_true[:, None]), axis=1)  # qp: argmin per object
    grid, edges = brier_grid(limits)
    predicted = ensemble.pdf(grid)
    truth = one_hot(z_true, edges)
    values = {"pit": pit, "cde_square": np.trapezoid(on_cde_grid ** 2, x=CDE_GRID),
              "cde_at_truth": on_cde_grid[np.arange(len(z_true)), nearest],
              "brier": np.sum((predicted - truth) ** 2, axis=1)}
    return values, ensemble.pdf(xvals).sum(axis=0)


def one_hot(z_true: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Row i: 1 in the bin of ``edges`` holding z_true[i] (the last bin closed), as ``np.histogram`` of each value."""
    index = np.searchsorted(edges, z_true, side="right") - 1
    index = np.where(z_true == edges[-1], edges.size - 2, index)
    inside = (z_true >= edges[0]) & (z_true <= edges[-1])  # NaN is in no bin
    truth = np.zeros((z_true.size, edges.size - 1))
    truth[np.flatnonzero(inside), index[inside]] = 1.0
    return truth


def point_metrics(z_point: np.ndarray, z_true: np.ndarray) -> dict[str, Any]:
    """qp's point metrics on ez = (z_point - z_true) / (1 + z_true), and the catastrophic fraction."""
    if z_true.size == 0:
        return {key: None for key in ("bias", "abs_bias", "sigma_iqr", "sigma_nmad", "outlier_rate",
                                      "catastrophic_fraction")}
    bias = PointBias().evaluate(z_point, z_true)
    ez = (z_point - z_true) / (1.0 + z_true)
    return {"bias": finite_or_none(bias), "abs_bias": finite_or_none(abs(bias)),
            "sigma_iqr": finite_or_none(PointSigmaIQR().evaluate(z_point, z_true)),
            "sigma_nmad": finite_or_none(PointSigmaMAD().evaluate(z_point, z_true)),
            "outlier_rate": finite_or_none(PointOutlierRate().evaluate(z_point, z_true)),
            "catastrophic_fraction": float(np.sum(np.fabs(ez) > CATASTROPHIC) / ez.size)}


def pdf_metrics(values: dict[str, np.ndarray]) -> dict[str, Any]:
    """CDE loss, Brier score and the PIT's statistics of a set of objects."""
    n = values["pit"].size
    if n < 2:
        return {key: None for key in ("cde_loss", "brier", "ks", "cvm", "ad", "pit_outlier_rate")}
    pit = PitOfSamples(values["pit"])
    with warnings.catch_warnings():  # scipy's notes on qp's call of anderson_ksamp (its 'midrank' argument, a
        warnings.simplefilter("ignore", UserWarning)  # floored p-value): the statistic is unchanged
        ad = pit.evaluate_PIT_anderson_ksamp().statistic
    return {"cde_loss": finite_or_none(np.mean(values["cde_square"]) - 2 * np.mean(values["cde_at_truth"])),
            "brier": finite_or_none(np.mean(values["brier"])),
            "ks": finite_or_none(pit.evaluate_PIT_KS().statistic),
            "cvm": finite_or_none(pit.evaluate_PIT_CvM().statistic),
            "ad": finite_or_none(ad),
            "pit_outlier_rate": finite_or_none(pit.evaluate_PIT_outlier_rate())}


def pit_plots(pit: np.ndarray, bins: int) -> dict[str, Any]:
    """The PIT histogram and QQ points (qp's quantiles of the PIT values at ``DEFAULT_QUANTS``)."""
    counts, _ = np.histogram(pit, bins=bins, range=(0.0, 1.0))
    return {"bins": bins, "counts": counts.tolist(), "qq_theory": DEFAULT_QUANTS.tolist(),
            "qq_data": np.quantile(pit, DEFAULT_QUANTS).tolist() if pit.size else []}


def requirements(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Each requirement with the measured value and 'pass' or 'fail' ('n/a' without objects)."""
    rows = []
    for label, key, bound in REQUIREMENTS:
        measured = metrics.get(key)
        verdict = "n/a" if measured is None else ("pass" if measured < bound else "fail")
        rows.append({"requirement": label, "metric": key, "bound": bound, "value": measured, "verdict": verdict})
    return rows
