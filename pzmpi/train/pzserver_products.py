"""The products LIneA's PZ Server registers, made from pzmpi's outputs: a folder per product (docs/pzserver.md).

A product is a main file, auxiliary files and metadata: its type, name,
release, photo-z code, description, and the association of the main file's
columns with the server's roles (id, ra, dec, z, z_err, z_flag, survey).
``export`` copies the files into a folder with ``pzserver.json`` beside them;
``check_product`` opens that folder as the server's registry does (pandas on
the main table) and names any column or rule it would refuse. Three kinds:

* ``training_set``: a training-set folder (``pzmpi training-set``): the
  training table, with the test table, QA report and configuration beside it;
* ``validation_results``: a run of ``pzmpi evaluate``: one code's per-object
  table, with the validation report beside it;
* ``photoz_estimates``: a finished run. Its table is far over the server's
  upload limit (200 MB), so the product is its metadata only, as the server's
  own description of the type asks: a JSON that says where the table is, how
  many rows, which columns and how to read them, and the results report.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pzmpi.core.checksum import sha256_of_file
from pzmpi.core.errors import ConfigError
from pzmpi.core.files import write_text_atomically
from pzmpi.core.versions import package_versions
from pzmpi.estimators.config import load_run_config
from pzmpi.io.run_folder import RunPaths, finished_pieces

PRODUCT_FILE = "pzserver.json"
KINDS = ("training_set", "validation_results", "photoz_estimates")
ROLES = ("id", "ra", "dec", "z", "z_err", "z_flag", "survey")  # the server's column roles (pzserver's vocabulary)
REQUIRED_ROLES = {"training_set": ("z",)}  # the server refuses to publish without them (HTTP 406)
NO_PZ_CODE = ("training_set",)  # the server refuses a pz_code for these (HTTP 400)
TABULAR_SUFFIXES = (".parquet", ".pq", ".csv")
TRAINING_SET_COLUMNS = {"objectId": "id", "coord_ra": "ra", "coord_dec": "dec", "redshift": "z",
                        "redshift_err": "z_err", "z_flag": "z_flag", "survey": "survey"}


@dataclass(frozen=True)
class Product:
    """What the server registers: the metadata, and file names relative to the product's folder."""

    product_type: str
    name: str
    release: str | None
    pz_code: str | None
    description: str
    main_file: str
    auxiliary_files: list[str]
    columns: dict[str, str] = field(default_factory=dict)  # main-file column -> role


@dataclass(frozen=True)
class Export:
    """A product before it is written: its metadata and where each of its files comes from."""

    product: Product
    sources: dict[str, Path]  # file name in the product folder -> file to copy
    generated: dict[str, str] = field(default_factory=dict)  # file name -> text written for the product


def training_set_export(folder: Path, name: str | None, release: str | None, description: str | None) -> Export:
    """A training_set product from a ``pzmpi training-set`` output folder."""
    document = _json(folder / "training_set.json")
    counts, settings = document["counts"], document["settings"]
    surveys = ", ".join(f"{survey} ({entry['in_tables']:,})" for survey, entry in document["surveys"].items())
    text = description or (
        f"{counts['training']:,} objects with a spectroscopic redshift (training part of {counts['objects']:,}; "
        f"the test part is test.parquet), matched within {settings['radius_arcsec']} arcsec, nearest object per "
        f"spectrum, one spectrum per object (best flag, then nearest). Surveys: {surveys}. Split: "
        f"train_fraction {settings['train_fraction']}, seed {settings['seed']}. QA report: training_set.html. "
        f"Made by pzmpi {package_versions().get('pzmpi', '')}.")
    files = {"training.parquet": folder / "training.parquet", "test.parquet": folder / "test.parquet",
             "training_set.json": folder / "training_set.json", "training_set.html": folder / "training_set.html",
             "config.toml": folder / "config.toml"}
    product = Product("training_set", name or settings.get("name") or folder.name,
                      _release(release, document["photometry"].get("release")), None, text, "training.parquet",
                      [n for n in files if n != "training.parquet"], dict(TRAINING_SET_COLUMNS))
    return Export(product, files)


def validation_export(folder: Path, run_name: str | None, name: str | None, release: str | None,
                      description: str | None) -> Export:
    """A validation_results product from a ``pzmpi evaluate`` output folder: one code's results."""
    document = _json(folder / "validation.json")
    runs = {run["name"]: run for run in document["runs"]}
    if run_name is None and len(runs) != 1:
        raise ConfigError(f"{folder / 'validation.json'} validates {len(runs)} runs ({', '.join(runs)}): "
                          "choose one with --run")
    run = runs.get(run_name) if run_name else next(iter(runs.values()))
    if run is None:
        raise ConfigError(f"{folder / 'validation.json'} has no run named {run_name!r} ({', '.join(runs)})")
    metrics = run["metrics"]
    text = description or (
        f"Validation of {run['estimator']} ({run['implementation']}) on {run['objects']:,} objects with known "
        f"redshifts: bias {metrics['bias']:.4g}, sigma_NMAD {metrics['sigma_nmad']:.4g}, outlier rate "
        f"{metrics['outlier_rate']:.4g}, CDE loss {metrics['cde_loss']:.4g}. Per-object values in the main file "
        f"(PIT, CDE and Brier terms); every metric, per magnitude bin too, in validation.json; plots in "
        f"validation.html. Made by pzmpi {package_versions().get('pzmpi', '')}.")
    files = {run["objects_file"]: folder / run["objects_file"], "validation.json": folder / "validation.json",
             "validation.html": folder / "validation.html"}
    product = Product("validation_results", name or f"{run['name']} validation", _release(release, None),
                      run["estimator"], text, run["objects_file"], ["validation.json", "validation.html"],
                      {"objectId": "id", "z_true": "z"})
    return Export(product, files)


def photoz_estimates_export(run_dir: Path, name: str | None, release: str | None, description: str | None
                            ) -> Export:
    """A photoz_estimates product of a finished run: metadata only (the table stays where it is)."""
    paths = RunPaths(run_dir)
    record = _json(paths.run_record)
    results = run_dir / "report" / "results.json"
    if not results.is_file():
        raise ConfigError(f"{run_dir}: no report/results.json: run 'pzmpi report {run_dir}' first")
    pieces = finished_pieces(run_dir)
    config = load_run_config(run_dir)
    rows = sum(piece.rows for piece in pieces)
    pointer = {
        "what": "photo-z estimates made by pzmpi; the table is not uploaded (it is far over the PZ Server's "
                "upload limit): it stays in run_folder",
        "run_folder": str(run_dir.absolute()), "estimator": record["estimator"],
        "implementation": record["implementation"], "rows": rows, "rows_planned": record["rows"],
        "model_sha256": record["model_sha256"], "config_sha256": record["config_sha256"],
        "inputs": record["inputs"], "unreadable_inputs": record["unreadable_inputs"],
        "grid": {"zmin": config.estimator.zmin, "zmax": config.estimator.zmax, "nzbins": config.estimator.nzbins},
        "point_estimates": config.output.point_estimates,
        "files": [{"name": f"pieces/{piece.file.name}", "rows": piece.rows, "bytes": piece.file.stat().st_size,
                   "input_file": piece.input_path, "input_rows": [piece.row_start, piece.row_stop]}
                  for piece in pieces],
        "how_to_read": "each piece is an HDF5 file in qp's layout (qp.read(path)): meta/xvals the redshift grid, "
                       "data/yvals the PDFs, ancil/objectId the Object table's id, ancil/<estimate> the point "
                       "estimates; index.hdf5 joins every piece as one table (docs/output.md)",
        "columns": {"objectId": "id", "zmode": "z"},
        "versions": record["versions"],
    }
    text = description or (
        f"Photo-z PDFs and point estimates of {rows:,} objects by {record['estimator']} "
        f"({record['implementation']}), keyed by objectId. Metadata only: photoz_estimates.json says where the "
        f"table is and how to read it; results.html is its results report. Made by pzmpi "
        f"{record['versions'].get('pzmpi', '')}.")
    files = {"results.json": results, "results.html": results.with_suffix(".html"), "run.json": paths.run_record,
             "config.toml": paths.config}
    product = Product("photoz_estimates", name or f"{record['estimator']} photo-z", _release(release, None),
                      record["estimator"], text, "photoz_estimates.json", list(files))
    return Export(product, files, {"photoz_estimates.json": json.dumps(pointer, indent=1)})


def write_export(export: Export, out: Path) -> Path:
    """Copy the product's files into ``out`` and write its ``pzserver.json`` (with each file's checksum)."""
    missing = [str(path) for path in export.sources.values() if not path.is_file()]
    if missing:
        raise ConfigError(f"cannot export the {export.product.product_type} product: missing {', '.join(missing)}")
    out.mkdir(parents=True, exist_ok=True)
    for file_name, source in export.sources.items():
        shutil.copyfile(source, out / file_name)
    for file_name, text in export.generated.items():
        write_text_atomically(out / file_name, text)
    names = [export.product.main_file, *export.product.auxiliary_files]
    metadata = {**asdict(export.product), "sha256": {n: sha256_of_file(out / n) for n in names}}
    write_text_atomically(out / PRODUCT_FILE, json.dumps(metadata, indent=1))
    return out


def read_product(folder: Path) -> Product:
    """The product a folder holds (``pzserver.json``), after ``check_product``."""
    check_product(folder)
    metadata = _json(folder / PRODUCT_FILE)
    return Product(**{key: metadata[key] for key in Product.__dataclass_fields__})


def check_product(folder: Path) -> None:
    """A ConfigError naming every file, column and rule the PZ Server would refuse in this product."""
    metadata = _json(folder / PRODUCT_FILE)
    problems = []
    kind = metadata.get("product_type")
    if kind not in KINDS:
        problems.append(f"product_type {kind!r} is not one of {', '.join(KINDS)}")
    if kind in NO_PZ_CODE and metadata.get("pz_code"):
        problems.append(f"a {kind} product has no pz_code")
    names = [metadata["main_file"], *metadata["auxiliary_files"]]
    for name in names:
        path = folder / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif metadata.get("sha256", {}).get(name) not in (None, sha256_of_file(path)):
            problems.append(f"{path} changed since it was exported (checksum)")
    columns = metadata.get("columns", {})
    bad_roles = sorted(set(columns.values()) - set(ROLES))
    if bad_roles:
        problems.append(f"roles {bad_roles} are not the server's ({', '.join(ROLES)})")
    missing_roles = [role for role in REQUIRED_ROLES.get(kind, ()) if role not in columns.values()]
    if missing_roles:
        problems.append(f"a {kind} needs a column associated with {', '.join(missing_roles)}")
    main = folder / metadata["main_file"]
    if columns and main.is_file():
        present = _table_columns(main)
        absent = [column for column in columns if column not in present]
        if absent:
            problems.append(f"{main} has no column(s) {', '.join(absent)} (it has {', '.join(present)})")
    if problems:
        raise ConfigError(f"{folder / PRODUCT_FILE}: " + "; ".join(problems))


def _table_columns(path: Path) -> list[str]:
    """The columns of a main table, read with pandas as the server's registry reads it."""
    import pandas as pd

    if path.suffix.lower() not in TABULAR_SUFFIXES:
        raise ConfigError(f"{path}: columns are associated, but it is not a parquet or CSV table")
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() != ".csv" else pd.read_csv(path, nrows=10)
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: pandas cannot read it: {error}") from None
    return [str(column) for column in frame.columns]


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path} is missing: not the output this product is made from")
    return json.loads(path.read_text())


def _release(chosen: str | None, default: str | None) -> str | None:
    """The release named on the command line ('' for none), else the default."""
    if chosen is not None:
        return chosen or None
    return default
