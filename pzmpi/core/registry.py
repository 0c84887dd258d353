"""The release registry's storage: one SQLite database per releases folder, ``<releases>/registry.sqlite``.

Why SQLite and not the one JSON file per release it replaces: at DR11 a record holds
267,000 catalog files (about 57 MB as JSON), and every command rewrote it whole, so two
commands writing at once lost one update. Here a command appends rows inside one
``BEGIN IMMEDIATE`` transaction, so concurrent commands queue on the write lock (up to
``BUSY_TIMEOUT_S``) and all land; WAL mode lets readers go on while one writes.

The tables (docs/registry.md shows the same schema for PostgreSQL):

* ``releases``: one row per release;
* ``files``: the catalog's files (size, sha256, rows, rows per row group);
* ``schema_columns``: the reference schema;
* ``entries``: one row per entry of a record section (verify runs, skinny tables, training
  sets, ancillary files, models, runs, validations, tables, packages), the entry as JSON
  without its file list;
* ``entry_files``: the files an entry lists (a skinny table's 267,000 files are rows,
  so the planner reads their layouts with one indexed query);
* ``history``: one row per command.

Releases recorded as ``<releases>/<name>/release.json`` (before the registry) are
migrated on first open; the JSON is kept, renamed ``release.json.migrated``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from pzmpi.core.errors import ConfigError

DATABASE_FILE = "registry.sqlite"
LEGACY_RECORD_FILE = "release.json"
MIGRATED_SUFFIX = ".migrated"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 120.0  # how long a command waits for another one's write to end

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS releases (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created TEXT NOT NULL, catalog_dir TEXT NOT NULL,
    format INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    release_id INTEGER NOT NULL REFERENCES releases(id), position INTEGER NOT NULL, name TEXT NOT NULL,
    size INTEGER NOT NULL, sha256 TEXT, rows INTEGER, row_groups TEXT, error TEXT,
    PRIMARY KEY (release_id, position));
CREATE TABLE IF NOT EXISTS schema_columns (
    release_id INTEGER NOT NULL REFERENCES releases(id), position INTEGER NOT NULL, name TEXT NOT NULL,
    type TEXT NOT NULL, PRIMARY KEY (release_id, position));
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, release_id INTEGER NOT NULL REFERENCES releases(id),
    section TEXT NOT NULL, time TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entries_by_section ON entries (release_id, section, id);
CREATE TABLE IF NOT EXISTS entry_files (
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE, position INTEGER NOT NULL,
    name TEXT NOT NULL, size INTEGER, rows INTEGER, row_groups TEXT, body TEXT NOT NULL,
    PRIMARY KEY (entry_id, position));
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, release_id INTEGER NOT NULL REFERENCES releases(id),
    time TEXT NOT NULL, command TEXT NOT NULL, summary TEXT NOT NULL, versions TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_by_release ON history (release_id, id);
"""

FILE_COLUMNS = ("name", "size", "sha256", "rows", "row_groups", "error")


def database_path(root: Path) -> Path:
    return root / DATABASE_FILE


@contextmanager
def connection(root: Path, create: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection to the registry of ``root``, closed on exit; ``create`` makes the database when it is missing.

    Autocommit mode: every change goes through ``write_transaction``. A missing database
    without ``create`` raises FileNotFoundError.
    """
    path = database_path(root)
    if not create and not path.is_file():
        raise FileNotFoundError(path)
    root.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as con:
        con.execute("PRAGMA foreign_keys = ON")
        if create:
            con.execute("PRAGMA journal_mode = WAL")  # persistent: kept in the file once set
            con.executescript(SCHEMA)  # idempotent, one statement at a time
            con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is None or int(version[0]) != SCHEMA_VERSION:
            raise ConfigError(f"{path}: registry schema version {version[0] if version else 'unknown'}, "
                              f"this pzmpi reads version {SCHEMA_VERSION}")
        yield con


@contextmanager
def write_transaction(con: sqlite3.Connection) -> Iterator[None]:
    """One atomic write: takes the database's write lock first, so concurrent writers queue, never interleave."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def release_id(con: sqlite3.Connection, name: str) -> int | None:
    row = con.execute("SELECT id FROM releases WHERE name = ?", (name,)).fetchone()
    return row[0] if row else None


def release_names(con: sqlite3.Connection) -> list[str]:
    return [row[0] for row in con.execute("SELECT name FROM releases ORDER BY name")]


def insert_release(con: sqlite3.Connection, header: dict[str, Any], files: list[dict[str, Any]],
                   schema: list[dict[str, str]]) -> int:
    """A new release (``header``: name, created, catalog_dir, format) with its files and schema; in a transaction."""
    if release_id(con, header["name"]) is not None:
        raise ConfigError(f"release {header['name']!r} already exists in {con_path(con)}")
    cursor = con.execute("INSERT INTO releases (name, created, catalog_dir, format) VALUES (?, ?, ?, ?)",
                         (header["name"], header["created"], header["catalog_dir"], header["format"]))
    rid = int(cursor.lastrowid)  # type: ignore[arg-type]
    con.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    ((rid, i, f["name"], f["size"], f.get("sha256"), f.get("rows"),
                      None if f.get("row_groups") is None else json.dumps(f["row_groups"]), f.get("error"))
                     for i, f in enumerate(files)))
    con.executemany("INSERT INTO schema_columns VALUES (?, ?, ?, ?)",
                    ((rid, i, column["name"], column["type"]) for i, column in enumerate(schema)))
    return rid


def con_path(con: sqlite3.Connection) -> str:
    return con.execute("PRAGMA database_list").fetchone()[2]


def release_header(con: sqlite3.Connection, rid: int) -> dict[str, Any]:
    name, created, catalog_dir, record_format = con.execute(
        "SELECT name, created, catalog_dir, format FROM releases WHERE id = ?", (rid,)).fetchone()
    return {"format": record_format, "name": name, "created": created, "catalog_dir": catalog_dir}


def load_files(con: sqlite3.Connection, rid: int) -> list[dict[str, Any]]:
    """The catalog's files in name order, as ``release init`` described them."""
    files = []
    for name, size, sha256, rows, row_groups, error in con.execute(
            "SELECT name, size, sha256, rows, row_groups, error FROM files WHERE release_id = ? ORDER BY position",
            (rid,)):
        entry = {"name": name, "size": size, "sha256": sha256, "rows": rows,
                 "row_groups": None if row_groups is None else json.loads(row_groups)}
        if error is not None:
            entry["error"] = error
        files.append(entry)
    return files


def file_totals(con: sqlite3.Connection, rid: int) -> tuple[int, int, int, list[str]]:
    """Files, rows and bytes of the catalog, and the names of the files unreadable at init, without loading it."""
    count, rows, size = con.execute("SELECT COUNT(*), COALESCE(SUM(rows), 0), COALESCE(SUM(size), 0) FROM files "
                                    "WHERE release_id = ?", (rid,)).fetchone()
    unreadable = [row[0] for row in con.execute(
        "SELECT name FROM files WHERE release_id = ? AND rows IS NULL ORDER BY position", (rid,))]
    return count, rows, size, unreadable


def load_schema(con: sqlite3.Connection, rid: int) -> list[dict[str, str]]:
    return [{"name": name, "type": kind} for name, kind in con.execute(
        "SELECT name, type FROM schema_columns WHERE release_id = ? ORDER BY position", (rid,))]


def append_entry(con: sqlite3.Connection, rid: int, section: str, entry: dict[str, Any],
                 replacing: str | None) -> None:
    """Add ``entry`` (stamped with its time) to ``section``; with ``replacing``, drop the entries with the same
    value of that key first. In a transaction."""
    if replacing is not None:
        stale = [entry_id for entry_id, body in con.execute(
            "SELECT id, body FROM entries WHERE release_id = ? AND section = ?", (rid, section))
            if json.loads(body).get(replacing) == entry.get(replacing)]
        con.executemany("DELETE FROM entries WHERE id = ?", ((entry_id,) for entry_id in stale))
    files = entry.get("files")
    listed = isinstance(files, list) and bool(files) and all(isinstance(f, dict) for f in files)
    body = {key: value for key, value in entry.items() if not (listed and key == "files")}
    cursor = con.execute("INSERT INTO entries (release_id, section, time, body) VALUES (?, ?, ?, ?)",
                         (rid, section, entry.get("time", ""), json.dumps(body)))
    if listed:
        con.executemany("INSERT INTO entry_files VALUES (?, ?, ?, ?, ?, ?, ?)",
                        ((cursor.lastrowid, i, str(f.get("name", "")), f.get("size"), f.get("rows"),
                          None if f.get("row_groups") is None else json.dumps(f["row_groups"]), json.dumps(f))
                         for i, f in enumerate(files)))


def _with_files(con: sqlite3.Connection, entry_id: int, body: str) -> dict[str, Any]:
    entry = json.loads(body)
    files = [json.loads(row[0]) for row in con.execute(
        "SELECT body FROM entry_files WHERE entry_id = ? ORDER BY position", (entry_id,))]
    if files:
        entry["files"] = files
    return entry


def load_entries(con: sqlite3.Connection, rid: int, section: str, files: bool = True) -> list[dict[str, Any]]:
    """The entries of ``section``, oldest first, each with its files, or (``files=False``, for summaries of large
    releases) with their number as ``file_count``."""
    if files:
        rows = con.execute("SELECT id, body FROM entries WHERE release_id = ? AND section = ? ORDER BY id",
                           (rid, section)).fetchall()
        return [_with_files(con, entry_id, body) for entry_id, body in rows]
    return [{**json.loads(body), "file_count": count} for body, count in con.execute(
        "SELECT body, (SELECT COUNT(*) FROM entry_files WHERE entry_id = entries.id) FROM entries "
        "WHERE release_id = ? AND section = ? ORDER BY id", (rid, section))]


def _latest_row(con: sqlite3.Connection, rid: int, section: str) -> tuple[int, str] | None:
    """The id and body of the newest entry of ``section``."""
    return con.execute("SELECT id, body FROM entries WHERE release_id = ? AND section = ? ORDER BY id DESC LIMIT 1",
                       (rid, section)).fetchone()


def latest_entry(con: sqlite3.Connection, rid: int, section: str) -> dict[str, Any] | None:
    row = _latest_row(con, rid, section)
    return None if row is None else _with_files(con, *row)


def latest_entry_layouts(con: sqlite3.Connection, rid: int,
                         section: str) -> tuple[dict[str, Any], list[tuple[str, int, list[int]]]] | None:
    """The newest entry of ``section`` without its files, and the name, size and rows per row group of each of
    its files that records them: the planner's lookup, one indexed query and one JSON parse."""
    row = _latest_row(con, rid, section)
    if row is None:
        return None
    listed = con.execute("SELECT name, size, row_groups FROM entry_files WHERE entry_id = ? AND size IS NOT NULL "
                         "AND row_groups IS NOT NULL ORDER BY position", (row[0],)).fetchall()
    groups = json.loads("[" + ",".join(text for _, _, text in listed) + "]")
    return json.loads(row[1]), [(name, size, rows) for (name, size, _), rows in zip(listed, groups)]


def sections(con: sqlite3.Connection, rid: int) -> list[str]:
    """The sections the release has entries in, in the order each was first written."""
    return [row[0] for row in con.execute(
        "SELECT section FROM entries WHERE release_id = ? GROUP BY section ORDER BY MIN(id)", (rid,))]


def append_history(con: sqlite3.Connection, rid: int, line: dict[str, Any]) -> None:
    con.execute("INSERT INTO history (release_id, time, command, summary, versions) VALUES (?, ?, ?, ?, ?)",
                (rid, line["time"], line["command"], json.dumps(line["summary"]), json.dumps(line["versions"])))


def load_history(con: sqlite3.Connection, rid: int) -> list[dict[str, Any]]:
    return [{"time": time, "versions": json.loads(versions), "command": command, "summary": json.loads(summary)}
            for time, command, summary, versions in con.execute(
                "SELECT time, command, summary, versions FROM history WHERE release_id = ? ORDER BY id", (rid,))]


RECORD_KEYS = ("format", "name", "created", "catalog_dir", "files", "schema", "history")


def import_record(con: sqlite3.Connection, record: dict[str, Any]) -> int:
    """A whole JSON record (the format before the registry) as a release; in a transaction."""
    rid = insert_release(con, record, record.get("files", []), record.get("schema", []))
    for section, entries in record.items():
        if section not in RECORD_KEYS and isinstance(entries, list):
            for entry in entries:
                append_entry(con, rid, section, entry, replacing=None)
    for line in record.get("history", []):
        append_history(con, rid, line)
    return rid
