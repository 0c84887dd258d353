"""The release registry: one record per data release, the provenance of Stage I.

A release lives in its own folder, ``<releases root>/<name>/``:

* ``release.json``: the record (docs/stage1.md): the catalog's files with size,
  row count and sha256, the reference schema, every verify run, every skinny
  table made from it, the ancillary files, and a history line per command
  with its time and package versions;
* ``verify/<time>/``: the reports of each ``pzmpi verify`` run.

The record is plain JSON, written atomically by rank 0 only, so that it can be
read, diffed and archived with the release.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.errors import ConfigError
from pzmpi.core.files import write_text_atomically
from pzmpi.core.versions import package_versions

RECORD_FILE = "release.json"
ROOT_VARIABLE = "PZMPI_RELEASES"
DEFAULT_ROOT = "releases"
RECORD_FORMAT = 1
ANCILLARY_KINDS = ("sed_templates", "dust_map", "training_set", "spectroscopic_catalog", "filters", "other")


def releases_root(value: str | None) -> Path:
    """Where releases live: ``--releases``, else ``$PZMPI_RELEASES``, else ``./releases``."""
    return Path(value or os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT).absolute()


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Release:
    """A release's folder and its record; ``log`` is the only way the record changes after ``create``."""

    folder: Path
    record: dict[str, Any]

    @classmethod
    def create(cls, root: Path, name: str, catalog_dir: Path, files: list[dict[str, Any]],
               schema: list[dict[str, str]], command: str) -> Release:
        """A new release of the catalog ``files`` (name, size, sha256, rows, row groups) and its reference ``schema``."""
        folder = root / name
        if (folder / RECORD_FILE).exists():
            raise ConfigError(f"release {name!r} already exists: {folder / RECORD_FILE}")
        files = sorted(files, key=lambda d: d["name"])
        record = {
            "format": RECORD_FORMAT, "name": name, "created": utc_now(), "catalog_dir": str(catalog_dir.absolute()),
            "files": files, "schema": schema,
            "verify_runs": [], "skinny_tables": [], "training_sets": [], "ancillary_files": [], "history": [],
        }
        folder.mkdir(parents=True, exist_ok=True)
        release = cls(folder, record)
        release.log(command, {"files": len(files), "rows": sum(f["rows"] or 0 for f in files),
                              "bytes": sum(f["size"] for f in files),
                              "unreadable": [f["name"] for f in files if f["rows"] is None]})
        return release

    @classmethod
    def open(cls, root: Path, name: str) -> Release:
        path = root / name / RECORD_FILE
        if not path.is_file():
            known = sorted(p.parent.name for p in root.glob(f"*/{RECORD_FILE}")) if root.is_dir() else []
            raise ConfigError(f"no release {name!r} in {root} (known: {', '.join(known) or 'none'}; "
                              f"create it with 'pzmpi release init {name} --catalog DIR')")
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}: not a valid release record: {error}") from None
        return cls(root / name, record)

    @property
    def name(self) -> str:
        return self.record["name"]

    @property
    def catalog_dir(self) -> Path:
        return Path(self.record["catalog_dir"])

    @property
    def files(self) -> list[dict[str, Any]]:
        return self.record["files"]

    @property
    def schema(self) -> list[dict[str, str]]:
        return self.record["schema"]

    def catalog_paths(self) -> list[Path]:
        return [self.catalog_dir / f["name"] for f in self.files]

    def log(self, command: str, summary: dict[str, Any], section: str | None = None,
            entry: dict[str, Any] | None = None, replacing: str | None = None) -> None:
        """Append ``entry`` to ``section`` and a history line, stamped with time and versions; save atomically.

        With ``replacing``, an earlier entry of ``section`` with the same value of that key
        (the same skinny output folder, say) is replaced: the section holds what exists now,
        the history every command that was run.
        """
        stamp = {"time": utc_now(), "versions": package_versions()}
        if section is not None:
            entry = entry or {}
            entries = self.record.setdefault(section, [])  # sections added since a record was made start empty
            if replacing is not None:
                entries[:] = [old for old in entries if old.get(replacing) != entry.get(replacing)]
            entries.append({**stamp, **entry})
        self.record["history"].append({**stamp, "command": command, "summary": summary})
        write_text_atomically(self.folder / RECORD_FILE, json.dumps(self.record, indent=1))

    def add_file(self, path: Path, kind: str, description: str, command: str) -> dict[str, Any]:
        """Register an ancillary file (templates, dust map, training set...) with its checksum."""
        if kind not in ANCILLARY_KINDS:
            raise ConfigError(f"--kind {kind!r} is not one of {', '.join(ANCILLARY_KINDS)}")
        if not path.is_file():
            raise ConfigError(f"ancillary file not found: {path}")
        entry = {"path": str(path.absolute()), "kind": kind, "description": description,
                 "size": path.stat().st_size, "sha256": sha256_of_file(path)}
        self.log(command, {"added": entry["path"], "kind": kind}, section="ancillary_files", entry=entry)
        return entry


SKINNY_MANIFEST = "manifest.json"  # beside every skinny table's files, naming its release


def skinny_manifest_of(inputs: list[str]) -> tuple[Path, dict[str, Any]] | None:
    """The skinny-table manifest beside ``inputs`` (the first of their folders that has one), read."""
    for folder in sorted({str(Path(path).parent) for path in inputs}):
        manifest = Path(folder) / SKINNY_MANIFEST
        if manifest.is_file():
            return manifest, json.loads(manifest.read_text())
    return None


def release_of_manifest(manifest: dict[str, Any]) -> Release | None:
    """The release a skinny-table manifest names, when its record is still where the manifest says."""
    if not (manifest.get("release") and manifest.get("releases_root")):
        return None
    try:
        return Release.open(Path(manifest["releases_root"]), manifest["release"])
    except ConfigError:
        return None


def release_of_inputs(inputs: list[str]) -> Release | None:
    """The release a stage's inputs were made from, when they are one of its skinny tables; else None."""
    found = skinny_manifest_of(inputs)
    return release_of_manifest(found[1]) if found is not None else None


def latest(release: Release, section: str, what: str, step: str) -> dict[str, Any]:
    """The newest entry of ``section``; a ConfigError naming the ``step`` that makes one when there is none."""
    entries = release.record.get(section, [])
    if not entries:
        raise ConfigError(f"release {release.name!r} has no {what} yet: {step} first")
    return entries[-1]


def latest_skinny_table(release: Release) -> dict[str, Any]:
    """The record of the release's newest skinny table; a ConfigError names 'pzmpi skinny' when there is none."""
    return latest(release, "skinny_tables", "skinny table", f"run 'pzmpi skinny {release.name} SKINNY.toml'")


def latest_skinny_files(release: Release) -> list[str]:
    """The files of the release's newest skinny table."""
    table = latest_skinny_table(release)
    return [str(Path(table["output_folder"]) / entry["name"]) for entry in table["files"]]


def recorded_layouts(release: Release) -> dict[str, tuple[int, list[int]]]:
    """Each file of the newest skinny table with its size and rows per row group, as its record keeps them."""
    table = latest_skinny_table(release)
    return {str(Path(table["output_folder"]) / entry["name"]): (entry["size"], entry["row_groups"])
            for entry in table["files"] if "row_groups" in entry}


RELEASE_TABLES = ("skinny", "training", "test")  # what a stage can read from a release by name


def table_files(release: Release, table: str) -> list[str]:
    """The files of the release's newest ``table``: its skinny table, or its newest training set's split."""
    if table == "skinny":
        return latest_skinny_files(release)
    if table not in RELEASE_TABLES:
        raise ConfigError(f"no table {table!r} in a release: one of {', '.join(RELEASE_TABLES)}")
    entry = latest(release, "training_sets", "training set",
                   f"run 'pzmpi training-set' with photometry.release = {release.name!r}")
    return [f["name"] for f in entry["files"] if f["role"] == table]


def newest_runs(release: Release, table: str) -> dict[str, dict[str, Any]]:
    """The newest run of each code over the release's ``table`` (see ``table_files``), in the order the codes were
    first run; a ConfigError names the step when there is none."""
    newest: dict[str, dict[str, Any]] = {}
    for entry in release.record.get("runs", []):
        if entry.get("input") == table:
            newest[entry["code"]] = entry  # a code keeps the place of its first run
    if not newest:
        raise ConfigError(f"release {release.name!r} has no run over its {table} table yet: run 'pzmpi run' with "
                          f"input.release = {release.name!r} and input.table = {table!r} first")
    return newest


def format_release(record: dict[str, Any]) -> str:
    """The record as a human-readable summary (``pzmpi release show``)."""
    files = record["files"]
    rows = sum(f["rows"] or 0 for f in files)
    size = sum(f["size"] for f in files)
    lines = [f"release {record['name']} (created {record['created']})",
             f"  catalog: {record['catalog_dir']}",
             f"  files: {len(files)}, {rows:,} rows, {size / 2**30:.3f} GiB; schema of {len(record['schema'])} columns"]
    unreadable = [f["name"] for f in files if f["rows"] is None]
    if unreadable:
        lines.append(f"  unreadable at init: {', '.join(unreadable)}")
    lines.append(f"  verify runs: {len(record['verify_runs'])}")
    for run in record["verify_runs"]:
        verdict = "passed" if run.get("passed") else "FAILED"
        lines.append(f"    {run['time']} {verdict}: {run.get('report_html', run.get('report_json', ''))}")
    lines.append(f"  skinny tables: {len(record['skinny_tables'])}")
    for table in record["skinny_tables"]:
        lines.append(f"    {table['time']}: {table.get('output_folder', '')} "
                     f"({table.get('rows', 0):,} rows in {len(table.get('files', []))} files)")
    training_sets = record.get("training_sets", [])
    lines.append(f"  training sets: {len(training_sets)}")
    for entry in training_sets:
        lines.append(f"    {entry['time']}: {entry['name']} in {entry['folder']} ({entry['training_rows']:,} training, "
                     f"{entry['test_rows']:,} test rows)")
    lines.append(f"  ancillary files: {len(record['ancillary_files'])}")
    for extra in record["ancillary_files"]:
        lines.append(f"    [{extra['kind']}] {extra['path']} sha256 {extra['sha256'][:12]}: {extra['description']}")
    lines.append("  history:")
    lines += [f"    {h['time']} {h['command']}" for h in record["history"]]
    return "\n".join(lines)
