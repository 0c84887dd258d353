"""GPz natively: RAIL's ``GPzEstimator`` for a whole chunk in a few matrix products, the Gaussians compiled.

RAIL (``rail/estimation/algos/gpz.py`` and ``_gpz_util.py``) turns each chunk
into features (magnitudes, log errors), predicts a mean and a variance per
object with its sparse Gaussian process (``GP.predict``), wraps them in a qp
``norm`` ensemble, and the engine evaluates that ensemble on the grid. Here the
same model file gives the same mean and variance, the basis functions written
as one quadratic form evaluated by a matrix product, and the Gaussian density
(scipy's formula, untruncated and unnormalised on the grid, as qp leaves it) is
filled in by a compiled kernel. docs/design/native_gpz.md has the equivalence
argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.config import Config
from pzmpi.estimators.interface import Estimate
from pzmpi.estimators.native.common import NativeEstimator

SQRT_2PI = math.sqrt(2.0 * math.pi)
# The kinds of basis function RAIL offers (GPz's code also has 'ANN', whose initialisation fails).
GPZ_METHODS = ("GL", "VL", "GD", "VD", "GC", "VC")
# Rows per matrix product: the intermediates (rows x about 100 floats) stay in cache, twice as fast
# as whole 10,000-row chunks with RAIL's default model (50 basis functions); a chunk pads its last block.
BLOCK_ROWS = 1024


@dataclass(frozen=True)
class FeatureRecipe:
    """How RAIL's ``_prepare_data`` turns magnitudes and errors into GPz's inputs.

    A magnitude equal to ``nondetect_val`` (``np.isclose``) or not finite becomes
    the band's limit (``mag_limits`` taken by position, as RAIL zips them with the
    bands) and its error feature 1.0; an error <= 0 or not finite becomes the
    band's ``replace_error_vals`` value, in the error's own dtype, and its log is
    taken in that dtype too, as RAIL does.
    """

    bands: list[str]
    error_bands: list[str]
    nondetect_val: float
    limits: np.ndarray
    replacements: np.ndarray
    log_errors: bool

    @classmethod
    def from_stage(cls, config: Any) -> FeatureRecipe:
        limits = list(config.mag_limits.values())
        if len(limits) < len(config.bands):
            raise ConfigError(f"'estimator.params': GPz takes 'mag_limits' by position and has "
                              f"{len(limits)} for {len(config.bands)} bands")
        return cls(bands=list(config.bands), error_bands=list(config.err_bands),
                   nondetect_val=config.nondetect_val, limits=np.asarray(limits[:len(config.bands)], dtype=np.float64),
                   replacements=np.asarray(config.replace_error_vals, dtype=np.float64), log_errors=config.log_errors)

    def features(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """(objects, 2 x bands) float64: the magnitudes, then the (log) errors."""
        mags = np.column_stack([columns[name] for name in self.bands])
        errors = np.column_stack([columns[name] for name in self.error_bands])
        nondetected = np.isclose(mags, self.nondetect_val) | ~np.isfinite(mags)
        bad_error = (errors <= 0.0) | ~np.isfinite(errors)
        errors = np.where(bad_error, self.replacements.astype(errors.dtype), errors)
        error_feature = np.log(errors) if self.log_errors else errors
        nbands = len(self.bands)
        out = np.empty((mags.shape[0], 2 * nbands))
        out[:, :nbands] = np.where(nondetected, self.limits, mags)
        out[:, nbands:] = np.where(nondetected, 1.0, error_feature)
        return out


def basis_precisions(theta: np.ndarray, method: str, m: int, d: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Centres (m, d), precision matrices (m, d, d) and parameter count of GPz's basis functions.

    Basis j is exp(-(x - p_j)' A_j (x - p_j) / 2), with A_j = G_j' G_j for the
    length scales G_j that ``method`` stores after the centres in ``theta``:
    one for all (GL), one per basis (VL), one per dimension (GD), per basis and
    dimension (VD), a full matrix (GC) or one per basis (VC).
    """
    centres = theta[:m * d].reshape(m, d)
    gamma = theta[m * d:]
    if method == "GL":
        scales, size = np.broadcast_to(np.eye(d) * gamma[0], (m, d, d)), 1
    elif method == "VL":
        scales, size = np.eye(d) * gamma[:m, None, None], m
    elif method == "GD":
        scales, size = np.broadcast_to(np.diag(gamma[:d]), (m, d, d)), d
    elif method == "VD":
        scales, size = gamma[:m * d].reshape(m, 1, d) * np.eye(d), m * d
    elif method == "GC":
        scales, size = np.broadcast_to(gamma[:d * d].reshape(d, d), (m, d, d)), d * d
    else:
        scales, size = np.moveaxis(gamma[:d * d * m].reshape(d, d, m), 2, 0), d * d * m
    return centres, np.einsum("jik,jil->jkl", scales, scales), size


def quadratic_coefficients(centres: np.ndarray, precisions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The log basis functions as a linear map of [x_k x_l (k <= l), x, 1].

    -(x - p)' A (x - p) / 2 = sum_kl -A_kl x_k x_l / 2 + (A p)' x - p' A p / 2.
    Only the pairs some A_j uses are kept (the diagonal for GL, VL, GD, VD).
    Returns the pairs' row and column indices and the (pairs + d + 1, m) coefficients.
    """
    d = centres.shape[1]
    rows, cols = np.triu_indices(d)
    used = np.any(precisions[:, rows, cols] != 0.0, axis=0)
    rows, cols = rows[used], cols[used]
    quadratic = -0.5 * precisions[:, rows, cols] * np.where(rows == cols, 1.0, 2.0)
    linear = np.einsum("jkl,jl->jk", precisions, centres)
    constant = -0.5 * np.einsum("jk,jk->j", centres, linear)
    coefficients = np.vstack([quadratic.T, linear.T, constant[None, :]])
    return rows.astype(np.intp), cols.astype(np.intp), np.ascontiguousarray(coefficients)


@numba.njit(cache=True, nogil=True)
def _design(x, rows, cols, out):  # pragma: no cover - compiled
    """Fill ``out`` with [x_k x_l for the pairs, x, 1] per object."""
    npairs = rows.size
    d = x.shape[1]
    for i in range(x.shape[0]):
        for p in range(npairs):
            out[i, p] = x[i, rows[p]] * x[i, cols[p]]
        for k in range(d):
            out[i, npairs + k] = x[i, k]
        out[i, npairs + d] = 1.0


@numba.njit(cache=True, nogil=True)
def _gaussians(mean, variance, z0, step, out):  # pragma: no cover - compiled
    """N(mean, variance) densities on the uniform grid z0 + j step, one row per object.

    The value at the grid point nearest the mean is scipy's formula; outwards,
    each value is the previous one times a ratio that shrinks by exp(-t^2)
    (t = step / sigma) per step, since exp(-(x + t)^2 / 2) = exp(-x^2 / 2)
    exp(-t (x + t / 2)): three exponentials per object instead of one per point.
    The rounding of exp(-t^2) compounds: j steps out, the relative error is at
    most about j^2 / 2 float64 roundings, 5e-12 across 301 points.
    A mean or variance that is not finite, or a variance <= 0, gives NaN.
    """
    nz = out.shape[1]
    for i in range(mean.size):
        mu = mean[i]
        var = variance[i]
        if not (np.isfinite(mu) and np.isfinite(var) and var > 0.0):
            out[i, :] = np.nan
            continue
        sigma = math.sqrt(var)
        position = (mu - z0) / step if step > 0.0 else 0.0
        nearest = int(round(min(max(position, 0.0), nz - 1.0)))
        x0 = (z0 + nearest * step - mu) / sigma
        t = step / sigma
        peak = math.exp(-x0 * x0 / 2.0) / SQRT_2PI / sigma
        shrink = math.exp(-t * t)
        out[i, nearest] = peak
        value = peak
        ratio = math.exp(-t * (x0 + 0.5 * t))
        for j in range(nearest + 1, nz):
            value *= ratio
            ratio *= shrink
            out[i, j] = value
        value = peak
        ratio = math.exp(-t * (0.5 * t - x0))
        for j in range(nearest - 1, -1, -1):
            value *= ratio
            ratio *= shrink
            out[i, j] = value


@dataclass(frozen=True)
class SparseGP:
    """GPz's trained ``GP`` (its 'best' parameters, as ``GP.predict`` uses) reduced to arrays.

    ``GP.predict``: x' = PCA-whitened x; phi_j = basis functions; Phi = [phi, x', 1]
    when learnt jointly, else phi; mean = Phi w + x' w_L + mu_Y; variance =
    Phi' S Phi + exp(-(b + phi u)) (u = 0 without heteroscedastic noise).
    """

    projection: np.ndarray | None
    offset: np.ndarray | None
    pair_rows: np.ndarray
    pair_cols: np.ndarray
    basis: np.ndarray
    noise_bias: float
    noise_weights: np.ndarray
    weights: np.ndarray
    linear_weights: np.ndarray
    mean_offset: float
    covariance: np.ndarray
    joint: bool

    @classmethod
    def from_model(cls, model: Any) -> SparseGP:
        if model.method not in GPZ_METHODS:
            raise ConfigError(f"'estimator.model': GPz method {model.method!r} has no native implementation "
                              f"(native: {', '.join(GPZ_METHODS)}); set estimator.implementation = 'rail'")
        if model.k != 1:
            raise ConfigError(f"'estimator.model': a GPz model of {model.k} outputs is not a photo-z model")
        m, d = int(model.m), model.wL.shape[0]
        theta = np.asarray(model.best_theta, dtype=np.float64)
        centres, precisions, gamma_size = basis_precisions(theta, model.method, m, d)
        rows, cols, basis = quadratic_coefficients(centres, precisions)
        a_dim = m + d + 1 if model.joint else m
        noise_at = m * d + gamma_size + a_dim
        projection = offset = None
        if model.decorrelate:
            pca = model.pca
            scale = np.sqrt(pca.explained_variance_)
            scale[scale < np.finfo(scale.dtype).eps] = np.finfo(scale.dtype).eps  # as sklearn's PCA.transform
            projection = np.ascontiguousarray(pca.components_.T / scale)
            offset = (pca.mean_ @ pca.components_.T) / scale
        noise_weights = theta[noise_at + 1:noise_at + 1 + m] if model.heteroscedastic else np.zeros(m)
        return cls(projection=projection, offset=offset, pair_rows=rows, pair_cols=cols, basis=basis,
                   noise_bias=float(theta[noise_at]), noise_weights=noise_weights,
                   weights=np.asarray(model.best_w, dtype=np.float64)[:, 0],
                   linear_weights=np.asarray(model.wL, dtype=np.float64)[:, 0],
                   mean_offset=float(model.muY[0]),
                   covariance=np.ascontiguousarray(model.best_SIGMAi[:, :, 0], dtype=np.float64),
                   joint=bool(model.joint))

    @property
    def n_inputs(self) -> int:
        return self.projection.shape[0] if self.projection is not None else self.linear_weights.size

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of every object's redshift, as ``GP.predict`` gives them.

        Every matrix product has the same shape, BLOCK_ROWS rows (the last block
        padded with zeros): BLAS rounds a row differently in a partial tile, and
        an object's result must not depend on where the chunk cut falls.
        """
        n = features.shape[0]
        mean, variance = np.empty(n), np.empty(n)
        for start in range(0, n, BLOCK_ROWS):
            block = features[start:start + BLOCK_ROWS]
            rows = block.shape[0]
            if rows < BLOCK_ROWS:
                block = np.concatenate([block, np.zeros((BLOCK_ROWS - rows, block.shape[1]))])
            block_mean, block_variance = self._predict_block(block)
            mean[start:start + rows], variance[start:start + rows] = block_mean[:rows], block_variance[:rows]
        return mean, variance

    def _predict_block(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = features @ self.projection - self.offset if self.projection is not None else features
        n, d = x.shape
        m = self.noise_weights.size
        design = np.empty((n, self.pair_rows.size + d + 1))
        _design(x, self.pair_rows, self.pair_cols, design)
        phi = np.empty((n, m + d + 1 if self.joint else m))
        np.exp(design @ self.basis, out=phi[:, :m])
        if self.joint:
            phi[:, m:] = design[:, -d - 1:]
        mean = phi @ self.weights + x @ self.linear_weights + self.mean_offset
        noise = np.exp(-(self.noise_bias + phi[:, :m] @ self.noise_weights))
        variance = np.einsum("ij,ij->i", phi @ self.covariance, phi) + noise
        return mean, variance


class NativeGPz(NativeEstimator):
    """RAIL's GPzEstimator: a Gaussian per object from the sparse GP's mean and variance.

    RAIL's ensemble is qp's ``norm`` with ``loc`` and ``scale`` per object, and
    carries ``zmode`` as an extra, which pzmpi computes itself; ``loc`` and
    ``scale`` can be kept (``output.estimator_columns``), as the RAIL path keeps
    them, for the federated table's exact Gaussian.
    """

    provides = ("loc", "scale")

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.recipe = FeatureRecipe.from_stage(self.stage.config)
        self.gp = SparseGP.from_model(self.stage.model)
        if 2 * len(self.recipe.bands) != self.gp.n_inputs:
            raise ConfigError(f"'estimator.model' was trained on {self.gp.n_inputs} GPz features; "
                              f"{len(self.recipe.bands)} bands give {2 * len(self.recipe.bands)}")
        self.z0 = float(self.grid[0])
        self.step = float(self.grid[-1] - self.grid[0]) / (self.grid.size - 1) if self.grid.size > 1 else 0.0

    def compile(self) -> None:
        """Compile (or load from numba's cache) both kernels on a one-object chunk."""
        x = np.zeros((1, 2))
        _design(x, np.zeros(1, dtype=np.intp), np.zeros(1, dtype=np.intp), np.empty((1, 4)))
        _gaussians(np.zeros(1), np.ones(1), 0.0, 1.0, np.empty((1, 2)))

    def estimate(self, columns: dict[str, np.ndarray]) -> Estimate:
        """The chunk's Gaussians on the grid."""
        mean, variance = self.gp.predict(self.recipe.features(columns))
        pdfs = np.empty((mean.size, self.grid.size))
        _gaussians(mean, variance, self.z0, self.step, pdfs)
        extras = {}
        if "loc" in self.extra_columns:
            extras["loc"] = mean
        if "scale" in self.extra_columns:
            extras["scale"] = np.sqrt(np.where(variance > 0.0, variance, np.nan))
        return Estimate(pdfs=pdfs, extras=extras)
