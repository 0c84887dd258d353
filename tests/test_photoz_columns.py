"""The federated table's columns of one code: DP1's point values as pzmpi computes its point estimates, flags, and
a compact PDF that qp's packed_interp reads back within its quantisation."""

from __future__ import annotations

import numpy as np
import pytest
import qp

from pzmpi.deliver.photoz_columns import (FLAG_MASS_OUTSIDE_GRID, FLAG_NO_PDF, NONDETECTION_SHIFT, code_columns,
                                          pack_pdfs, trim_mantissa)
from pzmpi.estimators.point_estimates import point_estimates

GRID = np.linspace(0.0, 3.0, 301)


def gaussians(centres: np.ndarray, widths: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * ((GRID[None, :] - centres[:, None]) / widths[:, None]) ** 2).astype(np.float32)


def test_point_values_are_pzmpis_point_estimates_to_14_mantissa_bits():
    rng = np.random.default_rng(5)
    pdfs = gaussians(rng.uniform(0.2, 2.5, 500), rng.uniform(0.02, 0.3, 500))
    pdfs += 0.3 * gaussians(rng.uniform(0.2, 2.5, 500), rng.uniform(0.05, 0.2, 500))
    columns = code_columns(pdfs, GRID, np.zeros(500, np.uint16), 128)
    reference = point_estimates(pdfs, GRID)
    for mine, theirs in (("z_mode", "zmode"), ("z_mean", "zmean"), ("z_median", "zmedian"),
                         ("z_err68_low", "z_lo68"), ("z_err68_high", "z_hi68")):
        assert columns[mine].dtype == np.float32
        np.testing.assert_allclose(columns[mine], reference[theirs], rtol=2.0 ** -15, err_msg=mine)
    assert (columns["z_err95_low"] < columns["z_err68_low"]).all()
    assert (columns["z_err68_high"] < columns["z_err95_high"]).all()


def test_the_95_percent_bounds_of_a_gaussian():
    pdfs = gaussians(np.array([1.2]), np.array([0.1]))
    columns = code_columns(pdfs, GRID, np.zeros(1, np.uint16), 256)
    assert columns["z_err95_low"][0] == pytest.approx(1.2 - 1.959964 * 0.1, abs=1e-3)  # a tenth of the grid spacing
    assert columns["z_err95_high"][0] == pytest.approx(1.2 + 1.959964 * 0.1, abs=1e-3)  # a tenth of the grid spacing


def test_flags_say_no_pdf_mass_outside_the_grid_and_which_bands_were_not_detected():
    pdfs = gaussians(np.array([1.0, 1.0, 3.0, 1.0]), np.array([0.1, 0.1, 0.1, 0.1]))
    pdfs /= np.trapezoid(pdfs[0], GRID)  # every row by a whole Gaussian's area: the one on the grid's end keeps half
    pdfs[1] = np.nan
    pdfs[3] = 0.0
    flags = code_columns(pdfs, GRID, np.array([0b100001, 0, 0, 0], np.uint16), 128)["flags"]
    assert flags[0] == 0b100001 << NONDETECTION_SHIFT
    assert flags[1] == FLAG_NO_PDF and flags[3] == FLAG_NO_PDF
    assert flags[2] == FLAG_MASS_OUTSIDE_GRID


@pytest.mark.parametrize("levels", [256, 128, 64])
def test_qp_reads_the_packed_pdf_back_within_its_quantisation(levels):
    rng = np.random.default_rng(9)
    pdfs = gaussians(rng.uniform(0.2, 2.5, 200), rng.uniform(0.02, 0.3, 200)).astype(np.float64)
    pdfs /= np.trapezoid(pdfs, GRID, axis=1)[:, None]
    packed, scale = pack_pdfs(pdfs, levels)
    step = 256 // levels
    assert packed.dtype == np.uint8 and ((packed % step == 0) | (packed == 255)).all()
    ensemble = qp.Ensemble(qp.packed_interp, data=dict(xvals=GRID, ypacked=packed, ymax=scale.reshape(-1, 1)))
    unpacked = packed / 255.0 * scale[:, None]
    np.testing.assert_allclose(unpacked, pdfs, rtol=0, atol=float(pdfs.max()) * (step / 2 / 255 + 1e-4))
    rebuilt = ensemble.pdf(GRID)  # qp normalises what it unpacks
    np.testing.assert_allclose(rebuilt, unpacked / np.trapezoid(unpacked, GRID, axis=1)[:, None], rtol=1e-6,
                               atol=1e-12)


def test_trimmed_mantissas_are_rounded_to_14_bits():
    values = np.array([0.57, 1.2345678, 2.9999, np.nan, 0.0], dtype=np.float32)
    trimmed = trim_mantissa(values)
    assert np.isnan(trimmed[3]) and trimmed[4] == 0.0
    np.testing.assert_allclose(trimmed[:3], values[:3], rtol=2.0 ** -15)
    assert (trimmed[:3].view(np.uint32) & np.uint32((1 << 9) - 1) == 0).all()
