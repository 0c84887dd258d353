"""The native LePHARE fit reads LePHARE's settings as LePHARE does, and names those it does not implement."""

from __future__ import annotations

import numpy as np
import pytest

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.native.lephare import BAY_ZG, FitSettings, interpolation_matrix, unsupported_settings

RAIL_DEFAULTS = {"ERR_SCALE": "0.02", "ERR_FACTOR": "1.5", "MAG_ABS": "-24,-5", "MAG_ABS_QSO": "-30,-10",
                 "MAG_REF": "3", "RM_DISCREPANT_BD": "500", "Z_INTERP": "YES", "GLB_CONTEXT": "0",
                 "FORB_CONTEXT": "-1", "AUTO_ADAPT": "NO", "ZFIX": "NO", "INP_TYPE": "M", "CAT_MAG": "AB",
                 "FIR_LIB": "NONE", "APPLY_MW_EXTINCTION": "NO"}


def test_rails_settings_are_all_implemented_and_read_as_numbers():
    assert unsupported_settings(RAIL_DEFAULTS, BAY_ZG) == []
    fit = FitSettings.from_lephare(RAIL_DEFAULTS, np.array([0.01, 0, 0, 0, 0, -0.02]), 6)
    np.testing.assert_array_equal(fit.error_floor, np.full(6, 0.02))
    np.testing.assert_array_equal(fit.error_factor, np.full(6, 1.5))
    assert fit.galaxy_mag_abs == (-24.0, -5.0) and fit.qso_mag_abs == (-30.0, -10.0)
    assert fit.reference_band == 2 and fit.discrepant_threshold == 500.0 and fit.interpolate_z
    assert fit.offsets.tolist() == [0.01, 0, 0, 0, 0, -0.02]
    per_band = FitSettings.from_lephare({**RAIL_DEFAULTS, "ERR_SCALE": "0.01,0.02,0.03,0.04,0.05,0.06"}, None, 6)
    assert per_band.error_floor.tolist() == [0.01, 0.02, 0.03, 0.04, 0.05, 0.06] and not per_band.offsets.any()


@pytest.mark.parametrize("key, value", [("ZFIX", "YES"), ("AUTO_ADAPT", "YES"),
                                        ("APPLY_MW_EXTINCTION", "YES"), ("MW_EBV_FILE", "sfd.fits"),
                                        ("GLB_CONTEXT", "63"), ("FORB_CONTEXT", "3"), ("INP_TYPE", "F"),
                                        ("FIR_LIB", "DALE.list")])
def test_a_setting_the_fit_does_not_implement_is_named(key, value):
    (problem,) = unsupported_settings({**RAIL_DEFAULTS, key: value}, BAY_ZG)
    assert f"'lephare.{key}'" in problem and value in problem


def test_another_posterior_and_bad_band_lists_are_named():
    (problem,) = unsupported_settings(RAIL_DEFAULTS, 9)
    assert "'posterior_output' = 9" in problem
    with pytest.raises(ConfigError, match=r"'lephare.ERR_FACTOR' = '1,2': one value, or one per band \(6\)"):
        FitSettings.from_lephare({**RAIL_DEFAULTS, "ERR_FACTOR": "1,2"}, None, 6)
    with pytest.raises(ConfigError, match="offsets .* 2 values for 6 bands"):
        FitSettings.from_lephare(RAIL_DEFAULTS, np.zeros(2), 6)


def test_the_n_z_prior_bands_are_read_as_lephare_reads_them():
    assert FitSettings.from_lephare(RAIL_DEFAULTS, None, 6).prior_bands == (-2, -2)  # off in RAIL's settings
    assert FitSettings.from_lephare({**RAIL_DEFAULTS, "NZ_PRIOR": "-1"}, None, 6).prior_bands == (-2, -2)
    assert FitSettings.from_lephare({**RAIL_DEFAULTS, "NZ_PRIOR": "4,5"}, None, 6).prior_bands == (3, 4)
    assert FitSettings.from_lephare({**RAIL_DEFAULTS, "NZ_PRIOR": "4"}, None, 6).prior_bands == (3, 3)
    with pytest.raises(ConfigError, match=r"'lephare.NZ_PRIOR' = '4,7': .* between 1 and 6"):
        FitSettings.from_lephare({**RAIL_DEFAULTS, "NZ_PRIOR": "4,7"}, None, 6)


def test_pdfs_move_to_another_grid_as_np_interp_moves_them():
    lephare_grid, run_grid = np.arange(0.0, 3.01, 0.1), np.linspace(0.0, 3.2, 17)
    pdfs = np.random.default_rng(0).random((5, lephare_grid.size))
    expected = np.stack([np.interp(run_grid, lephare_grid, row, left=0.0, right=0.0) for row in pdfs])
    np.testing.assert_allclose(pdfs @ interpolation_matrix(lephare_grid, run_grid), expected, rtol=1e-15, atol=0)
    assert interpolation_matrix(lephare_grid, lephare_grid.copy()) is None
