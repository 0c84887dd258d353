"""The sky cross-match of spectra with photometric objects, and the policy for what it finds: pure functions.

Positions become unit vectors; a KD-tree (``scipy.spatial.cKDTree``) finds, for
each spectrum, the photometric objects within the radius as chord distances on
the unit sphere, turned back into exact great-circle angles. Under MPI the sky
is cut into HEALPix pixels: an object lives in its pixel, a spectrum is sent to
its pixel and the 8 around it, so that no pair across a pixel border is lost
while the radius is smaller than a pixel.

The policy (docs/training_set.md), each case counted in the QA report:

* one spectrum near several objects: the nearest (then the smallest objectId);
* several spectra on one object: the best flag, then the nearest, then the
  spectrum that comes first (catalog order, then row);
* the train/test split: from ``mix64(objectId, seed)`` alone, so it is the same
  on any number of ranks and changes only with the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import hpgeom
import numpy as np
from scipy.spatial import cKDTree

from pzmpi.core.sharding import uniform_of

ARCSEC = np.pi / (180.0 * 3600.0)


def unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """(n, 3) unit vectors of positions in degrees."""
    ra, dec = np.radians(np.asarray(ra_deg, dtype=np.float64)), np.radians(np.asarray(dec_deg, dtype=np.float64))
    cos_dec = np.cos(dec)
    return np.column_stack((cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)))


def chord_of(radius_arcsec: float) -> float:
    """The straight-line distance between unit vectors ``radius_arcsec`` apart."""
    return 2.0 * np.sin(radius_arcsec * ARCSEC / 2.0)


def arcsec_of(chord: np.ndarray) -> np.ndarray:
    """The great-circle separation, in arcseconds, of unit vectors ``chord`` apart."""
    return 2.0 * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0)) / ARCSEC


def pixels_of(order: int, ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """Each position's nested HEALPix pixel at ``order``."""
    return hpgeom.angle_to_pixel(hpgeom.order_to_nside(order), ra_deg, dec_deg).astype(np.int64)


def pixels_around(order: int, ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position index, pixel) for each position's own pixel and its neighbours, without repeats."""
    nside = hpgeom.order_to_nside(order)
    own = hpgeom.angle_to_pixel(nside, ra_deg, dec_deg).astype(np.int64)
    neighbours = hpgeom.neighbors(nside, own).astype(np.int64).reshape(own.size, -1)  # -1 where there is none
    pixels = np.column_stack((own, neighbours))
    index = np.repeat(np.arange(own.size), pixels.shape[1])
    pixels = pixels.ravel()
    keep = pixels >= 0
    pairs = np.unique(np.column_stack((index[keep], pixels[keep])), axis=0)
    return pairs[:, 0], pairs[:, 1]


def largest_radius_arcsec(order: int) -> float:
    """The radius below which a spectrum's matches all lie in its pixel or a neighbour: half the smallest pixel."""
    return float(hpgeom.nside_to_resolution(hpgeom.order_to_nside(order)) * 3600.0 / 2.0)


def nearest_within(objects: np.ndarray, spectra: np.ndarray, chord: float, k: int = 2
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to ``k`` nearest objects within ``chord`` of each spectrum: (spectrum row, object row, chord)."""
    if objects.shape[0] == 0 or spectra.shape[0] == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    distances, rows = cKDTree(objects).query(spectra, k=k, distance_upper_bound=chord)
    distances, rows = distances.reshape(spectra.shape[0], k), rows.reshape(spectra.shape[0], k)
    found = np.isfinite(distances)
    spectrum = np.repeat(np.arange(spectra.shape[0]), k).reshape(-1, k)
    return spectrum[found], rows[found], distances[found]


@dataclass(frozen=True)
class Candidates:
    """Objects found near spectra: spectrum key, objectId, separation (arcsec), and the object's row in a table."""

    spectrum: np.ndarray
    object_id: np.ndarray
    separation: np.ndarray
    row: np.ndarray


def nearest_per_spectrum(candidates: Candidates) -> tuple[np.ndarray, int]:
    """Indices (into ``candidates``) of each spectrum's nearest object, and how many spectra had several."""
    if candidates.spectrum.size == 0:
        return np.empty(0, np.int64), 0
    order = np.lexsort((candidates.object_id, candidates.separation, candidates.spectrum))
    spectrum = candidates.spectrum[order]
    first = np.r_[True, spectrum[1:] != spectrum[:-1]]
    objects = candidates.object_id[order]
    distinct_pairs = np.r_[True, (spectrum[1:] != spectrum[:-1]) | (objects[1:] != objects[:-1])]
    per_spectrum = np.add.reduceat(distinct_pairs.astype(np.int64), np.flatnonzero(first))
    return order[first], int((per_spectrum > 1).sum())


def one_spectrum_per_object(object_id: np.ndarray, flag: np.ndarray, separation: np.ndarray,
                            spectrum: np.ndarray, lower_flag_is_better: bool) -> tuple[np.ndarray, dict[str, int]]:
    """Indices of the pairs kept (one per object), and how many objects each rule of the policy decided."""
    rank_flag = np.where(np.isnan(flag), np.inf, flag if lower_flag_is_better else -flag)  # NaN flags come last
    order = np.lexsort((spectrum, separation, rank_flag, object_id))
    ids = object_id[order]
    first = np.r_[True, ids[1:] != ids[:-1]]
    kept = order[first]
    counts = {"objects_with_several_spectra": 0, "decided_by_flag": 0, "decided_by_separation": 0,
              "decided_by_order": 0, "spectra_dropped": int(order.size - kept.size)}
    starts = np.flatnonzero(first)
    sizes = np.diff(np.r_[starts, order.size])
    for start, size in zip(starts[sizes > 1], sizes[sizes > 1]):
        group = order[start:start + size]
        counts["objects_with_several_spectra"] += 1
        if rank_flag[group[0]] != rank_flag[group[1]]:
            counts["decided_by_flag"] += 1
        elif separation[group[0]] != separation[group[1]]:
            counts["decided_by_separation"] += 1
        else:
            counts["decided_by_order"] += 1
    return kept, counts


def training_mask(object_id: np.ndarray, seed: int, train_fraction: float) -> np.ndarray:
    """True for the objects of the training table: a number in [0, 1) from the id and the seed, below the fraction."""
    return uniform_of(object_id, seed) < train_fraction
