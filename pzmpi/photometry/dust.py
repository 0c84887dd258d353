"""E(B-V) at each object's position, from a HEALPix map (a dust map, or any survey-property map).

A map is a ``.npy`` array of 12 nside^2 values, a HEALPix FITS binary table
(the format of SFD and Planck maps) or a HealSparse ``.hsp`` file (the format
of Rubin's survey-property maps). The field's libraries do the work: FITS
through ``astropy.io.fits``, HealSparse through ``healsparse``, pixel lookups
through ``hpgeom``, and the ICRS to Galactic rotation through astropy's frames.
Dense maps are memory-mapped, so that the ranks of a node share one copy in
the page cache and only the pixels looked up are read.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hpgeom
import numpy as np

from pzmpi.core.errors import ConfigError

ORDERINGS = ("ring", "nested")
FRAMES = ("galactic", "icrs")
UNSEEN = -1.6375e30  # healpy's marker of a pixel without data
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz")


@functools.cache
def icrs_to_galactic() -> np.ndarray:
    """astropy's ICRS to Galactic rotation as a 3x3 matrix: the Galactic unit vectors of the ICRS axes.

    Applying it to unit vectors costs a few ns per object, where transforming
    each object through astropy's frame graph costs about 300 ns.
    """
    from astropy import units
    from astropy.coordinates import SkyCoord

    axes = SkyCoord(ra=[0.0, 90.0, 0.0] * units.deg, dec=[0.0, 0.0, 90.0] * units.deg, frame="icrs")
    return np.asarray(axes.galactic.cartesian.xyz.value, dtype=np.float64)


@dataclass(frozen=True)
class DustMap:
    """A HEALPix map in ``ordering`` and ``frame``: dense ``values`` (memory-mapped), or a HealSparse map."""

    path: str
    nside: int
    ordering: str
    frame: str
    values: np.ndarray | None = None
    sparse: Any = None  # healsparse.HealSparseMap

    def lookup(self, ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
        """The map's value at each position, as float64; NaN where the position or the map's value is unusable."""
        ra = np.asarray(ra_deg, dtype=np.float64)
        dec = np.asarray(dec_deg, dtype=np.float64)
        result = np.full(ra.size, np.nan)
        valid = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90.0)
        if not valid.any():
            return result
        vectors = hpgeom.angle_to_vector(ra[valid], dec[valid], lonlat=True, degrees=True)  # (n, 3)
        if self.frame == "galactic":
            vectors = vectors @ icrs_to_galactic().T
        pixels = hpgeom.vector_to_pixel(self.nside, vectors[:, 0], vectors[:, 1], vectors[:, 2],
                                        nest=self.ordering == "nested")
        if self.sparse is not None:
            found = np.asarray(self.sparse.get_values_pix(pixels), dtype=np.float64)
            found[found == self.sparse.sentinel] = np.nan
        else:
            found = np.asarray(self.values[pixels], dtype=np.float64)
            found[found <= UNSEEN * 0.9] = np.nan
        result[valid] = found
        return result


def load_map(path: str, ordering: str, frame: str, column: str) -> DustMap:
    """Open a ``.npy``, FITS or ``.hsp`` map; ``ordering``, ``frame`` and ``column`` may be '' where the file says.

    A ``.npy`` map needs ``ordering`` and ``frame``; a ``.hsp`` map is NESTED and
    needs ``frame``; for FITS, given values must agree with the header's
    ``ORDERING`` and ``COORDSYS`` when it has them.
    """
    name = Path(path).name.lower()
    if name.endswith(".npy"):
        if not ordering or not frame:
            raise ConfigError(f"dust map {path}: a .npy map needs 'dereddening.map_ordering' and "
                              "'dereddening.map_frame'")
        return _checked(path, _read_npy(path), ordering, frame, ordering, frame)
    if name.endswith(FITS_SUFFIXES):
        values, header_ordering, header_frame = _read_fits(path, column, frame)
        return _checked(path, values, ordering, frame, header_ordering or ordering, header_frame)
    if name.endswith(".hsp") or name.endswith(".hs"):
        return _read_healsparse(path, ordering, frame, column)
    raise ConfigError(f"dust map {path}: expected a .npy, FITS (.fits) or HealSparse (.hsp) file")


def nside_of(n_pixels: int) -> int | None:
    """The nside with 12 nside^2 == n_pixels, or None."""
    nside = math.isqrt(n_pixels // 12) if n_pixels >= 12 else 0
    return nside if nside and 12 * nside * nside == n_pixels else None


def _read_npy(path: str) -> np.ndarray:
    try:
        values = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as error:
        raise ConfigError(f"dust map {path}: not a readable .npy array: {error}") from None
    if values.ndim != 1 or values.dtype.kind not in "fiu":
        raise ConfigError(f"dust map {path}: expected a 1-d numeric array, got shape {values.shape} {values.dtype}")
    return values


def _read_fits(path: str, column: str, frame: str) -> tuple[np.ndarray, str, str]:
    """The chosen column of the first binary table, flattened, with the header's ordering and frame ('' if absent)."""
    from astropy.io import fits

    try:
        hdus = fits.open(path, memmap=True)
    except (OSError, ValueError) as error:
        raise ConfigError(f"dust map {path}: not a readable FITS file: {error}") from None
    tables = [hdu for hdu in hdus if isinstance(hdu, fits.BinTableHDU)]
    if not tables:
        raise ConfigError(f"dust map {path}: no binary table extension")
    table = tables[0]
    header = table.header
    if str(header.get("INDXSCHM", "IMPLICIT")).upper() != "IMPLICIT":
        raise ConfigError(f"dust map {path}: only full-sky maps (INDXSCHM = 'IMPLICIT') are supported")
    names = list(table.columns.names)
    chosen = column or names[0]
    if chosen not in names:
        raise ConfigError(f"dust map {path}: no column {column!r} (columns: {', '.join(names)})")
    try:
        values = table.data[chosen]
    except (OSError, ValueError, TypeError) as error:  # astropy's errors for a truncated or damaged table
        raise ConfigError(f"dust map {path}: cannot read column {chosen!r}: {error}") from None
    if values.dtype.kind not in "fiu":
        raise ConfigError(f"dust map {path}: column {chosen!r} is not numeric")
    header_frame = {"G": "galactic", "C": "icrs"}.get(str(header.get("COORDSYS", "")).upper()[:1], frame)
    return values.reshape(-1), str(header.get("ORDERING", "")).lower(), header_frame


def _read_healsparse(path: str, ordering: str, frame: str, column: str) -> DustMap:
    import healsparse

    if ordering and ordering != "nested":
        raise ConfigError(f"dust map {path}: 'dereddening.map_ordering' is {ordering!r} but HealSparse maps "
                          "are 'nested'")
    if not frame:
        raise ConfigError(f"dust map {path}: a HealSparse map needs 'dereddening.map_frame'")
    if frame not in FRAMES:
        raise ConfigError(f"dust map {path}: frame must be one of {FRAMES}, got {frame!r}")
    try:
        sparse = healsparse.HealSparseMap.read(path)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise ConfigError(f"dust map {path}: not a readable HealSparse map: {error}") from None
    if sparse.is_rec_array:
        if column not in (sparse.dtype.names or ()):
            raise ConfigError(f"dust map {path}: 'dereddening.map_column' must name one of its fields "
                              f"({', '.join(sparse.dtype.names)})")
        sparse = sparse[column]
    elif sparse.dtype.kind not in "fiu":
        raise ConfigError(f"dust map {path}: values of type {sparse.dtype} are not numbers")
    return DustMap(path=path, nside=sparse.nside_sparse, ordering="nested", frame=frame, sparse=sparse)


def _checked(path: str, values: np.ndarray, ordering: str, frame: str, found_ordering: str,
             found_frame: str) -> DustMap:
    """The dense map, once its ordering, frame and size make sense and agree with what was asked."""
    if not found_ordering or not found_frame:
        raise ConfigError(f"dust map {path}: the file does not say its ordering and frame: set "
                          f"'dereddening.map_ordering' and 'dereddening.map_frame'")
    for key, given, found in (("map_ordering", ordering, found_ordering), ("map_frame", frame, found_frame)):
        if given and found != given:
            raise ConfigError(f"dust map {path}: 'dereddening.{key}' is {given!r} but the file says {found!r}")
    if found_ordering not in ORDERINGS:
        raise ConfigError(f"dust map {path}: ordering must be one of {ORDERINGS}, got {found_ordering!r}")
    if found_frame not in FRAMES:
        raise ConfigError(f"dust map {path}: frame must be one of {FRAMES} (set 'dereddening.map_frame'), "
                          f"got {found_frame!r}")
    nside = nside_of(values.size)
    if nside is None:
        raise ConfigError(f"dust map {path}: {values.size} values is not 12 nside^2 for any nside")
    if found_ordering == "nested" and nside & (nside - 1):
        raise ConfigError(f"dust map {path}: a NESTED map needs nside a power of 2, got {nside}")
    return DustMap(path=path, nside=nside, ordering=found_ordering, frame=found_frame, values=values)
