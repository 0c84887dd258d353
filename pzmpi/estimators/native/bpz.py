"""pzmpi's BPZ: RAIL's ``BPZliteEstimator`` for a whole chunk in one compiled pass.

RAIL (pz-rail-bpz 2.2.0 with desc_bpz) turns a chunk's magnitudes into
pseudo-fluxes with numpy, then loops over the objects in Python: chi^2 of the
model fluxes at every (redshift, template), likelihood, the Benitez (2000) prior
at the object's reference magnitude, sum over templates, optional Gaussian
smoothing, trimming below ``p_min`` of the peak, normalisation; qp normalises the
PDF once more when it builds the ensemble. Here the flux conversion is the same
numpy operations (so the fluxes are the same bits, float32 included), and all
the per-object work is one numba kernel over the chunk that follows numpy's
dtypes, operation order and summation order. docs/design/native_bpz.md has the
details and the equivalence argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.config import Config
from pzmpi.estimators.interface import Estimate
from pzmpi.estimators.native.common import NativeEstimator
from pzmpi.estimators.native.numpy_sums import PAIRWISE_BLOCK, block_sum

# desc_bpz.bpz_tools_py3: eps = 1e-300, eeps = log(eps); chi^2 - min(chi^2) is clipped at -2 eeps.
CHI2_CLIP = -2.0 * float(np.log(1e-300))
RATIO_FLOOR = 1e-4  # bands with flux/error below this add nothing to sum((f/e)^2) (desc_bpz's p_c_z_t)
NONDETECTED_MAG = 99.0  # what RAIL writes for a non-detection before converting to flux
UNOBSERVED_MAG = -99.0  # and for a band not observed at all
UNOBSERVED_FLUX_ERR = 1e28  # an unobserved band's flux error: it leaves the fit
PRIOR_MAG_MAX = 32.0  # the prior's reference magnitude is capped here (desc_bpz.prior_from_dict)
CHI2_BLOCK = 256  # models per sweep of the chi^2 sums: their partial sums stay in the L1 cache
LOG2_E = 1.4426950408889634
LN2_HIGH = 6.93147180369123816490e-01  # ln 2 split so that n * LN2_HIGH is exact (fdlibm's)
LN2_LOW = 1.90821492927058770002e-10
EXP_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(14))


@dataclass(frozen=True)
class Photometry:
    """RAIL's conversion of one chunk's magnitudes to BPZ pseudo-fluxes (``_preprocess_magnitudes``)."""

    bands: list[str]
    error_bands: list[str]
    nondetect_val: float
    unobserved_val: float
    mag_limits: list[float]
    zp_offsets: np.ndarray
    zp_fractions: np.ndarray
    mag_err_min: float
    reference: int

    @classmethod
    def from_stage(cls, stage: Any) -> Photometry:
        cfg = stage.config
        offsets = np.array(cfg.zp_offsets) if cfg.override_file_offsets else np.asarray(stage.zp_off_from_file)
        zp_errors = np.array(cfg.zp_errors)
        return cls(bands=list(cfg.bands), error_bands=list(cfg.err_bands), nondetect_val=cfg.nondetect_val,
                   unobserved_val=cfg.unobserved_val, mag_limits=[cfg.mag_limits[b] for b in cfg.bands],
                   zp_offsets=offsets, zp_fractions=10.0 ** (0.4 * zp_errors) - 1.0,
                   mag_err_min=cfg.mag_err_min, reference=list(cfg.bands).index(cfg.ref_band))

    def fluxes(self, columns: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bands, objects) fluxes and errors, and the reference-band magnitudes, in the input's dtype.

        Every step is the numpy operation RAIL applies, on arrays of the same dtype
        and memory layout, so that the results are the same bits.
        """
        mags = np.array([columns[name] for name in self.bands])
        errors = np.array([columns[name] for name in self.error_bands])
        for band in range(len(self.bands)):
            nondetected = _matches(mags[band], self.nondetect_val)
            mags[band] -= self.zp_offsets[band]
            mags[band][nondetected] = NONDETECTED_MAG
            errors[band][nondetected] = self.mag_limits[band]
        for band in range(len(self.bands)):
            unobserved = _matches(mags[band], self.unobserved_val)
            mags[band][unobserved] = UNOBSERVED_MAG
            errors[band][unobserved] = 20.0
        np.clip(errors, self.mag_err_min, 20, errors)
        flux = 10.0 ** (-0.4 * mags)
        flux_err = flux * (10.0 ** (0.4 * errors) - 1.0)
        seen = (flux > 0) & (flux_err > 0)
        nondetected_flux = 10.0 ** (-0.4 * NONDETECTED_MAG)
        unseen = np.isclose(flux, nondetected_flux, atol=nondetected_flux * 0.5)
        flux[unseen] = 0.0
        flux_err[unseen] = 10.0 ** (-0.4 * np.abs(errors[unseen]))
        zp_fractions = self.zp_fractions[:, np.newaxis]
        extra = np.zeros_like(flux_err)
        extra[seen] = ((zp_fractions * flux) ** 2)[seen]
        extra[unseen] = ((zp_fractions * 0.5 * flux_err) ** 2)[unseen]
        flux_err = np.sqrt(flux_err ** 2 + extra)
        unobserved = np.isclose(mags, UNOBSERVED_MAG)
        flux[unobserved] = 0.0
        flux_err[unobserved] = UNOBSERVED_FLUX_ERR
        return flux, flux_err, mags[self.reference]


def _matches(values: np.ndarray, marker: float) -> np.ndarray:
    return np.isnan(values) if np.isnan(marker) else np.isclose(values, marker)


@dataclass(frozen=True)
class Prior:
    """The model's prior p(z, t | m) (``desc_bpz.prior_from_dict.prior_function``), per broad type.

    Templates of one broad type share alpha, z0 and km, so the redshift shape is
    computed once per type; templates differ only by their fraction f_t.
    """

    m0: Any  # kept as the model stores it: its Python or numpy type decides the dtype of m - m0
    alpha: np.ndarray
    z0: np.ndarray
    km: np.ndarray
    template_type: np.ndarray
    fractions: np.ndarray  # f0 of the first len(fractions) templates; the others share what is left
    slopes: np.ndarray  # their kt
    last_type_count: int
    z_to_alpha: np.ndarray  # (types, redshifts): z ** alpha, as numpy.power.outer computes it
    floor: float  # prior tails below this fraction of a template's total are cut

    @classmethod
    def from_stage(cls, stage: Any, grid: np.ndarray) -> Prior:
        params = stage.modeldict
        per_type = np.asarray(params["nt_array"])
        alpha = np.asarray(params["a_arr"], dtype=np.float64)
        single = len(per_type) == 1
        fractions = np.repeat(params["fo_arr"] / (per_type if single else per_type[:-1]),
                              per_type if single else per_type[:-1])
        slopes = np.repeat(params["kt_arr"], per_type if single else per_type[:-1])
        return cls(m0=params["mo"], alpha=alpha, z0=np.asarray(params["zo_arr"], dtype=np.float64),
                   km=np.asarray(params["km_arr"], dtype=np.float64),
                   template_type=np.repeat(np.arange(len(per_type)), per_type),
                   fractions=np.asarray(fractions, dtype=np.float64), slopes=np.asarray(slopes, dtype=np.float64),
                   last_type_count=int(per_type[-1]),
                   z_to_alpha=np.ascontiguousarray(np.power.outer(grid, alpha).T), floor=1e-2 / float(len(grid)))

    def magnitude_offsets(self, reference_mags: np.ndarray) -> np.ndarray:
        """m - m0 per object, m capped to [m0, 32], computed in the dtype RAIL's scalar code uses."""
        m0 = self.m0
        capped = m0 if PRIOR_MAG_MAX < m0 else PRIOR_MAG_MAX
        with np.errstate(invalid="ignore"):
            inside = np.asarray(reference_mags - m0, dtype=np.float64)
            return np.where(reference_mags > PRIOR_MAG_MAX, capped - m0,
                            np.where(reference_mags < m0, m0 - m0, inside))


def gauss_kernel(width: float, step: float, nz: int) -> np.ndarray:
    """RAIL's smoothing kernel exp(-(x/width)^2) on x = -3 width .. 3 width in steps of ``dz``; empty if off."""
    if width <= 0:
        return np.zeros(0)
    x = np.arange(-3.0 * width, 3.0 * width + step / 10.0, step)
    if x.size > nz:
        raise ConfigError(f"'estimator.params': gauss_kernel = {width} with dz = {step} spans {x.size} points, "
                          f"more than the {nz}-point redshift grid (RAIL's estimate fails on it too)")
    return np.exp(-((x / width) ** 2))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _numpy_sum(values, start, n):  # pragma: no cover - compiled
    """sum(values[start:start + n]): numpy's order up to 128 terms, then blocks of 128 added in turn.

    Above 128 terms numpy halves recursively; recursion does not survive numba's
    on-disk cache, and these longer sums only normalise (a rounding apart).
    """
    total = block_sum(values, start, min(n, PAIRWISE_BLOCK))
    for block in range(start + PAIRWISE_BLOCK, start + n, PAIRWISE_BLOCK):
        total += block_sum(values, block, min(PAIRWISE_BLOCK, start + n - block))
    return total


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _minimum(values):  # pragma: no cover - compiled
    """The smallest value (NaN never is), with eight independent comparisons in flight."""
    m = np.full(8, np.inf)
    whole = values.size - values.size % 8
    for k in range(0, whole, 8):
        for j in range(8):
            if values[k + j] < m[j]:
                m[j] = values[k + j]
    best = np.inf
    for j in range(8):
        if m[j] < best:
            best = m[j]
    for k in range(whole, values.size):
        if values[k] < best:
            best = values[k]
    return best


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _exp_in_place(values, bits):  # pragma: no cover - compiled
    """values = exp(values), for values in [-700, 0] (all this module needs), within 2 ulp.

    libm's exp is one scalar call per value; this form (Cody-Waite reduction to
    |r| <= ln2/2, degree-13 Taylor polynomial evaluated with fused multiply-adds,
    2^n written into the exponent bits through ``bits``) vectorises and runs about
    five times faster, which matters for the 2,408 likelihood and 903 prior values
    of every object. numpy's exp (its own SIMD code, which RAIL uses) is itself
    within an ulp or two of the exact value.
    """
    c = EXP_TAYLOR
    for k in range(values.size):
        x = values[k]
        n = np.floor(x * LOG2_E + 0.5)
        r = (x - n * LN2_HIGH) - n * LN2_LOW
        p = c[13] * r + c[12]
        p = ((((p * r + c[11]) * r + c[10]) * r + c[9]) * r + c[8]) * r + c[7]
        p = ((((p * r + c[6]) * r + c[5]) * r + c[4]) * r + c[3]) * r + c[2]
        values[k] = (p * r + c[1]) * r + c[0]
        bits[k] = (np.int64(n) + 1023) << 52
    scale = bits.view(np.float64)
    for k in range(values.size):
        values[k] *= scale[k]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _chi2(flux, flux_err, ratio_floor, model, weights, bands, partial, chi2):  # pragma: no cover - compiled
    """chi^2 of every model (template x redshift) for one object, as desc_bpz's ``p_c_z_t``.

    chi^2 = sum (f/e)^2 - (sum f F / e^2)^2 / sum F^2/e^2 over the observed bands
    (e <= 1), with f/e and e^2 in the flux dtype as numpy computes them, the rest
    in float64, bands added in order. 1/e^2 is applied as a product rather than a
    division (one rounding apart from numpy's; the division took a third of the
    time). The models are swept in blocks whose partial sums stay in the L1
    cache, two bands per sweep.
    """
    foo = ratio_floor - ratio_floor  # zero in the flux dtype: numpy sums (f/e)^2 in it
    observed = 0
    for b in range(flux.size):
        ratio = flux[b] / flux_err[b]
        if not ratio < ratio_floor:
            foo += ratio * ratio
        if not flux_err[b] > 1.0:
            inverse_err2 = 1.0 / np.float64(flux_err[b] * flux_err[b])
            weights[0, observed] = np.float64(flux[b]) * inverse_err2
            weights[1, observed] = inverse_err2
            bands[observed] = b
            observed += 1
    foo64 = np.float64(foo)
    fot = partial[0]
    ftt = partial[1]
    for start in range(0, chi2.size, CHI2_BLOCK):
        stop = min(start + CHI2_BLOCK, chi2.size)
        out = chi2[start:stop]
        fot[:] = 0.0
        ftt[:] = 0.0
        for j in range(0, observed - 1, 2):
            row_a = model[bands[j], start:stop]
            row_b = model[bands[j + 1], start:stop]
            weight_a, weight_b = weights[0, j], weights[0, j + 1]
            inverse_a, inverse_b = weights[1, j], weights[1, j + 1]
            for k in range(out.size):
                fa = row_a[k]
                fb = row_b[k]
                fot[k] = (fot[k] + fa * weight_a) + fb * weight_b
                ftt[k] = (ftt[k] + (fa * fa) * inverse_a) + (fb * fb) * inverse_b
        if observed % 2 == 1:
            row = model[bands[observed - 1], start:stop]
            weight, inverse = weights[0, observed - 1], weights[1, observed - 1]
            for k in range(out.size):
                fot[k] += row[k] * weight
                ftt[k] += (row[k] * row[k]) * inverse
        for k in range(out.size):
            fit = fot[k] * fot[k] / (ftt[k] + 1e-300)
            out[k] = foo64 if ftt[k] == 0.0 else foo64 - fit


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _likelihood(chi2, bits):  # pragma: no cover - compiled
    """In place: exp(-(chi^2 - min chi^2) / 2), the difference clipped to [0, -2 log(1e-300)]."""
    best = _minimum(chi2)
    for k in range(chi2.size):
        d = chi2[k] - best
        d = 0.0 if d < 0.0 else d
        chi2[k] = -0.5 * (CHI2_CLIP if d > CHI2_CLIP else d)
    _exp_in_place(chi2, bits)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _prior(dm, alpha, z0, km, z_to_alpha, floor, shape, bits):  # pragma: no cover - compiled
    """Fill ``shape`` (types, redshifts) with each type's p(z | m) for m - m0 = ``dm``: normalised, tails cut.

    Both normalisations sum over redshift with 8 partial sums where numpy adds
    one redshift after the other: a rounding apart, four times faster.
    """
    nz = shape.shape[1]
    for j in range(shape.shape[0]):
        zm = z0[j] + km[j] * dm
        zm = 0.01 if zm < 0.01 else (15.0 if zm > 15.0 else zm)
        zm_to_alpha = zm ** alpha[j]
        row = shape[j]
        z_alpha = z_to_alpha[j]
        for z in range(nz):
            x = z_alpha[z] / zm_to_alpha
            row[z] = -1.0 * (700.0 if x > 700.0 else x)  # z^alpha >= 0: no lower clip needed
        _exp_in_place(row, bits[:nz])
        for z in range(nz):
            row[z] = z_alpha[z] * row[z]
        norm = _numpy_sum(row, 0, nz)
        for z in range(nz):
            p = row[z] / norm
            row[z] = 0.0 if p < floor else p
        kept = _numpy_sum(row, 0, nz)
        for z in range(nz):
            row[z] = row[z] / kept


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _type_fractions(dm, fractions, slopes, last_type_count, out):  # pragma: no cover - compiled
    """f_t per template: f0 exp(-kt dm) for all types but the last, which shares the rest equally."""
    n_most = fractions.size
    for t in range(n_most):
        out[t] = fractions[t] * math.exp(-slopes[t] * dm)
    if n_most < out.size:
        rest = (1.0 - _numpy_sum(out, 0, n_most)) / np.float64(last_type_count)
        for t in range(n_most, out.size):
            out[t] = rest


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _convolve_same(values, kernel, out):  # pragma: no cover - compiled
    """numpy.convolve(values, kernel, mode='same') for a kernel no longer than values."""
    n = values.size
    m = kernel.size
    shift = (m - 1) // 2
    for k in range(n):
        total = 0.0
        c = k + shift
        for j in range(max(0, c - m + 1), min(n, c + 1)):
            total += values[j] * kernel[c - j]
        out[k] = total


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _argmax(values, start, n):  # pragma: no cover - compiled
    """numpy.argmax of values[start:start + n]: the first largest value, or the first NaN."""
    best = start
    for k in range(start, start + n):
        if np.isnan(values[k]):
            return k - start
        if values[k] > values[best]:
            best = k
    return best - start


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _finish_pdf(post_z, p_min, xvals, out):  # pragma: no cover - compiled
    """Trim below p_min of the peak and normalise to sum 1 (unless the sum is ~0) as RAIL, then as qp's interp."""
    nz = post_z.size
    peak = post_z[_argmax(post_z, 0, nz)]
    threshold = peak * p_min
    for z in range(nz):
        out[z] = 0.0 if post_z[z] < threshold else post_z[z]
    total = _numpy_sum(out, 0, nz)
    if not abs(total) <= 1e-8:  # numpy.isclose(total, 0.0)
        for z in range(nz):
            out[z] = out[z] / total
    area = 0.0
    for z in range(nz - 1):
        area += ((xvals[z + 1] - xvals[z]) * 0.5) * (out[z + 1] + out[z])
    for z in range(nz):
        out[z] = out[z] / area


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sum_templates(post, partial, post_z):  # pragma: no cover - compiled
    """post_z[z] = sum over templates of post[t, z], in numpy's order for a sum of up to 128 terms.

    The same additions as ``numpy_sums.block_sum``, made for all redshifts at once.
    """
    nt = post.shape[0]
    if nt < 8:
        post_z[:] = -0.0
        for t in range(nt):
            post_z += post[t]
        return
    partial[:] = post[:8]
    whole = nt - nt % 8
    for t in range(8, whole):
        partial[t % 8] += post[t]
    for z in range(post_z.size):
        post_z[z] = ((partial[0, z] + partial[1, z]) + (partial[2, z] + partial[3, z])) + (
            (partial[4, z] + partial[5, z]) + (partial[6, z] + partial[7, z]))
    for t in range(whole, nt):
        post_z += post[t]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def bpz_chunk(flux, flux_err, dm, model, ratio_floor, use_prior, alpha, z0, km, template_type, fractions,
              slopes, last_type_count, z_to_alpha, prior_floor, kernel, p_min, xvals,
              pdfs, best_template, template_odds):  # pragma: no cover - compiled
    """PDFs (as qp normalises them), best template at the mode and its odds for every object of a chunk.

    ``flux``/``flux_err`` are (bands, objects), ``model`` the model fluxes as
    (bands, templates, redshifts).
    """
    nb, nt, nz = model.shape
    models = model.reshape(nb, nt * nz)
    weights = np.empty((2, nb))
    bands = np.empty(nb, dtype=np.int64)
    partial = np.empty((8, max(CHI2_BLOCK, nz)))
    post = np.empty((nt, nz))
    flat_post = post.reshape(nt * nz)
    bits = np.empty(nt * nz, dtype=np.int64)
    shape = np.ones((alpha.size, nz))
    f_t = np.ones(nt)
    post_z = np.empty(nz)
    smoothed = np.empty(nz)
    marginal = np.empty(nt)
    for i in range(flux.shape[1]):
        _chi2(flux[:, i], flux_err[:, i], ratio_floor, models, weights, bands, partial, flat_post)
        _likelihood(flat_post, bits)
        if use_prior:
            _prior(dm[i], alpha, z0, km, z_to_alpha, prior_floor, shape, bits)
            _type_fractions(dm[i], fractions, slopes, last_type_count, f_t)
            for t in range(nt):
                row = post[t]
                prior = shape[template_type[t]]
                fraction = f_t[t]
                for z in range(nz):
                    row[z] *= prior[z] * fraction
        for t in range(nt):
            marginal[t] = _numpy_sum(flat_post, t * nz, nz)
        _sum_templates(post, partial[:, :nz], post_z)
        if kernel.size > 0:
            _convolve_same(post_z, kernel, smoothed)
            post_z[:] = smoothed
        mode = _argmax(post_z, 0, nz)
        _finish_pdf(post_z, p_min, xvals, pdfs[i])
        best = 0
        for t in range(1, nt):
            if post[t, mode] > post[best, mode]:
                best = t
        best_template[i] = best
        template_odds[i] = marginal[best] / _numpy_sum(marginal, 0, nt)


def interpolate_rows(xvals: np.ndarray, yvals: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """qp's interp ``pdf(grid)``: scipy's linear interp1d of every row, 0 outside the xvals."""
    upper = np.clip(np.searchsorted(xvals, grid), 1, len(xvals) - 1)
    lower = upper - 1
    slope = (yvals[:, upper] - yvals[:, lower]) / (xvals[upper] - xvals[lower])
    values = slope * (grid - xvals[lower]) + yvals[:, lower]
    values[:, (grid < xvals[0]) | (grid > xvals[-1])] = 0.0
    return values


class NativeBPZ(NativeEstimator):
    """RAIL's BPZliteEstimator, same model and parameters, whole chunks in one compiled kernel.

    Extras, as RAIL's ancil: ``tb`` the best template (index, as a float) at the
    PDF's mode, ``todds`` that template's share of the posterior summed over redshift.
    """

    provides = ("tb", "todds")

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        stage = self.stage
        cfg = stage.config
        self.photometry = Photometry.from_stage(stage)
        self.xvals = np.asarray(stage.zgrid, dtype=np.float64)
        templates = np.asarray(stage.flux_templates, dtype=np.float64)  # (redshifts, templates, bands)
        self.ntemplates = templates.shape[1]
        self.model = np.ascontiguousarray(templates.transpose(2, 1, 0))  # (bands, templates, redshifts)
        self.use_prior = not cfg.no_prior
        self.prior = Prior.from_stage(stage, self.xvals)
        if self.use_prior and self.prior.template_type.size != self.ntemplates:
            raise ConfigError(f"BPZ model: the prior's nt_array counts {self.prior.template_type.size} templates, "
                              f"the SED list {cfg.spectra_file!r} has {self.ntemplates}")
        self.kernel = gauss_kernel(cfg.gauss_kernel, cfg.dz, self.xvals.size)
        self.p_min = float(cfg.p_min)
        self.same_grid = self.xvals.shape == self.grid.shape and np.array_equal(self.xvals, self.grid)

    def compile(self) -> None:
        """Compile (or load from numba's cache) the kernel for float32 and float64 magnitudes."""
        for dtype in (np.float32, np.float64):
            columns = {name: np.full(1, 24.0, dtype=dtype) for name in self.photometry.bands}
            columns.update({name: np.full(1, 0.1, dtype=dtype) for name in self.photometry.error_bands})
            self.estimate(columns)

    def estimate(self, columns: dict[str, np.ndarray]) -> Estimate:
        flux, flux_err, reference = self.photometry.fluxes(columns)
        n = flux.shape[1]
        prior = self.prior
        pdfs = np.empty((n, self.xvals.size))
        best_template = np.empty(n)
        template_odds = np.empty(n)
        bpz_chunk(np.ascontiguousarray(flux), np.ascontiguousarray(flux_err), prior.magnitude_offsets(reference),
                  self.model, flux.dtype.type(RATIO_FLOOR), self.use_prior,
                  prior.alpha, prior.z0, prior.km, prior.template_type, prior.fractions, prior.slopes,
                  prior.last_type_count, prior.z_to_alpha, prior.floor, self.kernel, self.p_min, self.xvals,
                  pdfs, best_template, template_odds)
        if not self.same_grid:
            pdfs = interpolate_rows(self.xvals, pdfs, self.grid)
        extras = {"tb": best_template, "todds": template_odds}
        return Estimate(pdfs=pdfs, extras={name: extras[name] for name in self.extra_columns})
