"""pzmpi.photometry.dust: every pixel of .npy, FITS and HealSparse maps is found where independent formulas put
its centre, Galactic maps are looked up where astropy puts the objects, and bad maps name the file and the key."""

from __future__ import annotations

from pathlib import Path

import healsparse
import hpgeom
import numpy as np
import pytest
from astropy import units
from astropy.coordinates import SkyCoord
from astropy.io import fits

from pzmpi.core.errors import ConfigError
from pzmpi.photometry.dust import UNSEEN, icrs_to_galactic, load_map, nside_of

JRLL = np.array([2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4])
JPLL = np.array([1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7])


def ring_centres(nside: int) -> tuple[np.ndarray, np.ndarray]:
    """cos(theta) and phi of every RING pixel centre, from the pixel index (Gorski et al. 2005, pix2ang)."""
    npix, ncap = 12 * nside * nside, 2 * nside * (nside - 1)
    p = np.arange(npix)
    z, phi = np.empty(npix), np.empty(npix)
    for cap, sign in ((p < ncap, 1.0), (p >= npix - ncap, -1.0)):
        q = p[cap] if sign > 0 else npix - p[cap]
        half = (q + 1) / 2 if sign > 0 else q / 2
        ring = np.floor(np.sqrt(half - np.sqrt(np.floor(half)))) + 1
        j = q + 1 - 2 * ring * (ring - 1) if sign > 0 else 4 * ring + 1 - (q - 2 * ring * (ring - 1))
        z[cap] = sign * (1 - ring ** 2 / (3 * nside ** 2))
        phi[cap] = (j - 0.5) * np.pi / (2 * ring)
    belt = (p >= ncap) & (p < npix - ncap)
    q = p[belt] - ncap
    ring = q // (4 * nside) + nside
    j = q % (4 * nside) + 1
    z[belt] = (2 * nside - ring) * 2 / (3 * nside)
    phi[belt] = (j - np.where((ring + nside) % 2 == 1, 1.0, 0.5)) * np.pi / (2 * nside)
    return z, phi


def nested_centres(nside: int) -> tuple[np.ndarray, np.ndarray]:
    """cos(theta) and phi of every NESTED pixel centre, from its face and in-face coordinates."""
    p = np.arange(12 * nside * nside)
    face, inside = p // (nside * nside), p % (nside * nside)
    ix, iy = np.zeros_like(p), np.zeros_like(p)
    for bit in range(max(1, nside.bit_length())):
        ix |= ((inside >> (2 * bit)) & 1) << bit
        iy |= ((inside >> (2 * bit + 1)) & 1) << bit
    ring = JRLL[face] * nside - ix - iy - 1
    north, south = ring < nside, ring > 3 * nside
    nr = np.where(north, ring, np.where(south, 4 * nside - ring, nside))
    z = np.where(north, 1 - nr ** 2 / (3 * nside ** 2),
                 np.where(south, nr ** 2 / (3 * nside ** 2) - 1, (2 * nside - ring) * 2 / (3 * nside)))
    shift = np.where(north | south, 0, (ring - nside) & 1)
    jp = (JPLL[face] * nr + ix - iy + 1 + shift) // 2
    jp = np.where(jp > 4 * nside, jp - 4 * nside, np.where(jp < 1, jp + 4 * nside, jp))
    return z, (jp - (shift + 1) * 0.5) * (np.pi / 2 / nr)


def centres_in_degrees(nside: int, nested: bool) -> tuple[np.ndarray, np.ndarray]:
    z, phi = (nested_centres if nested else ring_centres)(nside)
    return np.degrees(phi) % 360.0, np.degrees(np.arcsin(z))


@pytest.mark.parametrize("nside, ordering", [(1, "ring"), (3, "ring"), (8, "ring"), (64, "ring"),
                                             (1, "nested"), (8, "nested"), (64, "nested")])
def test_every_pixel_centre_finds_its_own_value(tmp_path, nside, ordering):
    values = np.arange(12 * nside * nside, dtype=np.float64)
    np.save(tmp_path / "map.npy", values)
    dust = load_map(str(tmp_path / "map.npy"), ordering, "icrs", "")
    ra, dec = centres_in_degrees(nside, ordering == "nested")
    np.testing.assert_array_equal(dust.lookup(ra, dec), values)


def test_galactic_maps_are_looked_up_where_astropy_puts_the_objects(tmp_path):
    nside = 1024
    rng = np.random.default_rng(1)
    ra, dec = rng.uniform(0, 360, 20000), np.degrees(np.arcsin(rng.uniform(-1, 1, 20000)))
    galactic = SkyCoord(ra=ra * units.deg, dec=dec * units.deg, frame="icrs").galactic
    expected = hpgeom.angle_to_pixel(nside, galactic.l.deg, galactic.b.deg, nest=False)
    np.save(tmp_path / "map.npy", np.arange(12 * nside * nside, dtype=np.float64))
    dust = load_map(str(tmp_path / "map.npy"), "ring", "galactic", "")
    assert np.mean(dust.lookup(ra, dec) == expected) > 0.9999  # the rest within 1e-15 rad of a pixel edge
    # the Galactic north pole and centre: matrix rows and columns are astropy's frame
    pole = icrs_to_galactic() @ SkyCoord(ra=192.85948 * units.deg, dec=27.12825 * units.deg).cartesian.xyz.value
    np.testing.assert_allclose(pole, [0.0, 0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(icrs_to_galactic() @ icrs_to_galactic().T, np.eye(3), atol=1e-15)


def test_unusable_positions_and_empty_pixels_give_nan(tmp_path):
    nside = 16
    values = np.arange(12 * nside * nside, dtype=np.float32) / 1e4
    values[5] = UNSEEN
    np.save(tmp_path / "ebv.npy", values)
    dust = load_map(str(tmp_path / "ebv.npy"), "nested", "icrs", "")
    assert dust.nside == nside and nside_of(values.size) == nside and nside_of(100) is None
    ra, dec = centres_in_degrees(nside, nested=True)
    ebv = dust.lookup(np.r_[ra[[4, 5]], np.nan, 10.0, 10.0], np.r_[dec[[4, 5]], 0.0, np.inf, 91.0])
    assert ebv[0] == np.float64(values[4]) and np.isnan(ebv[1:]).all()


def test_npy_maps_need_their_ordering_and_frame(tmp_path):
    np.save(tmp_path / "ebv.npy", np.zeros(12 * 16 * 16))
    with pytest.raises(ConfigError, match=r"ebv\.npy: a \.npy map needs 'dereddening.map_ordering'"):
        load_map(str(tmp_path / "ebv.npy"), "", "icrs", "")
    np.save(tmp_path / "odd.npy", np.zeros(100))
    with pytest.raises(ConfigError, match="100 values is not 12 nside"):
        load_map(str(tmp_path / "odd.npy"), "ring", "icrs", "")
    with pytest.raises(ConfigError, match="frame must be one of"):
        load_map(str(tmp_path / "ebv.npy"), "ring", "ecliptic", "")
    with pytest.raises(ConfigError, match=r"expected a \.npy, FITS"):
        load_map(str(tmp_path / "ebv.txt"), "ring", "icrs", "")


def write_fits_map(path: Path, values: np.ndarray, ordering: str, coordsys: str, per_row: int) -> None:
    nside = nside_of(values.size)
    columns = [fits.Column(name="FLAG", format=f"{per_row}J", array=np.zeros((values.size // per_row, per_row))),
               fits.Column(name="EBV", format=f"{per_row}E", array=values.reshape(-1, per_row))]
    table = fits.BinTableHDU.from_columns(columns)
    table.header.update(PIXTYPE="HEALPIX", ORDERING=ordering, NSIDE=nside, COORDSYS=coordsys, INDXSCHM="IMPLICIT")
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)


@pytest.mark.parametrize("per_row", [1, 1024])
def test_fits_maps_take_ordering_and_frame_from_their_header(tmp_path, per_row):
    nside = 16
    values = np.random.default_rng(2).uniform(0, 0.2, 12 * nside * nside).astype(np.float32)
    write_fits_map(tmp_path / "map.fits", values, "NESTED", "G", per_row)
    dust = load_map(str(tmp_path / "map.fits"), "", "", "EBV")
    assert (dust.ordering, dust.frame, dust.nside) == ("nested", "galactic", nside)
    l, b = centres_in_degrees(nside, nested=True)
    icrs = SkyCoord(l=l * units.deg, b=b * units.deg, frame="galactic").icrs
    found = dust.lookup(icrs.ra.deg, icrs.dec.deg)
    assert np.mean(found == values.astype(np.float64)) > 0.999  # pixel centres: far from every edge
    with pytest.raises(ConfigError, match="'dereddening.map_ordering' is 'ring' but the file says 'nested'"):
        load_map(str(tmp_path / "map.fits"), "ring", "", "EBV")
    with pytest.raises(ConfigError, match="no column 'TAU'"):
        load_map(str(tmp_path / "map.fits"), "", "", "TAU")


def test_a_damaged_fits_map_is_an_error_naming_the_file(tmp_path):
    write_fits_map(tmp_path / "map.fits", np.zeros(12 * 16 * 16, dtype=np.float32), "RING", "C", 1)
    (tmp_path / "cut.fits").write_bytes((tmp_path / "map.fits").read_bytes()[:-5000])
    with pytest.raises(ConfigError, match=r"dust map .*cut\.fits"):
        load_map(str(tmp_path / "cut.fits"), "", "", "EBV").lookup(np.array([10.0]), np.array([10.0]))
    (tmp_path / "junk.fits").write_bytes(b"not a fits file" * 300)
    with pytest.raises(ConfigError, match=r"dust map .*junk\.fits"):
        load_map(str(tmp_path / "junk.fits"), "", "", "")


def test_healsparse_maps_are_nested_and_their_empty_pixels_nan(tmp_path):
    nside_coverage, nside = 32, 256
    sparse = healsparse.HealSparseMap.make_empty(nside_coverage, nside, dtype=np.float32)
    pixels = np.arange(5000, 9000)
    sparse[pixels] = (pixels / 1e5).astype(np.float32)
    sparse.write(str(tmp_path / "ebv.hsp"))
    dust = load_map(str(tmp_path / "ebv.hsp"), "", "icrs", "")
    assert (dust.nside, dust.ordering) == (nside, "nested")
    ra, dec = centres_in_degrees(nside, nested=True)
    found = dust.lookup(ra[4000:10000], dec[4000:10000])
    np.testing.assert_array_equal(found[1000:5000], (pixels / 1e5).astype(np.float32).astype(np.float64))
    assert np.isnan(found[:1000]).all() and np.isnan(found[5000:]).all()
    with pytest.raises(ConfigError, match="HealSparse maps are 'nested'"):
        load_map(str(tmp_path / "ebv.hsp"), "ring", "icrs", "")
    with pytest.raises(ConfigError, match="needs 'dereddening.map_frame'"):
        load_map(str(tmp_path / "ebv.hsp"), "", "", "")


def test_healsparse_record_maps_take_the_configured_field(tmp_path):
    dtype = [("ebv", "f8"), ("depth", "f8")]
    sparse = healsparse.HealSparseMap.make_empty(32, 128, dtype=dtype, primary="ebv")
    values = np.zeros(100, dtype=dtype)
    values["ebv"], values["depth"] = np.arange(100) / 100, 25.0
    sparse[np.arange(100)] = values
    sparse.write(str(tmp_path / "props.hsp"))
    ra, dec = centres_in_degrees(128, nested=True)
    dust = load_map(str(tmp_path / "props.hsp"), "nested", "icrs", "ebv")
    np.testing.assert_array_equal(dust.lookup(ra[:100], dec[:100]), np.arange(100) / 100)
    with pytest.raises(ConfigError, match="'dereddening.map_column' must name one of its fields"):
        load_map(str(tmp_path / "props.hsp"), "nested", "icrs", "")
