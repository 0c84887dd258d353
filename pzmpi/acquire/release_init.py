"""``pzmpi release init``: record a transferred catalog's files (size, rows, row groups, sha256) and schema.

The checksums, the only costly part, are sharded over the ranks, largest file
first; the root writes the record (``pzmpi.core.release``).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pzmpi.core import mpi
from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.errors import ConfigError
from pzmpi.core.release import Release, release_exists
from pzmpi.core.sharding import assign_pieces
from pzmpi.io.catalog import list_input_files


def describe_file(path: Path, catalog_dir: Path) -> dict[str, Any]:
    """Name, size, sha256, row count, rows per row group and schema of one catalog file.

    An unreadable footer is recorded, not raised. The row groups let ``pzmpi
    skinny`` cut files where row groups meet.
    """
    entry: dict[str, Any] = {"name": path.relative_to(catalog_dir).as_posix(), "size": path.stat().st_size,
                             "sha256": sha256_of_file(path), "rows": None, "row_groups": None, "schema": None}
    try:
        footer = pq.ParquetFile(path)
        entry["rows"] = footer.metadata.num_rows
        entry["row_groups"] = [footer.metadata.row_group(i).num_rows for i in range(footer.metadata.num_row_groups)]
        entry["schema"] = [{"name": field.name, "type": str(field.type)} for field in footer.schema_arrow]
    except Exception as error:  # pyarrow raises several types for a damaged footer
        entry["error"] = f"{type(error).__name__}: {error}"
    return entry


def reference_schema(described: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The schema most files share (ties: the first such file in name order); empty if none is readable."""
    schemas = [json.dumps(d["schema"]) for d in sorted(described, key=lambda d: d["name"]) if d["schema"]]
    if not schemas:
        return []
    counts = Counter(schemas)
    best = max(counts.values())
    return json.loads(next(s for s in schemas if counts[s] == best))


def catalog_files(catalog_dir: Path) -> list[Path]:
    """The parquet files of a catalog folder, sorted; a ConfigError names the folder when there are none."""
    if not catalog_dir.is_dir():
        raise ConfigError(f"catalog folder not found: {catalog_dir}")
    try:
        return [Path(p) for p in list_input_files([str(catalog_dir)])]
    except ConfigError as error:
        raise ConfigError(f"catalog folder {catalog_dir}: {error}") from None


def init_release(comm: mpi.Comm, root: Path, name: str, catalog_dir: Path, command: str) -> Release | None:
    """Collective: describe every catalog file (checksums sharded over ranks, largest first); the root records.

    Returns the new release on the root, None elsewhere.
    """
    catalog_dir = catalog_dir.absolute()

    def list_on_root() -> list[Path]:
        if release_exists(root, name):
            raise ConfigError(f"release {name!r} already exists in {root}")
        return catalog_files(catalog_dir)

    paths = mpi.broadcast_from_root(comm, list_on_root)
    sizes = [p.stat().st_size for p in paths] if comm.Get_rank() == mpi.ROOT else []
    shares = mpi.broadcast(comm, assign_pieces(sizes, comm.Get_size()) if comm.Get_rank() == mpi.ROOT else None)
    mine = [describe_file(paths[i], catalog_dir) for i in shares[comm.Get_rank()]]
    described = mpi.gather_to_root(comm, mine)
    if described is None:
        return None
    return create_release(root, name, catalog_dir, [d for part in described for d in part], command)


def create_release(root: Path, name: str, catalog_dir: Path, described: list[dict[str, Any]],
                   command: str) -> Release:
    """The release of the files ``describe_file`` described, with the schema most of them share."""
    files = [{key: value for key, value in d.items() if key != "schema"} for d in described]
    return Release.create(root, name, catalog_dir, files, reference_schema(described), command)
