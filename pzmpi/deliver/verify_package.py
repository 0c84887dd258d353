"""``pzmpi verify-package DIR``: what the receiving side runs, sharded over the ranks (docs/package.md).

It checks, and names every problem it finds:

* the manifest: every listed file exists and has its checksum, no file is
  unlisted (the ranks share the files, largest first);
* the table: the hats library's strict validation, every partition's schema
  against ``_common_metadata``, and its row counts against ``_metadata`` and
  ``hats.properties``;
* the objects: every objectId appears once in the table and, given the
  release's catalog (``--catalog``), every catalog objectId is in it and no
  other. Ids are routed to the rank that owns them (a hash of the id), as
  ``verify`` does, so no rank holds more than its share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from pzmpi.core import mpi
from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.errors import ConfigError, InputFileError
from pzmpi.core.sharding import assign_pieces, owner_ranks
from pzmpi.deliver.hats_catalog import catalog_properties, is_valid_collection, primary_catalog
from pzmpi.deliver.package import MANIFEST
from pzmpi.io.catalog import CatalogFile, list_input_files

EXIT_OK = 0
EXIT_PROBLEMS = 4  # as verify's blocking failures
EXAMPLES = 5  # ids named per kind of problem
FROM_TABLE, FROM_CATALOG = 0, 1


@dataclass(frozen=True)
class VerifySettings:
    folder: Path
    catalog: list[str]
    id_column: str


def read_manifest(folder: Path) -> dict[str, str]:
    """``MANIFEST.sha256`` as path -> digest; a ConfigError when it is missing or malformed."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ConfigError(f"{folder}: no {MANIFEST}: not a pzmpi package, or an unfinished one")
    entries = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise ConfigError(f"{path}: line {number} is not '<sha256>  <path>'")
        entries[name] = digest
    return entries


def run(settings: VerifySettings, comm: mpi.Comm) -> int:
    """Check the package; every problem is printed by the root. Returns the exit status on every rank."""
    rank = comm.Get_rank()
    listing, problem = None, None
    if rank == mpi.ROOT:
        try:
            listing = _listing(settings.folder)
        except ConfigError as error:
            problem = str(error)
    mpi.agree(comm, problem)
    manifest, problems = mpi.broadcast(comm, listing)
    present = sorted(path for path in manifest if (settings.folder / path).is_file())
    sizes = [(settings.folder / path).stat().st_size for path in present]
    mine = assign_pieces(sizes, comm.Get_size())[rank]
    mismatched = [present[i] for i in mine if sha256_of_file(settings.folder / present[i]) != manifest[present[i]]]
    catalog = _catalog_dir(settings.folder)
    table_files = _table_files(catalog)
    share = [table_files[i] for i in assign_pieces([f.stat().st_size for f in table_files], comm.Get_size())[rank]]
    schema_problems, table_ids, table_rows = _read_table_share(settings.folder, catalog, share)
    catalog_ids, catalog_problems = _read_catalog_share(settings, comm)
    id_problems = _check_ids(table_ids, catalog_ids, bool(settings.catalog), comm)
    gathered = mpi.gather_to_root(comm, (mismatched, schema_problems + catalog_problems, table_rows, id_problems))
    status = EXIT_OK
    if rank == mpi.ROOT:
        assert gathered is not None
        problems += [f"checksum differs: {path}" for share_ in gathered for path in share_[0]]
        problems += [p for share_ in gathered for p in share_[1]]
        problems += _table_problems(settings.folder, catalog, sum(share_[2] for share_ in gathered))
        problems += _merge_id_problems([share_[3] for share_ in gathered])
        for line in problems:
            print(f"pzmpi verify-package: PROBLEM: {line}")
        verdict = "FAILED" if problems else "passed"
        print(f"pzmpi verify-package: {settings.folder}: {verdict}: {len(manifest)} files checked, "
              f"{len(problems)} problem(s)")
        status = EXIT_PROBLEMS if problems else EXIT_OK
    return mpi.broadcast(comm, status)


def _listing(folder: Path) -> tuple[dict[str, str], list[str]]:
    """The manifest, and the files missing from the folder or from the manifest."""
    manifest = read_manifest(folder)
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - {MANIFEST}
    problems = [f"missing file: {path}" for path in sorted(set(manifest) - on_disk)]
    problems += [f"file not in the manifest: {path}" for path in sorted(on_disk - set(manifest))]
    return manifest, problems


def _catalog_dir(folder: Path) -> Path | None:
    """The table's catalog (the collection's primary one); None when the package has no readable collection."""
    try:
        return primary_catalog(folder / "table")
    except (OSError, ValueError):  # a missing or damaged collection.properties (hats raises either)
        return None


def _table_files(catalog: Path | None) -> list[Path]:
    return sorted((catalog / "dataset").glob("Norder=*/Dir=*/Npix=*.parquet")) if catalog is not None else []


def _read_table_share(folder: Path, catalog: Path | None, files: list[Path]) -> tuple[list[str], np.ndarray, int]:
    """Schema problems, objectIds and row count of this rank's partition files."""
    problems: list[str] = []
    ids = [np.zeros(0, np.int64)]
    rows = 0
    if catalog is None:
        return problems, ids[0], rows
    try:
        expected = pq.read_schema(catalog / "dataset" / "_common_metadata")
    except (OSError, ValueError) as error:
        return [f"{catalog}/dataset/_common_metadata: unreadable: {error}"], ids[0], rows
    for path in files:
        name = path.relative_to(folder)
        try:
            parquet = pq.ParquetFile(path)
            if not parquet.schema_arrow.equals(expected):
                problems.append(f"schema differs from _common_metadata: {name}")
                continue
            rows += parquet.metadata.num_rows
            ids.append(parquet.read(columns=["objectId"]).column(0).to_numpy())
        except (OSError, ValueError) as error:
            problems.append(f"unreadable partition {name}: {error}")
    return problems, np.concatenate(ids), rows


def _read_catalog_share(settings: VerifySettings, comm: mpi.Comm) -> tuple[np.ndarray, list[str]]:
    """The objectIds of this rank's share of the release's catalog files."""
    if not settings.catalog:
        return np.zeros(0, np.int64), []
    try:
        files = list_input_files(settings.catalog)
    except ConfigError as error:
        return np.zeros(0, np.int64), [str(error)] if comm.Get_rank() == mpi.ROOT else []
    sizes = []
    for path in files:
        try:
            sizes.append(Path(path).stat().st_size)
        except OSError:
            sizes.append(0)
    ids, problems = [np.zeros(0, np.int64)], []
    for index in assign_pieces(sizes, comm.Get_size())[comm.Get_rank()]:
        try:
            with CatalogFile(files[index], [settings.id_column]) as catalog:
                ids += [chunk[settings.id_column].astype(np.int64)
                        for chunk in catalog.iter_rows(0, catalog.num_rows, 1_000_000)]
        except InputFileError as error:
            problems.append(f"catalog file: {error}")
    return np.concatenate(ids), problems


def _check_ids(table_ids: np.ndarray, catalog_ids: np.ndarray, with_catalog: bool,
               comm: mpi.Comm) -> dict[str, tuple[int, list[int]]]:
    """On the owner of each id: duplicated in the table, in the catalog but not the table, and the reverse."""
    ids = np.concatenate((table_ids, catalog_ids))
    source = np.concatenate((np.full(table_ids.size, FROM_TABLE, np.int8), np.full(catalog_ids.size, FROM_CATALOG,
                                                                                   np.int8)))
    owners = owner_ranks(ids, comm.Get_size())
    order = np.argsort(owners, kind="stable")
    counts = np.bincount(owners, minlength=comm.Get_size())
    ids, source = mpi.alltoallv_arrays(comm, [ids[order], source[order]], counts)
    table = np.sort(ids[source == FROM_TABLE])
    repeated = table[1:][table[1:] == table[:-1]]
    found = {"duplicated objectId in the table": np.unique(repeated)}
    if with_catalog:
        catalog = np.unique(ids[source == FROM_CATALOG])
        unique_table = np.unique(table)
        found["catalog objectId missing from the table"] = np.setdiff1d(catalog, unique_table, assume_unique=True)
        found["objectId in the table but not in the catalog"] = np.setdiff1d(unique_table, catalog, assume_unique=True)
    return {kind: (int(values.size), [int(v) for v in values[:EXAMPLES]]) for kind, values in found.items()}


def _merge_id_problems(shares: list[dict[str, tuple[int, list[int]]]]) -> list[str]:
    problems = []
    for kind in shares[0] if shares else []:
        total = sum(share[kind][0] for share in shares)
        examples = sorted(v for share in shares for v in share[kind][1])[:EXAMPLES]
        if total:
            problems.append(f"{kind}: {total:,} (e.g. {', '.join(map(str, examples))})")
    return problems


def _table_problems(folder: Path, catalog: Path | None, rows: int) -> list[str]:
    """On the root: the hats library's validation and the row counts the metadata announce."""
    table = folder / "table"
    if catalog is None:
        return [f"{table}: no readable collection.properties naming the catalog"]
    problems = []
    try:
        if not is_valid_collection(table):
            problems.append(f"{table}: the hats library's strict validation fails")
    except Exception as error:  # the validator raises on some damage instead of returning False
        problems.append(f"{table}: the hats library's validation fails: {type(error).__name__}: {error}")
    try:
        announced = catalog_properties(catalog).get("hats_nrows")
    except (OSError, ValueError) as error:
        announced = f"nothing readable ({error})"
    if announced != rows:
        problems.append(f"{catalog.name}: hats.properties announces {announced} rows, the partitions hold {rows}")
    try:
        in_metadata = pq.read_metadata(catalog / "dataset" / "_metadata").num_rows
        if in_metadata != rows:
            problems.append(f"{catalog.name}: _metadata announces {in_metadata} rows, the partitions hold {rows}")
    except (OSError, ValueError) as error:
        problems.append(f"{catalog.name}/dataset/_metadata: unreadable: {error}")
    return problems
