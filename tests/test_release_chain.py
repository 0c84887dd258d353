"""A release from its catalog to a verified package, each stage finding the last one's output in the release record:
skinny -> run -> publish --release -> package --release -> verify-package --release; a stage run too early names
the step it needs."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from conftest import run_pzmpi, write_config

from pzmpi.datasets.dc2_release import write_release

pytestmark = pytest.mark.mpi


def test_each_stage_finds_its_input_in_the_release_record(tmp_path, models, monkeypatch):
    monkeypatch.setenv("PZMPI_RELEASES", str(tmp_path / "releases"))  # inherited by the mpiexec run_pzmpi launches
    written = write_release(tmp_path, "dp1", n_files=2)
    init = run_pzmpi(["release", "init", "r", "--catalog", str(written["catalog"])], ranks=2, cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    early = run_pzmpi(["publish", "--release", "r", "--out", "photoz"], ranks=2, cwd=tmp_path)
    assert early.returncode == 2 and early.stderr.count("has no run yet: run 'pzmpi run'") == 1, early.stderr
    skinny = write_config(tmp_path / "skinny.toml", input={"preset": "dp1"}, output={"folder": "skinny"})
    assert run_pzmpi(["skinny", "r", str(skinny)], ranks=2, cwd=tmp_path).returncode == 0
    config = write_config(tmp_path / "bpz.toml",
                          input={"paths": "skinny", "magnitude_column": "mag_{band}",
                                 "magnitude_error_column": "magerr_{band}"},
                          estimator={"name": "bpz", "model": str(models["bpz"])}, output={"folder": "run-bpz"})
    run = run_pzmpi(["run", str(config)], ranks=2, cwd=tmp_path)
    assert run.returncode == 0 and "entered in release r's record" in run.stdout, run.stderr
    early = run_pzmpi(["package", "--release", "r", "--out", "delivery"], ranks=2, cwd=tmp_path)
    assert early.returncode == 2 and early.stderr.count("has no published table yet: run 'pzmpi publish") == 1
    for step in (["publish", "--release", "r", "--out", "photoz", "--max-rows", "5000"],
                 ["package", "--release", "r", "--out", "delivery"],
                 ["verify-package", "delivery", "--release", "r"]):
        result = run_pzmpi(step, ranks=2, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
    published = pq.read_table(tmp_path / "photoz" / "object_photoz" / "dataset", columns=["objectId"]).to_pandas()
    catalog = pq.read_table(written["catalog"], columns=["objectId"]).to_pandas()
    assert published["objectId"].is_unique and set(published["objectId"]) == set(catalog["objectId"])
    record = json.loads((tmp_path / "releases" / "r" / "release.json").read_text())
    commands = [entry["command"].split()[1] for entry in record["history"]]
    assert commands == ["release", "skinny", "run", "publish", "package"]
    run_entry, table, package = record["runs"][-1], record["tables"][-1], record["packages"][-1]
    assert run_entry["code"] == "bpz" and len(run_entry["model_sha256"]) == 64 and "[estimator]" in run_entry["config"]
    assert table["runs"] == [run_entry["folder"]] and len(table["metadata_sha256"]) == 64
    assert package["table"] == table["folder"] and len(package["manifest_sha256"]) == 64
