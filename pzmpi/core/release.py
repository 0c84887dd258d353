"""A data release's record, the provenance of Stage I to IV, kept in the release registry.

A release has a record in ``<releases root>/registry.sqlite`` (``pzmpi.core.registry``)
and a folder, ``<releases root>/<name>/``, for the reports of its commands
(``verify/<time>/``...). The record (docs/stage1.md) holds the catalog's files with
size, row count and sha256, the reference schema, one section per kind of product
(verify runs, skinny tables, training sets, models, runs, validations, published
tables, packages, ancillary files) and a history line per command with its time and
package versions. Only rank 0 writes it; ``pzmpi release show --json`` exports it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pzmpi.core import registry
from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.errors import ConfigError
from pzmpi.core.versions import package_versions

ROOT_VARIABLE = "PZMPI_RELEASES"
DEFAULT_ROOT = "releases"
RECORD_FORMAT = 1
ANCILLARY_KINDS = ("sed_templates", "dust_map", "training_set", "spectroscopic_catalog", "filters", "other")
ALWAYS_SECTIONS = ("verify_runs", "skinny_tables", "training_sets", "ancillary_files")  # shown even when empty


def releases_root(value: str | None) -> Path:
    """Where releases live: ``--releases``, else ``$PZMPI_RELEASES``, else ``./releases``."""
    return Path(value or os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT).absolute()


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def release_exists(root: Path, name: str) -> bool:
    """Whether ``root`` records a release ``name`` (in its registry, or as a record not migrated yet)."""
    if (root / name / registry.LEGACY_RECORD_FILE).is_file():
        return True
    try:
        with registry.connection(root) as con:
            return registry.release_id(con, name) is not None
    except FileNotFoundError:
        return False


@dataclass
class Release:
    """One release of the registry at ``root``; ``log`` is the only way its record changes after ``create``.

    Picklable (it holds no connection), so that the root can open it and broadcast it.
    """

    root: Path
    name: str
    release_id: int
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def create(cls, root: Path, name: str, catalog_dir: Path, files: list[dict[str, Any]],
               schema: list[dict[str, str]], command: str) -> Release:
        """A new release of the catalog ``files`` (name, size, sha256, rows, row groups) and its reference ``schema``."""
        if (root / name / registry.LEGACY_RECORD_FILE).is_file():
            cls.open(root, name)  # migrates it, so that the error below names the registry
        files = sorted(files, key=lambda d: d["name"])
        header = {"format": RECORD_FORMAT, "name": name, "created": utc_now(),
                  "catalog_dir": str(catalog_dir.absolute())}
        summary = {"files": len(files), "rows": sum(f["rows"] or 0 for f in files),
                   "bytes": sum(f["size"] for f in files), "unreadable": [f["name"] for f in files if f["rows"] is None]}
        with registry.connection(root, create=True) as con, registry.write_transaction(con):
            rid = registry.insert_release(con, header, files, schema)
            registry.append_history(con, rid, {**_stamp(), "command": command, "summary": summary})
        (root / name).mkdir(parents=True, exist_ok=True)
        return cls(root, name, rid)

    @classmethod
    def open(cls, root: Path, name: str) -> Release:
        """The release ``name`` of ``root``, migrated from its JSON record on first open; a ConfigError names the
        known releases when there is none."""
        legacy = root / name / registry.LEGACY_RECORD_FILE
        if legacy.is_file():
            _migrate(root, legacy)
        try:
            with registry.connection(root) as con:
                rid = registry.release_id(con, name)
                known = registry.release_names(con) if rid is None else []  # for the error only
        except FileNotFoundError:
            rid, known = None, []
        if rid is None:
            raise ConfigError(f"no release {name!r} in {root} (known: {', '.join(known) or 'none'}; "
                              f"create it with 'pzmpi release init {name} --catalog DIR')")
        return cls(root, name, rid)

    @property
    def folder(self) -> Path:
        """Where the release's reports go."""
        return self.root / self.name

    def _cached(self, key: str, load: Any) -> Any:
        if key not in self._cache:
            with registry.connection(self.root) as con:
                self._cache[key] = load(con, self.release_id)
        return self._cache[key]

    @property
    def header(self) -> dict[str, Any]:
        return self._cached("header", registry.release_header)

    @property
    def catalog_dir(self) -> Path:
        return Path(self.header["catalog_dir"])

    @property
    def files(self) -> list[dict[str, Any]]:
        return self._cached("files", registry.load_files)

    @property
    def schema(self) -> list[dict[str, str]]:
        return self._cached("schema", registry.load_schema)

    def preloaded(self) -> Release:
        """This release with its header, files and schema read, to be sent to ranks that must not open the registry."""
        for key in ("header", "files", "schema"):
            getattr(self, key)
        return self

    def catalog_paths(self) -> list[Path]:
        return [self.catalog_dir / f["name"] for f in self.files]

    def totals(self) -> tuple[int, int, int, list[str]]:
        """Files, rows, bytes, and the files unreadable at init, counted by the registry."""
        with registry.connection(self.root) as con:
            return registry.file_totals(con, self.release_id)

    def entries(self, section: str, files: bool = True) -> list[dict[str, Any]]:
        """The entries of ``section``, oldest first (see ``registry.load_entries`` for ``files``)."""
        with registry.connection(self.root) as con:
            return registry.load_entries(con, self.release_id, section, files)

    def latest_entry(self, section: str) -> dict[str, Any] | None:
        with registry.connection(self.root) as con:
            return registry.latest_entry(con, self.release_id, section)

    def history(self) -> list[dict[str, Any]]:
        with registry.connection(self.root) as con:
            return registry.load_history(con, self.release_id)

    @property
    def record(self) -> dict[str, Any]:
        """The whole record as one JSON-ready dict (the export of ``pzmpi release show --json``)."""
        with registry.connection(self.root) as con:
            rid = self.release_id
            record = {**registry.release_header(con, rid), "files": registry.load_files(con, rid),
                      "schema": registry.load_schema(con, rid)}
            for section in [*ALWAYS_SECTIONS, *(s for s in registry.sections(con, rid) if s not in ALWAYS_SECTIONS)]:
                record[section] = registry.load_entries(con, rid, section)
            record["history"] = registry.load_history(con, rid)
        return record

    def log(self, command: str, summary: dict[str, Any], section: str | None = None,
            entry: dict[str, Any] | None = None, replacing: str | None = None) -> None:
        """Append ``entry`` to ``section`` and a history line, stamped with time and versions, in one transaction.

        With ``replacing``, an earlier entry of ``section`` with the same value of that key
        (the same skinny output folder, say) is replaced: the section holds what exists now,
        the history every command that was run.
        """
        stamp = _stamp()
        with registry.connection(self.root) as con, registry.write_transaction(con):
            if section is not None:
                registry.append_entry(con, self.release_id, section, {**stamp, **(entry or {})}, replacing)
            registry.append_history(con, self.release_id, {**stamp, "command": command, "summary": summary})

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


def _stamp() -> dict[str, Any]:
    return {"time": utc_now(), "versions": package_versions()}


def _migrate(root: Path, legacy: Path) -> None:
    """Move a JSON record into the registry once (a concurrent opener finds it there), then set the JSON aside."""
    try:
        record = json.loads(legacy.read_text())
    except FileNotFoundError:
        return  # another process migrated it meanwhile
    except json.JSONDecodeError as error:
        raise ConfigError(f"{legacy}: not a valid release record: {error}") from None
    with registry.connection(root, create=True) as con, registry.write_transaction(con):
        if registry.release_id(con, record["name"]) is None:
            rid = registry.import_record(con, record)
            registry.append_history(con, rid, {**_stamp(), "command": f"migrated from {legacy}",
                                               "summary": {"files": len(record.get("files", []))}})
    try:
        legacy.replace(legacy.with_name(legacy.name + registry.MIGRATED_SUFFIX))
    except FileNotFoundError:
        pass  # a concurrent opener set it aside first


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
    entry = release.latest_entry(section)
    if entry is None:
        raise ConfigError(f"release {release.name!r} has no {what} yet: {step} first")
    return entry


def latest_skinny_table(release: Release) -> dict[str, Any]:
    """The record of the release's newest skinny table; a ConfigError names 'pzmpi skinny' when there is none."""
    return latest(release, "skinny_tables", "skinny table", f"run 'pzmpi skinny {release.name} SKINNY.toml'")


def latest_skinny_files(release: Release) -> list[str]:
    """The files of the release's newest skinny table."""
    table = latest_skinny_table(release)
    return [str(Path(table["output_folder"]) / entry["name"]) for entry in table["files"]]


def recorded_layouts(release: Release) -> dict[str, tuple[int, list[int]]]:
    """Each file of the newest skinny table with its size and rows per row group, as its record keeps them (none
    when the release has no skinny table)."""
    with registry.connection(release.root) as con:
        found = registry.latest_entry_layouts(con, release.release_id, "skinny_tables")
    if found is None:
        return {}
    folder = str(Path(found[0]["output_folder"]))
    return {os.path.join(folder, name): (size, row_groups) for name, size, row_groups in found[1]}


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
    for entry in release.entries("runs", files=False):
        if entry.get("input") == table:
            newest[entry["code"]] = entry  # a code keeps the place of its first run
    if not newest:
        raise ConfigError(f"release {release.name!r} has no run over its {table} table yet: run 'pzmpi run' with "
                          f"input.release = {release.name!r} and input.table = {table!r} first")
    return newest


def format_release(release: Release) -> str:
    """The record as a human-readable summary (``pzmpi release show``), read without loading its file lists."""
    header = release.header
    files, rows, size, unreadable = release.totals()
    lines = [f"release {release.name} (created {header['created']})",
             f"  catalog: {header['catalog_dir']}",
             f"  files: {files}, {rows:,} rows, {size / 2**30:.3f} GiB; schema of {len(release.schema)} columns"]
    if unreadable:
        lines.append(f"  unreadable at init: {', '.join(unreadable)}")
    verify_runs = release.entries("verify_runs", files=False)
    lines.append(f"  verify runs: {len(verify_runs)}")
    for run in verify_runs:
        verdict = "passed" if run.get("passed") else "FAILED"
        lines.append(f"    {run['time']} {verdict}: {run.get('report_html', run.get('report_json', ''))}")
    skinny_tables = release.entries("skinny_tables", files=False)
    lines.append(f"  skinny tables: {len(skinny_tables)}")
    for table in skinny_tables:
        lines.append(f"    {table['time']}: {table.get('output_folder', '')} "
                     f"({table.get('rows', 0):,} rows in {table['file_count']} files)")
    training_sets = release.entries("training_sets", files=False)
    lines.append(f"  training sets: {len(training_sets)}")
    for entry in training_sets:
        lines.append(f"    {entry['time']}: {entry['name']} in {entry['folder']} ({entry['training_rows']:,} training, "
                     f"{entry['test_rows']:,} test rows)")
    ancillary = release.entries("ancillary_files", files=False)
    lines.append(f"  ancillary files: {len(ancillary)}")
    for extra in ancillary:
        lines.append(f"    [{extra['kind']}] {extra['path']} sha256 {extra['sha256'][:12]}: {extra['description']}")
    lines.append("  history:")
    lines += [f"    {h['time']} {h['command']}" for h in release.history()]
    return "\n".join(lines)
