"""pzmpi synthetic --photometry dc2: a release of RAIL's DC2 objects in the DP0.2 and DP1 schemas, whose cleaned
photometry is RAIL's, with spectra of its training objects and the truth kept aside."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy.spatial import cKDTree

from pzmpi.datasets.dc2_release import NON_PRIMARY_FRACTION, release_tables, write_release
from pzmpi.datasets.dc2_sample import DC2_TRAINING, DC2_VALIDATION, rail_sample_path, read_rail_table
from pzmpi.photometry.bands import LSST_BANDS, LSST_EXTINCTION, ZP_NJY
from pzmpi.train.crossmatch import unit_vectors


@pytest.mark.parametrize("style", ["dp02", "dp1"])
def test_the_release_is_rails_objects_in_the_styles_schema(tmp_path, style):
    written = write_release(tmp_path, style, n_files=3)
    catalog = pq.read_table(written["catalog"]).to_pandas()
    files = sorted(written["catalog"].glob("*.parquet"))
    assert len(files) == 3 and catalog["objectId"].is_unique
    assert catalog.groupby("tract").size().size == 3
    rail = [read_rail_table(rail_sample_path(path)) for path in (DC2_TRAINING, DC2_VALIDATION)]
    n = sum(table["redshift"].size for table in rail)
    flux_type = pq.read_schema(files[0]).field("u_cModelFlux").type
    if style == "dp02":
        assert str(flux_type) == "double" and "ebv" not in catalog.columns
        primary = catalog[catalog["detect_isPrimary"]].sort_values("objectId")
        assert len(catalog) - len(primary) == int(NON_PRIMARY_FRACTION * n)
        ebv = np.zeros(len(primary))
    else:
        assert str(flux_type) == "float" and "detect_isPrimary" not in catalog.columns
        primary = catalog.sort_values("objectId")
        ebv = primary["ebv"].to_numpy(np.float64)
    assert len(primary) == n
    truth = pq.read_table(written["truth"]).to_pandas()
    np.testing.assert_array_equal(truth["objectId"], primary["objectId"])
    np.testing.assert_array_equal(truth["redshift"], np.concatenate([t["redshift"] for t in rail]))
    for band in LSST_BANDS:  # dereddened magnitudes of detected objects are RAIL's
        expected = np.concatenate([t[f"mag_{band}_lsst"] for t in rail]).astype(np.float64)
        flux = primary[f"{band}_cModelFlux"].to_numpy(np.float64)
        detected = flux > 0
        magnitude = -2.5 * np.log10(flux[detected]) + ZP_NJY - LSST_EXTINCTION[band] * ebv[detected]
        tolerance = 1e-9 if style == "dp02" else 2e-6  # float32 fluxes
        np.testing.assert_allclose(magnitude, expected[detected], atol=tolerance, err_msg=band)
        assert (expected[~detected] == 99.0).all()


def test_the_spectra_are_of_the_training_objects(tmp_path):
    written = write_release(tmp_path, "dp1", n_files=2)
    catalog = pq.read_table(written["catalog"]).to_pandas()
    truth = pq.read_table(written["truth"]).to_pandas().set_index("objectId")
    spectra = pq.read_table(written["spectra"]).to_pandas()
    tree = cKDTree(unit_vectors(catalog["coord_ra"].to_numpy(), catalog["coord_dec"].to_numpy()))
    distance, nearest = tree.query(unit_vectors(spectra["ra"].to_numpy(), spectra["dec"].to_numpy()))
    close = distance < np.radians(1.0 / 3600.0)
    n_training = read_rail_table(rail_sample_path(DC2_TRAINING))["redshift"].size
    matched = catalog["objectId"].to_numpy()[nearest[close]]
    assert 0.95 * n_training < np.unique(matched).size <= n_training and matched.max() <= n_training
    best = spectra[close]["flag"].to_numpy() >= 3
    np.testing.assert_array_equal(spectra[close]["z"].to_numpy()[best], truth.loc[matched[best], "redshift"])


def test_an_unknown_style_is_named():
    with pytest.raises(ValueError, match="unknown catalog style 'dp3'"):
        release_tables("dp3", seed=0)
