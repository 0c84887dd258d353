"""The gridded LePHARE fit against LePHARE's own arithmetic (``lephare_exact``) on synthetic libraries.

``lephare_exact`` is LePHARE to the bit (test_lephare.py holds it to RAIL's ``estimate()``);
here the gridded fit must give the same values (chi2 minima, best models, Z_BEST and
ZQ_BEST) to the bit and the same PDFs to 2e-9 of their peak, on libraries built to
reach every decision: duplicated rows (ties), MAG_ABS rejections with scales on a limit,
discrepant bands, gaps and non-detections, with and without Z_INTERP. No LePHARE
binary is needed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pzmpi.estimators.native.lephare import FitSettings, Library
from pzmpi.estimators.native.lephare_exact import GALAXY, QSO, STAR, fit_chunk_exactly, limit_side
from pzmpi.estimators.native.lephare_gridded import fit_chunk_on_grid, grid_tables

GRID = np.linspace(0.0, 4.0, 41)
BANDS = 6
GALAXY_ROWS, QSO_ROWS, STARS = 24, 5, 7
LIMIT_HIT = 3  # the object whose best galaxy model gets its scale put just past its MAG_ABS bright limit
TIED = (8, GRID.size + 10)  # (object, galaxy model) made from galaxy row 1, which repeats row 0
ACROSS_BINS = (9, 2 * GRID.size + 10, 3 * GRID.size + 3)  # (object, model, its twin in another row and bin)
DISCREPANT = 6  # the object with one band far off
THRESHOLD = 60.0  # RM_DISCREPANT_BD


def table(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Smooth synthetic SEDs on the grid: (rows x grid points, bands), fainter with redshift."""
    tilt = rng.uniform(-2, 2, (rows, 1, 1))
    colours = rng.uniform(0.5, 2.0, (rows, 1, BANDS)) * np.linspace(1.0, 3.0, BANDS) ** tilt
    dimming = (1.0 + GRID)[None, :, None] ** -rng.uniform(2.0, 4.0, (rows, 1, BANDS))
    return (colours * dimming).reshape(rows * GRID.size, BANDS) * 1e-29


def synthetic_library(rng: np.random.Generator) -> Library:
    """QSO table, galaxy table, stars, in LePHARE's loading order; galaxy row 1 repeats row 0 (every model tied),
    and one model of row 3 repeats one of row 2 at another redshift (a tie across bins)."""
    galaxies, quasars = table(rng, GALAXY_ROWS), table(rng, QSO_ROWS)
    galaxies[GRID.size:2 * GRID.size] = galaxies[:GRID.size]
    galaxies[ACROSS_BINS[2]] = galaxies[ACROSS_BINS[1]]
    stars = rng.uniform(0.5, 2.0, (STARS, BANDS)) * 1e-29
    fluxes = np.ascontiguousarray(np.vstack([quasars, galaxies, stars]).T)
    kind = np.r_[np.full(len(quasars), QSO), np.full(len(galaxies), GALAXY), np.full(STARS, STAR)]
    redshift = np.r_[np.tile(GRID, QSO_ROWS + GALAXY_ROWS), np.zeros(STARS)]
    pdf_bin = np.r_[np.tile(np.arange(GRID.size), QSO_ROWS + GALAXY_ROWS), np.zeros(STARS, dtype=np.int64)]
    reference = rng.uniform(-21.0, -19.0, kind.size)
    number = np.arange(kind.size)
    return Library(fluxes, kind, redshift, reference, number, pdf_bin, GRID.copy(), funz0=30.0,
                   nuvk_class=np.full(kind.size, 3))


def synthetic_objects(rng: np.random.Generator, library: Library, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Magnitudes of noisy library models, with gaps, non-detections (99 +- 1) and a discrepant band."""
    models = rng.integers(0, library.kind.size, n)
    models[TIED[0]] = QSO_ROWS * GRID.size + TIED[1]
    models[ACROSS_BINS[0]] = QSO_ROWS * GRID.size + ACROSS_BINS[1]
    scale = 10.0 ** rng.uniform(0.0, 2.0, n)
    errors = rng.uniform(0.02, 0.3, (n, BANDS))
    flux = library.fluxes_by_band[:, models].T * scale[:, None]
    mags = -2.5 * np.log10(flux) - 48.6 + rng.normal(0.0, 1.0, (n, BANDS)) * errors
    gaps = rng.random((n, BANDS)) < 0.08
    mags[gaps], errors[gaps] = np.nan, np.nan
    tied = ACROSS_BINS[0]  # no noise: its model and the model's twin fit best, with the same chi2
    mags[tied], errors[tied] = -2.5 * np.log10(flux[tied]) - 48.6, 0.05
    mags[5, 2], errors[5, 2] = 99.0, 1.0
    mags[DISCREPANT, 3] -= 4.0  # one band far off: its object goes through the discrepant-band removal
    errors[DISCREPANT, 3] = 0.01
    return mags, errors


def settings(interpolate_z: bool, bright: float, faint: float, threshold: float = THRESHOLD,
             prior_bands: tuple[int, int] = (-2, -2)) -> FitSettings:
    return FitSettings(error_floor=np.full(BANDS, 0.02), error_factor=np.full(BANDS, 1.5), offsets=np.zeros(BANDS),
                       galaxy_mag_abs=(bright, faint), qso_mag_abs=(bright - 4.0, faint), reference_band=2,
                       discrepant_threshold=threshold, interpolate_z=interpolate_z, prior_bands=prior_bands)


def scales(library: Library, mags: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """(objects, models): LePHARE's scale A/B, to rounding (the weights with its error floor of 0.02)."""
    flux = 10.0 ** (-0.4 * (np.nan_to_num(mags, nan=30.0) + 48.6))
    weight = np.where(np.isnan(mags), 0.0, 1.0 / (flux ** 2 * (np.nan_to_num(errors) ** 2 + 0.02 ** 2)))
    return ((flux * weight) @ library.fluxes_by_band) / (weight @ library.fluxes_by_band ** 2)


def fit_both(library: Library, fit: FitSettings, mags: np.ndarray, errors: np.ndarray,
             gridded: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(PDFs, Z_BEST and ZQ_BEST, each type's minimum chi2, each type's best model) from one kernel."""
    models, rules = library.fit_models(fit), fit.rules(library.funz0)
    n = mags.shape[0]
    pdfs, best = np.empty((n, GRID.size)), np.empty((n, 2))
    chi_min, best_model = np.empty((n, 3)), np.empty((n, 3), dtype=np.int64)
    if gridded:
        tables = grid_tables(models, with_prior=fit.prior_bands[0] >= 0)
        stars = np.flatnonzero(library.kind == STAR)
        fit_chunk_on_grid(mags, errors, models, rules, tables, stars, pdfs, best, chi_min, best_model)
    else:
        fit_chunk_exactly(mags, errors, models, rules, pdfs, best, chi_min, best_model)
    return pdfs, best, chi_min, best_model


@pytest.fixture(scope="module")
def case() -> tuple[Library, np.ndarray, np.ndarray, float, float, int]:
    """The library, the objects, and MAG_ABS limits at the 10th and 90th percentiles of the galaxy models' absolute
    magnitudes for these objects (a fifth rejected). One object's best galaxy model gets its scale put 1e-12 mag
    past the bright limit: inside the margin where only LePHARE's own logarithm decides, and rejected by it."""
    rng = np.random.default_rng(11)
    library = synthetic_library(rng)
    mags, errors = synthetic_objects(rng, library, 64)
    scale = scales(library, mags, errors)
    absolute = library.reference_mag_z0 - 2.5 * np.log10(scale)
    bright, faint = np.percentile(absolute[:, library.kind == GALAXY], [10, 90])
    best_model = fit_both(library, settings(True, bright, faint), mags, errors, gridded=False)[3]
    model = int(best_model[LIMIT_HIT, GALAXY])
    library.reference_mag_z0[model] = bright + 2.5 * np.log10(scale[LIMIT_HIT, model]) - 1e-12
    return library, mags, errors, bright, faint, model


@pytest.mark.parametrize("interpolate_z", [True, False])
def test_the_gridded_fit_gives_lephares_values_and_pdfs(case, interpolate_z):
    library, mags, errors, bright, faint, near_limit = case
    fit = settings(interpolate_z, bright, faint)
    mine = fit_both(library, fit, mags, errors, gridded=True)
    exact = fit_both(library, fit, mags, errors, gridded=False)
    for name, got, expected in zip(("best", "chi_min", "best_model"), mine[1:], exact[1:]):
        np.testing.assert_array_equal(got, expected, err_msg=name)
    peak = exact[0].max(axis=1, keepdims=True)
    assert np.all(peak > 0)
    assert (np.abs(mine[0] - exact[0]) / peak).max() <= 2e-9

    # Every decision was reached. The object made from the repeated row has its best galaxy in row 0;
    first_galaxy = QSO_ROWS * GRID.size
    assert first_galaxy <= exact[3][TIED[0], GALAXY] < first_galaxy + GRID.size
    # the one made from a model with a twin in a later row and an earlier bin has the first in library order, and
    # its redshift from the twin's earlier bin (as LePHARE's first minimum of MIN_ZG);
    obj, model, twin = ACROSS_BINS
    assert exact[3][obj, GALAXY] == first_galaxy + model
    if not interpolate_z:
        assert exact[1][obj, GALAXY] == GRID[model % GRID.size]
    else:
        assert abs(exact[1][obj, GALAXY] - GRID[twin % GRID.size]) <= GRID[1] - GRID[0]
    # the discrepant object's fit is over the threshold until a band is dropped;
    kept = fit_both(library, settings(interpolate_z, bright, faint, threshold=1e9), mags, errors, gridded=True)
    assert kept[2][DISCREPANT].min() > THRESHOLD > exact[2][DISCREPANT].min()
    # the limits rejected some galaxy models and kept others;
    scale = scales(library, mags, errors)
    models = library.fit_models(fit)
    galaxy = library.kind == GALAXY
    outside = (scale[:, galaxy] > models.scale_high[galaxy]) | (scale[:, galaxy] < models.scale_low[galaxy])
    assert 0.05 < outside.mean()
    # the best model put past its limit sat within the margin, and LePHARE's logarithm rejected it.
    low, high = models.scale_low[near_limit], models.scale_high[near_limit]
    assert limit_side(scale[LIMIT_HIT, near_limit], low, high) == 0
    assert exact[3][LIMIT_HIT, GALAXY] != near_limit


def test_the_gridded_fit_is_the_same_whatever_the_chunk(case):
    library, mags, errors, bright, faint, _ = case
    fit = settings(True, bright, faint)
    whole = fit_both(library, fit, mags, errors, gridded=True)
    order = np.r_[np.arange(1, 64, 2), np.arange(0, 64, 2)][::-1]
    shuffled = fit_both(library, fit, mags[order], errors[order], gridded=True)
    for got, expected in zip(shuffled, whole):
        np.testing.assert_array_equal(got, expected[order])
    alone = fit_both(library, fit, mags[7:8], errors[7:8], gridded=True)
    for got, expected in zip(alone, whole):
        np.testing.assert_array_equal(got, expected[7:8])


def test_only_a_library_on_the_grid_is_fitted_as_tables(case):
    library = case[0]
    fit = settings(True, -25.0, -10.0)

    def tables_of(changed: Library, with_prior: bool = False):
        return grid_tables(changed.fit_models(fit), with_prior)

    tables = tables_of(library)
    assert tables.first_model.tolist() == [QSO_ROWS * GRID.size, 0] and tables.rows.tolist() == [GALAXY_ROWS, QSO_ROWS]
    first_galaxy = QSO_ROWS * GRID.size
    np.testing.assert_array_equal(tables.by_bin[3, 2], library.fluxes_by_band[:, first_galaxy + 2 * GRID.size + 3])
    np.testing.assert_array_equal(tables.by_bin[0, GALAXY_ROWS + 1], library.fluxes_by_band[:, GRID.size])
    short = library.pdf_bin.copy()
    short[first_galaxy + 5] = 6  # a template with a redshift missing (as an age limit makes it)
    assert tables_of(dataclasses.replace(library, pdf_bin=short)) is None
    mixed = library.kind.copy()
    mixed[[first_galaxy - 1, first_galaxy]] = mixed[[first_galaxy, first_galaxy - 1]]
    assert tables_of(dataclasses.replace(library, kind=mixed)) is None
    # with the N(z) prior, each row of one NUV-K type and each bin's galaxies at one redshift
    typed = prior_library(library)
    assert tables_of(typed).row_prior.tolist() == [4] * (GALAXY_ROWS + QSO_ROWS)  # the prior off: no type read
    with_prior = tables_of(typed, with_prior=True)
    assert with_prior.row_prior.tolist() == [*typed.nuvk_class[first_galaxy::GRID.size][:GALAXY_ROWS], *[4] * QSO_ROWS]
    np.testing.assert_array_equal(with_prior.bin_redshift, GRID)
    two_types = typed.nuvk_class.copy()
    two_types[first_galaxy + 7] = (two_types[first_galaxy + 7] + 1) % 4
    assert tables_of(dataclasses.replace(typed, nuvk_class=two_types)) is not None
    assert tables_of(dataclasses.replace(typed, nuvk_class=two_types), with_prior=True) is None
    shifted = typed.redshift.copy()
    shifted[first_galaxy + GRID.size + 4] += 1e-6
    assert tables_of(dataclasses.replace(typed, redshift=shifted), with_prior=True) is None


def prior_library(library: Library) -> Library:
    """``library`` with each galaxy row of one NUV-K type, all four types present."""
    first_galaxy = QSO_ROWS * GRID.size
    types = np.full(library.kind.size, 3)
    types[first_galaxy:first_galaxy + GALAXY_ROWS * GRID.size] = np.repeat(np.arange(GALAXY_ROWS) % 4, GRID.size)
    return dataclasses.replace(library, nuvk_class=types)


REJECTED_BIN = 12  # the bin whose galaxies MAG_ABS rejects for every object


def edge_case(case) -> tuple[Library, np.ndarray, np.ndarray]:
    """``case``'s library with each galaxy row of one NUV-K type and every galaxy of ``REJECTED_BIN`` rejected, and
    its objects with some made to fit best beside that bin (40-47), at the grid's first and last bins (56-59), with
    the NZ_PRIOR band missing (48-51, band 3) or both its bands missing (52-55, bands 3 and 4), and some made bright
    (20-23)."""
    library, mags, errors = prior_library(case[0]), case[1].copy(), case[2].copy()
    first_galaxy = QSO_ROWS * GRID.size
    reference = library.reference_mag_z0.copy()
    reference[first_galaxy + REJECTED_BIN:first_galaxy + GALAXY_ROWS * GRID.size:GRID.size] = 200.0  # too faint
    library = dataclasses.replace(library, reference_mag_z0=reference)
    rng = np.random.default_rng(5)
    rows = rng.integers(0, GALAXY_ROWS, 12) * GRID.size
    chosen = first_galaxy + rows + np.r_[np.tile([REJECTED_BIN - 1, REJECTED_BIN + 1], 4), 0, 0, GRID.size - 1,
                                         GRID.size - 1]
    flux = library.fluxes_by_band[:, chosen].T * 10.0 ** rng.uniform(0.5, 1.5, (12, 1))
    made = np.r_[40:48, 56:60]
    mags[made], errors[made] = -2.5 * np.log10(flux) - 48.6, 0.03
    mags[48:52, 3], errors[48:52, 3] = np.nan, np.nan
    mags[52:56, 3:5], errors[52:56, 3:5] = np.nan, np.nan
    mags[20:24] -= 4.5  # bright: under the prior's cut at 20
    return library, mags, errors


def assert_kernels_agree(library: Library, fit: FitSettings, mags: np.ndarray, errors: np.ndarray) -> tuple:
    """The gridded fit equals the exact one: values to the bit, PDFs to 2e-9 of their peak; returns the exact fit."""
    mine = fit_both(library, fit, mags, errors, gridded=True)
    exact = fit_both(library, fit, mags, errors, gridded=False)
    for name, got, expected in zip(("best", "chi_min", "best_model"), mine[1:], exact[1:]):
        np.testing.assert_array_equal(got, expected, err_msg=name)
    peak = exact[0].max(axis=1, keepdims=True)
    assert (np.abs(mine[0] - exact[0]) / peak).max() <= 2e-9
    return exact


def test_the_gridded_fit_adds_the_n_z_prior_as_lephare(case):
    """NZ_PRIOR on band 3 (band 4 as fallback): the same values and PDFs as LePHARE's arithmetic, for objects
    brighter than 20 and 22 (the prior's cuts), faint ones, ones with neither band (a weight of 1), and ones whose
    best bin lies beside a bin where every galaxy is rejected (there LePHARE's minimum is 1e9 less the prior)."""
    library, mags, errors = edge_case(case)
    bright, faint = case[3], case[4]
    for interpolate_z in (True, False):
        exact = assert_kernels_agree(library, settings(interpolate_z, bright, faint, prior_bands=(3, 4)), mags, errors)
    without = fit_both(library, settings(True, bright, faint), mags, errors, gridded=True)
    band = np.where(np.isnan(mags[:, 3]), mags[:, 4], mags[:, 3])
    band[DISCREPANT] = np.nan  # its band 3 is dropped as discrepant: the prior reads band 4
    assert (band < 20).any() and ((band > 20) & (band < 22)).any() and (band > 22).any()
    assert np.all(exact[1][band < 20, GALAXY] <= 1.0)  # no galaxy above z = 1 brighter than 20
    assert np.all(exact[1][band < 22, GALAXY] <= 2.0)
    assert (exact[1][:, GALAXY] != without[1][:, GALAXY]).any()  # the prior moved some Z_BEST
    np.testing.assert_array_equal(exact[2][52:56], without[2][52:56])  # neither band: no prior
    beside_bins = library.pdf_bin[exact[3][40:48, GALAXY]]
    assert np.isin(beside_bins, [REJECTED_BIN - 1, REJECTED_BIN + 1]).sum() >= 4


def without_quasars(library: Library) -> Library:
    """``library`` without its QSO table."""
    kept = library.kind != QSO
    return dataclasses.replace(
        library, fluxes_by_band=np.ascontiguousarray(library.fluxes_by_band[:, kept]), kind=library.kind[kept],
        redshift=library.redshift[kept], reference_mag_z0=library.reference_mag_z0[kept],
        number=library.number[kept], pdf_bin=library.pdf_bin[kept], nuvk_class=library.nuvk_class[kept])


def test_the_gridded_fit_at_the_librarys_edges(case):
    """Without the prior: a bin whose galaxies are all rejected beside objects' best bins, best fits at the grid's
    first and last bins (where Z_BEST takes the grid point, not a parabola), and a library without QSO models."""
    library, mags, errors = edge_case(case)
    bright, faint = case[3], case[4]
    for interpolate_z in (True, False):
        exact = assert_kernels_agree(library, settings(interpolate_z, bright, faint), mags, errors)
        if interpolate_z:
            edge = np.isin(library.pdf_bin[exact[3][:, GALAXY]], [0, GRID.size - 1])
            assert edge.sum() >= 2 and np.all(np.isin(exact[1][edge, GALAXY], GRID[[0, -1]]))
        beside_bins = library.pdf_bin[exact[3][40:48, GALAXY]]
        assert np.isin(beside_bins, [REJECTED_BIN - 1, REJECTED_BIN + 1]).sum() >= 4
    galaxies_only = without_quasars(library)
    tables = grid_tables(galaxies_only.fit_models(settings(True, bright, faint)), with_prior=False)
    assert tables.rows.tolist() == [GALAXY_ROWS, 0]
    exact = assert_kernels_agree(galaxies_only, settings(True, bright, faint), mags, errors)
    assert np.all(exact[2][:, QSO] == 1e9) and np.all(exact[3][:, QSO] == -99) and np.all(exact[1][:, QSO] == -99.9)
