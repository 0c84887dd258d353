"""A release from its catalog to a verified package, each stage finding the last one's output in the release record:
skinny -> run -> publish --release -> package --release -> verify-package --release; a stage run too early names
the step it needs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import run_pzmpi, write_config

from pzmpi.datasets.dc2_release import write_release

pytestmark = pytest.mark.mpi


def pzmpi_in(folder: Path, args: list[str], ranks: int = 2):
    os.environ["PZMPI_RELEASES"] = str(folder / "releases")  # inherited by the mpiexec that run_pzmpi launches
    try:
        return run_pzmpi(args, ranks=ranks, cwd=folder)
    finally:
        del os.environ["PZMPI_RELEASES"]


def test_each_stage_finds_its_input_in_the_release_record(tmp_path, models):
    written = write_release(tmp_path, "dp1", n_files=2)
    assert pzmpi_in(tmp_path, ["release", "init", "r", "--catalog", str(written["catalog"])]).returncode == 0
    early = pzmpi_in(tmp_path, ["publish", "--release", "r", "--out", "photoz"])
    assert early.returncode == 2 and early.stderr.count("has no run yet: run 'pzmpi run'") == 1, early.stderr
    skinny = write_config(tmp_path / "skinny.toml", input={"preset": "dp1"}, output={"folder": "skinny"})
    assert pzmpi_in(tmp_path, ["skinny", "r", str(skinny)]).returncode == 0
    config = write_config(tmp_path / "bpz.toml",
                          input={"paths": "skinny", "magnitude_column": "mag_{band}",
                                 "magnitude_error_column": "magerr_{band}"},
                          estimator={"name": "bpz", "model": str(models["bpz"])}, output={"folder": "run-bpz"})
    run = pzmpi_in(tmp_path, ["run", str(config)])
    assert run.returncode == 0 and "entered in release r's record" in run.stdout, run.stderr
    early = pzmpi_in(tmp_path, ["package", "--release", "r", "--out", "delivery"])
    assert early.returncode == 2 and early.stderr.count("has no published table yet: run 'pzmpi publish") == 1
    for step in (["publish", "--release", "r", "--out", "photoz", "--max-rows", "5000"],
                 ["package", "--release", "r", "--out", "delivery"],
                 ["verify-package", "delivery", "--release", "r"]):
        result = pzmpi_in(tmp_path, step)
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
