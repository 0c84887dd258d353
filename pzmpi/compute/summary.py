"""The results of a run, accumulated while it estimates: stacked PDFs, tomography, histograms, counts, sky.

Each piece accumulates its own ``Summary`` chunk by chunk, from the PDFs as
they are stored (so that the run's stacked N(z) is the mean of the PDFs in its
files), and keeps it in its HDF5 file beside the PDFs: a re-run that skips a
finished piece reads its summary back instead of its PDFs. Each rank adds its
pieces' summaries into one ``Totals``, and the ranks' totals are merged on the
root: float sums exactly (``pzmpi.core.exactsum``), counts as integers, so
that the result is the same bits whatever the number of ranks and whether the
run was done in one go or resumed.

Every layout (bins, edges, sizes) comes from the configuration alone, before
any data, so that every piece's summary has the same shape.

Tomography (``[summary]`` in docs/configuration.md) assigns each object a bin
from a point estimate: with edges known at run time (``uniform`` or ``edges``)
the bin of every object is written beside its objectId and each bin's stacked
PDF is accumulated; with ``equal_count`` the edges are only known at the end,
so the PDFs are stacked per *cell* of the point estimate (one cell per grid
point, ``[z_k - dz/2, z_k + dz/2)``) and ``pzmpi report`` groups cells into bins
of equal counts: exact for zmode, whose values are grid points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import h5py
import hpgeom
import numba
import numpy as np

from pzmpi.core.exactsum import ExactSum
from pzmpi.core.files import replace_durably, temp_path_of
from pzmpi.estimators.config import POINT_ESTIMATES, Config

UNASSIGNED = -99  # the tomographic bin of an object outside every bin (RAIL's value)
TOMOGRAPHIC_BIN = "tomo_bin"  # the pieces' column of each object's bin
POINT_BINS_PER_CELL = 4  # point-estimate histograms: 4 bins per grid step, aligned on the cells
WIDTH_BINS = 300  # histogram of z_hi68 - z_lo68 over [0, zmax - zmin]
MASS_OUTSIDE_LIMIT = 0.01  # objects with more than this share of their PDF outside the grid are counted
# The estimators' own per-object diagnostics that get a histogram: (low, high, bins).
DIAGNOSTICS = {"tb": (-0.5, 63.5, 64), "todds": (0.0, 1.0, 20), "CHI_BEST": (0.0, 100.0, 50)}
FORMAT = 1


@dataclass(frozen=True)
class Layout:
    """What a run's summary holds, decided by the configuration alone."""

    grid: np.ndarray
    bands: list[str]
    point_names: list[str]
    tomography: str  # 'uniform', 'edges' or 'equal_count'
    tomography_estimate: str
    edges: np.ndarray  # the tomographic bins' edges ('uniform', 'edges'); empty for 'equal_count'
    diagnostics: list[str]
    sky_order: int  # -1: no positions read
    float_fields: dict[str, tuple[int, ...]] = field(init=False)
    int_fields: dict[str, tuple[int, ...]] = field(init=False)

    def __post_init__(self) -> None:
        nz = self.grid.size
        floats = {"pdf_sum": (nz,), "mass_outside_sum": (1,)}
        ints = {"objects": (1,), "bad_pdfs": (1,), "mass_outside_over_limit": (1,),
                "nondetections": (len(self.bands),), "width68": (WIDTH_BINS + 3,)}
        ints.update({f"point_{name}": (self.point_bins + 3,) for name in self.point_names})
        if self.tomography == "equal_count":
            floats["cell_pdf_sum"] = (nz, nz)
            ints["cell_counts"] = (nz + 1,)  # the last: no point estimate
        else:
            floats["tomo_pdf_sum"] = (self.n_bins, nz)
            ints["tomo_counts"] = (self.n_bins + 1,)  # the last: unassigned
            ints["tomo_point"] = (self.n_bins, self.point_bins + 3)
        ints.update({f"diag_{name}": (DIAGNOSTICS[name][2] + 3,) for name in self.diagnostics})
        if self.sky_order >= 0:
            ints["sky"] = (hpgeom.nside_to_npixel(hpgeom.order_to_nside(self.sky_order)),)
        object.__setattr__(self, "float_fields", floats)
        object.__setattr__(self, "int_fields", ints)

    @cached_property
    def step(self) -> float:
        return float(self.grid[1] - self.grid[0])

    @cached_property  # used by every chunk: made once
    def trapezoid_weights(self) -> np.ndarray:
        """Weights whose dot product with a PDF on the grid is its trapezoid integral."""
        steps = np.diff(self.grid)
        return np.concatenate(([steps[0] / 2], (steps[:-1] + steps[1:]) / 2, [steps[-1] / 2]))

    @property
    def n_bins(self) -> int:
        return self.edges.size - 1

    @property
    def point_bins(self) -> int:
        """Point estimates are histogrammed over the cells of the grid, ``POINT_BINS_PER_CELL`` bins a cell."""
        return self.grid.size * POINT_BINS_PER_CELL

    @cached_property
    def point_range(self) -> tuple[float, float]:
        half = self.step / 2
        return float(self.grid[0]) - half, float(self.grid[-1]) + half


def histogram_index(values: np.ndarray, low: float, high: float, bins: int) -> np.ndarray:
    """Each value's slot in a ``histogram``: bin k for low + k w <= v < low + (k+1) w, then below, above, not finite."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    index = np.full(values.size, bins + 2, dtype=np.int64)
    position = np.floor((values[finite] - low) / ((high - low) / bins))
    index[finite] = np.where(position < 0, bins, np.where(position >= bins, bins + 1, position)).astype(np.int64)
    return index


def histogram(values: np.ndarray, low: float, high: float, bins: int) -> np.ndarray:
    """Counts laid out as [bins..., below, above, not finite] (``histogram_index``)."""
    return np.bincount(histogram_index(values, low, high, bins), minlength=bins + 3)


@numba.njit(cache=True, nogil=True)
def stack_pdfs(pdfs, weights, groups, limit, total, group_sums, mass_outside):  # pragma: no cover - compiled
    """One pass over a chunk's PDFs: add each finite row to ``total`` and to its group's row of ``group_sums``
    (groups outside it add to ``total`` only), add the mass outside the grid (1 - the row's integral) of each
    row with a positive integral; returns (rows NaN, infinite or without positive integral, rows whose mass
    outside exceeds ``limit``). Rows are added in order, so a piece's sums do not depend on its chunks."""
    bad = 0
    over = 0
    n_groups = group_sums.shape[0]
    width = pdfs.shape[1]
    whole = width - width % 4
    for i in range(pdfs.shape[0]):
        # the integral in four interleaved partial sums (a fixed order, four times shorter dependency chains);
        # a NaN or infinite value makes it non-finite, since every weight is positive
        s0 = s1 = s2 = s3 = 0.0
        for j in range(0, whole, 4):
            s0 += weights[j] * np.float64(pdfs[i, j])
            s1 += weights[j + 1] * np.float64(pdfs[i, j + 1])
            s2 += weights[j + 2] * np.float64(pdfs[i, j + 2])
            s3 += weights[j + 3] * np.float64(pdfs[i, j + 3])
        integral = (s0 + s1) + (s2 + s3)
        for j in range(whole, width):
            integral += weights[j] * np.float64(pdfs[i, j])
        if not np.isfinite(integral):
            bad += 1
            continue
        group = groups[i]
        for j in range(width):
            total[j] += np.float64(pdfs[i, j])
        if group < n_groups:
            for j in range(width):
                group_sums[group, j] += np.float64(pdfs[i, j])
        if integral > 0.0:
            outside = max(1.0 - integral, 0.0)
            mass_outside[0] += outside
            if outside > limit:
                over += 1
        else:
            bad += 1
    return bad, over


def tomographic_bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value: edges[b] <= v < edges[b + 1], else UNASSIGNED (as RAIL's UniformBinningClassifier)."""
    bins = np.searchsorted(edges, values, side="right") - 1
    inside = np.isfinite(values) & (bins >= 0) & (bins < edges.size - 1)
    return np.where(inside, bins, UNASSIGNED).astype(np.int16)


def compile_kernel() -> None:
    """Compile (or load from numba's on-disk cache) ``stack_pdfs`` for float32 and float64 PDFs."""
    for dtype in (np.float32, np.float64):
        stack_pdfs(np.ones((1, 2), dtype=dtype), np.full(2, 0.5), np.zeros(1, dtype=np.int64), 0.01, np.zeros(2),
                   np.zeros((1, 2)), np.zeros(1))


class Summary:
    """One piece's accumulation (float64 sums in chunk order, int64 counts), kept in its HDF5 file."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.floats = {name: np.zeros(shape) for name, shape in layout.float_fields.items()}
        self.ints = {name: np.zeros(shape, dtype=np.int64) for name, shape in layout.int_fields.items()}

    def add_chunk(self, pdfs: np.ndarray, points: dict[str, np.ndarray], extras: dict[str, np.ndarray],
                  nondetections: dict[str, int], ra: np.ndarray | None, dec: np.ndarray | None) -> np.ndarray | None:
        """Accumulate one chunk; returns each object's tomographic bin where the edges are known, else None.

        ``pdfs`` are the values as stored (float32 or float64); ``points`` the point estimates.
        """
        layout = self.layout
        n = pdfs.shape[0]
        low, high = layout.point_range
        estimate = np.asarray(points[layout.tomography_estimate], dtype=np.float64)
        if layout.tomography == "equal_count":
            bins = None
            groups = np.full(n, layout.grid.size, dtype=np.int64)  # the last cell: no point estimate
            known = np.isfinite(estimate)
            groups[known] = np.clip(np.floor((estimate[known] - low) / layout.step), 0, layout.grid.size - 1)
            self.ints["cell_counts"] += np.bincount(groups, minlength=layout.grid.size + 1)
            stacks = self.floats["cell_pdf_sum"]
        else:
            bins = tomographic_bins(estimate, layout.edges)
            groups = np.where(bins == UNASSIGNED, layout.n_bins, bins).astype(np.int64)
            self.ints["tomo_counts"] += np.bincount(groups, minlength=layout.n_bins + 1)
            point_index = histogram_index(estimate, low, high, layout.point_bins)
            chosen = groups < layout.n_bins
            self.ints["tomo_point"] += np.bincount(groups[chosen] * (layout.point_bins + 3) + point_index[chosen],
                                                   minlength=self.ints["tomo_point"].size
                                                   ).reshape(self.ints["tomo_point"].shape)
            stacks = self.floats["tomo_pdf_sum"]
        bad, over = stack_pdfs(np.ascontiguousarray(pdfs), layout.trapezoid_weights, groups, MASS_OUTSIDE_LIMIT,
                               self.floats["pdf_sum"], stacks, self.floats["mass_outside_sum"])
        self.ints["objects"][0] += n
        self.ints["bad_pdfs"][0] += bad
        self.ints["mass_outside_over_limit"][0] += over
        self.ints["nondetections"] += np.array([nondetections.get(b, 0) for b in layout.bands], dtype=np.int64)
        for name in layout.point_names:
            self.ints[f"point_{name}"] += histogram(points[name], low, high, layout.point_bins)
        if "z_lo68" in points and "z_hi68" in points:
            width = points["z_hi68"] - points["z_lo68"]
            self.ints["width68"] += histogram(width, 0.0, float(layout.grid[-1] - layout.grid[0]), WIDTH_BINS)
        for name in layout.diagnostics:
            low_d, high_d, bins_d = DIAGNOSTICS[name]
            self.ints[f"diag_{name}"] += histogram(extras[name], low_d, high_d, bins_d)
        if layout.sky_order >= 0 and ra is not None and dec is not None:
            self._add_positions(ra, dec)
        return bins

    def _add_positions(self, ra: np.ndarray, dec: np.ndarray) -> None:
        ra = np.asarray(ra, dtype=np.float64)
        dec = np.asarray(dec, dtype=np.float64)
        valid = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90.0)
        pixels = hpgeom.angle_to_pixel(hpgeom.order_to_nside(self.layout.sky_order), ra[valid], dec[valid])
        self.ints["sky"] += np.bincount(pixels, minlength=self.ints["sky"].size)

    def write(self, group: h5py.Group) -> None:
        """Into a piece's ``summary`` group (sky counts sparse: pixels and counts)."""
        group.attrs["format"] = FORMAT
        for name, values in self.floats.items():
            group.create_dataset(f"floats/{name}", data=values, track_times=False)
        for name, values in self.ints.items():
            if name == "sky":
                pixels = np.flatnonzero(values)
                group.create_dataset("sky_pixels", data=pixels, track_times=False)
                group.create_dataset("sky_counts", data=values[pixels], track_times=False)
            else:
                group.create_dataset(f"ints/{name}", data=values, track_times=False)

    @classmethod
    def read(cls, group: h5py.Group, layout: Layout) -> Summary:
        """A piece's summary, as ``write`` left it; KeyError or ValueError if it is not of this layout."""
        if group.attrs.get("format") != FORMAT:
            raise ValueError("summary of another format")
        summary = cls(layout)
        for name, values in summary.floats.items():
            stored = group[f"floats/{name}"][()]
            if stored.shape != values.shape:
                raise ValueError(f"summary field {name} has shape {stored.shape}, expected {values.shape}")
            summary.floats[name] = stored
        for name, values in summary.ints.items():
            if name == "sky":
                values[group["sky_pixels"][()]] = group["sky_counts"][()]
                continue
            stored = group[f"ints/{name}"][()]
            if stored.shape != values.shape:
                raise ValueError(f"summary field {name} has shape {stored.shape}, expected {values.shape}")
            summary.ints[name] = stored
        return summary


class Totals:
    """Summaries of many pieces added exactly: the same bits in any order, on any number of ranks."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.floats = {name: ExactSum(shape) for name, shape in layout.float_fields.items()}
        self.ints = {name: np.zeros(shape, dtype=np.int64) for name, shape in layout.int_fields.items()}

    def add(self, summary: Summary) -> None:
        for name, values in summary.floats.items():
            self.floats[name].add(values)
        for name, values in summary.ints.items():
            self.ints[name] += values

    def __add__(self, other: Totals) -> Totals:
        """What MPI's reduction calls to merge two ranks' totals."""
        merged = Totals(self.layout)
        merged.floats = {name: self.floats[name] + other.floats[name] for name in self.floats}
        merged.ints = {name: self.ints[name] + other.ints[name] for name in self.ints}
        return merged

    def values(self) -> dict[str, np.ndarray]:
        """Every field: float sums rounded once to float64, counts as int64."""
        found: dict[str, Any] = {name: total.value() for name, total in self.floats.items()}
        found.update(self.ints)
        return found


def summary_layout(config: Config, grid: np.ndarray) -> Layout:
    """The summary of a run of ``config`` on ``grid``."""
    settings = config.summary
    if settings.tomography == "uniform":
        edges = np.linspace(config.estimator.zmin, config.estimator.zmax, settings.tomographic_bins + 1)
    elif settings.tomography == "edges":
        edges = np.asarray(settings.tomographic_edges, dtype=np.float64)
    else:
        edges = np.empty(0)
    has_positions = bool(config.input.ra_column and config.input.dec_column)
    return Layout(grid=np.asarray(grid, dtype=np.float64), bands=list(config.input.bands),
                  point_names=list(POINT_ESTIMATES), tomography=settings.tomography,
                  tomography_estimate=settings.point_estimate, edges=edges,
                  diagnostics=[name for name in config.output.estimator_columns if name in DIAGNOSTICS],
                  sky_order=settings.sky_order if has_positions else -1)


def read_piece_summary(path: Any, layout: Layout) -> Summary | None:
    """The summary a finished piece keeps, or None when it has none of this layout (it is then made again)."""
    try:
        with h5py.File(path, "r") as handle:
            return Summary.read(handle["summary"], layout)
    except (OSError, KeyError, ValueError):
        return None


def write_run_summary(path: Any, totals: Totals, attrs: dict[str, str]) -> None:
    """The run's summary file: every field, and the layout that gives them meaning, written atomically."""
    layout = totals.layout
    temp = temp_path_of(path)
    with h5py.File(temp, "w") as handle:
        handle.attrs.update({"format": FORMAT, "tomography": layout.tomography,
                             "tomography_estimate": layout.tomography_estimate, "sky_order": layout.sky_order,
                             "bands": layout.bands, "point_names": layout.point_names,
                             "diagnostics": layout.diagnostics, "point_bins_per_cell": POINT_BINS_PER_CELL,
                             "width_bins": WIDTH_BINS, "mass_outside_limit": MASS_OUTSIDE_LIMIT, **attrs})
        handle.create_dataset("layout/grid", data=layout.grid, track_times=False)
        handle.create_dataset("layout/edges", data=layout.edges, track_times=False)
        for name, values in totals.values().items():
            handle.create_dataset(f"fields/{name}", data=values, track_times=False)
    replace_durably(temp, path)


def read_run_summary(path: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(attributes and layout, fields) of a run's summary file."""
    with h5py.File(path, "r") as handle:
        attrs = {key: (value.tolist() if isinstance(value, np.ndarray) else value)
                 for key, value in handle.attrs.items()}
        attrs["grid"] = handle["layout/grid"][()]
        attrs["edges"] = handle["layout/edges"][()]
        fields = {name: handle[f"fields/{name}"][()] for name in handle["fields"]}
    return attrs, fields
