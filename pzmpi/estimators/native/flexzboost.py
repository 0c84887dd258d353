"""pzmpi's FlexZBoost: RAIL's flexcode model with its per-object post-processing compiled.

RAIL's ``FlexZBoostEstimator`` turns magnitudes into colours, asks the model's
regressors (one xgboost model per basis function) for basis coefficients,
expands them on a grid with one matrix product, then post-processes every PDF
in a Python loop (normalisation by bisection, bump removal, sharpening) and
hands them to qp, which normalises them again and interpolates them onto the
grid they are evaluated on. Here the regressors run on the whole chunk exactly
as in RAIL (compiled code already); the expansion is a compiled product summed
row by row, so that an object's PDF does not depend on its chunk; every
per-object step is a numba kernel doing the same floating-point operations in
the same order, numpy's pairwise summation included, so that the PDFs are
RAIL's to a few roundings. See docs/design/native_flexzboost.md.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from flexcode.basis_functions import evaluate_basis
from flexcode.helpers import box_transform, make_grid

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.config import Config
from pzmpi.estimators.interface import Estimate
from pzmpi.estimators.native.common import NativeEstimator
from pzmpi.estimators.native.numpy_sums import pairwise_sum, summation_plan

TOLERANCE = 1e-6  # flexcode's bisection stops when |area - 1| <= this
NORMALIZE_ITERATIONS = 200  # flexcode's normalize() (after the expansion and after sharpening)
BUMP_ITERATIONS = 500  # flexcode's _normalize() default, used inside remove_bumps()
NONDETECT_ATOL = 0.01  # RAIL's np.isclose(magnitude, nondetect_val, atol=0.01)
REPRESENTATIONS = ("interp", "flexzboost")


@numba.njit(cache=True, nogil=True)
def _mean_above(density, level, plan, scratch, sums):  # pragma: no cover - compiled
    """np.mean(np.maximum(density - level, 0.0)), summed in numpy's order."""
    n = density.size
    for i in range(n):
        value = density[i] - level
        scratch[i] = 0.0 if value < 0.0 else value
    return pairwise_sum(scratch, plan, sums) / n


@numba.njit(cache=True, nogil=True)
def _normalize(density, iterations, plan, scratch, sums):  # pragma: no cover - compiled
    """flexcode's _normalize: non-negative with unit mean, by cutting at the level found by bisection.

    Its quirks are kept: an all-negative density becomes 1 and still enters the
    bisection (with the old maximum as upper bound), and ``area == 1`` bisects too.
    """
    upper = density.max()
    lower = 0.0
    area = _mean_above(density, 0.0, plan, scratch, sums)
    if area == 0.0:
        density[:] = 1.0
    elif area < 1.0:
        for i in range(density.size):
            density[i] /= area
            if density[i] < 0.0:
                density[i] = 0.0
        return
    level = 0.0
    for _ in range(iterations):
        level = (upper + lower) / 2
        area = _mean_above(density, level, plan, scratch, sums)
        if abs(1.0 - area) <= TOLERANCE:
            break
        if area < 1.0:
            upper = level
        else:
            lower = level
    for i in range(density.size):
        density[i] -= level
        if density[i] < 0.0:
            density[i] = 0.0


@numba.njit(cache=True, nogil=True)
def _remove_bumps(density, threshold, plan, scratch, sums):  # pragma: no cover - compiled
    """flexcode's _remove_bumps: zero every run of positive values whose area is below ``threshold``, renormalise."""
    n = density.size
    bin_size = 1.0 / n
    area = 0.0
    left = 0
    for right in range(n):
        value = density[right]
        if value <= 0.0:
            if area < threshold:
                density[left:right + 1] = 0.0
            left = right + 1
            area = 0.0
        else:
            area += value * bin_size
    if area < threshold:
        density[left:] = 0.0
    _normalize(density, BUMP_ITERATIONS, plan, scratch, sums)


@numba.njit(cache=True, nogil=True)
def normalize_and_remove_bumps(cdes, plan, remove_bumps, threshold):  # pragma: no cover - compiled
    """flexcode's post-processing up to sharpening, for every row of ``cdes`` in place."""
    scratch = np.empty(cdes.shape[1])
    sums = np.empty(plan.shape[0])
    for i in range(cdes.shape[0]):
        _normalize(cdes[i], NORMALIZE_ITERATIONS, plan, scratch, sums)
        if remove_bumps:
            _remove_bumps(cdes[i], threshold, plan, scratch, sums)


@numba.njit(cache=True, nogil=True)
def normalize_rows(cdes, plan):  # pragma: no cover - compiled
    """flexcode's normalize() for every row of ``cdes`` in place (the end of its sharpen())."""
    scratch = np.empty(cdes.shape[1])
    sums = np.empty(plan.shape[0])
    for i in range(cdes.shape[0]):
        _normalize(cdes[i], NORMALIZE_ITERATIONS, plan, scratch, sums)


@numba.njit(cache=True, nogil=True)
def trapezoid_normalize(yvals, half_steps):  # pragma: no cover - compiled
    """qp.interp's normalisation, in place: each row divided by its trapezoid integral (a running sum, as cumsum)."""
    for i in range(yvals.shape[0]):
        row = yvals[i]
        total = half_steps[0] * (row[1] + row[0])
        for j in range(1, half_steps.size):
            total += half_steps[j] * (row[j + 1] + row[j])
        for j in range(row.size):
            row[j] /= total


@numba.njit(cache=True, nogil=True)
def interpolate_rows(yvals, upper, step, offset, inside):  # pragma: no cover - compiled
    """scipy's interp1d (linear, zero outside the knots) of every row at the run's grid, with its arithmetic.

    For each grid point: ``upper`` is its clipped searchsorted index among the
    knots, ``step`` the width of its knot interval, ``offset`` its distance to
    the interval's left knot, ``inside`` whether it lies within the knots.
    """
    out = np.zeros((yvals.shape[0], upper.size))
    for i in range(yvals.shape[0]):
        for j in range(upper.size):
            if inside[j]:
                hi = upper[j]
                slope = (yvals[i, hi] - yvals[i, hi - 1]) / step[j]
                out[i, j] = slope * offset[j] + yvals[i, hi - 1]
    return out


@numba.njit(cache=True, nogil=True)
def expand(coefs, basis_t):  # pragma: no cover - compiled
    """``coefs @ basis_t``, each row summed over the basis functions in turn.

    BLAS's matrix product rounds the last rows of a chunk differently (its edge
    tiles), so an object's density would depend on where its chunk ends: here it
    depends on its own row only.
    """
    n, n_basis = coefs.shape
    out = np.zeros((n, basis_t.shape[1]))
    for i in range(n):
        row = out[i]
        for b in range(n_basis):
            coefficient = np.float64(coefs[i, b])
            weights = basis_t[b]
            for j in range(row.size):
                row[j] += coefficient * weights[j]
    return out


class NativeFlexZBoost(NativeEstimator):
    """RAIL's FlexZBoost, whole chunks at once: regressors on all rows, then compiled post-processing."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        params = self.stage.config
        if params.qp_representation not in REPRESENTATIONS:
            raise ConfigError(f"'estimator.params.qp_representation' = {params.qp_representation!r}: "
                              f"FlexZBoost knows only {', '.join(REPRESENTATIONS)}")
        model = self.stage.model
        self._bands = list(params.bands)
        self._error_bands = list(params.err_bands)
        self._ref = self._bands.index(params.ref_band)
        self._with_errors = bool(params.include_mag_err)
        self._nondetect_val = float(params.nondetect_val)
        self._limits = np.array([params.mag_limits[band] for band in self._bands])
        best = np.asarray(model.best_basis)
        self.regressors = regressors(model, best)
        self._width = model.z_max - model.z_min  # as flexcode divides, in Python arithmetic
        self._threshold = model.bump_threshold
        self._alpha = model.sharpen_alpha
        if params.qp_representation == "interp":
            self.basis_t = np.ascontiguousarray(interp_basis(model, best, params.nzbins).T)
            self._xvals = np.linspace(model.z_min, model.z_max, params.nzbins)  # RAIL's grid, flexcode's make_grid
            self._half_steps = (self._xvals[1:] - self._xvals[:-1]) * 0.5
        else:
            self.basis_t = np.ascontiguousarray(evaluated_basis(model, best.size, self.grid).T)
            self._xvals = None
        self._plan = summation_plan(self.basis_t.shape[1])
        self._same_grid = self._xvals is None or np.array_equal(self._xvals, self.grid)
        if not self._same_grid:
            upper = np.searchsorted(self._xvals, self.grid).clip(1, self._xvals.size - 1)
            self._interpolation = (upper, self._xvals[upper] - self._xvals[upper - 1],
                                   self.grid - self._xvals[upper - 1],
                                   (self.grid >= self._xvals[0]) & (self.grid <= self._xvals[-1]))

    def compile(self) -> None:
        """Compile (or load from numba's cache) every kernel, on a one-row chunk of the real shapes and types."""
        self.post_process(expand(np.ones((1, self.basis_t.shape[0]), dtype=np.float32), self.basis_t))

    def estimate(self, columns: dict[str, np.ndarray]) -> Estimate:
        """PDFs on the run's grid, as RAIL's ensemble evaluates them there."""
        features = self.features(columns)
        coefs = np.asarray([regressor.predict(features) for regressor in self.regressors]).T
        return Estimate(pdfs=self.post_process(expand(coefs, self.basis_t)), extras={})

    def features(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """RAIL's regressor input, in the magnitudes' dtype: the reference band, then each colour (and its error).

        Non-detections become the band's limiting magnitude with error 1, as in
        RAIL; NaN marks them when ``nondetect_val`` is NaN.
        """
        mags = np.column_stack([columns[name] for name in self._bands])
        if np.isnan(self._nondetect_val):
            missing = np.isnan(mags)
        else:
            missing = np.isclose(mags, self._nondetect_val, atol=NONDETECT_ATOL)
        mags = np.where(missing, self._limits.astype(mags.dtype), mags)
        parts = [mags[:, self._ref]]
        if self._with_errors:
            errors = np.column_stack([columns[name] for name in self._error_bands])
            errors = np.where(missing, errors.dtype.type(1.0), errors)
        for i in range(len(self._bands) - 1):
            parts.append(mags[:, i] - mags[:, i + 1])
            if self._with_errors:
                parts.append(np.sqrt(errors[:, i] ** 2 + errors[:, i + 1] ** 2))
        return np.column_stack(parts)

    def post_process(self, cdes: np.ndarray) -> np.ndarray:
        """flexcode's post-processing of the expanded coefficients, then what qp does to them on evaluation."""
        normalize_and_remove_bumps(cdes, self._plan, self._threshold is not None,
                                   0.0 if self._threshold is None else float(self._threshold))
        if self._alpha is not None:
            cdes **= self._alpha  # numpy's power, not numba's: the two differ in the last bit
            normalize_rows(cdes, self._plan)
        cdes /= self._width
        if self._xvals is None:
            return cdes
        trapezoid_normalize(cdes, self._half_steps)
        if self._same_grid:
            return cdes
        return interpolate_rows(cdes, *self._interpolation)


def regressors(model: Any, best: np.ndarray) -> list[Any]:
    """The model's fitted regressor of each basis function kept by flexcode's tuning (``best_basis``)."""
    fitted = getattr(getattr(model.model, "models", None), "estimators_", None)
    if fitted is None:
        raise ConfigError(f"'estimator.model': a {type(model.model).__name__} regression without per-basis "
                          "regressors; set estimator.implementation = 'rail'")
    return [fitted[j] for j in best]


def interp_basis(model: Any, best: np.ndarray, nzbins: int) -> np.ndarray:
    """flexcode's predict() basis: functions ``best`` on ``nzbins`` points of the unit interval."""
    unit_grid = make_grid(nzbins, 0.0, 1.0)
    return evaluate_basis(unit_grid, int(best.max()) + 1, model.basis_system)[:, best]


def evaluated_basis(model: Any, n_basis: int, grid: np.ndarray) -> np.ndarray:
    """qp_flexzboost's basis: the first ``n_basis`` functions at ``grid`` mapped onto the model's [z_min, z_max].

    flexcode's BasisCoefs.evaluate takes the first functions, not those of
    ``best_basis``: the same whenever tuning kept a leading run of them.
    """
    return evaluate_basis(box_transform(grid.reshape(-1, 1), model.z_min, model.z_max), n_basis, model.basis_system)
