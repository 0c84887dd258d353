"""LePHARE natively: the template fit of ``lephare.PhotoZ.run_photoz`` for a whole chunk in compiled kernels.

RAIL's ``LephareEstimator`` hands each chunk to ``lephare.process``, which makes a
``onesource`` per object in Python and fits it in C++ (``onesource::fit``), one
object at a time. Here the library that ``pzmpi train`` built is read once per
rank through lephare's own ``PhotoZ`` (fluxes, redshifts, types, z = 0 reference
magnitudes), and a numba kernel fits the chunk as LePHARE 1.0.0 does with RAIL's
settings: magnitudes to fluxes, error floor and factor, the scaled chi2 of every
model, the MAG_ABS rejection, up to two discrepant bands dropped, the marginal
BAY_ZG PDF and the MIN_ZG curve whose parabolic minimum is Z_BEST.

A library on a redshift grid (LePHARE's own way of building one) goes through
``lephare_gridded``: vectorised analytic chi2, LePHARE's exact arithmetic where a
number is decided. Any other goes through ``lephare_exact``, LePHARE's arithmetic
throughout. Either way Z_BEST and the other values are LePHARE's, whatever the chunk
or the rank count. The settings this fit does not implement stop the run at set-up
with the key named (``unsupported_settings``). docs/design/native_lephare.md has the
derivation, from LePHARE's sources and checked against its binary.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.config import Config
from pzmpi.estimators.interface import Estimate
from pzmpi.estimators.native.common import NativeEstimator
from pzmpi.estimators.native.lephare_exact import (
    GALAXY,
    LIMIT_MARGIN,
    QSO,
    STAR,
    FitModels,
    FitRules,
    fit_chunk_exactly,
    nuvk_classes,
)
from pzmpi.estimators.native.lephare_gridded import fit_chunk_on_grid, grid_tables

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


def prior_bands(settings: dict[str, Any], n_bands: int) -> tuple[int, int]:
    """NZ_PRIOR's band and fallback band, counted from 0 as LePHARE shifts them (one number: the band twice);
    (-2, -2), LePHARE's "off", when it is unset or -1."""
    values = [int(v) for v in _number_list(settings.get("NZ_PRIOR", "-1"))] or [-1]
    first, fallback = (values[0], values[1]) if len(values) == 2 else (values[0], values[0])
    if first < 1:
        return (-2, -2)
    if not (1 <= first <= n_bands and 1 <= fallback <= n_bands):
        raise ConfigError(f"'lephare.NZ_PRIOR' = {settings['NZ_PRIOR']!r}: the prior's band numbers must lie "
                          f"between 1 and {n_bands}")
    return (first - 1, fallback - 1)


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
    prior_bands: tuple[int, int] = (-2, -2)  # NZ_PRIOR's band and fallback, from 0; negative when the prior is off

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
                   interpolate_z=str(settings.get("Z_INTERP", "NO")).strip().upper() == "YES",
                   prior_bands=prior_bands(settings, n_bands))

    def rules(self, funz0: float) -> FitRules:
        """These settings as the kernels read them."""
        limits = np.array([self.galaxy_mag_abs, self.qso_mag_abs, (0.0, 0.0)], dtype=np.float64)
        on = self.reference_band >= 0
        limits_on = np.array([on and bool(np.all(row < 0.0)) for row in limits], dtype=np.bool_)
        return FitRules(self.error_floor, self.error_factor, self.offsets, limits, limits_on, float(funz0),
                        float(self.discrepant_threshold), bool(self.interpolate_z),
                        np.array(self.prior_bands, dtype=np.int64))


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
    nuvk_class: np.ndarray  # each model's N(z)-prior type (read only when the prior is on; 3 otherwise)

    def fit_models(self, fit: FitSettings) -> FitModels:
        """The library as the kernels read it, with each model's MAG_ABS scale limits under ``fit``."""
        low, high = self.scale_limits(fit)
        guards = np.stack([low * (1.0 - LIMIT_MARGIN), low * (1.0 + LIMIT_MARGIN), high * (1.0 - LIMIT_MARGIN),
                           high * (1.0 + LIMIT_MARGIN)])
        return FitModels(self.fluxes_by_band, tuple(self.fluxes_by_band), self.kind, self.redshift,
                         self.reference_mag_z0, low, high, guards, self.pdf_bin, self.pdf_grid, self.nuvk_class)

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
    def from_photoz(cls, lephare: Any, photz: Any, settings: dict[str, Any], reference_band: int,
                    with_prior: bool) -> Library:
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
        if with_prior:
            nuvk = nuvk_classes(np.array([m.luv for m in models]), np.array([m.lnir for m in models]))
        else:
            nuvk = np.full(len(models), 3, dtype=np.int64)
        return cls(fluxes_by_band, kind, redshift, reference, number, pdf_bin, grid, funz0, nuvk.astype(np.int64))


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
        self.library = Library.from_photoz(lephare, photz, settings, self.fit.reference_band,
                                           with_prior=self.fit.prior_bands[0] >= 0)
        self.models = self.library.fit_models(self.fit)
        self.rules = self.fit.rules(self.library.funz0)
        self.tables = grid_tables(self.models, with_prior=self.fit.prior_bands[0] >= 0)
        self.stars = np.flatnonzero(self.library.kind == STAR)
        self.to_run_grid = interpolation_matrix(self.library.pdf_grid, self.grid)
        self.library_loads = 1  # once per rank: the engine counts it
        kinds = np.bincount(self.library.kind, minlength=3)
        log.info("LePHARE library: %s models (%s galaxy, %s QSO, %s star), PDF grid of %d points, %s",
                 f"{kinds.sum():,}", f"{kinds[GALAXY]:,}", f"{kinds[QSO]:,}", f"{kinds[STAR]:,}",
                 self.library.pdf_grid.size, "fitted as tables on the grid" if self.tables is not None
                 else "not as tables on the grid (see lephare_gridded.grid_tables): fitted model by model")
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
        lib = self.library
        n = mags.shape[0]
        pdfs = np.empty((n, lib.pdf_grid.size))
        best = np.empty((n, 2))  # Z_BEST, ZQ_BEST
        chi_min = np.empty((n, 3))
        best_model = np.empty((n, 3), dtype=np.int64)
        mags = np.ascontiguousarray(mags, dtype=np.float64)
        errors = np.ascontiguousarray(errors, dtype=np.float64)
        if self.tables is None:
            fit_chunk_exactly(mags, errors, self.models, self.rules, pdfs, best, chi_min, best_model)
        else:
            fit_chunk_on_grid(mags, errors, self.models, self.rules, self.tables, self.stars, pdfs, best, chi_min,
                              best_model)
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
