"""TPZ natively: RAIL's ``TPZliteEstimator`` with the whole forest walked for a whole chunk in one compiled pass.

RAIL (``rail/estimation/algos/tpz_lite.py``, ``mlz_utils/analysis.py``) asks
every tree of the model, one object and one tree at a time, for the redshifts in
the leaf the object's magnitudes reach (scikit-learn trees: the leaf's mean;
TPZ's own trees: every training redshift in the leaf), counts them in the
model's redshift bins, then per object interpolates the counts onto a padded
fine grid, zeroes what is below 20% of the peak, smooths with TPZ's Gaussian
kernel, zeroes what is below 0.5% of the new peak, keeps the bins inside
[zmin, zmax] and hands them to a qp ``interp`` ensemble, which normalises them
and which the engine evaluates on the run's grid.

Here the trees are flattened once into node arrays and every leaf's redshifts
are turned into their histogram bins once, so that a compiled kernel walks all
objects through all trees and does the rest of the per-object work, qp's
normalisation and interpolation included. docs/design/native_tpz.md has the
equivalence argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from rail.estimation.algos.mlz_utils.analysis import GetPz_short
from sklearn.tree import DecisionTreeRegressor

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.config import Config
from pzmpi.estimators.interface import Estimate
from pzmpi.estimators.native.common import NativeEstimator

LEAF = -1  # child index of a leaf (scikit-learn's TREE_LEAF)
EMPTY_LEAF = -1.0  # a prediction RAIL leaves out of the histogram (TPZ's mark of an empty leaf)
FIRST_CUT = 0.20  # RAIL zeroes the interpolated counts at or below this fraction of their peak...
SECOND_CUT = 0.005  # ...and the smoothed PDF at or below this fraction of its peak


@dataclass(frozen=True)
class Forest:
    """Trees as flat node arrays; node ``roots[t]`` starts tree t.

    An object goes from node k to ``left[k]`` when its feature ``feature[k]`` is
    <= ``threshold[k]``, or is NaN and ``missing_left[k]``; else to ``right[k]``.
    A leaf (``left[k] == LEAF``) adds one count to each histogram bin in
    ``leaf_bins[leaf_start[k]:leaf_stop[k]]``.
    """

    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    missing_left: np.ndarray
    leaf_start: np.ndarray
    leaf_stop: np.ndarray
    leaf_bins: np.ndarray

    @classmethod
    def join(cls, trees: list[Forest]) -> Forest:
        """One forest of single trees (each with its root at node 0 and its own node numbers)."""
        sizes = np.array([tree.feature.size for tree in trees], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])

        def children(name: str) -> np.ndarray:
            return np.concatenate([np.where(getattr(tree, name) == LEAF, LEAF, getattr(tree, name) + offset)
                                   for tree, offset in zip(trees, offsets)])

        n_bins = np.concatenate([tree.leaf_stop - tree.leaf_start for tree in trees])
        leaf_stop = np.cumsum(n_bins)
        return cls(roots=offsets, feature=np.concatenate([tree.feature for tree in trees]),
                   threshold=np.concatenate([tree.threshold for tree in trees]), left=children("left"),
                   right=children("right"), missing_left=np.concatenate([tree.missing_left for tree in trees]),
                   leaf_start=leaf_stop - n_bins, leaf_stop=leaf_stop,
                   leaf_bins=np.concatenate([tree.leaf_bins for tree in trees]))

    @classmethod
    def from_arrays(cls, feature: Any, threshold: Any, left: Any, right: Any, missing_left: Any,
                    n_leaf_bins: Any, leaf_bins: Any) -> Forest:
        """One tree from per-node arrays, ``n_leaf_bins`` bins per node stored in node order."""
        leaf_stop = np.cumsum(np.asarray(n_leaf_bins, dtype=np.int64))
        return cls(roots=np.zeros(1, dtype=np.int64), feature=np.asarray(feature, dtype=np.int64),
                   threshold=np.asarray(threshold, dtype=np.float64), left=np.asarray(left, dtype=np.int64),
                   right=np.asarray(right, dtype=np.int64), missing_left=np.asarray(missing_left, dtype=np.bool_),
                   leaf_start=leaf_stop - np.asarray(n_leaf_bins, dtype=np.int64), leaf_stop=leaf_stop,
                   leaf_bins=np.asarray(leaf_bins, dtype=np.int64))


def histogram_bins(redshifts: np.ndarray, bin_width: float, nbins: int) -> np.ndarray:
    """The histogram bins RAIL's ``get_hist`` adds one to for each of ``redshifts``.

    A value's bin is floor(z / bin width), whatever the model's zmin; bins past
    the last are dropped, negative ones count from the end, as Python's indexing
    does in RAIL. -1 marks a dropped value.
    """
    bins = np.floor(np.asarray(redshifts, dtype=np.float64) / bin_width).astype(np.int64)
    bins = np.where(bins < 0, bins + nbins, bins)
    if (bins < 0).any():
        raise ConfigError(f"the TPZ model predicts redshifts below -(zmax - zmin) ({np.min(redshifts):g}), "
                          f"which RAIL's histogram cannot bin")
    return np.where(bins > nbins - 1, -1, bins)


def sklearn_tree(model: DecisionTreeRegressor, bin_width: float, nbins: int) -> Forest:
    """A fitted scikit-learn regression tree: x <= threshold goes left, NaN as the tree learnt.

    A leaf predicts its ``value``; RAIL leaves a prediction of -1.0 out of the histogram.
    """
    tree = model.tree_
    is_leaf = tree.children_left == LEAF
    values = tree.value[:, 0, 0]
    bins = np.full(values.size, -1, dtype=np.int64)
    bins[is_leaf] = histogram_bins(values[is_leaf], bin_width, nbins)
    counted = is_leaf & (values != EMPTY_LEAF) & (bins >= 0)
    return Forest.from_arrays(feature=np.where(is_leaf, 0, tree.feature), threshold=tree.threshold,
                              left=tree.children_left, right=tree.children_right,
                              missing_left=tree.missing_go_to_left, n_leaf_bins=counted.astype(np.int64),
                              leaf_bins=bins[counted])


def tpz_tree(root: Any, bin_width: float, nbins: int) -> Forest:
    """One of TPZ's own trees (``ml_codes.TPZ.Rtree``): x < point goes left, NaN right.

    A leaf holds the training redshifts that reached it, all predicted; RAIL
    leaves a leaf out when it is empty or its first redshift is -1.0.
    """
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    n_leaf_bins: list[int] = []
    leaf_bins: list[np.ndarray] = []

    def add(node: Any) -> int:
        index = len(feature)
        left.append(LEAF)
        right.append(LEAF)
        if isinstance(node, np.ndarray):
            feature.append(0)
            threshold.append(0.0)
            counted = node.size > 0 and node[0] != EMPTY_LEAF
            bins = histogram_bins(node, bin_width, nbins) if counted else np.empty(0, dtype=np.int64)
            leaf_bins.append(bins[bins >= 0])
            n_leaf_bins.append(leaf_bins[-1].size)
            return index
        feature.append(int(node.dim))
        # x < point is x <= the float64 just below point, for every float64 x; NaN fails both.
        threshold.append(float(np.nextafter(node.point, -np.inf)))
        n_leaf_bins.append(0)
        left[index] = add(node.left)
        right[index] = add(node.right)
        return index

    add(root)
    return Forest.from_arrays(feature, threshold, left, right, np.zeros(len(feature), dtype=np.bool_),
                              n_leaf_bins, np.concatenate(leaf_bins))


def model_forest(model: dict[str, Any], bin_width: float, nbins: int) -> Forest:
    """The ``n_random x n_trees`` trees RAIL's estimator uses, flattened."""
    strategy = model["tree_strategy"]
    if strategy not in ("sklearn", "native"):
        raise ConfigError(f"the TPZ model's tree_strategy {strategy!r} is neither 'sklearn' nor 'native'")
    n_features = len(model["use_atts"])
    trees = []
    for k in range(int(model["n_random"] * model["n_trees"])):
        tree = model["treedict"][f"tree_{k}"]
        if strategy == "native":
            trees.append(tpz_tree(tree.root, bin_width, nbins))
        elif isinstance(tree, DecisionTreeRegressor) and tree.n_outputs_ == 1 and tree.n_features_in_ == n_features:
            trees.append(sklearn_tree(tree, bin_width, nbins))
        else:
            raise ConfigError(f"the TPZ model's tree_{k} is not a single-output DecisionTreeRegressor "
                              f"on the model's {n_features} attributes")
    return Forest.join(trees)


@dataclass(frozen=True)
class Smoothing:
    """RAIL's ``GetPz_short.get_pdf`` and qp's ``interp`` evaluation, as index and weight arrays.

    * a redshift z counts in bin floor(z / ``bin_width``) of ``nbins`` (``get_hist``);
    * counts to the fine grid (``np.interp``): fine point k lies at ``fine_offset[k]``
      past bin centre ``fine_index[k]`` (-1: before the first centre), the
      centres ``centre_step`` apart;
    * the fine grid is smoothed with ``kernel`` (``np.convolve``, 'same' size);
    * fine points ``keep_start`` to ``keep_stop`` are RAIL's output grid ``xvals``,
      ``xvals_step`` apart, normalised by their trapezoid integral (qp);
    * the run's grid point g lies ``grid_offset[g]`` past ``xvals[grid_index[g]]``
      (-1: outside xvals, where qp gives 0), the next ``grid_step[g]`` further.
    """

    bin_width: float
    nbins: int
    fine_index: np.ndarray
    fine_offset: np.ndarray
    centre_step: np.ndarray
    kernel: np.ndarray
    keep_start: int
    keep_stop: int
    xvals_step: np.ndarray
    grid_index: np.ndarray
    grid_offset: np.ndarray
    grid_step: np.ndarray

    @classmethod
    def build(cls, pars: Any, grid: np.ndarray) -> Smoothing:
        """From RAIL's own grids for the model's zmin, zmax, nzbins and sigmafactor (``pars``)."""
        rail = GetPz_short(pars)
        centres, fine, kernel, keep = rail.zbins, rail.zfine2, rail.gaus2, rail.wzin
        if kernel.size > fine.size:
            raise ConfigError(f"the TPZ model's sigmafactor {pars.sigmafactor} makes a smoothing kernel wider "
                              f"than its redshift grid; set estimator.implementation = 'rail'")
        if keep.size < 2 or np.any(np.diff(keep) != 1):
            raise ConfigError("the TPZ model's redshift grid has fewer than 2 bins inside [zmin, zmax]")
        # np.interp: centre j with centres[j] <= x < centres[j + 1].
        fine_index = np.searchsorted(centres, fine, side="right") - 1
        inside = (fine_index >= 0) & (fine_index < centres.size - 1)
        fine_offset = np.where(inside, fine - centres[np.clip(fine_index, 0, None)], 0.0)
        xvals = fine[keep]
        # scipy's interp1d as qp calls it: searchsorted (left), clipped to [1, n - 1], 0 outside xvals.
        upper = np.clip(np.searchsorted(xvals, grid), 1, xvals.size - 1)
        outside = (grid < xvals[0]) | (grid > xvals[-1])
        return cls(bin_width=float(rail.resz), nbins=centres.size, fine_index=fine_index.astype(np.int64),
                   fine_offset=fine_offset, centre_step=np.diff(centres), kernel=np.asarray(kernel, dtype=np.float64),
                   keep_start=int(keep[0]), keep_stop=int(keep[-1]) + 1, xvals_step=np.diff(xvals),
                   grid_index=np.where(outside, -1, upper - 1).astype(np.int64),
                   grid_offset=grid - xvals[upper - 1], grid_step=xvals[upper] - xvals[upper - 1])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _leaf_counts(x, roots, feature, threshold, left, right, missing_left, leaf_start, leaf_stop, leaf_bins,
                 counts):  # pragma: no cover - compiled
    """Histogram of one object's leaf redshifts over all trees (RAIL's BP0raw row)."""
    counts[:] = 0.0
    for t in range(roots.size):
        node = roots[t]
        while left[node] != LEAF:
            value = x[feature[node]]
            if value <= threshold[node] or (np.isnan(value) and missing_left[node]):
                node = left[node]
            else:
                node = right[node]
        for k in range(leaf_start[node], leaf_stop[node]):
            counts[leaf_bins[k]] += 1.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _smoothed(counts, fine_index, fine_offset, centre_step, kernel, fine, smooth):  # pragma: no cover - compiled
    """RAIL's get_pdf up to its normalisations: interpolate, cut at 20%, convolve, cut at 0.5%."""
    nbins = counts.size
    peak = -np.inf
    for k in range(fine.size):
        j = fine_index[k]
        if j < 0:
            fine[k] = counts[0]
        elif j >= nbins - 1:
            fine[k] = counts[nbins - 1]
        else:  # np.interp's own operations, in its order: the cut below needs its exact values
            slope = (counts[j + 1] - counts[j]) / centre_step[j]
            fine[k] = slope * fine_offset[k] + counts[j]
        peak = max(peak, fine[k])
    cut = peak * FIRST_CUT
    shift = (kernel.size - 1) // 2
    smooth[:] = 0.0
    for k in range(fine.size):
        if fine[k] > cut:  # the others are zeroed and add nothing to the convolution
            for q in range(kernel.size):
                target = k + q - shift
                if 0 <= target < smooth.size:
                    smooth[target] += fine[k] * kernel[q]
    peak = -np.inf
    for k in range(smooth.size):
        peak = max(peak, smooth[k])
    cut = peak * SECOND_CUT
    for k in range(smooth.size):
        if not smooth[k] > cut:
            smooth[k] = 0.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _on_grid(smooth, keep_start, xvals_step, grid_index, grid_offset, grid_step, yvals, out):  # pragma: no cover
    """qp's interp: normalise by the trapezoid integral over xvals, interpolate linearly, 0 outside."""
    for q in range(yvals.size):
        yvals[q] = smooth[keep_start + q]
    total = 0.0
    for q in range(yvals.size - 1):
        total += xvals_step[q] * 0.5 * (yvals[q + 1] + yvals[q])
    for q in range(yvals.size):
        yvals[q] = yvals[q] / total  # 0/0 = NaN when nothing is left, as in qp
    for g in range(out.size):
        lo = grid_index[g]
        if lo < 0:
            out[g] = 0.0
        else:
            slope = (yvals[lo + 1] - yvals[lo]) / grid_step[g]
            out[g] = slope * grid_offset[g] + yvals[lo]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def tpz_pdfs(x, roots, feature, threshold, left, right, missing_left, leaf_start, leaf_stop, leaf_bins,
             nbins, fine_index, fine_offset, centre_step, kernel, keep_start, keep_stop, xvals_step,
             grid_index, grid_offset, grid_step, out):  # pragma: no cover - compiled
    """Every object's PDF on the run's grid, into ``out`` (objects, grid points)."""
    counts = np.empty(nbins)
    fine = np.empty(fine_index.size)
    smooth = np.empty(fine_index.size)
    yvals = np.empty(keep_stop - keep_start)
    for i in range(x.shape[0]):
        _leaf_counts(x[i], roots, feature, threshold, left, right, missing_left, leaf_start, leaf_stop,
                     leaf_bins, counts)
        _smoothed(counts, fine_index, fine_offset, centre_step, kernel, fine, smooth)
        _on_grid(smooth, keep_start, xvals_step, grid_index, grid_offset, grid_step, yvals, out[i])


class NativeTPZ(NativeEstimator):
    """RAIL's TPZliteEstimator on the same model file, the forest walked by a compiled kernel."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        stage_config = self.stage.config
        model = self.stage.model
        self.attributes = list(model["use_atts"])
        self.band_pairs = list(zip(stage_config.bands, stage_config.err_bands))
        missing = [name for name in self.attributes + [c for pair in self.band_pairs for c in pair]
                   if name not in self.bands + self.error_bands]
        if missing:
            raise ConfigError(f"the TPZ model or its parameters need columns {', '.join(missing)}, "
                              f"which 'input.bands' does not give")
        self.nondetect_val = float(stage_config.nondetect_val)
        self.mag_limits = {band: float(stage_config.mag_limits[band]) for band, _ in self.band_pairs}
        # scikit-learn trees see float32 features; TPZ's own trees compare the magnitudes as given.
        self.float32_features = model["tree_strategy"] == "sklearn"
        self.smoothing = Smoothing.build(self.stage.attPars, self.grid)
        self.forest = model_forest(model, self.smoothing.bin_width, self.smoothing.nbins)

    def features(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """(objects, attributes) float64: what RAIL's trees compare, in the model's attribute order.

        As RAIL does, a band whose magnitude or error is ``nondetect_val``
        (``np.isclose``; NaN when it is NaN) gets the band's limit, written in the
        column's own dtype; scikit-learn then casts the features to float32.
        """
        replaced = dict(columns)
        for band, error_band in self.band_pairs:
            mag, error = columns[band], columns[error_band]
            if np.isnan(self.nondetect_val):
                nondetected = np.isnan(mag) | np.isnan(error)
            else:
                nondetected = np.isclose(mag, self.nondetect_val) | np.isclose(error, self.nondetect_val)
            replaced[band] = np.where(nondetected, mag.dtype.type(self.mag_limits[band]), mag)
        out = np.empty((len(columns[self.attributes[0]]), len(self.attributes)))
        for k, name in enumerate(self.attributes):
            out[:, k] = replaced[name].astype(np.float32) if self.float32_features else replaced[name]
        return out

    def _run(self, x: np.ndarray) -> np.ndarray:
        f, s = self.forest, self.smoothing
        out = np.empty((x.shape[0], self.grid.size))
        tpz_pdfs(x, f.roots, f.feature, f.threshold, f.left, f.right, f.missing_left, f.leaf_start, f.leaf_stop,
                 f.leaf_bins, s.nbins, s.fine_index, s.fine_offset, s.centre_step, s.kernel, s.keep_start,
                 s.keep_stop, s.xvals_step, s.grid_index, s.grid_offset, s.grid_step, out)
        return out

    def compile(self) -> None:
        """Compile (or load from numba's cache) the kernel, on one object of made-up magnitudes."""
        self._run(np.full((1, len(self.attributes)), 25.0))

    def estimate(self, columns: dict[str, np.ndarray]) -> Estimate:
        return Estimate(pdfs=self._run(self.features(columns)), extras={})
