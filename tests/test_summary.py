"""pzmpi.compute.summary and report: histograms, grouped sums, RAIL's tomographic bins, equal-count cells, and
summaries that add up to the same bits in any grouping."""

from __future__ import annotations

import numpy as np
import pytest
import qp
from rail.core.data import DataStore, QPHandle
from rail.estimation.algos.uniform_binning import UniformBinningClassifier

from pzmpi.compute.report import equal_count_cells, nz_statistics
from pzmpi.compute.summary import UNASSIGNED, Layout, Summary, Totals, histogram, stack_pdfs, tomographic_bins

GRID = np.linspace(0.0, 3.0, 301)
POINTS = ["zmode", "zmean", "zmedian", "z_lo68", "z_hi68"]


def test_histogram_lays_out_bins_below_above_and_not_finite():
    counts = histogram(np.array([-1.0, 0.0, 0.5, 0.999, 1.0, 2.0, np.nan, np.inf]), 0.0, 1.0, 4)
    assert counts.tolist() == [1, 0, 1, 1, 1, 2, 2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stacks_are_row_sums_per_group_and_bad_rows_add_nothing(dtype):
    rng = np.random.default_rng(3)
    pdfs = rng.random((400, 31)).astype(dtype)
    pdfs[5, 7] = np.nan
    pdfs[9] = 0.0
    pdfs[11, 3] = np.inf
    grid = np.linspace(0.0, 3.0, 31)
    weights = np.full(31, 0.1)
    weights[[0, -1]] = 0.05
    groups = rng.integers(0, 4, 400)  # group 3 of 3: in the total only
    total, by_group, outside = np.zeros(31), np.zeros((3, 31)), np.zeros(1)
    bad, over = stack_pdfs(pdfs, weights, groups, 0.5, total, by_group, outside)
    finite = np.isfinite(pdfs).all(axis=1)
    values = pdfs.astype(np.float64)
    np.testing.assert_allclose(total, values[finite].sum(axis=0), rtol=1e-13)
    for g in range(3):
        np.testing.assert_allclose(by_group[g], values[finite & (groups == g)].sum(axis=0), rtol=1e-13)
    integrals = np.trapezoid(values, grid, axis=1)
    positive = finite & (integrals > 0)
    assert bad == 3 and over == int((positive & (1 - integrals > 0.5)).sum())
    np.testing.assert_allclose(outside[0], np.clip(1 - integrals[positive], 0, None).sum(), rtol=1e-12)


def test_tomographic_bins_are_rails_uniform_binning(tmp_path):
    rng = np.random.default_rng(0)
    zmode = np.r_[rng.choice(GRID, 3000), -0.5, 3.0, 3.5, np.nan]
    ensemble = qp.Ensemble(qp.stats.norm, data={"loc": np.zeros((zmode.size, 1)), "scale": np.ones((zmode.size, 1))},
                           ancil={"zmode": zmode})
    DataStore.allow_overwrite = True
    stage = UniformBinningClassifier.make_stage(name="tomo_test", zmin=0.0, zmax=3.0, n_tom_bins=5,
                                                output=str(tmp_path / "tomo.hdf5"))
    rail = stage.classify(QPHandle("input", data=ensemble)).data["tomo_bin_index"]
    mine = tomographic_bins(zmode, np.linspace(0.0, 3.0, 6))
    np.testing.assert_array_equal(mine, rail)
    assert mine[-4:].tolist() == [UNASSIGNED] * 4


def test_equal_count_cells_split_counts_evenly_and_never_repeat_a_boundary():
    assert equal_count_cells(np.ones(100, dtype=np.int64), 4) == [0, 25, 50, 75, 100]
    counts = np.zeros(10, dtype=np.int64)
    counts[2] = 1000
    counts[7] = 1
    bounds = equal_count_cells(counts, 3)
    assert bounds[0] == 0 and bounds[-1] == 10 and all(b > a for a, b in zip(bounds, bounds[1:]))


def test_nz_statistics_of_a_gaussian():
    nz = np.exp(-0.5 * ((GRID - 1.2) / 0.1) ** 2)
    stats = nz_statistics(GRID, nz)
    assert stats["mean"] == pytest.approx(1.2, abs=1e-6) and stats["std"] == pytest.approx(0.1, rel=1e-3)
    assert stats["median"] == pytest.approx(1.2, abs=1e-3)


def layout(tomography: str = "uniform") -> Layout:
    edges = np.linspace(0.0, 3.0, 6) if tomography != "equal_count" else np.empty(0)
    return Layout(grid=GRID, bands=["u", "g"], point_names=POINTS, tomography=tomography,
                  tomography_estimate="zmode", edges=edges, diagnostics=["todds"], sky_order=4)


def chunk(rng: np.random.Generator, n: int) -> tuple:
    centres = rng.choice(GRID, n)
    pdfs = np.exp(-0.5 * ((GRID[None, :] - centres[:, None]) / 0.05) ** 2).astype(np.float32)
    pdfs[0] = np.nan  # a bad PDF
    points = {name: centres + (0.01 if name == "z_hi68" else -0.01 if name == "z_lo68" else 0.0) for name in POINTS}
    return pdfs, points, {"todds": rng.random(n)}, {"u": 3, "g": 0}, rng.uniform(0, 360, n), rng.uniform(-60, 0, n)


@pytest.mark.parametrize("tomography", ["uniform", "equal_count"])
def test_summaries_add_up_to_the_same_bits_however_pieces_are_grouped(tomography):
    rng = np.random.default_rng(1)
    pieces = []
    for _ in range(6):
        summary = Summary(layout(tomography))
        for _ in range(2):
            bins = summary.add_chunk(*chunk(rng, 500))
            assert (bins is None) == (tomography == "equal_count")
        pieces.append(summary)
    totals = []
    for grouping in ([range(6)], [range(3), range(3, 6)], [[5, 1], [0, 4, 2], [3]]):
        parts = []
        for group in grouping:
            part = Totals(layout(tomography))
            for i in group:
                part.add(pieces[i])
            parts.append(part)
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        totals.append(total.values())
    for other in totals[1:]:
        assert other.keys() == totals[0].keys()
        for name in other:
            np.testing.assert_array_equal(other[name], totals[0][name], err_msg=name)
    values = totals[0]
    assert values["objects"][0] == 6000 and values["bad_pdfs"][0] == 12
    assert values["nondetections"].tolist() == [36, 0] and values["sky"].sum() == 6000
    assert values["point_zmode"][:-3].sum() == 6000 - 0 and values["diag_todds"][:20].sum() == 6000
    stacked_counts = values["tomo_counts"] if tomography == "uniform" else values["cell_counts"]
    assert stacked_counts.sum() == 6000
