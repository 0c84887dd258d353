"""Native LePHARE on a realistic library against RAIL's estimate(): the same values, the same PDFs.

The library is ``pzmpi.datasets.lephare_libraries``' "minimal" one: the 31 COSMOS templates,
3 extinction laws, 5 E(B-V) values, z from 0 to 3 in steps of 0.01, with RAIL's QSO library
and the shipped stars, built by ``pzmpi train`` (about 2.5 minutes on one core).
"""

from __future__ import annotations

from importlib.util import find_spec

import h5py
import numpy as np
import pytest
from conftest import object_input, write_config
from lephare_setup import DATA, assert_same_as_rail, train_library, with_lephare_settings

from pzmpi.datasets.lephare_libraries import LIBRARIES, cosmos_library_params
from pzmpi.estimators.native.lephare_exact import GALAXY

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(find_spec("lephare") is None, reason="pz-rail-lephare is not installed")]

ROWS = 1000
KEYS = ["Z_BEST", "CHI_BEST", "ZQ_BEST", "CHI_QSO", "MOD_STAR", "CHI_STAR"]  # RAIL's output_keys


@pytest.fixture(scope="module")
def realistic(tmp_path_factory, sample):
    folder = tmp_path_factory.mktemp("lephare-realistic")
    estimator = train_library(folder, sample, cosmos_library_params(DATA, "minimal"), nzbins=301, rows=ROWS)
    return folder, estimator


def test_native_lephare_gives_rails_values_and_pdfs_on_a_realistic_library(realistic, tmp_path, monkeypatch):
    monkeypatch.setenv("LEPHAREDIR", str(DATA))  # read when RAIL's stage reloads lephare
    from rail.core.data import TableHandle
    from rail.estimation.algos.lephare import LephareEstimator

    from pzmpi.estimators.config import load_config
    from pzmpi.estimators.native.lephare import NativeLephare

    folder, estimator = realistic
    library = LIBRARIES["minimal"]
    assert len(library["gal.EXTINC_LAW"].split(",")) >= 3 and len(library["gal.EB_V"].split(",")) >= 5
    config = load_config(write_config(tmp_path / "run.toml", input=object_input(str(folder / "catalog")),
                                      estimator=estimator,
                                      output={"folder": "run", "estimator_columns": [*KEYS, "MOD_BEST"]}))
    native = NativeLephare(config)
    grid = native.library.pdf_grid
    np.testing.assert_allclose(np.diff(grid), 0.01, rtol=1e-9)
    assert grid[0] == 0.0 and grid[-1] == pytest.approx(3.0)
    assert native.tables is not None  # fitted as tables on the grid
    assert native.tables.rows[GALAXY] >= 100  # templates x laws x E(B-V) x line strengths, each at 301 redshifts
    with h5py.File(folder / "rail_input.hdf5") as handle:
        columns = {name: values[()] for name, values in handle["photometry"].items()}
    native.compile()
    mine = native.estimate(columns)

    stage = LephareEstimator.make_stage(name="realistic_lephare", model=str(folder / "lephare.pkl"),
                                        hdf5_groupname="photometry", chunk_size=ROWS,
                                        output=str(tmp_path / "rail.hdf5"))
    reference = stage.estimate(TableHandle("input", path=str(folder / "rail_input.hdf5"))).data
    for name in KEYS:
        expected = np.asarray(reference.ancil[name]).ravel()
        np.testing.assert_array_equal(mine.extras[name], expected.astype(mine.extras[name].dtype), err_msg=name)
    theirs = np.asarray(reference.pdf(native.grid))
    unfit = np.isnan(theirs).any(axis=1)
    np.testing.assert_array_equal(np.isnan(mine.pdfs).any(axis=1), unfit)
    assert unfit.sum() < ROWS // 10
    peak = theirs[~unfit].max(axis=1, keepdims=True)
    worst = (np.abs(mine.pdfs[~unfit] - theirs[~unfit]) / peak).max()
    assert worst <= 1e-5, f"max |delta p| / max p = {worst:.2e}"

    # and against LePHARE's arithmetic throughout (the exact kernel, in float64): every value, the PDFs to 2e-9
    native.tables = None
    exact = native.estimate(columns)
    for name in [*KEYS, "MOD_BEST"]:
        np.testing.assert_array_equal(mine.extras[name], exact.extras[name], err_msg=name)
    peak = exact.pdfs[~unfit].max(axis=1, keepdims=True)
    assert (np.abs(mine.pdfs[~unfit] - exact.pdfs[~unfit]) / peak).max() <= 2e-9


def test_the_n_z_prior_on_a_realistic_library_gives_rails_values_and_pdfs(realistic, tmp_path, monkeypatch):
    """NZ_PRIOR (i band, z as fallback) in the gridded kernel against RAIL's own code (``lephare.process`` through
    pzmpi's RAIL adapter) with the same prior, on 300 objects, a fifth of them made brighter than 20 or 22."""
    monkeypatch.setenv("LEPHAREDIR", str(DATA))
    import pzmpi.estimators.rail_adapter as rail_adapter
    from pzmpi.estimators.config import load_config
    from pzmpi.estimators.native.lephare import NativeLephare

    with_lephare_settings(monkeypatch, {"NZ_PRIOR": "4,5"})
    folder, estimator = realistic
    config = load_config(write_config(tmp_path / "run.toml", input=object_input(str(folder / "catalog")),
                                      estimator=estimator, output={"folder": "run", "estimator_columns": KEYS}))
    with h5py.File(folder / "rail_input.hdf5") as handle:
        columns = {name: values[:300] for name, values in handle["photometry"].items() if name.startswith("mag_")}
    for band in "ugrizy":
        columns[f"mag_{band}_lsst"][:30] -= 5.0
        columns[f"mag_{band}_lsst"][30:60] -= 2.5
    native = NativeLephare(config)
    assert native.tables is not None and len(set(native.tables.row_prior[:native.tables.rows[GALAXY]])) == 4
    native.compile()
    mine = native.estimate(columns)
    theirs = rail_adapter.RailEstimator(config).estimate(columns)
    assert assert_same_as_rail(mine, theirs, KEYS, 2e-9).sum() > 250
    assert (mine.extras["Z_BEST"][:30] <= 1.0 + 0.01).all()  # brighter than i = 20: no galaxy above z = 1
