"""``pzmpi package``: the delivery folder, every file listed with its checksum (docs/package.md).

::

    DIR/README.md          how to open the table (lsdb) and the PDFs (qp); what each column means
    DIR/metadata.json      release, codes, models, training sets, configurations, versions, Stage I provenance
    DIR/release.json       with --release: the release's whole record (its registry's export)
    DIR/MANIFEST.sha256    every other file, in sha256sum's format
    DIR/table/             the published HATS collection
    DIR/archive/<code>/    the run's full PDFs: its pieces again, compressed (``archive``), and index.hdf5
    DIR/reports/...        the reports that exist: each run's results, validations, training-set QA
    DIR/configs/<code>.toml

Files are hard-linked where the file system allows (a package of a release
costs no second copy of its table), copied otherwise. The root lays the
folder out; the ranks write the archive pieces, then checksum a share of the
files (largest first), and the root writes the manifest last, so a package
without ``MANIFEST.sha256`` is an unfinished one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pzmpi.core import mpi
from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.errors import ConfigError
from pzmpi.core.files import write_text_atomically
from pzmpi.core.release import Release
from pzmpi.core.sharding import assign_pieces
from pzmpi.core.versions import package_versions
from pzmpi.deliver.archive import archive_piece
from pzmpi.deliver.hats_catalog import catalog_properties, primary_catalog
from pzmpi.deliver.package_readme import package_readme
from pzmpi.estimators import estimator_code
from pzmpi.estimators.model_info import training_record_path
from pzmpi.io.pieces import write_run_index
from pzmpi.io.run_folder import RunPaths, finished_pieces

MANIFEST = "MANIFEST.sha256"
PACKAGE_FORMAT = 1
RELEASE_RECORD = "release.json"  # the release record's export, in a package made with --release


@dataclass(frozen=True)
class PackageSettings:
    """What ``pzmpi package`` was asked for."""

    out: Path
    table: Path
    runs: list[Path]
    reports: list[Path]
    release: Release | None
    command: str = ""


def run(settings: PackageSettings, comm: mpi.Comm) -> int:
    """Lay out and checksum the package; returns the exit status (the same on every rank)."""
    start = time.perf_counter()
    jobs: list[tuple[Path, Path, int]] | None = None
    problem = None
    if comm.Get_rank() == mpi.ROOT:
        try:
            jobs = lay_out(settings)
        except ConfigError as error:
            problem = str(error)
    mpi.agree(comm, problem)
    jobs = mpi.broadcast(comm, jobs)
    assert jobs is not None
    for index in assign_pieces([rows for _, _, rows in jobs], comm.Get_size())[comm.Get_rank()]:
        archive_piece(jobs[index][0], jobs[index][1])
    comm.Barrier()
    files = None
    if comm.Get_rank() == mpi.ROOT:
        for code_dir in sorted({target.parent.parent for _, target, _ in jobs}):
            pieces = [(target, rows) for _, target, rows in jobs if target.parent.parent == code_dir]
            write_run_index(code_dir / "index.hdf5", pieces)
        files = sorted(str(p.relative_to(settings.out)) for p in settings.out.rglob("*")
                       if p.is_file() and p.name != MANIFEST)
    files = mpi.broadcast(comm, files)
    assert files is not None
    sums = checksum_share(settings.out, files, comm)
    gathered = mpi.gather_to_root(comm, sums)
    if comm.Get_rank() == mpi.ROOT:
        assert gathered is not None
        every = {path: digest for share in gathered for path, digest in share.items()}
        write_text_atomically(settings.out / MANIFEST, "".join(f"{every[path]}  {path}\n" for path in sorted(every)))
        if settings.release is not None:
            entry = {"folder": str(settings.out.absolute()), "table": str(settings.table.absolute()),
                     "files": len(files), "manifest_sha256": sha256_of_file(settings.out / MANIFEST)}
            settings.release.log(settings.command, {"package": entry["folder"], "files": len(files)},
                                 section="packages", entry=entry, replacing="folder")
        total = sum((settings.out / path).stat().st_size for path in files)
        print(f"pzmpi: package {settings.out}: {len(files)} files, {total / 1e6:,.1f} MB, "
              f"{MANIFEST} written ({time.perf_counter() - start:.1f} s)")
    return mpi.broadcast(comm, 0)


def checksum_share(root: Path, files: list[str], comm: mpi.Comm) -> dict[str, str]:
    """sha256 of this rank's share of ``files`` (relative to ``root``), dealt out by size."""
    sizes = [(root / path).stat().st_size for path in files]
    mine = assign_pieces(sizes, comm.Get_size())[comm.Get_rank()]
    return {files[i]: sha256_of_file(root / files[i]) for i in mine}


def lay_out(settings: PackageSettings) -> list[tuple[Path, Path, int]]:
    """Put every file but the archive in place, write the metadata and README; returns the archive's pieces to
    write: (run piece, archive piece, rows), in plan order per code."""
    out = settings.out
    if not (settings.table / "collection.properties").is_file():
        raise ConfigError(f"{settings.table}: not a table written by 'pzmpi publish' (no collection.properties)")
    if out.exists():
        if not (out / MANIFEST).is_file() and not (out / "metadata.json").is_file():
            raise ConfigError(f"{out} exists and is not a pzmpi package: choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    codes = _table_codes(settings.table)
    runs = {}
    for folder in settings.runs:
        record_path = RunPaths(folder).run_record
        record = json.loads(record_path.read_text()) if record_path.is_file() else None
        if record is None:
            raise ConfigError(f"{folder}: no run.json: not the folder of a pzmpi run")
        code = estimator_code(record["estimator"])
        runs[code] = (folder, record)
    missing = [code for code in codes if code not in runs]
    if missing:
        raise ConfigError(f"the table holds {', '.join(missing)}: give the run folder of each code "
                          f"(runs given: {', '.join(runs) or 'none'})")
    _place(settings.table, out / "table")
    jobs = []
    for code, (folder, _) in runs.items():
        jobs += [(piece.file, out / "archive" / code / "pieces" / piece.file.name, piece.rows)
                 for piece in finished_pieces(folder)]
        _place(folder / "config.toml", out / "configs" / f"{code}.toml")
        for report in sorted((folder / "report").glob("results.*")) if (folder / "report").is_dir() else []:
            _place(report, out / "reports" / code / report.name)
    for report in settings.reports:
        _place(report, out / "reports" / report.name)
    training_sets = settings.release.entries("training_sets") if settings.release else []
    for entry in training_sets:
        folder = Path(entry.get("folder", ""))
        for name in ("training_set.html", "training_set.json"):
            if (folder / name).is_file():
                _place(folder / name, out / "reports" / "training_set" / folder.name / name)
    release_record = settings.release.record if settings.release is not None else None
    if release_record is not None:  # the release's provenance travels with its delivery
        write_text_atomically(out / RELEASE_RECORD, json.dumps(release_record, indent=1))
    metadata = package_metadata(settings, codes, runs, release_record)
    write_text_atomically(out / "metadata.json", json.dumps(metadata, indent=1))
    write_text_atomically(out / "README.md", package_readme(metadata))
    return jobs


def _table_codes(table: Path) -> list[str]:
    """The codes of a published table, from its catalog's properties."""
    codes = catalog_properties(primary_catalog(table)).get("pzmpi_codes")
    if not codes:
        raise ConfigError(f"{table}: its catalog's hats.properties has no pzmpi_codes: not published by pzmpi")
    return str(codes).split()


def _place(source: Path, target: Path) -> None:
    """Hard-link ``source`` (a file or a folder's files) at ``target``, copying where links are not possible."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file():
                _place(path, target / path.relative_to(source))
        return
    if not source.is_file():
        raise ConfigError(f"{source}: not found")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def package_metadata(settings: PackageSettings, codes: list[str], runs: dict[str, tuple[Path, dict[str, Any]]],
                     release_record: dict[str, Any] | None) -> dict[str, Any]:
    """What the receiving side needs to know where every number came from (``release_record``: the release's
    record, exported)."""
    table_properties = {path.parent.name: catalog_properties(path.parent)
                        for path in sorted(settings.table.glob("*/hats.properties"))}
    code_entries = {}
    for code in codes:
        folder, record = runs[code]
        training = training_record_path(record.get("model_file", ""))
        code_entries[code] = {
            "run_folder": str(folder.absolute()),
            **{key: record.get(key) for key in ("estimator", "implementation", "model_file", "model_sha256",
                                                "config_sha256", "result_key", "rows", "inputs")},
            "training": json.loads(training.read_text()) if training.is_file() else None,
            "configuration": f"configs/{code}.toml",
        }
    release = None
    if release_record is not None:
        kept = ("name", "created", "catalog_dir", "verify_runs", "skinny_tables", "training_sets", "ancillary_files",
                "history")
        release = {key: release_record.get(key) for key in kept}
        release["files"] = len(release_record.get("files", []))
        release["rows"] = sum(f.get("rows") or 0 for f in release_record.get("files", []))
        release["record_file"] = RELEASE_RECORD
        release["record_sha256"] = sha256_of_file(settings.out / RELEASE_RECORD)
    return {"format": PACKAGE_FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "codes": code_entries, "table": table_properties, "release": release,
            "reports": sorted(str(p.relative_to(settings.out)) for p in (settings.out / "reports").rglob("*")
                              if p.is_file()) if (settings.out / "reports").is_dir() else [],
            "versions": package_versions()}
