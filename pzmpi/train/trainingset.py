"""``pzmpi training-set``: spectroscopic catalogs matched on the sky with a release's photometry, under MPI.

The data flow (docs/training_set.md):

* the root reads the spectra and applies the cuts; each spectrum goes to the
  ranks that own its HEALPix pixel and the 8 around it (pixels are owned by a
  hash of their number);
* every rank reads its share of the photometry files, keeps the rows that fall
  in a pixel holding or bordering a spectrum, and sends each to the owner of
  its pixel: the exchange is by pixel, and the bulk of the catalog never moves;
  it also counts magnitudes and colours of every row, for the QA report;
* each rank matches its spectra with its objects (``crossmatch``), the two
  nearest within the radius; the candidates and their objects' rows go to the
  root, which keeps each spectrum's nearest, then one spectrum per object
  (the policy), splits the objects in two from their ids and the seed, and
  writes ``training.parquet``, ``test.parquet``, ``matches.parquet`` and the QA
  report, and registers the set in the release record.

Every step's result depends only on the inputs and the configuration: the
tables are the same bytes whatever the number of ranks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.core import mpi
from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.errors import ConfigError, InputFileError
from pzmpi.core.files import write_bytes_atomically, write_text_atomically
from pzmpi.core.release import Release, latest_skinny_files, releases_root
from pzmpi.core.sharding import assign_pieces, owner_ranks
from pzmpi.io.catalog import CatalogFile, list_input_files
from pzmpi.photometry.bands import ZP_NJY
from pzmpi.train import crossmatch, trainingset_report
from pzmpi.train.spectra import Spectra, read_spectra
from pzmpi.train.trainingset_config import TrainingSetConfig
from pzmpi.train.trainingset_report import COLOUR_EDGES, MAGNITUDE_EDGES

EXIT_OK = 0
EXIT_SOME_INPUTS_FAILED = 3
TABLES = ("training.parquet", "test.parquet")
OWN_COLUMNS = ("redshift", "redshift_err", "z_flag", "survey", "separation_arcsec", "spectrum")  # the tables' own


@dataclass(frozen=True)
class Photometry:
    """The photometry: its files and rows, the columns read, where it comes from."""

    files: list[str]
    rows: list[int]
    id_column: str
    ra_column: str
    dec_column: str
    carried: list[str]
    magnitudes: list[str]  # the QA report's magnitude columns, or flux columns when ``from_flux``
    from_flux: bool
    bands: list[str]
    release: str | None
    dtypes: dict[str, np.dtype]

    def magnitude(self, values: np.ndarray) -> np.ndarray:
        """AB magnitudes from one of the ``magnitudes`` columns (NaN where a flux is not positive)."""
        values = np.asarray(values, dtype=np.float64)
        if not self.from_flux:
            return values
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(values > 0, ZP_NJY - 2.5 * np.log10(values), np.nan)


def photometry_source(config: TrainingSetConfig) -> Photometry:
    """The files to match against (a release's latest skinny table, or paths), checked before any work."""
    settings = config.photometry
    release_name = settings["release"] or None
    if release_name:
        release = Release.open(releases_root(settings["releases"] or None), release_name)
        try:
            files = latest_skinny_files(release)
        except ConfigError as error:
            raise ConfigError(f"{config.source}: {error}") from None
    else:
        files = list_input_files(settings["paths"])
    rows = []
    for path in files:
        try:
            rows.append(pq.read_metadata(path).num_rows)
        except Exception as error:  # pyarrow raises several types for a damaged footer
            raise ConfigError(f"{config.source}: photometry file {path} is unreadable: {error}") from None
    if not files:
        raise ConfigError(f"{config.source}: no photometry file to match with")
    arrow_schema = pq.read_schema(files[0])
    schema = arrow_schema.names
    position = [settings["id_column"], settings["ra_column"], settings["dec_column"]]
    carried = settings["columns"] or [name for name in schema if name not in position]
    clashing = [name for name in carried if name in OWN_COLUMNS]
    if clashing:
        raise ConfigError(f"{config.source}: photometry column(s) {', '.join(clashing)} of {files[0]} would clash "
                          f"with the training set's own: list the columns to carry in 'photometry.columns'")
    template = settings["flux_column"] or settings["magnitude_column"]
    magnitudes = [template.format(band=band) for band in settings["bands"]] if template else []
    missing = [name for name in position + carried + magnitudes if name not in schema]
    if missing:
        raise ConfigError(f"{config.source}: photometry file {files[0]} has no column(s) {', '.join(missing)}")
    dtypes = {}
    for name in dict.fromkeys(position + carried + magnitudes):
        kind = arrow_schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
            raise ConfigError(f"{config.source}: photometry column {name} of {files[0]} has type {kind}: "
                              "only numbers are carried")
        dtypes[name] = np.dtype(kind.to_pandas_dtype())
    return Photometry(files, rows, *position, carried=carried, magnitudes=magnitudes,
                      from_flux=bool(settings["flux_column"]), bands=list(settings["bands"]), release=release_name,
                      dtypes=dtypes)


def spectra_for_ranks(spectra: Spectra, order: int, size: int) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:
    """Each rank's spectra (those whose pixel or a neighbour it owns), and every such pixel."""
    index, pixels = crossmatch.pixels_around(order, spectra.ra, spectra.dec)
    owners = owner_ranks(pixels, size)
    shares = []
    for rank in range(size):
        rows = np.unique(index[owners == rank])
        shares.append(spectra.take(rows))
    return shares, np.unique(pixels)


class PhotometryPass:
    """A rank's reading of its photometry files: rows near spectra kept, every row counted for the QA report."""

    def __init__(self, source: Photometry, order: int, wanted_pixels: np.ndarray) -> None:
        self.source = source
        self.order = order
        self.wanted = wanted_pixels
        self.kept: dict[str, list[np.ndarray]] = {name: [] for name in self.columns}
        self.kept["pixel"] = []
        self.magnitudes = np.zeros((len(source.magnitudes), MAGNITUDE_EDGES.size - 1), dtype=np.int64)
        self.colours = np.zeros((max(len(source.magnitudes) - 1, 0), COLOUR_EDGES.size - 1), dtype=np.int64)
        self.rows = 0

    @property
    def columns(self) -> list[str]:
        source = self.source
        return list(dict.fromkeys([source.id_column, source.ra_column, source.dec_column, *source.carried,
                                   *source.magnitudes]))

    def read(self, path: str, rows_per_chunk: int) -> None:
        with CatalogFile(path, self.columns) as catalog:
            for chunk in catalog.iter_rows(0, catalog.num_rows, rows_per_chunk):
                self._add(chunk)

    def _add(self, chunk: dict[str, np.ndarray]) -> None:
        source = self.source
        ra = np.asarray(chunk[source.ra_column], dtype=np.float64)
        dec = np.asarray(chunk[source.dec_column], dtype=np.float64)
        self.rows += ra.size
        mags = [source.magnitude(chunk[name]) for name in source.magnitudes]
        for b, mag in enumerate(mags):
            self.magnitudes[b] += np.histogram(mag, MAGNITUDE_EDGES)[0]
        for b in range(len(mags) - 1):
            self.colours[b] += np.histogram(mags[b] - mags[b + 1], COLOUR_EDGES)[0]
        valid = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90.0)
        pixels = np.full(ra.size, -1, dtype=np.int64)
        pixels[valid] = crossmatch.pixels_of(self.order, ra[valid], dec[valid])
        position = np.clip(np.searchsorted(self.wanted, pixels), 0, max(self.wanted.size - 1, 0))
        near = valid & (self.wanted.size > 0) & (self.wanted[position] == pixels)
        for name in self.columns:
            self.kept[name].append(np.asarray(chunk[name], dtype=source.dtypes[name])[near])
        self.kept["pixel"].append(pixels[near])

    def table(self) -> dict[str, np.ndarray]:
        """The rows kept, in the schema's types (a rank that kept none sends empty arrays of the same types)."""
        dtypes = {**self.source.dtypes, "pixel": np.dtype(np.int64)}
        return {name: np.concatenate(parts) if parts else np.empty(0, dtype=dtypes[name])
                for name, parts in self.kept.items()}


def exchange_by_pixel(comm: mpi.Comm, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Collective: every row to the rank that owns its pixel."""
    owners = owner_ranks(rows["pixel"], comm.Get_size())
    order = np.argsort(owners, kind="stable")
    counts = np.bincount(owners, minlength=comm.Get_size())
    names = list(rows)
    received = mpi.alltoallv_arrays(comm, [np.ascontiguousarray(rows[name][order]) for name in names], counts)
    return dict(zip(names, received))


def match_on_rank(spectra: dict[str, np.ndarray], objects: dict[str, np.ndarray], source: Photometry,
                  radius_arcsec: float) -> dict[str, Any]:
    """This rank's candidates (two nearest objects within the radius of each spectrum) and their objects' rows."""
    chord = crossmatch.chord_of(radius_arcsec)
    spectrum_rows, object_rows, chords = crossmatch.nearest_within(
        crossmatch.unit_vectors(objects[source.ra_column], objects[source.dec_column]),
        crossmatch.unit_vectors(spectra["ra"], spectra["dec"]), chord)
    used = np.unique(object_rows)
    local = np.searchsorted(used, object_rows)
    return {"spectrum": spectra["key"][spectrum_rows],
            "object_id": np.asarray(objects[source.id_column][object_rows], dtype=np.int64),
            "separation": crossmatch.arcsec_of(chords), "object_row": local,
            "objects": {name: values[used] for name, values in objects.items() if name != "pixel"}}


def run(config: TrainingSetConfig, comm: mpi.Comm, command: str) -> int:
    """Collective: make the training set; returns the exit status on every rank."""
    start = time.perf_counter()
    rank, size = comm.Get_rank(), comm.Get_size()

    on_root_only: dict[str, Any] = {}  # the spectra and the ranks' shares of them: never sent whole to every rank

    def on_root() -> tuple[Photometry, np.ndarray]:
        if config.radius_arcsec > crossmatch.largest_radius_arcsec(config.healpix_order):
            raise ConfigError(f"{config.source}: 'match.radius_arcsec' = {config.radius_arcsec} is too large for "
                              f"'match.healpix_order' = {config.healpix_order}: use a lower order")
        source = photometry_source(config)
        spectra, survey_counts = read_spectra(config.spectra)
        shares, pixels = spectra_for_ranks(spectra, config.healpix_order, size)
        on_root_only.update(spectra=spectra, survey_counts=survey_counts, shares=shares)
        return source, pixels

    source, wanted = mpi.broadcast_from_root(comm, on_root)
    mine = mpi.scatter_from_root(comm, on_root_only.get("shares"))
    reading = PhotometryPass(source, config.healpix_order, wanted)
    failures = []
    for index in assign_pieces(source.rows, size)[rank]:
        try:
            reading.read(source.files[index], config.rows_per_chunk)
        except InputFileError as error:
            failures.append(str(error))
    objects = exchange_by_pixel(comm, reading.table())
    candidates = match_on_rank(mine, objects, source, config.radius_arcsec)
    gathered = mpi.gather_to_root(comm, (candidates, failures, reading.rows))
    magnitudes = mpi.reduce_sum_to_root(comm, reading.magnitudes)
    colours = mpi.reduce_sum_to_root(comm, reading.colours)
    status = EXIT_OK
    if rank == mpi.ROOT:
        assert gathered is not None
        every_failure = sorted(f for _, part, _ in gathered for f in part)
        spectra, survey_counts = on_root_only["spectra"], on_root_only["survey_counts"]
        result = resolve(config, source, spectra, [c for c, _, _ in gathered])
        whole = {"rows": sum(rows for _, _, rows in gathered), "magnitudes": magnitudes, "colours": colours}
        paths = write_tables(config, result)
        document = trainingset_report.build(config, source, spectra, survey_counts, result, whole, every_failure)
        _, html_path = trainingset_report.write(config, document)
        if source.release:
            register(config, source, paths, document, command)
        print(trainingset_report.summary_lines(document, html_path, time.perf_counter() - start), flush=True)
        status = EXIT_SOME_INPUTS_FAILED if every_failure else EXIT_OK
    return mpi.broadcast(comm, status)


def resolve(config: TrainingSetConfig, source: Photometry, spectra: Spectra, parts: list[dict[str, Any]]
            ) -> dict[str, Any]:
    """Each spectrum's nearest object, then one spectrum per object; the rows of both tables, by objectId."""
    offsets = np.cumsum([0] + [part["objects"][source.id_column].size for part in parts])
    candidates = crossmatch.Candidates(
        spectrum=np.concatenate([p["spectrum"] for p in parts]), object_id=np.concatenate([p["object_id"] for p in parts]),
        separation=np.concatenate([p["separation"] for p in parts]),
        row=np.concatenate([p["object_row"] + offset for p, offset in zip(parts, offsets)]))
    objects = {name: np.concatenate([p["objects"][name] for p in parts]) for name in parts[0]["objects"]}
    nearest, several_objects = crossmatch.nearest_per_spectrum(candidates)
    where = np.searchsorted(spectra.key, candidates.spectrum[nearest])
    pairs = {"spectrum": candidates.spectrum[nearest], "object_id": candidates.object_id[nearest],
             "separation": candidates.separation[nearest], "row": candidates.row[nearest], "spectra_row": where}
    kept, policy = crossmatch.one_spectrum_per_object(pairs["object_id"], spectra.flag[where], pairs["separation"],
                                                      pairs["spectrum"], config.spectra["flag_lower_is_better"])
    kept = kept[np.argsort(pairs["object_id"][kept], kind="stable")]
    rows, spectra_rows = pairs["row"][kept], pairs["spectra_row"][kept]
    table = {"objectId": pairs["object_id"][kept],
             "coord_ra": np.asarray(objects[source.ra_column][rows], dtype=np.float64),
             "coord_dec": np.asarray(objects[source.dec_column][rows], dtype=np.float64)}
    for name in source.carried:
        table[name] = objects[name][rows]
    table.update(redshift=spectra.redshift[spectra_rows], redshift_err=spectra.redshift_error[spectra_rows],
                 z_flag=spectra.flag[spectra_rows],
                 survey=np.array([spectra.surveys[code] for code in spectra.survey[spectra_rows]], dtype=object),
                 separation_arcsec=pairs["separation"][kept], spectrum=pairs["spectrum"][kept])
    training = crossmatch.training_mask(table["objectId"], config.seed, config.train_fraction)
    return {"table": table, "training": training, "pairs": pairs, "several_objects": several_objects,
            "policy": policy, "magnitudes": [source.magnitude(objects[name][rows]) for name in source.magnitudes]}


def _parquet(columns: dict[str, np.ndarray], selection: np.ndarray | None = None) -> pa.Buffer:
    table = pa.table({name: (values if selection is None else values[selection]) for name, values in columns.items()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue()


def write_tables(config: TrainingSetConfig, result: dict[str, Any]) -> dict[str, Path]:
    """training.parquet, test.parquet (by objectId) and matches.parquet (every spectrum's nearest object)."""
    folder = Path(config.folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"training": folder / TABLES[0], "test": folder / TABLES[1], "matches": folder / "matches.parquet"}
    table, training = result["table"], result["training"]
    write_bytes_atomically(paths["training"], _parquet(table, training))
    write_bytes_atomically(paths["test"], _parquet(table, ~training))
    pairs = result["pairs"]
    order = np.argsort(pairs["spectrum"], kind="stable")
    write_bytes_atomically(paths["matches"], _parquet({"spectrum": pairs["spectrum"][order],
                                                       "objectId": pairs["object_id"][order],
                                                       "separation_arcsec": pairs["separation"][order]}))
    write_text_atomically(folder / "config.toml", config.text)
    return paths


def register(config: TrainingSetConfig, source: Photometry, paths: dict[str, Path], document: dict[str, Any],
             command: str) -> None:
    """The training set in its release's record: its files with checksums, its configuration, its counts."""
    release = Release.open(releases_root(config.photometry["releases"] or None), source.release)
    files = [{"role": role, "name": str(path), "sha256": sha256_of_file(path)} for role, path in paths.items()]
    counts = document["counts"]
    entry = {"name": config.name, "folder": config.folder, "files": files, "config": config.text,
             "training_rows": counts["training"], "test_rows": counts["test"], "seed": config.seed}
    release.log(command, {"training_set": config.name, "training": counts["training"], "test": counts["test"]},
                section="training_sets", entry=entry, replacing="name")

