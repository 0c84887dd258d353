"""LePHARE's fit of one object at a time, in LePHARE's own arithmetic: the reference the gridded fit is held to.

Each function is one step of ``onesource`` (LePHARE 1.0.0, as RAIL runs it), compiled
with numba: the source's fluxes and errors, every model's scaled chi2 with the MAG_ABS
rejection, the discrepant-band removal, the BAY_ZG PDF and the MIN_ZG curve whose
parabolic minimum is Z_BEST. Every sum runs in LePHARE's order (bands in order, models
in library order) with glibc's ``exp`` and ``log10`` (numba's ``math``), so the numbers
are LePHARE's to the bit (docs/design/native_lephare.md).

``fit_chunk_exactly`` fits a chunk this way: the path for a library that is not on a
redshift grid. ``lephare_gridded`` uses the per-model steps to settle its decisions and
runs an object here whole when its bands are discrepant.

``models`` and ``rules`` are the ``FitModels`` and ``FitRules`` tuples below. Every function
states ``fastmath=False``: numba gives a function that does not state it the fast-math flags of
the compiled caller that first needs it, and a fused multiply-add in LePHARE's arithmetic
changes Z_BEST in its last bits.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

HIGH_CHI2 = 1.0e9  # LePHARE's sentinel of a rejected model
LN10 = 2.302585092994046  # LePHARE's POW10D_FAST: 10**x as exp(LN10 * x)
INV_1086 = 1.0 / 1.086  # the installed build multiplies by the reciprocal of 1.086
INVALID_FLUX = -9999.0
NO_REDSHIFT = -99.9
LIMIT_MARGIN = 1e-9  # a scale within this fraction of a MAG_ABS limit is decided by LePHARE's own logarithm
OBJECT_BLOCK = 16  # objects fitted together against one block of models (their chi2 kept: 16 x 8 bytes a model)
MODEL_BLOCK = 2048  # models per block: their fluxes (6 bands) take 96 KiB, kept in cache for the block's objects
NEGLIGIBLE_CHI2 = 1500.0  # exp(-x/2) underflows to exactly 0.0 for x above 1490.3: such a model adds nothing
GALAXY, QSO, STAR = 0, 1, 2


class FitModels(NamedTuple):
    """The library as the kernels read it, in LePHARE's library order."""

    fluxes: np.ndarray  # (bands, models), a band contiguous
    flux_rows: tuple  # the rows of ``fluxes``: a tuple, so that the number of bands is known when compiling
    kind: np.ndarray  # GALAXY, QSO or STAR
    redshift: np.ndarray
    reference_mag: np.ndarray  # the MAG_REF magnitude at z = 0
    scale_low: np.ndarray  # the scales between which the MAG_ABS magnitude is inside the limits
    scale_high: np.ndarray
    limit_guards: np.ndarray  # (4, models): scale_low and scale_high times 1 -+ LIMIT_MARGIN, for vectorised tests
    pdf_bin: np.ndarray
    pdf_grid: np.ndarray
    nuvk_class: np.ndarray  # each galaxy model's N(z)-prior type from its NUV-K colour (0 E/S0 .. 3 Irr)


class FitRules(NamedTuple):
    """LePHARE's settings as the kernels read them."""

    error_floor: np.ndarray
    error_factor: np.ndarray
    offsets: np.ndarray
    limits: np.ndarray  # (3, 2): MAG_ABS of each kind (the star row unused)
    limits_on: np.ndarray  # (3,) bool: the MAG_ABS rejection applies to the kind
    funz0: float  # the distance modulus LePHARE subtracts at z = 0
    discrepant_threshold: float
    interpolate_z: bool
    prior_bands: np.ndarray  # NZ_PRIOR's band and fallback band, from 0; (-2, -2) when the N(z) prior is off


@numba.njit(cache=True, fastmath=False, error_model="python")
def _log10(x: float) -> float:
    """C's log10: -inf at 0, NaN below."""
    if x > 0.0:
        return math.log10(x)
    return -math.inf if x == 0.0 else math.nan


@numba.njit(cache=True, fastmath=False, error_model="python")
def band_terms(flux, error, used, out):  # pragma: no cover - compiled
    """An object's per-band terms of the fit, as LePHARE computes them: w, w², f w and f w² (rows of ``out``)."""
    for k in range(flux.size):
        out[0, k] = (1.0 if used[k] else 0.0) / error[k]
        out[1, k] = out[0, k] * out[0, k]
        out[2, k] = flux[k] * out[0, k]
        out[3, k] = flux[k] * out[1, k]


@numba.njit(cache=True, fastmath=False, error_model="python")
def limit_side(scale, low, high):  # pragma: no cover - compiled
    """Where a model's scale lies against its MAG_ABS scale limits: 1 clearly outside, -1 clearly inside (or no
    scale), 0 within ``LIMIT_MARGIN`` of a limit, where only LePHARE's own logarithm can decide."""
    if scale > high * (1.0 + LIMIT_MARGIN) or (0.0 <= scale < low * (1.0 - LIMIT_MARGIN)):
        return 1
    if scale < 0.0 or (low * (1.0 + LIMIT_MARGIN) < scale < high * (1.0 - LIMIT_MARGIN)):
        return -1
    return 0


@numba.njit(cache=True, fastmath=False, error_model="python")
def outside_mag_abs(scale, m, models, rules):  # pragma: no cover - compiled
    """LePHARE's MAG_ABS rejection of model ``m`` at ``scale``: two comparisons with the model's scale limits, and
    LePHARE's own logarithm near one, so that rounding in the limits cannot change a decision. (Per call, reading
    the tuples' arrays costs reference counting: hot loops use ``limit_side`` and call this near a limit only.)"""
    t = models.kind[m]
    if not rules.limits_on[t]:
        return False
    side = limit_side(scale, models.scale_low[m], models.scale_high[m])
    if side != 0:
        return side > 0
    absolute = models.reference_mag[m] - 2.5 * _log10(scale)
    if models.redshift[m] < 1e-10:
        absolute -= rules.funz0
    return absolute <= rules.limits[t, 0] or absolute >= rules.limits[t, 1]


# LePHARE's N(z) prior (onesource::nzprior, 1.0.0): per NUV-K type (E/S0, Sbc, Scd, Irr) zot, kt, alpt0, the
# normalisation exp(gammln(1/alpt0 + 1)), and P(T|m)'s ft and ktf.
PRIOR_ZOT = (0.45181, 0.16560, 0.21072, 0.20418)
PRIOR_KT = (0.13677, 0.12983, 0.14008, 0.13773)
PRIOR_ALPHA = (3.33078, 1.42815, 1.58310, 1.34500)
PRIOR_NORMALISATION = (0.89744, 0.90868, 0.89747, 0.91760)
PRIOR_FT = (0.43199, 0.07995, 0.31162, 0.21220)
PRIOR_KTF = (0.47165, 0.30663, 0.12715, -0.34437)


def nuvk_classes(luv: np.ndarray, lnir: np.ndarray) -> np.ndarray:
    """LePHARE's N(z)-prior type of each model from its luminosities: NUV-K = -2.5 (luv - lnir) above 4.25 E/S0 (0),
    in (3.19, 4.25) Sbc (1), in (1.9, 3.19) Scd (2), else Irr (3); the bounds themselves fall to Irr, as in LePHARE."""
    nuvk = -2.5 * (luv - lnir)
    return np.select([nuvk > 4.25, (nuvk > 3.19) & (nuvk < 4.25), (nuvk > 1.9) & (nuvk < 3.19)], [0, 1, 2], 3)


@numba.njit(cache=True, fastmath=False, error_model="python")
def prior_magnitude(flux, used, rules):  # pragma: no cover - compiled
    """The object's magnitude in NZ_PRIOR's band (or its fallback) while it is fitted, as LePHARE's ``flux2mag``;
    NaN when the prior is off or neither band is fitted (the prior then weighs 1)."""
    for k in rules.prior_bands:
        if k >= 0 and used[k]:
            return -2.5 * _log10(flux[k]) - 48.6 + 0.0
    return math.nan


@numba.njit(cache=True, fastmath=False, error_model="numpy")
def prior_weight(magnitude, redshift, nuvk_class):  # pragma: no cover - compiled
    """``onesource::nzprior``: P(z | T, m) P(T | m) of a galaxy model, with LePHARE's operations in its order."""
    if magnitude < 20.0:
        return 0.0 if redshift > 1 else 1.0
    if magnitude < 22.0 and redshift > 2:
        return 0.0
    alpha = PRIOR_ALPHA[nuvk_class]
    zmax = PRIOR_ZOT[nuvk_class] + PRIOR_KT[nuvk_class] * (magnitude - 20)
    pz = math.pow(redshift, alpha) * math.exp(-math.pow(redshift / zmax, alpha))
    faint = magnitude - 20.0
    total = (PRIOR_FT[0] * math.exp(-PRIOR_KTF[0] * faint) + PRIOR_FT[1] * math.exp(-PRIOR_KTF[1] * faint)
             + PRIOR_FT[2] * math.exp(-PRIOR_KTF[2] * faint) + PRIOR_FT[3] * math.exp(-PRIOR_KTF[3] * faint))
    share = PRIOR_FT[nuvk_class] * math.exp(-PRIOR_KTF[nuvk_class] * faint)
    normalisation = math.pow(zmax, alpha + 1) / alpha * PRIOR_NORMALISATION[nuvk_class]
    return pz / normalisation * share / total


@numba.njit(cache=True, fastmath=False, error_model="python")
def model_scale(terms, m, fluxes):  # pragma: no cover - compiled
    """LePHARE's scale A/B of model ``m`` for one object (``terms``: ``band_terms``), its sums in LePHARE's order;
    -999 when B <= 0, as LePHARE."""
    a = 0.0
    b = 0.0
    for k in range(terms.shape[1]):
        a += fluxes[k, m] * terms[3, k]
        b += (fluxes[k, m] * fluxes[k, m]) * terms[1, k]
    return a / b if b > 0.0 else -999.0


@numba.njit(cache=True, fastmath=False, error_model="python")
def source_scratch(n_objects, n_bands):  # pragma: no cover - compiled
    """The scratch of ``prepare_source`` and ``band_terms`` for a block of objects: flux, error, used, terms."""
    return (np.empty((n_objects, n_bands)), np.empty((n_objects, n_bands)),
            np.zeros((n_objects, n_bands), dtype=np.bool_), np.empty((n_objects, 4, n_bands)))


@numba.njit(cache=True, fastmath=False, error_model="python")
def model_chi2(terms, m, models, rules):  # pragma: no cover - compiled
    """LePHARE's chi2 of one object (``terms``: ``band_terms``) against model ``m``, with its MAG_ABS rejection."""
    fluxes = models.fluxes
    scale = model_scale(terms, m, fluxes)
    chi2 = 0.0
    for k in range(terms.shape[1]):
        residual = terms[2, k] - (scale * fluxes[k, m]) * terms[0, k]
        chi2 += residual * residual
    return HIGH_CHI2 if outside_mag_abs(scale, m, models, rules) else chi2


@numba.njit(cache=True, fastmath=False, error_model="python")
def _block_chi2(terms, magnitude, models, rules, start, stop, a, b, values):  # pragma: no cover - compiled
    """``model_chi2`` of models ``[start, stop)`` into ``values[:stop - start]``, band by band over the models so
    that the compiler vectorises it (each model's sums still add bands 0, 1, ... in order from 0.0); ``a`` and ``b``
    are scratch of the block's size; ``magnitude`` is ``prior_magnitude``'s."""
    n = stop - start
    n_bands = terms.shape[1]
    fluxes = models.fluxes
    for i in range(n):
        a[i] = 0.0
        b[i] = 0.0
        values[i] = 0.0
    for k in range(n_bands):
        row = fluxes[k, start:stop]
        weighted_flux, weight2 = terms[3, k], terms[1, k]
        for i in range(n):
            a[i] += row[i] * weighted_flux
            b[i] += (row[i] * row[i]) * weight2
    for i in range(n):
        a[i] = a[i] / b[i] if b[i] > 0.0 else -999.0  # the scale, in place
    for k in range(n_bands):
        row = fluxes[k, start:stop]
        signal, weight = terms[2, k], terms[0, k]
        for i in range(n):
            residual = signal - (a[i] * row[i]) * weight
            values[i] += residual * residual
    kind, low, high, limits_on = models.kind[start:stop], models.scale_low[start:stop], models.scale_high[start:stop], \
        rules.limits_on
    for i in range(n):
        if limits_on[kind[i]]:
            side = limit_side(a[i], low[i], high[i])
            if side > 0 or (side == 0 and outside_mag_abs(a[i], start + i, models, rules)):
                values[i] = HIGH_CHI2
    if not math.isnan(magnitude):  # the N(z) prior, after the rejection (on a rejected model too), as LePHARE
        redshift, nuvk_class = models.redshift[start:stop], models.nuvk_class[start:stop]
        for i in range(n):
            if kind[i] == GALAXY:
                values[i] = values[i] - 2.0 * math.log(prior_weight(magnitude, redshift[i], nuvk_class[i]))


@numba.njit(cache=True, fastmath=False, error_model="python")
def _fit_models(terms, magnitude, models, rules, chi2, chi_min, best_model):  # pragma: no cover - compiled
    """``onesource::fit`` for one object: every model's chi2, and each type's first minimum."""
    n_models = models.kind.size
    scratch_a = np.empty(MODEL_BLOCK)
    scratch_b = np.empty(MODEL_BLOCK)
    for start in range(0, n_models, MODEL_BLOCK):
        stop = min(start + MODEL_BLOCK, n_models)
        _block_chi2(terms, magnitude, models, rules, start, stop, scratch_a, scratch_b, chi2[start:stop])
    for t in range(3):
        chi_min[t] = HIGH_CHI2
    kind = models.kind
    for i in range(n_models):
        value = chi2[i]
        t = kind[i]
        if value < HIGH_CHI2 and value < chi_min[t]:
            chi_min[t] = value
            best_model[t] = i


@numba.njit(cache=True, fastmath=False, error_model="python")
def parabola_vertex(x, j, y_before, y_at, y_after):  # pragma: no cover - compiled
    """``PDF::improve_extremum`` around grid point ``j``, the first minimum, from the curve's values there and at its
    neighbours: the grid point itself at an edge, next to a rejected (1e9) point, or with steps over 0.5."""
    if j == 0 or j == x.size - 1:
        return x[j]
    if y_before == HIGH_CHI2 or y_at == HIGH_CHI2 or y_after == HIGH_CHI2:
        return x[j]
    if abs(x[j] - x[j - 1]) > 0.5 or abs(x[j + 1] - x[j]) > 0.5:
        return x[j]
    x1, x2, x3 = x[j - 1], x[j], x[j + 1]
    x23 = x2 - x3
    x31 = x3 - x1
    x12 = x1 - x2
    a = y_before * x23 + y_at * x31 + y_after * x12
    b = y_before * (x2 * x2 - x3 * x3) - y_at * (x1 * x1 - x3 * x3) + y_after * (x1 * x1 - x2 * x2)
    return 0.5 * (b / a)


@numba.njit(cache=True, fastmath=False, error_model="python")
def _parabola_minimum(x, y):  # pragma: no cover - compiled
    """``parabola_vertex`` at the first minimum of the curve ``y``."""
    j = 0
    for k in range(1, x.size):
        if y[k] < y[j]:
            j = k
    if j == 0 or j == x.size - 1:
        return x[j]
    return parabola_vertex(x, j, y[j - 1], y[j], y[j + 1])


@numba.njit(cache=True, fastmath=False, error_model="python")
def prepare_source(mags, errors, rules, flux, error, used):  # pragma: no cover - compiled
    """``convertFlux``, ``rescale_flux_errors``, ``fltUsed`` and ``adapt_mag`` (onesource.cpp) of one object, with
    NaN read as -99 (``lephare.process``)."""
    n_bands = mags.size
    for k in range(n_bands):
        m, e = mags[k], errors[k]
        if math.isnan(m) or math.isnan(e):
            m, e = -99.0, -99.0
        if m < 0.0 and e < 0.0:
            flux[k], error[k] = INVALID_FLUX, INVALID_FLUX
        else:
            flux[k] = math.exp(LN10 * (-0.4 * (m + 48.6)))
            error[k] = flux[k] * e * INV_1086
    for k in range(n_bands):
        if error[k] >= 0.0 and flux[k] != 0.0:
            s = 1.086 * error[k] / flux[k]
            s = math.sqrt(s * s + rules.error_floor[k] * rules.error_floor[k])
            error[k] = abs(flux[k]) * s * INV_1086
    for k in range(n_bands):
        if error[k] > 0.0:
            error[k] = error[k] * rules.error_factor[k]
    for k in range(n_bands):
        usable = not (error[k] < 0.0 and flux[k] < 0.0)
        if error[k] == 0.0:
            usable = False
            flux[k], error[k] = -99.9, -99.9
        used[k] = usable and error[k] >= 0.0
    for k in range(n_bands):  # the systematic offsets scale flux and error alike (the installed build)
        if flux[k] > 0.0 or error[k] > 0.0:
            factor = math.exp(LN10 * (0.4 * rules.offsets[k]))
            flux[k] = flux[k] * factor
            error[k] = error[k] * factor


@numba.njit(cache=True, fastmath=False, error_model="python")
def _add_to_pdf(chi2, models, galaxy_minimum, pdf, minimum_chi2):  # pragma: no cover - compiled
    """``generatePDF`` from one object's chi2, in library order: each galaxy's weight in BAY_ZG, and the smallest
    galaxy and QSO chi2 per bin (MIN_ZG, MIN_ZQ). A rejected model (1e9) is never below a bin's minimum."""
    kind, pdf_bin = models.kind, models.pdf_bin
    for i in range(chi2.size):
        t = kind[i]
        if t < 2:
            value = chi2[i]
            j = pdf_bin[i]
            if value < minimum_chi2[t, j]:
                minimum_chi2[t, j] = value
            if t == 0 and value < HIGH_CHI2 and value - galaxy_minimum < NEGLIGIBLE_CHI2:  # beyond: exp() is 0
                pdf[j] += math.exp(-0.5 * (value - galaxy_minimum))


@numba.njit(cache=True, fastmath=False, error_model="python")
def _drop_discrepant_bands(flux, error, used, terms, models, rules, chi2, chi_min,
                           best_model):  # pragma: no cover - compiled
    """``rm_discrepant``: from a first fit, drop the band whose removal lowers the best chi2 most, at most twice;
    ``chi2`` ends as LePHARE leaves it (the last trial's when no removal helps)."""
    n_bands = flux.size
    band_terms(flux, error, used, terms)
    _fit_models(terms, prior_magnitude(flux, used, rules), models, rules, chi2, chi_min, best_model)
    improved = min(chi_min[0], chi_min[1], chi_min[2])
    removed = 0
    while improved > rules.discrepant_threshold and removed < 2:
        dropped = -1
        for k in range(n_bands):
            if used[k]:
                used[k] = False
                band_terms(flux, error, used, terms)
                _fit_models(terms, prior_magnitude(flux, used, rules), models, rules, chi2, chi_min, best_model)
                trial = min(chi_min[0], chi_min[1], chi_min[2])
                if improved > trial:
                    improved = trial
                    dropped = k
                used[k] = True
        if dropped >= 0:
            used[dropped] = False
            band_terms(flux, error, used, terms)
            _fit_models(terms, prior_magnitude(flux, used, rules), models, rules, chi2, chi_min, best_model)
            removed += 1
        else:
            break


@numba.njit(cache=True, fastmath=False, error_model="python")
def normalise_pdf(pdf, pdf_grid):  # pragma: no cover - compiled
    """The BAY_ZG PDF divided by its trapezoid integral, as LePHARE does (by the reciprocal)."""
    area = 0.0
    for j in range(pdf_grid.size - 1):
        area += (pdf[j] + pdf[j + 1]) / 2.0 * (pdf_grid[j + 1] - pdf_grid[j])
    if area > 0.0:
        inverse = 1.0 / area
        for j in range(pdf_grid.size):
            pdf[j] = pdf[j] * inverse


@numba.njit(cache=True, fastmath=False, error_model="python")
def fit_object_exactly(flux, error, used, terms, models, rules, chi2, minimum_chi2, pdf, chi_min, best_model,
                       best):  # pragma: no cover - compiled
    """One object's whole fit, discrepant bands included, as LePHARE does it: its PDF, minima, best models and
    Z_BEST / ZQ_BEST. ``chi2`` (one per model) and ``minimum_chi2`` (2 x grid) are scratch."""
    _drop_discrepant_bands(flux, error, used, terms, models, rules, chi2, chi_min, best_model)
    pdf[:] = 0.0
    minimum_chi2[:] = HIGH_CHI2
    _add_to_pdf(chi2, models, chi_min[GALAXY], pdf, minimum_chi2)
    _finish_object(pdf, minimum_chi2, best_model, models, rules, best)


@numba.njit(cache=True, fastmath=False, error_model="python")
def _finish_object(pdf, minimum_chi2, best_model, models, rules, best):  # pragma: no cover - compiled
    """The PDF normalised, and Z_BEST / ZQ_BEST from the minimum curves (or the best models' redshifts)."""
    normalise_pdf(pdf, models.pdf_grid)
    for t in range(2):
        if best_model[t] < 0:
            best[t] = NO_REDSHIFT
        elif rules.interpolate_z:
            best[t] = _parabola_minimum(models.pdf_grid, minimum_chi2[t])
        else:
            best[t] = models.redshift[best_model[t]]


@numba.njit(cache=True, fastmath=False, error_model="python")
def fit_chunk_exactly(mags, errors, models, rules, pdfs, best, chi_min, best_model):  # pragma: no cover - compiled
    """LePHARE's fit of every object, in blocks of objects against blocks of models kept in cache.

    The first pass computes every chi2 of the block's objects, keeps them, and finds
    each object's minima. An object whose best chi2 exceeds the discrepant-band
    threshold then runs LePHARE's whole sequence alone; the others' PDFs and minimum
    curves are built from the kept chi2, the minima being known. Per object, models
    are met in library order in both passes, so every sum and tie is LePHARE's.
    """
    n_objects, n_bands = mags.shape
    kind = models.kind
    n_models = kind.size
    n_grid = models.pdf_grid.size
    flux, error, used, terms = source_scratch(OBJECT_BLOCK, n_bands)
    magnitude = np.empty(OBJECT_BLOCK)
    minimum_chi2 = np.empty((OBJECT_BLOCK, 2, n_grid))
    chi2 = np.empty(n_models)
    scratch_a = np.empty(MODEL_BLOCK)
    scratch_b = np.empty(MODEL_BLOCK)
    block_chi2 = np.empty((OBJECT_BLOCK, n_models))  # each object's chi2, kept from the first pass for the PDFs
    for first in range(0, n_objects, OBJECT_BLOCK):
        count = min(OBJECT_BLOCK, n_objects - first)
        for b in range(count):
            o = first + b
            prepare_source(mags[o], errors[o], rules, flux[b], error[b], used[b])
            band_terms(flux[b], error[b], used[b], terms[b])
            magnitude[b] = prior_magnitude(flux[b], used[b], rules)
            for t in range(3):
                chi_min[o, t] = HIGH_CHI2
                best_model[o, t] = -99
        for start in range(0, n_models, MODEL_BLOCK):
            stop = min(start + MODEL_BLOCK, n_models)
            for b in range(count):
                o = first + b
                values = block_chi2[b, start:stop]
                _block_chi2(terms[b], magnitude[b], models, rules, start, stop, scratch_a, scratch_b, values)
                for i in range(start, stop):
                    value = values[i - start]
                    t = kind[i]
                    if value < HIGH_CHI2 and value < chi_min[o, t]:
                        chi_min[o, t] = value
                        best_model[o, t] = i
        for b in range(count):
            o = first + b
            if min(chi_min[o, 0], chi_min[o, 1], chi_min[o, 2]) > rules.discrepant_threshold:
                fit_object_exactly(flux[b], error[b], used[b], terms[b], models, rules, chi2, minimum_chi2[b],
                                   pdfs[o], chi_min[o], best_model[o], best[o])
            else:
                pdfs[o, :] = 0.0
                minimum_chi2[b, :, :] = HIGH_CHI2
                _add_to_pdf(block_chi2[b], models, chi_min[o, GALAXY], pdfs[o], minimum_chi2[b])
                _finish_object(pdfs[o], minimum_chi2[b], best_model[o], models, rules, best[o])
