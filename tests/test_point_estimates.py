"""Point estimates of gridded PDFs."""

import numpy as np
import qp

from pzmpi.estimators.point_estimates import point_estimates


def test_gaussian_pdfs_give_analytic_estimates():
    grid = np.linspace(0.0, 3.0, 3001)
    centres = np.array([0.5, 1.2, 2.0])
    pdfs = np.exp(-0.5 * ((grid[None, :] - centres[:, None]) / 0.1) ** 2)
    est = point_estimates(pdfs, grid)
    np.testing.assert_allclose(est["zmode"], centres, atol=1e-12)
    np.testing.assert_allclose(est["zmean"], centres, atol=1e-6)  # truncated at z=0
    np.testing.assert_allclose(est["zmedian"], centres, atol=1e-6)
    np.testing.assert_allclose(est["z_lo68"], centres - 0.0994458, atol=1e-4)  # 16% quantile: -0.994458 sigma
    np.testing.assert_allclose(est["z_hi68"], centres + 0.0994458, atol=1e-4)


def test_mode_agrees_with_qp_and_ties_take_the_first_peak():
    rng = np.random.default_rng(3)
    grid = np.linspace(0.0, 3.0, 301)
    pdfs = rng.random((50, 301))
    ensemble = qp.Ensemble(qp.interp, data=dict(xvals=grid, yvals=pdfs))
    np.testing.assert_array_equal(point_estimates(pdfs, grid)["zmode"], ensemble.mode(grid).ravel())
    pdfs[0, [10, 200]] = 5.0  # an exact tie: pzmpi documents the first peak (qp's interpolation may pick either)
    assert point_estimates(pdfs, grid)["zmode"][0] == grid[10]


def test_empty_or_invalid_pdfs_give_nan():
    grid = np.linspace(0.0, 1.0, 11)
    pdfs = np.zeros((3, 11))
    pdfs[1, 4] = np.nan
    pdfs[2, 3] = 1.0
    est = point_estimates(pdfs, grid)
    for name, values in est.items():
        assert np.isnan(values[0]) and np.isnan(values[1]), name
    assert est["zmode"][2] == grid[3]
    assert grid[2] < est["zmedian"][2] < grid[4]
