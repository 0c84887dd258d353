"""The release registry in SQLite: concurrent commands all land, JSON records migrate, large releases stay quick."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import mpi_environment

from pzmpi.core import registry
from pzmpi.core.release import Release, format_release, recorded_layouts, release_exists

WRITERS, WRITES_EACH = 4, 25


def made_release(root: Path, name: str = "dp1", n_files: int = 3) -> Release:
    files = [{"name": f"f{i:03d}.parquet", "size": 1000 + i, "sha256": f"{i:064x}", "rows": 10 * i,
              "row_groups": [10 * i]} for i in range(n_files)]
    return Release.create(root, name, root / "catalog", files, [{"name": "objectId", "type": "int64"}], "init")


def write_many(root: Path, writer: int, start: multiprocessing.synchronize.Barrier) -> None:
    release = Release.open(root, "dp1")
    start.wait()
    for i in range(WRITES_EACH):
        release.log(f"writer {writer} #{i}", {"i": i}, section="runs", entry={"folder": f"run-{writer}-{i}"})


def test_concurrent_writers_lose_no_update(tmp_path):
    made_release(tmp_path)
    start = multiprocessing.get_context("fork").Barrier(WRITERS)
    writers = [multiprocessing.get_context("fork").Process(target=write_many, args=(tmp_path, w, start))
               for w in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
        assert process.exitcode == 0
    record = Release.open(tmp_path, "dp1").record
    assert len(record["history"]) == 1 + WRITERS * WRITES_EACH
    assert sorted(entry["folder"] for entry in record["runs"]) == sorted(
        f"run-{w}-{i}" for w in range(WRITERS) for i in range(WRITES_EACH))
    with sqlite3.connect(registry.database_path(tmp_path)) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_two_add_file_commands_racing_both_land(tmp_path):
    made_release(tmp_path)
    extras = [tmp_path / f"templates{i}.txt" for i in range(2)]
    for i, path in enumerate(extras):
        path.write_text(f"template set {i}\n")
    commands = [[sys.executable, "-m", "pzmpi", "release", "add-file", "dp1", str(path), "--kind", "sed_templates",
                 "--description", f"set {i}", "--releases", str(tmp_path)] for i, path in enumerate(extras)]
    racing = [subprocess.Popen(command, env=mpi_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True) for command in commands]
    for process in racing:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    release = Release.open(tmp_path, "dp1")
    assert sorted(entry["path"] for entry in release.entries("ancillary_files")) == sorted(map(str, extras))
    assert sum("release add-file" in line["command"] for line in release.history()) == 2


def test_a_json_record_is_migrated_on_first_open_and_set_aside(tmp_path):
    original = made_release(tmp_path / "made")
    skinny_files = [{"name": f"s{i}.parquet", "size": 10 + i, "rows": i, "row_groups": [i], "sha256": "0" * 64}
                    for i in range(4)]
    original.log("pzmpi skinny", {}, section="skinny_tables",
                 entry={"output_folder": "/data/skinny", "rows": 6, "files": skinny_files})
    original.log("pzmpi verify", {"passed": True}, section="verify_runs", entry={"passed": True})
    record = original.record

    legacy = tmp_path / "old" / "dp1" / registry.LEGACY_RECORD_FILE
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps(record))
    assert release_exists(tmp_path / "old", "dp1")
    migrated = Release.open(tmp_path / "old", "dp1")
    assert not legacy.exists() and legacy.with_name("release.json.migrated").is_file()
    again = migrated.record
    assert again["history"][:-1] == record["history"] and again["history"][-1]["command"].startswith("migrated from")
    assert {key: value for key, value in again.items() if key != "history"} == {
        key: value for key, value in record.items() if key != "history"}
    assert recorded_layouts(migrated) == {f"/data/skinny/s{i}.parquet": (10 + i, [i]) for i in range(4)}
    assert len(Release.open(tmp_path / "old", "dp1").history()) == len(again["history"])  # once only


def test_replacing_keeps_one_entry_per_key_and_show_counts_without_loading_files(tmp_path):
    release = made_release(tmp_path, n_files=5)
    for rows in (3, 4):
        release.log("pzmpi skinny", {}, section="skinny_tables", replacing="output_folder",
                    entry={"output_folder": "/s", "rows": rows, "files": [{"name": "a", "size": 1}] * rows})
    tables = release.entries("skinny_tables")
    assert [(t["rows"], len(t["files"])) for t in tables] == [(4, 4)]
    shown = format_release(release)
    assert "files: 5, 100 rows" in shown and "(4 rows in 4 files)" in shown
    assert shown.count("pzmpi skinny") == 2  # the history keeps both commands
