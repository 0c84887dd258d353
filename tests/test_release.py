"""The release registry: what init records, how commands append, and what show prints."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_pzmpi

from pzmpi.acquire.release_init import create_release, describe_file, reference_schema
from pzmpi.core.errors import ConfigError
from pzmpi.core.release import Release, releases_root
from pzmpi.datasets.synthetic import object_catalog, write_catalog


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    write_catalog(folder, "dp1", n_files=3, rows_per_file=500, row_group_rows=200)
    return folder


def test_describe_file_records_size_rows_checksum_and_schema(catalog):
    path = sorted(catalog.glob("*.parquet"))[0]
    entry = describe_file(path, catalog)
    assert entry["name"] == path.name and entry["size"] == path.stat().st_size and entry["rows"] == 500
    assert entry["row_groups"] == [200, 200, 100]
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert {"name": "g_cModelFlux", "type": "float"} in entry["schema"]


def test_describe_file_records_an_unreadable_footer_instead_of_raising(catalog):
    broken = catalog / "broken.parquet"
    broken.write_bytes(sorted(catalog.glob("*.parquet"))[0].read_bytes()[:3000])
    entry = describe_file(broken, catalog)
    assert entry["rows"] is None and entry["row_groups"] is None and entry["schema"] is None
    assert "magic bytes" in entry["error"]


def test_reference_schema_is_the_one_most_files_share():
    a = [{"name": "objectId", "type": "int64"}]
    b = [{"name": "objectId", "type": "double"}]
    files = [{"name": "3.parquet", "schema": b}, {"name": "1.parquet", "schema": a},
             {"name": "2.parquet", "schema": b}, {"name": "4.parquet", "schema": None}]
    assert reference_schema(files) == b
    assert reference_schema(files[:2]) == a  # a tie: the first file in name order
    assert reference_schema(files[3:]) == []


def test_log_appends_stamped_entries_and_saves_the_record(tmp_path, catalog):
    described = [describe_file(p, catalog) for p in sorted(catalog.glob("*.parquet"))]
    release = create_release(tmp_path / "rel", "dp1", catalog, described, "pzmpi release init dp1")
    release.log("pzmpi verify dp1", {"passed": True}, section="verify_runs", entry={"passed": True})
    record = Release.open(tmp_path / "rel", "dp1").record
    assert [h["command"] for h in record["history"]] == ["pzmpi release init dp1", "pzmpi verify dp1"]
    assert record["verify_runs"][0]["passed"] is True
    assert record["verify_runs"][0]["versions"]["pyarrow"] == pa.__version__
    assert record["history"][0]["summary"] == {"files": 3, "rows": 1500, "bytes": sum(f["size"] for f in described),
                                               "unreadable": []}
    reopened = Release.open(tmp_path / "rel", "dp1")
    assert reopened.catalog_paths() == sorted(catalog.glob("*.parquet"))
    with pytest.raises(ConfigError, match="already exists"):
        create_release(tmp_path / "rel", "dp1", catalog, described, "again")


def test_open_and_add_file_name_what_is_wrong(tmp_path, catalog):
    with pytest.raises(ConfigError, match=r"no release 'dp9' in .*pzmpi release init dp9"):
        Release.open(tmp_path, "dp9")
    release = create_release(tmp_path, "dp1", catalog, [], "init")
    with pytest.raises(ConfigError, match="--kind 'sed'"):
        release.add_file(catalog / "x", "sed", "templates", "add")
    with pytest.raises(ConfigError, match="not found: .*missing.fits"):
        release.add_file(catalog / "missing.fits", "dust_map", "SFD", "add")


def test_releases_root_prefers_option_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PZMPI_RELEASES", str(tmp_path / "env"))
    assert releases_root(str(tmp_path / "opt")) == tmp_path / "opt"
    assert releases_root(None) == tmp_path / "env"
    monkeypatch.delenv("PZMPI_RELEASES")
    assert releases_root(None) == Path("releases").absolute()


@pytest.mark.mpi
def test_init_under_mpi_records_the_same_catalog_whatever_the_rank_count(tmp_path, catalog):
    pq.write_table(object_catalog(0, "dp1", seed=9), catalog / "empty.parquet")
    (catalog / "truncated.parquet").write_bytes(sorted(catalog.glob("*.parquet"))[0].read_bytes()[:4000])
    records = []
    for ranks in (1, 3):
        result = run_pzmpi(["release", "init", "dp1", "--catalog", str(catalog), "--releases", f"rel{ranks}"],
                           ranks=ranks, cwd=tmp_path, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "unreadable at init: truncated.parquet" in result.stdout
        records.append(Release.open(tmp_path / f"rel{ranks}", "dp1").record)
    assert records[0]["files"] == records[1]["files"] and records[0]["schema"] == records[1]["schema"]
    assert [f["rows"] for f in records[0]["files"]] == [500, 500, 500, 0, None]
    again = run_pzmpi(["release", "init", "dp1", "--catalog", str(catalog), "--releases", "rel3"],
                      ranks=3, cwd=tmp_path, timeout=120)
    assert again.returncode == 2 and again.stderr.count("already exists") == 1

    added = run_pzmpi(["release", "add-file", "dp1", str(catalog / "empty.parquet"), "--kind", "training_set",
                       "--description", "spec-z sample", "--releases", "rel1"], cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    shown = run_pzmpi(["release", "show", "dp1", "--releases", "rel1"], cwd=tmp_path)
    assert "[training_set]" in shown.stdout and "spec-z sample" in shown.stdout
    assert "pzmpi release add-file dp1" in shown.stdout and "1,500 rows" in shown.stdout
