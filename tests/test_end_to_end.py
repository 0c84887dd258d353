"""A whole release through the four stages, as the README's main command runs it: ``bin/demo`` on a DP0.2-style
and a DP1-style release (a fifth of RAIL's DC2 objects, 2 MPI ranks), then the same chain broken at one stage's
input, which stops there, names the file or key, and keeps what the stages before it wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import TrainedModels, made_once, mpi_environment, run_pzmpi, session_folder, write_config

from pzmpi.core.release import Release

pytestmark = pytest.mark.mpi

DEMO = Path(__file__).resolve().parent.parent / "bin" / "demo"
FRACTION = "0.2"  # 6,135 objects: every stage runs, in about a minute
STAGES = ["synthetic", "release-init", "verify", "skinny", "training-set", "train-flexzboost", "train-bpz",
          "run-flexzboost", "report-flexzboost", "test-flexzboost", "run-bpz", "report-bpz", "test-bpz", "evaluate",
          "publish", "package", "verify-package"]
# The history of the release record: the first word of each command that changed it, in order.
HISTORY = ["release", "verify", "skinny", "training-set", "train", "train", "run", "run", "run", "run", "evaluate",
           "publish", "package"]


def run_demo(style: str, tmp_path_factory: pytest.TempPathFactory, models: TrainedModels) -> tuple[Path, dict]:
    """``bin/demo`` on a ``style`` release, once per session and style whichever worker asks first: its folder, and
    its exit status and output."""
    models["bpz"]  # BPZ's AB files are made before any BPZ runs (conftest.make_bpz_templates)

    def make(folder: Path) -> None:
        env = {**mpi_environment(), "PZMPI_DEMO_DIR": str(folder), "PZMPI_DEMO_STYLE": style,
               "PZMPI_DEMO_FRACTION": FRACTION}
        result = subprocess.run([str(DEMO)], env=env, capture_output=True, text=True, timeout=900)
        (folder / "demo.json").write_text(json.dumps({"returncode": result.returncode, "stdout": result.stdout,
                                                      "stderr": result.stderr}))

    folder = made_once(session_folder(tmp_path_factory) / f"demo-{style}", make)
    return folder, json.loads((folder / "demo.json").read_text())


@pytest.mark.parametrize("style", ["dp02", "dp1"])
def test_the_demo_takes_a_release_from_its_catalog_to_a_verified_package(style, tmp_path_factory, models):
    demo, result = run_demo(style, tmp_path_factory, models)
    assert result["returncode"] == 0, result["stdout"] + result["stderr"]
    lines = result["stdout"].splitlines()
    outcomes = [line.split()[0] for line in lines if not line.startswith(("release record:", "reports:", "package:"))]
    assert outcomes == STAGES, result["stdout"]
    assert f"package: {demo / 'delivery'}" in lines and "passed" in lines[len(STAGES) - 1]

    # every primary object of the catalog appears once in the published table, with both codes' estimates
    catalog = pq.read_table(demo / "dc2" / "catalog")
    if style == "dp02":
        catalog = catalog.filter(catalog["detect_isPrimary"])
    published = pq.read_table(demo / "photoz" / "object_photoz" / "dataset",
                              columns=["objectId", "flexzboost_z_mode", "bpz_z_mode"])
    ids = published["objectId"].to_numpy()
    assert len(set(ids)) == ids.size and set(ids) == set(catalog["objectId"].to_numpy())
    assert published.num_rows == catalog.num_rows
    assert pc.sum(pc.is_null(published["bpz_z_mode"])).as_py() == 0

    # the validation's sample is the test split, for each code
    test_rows = pq.read_metadata(demo / "training_set" / "test.parquet").num_rows
    validation = json.loads((demo / "validation" / "validation.json").read_text())
    assert {run["name"]: run["objects"] for run in validation["runs"]} == {"flexzboost": test_rows, "bpz": test_rows}

    # the record lists every stage, each with its configuration and checksums
    record = Release.open(demo / "releases", "dc2").record
    assert [entry["command"].split()[1] for entry in record["history"]] == HISTORY
    assert all(len(f["sha256"]) == 64 for f in record["files"]) and record["verify_runs"][-1]["passed"]
    assert f'preset = "{style}"' in record["skinny_tables"][-1]["config"]
    training_set = record["training_sets"][-1]
    assert "[spectra]" in training_set["config"] and all(len(f["sha256"]) == 64 for f in training_set["files"])
    training_file = next(f for f in training_set["files"] if f["role"] == "training")
    for model in record["models"]:
        assert model["table"] == training_file["name"] and model["table_sha256"] == training_file["sha256"]
        assert len(model["model_sha256"]) == 64 and "[estimator]" in model["config"]
    runs = {(run["code"], run["input"]): run for run in record["runs"]}
    assert sorted(runs) == [("bpz", "skinny"), ("bpz", "test"), ("flexzboost", "skinny"), ("flexzboost", "test")]
    models = {model["code"]: model["model_sha256"] for model in record["models"]}
    assert all(run["model_sha256"] == models[code] and run["complete"] for (code, _), run in runs.items())
    assert len(record["validations"][-1]["report_sha256"]) == 64
    assert record["tables"][-1]["runs"] == [runs["flexzboost", "skinny"]["folder"], runs["bpz", "skinny"]["folder"]]
    assert record["packages"][-1]["table"] == record["tables"][-1]["folder"]
    manifest = (demo / "delivery" / "MANIFEST.sha256").read_text()
    assert "reports/validation/validation.json" in manifest and "reports/bpz/results.html" in manifest
    delivered = json.loads((demo / "delivery" / "release.json").read_text())  # the record as it was when packaged
    assert "  release.json" in manifest and delivered["history"] == record["history"][:-1]
    assert delivered["files"] == record["files"] and delivered["runs"] == record["runs"]


@pytest.fixture
def finished_release(tmp_path, tmp_path_factory, monkeypatch, models) -> Path:
    """A copy of the DP0.2-style demo's release record (its files stay where the demo wrote them)."""
    demo, result = run_demo("dp02", tmp_path_factory, models)
    assert result["returncode"] == 0, result["stdout"] + result["stderr"]
    shutil.copytree(demo / "releases", tmp_path / "releases")
    monkeypatch.setenv("PZMPI_RELEASES", str(tmp_path / "releases"))  # inherited by run_pzmpi's launches
    return demo


def history(releases: Path, name: str = "dc2") -> list[str]:
    return [entry["command"] for entry in Release.open(releases, name).record["history"]]


def test_a_corrupted_catalog_file_stops_the_chain_at_verify(finished_release, tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(finished_release / "dc2" / "catalog", catalog)
    assert run_pzmpi(["release", "init", "broken", "--catalog", str(catalog)], ranks=2).returncode == 0
    damaged = sorted(catalog.glob("*.parquet"))[1]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)  # a transfer that lost a block
    damaged.write_bytes(bytes(data))
    result = run_pzmpi(["verify", "broken"], ranks=2)
    assert result.returncode != 0 and damaged.name in result.stdout + result.stderr
    record = Release.open(tmp_path / "releases", "broken").record
    assert [entry["command"].split()[1] for entry in record["history"]] == ["release", "verify"]
    assert record["verify_runs"][-1]["passed"] is False  # and the record of init stays, with its checksums
    assert all(len(f["sha256"]) == 64 for f in record["files"])


def test_an_empty_spectroscopic_catalog_stops_the_chain_at_the_training_set(finished_release, tmp_path):
    spectra = pq.read_table(finished_release / "dc2" / "spectra.parquet")
    pq.write_table(spectra.slice(0, 0), tmp_path / "spectra.parquet")
    before = history(tmp_path / "releases")
    config = write_config(tmp_path / "training_set.toml",
                          spectra={"paths": [str(tmp_path / "spectra.parquet")], "flag_column": "flag",
                                   "survey_column": "survey"},
                          photometry={"release": "dc2"}, output={"folder": str(tmp_path / "training_set")})
    result = run_pzmpi(["training-set", str(config)], ranks=2)
    assert result.returncode == 2 and str(tmp_path / "spectra.parquet") in result.stderr, result.stderr
    assert history(tmp_path / "releases") == before  # the skinny table and the earlier training set stay in place
    assert not (tmp_path / "training_set" / "training.parquet").exists()


def test_a_model_trained_on_other_bands_stops_the_run_at_set_up(finished_release, tmp_path):
    shutil.copy(finished_release / "bpz.toml", tmp_path / "bpz.toml")
    griz = '--set=input.bands=["g", "r", "i", "z"]'
    trained = run_pzmpi(["train", str(tmp_path / "bpz.toml"), griz, "--set", "estimator.model=griz.pkl"])
    assert trained.returncode == 0, trained.stderr
    result = run_pzmpi(["run", str(tmp_path / "bpz.toml"), "--set", "estimator.model=griz.pkl",
                        "--set", f"output.folder={tmp_path / 'run-griz'}"], ranks=2)
    assert result.returncode == 2, result.stderr
    assert "'input.bands'" in result.stderr and str(tmp_path / "griz.pkl") in result.stderr
    assert not list((tmp_path / "run-griz" / "pieces").glob("*.hdf5"))
    assert (finished_release / "run-bpz" / "index.hdf5").is_file()  # the release's finished run is untouched


def test_a_stage_run_too_early_names_the_step_it_needs(finished_release, tmp_path):
    assert run_pzmpi(["release", "init", "new", "--catalog", str(finished_release / "dc2" / "catalog")]).returncode == 0
    shutil.copy(finished_release / "bpz.toml", tmp_path / "bpz.toml")
    new = ["--set", "input.release=new"]
    steps = {  # a stage of release 'new' run before the one that makes its input: the missing step, named
        "skinny table yet: run 'pzmpi skinny new": ["training-set", str(finished_release / "training_set.toml"),
                                                    "--set", "photometry.release=new"],
        "training set yet: run 'pzmpi training-set'": ["train", str(tmp_path / "bpz.toml"), *new],
        "run over its test table yet: run 'pzmpi run'": ["evaluate", str(finished_release / "evaluate.toml"),
                                                         "--set", "evaluate.release=new"],
        "run over its skinny table yet: run 'pzmpi run'": ["publish", "--release", "new", "--out", "photoz"],
        "published table yet: run 'pzmpi publish --release new'": ["package", "--release", "new", "--out", "out"],
    }
    for message, step in steps.items():
        result = run_pzmpi(step, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, (step, result.stderr)
    history = Release.open(tmp_path / "releases", "new").record["history"]
    assert [entry["command"].split()[1] for entry in history] == ["release"]


def test_a_run_of_the_release_plans_from_its_record_without_reading_a_footer(finished_release, tmp_path):
    """By name or by its paths, the skinny table is planned from the registry; a copy of it (other paths, the
    same manifest) has its footers read, and gives the same plan."""
    copy = tmp_path / "copy"
    shutil.copytree(finished_release / "skinny", copy)
    plans, by_path = {}, ["input.release=''", "input.magnitude_column=mag_{band}",
                          "input.magnitude_error_column=magerr_{band}"]
    for name, source in (("record", ["input.release=dc2"]),
                         ("paths", [*by_path, f"input.paths={json.dumps(str(finished_release / 'skinny'))}"]),
                         ("copy", [*by_path, f"input.paths={json.dumps(str(copy))}"])):
        overrides = [item for setting in source for item in ("--set", setting)]
        result = run_pzmpi(["run", str(finished_release / "bpz.toml"), *overrides,
                            "--set", f"output.folder={json.dumps(str(tmp_path / name))}"], ranks=2)
        assert result.returncode == 0, result.stderr
        profile = json.loads((tmp_path / name / "profile.json").read_text())
        plans[name] = (tmp_path / name / "plan.json").read_text()
        assert profile["counters"]["footers_read"] == (4 if name == "copy" else 0), name
    assert plans["record"] == plans["paths"] and len(json.loads(plans["record"])["pieces"]) == 4
    assert plans["copy"].replace(json.dumps(str(copy))[1:-1], json.dumps(str(finished_release / "skinny"))[1:-1]) \
        == plans["record"]
