"""pzmpi training-set: the pairs lsdb's crossmatch finds, on pixel borders and near the poles too; every case of
the duplicate policy; a split that depends only on objectId and the seed; the same tables on 1, 2 and 4 ranks;
tables pzmpi train reads as they are; the demo's training set made from the sample; a training set of a release's
skinny table registered in its record."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import hpgeom
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_pzmpi, write_config

from pzmpi.acquire.release_init import catalog_files, create_release, describe_file
from pzmpi.core.release import Release
from pzmpi.datasets.synthetic import write_catalog
from pzmpi.train import crossmatch

ARCSEC = 1.0 / 3600.0
BANDS = ["u", "g", "r", "i", "z", "y"]


def offset(ra: np.ndarray, dec: np.ndarray, arcsec: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``arcsec`` away from (ra, dec), towards position angle ``angle`` (small offsets, exact enough)."""
    d_dec = arcsec * ARCSEC * np.cos(angle)
    d_ra = arcsec * ARCSEC * np.sin(angle) / np.cos(np.radians(dec + d_dec))
    return (ra + d_ra) % 360.0, np.clip(dec + d_dec, -90.0, 90.0)


def synthetic_case(rng: np.random.Generator, rows: int = 200_000) -> tuple[pa.Table, pa.Table]:
    """Photometry over several HEALPix pixels, and spectra near some objects: on pixel borders, near the poles,
    near close pairs of objects, several on one object, and some near nothing."""
    ra = rng.uniform(50.0, 54.0, rows)
    dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-32.0)), np.sin(np.radians(-28.0)), rows)))
    # objects on the borders of order-8 pixels (where a partition without margins loses pairs)
    nside = hpgeom.order_to_nside(8)
    border_pixels = hpgeom.angle_to_pixel(nside, rng.uniform(50.5, 53.5, 400), rng.uniform(-31.5, -28.5, 400))
    b_ra, b_dec = hpgeom.boundaries(nside, border_pixels, step=1)
    corner = rng.integers(0, b_ra.shape[1], 400)
    ra[:400], dec[:400] = offset(b_ra[np.arange(400), corner], b_dec[np.arange(400), corner],
                                 rng.uniform(0.0, 0.3, 400), rng.uniform(0, 2 * np.pi, 400))
    # near both poles, where pixels are thinnest
    polar = slice(400, 1000)
    ra[polar] = rng.uniform(0, 360, 600)
    dec[polar] = np.where(rng.random(600) < 0.5, 1, -1) * (90.0 - rng.uniform(0.0, 30.0, 600) * ARCSEC)
    # close pairs: object 1000 + 2k and its twin 0.4 arcsec away
    twins = np.arange(1000, 3000, 2)
    ra[twins + 1], dec[twins + 1] = offset(ra[twins], dec[twins], np.full(twins.size, 0.4), rng.uniform(0, 6.3, twins.size))
    photometry = {"objectId": rng.permutation(rows).astype(np.int64) + 10**12, "coord_ra": ra, "coord_dec": dec}
    depth = rng.uniform(18.0, 27.0, rows)
    for band in BANDS:
        photometry[f"mag_{band}"] = (depth + rng.normal(0, 0.3, rows)).astype(np.float32)
        photometry[f"magerr_{band}"] = np.full(rows, 0.05, dtype=np.float32)
    # spectra: one near each of 20,000 objects (the border, polar and twin objects among them), three near
    # each of 200 more objects (several spectra per object), and 500 near nothing
    near = np.r_[np.arange(0, 3000), rng.choice(np.arange(3000, rows), 17_000, replace=False)]
    crowded = rng.choice(np.setdiff1d(np.arange(3000, rows), near), 200, replace=False)
    targets = np.r_[near, np.repeat(crowded, 3)]
    s_ra, s_dec = offset(ra[targets], dec[targets], rng.uniform(0.0, 0.9, targets.size),
                         rng.uniform(0, 2 * np.pi, targets.size))
    lonely_ra, lonely_dec = rng.uniform(60.0, 61.0, 500), rng.uniform(-30.0, -29.0, 500)
    spectra = {"ra": np.r_[s_ra, lonely_ra], "dec": np.r_[s_dec, lonely_dec],
               "z": rng.uniform(0.05, 2.5, targets.size + 500),
               "flag": rng.integers(1, 5, targets.size + 500).astype(np.float64)}
    return pa.table(photometry), pa.table(spectra)


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("training_set")
    photometry, spectra = synthetic_case(np.random.default_rng(5))
    (folder / "photometry").mkdir()
    for part, (start, stop) in enumerate(((0, 70_000), (70_000, 140_000), (140_000, 200_000))):
        pq.write_table(photometry.slice(start, stop - start), folder / "photometry" / f"part{part}.parquet",
                       row_group_size=20_000)
    pq.write_table(spectra, folder / "spectra.parquet")
    return folder


def make(folder: Path, ranks: int, out: str, **split) -> tuple[Path, str]:
    config = write_config(folder / f"{out}.toml", spectra={"paths": ["spectra.parquet"], "flag_column": "flag"},
                          photometry={"paths": ["photometry"]}, split=split, output={"folder": out})
    result = run_pzmpi(["training-set", str(config)], ranks=ranks, cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / out, result.stdout


def digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in ("training.parquet", "test.parquet", "matches.parquet")}


@pytest.mark.mpi
def test_the_pairs_are_lsdbs_and_the_tables_the_same_on_1_2_and_4_ranks(case):
    import lsdb  # a test dependency: importing it costs seconds, so only here
    outputs = {ranks: make(case, ranks, f"out{ranks}")[0] for ranks in (1, 2, 4)}
    assert digests(outputs[1]) == digests(outputs[2]) == digests(outputs[4])
    mine = pq.read_table(outputs[2] / "matches.parquet").to_pandas()

    spectra = pq.read_table(case / "spectra.parquet").to_pandas()
    spectra["spectrum"] = np.arange(len(spectra), dtype=np.int64)  # file 0: the key is the row
    photometry = pq.read_table(case / "photometry").to_pandas()
    left = lsdb.from_dataframe(spectra, ra_column="ra", dec_column="dec")
    right = lsdb.from_dataframe(photometry, ra_column="coord_ra", dec_column="coord_dec")
    theirs = left.crossmatch(right, n_neighbors=1, radius_arcsec=1.0, suffixes=("_s", "_p"),
                             suffix_method="all_columns").compute()
    theirs = theirs.sort_values("spectrum_s")
    assert len(mine) == len(theirs) > 20_000
    np.testing.assert_array_equal(mine["spectrum"], theirs["spectrum_s"])
    np.testing.assert_array_equal(mine["objectId"], theirs["objectId_p"])
    np.testing.assert_allclose(mine["separation_arcsec"], theirs["_dist_arcsec"], atol=1e-6)
    # the hard cases are all found: border, polar and twin objects each have their spectrum
    assert np.isin(np.arange(3000), mine["spectrum"]).all()


@pytest.mark.mpi
def test_every_case_of_the_policy_is_counted_and_the_split_follows_only_the_seed(case):
    first, stdout = make(case, 2, "seed0", seed=0)
    document = json.loads((first / "training_set.json").read_text())
    counts = document["counts"]
    assert counts["spectra"] == 21_100 and counts["unmatched_spectra"] == 500
    assert counts["objects_with_several_spectra"] >= 200  # the crowded objects, and twins near one spectrum
    assert counts["decided_by_flag"] + counts["decided_by_separation"] + counts["decided_by_order"] == \
        counts["objects_with_several_spectra"]
    assert counts["spectra_near_several_objects"] > 0  # the twins
    assert counts["training"] + counts["test"] == counts["objects"] == counts["matched_spectra"] - counts["spectra_dropped"]
    assert "training" in stdout
    training = pq.read_table(first / "training.parquet").to_pandas()
    test = pq.read_table(first / "test.parquet").to_pandas()
    assert abs(len(training) / (len(training) + len(test)) - 0.7) < 0.02
    assert set(training["objectId"]).isdisjoint(test["objectId"])
    other, _ = make(case, 1, "seed1", seed=1)
    again = pq.read_table(other / "training.parquet").to_pandas()
    assert set(again["objectId"]) != set(training["objectId"])
    assert set(again["objectId"]) | set(pq.read_table(other / "test.parquet")["objectId"].to_pylist()) == \
        set(training["objectId"]) | set(test["objectId"])


def test_duplicate_policy_best_flag_then_nearest_then_first():
    # object 7: flags 2, 3, 3 -> the two with flag 3 tie, the nearer (0.2) wins; object 8: one spectrum;
    # object 9: same flag, same separation: the first spectrum wins
    object_id = np.array([7, 7, 7, 8, 9, 9])
    flag = np.array([2.0, 3.0, 3.0, 1.0, 1.0, 1.0])
    separation = np.array([0.1, 0.5, 0.2, 0.3, 0.4, 0.4])
    spectrum = np.array([10, 11, 12, 13, 15, 14])
    kept, counts = crossmatch.one_spectrum_per_object(object_id, flag, separation, spectrum, False)
    assert sorted(spectrum[kept].tolist()) == [12, 13, 14]
    assert counts == {"objects_with_several_spectra": 2, "decided_by_flag": 0, "decided_by_separation": 1,
                      "decided_by_order": 1, "spectra_dropped": 3}
    kept, counts = crossmatch.one_spectrum_per_object(object_id, flag, separation, spectrum, True)
    assert sorted(spectrum[kept].tolist()) == [10, 13, 14] and counts["decided_by_flag"] == 1


def test_one_spectrum_near_several_objects_keeps_the_nearest_then_the_smallest_id():
    candidates = crossmatch.Candidates(spectrum=np.array([1, 1, 2, 2, 3]), object_id=np.array([50, 40, 60, 30, 70]),
                                       separation=np.array([0.5, 0.3, 0.2, 0.2, 0.9]), row=np.arange(5))
    chosen, several = crossmatch.nearest_per_spectrum(candidates)
    assert candidates.object_id[chosen].tolist() == [40, 30, 70] and several == 2


def test_the_split_depends_on_the_id_and_the_seed_only():
    ids = np.arange(100_000, dtype=np.int64) * 7919
    mask = crossmatch.training_mask(ids, 3, 0.7)
    np.testing.assert_array_equal(crossmatch.training_mask(ids[::-1], 3, 0.7), mask[::-1])
    assert abs(mask.mean() - 0.7) < 0.01
    assert (crossmatch.training_mask(ids, 4, 0.7) != mask).mean() > 0.3


@pytest.mark.mpi
def test_pzmpi_train_reads_the_training_table_as_it_is(case, tmp_path):
    out, _ = make(case, 2, "for_training")
    config = write_config(tmp_path / "gpz.toml", input={"paths": str(case / "photometry"),
                                                        "magnitude_column": "mag_{band}",
                                                        "magnitude_error_column": "magerr_{band}"},
                          estimator={"name": "gpz", "model": "gpz.pkl"},
                          training={"input": str(out / "training.parquet"),
                                    "params": {"n_basis": 10, "max_iter": 10}}, output={"folder": "run"})
    result = run_pzmpi(["train", str(config)])
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "gpz.pkl.training.json").read_text())
    assert record["rows"] == pq.read_metadata(out / "training.parquet").num_rows


@pytest.mark.mpi
def test_an_empty_spectroscopic_catalog_is_a_clear_error(case, tmp_path):
    pq.write_table(pq.read_table(case / "spectra.parquet").slice(0, 0), tmp_path / "empty.parquet")
    config = write_config(tmp_path / "ts.toml", spectra={"paths": [str(tmp_path / "empty.parquet")]},
                          photometry={"paths": [str(case / "photometry")]}, output={"folder": "out"})
    result = run_pzmpi(["training-set", str(config)], ranks=2, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("no spectrum passes the cuts") == 1
    assert "empty.parquet" in result.stderr


@pytest.mark.mpi
@pytest.mark.parametrize("breakage, message", [("garbage", "not a readable parquet catalog"),
                                               ("no_flag", "missing column(s) flag")])
def test_an_unreadable_spectroscopic_catalog_stops_with_its_name(case, tmp_path, breakage, message):
    broken = tmp_path / "broken.parquet"
    if breakage == "garbage":
        broken.write_bytes(b"not parquet at all")
    else:
        pq.write_table(pq.read_table(case / "spectra.parquet").drop_columns(["flag"]), broken)
    config = write_config(tmp_path / "ts.toml", spectra={"paths": [str(broken)], "flag_column": "flag"},
                          photometry={"paths": [str(case / "photometry")]}, output={"folder": "out"})
    result = run_pzmpi(["training-set", str(config)], ranks=2, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count(message) == 1 and "broken.parquet" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.mpi
def test_the_demo_makes_the_samples_training_objects_with_their_true_redshifts(sample, tmp_path):
    example = tomllib.loads((Path(__file__).parent.parent / "docs/examples/training_set.toml").read_text())
    example["spectra"]["paths"] = [str(sample / "spectra.parquet")]
    example["photometry"]["paths"] = [str(sample / "field")]
    result = run_pzmpi(["training-set", str(write_config(tmp_path / "ts.toml", **example))], ranks=2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    made = pa.concat_tables([pq.read_table(tmp_path / "training_set" / name) for name in ("training.parquet",
                                                                                         "test.parquet")])
    truth = pq.read_table(sample / "training.parquet").to_pandas().set_index("objectId")
    made = made.to_pandas().set_index("objectId")
    assert 0.99 * len(truth) < len(made) <= len(truth)  # the few spectra 1 arcsec off are lost, as on the sky
    # objects observed twice keep the better flag's spectrum, with their true redshift; the worse one (flag 2,
    # z + 0.01) is kept only where the better one fell outside the radius
    worse = (made["z_flag"] == 2).to_numpy()
    assert 0 < worse.sum() < 10
    np.testing.assert_allclose(made["redshift"], truth.loc[made.index, "redshift"] + np.where(worse, 0.01, 0.0),
                               rtol=0, atol=1e-12)
    np.testing.assert_array_equal(made["g_cModelFlux"], truth.loc[made.index, "g_cModelFlux"])
    counts = json.loads((tmp_path / "training_set" / "training_set.json").read_text())["counts"]
    assert counts["decided_by_flag"] == counts["objects_with_several_spectra"] > 200


@pytest.mark.mpi
def test_a_training_set_of_a_release_is_registered_in_its_record(tmp_path):
    catalog = tmp_path / "catalog"
    write_catalog(catalog, "dp02", 2, 3000, seed=4, row_group_rows=1000)
    described = [describe_file(path, catalog) for path in catalog_files(catalog)]
    create_release(tmp_path / "releases", "dp02x", catalog, described, "a test release")
    skinny = write_config(tmp_path / "skinny.toml", input={"preset": "dp02"}, output={"folder": "skinny"})
    releases = ["--releases", str(tmp_path / "releases")]
    assert run_pzmpi(["skinny", "dp02x", str(skinny), *releases], ranks=2, cwd=tmp_path).returncode == 0
    objects = pq.read_table(catalog).to_pandas()
    chosen = objects[objects["detect_isPrimary"]].iloc[::10]
    pq.write_table(pa.table({"ra": chosen["coord_ra"].to_numpy(), "dec": chosen["coord_dec"].to_numpy(),
                             "z": np.linspace(0.1, 2.0, len(chosen))}), tmp_path / "spectra.parquet")
    config = write_config(tmp_path / "ts.toml", spectra={"paths": ["spectra.parquet"]},
                          photometry={"release": "dp02x", "releases": str(tmp_path / "releases")},
                          output={"folder": "ts", "name": "first"})
    result = run_pzmpi(["training-set", str(config)], ranks=2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    record = Release.open(tmp_path / "releases", "dp02x").record
    entry = record["training_sets"][-1]
    assert entry["name"] == "first" and entry["training_rows"] + entry["test_rows"] == len(chosen)
    for file in entry["files"]:
        assert hashlib.sha256(Path(file["name"]).read_bytes()).hexdigest() == file["sha256"]
    assert "spectra.parquet" in entry["config"] and "pzmpi training-set" in record["history"][-1]["command"]
    training = pq.read_table(tmp_path / "ts" / "training.parquet")
    assert {"mag_i", "magerr_i", "redshift", "separation_arcsec"} <= set(training.column_names)
    shown = run_pzmpi(["release", "show", "dp02x", *releases])
    assert "training sets: 1" in shown.stdout and "first" in shown.stdout
