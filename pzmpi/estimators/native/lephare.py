"""LePHARE natively: the template fit of ``lephare.PhotoZ.run_photoz`` for a whole chunk in one compiled kernel.

RAIL's ``LephareEstimator`` hands each chunk to ``lephare.process``, which makes a
``onesource`` per object in Python and fits it in C++ (``onesource::fit``), one
object at a time. Here the library that ``pzmpi train`` built is read once per
rank through lephare's own ``PhotoZ`` (fluxes, redshifts, types, z = 0 reference
magnitudes), and one numba kernel does, per object, what LePHARE 1.0.0 does with
RAIL's settings: magnitudes to fluxes, error floor and factor, the scaled chi2 of
every model, the MAG_ABS rejection, up to two discrepant bands dropped, the
marginal BAY_ZG PDF and the MIN_ZG curve whose parabolic minimum is Z_BEST.

Every sum runs in LePHARE's order (bands in order, models in library order) with
glibc's ``exp`` and ``log10`` (numba's ``math``), so that each object's numbers
are LePHARE's, whatever the chunk or the rank count. The settings this fit does
not implement stop the run at set-up with the key named (``unsupported_settings``).
docs/design/native_lephare.md has the derivation, from LePHARE's sources and
checked against its binary.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.config import Config
from pzmpi.estimators.interface import Estimate
from pzmpi.estimators.native.common import NativeEstimator

HIGH_CHI2 = 1.0e9  # LePHARE's sentinel of a rejected model
LN10 = 2.302585092994046  # LePHARE's POW10D_FAST: 10**x as exp(LN10 * x)
INV_1086 = 1.0 / 1.086  # the installed build multiplies by the reciprocal of 1.086
INVALID_FLUX = -9999.0
NO_REDSHIFT = -99.9
OBJECT_BLOCK = 16  # objects fitted together against one block of models (their chi2 kept: 16 x 8 bytes a model)
MODEL_BLOCK = 2048  # models per block: their fluxes (6 bands) take 96 KiB, kept in cache for the block's objects
NEGLIGIBLE_CHI2 = 1500.0  # exp(-x/2) underflows to exactly 0.0 for x above 1490.3: such a model adds nothing
GALAXY, QSO, STAR = 0, 1, 2
BAY_ZG = 11  # RAIL's posterior_output for the galaxy marginal PDF
OUTPUT_KEYS = ("Z_BEST", "CHI_BEST", "ZQ_BEST", "CHI_QSO", "MOD_STAR", "CHI_STAR", "MOD_BEST")

log = logging.getLogger(__name__)


def _number_list(value: Any) -> list[float]:
    return [float(v) for v in str(value).split(",") if v.strip()]


def unsupported_settings(settings: dict[str, Any], posterior_output: int) -> list[str]:
    """The LePHARE keys (as RAIL names them) set to something this fit does not do, each with its value."""
    problems = []

    def off(key: str, allowed: tuple[str, ...]) -> None:
        value = str(settings.get(key, allowed[0])).strip().upper()
        if value not in allowed:
            problems.append(f"'lephare.{key}' = {settings.get(key)!r} (supported: {', '.join(allowed)})")

    if posterior_output != BAY_ZG:
        problems.append(f"'posterior_output' = {posterior_output} (supported: {BAY_ZG}, BAY_ZG)")
    nz_prior = _number_list(settings.get("NZ_PRIOR", "-1"))
    if nz_prior and nz_prior[0] >= 0:
        problems.append(f"'lephare.NZ_PRIOR' = {settings['NZ_PRIOR']!r} (the N(z) prior; supported: off, -1)")
    off("ZFIX", ("NO",))
    off("AUTO_ADAPT", ("NO",))
    off("INP_TYPE", ("M",))
    off("CAT_MAG", ("AB",))
    off("FIR_LIB", ("NONE",))
    off("APPLY_MW_EXTINCTION", ("NO",))
    off("Z_INTERP", ("YES", "NO"))
    if str(settings.get("MW_EBV_FILE", "NONE")).strip().upper() not in ("NONE", ""):
        problems.append(f"'lephare.MW_EBV_FILE' = {settings['MW_EBV_FILE']!r} (Milky-Way reddening; supported: NONE)")
    if _number_list(settings.get("GLB_CONTEXT", "0")) not in ([0.0], [-1.0]):
        problems.append(f"'lephare.GLB_CONTEXT' = {settings['GLB_CONTEXT']!r} (supported: 0, -1: every band)")
    if _number_list(settings.get("FORB_CONTEXT", "-1")) not in ([-1.0], [0.0]):
        problems.append(f"'lephare.FORB_CONTEXT' = {settings['FORB_CONTEXT']!r} (supported: -1, 0: none)")
    return problems


def per_band(settings: dict[str, Any], key: str, default: str, n_bands: int) -> np.ndarray:
    """A LePHARE setting given once for all bands or once per band, as LePHARE reads ERR_SCALE and ERR_FACTOR."""
    values = _number_list(settings.get(key, default)) or _number_list(default)
    if len(values) == n_bands:
        return np.asarray(values, dtype=np.float64)
    if len(values) == 1:
        return np.full(n_bands, values[0])
    raise ConfigError(f"'lephare.{key}' = {settings.get(key)!r}: one value, or one per band ({n_bands})")


@dataclass(frozen=True)
class FitSettings:
    """What the fit needs from LePHARE's configuration, as numbers."""

    error_floor: np.ndarray  # ERR_SCALE, magnitudes added in quadrature
    error_factor: np.ndarray  # ERR_FACTOR
    offsets: np.ndarray  # APPLY_SYSSHIFT, magnitudes
    galaxy_mag_abs: tuple[float, float]
    qso_mag_abs: tuple[float, float]
    reference_band: int  # MAG_REF - 1; -1 when the MAG_ABS rejection is off
    discrepant_threshold: float  # RM_DISCREPANT_BD
    interpolate_z: bool  # Z_INTERP

    @classmethod
    def from_lephare(cls, settings: dict[str, Any], offsets: Any, n_bands: int) -> FitSettings:
        galaxy = _number_list(settings.get("MAG_ABS", "0,0"))
        qso = _number_list(settings.get("MAG_ABS_QSO", "0,0"))
        reference = int(_number_list(settings.get("MAG_REF", "0"))[0]) - 1
        shifts = np.zeros(n_bands) if offsets is None else np.asarray(offsets, dtype=np.float64).ravel()
        if shifts.size != n_bands:
            raise ConfigError(f"the model's offsets (APPLY_SYSSHIFT) hold {shifts.size} values for {n_bands} bands")
        return cls(error_floor=per_band(settings, "ERR_SCALE", "0", n_bands),
                   error_factor=per_band(settings, "ERR_FACTOR", "1", n_bands), offsets=shifts,
                   galaxy_mag_abs=(galaxy[0], galaxy[1]) if len(galaxy) >= 2 else (0.0, 0.0),
                   qso_mag_abs=(qso[0], qso[1]) if len(qso) >= 2 else (0.0, 0.0), reference_band=reference,
                   discrepant_threshold=float(_number_list(settings.get("RM_DISCREPANT_BD", "1e9"))[0]),
                   interpolate_z=str(settings.get("Z_INTERP", "NO")).strip().upper() == "YES")


@dataclass(frozen=True)
class Library:
    """LePHARE's models as arrays, in its library order (QSO, galaxies, stars as loaded)."""

    fluxes_by_band: np.ndarray  # (bands, models), erg/s/cm2/Hz, LePHARE's own values, a band contiguous
    kind: np.ndarray  # GALAXY, QSO or STAR
    redshift: np.ndarray
    reference_mag_z0: np.ndarray  # each model's MAG_REF magnitude at z = 0 (0 when the rejection is off)
    number: np.ndarray  # nummod: the template's number in its list (MOD_STAR, MOD_BEST)
    pdf_bin: np.ndarray  # each model's bin on the PDF grid
    pdf_grid: np.ndarray  # LePHARE's PDF axis
    funz0: float  # distance modulus LePHARE subtracts at z = 0

    def scale_limits(self, fit: FitSettings) -> tuple[np.ndarray, np.ndarray]:
        """Per model, the scales dm between which its MAG_ABS magnitude lies inside the limits (0 and inf when
        it has none): the rejection becomes two comparisons instead of a logarithm per model and object."""
        low, high = np.zeros(self.kind.size), np.full(self.kind.size, np.inf)
        if fit.reference_band < 0:
            return low, high
        reference = np.where(self.redshift < 1e-10, self.reference_mag_z0 - self.funz0, self.reference_mag_z0)
        for kind, (bright, faint) in ((GALAXY, fit.galaxy_mag_abs), (QSO, fit.qso_mag_abs)):
            if bright < 0.0 and faint < 0.0:
                chosen = self.kind == kind
                with np.errstate(over="ignore"):
                    high[chosen] = 10.0 ** ((reference[chosen] - bright) / 2.5)  # brighter than 'bright' above
                    low[chosen] = 10.0 ** ((reference[chosen] - faint) / 2.5)  # fainter than 'faint' below
        return low, high

    @classmethod
    def from_photoz(cls, lephare: Any, photz: Any, settings: dict[str, Any], reference_band: int) -> Library:
        models = photz.fullLib  # each access rebuilds the list: fetch it once
        fluxes_by_band = np.ascontiguousarray(np.array(photz.flux, dtype=np.float64).T)
        kind = np.array([GALAXY if m.is_gal() else QSO if m.is_qso() else STAR for m in models], dtype=np.int64)
        redshift = np.array([m.red for m in models], dtype=np.float64)
        number = np.array([m.nummod for m in models], dtype=np.int64)
        if reference_band >= 0:
            z0 = np.array([m.index_z0 for m in models], dtype=np.int64)
            reference = np.array([m.mag[reference_band] for m in models], dtype=np.float64)[z0]
        else:
            reference = np.zeros(len(models))
        gridz = list(photz.gridz)
        grid = np.array(lephare.onesource(0, photz.gridz).pdfmap[BAY_ZG].xaxis, dtype=np.float64)
        step = (grid[-1] - 0.0) / (grid.size - 1)
        pdf_bin = np.clip(np.floor(redshift * (1.0 / step) + 0.5), 0, grid.size - 1).astype(np.int64)
        h0, om0, ol0 = _number_list(settings.get("COSMOLOGY", "70,0.3,0.7"))
        funz0 = float(lephare.cosmo(h0, om0, ol0).distMod(gridz[1] / 20.0))
        return cls(fluxes_by_band, kind, redshift, reference, number, pdf_bin, grid, funz0)


def interpolation_matrix(source: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """(source points, target points): linear interpolation from ``source`` onto ``target``, zero outside it (as
    ``np.interp`` with ``left = right = 0``), as one matrix product for a whole chunk; None when the grids are one."""
    if source.shape == target.shape and np.array_equal(source, target):
        return None
    return np.stack([np.interp(target, source, column, left=0.0, right=0.0) for column in np.eye(source.size)])


@contextlib.contextmanager
def _silenced_stdout() -> Iterator[None]:
    """LePHARE's C++ prints the library it reads to file descriptor 1: keep that out of the job's log."""
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class NativeLephare(NativeEstimator):
    """RAIL's LephareEstimator: LePHARE's BAY_ZG PDF and its best-fit values, the fit compiled per chunk."""

    provides = OUTPUT_KEYS

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        stage = self.stage
        settings = dict(stage.lephare_config)
        problems = unsupported_settings(settings, int(stage.config["posterior_output"]))
        if problems:
            raise ConfigError("the native LePHARE fit does not implement " + "; ".join(problems)
                              + ": set estimator.implementation = 'rail'")
        self.bands = list(stage.config.bands)
        self.error_bands = list(stage.config.err_bands)
        use_offsets = stage.config["use_inform_offsets"] and stage.model.get("offsets") is not None
        self.fit = FitSettings.from_lephare(settings, stage.model["offsets"] if use_offsets else None, len(self.bands))
        import lephare

        with _silenced_stdout():
            photz = lephare.PhotoZ(lephare.all_types_to_keymap(settings))
        self.library = Library.from_photoz(lephare, photz, settings, self.fit.reference_band)
        self.scale_low, self.scale_high = self.library.scale_limits(self.fit)
        self.to_run_grid = interpolation_matrix(self.library.pdf_grid, self.grid)
        self.library_loads = 1  # once per rank: the engine counts it
        kinds = np.bincount(self.library.kind, minlength=3)
        log.info("LePHARE library: %s models (%s galaxy, %s QSO, %s star), PDF grid of %d points",
                 f"{kinds.sum():,}", f"{kinds[GALAXY]:,}", f"{kinds[QSO]:,}", f"{kinds[STAR]:,}",
                 self.library.pdf_grid.size)
        filters = self.library.fluxes_by_band.shape[0]
        if filters != len(self.bands):
            raise ConfigError(f"'estimator.model': its LePHARE library has {filters} filters for {len(self.bands)} "
                              "bands")

    def compile(self) -> None:
        """Compile (or load from numba's cache) the kernel on one object."""
        self._run(np.zeros((1, len(self.bands))), np.full((1, len(self.bands)), 0.1))

    def estimate(self, columns: dict[str, np.ndarray]) -> Estimate:
        mags, errors = self.magnitudes(columns)
        pdfs, values = self._run(mags, errors)
        on_grid = self._on_run_grid(pdfs)
        extras = {name: values[name] for name in self.extra_columns}
        return Estimate(pdfs=on_grid, extras=extras)

    def _run(self, mags: np.ndarray, errors: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        lib, fit = self.library, self.fit
        n = mags.shape[0]
        pdfs = np.empty((n, lib.pdf_grid.size))
        best = np.empty((n, 2))  # Z_BEST, ZQ_BEST
        chi_min = np.empty((n, 3))
        best_model = np.empty((n, 3), dtype=np.int64)
        galaxy_limits = np.array(fit.galaxy_mag_abs)
        qso_limits = np.array(fit.qso_mag_abs)
        _fit_chunk(np.ascontiguousarray(mags, dtype=np.float64), np.ascontiguousarray(errors, dtype=np.float64),
                   fit.error_floor, fit.error_factor, fit.offsets, galaxy_limits, qso_limits,
                   fit.reference_band >= 0, fit.discrepant_threshold, fit.interpolate_z,
                   lib.fluxes_by_band, lib.kind, lib.redshift, lib.reference_mag_z0, lib.funz0,
                   self.scale_low, self.scale_high, lib.pdf_bin, lib.pdf_grid, pdfs, best, chi_min, best_model)
        numbers = np.where(best_model >= 0, lib.number[np.maximum(best_model, 0)], -99)
        values = {"Z_BEST": best[:, 0], "ZQ_BEST": best[:, 1], "CHI_BEST": chi_min[:, GALAXY],
                  "CHI_QSO": chi_min[:, QSO], "CHI_STAR": chi_min[:, STAR], "MOD_STAR": numbers[:, STAR],
                  "MOD_BEST": numbers[:, GALAXY]}
        return pdfs, values

    def _on_run_grid(self, pdfs: np.ndarray) -> np.ndarray:
        """The PDFs as RAIL's qp ensemble gives them on the run's grid: divided by their trapezoid integral (qp's
        normalisation of an ``interp`` ensemble), then read on the grid (the same grid when the model's Z_STEP is
        the run's)."""
        x = self.library.pdf_grid
        with np.errstate(divide="ignore", invalid="ignore"):
            area = np.cumsum(np.diff(x) * 0.5 * (pdfs[:, 1:] + pdfs[:, :-1]), axis=1)[:, -1]
            normalised = pdfs / area[:, None]
        return normalised if self.to_run_grid is None else normalised @ self.to_run_grid


@numba.njit(cache=True)
def _log10(x: float) -> float:
    """C's log10: -inf at 0, NaN below."""
    if x > 0.0:
        return math.log10(x)
    return -math.inf if x == 0.0 else math.nan


@numba.njit(cache=True)
def _weights(flux, error, used, out):  # pragma: no cover - compiled
    """An object's per-band terms of the fit, as LePHARE computes them: w, w², f w and f w² (rows of ``out``)."""
    for k in range(flux.size):
        out[0, k] = (1.0 if used[k] else 0.0) / error[k]
        out[1, k] = out[0, k] * out[0, k]
        out[2, k] = flux[k] * out[0, k]
        out[3, k] = flux[k] * out[1, k]


@numba.njit(cache=True)
def _block_chi2(terms, fluxes_by_band, start, stop, kind, redshift, reference_mag, funz0, galaxy_limits, qso_limits,
                mag_abs, scale_low, scale_high, a, b, values):  # pragma: no cover - compiled
    """The chi2 of models ``[start, stop)`` for one object (``terms``: ``_weights``) into ``values[:stop -
    start]``: LePHARE's analytic scale, its chi2, and its MAG_ABS rejection.

    Each model's sums add bands 0, 1, ... in order from 0.0, as LePHARE does, but band by band over the models,
    which are independent lanes that the compiler vectorises; ``a`` and ``b`` are scratch of the block's size.
    The rejection compares the scale with the model's limits (``Library.scale_limits``); within 1e-9 of one,
    it takes LePHARE's own logarithm, so that rounding in the limits cannot change a decision.
    """
    n = stop - start
    n_bands = terms.shape[1]
    for i in range(n):
        a[i] = 0.0
        b[i] = 0.0
        values[i] = 0.0
    for k in range(n_bands):
        row = fluxes_by_band[k, start:stop]
        weighted_flux, weight2 = terms[3, k], terms[1, k]
        for i in range(n):
            a[i] += row[i] * weighted_flux
            b[i] += (row[i] * row[i]) * weight2
    for i in range(n):
        a[i] = a[i] / b[i] if b[i] > 0.0 else -999.0  # the scale, in place
    for k in range(n_bands):
        row = fluxes_by_band[k, start:stop]
        signal, weight = terms[2, k], terms[0, k]
        for i in range(n):
            residual = signal - (a[i] * row[i]) * weight
            values[i] += residual * residual
    if not mag_abs:
        return
    galaxy_on = galaxy_limits[0] < 0.0 and galaxy_limits[1] < 0.0
    qso_on = qso_limits[0] < 0.0 and qso_limits[1] < 0.0
    for i in range(n):
        m = start + i
        t = kind[m]
        if (t == 0 and galaxy_on) or (t == 1 and qso_on):
            scale = a[i]
            if scale > scale_high[m] * (1.0 + 1e-9) or (0.0 <= scale < scale_low[m] * (1.0 - 1e-9)):
                values[i] = HIGH_CHI2
            elif not (scale_low[m] * (1.0 + 1e-9) < scale < scale_high[m] * (1.0 - 1e-9)) and scale >= 0.0:
                absolute = reference_mag[m] - 2.5 * _log10(scale)
                if redshift[m] < 1e-10:
                    absolute -= funz0
                limits = galaxy_limits if t == 0 else qso_limits
                if absolute <= limits[0] or absolute >= limits[1]:
                    values[i] = HIGH_CHI2


@numba.njit(cache=True)
def _fit_models(flux, error, used, fluxes_by_band, kind, redshift, reference_mag, funz0, galaxy_limits, qso_limits,
                mag_abs, scale_low, scale_high, chi2, chi_min, best_model):  # pragma: no cover - compiled
    """``onesource::fit`` for one object: every model's chi2, and each type's first minimum."""
    terms = np.empty((4, flux.size))
    _weights(flux, error, used, terms)
    n_models = fluxes_by_band.shape[1]
    scratch_a = np.empty(MODEL_BLOCK)
    scratch_b = np.empty(MODEL_BLOCK)
    for start in range(0, n_models, MODEL_BLOCK):
        stop = min(start + MODEL_BLOCK, n_models)
        _block_chi2(terms, fluxes_by_band, start, stop, kind, redshift, reference_mag, funz0, galaxy_limits,
                    qso_limits, mag_abs, scale_low, scale_high, scratch_a, scratch_b, chi2[start:stop])
    for t in range(3):
        chi_min[t] = HIGH_CHI2
    for i in range(n_models):
        value = chi2[i]
        t = kind[i]
        if value < HIGH_CHI2 and value < chi_min[t]:
            chi_min[t] = value
            best_model[t] = i


@numba.njit(cache=True)
def _parabola_minimum(x, y, grid_size):  # pragma: no cover - compiled
    """``PDF::improve_extremum``: the vertex of the parabola through the first minimum and its neighbours."""
    j = 0
    for k in range(1, grid_size):
        if y[k] < y[j]:
            j = k
    if j == 0 or j == grid_size - 1:
        return x[j]
    if y[j - 1] == HIGH_CHI2 or y[j] == HIGH_CHI2 or y[j + 1] == HIGH_CHI2:
        return x[j]
    if abs(x[j] - x[j - 1]) > 0.5 or abs(x[j + 1] - x[j]) > 0.5:
        return x[j]
    x1, x2, x3 = x[j - 1], x[j], x[j + 1]
    y1, y2, y3 = y[j - 1], y[j], y[j + 1]
    x23 = x2 - x3
    x31 = x3 - x1
    x12 = x1 - x2
    a = y1 * x23 + y2 * x31 + y3 * x12
    b = y1 * (x2 * x2 - x3 * x3) - y2 * (x1 * x1 - x3 * x3) + y3 * (x1 * x1 - x2 * x2)
    return 0.5 * (b / a)


@numba.njit(cache=True)
def _prepare_source(mags, errors, error_floor, error_factor, offsets, flux, error, used):  # pragma: no cover
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
            s = math.sqrt(s * s + error_floor[k] * error_floor[k])
            error[k] = abs(flux[k]) * s * INV_1086
    for k in range(n_bands):
        if error[k] > 0.0:
            error[k] = error[k] * error_factor[k]
    for k in range(n_bands):
        usable = not (error[k] < 0.0 and flux[k] < 0.0)
        if error[k] == 0.0:
            usable = False
            flux[k], error[k] = -99.9, -99.9
        used[k] = usable and error[k] >= 0.0
    for k in range(n_bands):  # the systematic offsets scale flux and error alike (the installed build)
        if flux[k] > 0.0 or error[k] > 0.0:
            factor = math.exp(LN10 * (0.4 * offsets[k]))
            flux[k] = flux[k] * factor
            error[k] = error[k] * factor


@numba.njit(cache=True)
def _add_to_pdf(chi2, kind, pdf_bin, galaxy_minimum, pdf, minimum_chi2):  # pragma: no cover - compiled
    """``generatePDF`` from one object's chi2, in library order: each galaxy's weight in BAY_ZG, and the smallest
    galaxy and QSO chi2 per bin (MIN_ZG, MIN_ZQ). A rejected model (1e9) is never below a bin's minimum."""
    for i in range(chi2.size):
        t = kind[i]
        if t < 2:
            value = chi2[i]
            j = pdf_bin[i]
            if value < minimum_chi2[t, j]:
                minimum_chi2[t, j] = value
            if t == 0 and value < HIGH_CHI2 and value - galaxy_minimum < NEGLIGIBLE_CHI2:  # beyond: exp() is 0
                pdf[j] += math.exp(-0.5 * (value - galaxy_minimum))


@numba.njit(cache=True)
def _drop_discrepant_bands(flux, error, used, threshold, fluxes_by_band, kind, redshift, reference_mag, funz0,
                           galaxy_limits,
                           qso_limits, mag_abs, scale_low, scale_high, chi2, chi_min, best_model):  # pragma: no cover
    """``rm_discrepant``: from a first fit, drop the band whose removal lowers the best chi2 most, at most twice;
    ``chi2`` ends as LePHARE leaves it (the last trial's when no removal helps)."""
    n_bands = flux.size
    _fit_models(flux, error, used, fluxes_by_band, kind, redshift, reference_mag, funz0, galaxy_limits, qso_limits,
                mag_abs, scale_low, scale_high, chi2, chi_min, best_model)
    improved = min(chi_min[0], chi_min[1], chi_min[2])
    removed = 0
    while improved > threshold and removed < 2:
        dropped = -1
        for k in range(n_bands):
            if used[k]:
                used[k] = False
                _fit_models(flux, error, used, fluxes_by_band, kind, redshift, reference_mag, funz0, galaxy_limits,
                            qso_limits, mag_abs, scale_low, scale_high, chi2, chi_min, best_model)
                trial = min(chi_min[0], chi_min[1], chi_min[2])
                if improved > trial:
                    improved = trial
                    dropped = k
                used[k] = True
        if dropped >= 0:
            used[dropped] = False
            _fit_models(flux, error, used, fluxes_by_band, kind, redshift, reference_mag, funz0, galaxy_limits,
                        qso_limits, mag_abs, scale_low, scale_high, chi2, chi_min, best_model)
            removed += 1
        else:
            break


@numba.njit(cache=True)
def _finish_object(pdf, minimum_chi2, best_model, redshift, pdf_grid, interpolate_z, best):  # pragma: no cover
    """The BAY_ZG PDF normalised as LePHARE does, and Z_BEST / ZQ_BEST."""
    n_grid = pdf_grid.size
    area = 0.0
    for j in range(n_grid - 1):
        area += (pdf[j] + pdf[j + 1]) / 2.0 * (pdf_grid[j + 1] - pdf_grid[j])
    if area > 0.0:
        inverse = 1.0 / area
        for j in range(n_grid):
            pdf[j] = pdf[j] * inverse
    for t in range(2):
        if best_model[t] < 0:
            best[t] = NO_REDSHIFT
        elif interpolate_z:
            best[t] = _parabola_minimum(pdf_grid, minimum_chi2[t], n_grid)
        else:
            best[t] = redshift[best_model[t]]


@numba.njit(cache=True)
def _fit_chunk(mags, errors, error_floor, error_factor, offsets, galaxy_limits, qso_limits, mag_abs, threshold,
               interpolate_z, fluxes_by_band, kind, redshift, reference_mag, funz0, scale_low, scale_high,
               pdf_bin, pdf_grid, pdfs, best, chi_min, best_model):  # pragma: no cover - compiled
    """LePHARE's fit of every object, in blocks of objects against blocks of models kept in cache.

    The first pass computes every chi2 of the block's objects, keeps them, and finds
    each object's minima. An object whose best chi2 exceeds the discrepant-band
    threshold then runs LePHARE's whole sequence alone; the others' PDFs and minimum
    curves are built from the kept chi2, the minima being known. Per object, models
    are met in library order in both passes, so every sum and tie is LePHARE's.
    """
    n_objects, n_bands = mags.shape
    n_models = fluxes_by_band.shape[1]
    n_grid = pdf_grid.size
    flux = np.empty((OBJECT_BLOCK, n_bands))
    error = np.empty((OBJECT_BLOCK, n_bands))
    used = np.zeros((OBJECT_BLOCK, n_bands), dtype=np.bool_)
    terms = np.empty((OBJECT_BLOCK, 4, n_bands))
    minimum_chi2 = np.empty((OBJECT_BLOCK, 2, n_grid))
    alone = np.zeros(OBJECT_BLOCK, dtype=np.bool_)
    chi2 = np.empty(n_models)
    scratch_a = np.empty(MODEL_BLOCK)
    scratch_b = np.empty(MODEL_BLOCK)
    block_chi2 = np.empty((OBJECT_BLOCK, n_models))  # each object's chi2, kept from the first pass for the PDFs
    for first in range(0, n_objects, OBJECT_BLOCK):
        count = min(OBJECT_BLOCK, n_objects - first)
        for b in range(count):
            o = first + b
            _prepare_source(mags[o], errors[o], error_floor, error_factor, offsets, flux[b], error[b], used[b])
            _weights(flux[b], error[b], used[b], terms[b])
            for t in range(3):
                chi_min[o, t] = HIGH_CHI2
                best_model[o, t] = -99
            for j in range(n_grid):
                pdfs[o, j] = 0.0
                minimum_chi2[b, 0, j] = HIGH_CHI2
                minimum_chi2[b, 1, j] = HIGH_CHI2
        for start in range(0, n_models, MODEL_BLOCK):
            stop = min(start + MODEL_BLOCK, n_models)
            for b in range(count):
                o = first + b
                values = block_chi2[b, start:stop]
                _block_chi2(terms[b], fluxes_by_band, start, stop, kind, redshift, reference_mag, funz0,
                            galaxy_limits, qso_limits, mag_abs, scale_low, scale_high, scratch_a, scratch_b, values)
                for i in range(start, stop):
                    value = values[i - start]
                    t = kind[i]
                    if value < HIGH_CHI2 and value < chi_min[o, t]:
                        chi_min[o, t] = value
                        best_model[o, t] = i
        for b in range(count):
            o = first + b
            alone[b] = min(chi_min[o, 0], chi_min[o, 1], chi_min[o, 2]) > threshold
            if alone[b]:
                _drop_discrepant_bands(flux[b], error[b], used[b], threshold, fluxes_by_band, kind, redshift,
                                       reference_mag, funz0, galaxy_limits, qso_limits, mag_abs, scale_low,
                                       scale_high, chi2, chi_min[o], best_model[o])
                _add_to_pdf(chi2, kind, pdf_bin, chi_min[o, 0], pdfs[o], minimum_chi2[b])
        for b in range(count):
            if not alone[b]:
                o = first + b
                _add_to_pdf(block_chi2[b], kind, pdf_bin, chi_min[o, 0], pdfs[o], minimum_chi2[b])
        for b in range(count):
            o = first + b
            _finish_object(pdfs[o], minimum_chi2[b], best_model[o], redshift, pdf_grid, interpolate_z, best[o])
