"""LePHARE's fit over a library on a redshift grid: all chi2 of a chunk in vectorised passes, LePHARE's own
arithmetic only where a number is decided.

A library that LePHARE builds on one redshift grid is a table: each galaxy (QSO)
template, with its extinction law, E(B-V) and line strength, is a row, and its models
at the grid's redshifts are the columns, which are the PDF's bins. For a block of
objects against a block of rows kept in cache:

* every model's chi2 comes from the analytic scale, chi2 = S - A²/B, with S = Σ (f w)²,
  A = Σ F f w² and B = Σ F² w², in one vectorised loop (with fused multiply-adds). Every
  term is positive, so this differs from LePHARE's Σ (f w - (A/B) F w)² by rounding
  alone, well under ``CHI2_TOLERANCE`` (S + 1); the MAG_ABS rejection compares A/B with
  the model's scale limits, and a scale within 1e-9 of a limit is settled by LePHARE's
  own sums and logarithm;
* each bin keeps its smallest chi2 so far and the sum of exp(-(chi2 - that)/2) over its
  models, rescaled when the smallest falls: the BAY_ZG PDF relative to each bin's best
  model, without the models more than ``PDF_CUTOFF`` above it (each under e^-35 of it).

Then, per object, LePHARE's exact chi2 (``lephare_exact.model_chi2``) for only the models
whose analytic chi2 lies within twice the tolerance of a minimum that decides a number:
each type's minimum (CHI_BEST, CHI_QSO, MOD_BEST), and the first bin that reaches it with
its two neighbours (the parabola of Z_BEST and ZQ_BEST). These are thus LePHARE's own
numbers, and the PDF is LePHARE's to 2e-9 of its peak. Stars, outside the tables,
are fitted exactly, and an object whose best chi2 exceeds RM_DISCREPANT_BD, or whose
galaxies all lie near LePHARE's 1e9 sentinel of a rejected model, is fitted whole by
``lephare_exact``. Nothing in an object's numbers depends on another object,
so chunks and ranks cannot change them.

The N(z) prior adds -2 ln P(z | T, m) P(T | m) to each galaxy model. Every model of a
row has one NUV-K type and every galaxy model of a bin one redshift, so per object the
prior is a table of 4 types x the grid, subtracted row by row like the chi2 themselves.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from pzmpi.estimators.native.lephare_exact import (
    GALAXY,
    HIGH_CHI2,
    NEGLIGIBLE_CHI2,
    NO_REDSHIFT,
    QSO,
    STAR,
    FitModels,
    band_terms,
    fit_object_exactly,
    model_chi2,
    model_scale,
    normalise_pdf,
    outside_mag_abs,
    parabola_vertex,
    prepare_source,
    prior_magnitude,
    prior_weight,
    source_scratch,
)

OBJECT_BLOCK = 32  # objects that share a block of rows while it is in cache
BLOCK_MODELS = 4096  # models (whole rows) per block: fluxes and limits (10 x 8 bytes a model at 6 bands) stay in L2
PDF_CUTOFF = 70.0  # models this far above their bin's best add under e^-35 of it each: left out of the PDF
CHI2_TOLERANCE = 1e-13  # |analytic chi2 - LePHARE's| <= CHI2_TOLERANCE (S + 1); the rounding bound is 1.2e-14 S


NO_PRIOR_ROW = 4  # the row of the per-object prior table that holds zeros: QSO rows, or the prior off


class GridTables(NamedTuple):
    """The galaxy and QSO models as tables on the PDF grid (rows GALAXY and QSO of the per-kind arrays)."""

    first_model: np.ndarray  # the table's first model in the library
    rows: np.ndarray
    row_offset: np.ndarray  # the table's first row in ``by_bin``
    by_bin: np.ndarray  # (bins, rows of both tables, bands): the fluxes again, a bin's models contiguous
    row_prior: np.ndarray  # (rows of both tables,): each row's N(z)-prior type, NO_PRIOR_ROW for QSO or no prior
    bin_redshift: np.ndarray  # (bins,): the galaxy models' redshift in each bin, where the prior is evaluated


def grid_tables(models: FitModels, with_prior: bool) -> GridTables | None:
    """The galaxy and QSO models as tables when each kind's models are contiguous rows, every row one template at
    each grid redshift in turn (as LePHARE builds a library on its grid), and every flux finite and not negative;
    with the N(z) prior, also every row of one NUV-K type and every bin's galaxies at one redshift. None when they
    are not (a library with an age limit per redshift, another grid)."""
    kind, pdf_bin, fluxes, n_grid = models.kind, models.pdf_bin, models.fluxes, models.pdf_grid.size
    if not np.all(np.isfinite(fluxes) & (fluxes >= 0.0)):  # the analytic chi2's rounding bound needs them
        return None
    first, rows = np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64)
    for t in (GALAXY, QSO):
        index = np.flatnonzero(kind == t)
        if index.size == 0:
            continue
        count, leftover = divmod(index.size, n_grid)
        if (index[-1] - index[0] + 1 != index.size or leftover
                or not np.array_equal(pdf_bin[index], np.tile(np.arange(n_grid), count))):
            return None
        first[t], rows[t] = index[0], count
    galaxies = slice(first[GALAXY], first[GALAXY] + rows[GALAXY] * n_grid)
    types = models.nuvk_class[galaxies].reshape(rows[GALAXY], n_grid)
    redshifts = models.redshift[galaxies].reshape(rows[GALAXY], n_grid)
    bin_redshift = redshifts[0].copy() if rows[GALAXY] else models.pdf_grid.copy()
    if with_prior and not (np.all(types == types[:, :1]) and np.all(redshifts == bin_redshift)):
        return None
    row_prior = np.full(int(rows.sum()), NO_PRIOR_ROW, dtype=np.int64)
    if with_prior:
        row_prior[:rows[GALAXY]] = types[:, 0]
    offset = np.array([0, rows[GALAXY]], dtype=np.int64)
    by_bin = np.empty((n_grid, int(rows.sum()), fluxes.shape[0]))
    for t in (GALAXY, QSO):
        table = fluxes[:, first[t]:first[t] + rows[t] * n_grid].reshape(fluxes.shape[0], rows[t], n_grid)
        by_bin[:, offset[t]:offset[t] + rows[t], :] = table.transpose(2, 1, 0)
    return GridTables(first, rows, offset, by_bin, row_prior, bin_redshift)


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def source_terms(mags, errors, rules, flux, error, used, terms):  # pragma: no cover - compiled
    """One object's fluxes, errors and fitted bands (``prepare_source``) and per-band terms (``band_terms``), into
    the scratch given; returns S = Σ (f w)², the first term of its analytic chi2."""
    prepare_source(mags, errors, rules, flux, error, used)
    band_terms(flux, error, used, terms)
    total = 0.0
    for k in range(flux.size):
        total += terms[2, k] * terms[2, k]
    return total


@numba.njit(cache=True, error_model="numpy", fastmath=False)
def _prior_table(magnitude, bin_redshift, table):  # pragma: no cover - compiled
    """The N(z) prior of one object as ``lephare_exact`` subtracts it, 2 ln P(z | T, m) P(T | m), per type (rows
    0 to 3) and bin; zeros where it does not apply (row ``NO_PRIOR_ROW``, or every row when ``magnitude`` is NaN).
    Returns the largest finite |value|, which widens the tolerance of the decisions."""
    table[:, :] = 0.0
    largest = 0.0
    if math.isnan(magnitude):
        return largest
    for c in range(NO_PRIOR_ROW):
        for j in range(bin_redshift.size):
            value = 2.0 * math.log(prior_weight(magnitude, bin_redshift[j], c))
            table[c, j] = value
            if abs(value) < math.inf:
                largest = max(largest, abs(value))
    return largest


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _half_exp(d):  # pragma: no cover - compiled
    """exp(-d/2) for 0 <= d < PDF_CUTOFF, to 9e-10 relative: (exp(-d/512))^256, the inner exp by its Taylor
    series. Without a branch or a call (glibc's exp is both), the loops over a block vectorise."""
    y = d * (-1.0 / 512.0)
    p = 1.0 + y * (1.0 + y * (1.0 / 2.0 + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0 + y * (
        1.0 / 720.0 + y * (1.0 / 5040.0)))))))
    for _ in range(8):
        p = p * p
    return p


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _table_chi2(terms, total, models, begin, rows, limits_on, prior, prior_rows, values,
                block_minimum):  # pragma: no cover - compiled
    """The analytic chi2 of ``rows`` table rows from model ``begin`` into ``values``, +inf where the scale is clearly
    outside the MAG_ABS limits (the PDF sums then need no test to leave it out), less each row's N(z) prior (the
    row ``prior_rows[r]`` of the object's ``prior`` table; ``prior`` None for an object without one: numba then
    compiles the loop without the subtraction), each bin's smallest into ``block_minimum``; returns how many scales
    lie within ``LIMIT_MARGIN`` of a limit (left to ``_settle_near_limits``). Indices are unsigned, so that numba
    adds no negative-index handling and the loop over a row vectorises."""
    flux_rows = models.flux_rows
    low_minus, low_plus, high_minus, high_plus = (models.limit_guards[0], models.limit_guards[1],
                                                  models.limit_guards[2], models.limit_guards[3])
    n_grid = block_minimum.size
    near_limit = 0
    for r in range(rows):
        row_start = np.uint64(begin + r * n_grid)
        row_values = values[r * n_grid:(r + 1) * n_grid]
        if prior is not None:
            row_prior = prior[prior_rows[r]]
        else:
            row_prior = row_values  # unread: the loop below is compiled without the prior
        for j in range(n_grid):
            m = row_start + np.uint64(j)
            a = 0.0
            b = 0.0
            for k in range(len(flux_rows)):
                flux = flux_rows[k][m]
                a += flux * terms[3, k]
                b += (flux * flux) * terms[1, k]
            positive = b > 0.0
            scale = a / b
            chi2 = total - a * scale if positive else total
            if limits_on:  # with b > 0 the scale is never negative (every term is); without, LePHARE accepts
                rejected = positive & ((scale > high_plus[m]) | (scale < low_minus[m]))
                inside = (not positive) | ((scale > low_plus[m]) & (scale < high_minus[m]))
                chi2 = math.inf if rejected else chi2
                near_limit += (not rejected) & (not inside)
            if prior is not None:
                chi2 = chi2 - row_prior[j]
            row_values[j] = chi2
            block_minimum[j] = chi2 if chi2 < block_minimum[j] else block_minimum[j]
    return near_limit


@numba.njit(cache=True, error_model="numpy", fastmath=False)
def _settle_near_limits(terms, models, rules, begin, rows, values, bin_minimum, block_minimum):  # pragma: no cover
    """LePHARE's own MAG_ABS decision (its sums, its scale, its logarithm near a limit) for every accepted model of
    the block, and the block's bin minima again. Rare: it runs only for a block where a scale lay near a limit."""
    n_grid = block_minimum.size
    fluxes = models.fluxes
    block_minimum[:] = bin_minimum
    for i in range(rows * n_grid):
        m = begin + i
        if values[i] < math.inf and outside_mag_abs(model_scale(terms, m, fluxes), m, models, rules):
            values[i] = math.inf
        j = i % n_grid
        block_minimum[j] = min(block_minimum[j], values[i])


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _add_to_pdf(values, rows, bin_minimum, block_minimum, pdf):  # pragma: no cover - compiled
    """A block's galaxy chi2 (``values``, row after row) into each bin's PDF sum, kept relative to the bin's
    smallest chi2: rescaled to the block's new minima (``block_minimum``), then the block's models added."""
    n_grid = bin_minimum.size
    fallen = 0
    for j in range(n_grid):
        fallen += block_minimum[j] < bin_minimum[j]
    if fallen:
        for j in range(n_grid):
            drop = bin_minimum[j] - block_minimum[j]
            factor = _half_exp(drop) if drop < PDF_CUTOFF else 0.0
            pdf[j] = pdf[j] * factor if drop > 0.0 else pdf[j]
    for r in range(rows):
        row = values[r * n_grid:(r + 1) * n_grid]
        for j in range(n_grid):
            excess = row[j] - block_minimum[j]
            pdf[j] += _half_exp(excess) if excess < PDF_CUTOFF else 0.0  # false for a rejected model (inf)


@numba.njit(cache=True, error_model="numpy", fastmath=False)
def _column_minimum(terms, total, models, rules, tables, prior, t, j, bound):  # pragma: no cover - compiled
    """LePHARE's smallest chi2 in bin ``j`` of kind ``t``'s table and its first model, from the models whose
    analytic chi2 (less the object's ``prior``) is at most ``bound`` (read bin-major, ``tables.by_bin``); (1e9, -99)
    for a bin without a model under 1e9. A rejected model counts as LePHARE counts it, 1e9 less its prior."""
    n_grid = models.pdf_grid.size
    offset = tables.row_offset[t]
    column = tables.by_bin[j, offset:offset + tables.rows[t]]
    value = HIGH_CHI2
    model = -99
    for r in range(column.shape[0]):
        a = 0.0
        b = 0.0
        for k in range(column.shape[1]):
            a += column[r, k] * terms[3, k]
            b += (column[r, k] * column[r, k]) * terms[1, k]
        penalty = prior[tables.row_prior[offset + r], j]
        analytic = (total - a * (a / b) if b > 0.0 else total) - penalty
        if analytic <= bound or HIGH_CHI2 - penalty <= bound:
            m = tables.first_model[t] + r * n_grid + j
            exact = model_chi2(terms, m, models, rules) - penalty
            if exact < value:
                value = exact
                model = m
    return value, model


@numba.njit(cache=True, error_model="numpy", fastmath=False)
def _table_decision(terms, total, models, rules, tables, prior, spread, t, bin_minimum):  # pragma: no cover
    """Kind ``t``'s LePHARE minimum chi2, its first model and its redshift (Z_BEST or ZQ_BEST), from the bins'
    analytic minima; (1e9, -99, -99.9) when no model of the kind is accepted. ``spread`` is the largest |value|
    of the object's ``prior`` table, which rounds with the chi2."""
    margin = 2.0 * CHI2_TOLERANCE * (total + spread + 1.0)
    lowest = math.inf
    for j in range(bin_minimum.size):
        lowest = min(lowest, bin_minimum[j])
    value, model, first_bin = HIGH_CHI2, -99, -1
    if lowest == math.inf:
        return value, model, NO_REDSHIFT
    for j in range(bin_minimum.size):
        if bin_minimum[j] <= lowest + margin:
            column_value, column_model = _column_minimum(terms, total, models, rules, tables, prior, t, j,
                                                         bin_minimum[j] + margin)
            if column_value < value:
                value, model, first_bin = column_value, column_model, j
            elif column_value == value and column_model < model:
                model = column_model  # a tie across bins: the first model in library order, the first bin's z
    grid = models.pdf_grid
    if first_bin < 0:
        return value, model, NO_REDSHIFT
    if not rules.interpolate_z:
        return value, model, models.redshift[model]
    if first_bin == 0 or first_bin == grid.size - 1:
        return value, model, grid[first_bin]
    before = _column_minimum(terms, total, models, rules, tables, prior, t, first_bin - 1,
                             bin_minimum[first_bin - 1] + margin)[0]
    after = _column_minimum(terms, total, models, rules, tables, prior, t, first_bin + 1,
                            bin_minimum[first_bin + 1] + margin)[0]
    return value, model, parabola_vertex(grid, first_bin, before, value, after)


@numba.njit(cache=True, error_model="numpy", fastmath=False)
def _finish_pdf(pdf, bin_minimum, galaxy_minimum, grid):  # pragma: no cover - compiled
    """The PDF's bins brought to the galaxy minimum, as LePHARE's exp(-(chi2 - min)/2), and normalised."""
    for j in range(pdf.size):
        pdf[j] = pdf[j] * math.exp(-0.5 * (bin_minimum[j] - galaxy_minimum)) if bin_minimum[j] < HIGH_CHI2 else 0.0
    normalise_pdf(pdf, grid)


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def fit_chunk_on_grid(mags, errors, models, rules, tables, stars, pdfs, best, chi_min,
                      best_model):  # pragma: no cover - compiled
    """LePHARE's fit of every object of a chunk, for a library whose galaxies and QSOs are ``tables`` on the PDF
    grid; ``stars`` are the models outside them. Outputs as ``lephare_exact.fit_chunk_exactly``."""
    n_objects, n_bands = mags.shape
    n_grid = models.pdf_grid.size
    rows_per_block = max(1, BLOCK_MODELS // n_grid)
    values = np.empty(rows_per_block * n_grid)
    block_minimum = np.empty(n_grid)
    flux, error, used, terms = source_scratch(OBJECT_BLOCK, n_bands)
    total = np.empty(OBJECT_BLOCK)
    bin_minimum = np.empty((OBJECT_BLOCK, 2, n_grid))
    chi2 = np.empty(models.kind.size)  # for an object fitted whole
    minimum_chi2 = np.empty((2, n_grid))
    prior = np.empty((OBJECT_BLOCK, NO_PRIOR_ROW + 1, n_grid))
    spread = np.empty(OBJECT_BLOCK)
    weighed = np.zeros(OBJECT_BLOCK, dtype=np.bool_)  # the object has a prior (NZ_PRIOR on, and its band fitted)
    for first in range(0, n_objects, OBJECT_BLOCK):
        count = min(OBJECT_BLOCK, n_objects - first)
        for o in range(count):
            total[o] = source_terms(mags[first + o], errors[first + o], rules, flux[o], error[o], used[o], terms[o])
            magnitude = prior_magnitude(flux[o], used[o], rules)
            weighed[o] = not math.isnan(magnitude)
            spread[o] = _prior_table(magnitude, tables.bin_redshift, prior[o])
            bin_minimum[o, :, :] = math.inf
            pdfs[first + o, :] = 0.0
        for t in (GALAXY, QSO):
            for top in range(0, tables.rows[t], rows_per_block):
                rows = min(tables.rows[t], top + rows_per_block) - top
                begin = tables.first_model[t] + top * n_grid
                prior_rows = tables.row_prior[tables.row_offset[t] + top:tables.row_offset[t] + top + rows]
                for o in range(count):
                    minimum = bin_minimum[o, t]
                    block_minimum[:] = minimum
                    if weighed[o]:
                        near_limit = _table_chi2(terms[o], total[o], models, begin, rows, rules.limits_on[t],
                                                 prior[o], prior_rows, values, block_minimum)
                    else:  # no prior for this object: the loop without it
                        near_limit = _table_chi2(terms[o], total[o], models, begin, rows, rules.limits_on[t], None,
                                                 None, values, block_minimum)
                    if near_limit:
                        _settle_near_limits(terms[o], models, rules, begin, rows, values, minimum, block_minimum)
                    if t == GALAXY:
                        _add_to_pdf(values, rows, minimum, block_minimum, pdfs[first + o])
                    minimum[:] = block_minimum
        for o in range(count):
            i = first + o
            # near LePHARE's 1e9 sentinel its rejected models (1e9 less their prior) and its cut of models at 1e9
            # can decide: such an object (no galaxy accepted, or none fitting) is fitted whole
            if bin_minimum[o, GALAXY].min() >= HIGH_CHI2 - NEGLIGIBLE_CHI2 - spread[o]:
                best_model[i, :] = -99  # as fit_chunk_exactly starts an object
                fit_object_exactly(flux[o], error[o], used[o], terms[o], models, rules, chi2, minimum_chi2, pdfs[i],
                                   chi_min[i], best_model[i], best[i])
                continue
            for t in (GALAXY, QSO):
                chi_min[i, t], best_model[i, t], best[i, t] = _table_decision(
                    terms[o], total[o], models, rules, tables, prior[o], spread[o], t, bin_minimum[o, t])
            chi_min[i, STAR], best_model[i, STAR] = HIGH_CHI2, -99
            for m in stars:
                value = model_chi2(terms[o], m, models, rules)
                if value < HIGH_CHI2 and value < chi_min[i, STAR]:
                    chi_min[i, STAR], best_model[i, STAR] = value, m
            if min(chi_min[i, 0], chi_min[i, 1], chi_min[i, 2]) > rules.discrepant_threshold:
                fit_object_exactly(flux[o], error[o], used[o], terms[o], models, rules, chi2, minimum_chi2, pdfs[i],
                                   chi_min[i], best_model[i], best[i])
            else:
                _finish_pdf(pdfs[i], bin_minimum[o, GALAXY], chi_min[i, GALAXY], models.pdf_grid)
