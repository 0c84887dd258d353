"""HEALPix E(B-V) maps: read a user's map file and look up E(B-V) at each object's RA/Dec.

No network and no new dependency: a map is a ``.npy`` array of 12 nside^2 values, or
a HEALPix FITS binary table (the format of SFD and Planck maps, read here with
numpy alone).  Both are memory-mapped, so the ranks of a node share one copy in
the page cache and only the pixels looked up are read.  The pixel of each object
is computed by a numba kernel implementing HEALPix ang2pix (Gorski et al. 2005,
ApJ 622, 759) for RING and NESTED orderings, after rotating ICRS coordinates to
Galactic ones when the map is Galactic (as SFD and Planck maps are).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from pzmpi.errors import ConfigError

ORDERINGS = ("ring", "nested")
FRAMES = ("galactic", "icrs")
UNSEEN = -1.6375e30  # healpy's marker of a pixel without data

# ICRS to Galactic rotation (Hipparcos catalogue, vol. 1, sect. 1.5.3; the matrix astropy uses).
ICRS_TO_GALACTIC = np.array([
    [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
    [+0.4941094278755837, -0.4448296299600112, +0.7469822444972189],
    [-0.8676661490190047, -0.1980763734312015, +0.4559837761750669],
])

_FITS_BLOCK = 2880
_FITS_CARD = 80
# TFORM letter -> (numpy type for a numeric map column or None, bytes per element)
_FITS_FORMS = {"L": (None, 1), "B": (">u1", 1), "I": (">i2", 2), "J": (">i4", 4), "K": (">i8", 8),
               "A": (None, 1), "E": (">f4", 4), "D": (">f8", 8), "C": (None, 8), "M": (None, 16),
               "P": (None, 8), "Q": (None, 16), "X": (None, 0)}


@dataclass(frozen=True)
class HealpixMap:
    """A full-sky HEALPix map: ``values`` (memory-mapped, any numeric dtype) in ``ordering``, in ``frame``."""

    path: str
    values: np.ndarray
    nside: int
    ordering: str
    frame: str

    def lookup(self, ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
        """E(B-V) at each position, as float64; NaN where the position or the map value is unusable."""
        pixels = np.empty(len(ra_deg), dtype=np.int64)
        sky_to_pixels(np.asarray(ra_deg, dtype=np.float64), np.asarray(dec_deg, dtype=np.float64), self.nside,
                      self.ordering == "nested", self.frame == "galactic", ICRS_TO_GALACTIC, pixels)
        valid = pixels >= 0
        ebv = np.full(len(pixels), np.nan)
        ebv[valid] = self.values[pixels[valid]]
        ebv[ebv <= UNSEEN * 0.9] = np.nan
        return ebv


def load_map(path: str, ordering: str, frame: str, column: str) -> HealpixMap:
    """Open a ``.npy`` or FITS HEALPix map; ``ordering``/``frame``/``column`` may be '' to use the FITS header's.

    A ``.npy`` map needs ``ordering`` and ``frame``; for FITS, given values must agree
    with the header's ``ORDERING`` and ``COORDSYS`` when it has them.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        try:
            values = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as error:
            raise ConfigError(f"dust map {path}: not a readable .npy array: {error}") from None
        if values.ndim != 1 or values.dtype.kind not in "fiu":
            raise ConfigError(f"dust map {path}: expected a 1-d numeric array, got shape {values.shape} {values.dtype}")
        if not ordering or not frame:
            raise ConfigError(f"dust map {path}: a .npy map needs 'dereddening.map_ordering' and "
                              f"'dereddening.map_frame'")
        header_ordering, header_frame = ordering, frame
    elif suffix in (".fits", ".fit", ".fts"):
        values, header = read_fits_column(path, column)
        header_ordering = str(header.get("ORDERING", ordering)).lower()
        header_frame = {"G": "galactic", "C": "icrs"}.get(str(header.get("COORDSYS", "")).upper()[:1], frame)
        if str(header.get("INDXSCHM", "IMPLICIT")).upper() != "IMPLICIT":
            raise ConfigError(f"dust map {path}: only full-sky maps (INDXSCHM = 'IMPLICIT') are supported")
    else:
        raise ConfigError(f"dust map {path}: expected a .npy or .fits file")
    for key, given, found in (("map_ordering", ordering, header_ordering), ("map_frame", frame, header_frame)):
        if given and found != given:
            raise ConfigError(f"dust map {path}: 'dereddening.{key}' is {given!r} but the file says {found!r}")
    if header_ordering not in ORDERINGS:
        raise ConfigError(f"dust map {path}: ordering must be one of {ORDERINGS}, got {header_ordering!r}")
    if header_frame not in FRAMES:
        raise ConfigError(f"dust map {path}: frame must be one of {FRAMES} (set 'dereddening.map_frame'), "
                          f"got {header_frame!r}")
    nside = nside_of(values.size)
    if nside is None:
        raise ConfigError(f"dust map {path}: {values.size} values is not 12 nside^2 for any nside")
    if header_ordering == "nested" and nside & (nside - 1):
        raise ConfigError(f"dust map {path}: a NESTED map needs nside a power of 2, got {nside}")
    return HealpixMap(path=path, values=values, nside=nside, ordering=header_ordering, frame=header_frame)


def nside_of(n_pixels: int) -> int | None:
    """The nside with 12 nside^2 == n_pixels, or None."""
    nside = math.isqrt(n_pixels // 12) if n_pixels >= 12 else 0
    return nside if nside and 12 * nside * nside == n_pixels else None


def read_fits_column(path: str, column: str) -> tuple[np.ndarray, dict[str, object]]:
    """Memory-map one numeric column of the first binary table of a FITS file, flattened.

    Returns the values (big-endian, as FITS stores them) and the table's header
    cards. ``column`` '' takes the first column. Scaled columns (TSCALn/TZEROn) are refused.
    """
    try:
        with open(path, "rb") as handle:
            offset = 0
            header, offset = _read_header(handle, path, offset)
            if header.get("SIMPLE") is not True:
                raise ConfigError(f"dust map {path}: not a FITS file (no SIMPLE = T card)")
            while True:
                offset += _padded(_data_bytes(header))
                header, offset = _read_header(handle, path, offset)
                if header.get("XTENSION") == "BINTABLE":
                    break
    except OSError as error:
        raise ConfigError(f"dust map {path}: cannot read: {error}") from None
    names, formats, offsets = [], [], []
    position = 0
    for i in range(1, int(header["TFIELDS"]) + 1):
        name = str(header.get(f"TTYPE{i}", f"col{i}")).strip()
        repeat, letter = _parse_tform(path, str(header[f"TFORM{i}"]))
        numeric, width = _FITS_FORMS[letter]
        names.append(name)
        formats.append((numeric, repeat) if numeric else None)
        offsets.append(position)
        position += (repeat + 7) // 8 if letter == "X" else repeat * width
    chosen = names.index(column) if column in names else (0 if not column else -1)
    if chosen < 0:
        raise ConfigError(f"dust map {path}: no column {column!r} (columns: {', '.join(names)})")
    if formats[chosen] is None:
        raise ConfigError(f"dust map {path}: column {names[chosen]!r} is not numeric")
    if f"TSCAL{chosen + 1}" in header or f"TZERO{chosen + 1}" in header:
        raise ConfigError(f"dust map {path}: column {names[chosen]!r} is scaled (TSCAL/TZERO); not supported")
    row_bytes, n_rows = int(header["NAXIS1"]), int(header["NAXIS2"])
    numeric, repeat = formats[chosen]
    if position != row_bytes:
        raise ConfigError(f"dust map {path}: columns take {position} bytes per row, NAXIS1 says {row_bytes}")
    if Path(path).stat().st_size < offset + row_bytes * n_rows:
        raise ConfigError(f"dust map {path}: truncated: the table needs {offset + row_bytes * n_rows} bytes")
    record = np.dtype({"names": ["v"], "formats": [(numeric, (repeat,))], "offsets": [offsets[chosen]],
                       "itemsize": row_bytes})
    rows = np.memmap(path, dtype=record, mode="r", offset=offset, shape=(n_rows,))
    values = rows["v"].reshape(-1)
    return values, header


def _read_header(handle, path: str, offset: int) -> tuple[dict[str, object], int]:
    """Cards of the header at ``offset`` (keyword -> value) and the offset of its data."""
    handle.seek(offset)
    cards: dict[str, object] = {}
    while True:
        block = handle.read(_FITS_BLOCK)
        if len(block) < _FITS_BLOCK:
            raise ConfigError(f"dust map {path}: truncated FITS header, or no binary table extension")
        offset += _FITS_BLOCK
        for start in range(0, _FITS_BLOCK, _FITS_CARD):
            card = block[start:start + _FITS_CARD].decode("ascii", errors="replace")
            keyword = card[:8].strip()
            if keyword == "END":
                return cards, offset
            if card[8:10] == "= ":
                cards[keyword] = _card_value(card[10:])


def _card_value(text: str) -> object:
    text = text.strip()
    if text.startswith("'"):
        end, chars = 1, []
        while end < len(text):
            if text[end] == "'":
                if text[end + 1:end + 2] == "'":
                    chars.append("'")
                    end += 2
                    continue
                break
            chars.append(text[end])
            end += 1
        return "".join(chars).rstrip()
    text = text.split("/", 1)[0].strip()
    if text in ("T", "F"):
        return text == "T"
    for kind in (int, float):
        try:
            return kind(text.replace("D", "E") if kind is float else text)
        except ValueError:
            continue
    return text


def _data_bytes(header: dict[str, object]) -> int:
    """Size of an HDU's data (before padding), from BITPIX, NAXISn, PCOUNT and GCOUNT."""
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0
    elements = 1
    for i in range(1, naxis + 1):
        elements *= int(header[f"NAXIS{i}"])
    return abs(int(header["BITPIX"])) // 8 * int(header.get("GCOUNT", 1)) * (int(header.get("PCOUNT", 0)) + elements)


def _padded(n_bytes: int) -> int:
    return -(-n_bytes // _FITS_BLOCK) * _FITS_BLOCK


def _parse_tform(path: str, tform: str) -> tuple[int, str]:
    tform = tform.strip()
    digits = len(tform) - len(tform.lstrip("0123456789"))
    letter = tform[digits:digits + 1]
    if letter not in _FITS_FORMS:
        raise ConfigError(f"dust map {path}: unknown binary-table format {tform!r}")
    return (int(tform[:digits]) if digits else 1), letter


@numba.njit(cache=True, nogil=True)
def _spread_bits(v):  # pragma: no cover - compiled
    """Interleave zeros between the bits of ``v``: bit k goes to bit 2k."""
    result = 0
    bit = 0
    while v:
        result |= (v & 1) << (2 * bit)
        v >>= 1
        bit += 1
    return result


@numba.njit(cache=True, nogil=True)
def ang2pix(nside, nested, z, sin_theta, phi):  # pragma: no cover - compiled
    """HEALPix pixel of the direction with cos(theta) = z, sin(theta) = sin_theta and longitude phi in [-pi, pi]."""
    za = abs(z)
    tt = phi * (2.0 / math.pi)  # longitude in units of 90 degrees, brought into [0, 4)
    if tt < 0.0:
        tt += 4.0
    if tt >= 4.0:
        tt -= 4.0
    if za <= 2.0 / 3.0:  # equatorial belt
        temp1 = nside * (0.5 + tt)
        temp2 = nside * z * 0.75
        jp = np.int64(temp1 - temp2)  # index of the ascending edge line
        jm = np.int64(temp1 + temp2)  # index of the descending edge line
        if not nested:
            ir = nside + 1 + jp - jm  # ring number counted from z = 2/3, in 1..2 nside + 1
            kshift = 1 - (ir & 1)
            ip = ((jp + jm - nside + kshift + 1) // 2) % (4 * nside)
            return 2 * nside * (nside - 1) + (ir - 1) * 4 * nside + ip
        ifp = jp // nside
        ifm = jm // nside
        if ifp == ifm:
            face = ifp | 4
        elif ifp < ifm:
            face = ifp
        else:
            face = ifm + 8
        ix = jm & (nside - 1)
        iy = nside - (jp & (nside - 1)) - 1
    else:  # polar caps; sqrt(3 (1 - |z|)) from sin(theta), accurate near the poles
        ntt = min(3, np.int64(tt))
        tp = tt - ntt
        tmp = nside * sin_theta / math.sqrt((1.0 + za) / 3.0)
        jp = np.int64(tp * tmp)
        jm = np.int64((1.0 - tp) * tmp)
        if not nested:
            ir = jp + jm + 1  # ring number counted from the closest pole
            ip = np.int64(tt * ir) % (4 * ir)
            if z > 0.0:
                return 2 * ir * (ir - 1) + ip
            return 12 * nside * nside - 2 * ir * (ir + 1) + ip
        jp = min(jp, nside - 1)
        jm = min(jm, nside - 1)
        if z >= 0.0:
            face = ntt
            ix = nside - jm - 1
            iy = nside - jp - 1
        else:
            face = ntt + 8
            ix = jp
            iy = jm
    return face * nside * nside + _spread_bits(ix) + 2 * _spread_bits(iy)


@numba.njit(cache=True, nogil=True)
def sky_to_pixels(ra_deg, dec_deg, nside, nested, galactic, rotation, pixels):  # pragma: no cover - compiled
    """Fill ``pixels`` with the HEALPix pixel of each (RA, Dec) in degrees; -1 for a non-finite position."""
    to_rad = math.pi / 180.0
    for i in range(ra_deg.size):
        ra = ra_deg[i]
        dec = dec_deg[i]
        if not (np.isfinite(ra) and np.isfinite(dec)) or abs(dec) > 90.0:
            pixels[i] = -1
            continue
        cos_dec = math.cos(dec * to_rad)
        x = cos_dec * math.cos(ra * to_rad)
        y = cos_dec * math.sin(ra * to_rad)
        z = math.sin(dec * to_rad)
        if galactic:
            gx = rotation[0, 0] * x + rotation[0, 1] * y + rotation[0, 2] * z
            gy = rotation[1, 0] * x + rotation[1, 1] * y + rotation[1, 2] * z
            gz = rotation[2, 0] * x + rotation[2, 1] * y + rotation[2, 2] * z
            x, y, z = gx, gy, gz
        pixels[i] = ang2pix(nside, nested, z, math.sqrt(x * x + y * y), math.atan2(y, x))
