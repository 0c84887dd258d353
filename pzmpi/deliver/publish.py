"""``pzmpi publish``: finished runs, one per code, become one HATS catalog keyed by objectId (docs/publish.md).

Under MPI, with nothing gathered on one rank but pixel counts, pixel lists and footers:

1. every rank reads its share of all runs' pieces and computes each object's
   columns for that code (``photoz_columns``): position and ``_healpix_29``,
   point values, flags and the compact PDF;
2. ids, positions and codes alone go to the rank that owns each id (a hash,
   as ``verify`` routes ids), which checks that no run holds an object twice
   and that the runs agree on its position, and counts objects per pixel;
3. the root turns the counts into partitions (hats-import's adaptive
   algorithm, or the pixels of a ``--like`` catalog) and deals them out;
4. every row goes once to the owner of its partition, which joins the codes
   of one objectId into one row and writes its files, sorted by
   (``_healpix_29``, objectId), with hats's parquet settings;
5. (objectId, Norder, Npix) go to the owners of equal objectId ranges, which
   write the index catalog; the root writes the metadata through ``hats``.

Every file is a function of its rows alone, so the bytes do not depend on the
number of ranks. Everything is written under ``OUT.inprogress`` and renamed at
the end: a killed publish leaves nothing that looks finished, and running it
again starts over.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pyarrow as pa

from pzmpi.core import mpi
from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.errors import ConfigError, InputFileError
from pzmpi.core.release import Release, newest_runs
from pzmpi.core.sharding import assign_pieces, owner_ranks
from pzmpi.core.versions import package_versions
from pzmpi.deliver import hats_catalog
from pzmpi.deliver.photoz_columns import POINT_COLUMNS, code_columns, compile_kernel, trim_mantissa
from pzmpi.estimators import estimator_code
from pzmpi.estimators.config import NONDETECTED_BANDS, load_run_config
from pzmpi.io.run_folder import RunPaths, RunPiece, finished_pieces

log = logging.getLogger("pzmpi")

ROWS_PER_READ = 20_000  # rows of one piece's PDFs in memory at once
KEY_COLUMNS = ("objectId", "coord_ra", "coord_dec", hats_catalog.SPATIAL_INDEX)
# The fewest levels that kept every fidelity target on the DC2 sample (docs/publish.md): LePHARE's narrow
# PDFs need all 256; "" is every other code
DEFAULT_PDF_LEVELS = {"lephare": 256, "": 128}
GAUSSIAN = ("loc", "scale")  # a code's own Gaussian per object, kept in its pieces (GPz: estimator_columns)


@dataclass(frozen=True)
class PublishSettings:
    """What ``pzmpi publish`` was asked for (docs/publish.md)."""

    runs: list[Path]
    out: Path
    name: str
    max_rows: int
    order: int
    like: str
    pdf_levels: dict[str, int]  # code -> levels of its compact PDF, for codes not in DEFAULT_PDF_LEVELS' way
    allow_incomplete: bool
    release: Release | None = None  # runs come from its record when none are named; the table is entered in it
    command: str = ""


@dataclass(frozen=True)
class RunSource:
    """A run to publish: its code's name, grid, columns and finished pieces."""

    code: str
    folder: Path
    grid: np.ndarray
    ra_column: str
    dec_column: str
    bands: list[str]
    carried: dict[str, str]  # carried input column -> numpy dtype string
    pieces: list[RunPiece]
    gaussian: bool  # the pieces keep the code's own Gaussian (GPz's loc and scale): the compact PDF is that


def runs_of_release(release: Release) -> list[Path]:
    """The newest run of each code over the release's skinny table, in the order the codes were first run."""
    return [Path(entry["folder"]) for entry in newest_runs(release, "skinny").values()]


def open_runs(settings: PublishSettings) -> list[RunSource]:
    """Every run, checked before any work; a ConfigError names the run and what is wrong."""
    sources: list[RunSource] = []
    folders = settings.runs or (runs_of_release(settings.release) if settings.release else [])
    if not folders:
        raise ConfigError("name the run folders to publish, or --release NAME to publish its runs")
    for folder in folders:
        config = load_run_config(folder)
        code = estimator_code(config.estimator.name)
        if any(source.code == code for source in sources):
            raise ConfigError(f"{folder}: a second run of {code!r}; publish takes one run per code")
        if not (config.input.ra_column and config.input.dec_column):
            raise ConfigError(f"{folder}: the run kept no positions ('input.ra_column' is ''); publish needs them")
        pieces = finished_pieces(folder)
        planned = len(json.loads(RunPaths(folder).plan.read_text())["pieces"])
        if len(pieces) < planned and not settings.allow_incomplete:
            raise ConfigError(f"{folder}: {planned - len(pieces)} of {planned} pieces have no file (failed or "
                              f"not run): finish the run (pzmpi run resumes it) or pass --allow-incomplete")
        if not pieces:
            raise ConfigError(f"{folder}: the run has no finished piece")
        with h5py.File(pieces[0].file, "r") as first:
            ancil = first["ancil"]
            missing = [c for c in (config.input.ra_column, config.input.dec_column) if c not in ancil]
            if missing:
                raise ConfigError(f"{pieces[0].file}: no ancil/{missing[0]}: the run predates positions in pieces; "
                                  f"run it again")
            carried = {name: ancil[name].dtype.str for name in config.output.carry_columns}
            gaussian = all(name in ancil for name in GAUSSIAN)
        grid = np.linspace(config.estimator.zmin, config.estimator.zmax, config.estimator.nzbins)
        sources.append(RunSource(code, Path(folder), grid, config.input.ra_column, config.input.dec_column,
                                 list(config.input.bands), carried, pieces, gaussian))
    return sources


def pdf_fields(source: RunSource) -> list[tuple[str, pa.DataType]]:
    """The compact PDF's columns of a code: its own Gaussian, or the packed grid."""
    if source.gaussian:
        return [("pdf_loc", pa.float32()), ("pdf_scale", pa.float32())]
    return [("pdf_packed", pa.list_(pa.uint8(), source.grid.size)), ("pdf_ymax", pa.float32())]


def pdf_levels_of(settings: PublishSettings, code: str) -> int:
    """The levels of ``code``'s compact PDF: as asked, else the default that bench/compact_pdfs.py chose for it."""
    return settings.pdf_levels.get(code, DEFAULT_PDF_LEVELS.get(code, DEFAULT_PDF_LEVELS[""]))


def table_schema(sources: list[RunSource]) -> pa.Schema:
    """The catalog's columns, the same on every rank: keys, carried columns, then each code's."""
    fields = [pa.field(hats_catalog.SPATIAL_INDEX, pa.int64(), nullable=False),
              pa.field("objectId", pa.int64(), nullable=False),
              pa.field("coord_ra", pa.float64(), nullable=False), pa.field("coord_dec", pa.float64(), nullable=False)]
    for name, dtype in carried_columns(sources).items():
        fields.append(pa.field(name, pa.from_numpy_dtype(np.dtype(dtype))))
    for source in sources:
        fields += [pa.field(f"{source.code}_{name}", pa.float32()) for name in POINT_COLUMNS]
        fields.append(pa.field(f"{source.code}_flags", pa.uint32()))
        fields += [pa.field(f"{source.code}_{name}", arrow_type) for name, arrow_type in pdf_fields(source)]
    return pa.schema(fields)


def carried_columns(sources: list[RunSource]) -> dict[str, str]:
    """Carried columns of all runs, first run first; the same name must have the same type in every run."""
    carried: dict[str, str] = {}
    for source in sources:
        for name, dtype in source.carried.items():
            if carried.setdefault(name, dtype) != dtype:
                raise ConfigError(f"{source.folder}: carried column {name!r} is {dtype} here, {carried[name]} before")
    return carried


def run(settings: PublishSettings, comm: mpi.Comm) -> int:
    """Publish the runs; returns the exit status (the same on every rank)."""
    start = time.perf_counter()
    rank, size = comm.Get_rank(), comm.Get_size()
    sources, problem = None, None
    try:
        sources = open_runs(settings)
        schema = table_schema(sources)
    except (ConfigError, InputFileError, OSError) as error:
        problem = str(error)
    mpi.agree(comm, problem)
    assert sources is not None
    temp = settings.out.with_name(settings.out.name + ".inprogress")
    catalog_dir, index_dir = temp / settings.name, temp / f"{settings.name}_objectId_index"
    if rank == mpi.ROOT:
        shutil.rmtree(temp, ignore_errors=True)  # a killed publish's leftovers
        for folder in (catalog_dir / "dataset", index_dir / "dataset" / "index"):
            folder.mkdir(parents=True)
    comm.Barrier()

    mpi.root_first(comm, compile_kernel)  # the root fills numba's cache, the others load it
    local, problem = _read_share(sources, settings, comm)
    mpi.agree(comm, problem)
    counts, problem = _check_and_count(local, sources, settings.order, comm)
    mpi.agree(comm, problem)
    parts = mpi.gather_to_root(comm, counts)
    plan, histogram, problem = None, None, None
    if rank == mpi.ROOT:
        assert parts is not None
        try:
            plan, histogram = _partition_plan(parts, settings, size)
        except ConfigError as error:
            problem = str(error)
    mpi.agree(comm, problem)
    ranges, owners = mpi.broadcast(comm, plan)
    where = [ranges.locate(columns[hats_catalog.SPATIAL_INDEX]) for columns in local]
    outside = int(sum((w < 0).sum() for w in where))
    mpi.agree(comm, f"{outside} row(s) fall outside the partitions of {settings.like}" if outside else None)
    mine = _join([_exchange(columns, owners[w], comm) for columns, w in zip(local, where)], sources)
    footers, index_rows = _write_partitions(mine, ranges, owners, schema, null_masks(sources), catalog_dir, rank)
    index_footers = _write_index(index_rows, index_dir, comm)
    all_footers = mpi.gather_to_root(comm, (footers, index_footers))
    status = 0
    if rank == mpi.ROOT:
        assert all_footers is not None
        status = _finish_on_root(settings, sources, schema, all_footers, histogram, temp,
                                 time.perf_counter() - start)
    return mpi.broadcast(comm, status)


def _read_share(sources: list[RunSource], settings: PublishSettings,
                comm: mpi.Comm) -> tuple[list[dict[str, np.ndarray]], str | None]:
    """This rank's share of every run's pieces, as per-code column arrays (one dict per run)."""
    work = [(k, piece) for k, source in enumerate(sources) for piece in source.pieces]
    mine = assign_pieces([piece.rows for _, piece in work], comm.Get_size())[comm.Get_rank()]
    per_run: list[list[dict[str, np.ndarray]]] = [[] for _ in sources]
    try:
        for index in mine:
            k, piece = work[index]
            per_run[k].append(_piece_columns(sources[k], piece, pdf_levels_of(settings, sources[k].code)))
    except (OSError, KeyError, InputFileError) as error:
        return [], f"cannot read a piece: {error}"
    columns = [_concatenate(chunks) if chunks else _empty_columns(source, pdf_levels_of(settings, source.code))
               for source, chunks in zip(sources, per_run)]
    return columns, None


def _piece_columns(source: RunSource, piece: RunPiece, pdf_levels: int) -> dict[str, np.ndarray]:
    """One piece's rows: keys, carried columns and the code's columns (unprefixed)."""
    chunks = []
    with h5py.File(piece.file, "r") as handle:
        ancil, pdfs = handle["ancil"], handle["data/yvals"]
        rows = pdfs.shape[0]
        for start in range(0, rows, ROWS_PER_READ):
            stop = min(rows, start + ROWS_PER_READ)
            ra = ancil[source.ra_column][start:stop].astype(np.float64)
            dec = ancil[source.dec_column][start:stop].astype(np.float64)
            masks = ancil[NONDETECTED_BANDS][start:stop] if NONDETECTED_BANDS in ancil else np.zeros(stop - start,
                                                                                                     np.uint16)
            chunk = {"objectId": ancil["objectId"][start:stop].astype(np.int64), "coord_ra": ra, "coord_dec": dec,
                     hats_catalog.SPATIAL_INDEX: hats_catalog.spatial_index(ra, dec)}
            chunk.update({name: ancil[name][start:stop] for name in source.carried})
            chunk.update(code_columns(pdfs[start:stop], source.grid, masks, None if source.gaussian else pdf_levels))
            if source.gaussian:
                chunk.update({f"pdf_{name}": trim_mantissa(ancil[name][start:stop].astype(np.float32))
                              for name in GAUSSIAN})
            chunks.append(chunk)
    if not np.isfinite(np.concatenate([c["coord_ra"] for c in chunks] + [c["coord_dec"] for c in chunks])).all():
        raise InputFileError(f"{piece.file}: non-finite coord_ra or coord_dec (from {piece.input_path})")
    return _concatenate(chunks)


def _concatenate(chunks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in chunks[0]}


def _empty_columns(source: RunSource, pdf_levels: int) -> dict[str, np.ndarray]:
    empty = code_columns(np.zeros((0, source.grid.size), np.float32), source.grid, np.zeros(0, np.uint16),
                         None if source.gaussian else pdf_levels)
    if source.gaussian:
        empty.update({f"pdf_{name}": np.zeros(0, np.float32) for name in GAUSSIAN})
    keys = {"objectId": np.zeros(0, np.int64), "coord_ra": np.zeros(0), "coord_dec": np.zeros(0),
            hats_catalog.SPATIAL_INDEX: np.zeros(0, np.int64)}
    return {**keys, **{name: np.zeros(0, np.dtype(dtype)) for name, dtype in source.carried.items()}, **empty}


def _exchange(columns: dict[str, np.ndarray], destinations: np.ndarray, comm: mpi.Comm) -> dict[str, np.ndarray]:
    """Send every row to its destination rank; returns what this rank received, in source-rank order."""
    by_rank = np.argsort(destinations, kind="stable")
    counts = np.bincount(destinations, minlength=comm.Get_size())
    names = list(columns)
    received = mpi.alltoallv_arrays(comm, [np.ascontiguousarray(columns[name][by_rank]) for name in names], counts)
    return dict(zip(names, received))


def _check_and_count(local: list[dict[str, np.ndarray]], sources: list[RunSource], order: int,
                     comm: mpi.Comm) -> tuple[tuple[np.ndarray, np.ndarray], str | None]:
    """Objects per order-``order`` pixel (sparse), after checking every objectId on the rank that owns it.

    Only ids, positions and codes travel. An objectId twice in one run, or at
    another position in another run, is a problem named here: once it passes,
    every row of an object has the same ``_healpix_29``, hence one partition.
    """
    light = {name: np.concatenate([columns[name] for columns in local]) for name in KEY_COLUMNS}
    light["code"] = np.concatenate([np.full(len(columns["objectId"]), k, np.int16) for k, columns in enumerate(local)])
    rows = _exchange(light, owner_ranks(light["objectId"], comm.Get_size()), comm)
    order_of = np.lexsort((rows["code"], rows["objectId"]))
    rows = {name: values[order_of] for name, values in rows.items()}
    same = rows["objectId"][1:] == rows["objectId"][:-1]
    twice = same & (rows["code"][1:] == rows["code"][:-1])
    moved = same & ((rows["coord_ra"][1:] != rows["coord_ra"][:-1]) | (rows["coord_dec"][1:] != rows["coord_dec"][:-1]))
    problem = None
    if twice.any():
        k = int(np.argmax(twice))
        problem = f"{sources[rows['code'][k]].folder}: objectId {int(rows['objectId'][k])} appears more than once " \
                  f"in the run's pieces ({int(twice.sum())} repeats here); publish needs one row per object"
    elif moved.any():
        k = int(np.argmax(moved))
        problem = f"{sources[rows['code'][k + 1]].folder}: objectId {int(rows['objectId'][k])} is at another " \
                  f"position than in {sources[rows['code'][k]].folder} ({int(moved.sum())} objects here): the runs " \
                  f"read different catalogs"
    first = np.ones(rows["objectId"].size, dtype=bool)
    first[1:] = ~same
    pixels, counts = np.unique(rows[hats_catalog.SPATIAL_INDEX][first] >> (2 * (29 - order)), return_counts=True)
    return (pixels, counts), problem


def _join(received: list[dict[str, np.ndarray]], sources: list[RunSource]) -> dict[str, np.ndarray]:
    """The rows of one objectId, one per code, joined into one; a code absent for an object is masked."""
    all_ids = np.unique(np.concatenate([columns["objectId"] for columns in received]))
    joined: dict[str, np.ndarray] = {"objectId": all_ids}
    for source, columns in zip(sources, received):
        at = np.searchsorted(all_ids, columns["objectId"])
        present = np.zeros(all_ids.size, dtype=bool)
        present[at] = True
        joined[f"{source.code}.present"] = present
        for name, values in columns.items():
            if name == "objectId":
                continue
            target = name if name in KEY_COLUMNS or name in source.carried else f"{source.code}_{name}"
            if target not in joined:  # keys and carried columns: the first run that has the object gives them
                joined[target] = np.zeros((all_ids.size, *values.shape[1:]), dtype=values.dtype)
            if target == name:
                first = ~_any_present(joined, sources, source, name, at)
                joined[target][at[first]] = values[first]
                if name not in KEY_COLUMNS:
                    joined.setdefault(f"{name}.present", np.zeros(all_ids.size, dtype=bool))[at] = True
            else:
                joined[target][at] = values
    return joined


def _any_present(joined: dict[str, np.ndarray], sources: list[RunSource], current: RunSource, name: str,
                 at: np.ndarray) -> np.ndarray:
    """For each row of ``current`` at ``at``: whether an earlier run already gave column ``name``."""
    earlier = np.zeros(at.size, dtype=bool)
    for source in sources:
        if source is current:
            break
        if name in KEY_COLUMNS or name in source.carried:
            earlier |= joined[f"{source.code}.present"][at]
    return earlier


def null_masks(sources: list[RunSource]) -> dict[str, str]:
    """For each column that can be null, the joined column that says where it is present."""
    masks = {name: f"{name}.present" for name in carried_columns(sources)}
    for source in sources:
        masks.update({f"{source.code}_{name}": f"{source.code}.present"
                      for name in (*POINT_COLUMNS, "flags", *(name for name, _ in pdf_fields(source)))})
    return masks


def _partition_plan(parts: list[tuple[np.ndarray, np.ndarray]], settings: PublishSettings,
                    size: int) -> tuple[tuple[hats_catalog.PixelRanges, np.ndarray], np.ndarray]:
    """On the root: the partition pixels with their owners, and the row histogram (for the skymaps)."""
    histogram = np.zeros(12 * 4 ** settings.order, dtype=np.int64)
    for pixels, counts in parts:
        np.add.at(histogram, pixels, counts)
    if settings.like:
        pixels = hats_catalog.pixels_like(settings.like)
    else:
        if histogram.max(initial=0) > settings.max_rows:
            raise ConfigError(f"an order-{settings.order} pixel holds {int(histogram.max())} objects, more than "
                              f"--max-rows {settings.max_rows}: raise --order or --max-rows")
        pixels = hats_catalog.adaptive_pixels(histogram, settings.order, settings.max_rows)
    ranges = hats_catalog.PixelRanges.of(pixels)
    fine = np.nonzero(histogram)[0].astype(np.int64) << (2 * (29 - settings.order))
    where = ranges.locate(fine)
    rows = np.bincount(where[where >= 0], weights=histogram[np.nonzero(histogram)[0]][where >= 0],
                       minlength=len(ranges)).astype(np.int64)
    owners = np.zeros(len(ranges), dtype=np.int32)
    for rank, indices in enumerate(assign_pieces(rows.tolist(), size)):
        owners[indices] = rank
    return (ranges, owners), histogram


def _write_partitions(rows: dict[str, np.ndarray], ranges: hats_catalog.PixelRanges, owners: np.ndarray,
                      schema: pa.Schema, masks: dict[str, str], catalog_dir: Path,
                      rank: int) -> tuple[dict, dict[str, np.ndarray]]:
    """Write this rank's partition files; returns their footers and the index rows (objectId, Norder, Npix)."""
    where = ranges.locate(rows[hats_catalog.SPATIAL_INDEX])
    order = np.argsort(where, kind="stable")
    where_sorted = where[order]
    footers = {}
    index_parts = []
    for k in np.nonzero(owners == rank)[0]:
        lo, hi = np.searchsorted(where_sorted, [k, k + 1])
        if lo == hi:
            continue
        take = order[lo:hi]
        table = _arrow_table({name: values[take] for name, values in rows.items()}, schema, masks)
        norder, npix = int(ranges.orders[k]), int(ranges.pixels[k])
        footers[norder, npix] = hats_catalog.write_table_file(hats_catalog.pixel_file(catalog_dir, norder, npix),
                                                              table, hats_catalog.SORT_COLUMNS)
        index_parts.append({"objectId": rows["objectId"][take], "Norder": np.full(take.size, norder, np.uint8),
                            "Npix": np.full(take.size, npix, np.uint64)})
    if not index_parts:
        index_parts.append({"objectId": np.zeros(0, np.int64), "Norder": np.zeros(0, np.uint8),
                            "Npix": np.zeros(0, np.uint64)})
    return footers, _concatenate(index_parts)


def _arrow_table(columns: dict[str, np.ndarray], schema: pa.Schema, masks: dict[str, str]) -> pa.Table:
    """The rows of one partition in the catalog's schema; a code or carried column absent for a row is null."""
    arrays = []
    for field in schema:
        values = columns[field.name]
        present = columns[masks[field.name]] if field.name in masks else None
        mask = None if present is None or present.all() else ~present
        if pa.types.is_fixed_size_list(field.type):
            flat = pa.array(values.reshape(-1), type=field.type.value_type)
            arrays.append(pa.FixedSizeListArray.from_arrays(flat, field.type.list_size,
                                                            mask=None if mask is None else pa.array(mask)))
        else:
            arrays.append(pa.array(values, type=field.type, mask=mask))
    return pa.Table.from_arrays(arrays, schema=schema)


def _write_index(rows: dict[str, np.ndarray], index_dir: Path, comm: mpi.Comm) -> dict[int, Any]:
    """The objectId index's parts: equal objectId ranges, each written by one rank, sorted by objectId."""
    ids = rows["objectId"]
    bounds = mpi.all_gather(comm, (int(ids.min()) if ids.size else None, int(ids.max()) if ids.size else None,
                                   int(ids.size)))
    lows = [b[0] for b in bounds if b[0] is not None]
    highs = [b[1] for b in bounds if b[1] is not None]
    total = sum(b[2] for b in bounds)
    if not total:
        return {}
    parts = max(1, math.ceil(total / hats_catalog.INDEX_ROWS_PER_PART))
    part = hats_catalog.index_part_of(ids, min(lows), max(highs), parts)
    mine = _exchange({**rows, "part": part}, (part % comm.Get_size()).astype(np.int32), comm)
    footers = {}
    schema = hats_catalog.index_schema()
    for k in np.unique(mine["part"]):
        take = mine["part"] == k
        table = pa.Table.from_arrays([pa.array(mine[name][take], type=schema.field(name).type)
                                      for name in hats_catalog.INDEX_COLUMNS], schema=schema)
        footers[int(k)] = hats_catalog.write_table_file(hats_catalog.index_part_file(index_dir, int(k)), table,
                                                        ["objectId"])
    return footers


def _finish_on_root(settings: PublishSettings, sources: list[RunSource], schema: pa.Schema,
                    all_footers: list[tuple[dict, dict]], histogram: np.ndarray, temp: Path, elapsed: float) -> int:
    footers = {pixel: footer for rank_footers, _ in all_footers for pixel, footer in rank_footers.items()}
    index_footers = {part: footer for _, rank_index in all_footers for part, footer in rank_index.items()}
    builder = f"pzmpi {package_versions().get('pzmpi', '')}"
    properties = {"pzmpi_codes": " ".join(source.code for source in sources)}
    for source in sources:
        properties[f"pzmpi_{source.code}_bands"] = " ".join(source.bands)
        properties[f"pzmpi_{source.code}_grid"] = f"{source.grid[0]} {source.grid[-1]} {source.grid.size}"
        properties[f"pzmpi_{source.code}_pdf"] = "norm loc scale" if source.gaussian else \
            f"packed_interp linear_from_rowmax {pdf_levels_of(settings, source.code)} levels"
    catalog_dir, index_dir = temp / settings.name, temp / f"{settings.name}_objectId_index"
    rows = hats_catalog.finish_catalog(catalog_dir, settings.name, schema, footers, histogram,
                                       settings.order, settings.max_rows, builder, properties)
    hats_catalog.finish_index(index_dir, settings.name, index_footers, builder)
    hats_catalog.finish_collection(temp, settings.name)
    if not hats_catalog.is_valid_collection(temp):
        raise RuntimeError(f"{temp}: the hats library does not validate the catalog pzmpi wrote")
    hats_catalog.replace_folder(temp, settings.out)
    if settings.release is not None:
        metadata = settings.out / settings.name / "dataset" / "_metadata"
        entry = {"folder": str(settings.out.absolute()), "name": settings.name, "rows": rows,
                 "codes": [source.code for source in sources], "runs": [str(s.folder.absolute()) for s in sources],
                 "partitions": len(footers), "metadata_sha256": sha256_of_file(metadata)}
        settings.release.log(settings.command, {"table": entry["folder"], "rows": rows, "codes": entry["codes"]},
                             section="tables", entry=entry, replacing="folder")
    log.info("published %s objects of %s in %d partitions: %s (%.1f s)", f"{rows:,}",
             ", ".join(source.code for source in sources), len(footers), settings.out, elapsed)
    print(f"pzmpi: published {rows:,} objects of {', '.join(s.code for s in sources)} in {len(footers)} "
          f"partitions, {settings.out} ({elapsed:.1f} s)")
    return 0
