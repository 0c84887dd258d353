"""The validation report (pzmpi evaluate) and the results report (pzmpi report) under mpiexec: the same JSON on
1, 2 and 4 ranks, pages that show the JSON's numbers with images that decode, equal-count tomography."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import object_input, run_pzmpi, write_config
from report_check import check_report

pytestmark = pytest.mark.mpi


def run_folder(folder: Path, sample: Path, model: Path, name: str, **summary) -> Path:
    config = write_config(folder / f"{name}.toml", input=object_input(str(sample / "catalog")),
                          estimator={"name": name, "model": str(model)}, output={"folder": f"run-{name}"},
                          summary=summary, run={"rows_per_chunk": 3000})
    result = run_pzmpi(["run", str(config)], ranks=2, cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / f"run-{name}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, sample, models) -> Path:
    folder = tmp_path_factory.mktemp("runs")
    for name in ("bpz", "gpz"):
        run_folder(folder, sample, models[name], name)
    return folder


def test_the_validation_report_is_the_same_on_1_2_and_4_ranks_and_shows_its_numbers(runs, sample):
    texts, tables = {}, {}
    for ranks in (1, 2, 4):
        config = write_config(runs / f"evaluate{ranks}.toml", evaluate={"runs": ["run-bpz", "run-gpz"]},
                              output={"folder": f"validation{ranks}"})
        result = run_pzmpi(["evaluate", str(config)], ranks=ranks, cwd=runs)
        assert result.returncode == 0, result.stderr
        assert "bpz: 20,449 objects" in result.stdout and "gpz: 20,449 objects" in result.stdout
        texts[ranks] = (runs / f"validation{ranks}" / "validation.json").read_text()
        tables[ranks] = {name: (runs / f"validation{ranks}" / f"objects_{name}.parquet").read_bytes()
                         for name in ("bpz", "gpz")}
    assert texts[1] == texts[2] == texts[4]
    assert tables[1] == tables[2] == tables[4]
    objects = pq.read_table(runs / "validation1" / "objects_bpz.parquet").to_pandas()
    catalog = pq.read_table(sample / "catalog", columns=["objectId", "redshift"]).to_pandas()
    assert len(objects) == 20449 and objects["objectId"].is_unique
    truth = catalog.set_index("objectId").loc[objects["objectId"], "redshift"].to_numpy()
    np.testing.assert_array_equal(objects["z_true"].to_numpy(), truth)
    assert objects["pit"].between(0, 1).all() and {"zmode", "mag_i", "cde_at_truth"} <= set(objects.columns)
    document = json.loads(texts[1])
    assert [row["name"] for row in document["comparison"]] == ["bpz", "gpz"]
    bins = document["runs"][0]["magnitude_bins"]
    in_range = document["runs"][0]["objects_in_magnitude_range"]
    assert sum(b["objects"] for b in bins) == in_range and 0.95 * 20449 < in_range <= 20449
    checks = document["runs"][0]["requirements"]["checks"]
    assert [c["verdict"] for c in checks] == [("pass" if c["value"] < c["bound"] else "fail") for c in checks]
    shown = check_report(runs / "validation1" / "validation.html", runs / "validation1" / "validation.json", 5)
    assert shown > 100


def test_the_results_report_shows_its_numbers_and_the_bpz_prior(runs):
    result = run_pzmpi(["report", str(runs / "run-bpz")])
    assert result.returncode == 0, result.stderr
    report = runs / "run-bpz" / "report"
    check_report(report / "results.html", report / "results.json", 4)
    document = json.loads((report / "results.json").read_text())
    model = document["model"]
    assert model["priors"]["mo"] == 20.0 and len(model["templates"]) == 8  # RAIL's default CWWSB4 list
    assert model["training"]["rows"] == 10225 and model["training"]["redshift"]["max"] > 2.5
    assert document["sky"]["footprint_deg2"] > 100 and sum(document["sky"]["counts"]) == 20449
    assert document["stage1"] is None and document["run"]["estimator"] == "bpz"


def test_equal_count_tomography_writes_each_objects_bin(tmp_path, sample, models):
    run = run_folder(tmp_path, sample, models["gpz"], "gpz", tomography="equal_count", tomographic_bins=4)
    result = run_pzmpi(["report", str(run)])
    assert result.returncode == 0, result.stderr
    document = json.loads((run / "report" / "results.json").read_text())
    tomography = document["tomography"]
    counts = [b["objects"] for b in tomography["bins"]]
    assert len(counts) == 4 and sum(counts) + tomography["unassigned"] == 20449
    assert max(counts) < 1.5 * min(counts)  # as even as the grid's cells allow
    table = pq.read_table(run / "tomography.parquet").to_pandas()
    with h5py.File(run / "index.hdf5") as index:
        ids, zmode = index["ancil/objectId"][()], index["ancil/zmode"][()]
    np.testing.assert_array_equal(table["objectId"], ids)
    assert np.bincount(table["tomo_bin"][table["tomo_bin"] >= 0], minlength=4).tolist() == counts
    edges = tomography["edges"]
    for b in range(4):
        chosen = zmode[table["tomo_bin"] == b]
        assert chosen.min() >= edges[b] and chosen.max() < edges[b + 1]


def test_evaluate_mistakes_name_the_run_and_the_key(runs):
    config = write_config(runs / "bad.toml", evaluate={"runs": ["run-bpz"], "point_estimate": "z_best"},
                          output={"folder": "unused"})
    stored = run_pzmpi(["evaluate", str(config)], ranks=2, cwd=runs)
    assert stored.returncode == 2 and stored.stderr.count("is not stored by the run") == 1
    config = write_config(runs / "bad2.toml", evaluate={"runs": ["nowhere"]}, output={"folder": "unused"})
    missing = run_pzmpi(["evaluate", str(config)], ranks=2, cwd=runs)
    assert missing.returncode == 2 and "nowhere is not a folder" in missing.stderr
