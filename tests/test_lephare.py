"""LePHARE: libraries built once by training, loaded once per rank, read-only for every rank."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import object_input, run_pzmpi, write_config
from lephare_setup import DATA, assert_same_as_rail, train_library, with_lephare_settings
from report_check import assert_metrics_are_qps, qp_reference

from pzmpi.datasets.dc2_sample import DC2_VALIDATION, rail_sample_path, read_rail_table

pytestmark = [pytest.mark.slow, pytest.mark.mpi,
              pytest.mark.skipif(find_spec("lephare") is None, reason="pz-rail-lephare is not installed")]

ROWS = 2000
# A small library: 7 galaxy templates, one extinction law, 3 QSO templates, dz = 0.1 up to z = 3.
GALAXIES = ["Ell1_A_0", "Sa_A_0", "Sc_A_0", "Sdm_A_0", "SB3_A_0", "SB7_A_0", "SB11_A_0"]
QUASARS = ["pl_QSOH_template_norm", "pl_TQSO1_template_norm", "pl_I22491_30_TQSO1_70"]


def small_library_params(folder: Path) -> dict[str, str]:
    (folder / "gal.list").write_text("".join(f"COSMOS_SED/{name}.sed\n" for name in GALAXIES))
    (folder / "qso.list").write_text("".join(f"SALVATO09/{name}.sed A\n" for name in QUASARS))
    return {
        "lephare.STAR_SED": str(DATA / "sed/STAR/STAR_MOD.list"), "star.STAR_SED": str(DATA / "sed/STAR/STAR_MOD.list"),
        "lephare.PARA_OUT": str(DATA / "examples/output.para"),
        "star.LIB_ASCII": "NO",
        "gal.LIB_ASCII": "NO", "gal.GAL_SED": str(folder / "gal.list"), "gal.EXTINC_LAW": "SB_calzetti.dat",
        "gal.MOD_EXTINC": "5,7", "gal.EB_V": "0.,0.2,0.4", "gal.EM_LINES": "EMP_UV", "gal.EM_DISPERSION": "1.",
        "qso.LIB_ASCII": "NO", "qso.QSO_SED": str(folder / "qso.list"), "qso.EXTINC_LAW": "SB_calzetti.dat",
        "qso.MOD_EXTINC": "0,0", "qso.EB_V": "0.", "qso.EM_LINES": "NO",
    }


@pytest.fixture(scope="module")
def lephare_setup(tmp_path_factory, sample):
    folder = tmp_path_factory.mktemp("lephare")
    return folder, train_library(folder, sample, small_library_params(folder), nzbins=31, rows=ROWS)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_libraries_live_beside_the_model(lephare_setup):
    folder, _ = lephare_setup
    libraries = list((folder / "lephare.pkl.lephare").rglob("lib_mag/*.bin"))
    assert {p.name for p in libraries} >= {"LSST_GAL_MAG.bin", "LSST_STAR_MAG.bin", "LSST_QSO_MAG.bin"}


@pytest.mark.parametrize("implementation", ["native", "rail"])
def test_pdfs_match_rail_and_libraries_load_once_per_rank(lephare_setup, tmp_path, monkeypatch, implementation):
    monkeypatch.setenv("LEPHAREDIR", str(DATA))  # read when RAIL's stage reloads lephare
    from rail.core.data import TableHandle
    from rail.estimation.algos.lephare import LephareEstimator

    folder, estimator = lephare_setup
    library_folder = folder / "lephare.pkl.lephare"
    before = snapshot(library_folder)
    config = write_config(tmp_path / "run.toml", input=object_input(str(folder / "catalog")),
                          estimator={**estimator, "implementation": implementation},
                          output={"folder": "run", "estimator_columns": ["Z_BEST", "CHI_BEST", "MOD_STAR", "CHI_STAR"]},
                          run={"rows_per_chunk": 250, "max_rows_per_piece": 500})
    result = run_pzmpi(["run", str(config)], ranks=4, cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    profile = json.loads((tmp_path / "run" / "profile.json").read_text())
    assert profile["implementation"] == implementation
    assert [r["counters"]["library_loads"] for r in profile["ranks"]] == [1, 1, 1, 1]  # 4 pieces of 2 chunks
    assert snapshot(library_folder) == before  # no rank wrote into the shared library folder

    grid = np.linspace(0.0, 3.0, 31)
    stage = LephareEstimator.make_stage(name="reference_lephare", model=str(folder / "lephare.pkl"),
                                        hdf5_groupname="photometry", chunk_size=500, output=str(tmp_path / "rail.hdf5"))
    reference = stage.estimate(TableHandle("input", path=str(folder / "rail_input.hdf5"))).data
    reference_pdfs = np.asarray(reference.pdf(grid))
    with h5py.File(tmp_path / "run" / "index.hdf5") as index:
        pdfs = index["data/yvals"][()]
        zmode = index["ancil/zmode"][()]
        for name in ("Z_BEST", "CHI_BEST", "MOD_STAR", "CHI_STAR"):  # LePHARE's own numbers, exactly
            np.testing.assert_array_equal(index[f"ancil/{name}"][()], np.asarray(reference.ancil[name]).ravel(), name)
    # objects LePHARE cannot fit get an all-zero PDF, which qp normalises to NaN: the same ones on both sides
    unfit = np.isnan(reference_pdfs).any(axis=1)
    np.testing.assert_array_equal(np.isnan(pdfs).any(axis=1), unfit)
    assert unfit.sum() < ROWS // 10 and np.isnan(zmode[unfit]).all()
    peak = reference_pdfs[~unfit].max(axis=1, keepdims=True)
    worst = (np.abs(pdfs[~unfit] - reference_pdfs[~unfit]) / peak).max()
    assert worst <= 1e-5, f"max |delta p| / max p = {worst:.2e}"
    np.testing.assert_array_equal(zmode[~unfit], reference.mode(grid).ravel()[~unfit])

    # pzmpi evaluate over the same run: qp's metrics of the same PDFs (a PDF LePHARE could not fit is NaN,
    # which makes qp's point metrics NaN: null in the report)
    evaluate = write_config(tmp_path / "evaluate.toml", evaluate={"runs": ["run"]}, output={"folder": "validation"})
    result = run_pzmpi(["evaluate", str(evaluate)], ranks=2, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    (report,) = json.loads((tmp_path / "validation" / "validation.json").read_text())["runs"]
    assert report["objects"] == ROWS
    assert_metrics_are_qps(report["metrics"], report["pit"], qp_reference(tmp_path / "run" / "index.hdf5",
                                                                          folder / "catalog"))


RAIL_KEYS = ["Z_BEST", "CHI_BEST", "ZQ_BEST", "CHI_QSO", "MOD_STAR", "CHI_STAR"]  # RAIL's output_keys


CRAFTED = {  # (magnitudes u..y, errors u..y): what a catalog can hand LePHARE after pzmpi's cleaning
    "clean": ([24.1, 23.5, 23.0, 22.7, 22.5, 22.4], [0.2, 0.05, 0.03, 0.03, 0.04, 0.09]),
    "unobserved bands": ([np.nan, np.nan, 23.0, 22.7, np.nan, 22.4], [np.nan, np.nan, 0.03, 0.03, np.nan, 0.09]),
    "non-detection at the limit": ([99.0, 23.5, 23.0, 22.7, 22.5, 99.0], [1.0, 0.05, 0.03, 0.03, 0.04, 1.0]),
    "upper limits (negative errors)": ([25.0, 23.5, 23.0, 22.7, 22.5, 24.0], [-1.0, 0.05, 0.03, 0.03, 0.04, -1.0]),
    "zero errors": ([24.1, 23.5, 23.0, 22.7, 22.5, 22.4], [0.0, 0.0, 0.03, 0.03, 0.04, 0.09]),
    "negative magnitudes": ([-99.0, 23.5, 23.0, 22.7, 22.5, -99.0], [1.0, 0.05, 0.03, 0.03, 0.04, -99.0]),
    "one discrepant band": ([24.1, 23.5, 17.0, 22.7, 22.5, 22.4], [0.2, 0.05, 0.001, 0.03, 0.04, 0.09]),
    "two discrepant bands": ([30.0, 23.5, 17.0, 22.7, 22.5, 22.4], [0.001, 0.05, 0.001, 0.03, 0.04, 0.09]),
    "very bright": ([16.0, 15.2, 14.8, 14.6, 14.5, 14.4], [0.01, 0.01, 0.01, 0.01, 0.01, 0.01]),
    "nothing usable": ([np.nan] * 6, [np.nan] * 6),
}


@pytest.mark.parametrize("kernel", ["gridded", "exact"])
def test_the_native_fit_gives_lephares_numbers_on_crafted_objects(lephare_setup, tmp_path, monkeypatch, kernel):
    """Both implementations in one process, on the same magnitudes: every value equal; the PDFs to 1e-12 of their
    peak from LePHARE's own arithmetic (the kernel of a library off the grid), to 2e-9 from the gridded one."""
    monkeypatch.setenv("LEPHAREDIR", str(DATA))
    from pzmpi.estimators.config import load_config
    from pzmpi.estimators.native.lephare import NativeLephare
    from pzmpi.estimators.rail_adapter import RailEstimator

    folder, estimator = lephare_setup
    keys = RAIL_KEYS
    path = write_config(tmp_path / "run.toml", input=object_input(str(folder / "catalog")), estimator=estimator,
                        output={"folder": "run", "estimator_columns": keys})
    config = load_config(path)
    mags = np.array([m for m, _ in CRAFTED.values()], dtype=np.float32)
    errors = np.array([e for _, e in CRAFTED.values()], dtype=np.float32)
    rng = np.random.default_rng(3)  # and a few hundred DC2-like objects with random gaps
    sample = read_rail_table(rail_sample_path(DC2_VALIDATION))
    bands = "ugrizy"
    more_mags = np.column_stack([sample[f"mag_{b}_lsst"][:300] for b in bands]).astype(np.float32)
    more_errors = np.column_stack([sample[f"mag_err_{b}_lsst"][:300] for b in bands]).astype(np.float32)
    gaps = rng.random(more_mags.shape) < 0.1
    more_mags[gaps], more_errors[gaps] = np.nan, np.nan
    mags, errors = np.vstack([mags, more_mags]), np.vstack([errors, more_errors])
    columns = {f"mag_{b}_lsst": mags[:, k] for k, b in enumerate(bands)}
    columns.update({f"mag_err_{b}_lsst": errors[:, k] for k, b in enumerate(bands)})

    native = NativeLephare(config)
    assert native.tables is not None  # the small library is on the grid
    if kernel == "exact":
        native.tables = None
    native.compile()
    mine = native.estimate(columns)
    theirs = RailEstimator(config).estimate(columns)
    assert_same_as_rail(mine, theirs, keys, 1e-12 if kernel == "exact" else 2e-9)
    crafted = {name: i for i, name in enumerate(CRAFTED)}
    assert mine.extras["CHI_BEST"][crafted["nothing usable"]] == 0.0  # every model fits nothing: chi2 0, a flat PDF
    assert mine.extras["CHI_BEST"][crafted["one discrepant band"]] < 500.0  # LePHARE dropped the r band at 17
    assert mine.extras["CHI_BEST"][crafted["non-detection at the limit"]] == 1e9  # 99 +- 1 as a detection: no fit


def dc2_objects(lephare_setup, tmp_path: Path) -> tuple:
    """A run's configuration on the small library keeping RAIL's output keys, and the magnitudes of the first 300
    DC2 validation objects as the estimators' columns."""
    from pzmpi.estimators.config import load_config

    folder, estimator = lephare_setup
    config = load_config(write_config(tmp_path / "run.toml", input=object_input(str(folder / "catalog")),
                                      estimator=estimator, output={"folder": "run", "estimator_columns": RAIL_KEYS}))
    sample = read_rail_table(rail_sample_path(DC2_VALIDATION))
    return config, {name: np.asarray(values[:300], dtype=np.float32) for name, values in sample.items()
                    if name.startswith("mag_")}


@pytest.mark.parametrize("kernel", ["gridded", "exact"])
def test_other_settings_give_lephares_numbers(lephare_setup, tmp_path, monkeypatch, kernel):
    """Settings away from RAIL's defaults on both sides (an error floor per band, another error factor, narrower
    MAG_ABS limits on another reference band, a lower discrepant-band threshold, no Z_INTERP): the same numbers."""
    monkeypatch.setenv("LEPHAREDIR", str(DATA))
    import pzmpi.estimators.rail_adapter as rail_adapter
    from pzmpi.estimators.native.lephare import NativeLephare

    settings = {"ERR_SCALE": "0.01,0.03,0.02,0.02,0.05,0.04", "ERR_FACTOR": "1.2", "MAG_ABS": "-22,-14",
                "MAG_ABS_QSO": "-28,-16", "MAG_REF": "4", "RM_DISCREPANT_BD": "60", "Z_INTERP": "NO"}
    with_lephare_settings(monkeypatch, settings)
    config, columns = dc2_objects(lephare_setup, tmp_path)
    keys = RAIL_KEYS
    columns["mag_g_lsst"][:30] -= 3.0  # a discrepant band
    native = NativeLephare(config)
    assert native.fit.error_floor.tolist() == [0.01, 0.03, 0.02, 0.02, 0.05, 0.04]
    assert native.fit.reference_band == 3 and native.fit.galaxy_mag_abs == (-22.0, -14.0)
    assert native.fit.discrepant_threshold == 60.0 and not native.fit.interpolate_z
    if kernel == "exact":
        native.tables = None
    mine = native.estimate(columns)
    theirs = rail_adapter.RailEstimator(config).estimate(columns)
    assert_same_as_rail(mine, theirs, keys, 1e-12 if kernel == "exact" else 2e-9)
    monkeypatch.undo()  # the model's own settings, RAIL's defaults: the changed ones made a difference
    monkeypatch.setenv("LEPHAREDIR", str(DATA))
    default = NativeLephare(config).estimate(columns)
    assert (mine.extras["CHI_BEST"] != default.extras["CHI_BEST"]).mean() > 0.5


@pytest.mark.parametrize("kernel", ["gridded", "exact"])
def test_the_n_z_prior_gives_lephares_numbers(lephare_setup, tmp_path, monkeypatch, kernel):
    """NZ_PRIOR (i band, z as fallback) on both sides: both kernels give LePHARE's numbers for faint objects, bright
    ones (the prior's cuts at i = 20 and 22) and ones without the i band."""
    monkeypatch.setenv("LEPHAREDIR", str(DATA))
    import pzmpi.estimators.rail_adapter as rail_adapter
    from pzmpi.estimators.native.lephare import NativeLephare

    config, columns = dc2_objects(lephare_setup, tmp_path)
    keys = RAIL_KEYS
    for band in "ugrizy":
        columns[f"mag_{band}_lsst"][:20] -= 5.0  # i < 20: no galaxy above z = 1
        columns[f"mag_{band}_lsst"][20:40] -= 2.5  # some under 22: none above z = 2
    columns["mag_i_lsst"][40:60] = np.nan  # the fallback band, z
    columns["mag_err_i_lsst"][40:60] = np.nan
    for name in ("mag_i_lsst", "mag_z_lsst", "mag_err_i_lsst", "mag_err_z_lsst"):
        columns[name][60:70] = np.nan  # neither: the prior weighs 1
    without = NativeLephare(config).estimate(columns)

    with_lephare_settings(monkeypatch, {"NZ_PRIOR": "4,5"})
    native = NativeLephare(config)
    assert native.fit.prior_bands == (3, 4)
    assert native.tables is not None and len(set(native.tables.row_prior[:native.tables.rows[0]])) >= 3  # types
    if kernel == "exact":
        native.tables = None
    mine = native.estimate(columns)
    theirs = rail_adapter.RailEstimator(config).estimate(columns)
    assert_same_as_rail(mine, theirs, keys, 1e-12 if kernel == "exact" else 2e-9)
    moved = mine.extras["Z_BEST"] != without.extras["Z_BEST"]
    assert moved[70:].any()  # the prior changed some faint objects' Z_BEST
    assert (mine.extras["Z_BEST"][:20] <= 1.0 + 0.1).all()  # no bright galaxy above z = 1 (a grid step of slack)
    np.testing.assert_array_equal(mine.extras["Z_BEST"][60:70], without.extras["Z_BEST"][60:70])
