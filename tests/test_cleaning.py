"""Cleaning: magnitudes equal the plain formulas, and every invalid flux is a non-detection."""

from decimal import Decimal, localcontext

import numba
import numpy as np
import pytest

from pzmpi.datasets.dc2_sample import magnitudes_to_fluxes
from pzmpi.estimators.cleaning import clean_chunk, input_columns
from pzmpi.estimators.config import CleaningConfig, InputConfig
from pzmpi.photometry.bands import LSST_EXTINCTION, LSST_MAG_LIMITS, ZP_NJY
from pzmpi.photometry.log10 import log10
from pzmpi.photometry.magnitudes import flux_to_magnitude, selected_flux_to_magnitude


def make_input(kind: str = "flux", bands=("g", "r")) -> InputConfig:
    flux = kind == "flux"
    return InputConfig(paths=["x"], id_column="objectId", bands=list(bands),
                       flux_column="{band}_flux" if flux else "", flux_error_column="{band}_fluxErr" if flux else "",
                       magnitude_column="" if flux else "mag_{band}", magnitude_error_column="" if flux else "magerr_{band}",
                       magnitude_nondetect_val=99.0, ebv_column="ebv", ra_column="", dec_column="")


def make_cleaning(deredden: bool = False, dtype: str = "float64") -> CleaningConfig:
    return CleaningConfig(deredden=deredden, extinction=dict(LSST_EXTINCTION), nondetect_val=99.0,
                          mag_limits=dict(LSST_MAG_LIMITS), magnitude_dtype=dtype)


def test_zero_point_is_ab_in_nanojansky():
    assert ZP_NJY == pytest.approx(-2.5 * np.log10(1e-9 / 3631), abs=1e-12)
    assert abs(ZP_NJY - 31.4) < 1e-3  # pz-compute's rounded value


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_flux_to_magnitude_matches_numpy(dtype):
    rng = np.random.default_rng(1)
    flux = (10 ** rng.uniform(0, 5, 1000)).astype(dtype)
    err = (flux * rng.uniform(0.001, 0.5, 1000)).astype(dtype)
    raw = {"objectId": np.arange(1000), "g_flux": flux, "g_fluxErr": err, "r_flux": flux, "r_fluxErr": err}
    chunk = clean_chunk(raw, make_input(), make_cleaning())
    expected = -2.5 * np.log10(flux.astype(np.float64)) + 2.5 * np.log10(3631e9)
    expected_err = 2.5 / np.log(10) * err.astype(np.float64) / flux.astype(np.float64)
    np.testing.assert_allclose(chunk.columns["mag_g_lsst"], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(chunk.columns["mag_err_g_lsst"], expected_err, rtol=1e-12)
    assert chunk.nondetections == {"g": 0, "r": 0}


def test_invalid_fluxes_become_nondetections_with_a_limit_error():
    flux = np.array([100.0, 0.0, -5.0, np.nan, np.inf, 50.0, 50.0, -np.inf, 10.0])
    err = np.array([1.0, 2.0, 3.0, 4.0, 1.0, -1.0, np.nan, np.nan, 0.0])
    raw = {"objectId": np.arange(9), "g_flux": flux, "g_fluxErr": err, "r_flux": flux, "r_fluxErr": err}
    chunk = clean_chunk(raw, make_input(), make_cleaning())
    mag, mag_err = chunk.columns["mag_g_lsst"], chunk.columns["mag_err_g_lsst"]
    detected = np.array([True, False, False, False, False, False, False, False, True])
    assert np.all(mag[~detected] == 99.0)
    assert np.all(np.isfinite(mag)) and np.all(np.isfinite(mag_err)) and np.all(mag_err >= 0)
    # non-detections with a usable error carry their 1-sigma limiting magnitude, others the band limit
    np.testing.assert_allclose(mag_err[[1, 2, 3, 4]], -2.5 * np.log10(err[[1, 2, 3, 4]]) + ZP_NJY)
    assert mag_err[5] == mag_err[6] == mag_err[7] == LSST_MAG_LIMITS["g"]
    assert mag_err[8] == 0.0 and mag[8] == pytest.approx(-2.5 * np.log10(10.0) + ZP_NJY)
    assert chunk.nondetections["g"] == 7


def test_dereddening_applies_to_detections_only_and_counts_bad_ebv():
    raw = {"objectId": np.arange(3), "g_flux": np.array([100.0, 0.0, 100.0]), "g_fluxErr": np.ones(3),
           "r_flux": np.full(3, 100.0), "r_fluxErr": np.ones(3), "ebv": np.array([0.1, 0.1, np.nan])}
    plain = clean_chunk(raw, make_input(), make_cleaning())
    corrected = clean_chunk(raw, make_input(), make_cleaning(deredden=True))
    assert corrected.columns["mag_g_lsst"][0] == pytest.approx(plain.columns["mag_g_lsst"][0] - 3.64 * 0.1)
    assert corrected.columns["mag_r_lsst"][1] == pytest.approx(plain.columns["mag_r_lsst"][1] - 2.70 * 0.1)
    assert corrected.columns["mag_g_lsst"][1] == 99.0
    assert corrected.columns["mag_g_lsst"][2] == plain.columns["mag_g_lsst"][2]
    assert corrected.bad_ebv == 1
    assert "ebv" in input_columns(make_input(), make_cleaning(deredden=True))
    assert "ebv" not in input_columns(make_input(), make_cleaning())


def test_magnitude_inputs_keep_good_values_and_rewrite_bad_ones():
    mag = np.array([21.5, 99.0, np.nan, np.inf, 22.0], dtype=np.float32)
    err = np.array([0.05, 26.6, 0.1, 0.1, -0.2], dtype=np.float32)
    raw = {"objectId": np.arange(5), "mag_g": mag, "magerr_g": err}
    chunk = clean_chunk(raw, make_input("mag", bands=("g",)), make_cleaning())
    out = chunk.columns["mag_g_lsst"]
    assert out[0] == np.float64(np.float32(21.5)) and chunk.columns["mag_err_g_lsst"][0] == np.float64(np.float32(0.05))
    assert np.all(out[1:] == 99.0)
    assert chunk.columns["mag_err_g_lsst"][1] == pytest.approx(26.6, abs=1e-5)
    assert chunk.nondetections == {"g": 4}


def test_round_trip_of_the_sample_converter():
    rng = np.random.default_rng(5)
    mag = np.r_[rng.uniform(15, 28, 10000), 99.0].astype(np.float32)
    err = np.r_[rng.uniform(0.005, 0.5, 10000), 26.62].astype(np.float32)
    flux, flux_err = magnitudes_to_fluxes(mag, err)
    assert flux[-1] == 0.0
    raw = {"objectId": np.arange(mag.size), "g_flux": flux, "g_fluxErr": flux_err}
    chunk = clean_chunk(raw, make_input(bands=("g",)), make_cleaning())
    np.testing.assert_allclose(chunk.columns["mag_g_lsst"], mag.astype(np.float64), atol=1e-12)
    np.testing.assert_allclose(chunk.columns["mag_err_g_lsst"], err.astype(np.float64), rtol=1e-12)
    # stored as float32, the round trip gives back RAIL's float32 values bit for bit
    as_float32 = clean_chunk(raw, make_input(bands=("g",)), make_cleaning(dtype="float32"))
    np.testing.assert_array_equal(as_float32.columns["mag_g_lsst"], mag)
    np.testing.assert_array_equal(as_float32.columns["mag_err_g_lsst"], err)


def test_log10_is_within_an_ulp_and_exact_at_powers_of_ten():
    @numba.njit(cache=False)
    def all_log10(values, out):
        for i in range(values.size):
            out[i] = log10(values[i])

    rng = np.random.default_rng(7)
    values = np.concatenate([10 ** rng.uniform(-3, 9, 20000), rng.uniform(0.69, 1.45, 5000),
                             1 + rng.uniform(-1e-9, 1e-9, 500), [5e-324, 1e-310, 2.2250738585072014e-308,
                                                                  1.7976931348623157e308, 0.5, 2.0]])
    out = np.empty_like(values)
    all_log10(values, out)
    with localcontext() as context:
        context.prec = 40
        exact = np.array([float(Decimal(v).log10()) for v in values])
    nonzero = exact != 0
    assert np.max(np.abs(out - exact)[nonzero] / np.spacing(np.abs(exact[nonzero]))) <= 1.0
    powers = 10.0 ** np.arange(-20, 21)
    out = np.empty_like(powers)
    all_log10(powers, out)
    np.testing.assert_array_equal(out, np.arange(-20, 21))
    assert not np.signbit(out[20])  # log10(1) is +0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_selected_rows_and_rounding_equal_converting_the_gathered_rows_then_numpy_round(dtype):
    """The kernel's two options: ``rows`` (the primary cut, in blocks of GATHER_BLOCK) and ``scale`` (rounding)."""
    rng = np.random.default_rng(8)
    n = 5000
    flux = (10 ** rng.uniform(-1, 5, n) * rng.choice([1, 1, 1, -1, 0], n)).astype(dtype)
    err = (np.abs(flux) * 0.1 + 1).astype(dtype)
    ebv = rng.uniform(0, 0.2, n)
    rows = np.flatnonzero(rng.random(n) < 0.7)
    picked = [np.empty(rows.size, np.float32) for _ in range(2)]
    count = selected_flux_to_magnitude(flux, err, ebv, rows, 3.64, 99.0, 27.0, 1e4, *picked)
    reference = [np.empty(rows.size) for _ in range(2)]
    assert count == flux_to_magnitude(flux[rows], err[rows], ebv[rows], 3.64, 99.0, 27.0, 0.0, *reference)
    for got, expected in zip(picked, reference):
        np.testing.assert_array_equal(got, np.round(expected, 4).astype(np.float32))


def test_no_row_selected_converts_nothing_and_writes_nowhere():
    """A chunk with no primary row: nothing is converted, and not one byte outside the (empty) outputs."""
    flux = np.ones(1000)
    guard = np.full(8, 7.0, dtype=np.float32)
    mag, magerr = guard[:0], guard[4:4]
    assert selected_flux_to_magnitude(flux, flux, np.empty(0), np.empty(0, np.int64), 0.0, 99.0, 27.0, 0.0,
                                      mag, magerr) == 0
    assert np.all(guard == 7.0)
