"""``pzmpi report RUN_DIR``: the results report of a run, from what the run accumulated (no second read of PDFs).

It holds the run's provenance (configuration, model and its checksum, what the
model was trained on, BPZ's priors and templates, the Stage I release the
inputs come from), global counts, the stacked N(z) globally and per
tomographic bin, histograms of every point estimate and of the 68% width, the
estimator's own diagnostics and the sky density: ``results.json`` with every
number, ``results.html`` with the plots. The JSON depends only on the run's
inputs and configuration, never on the number of ranks or on a resume; what
does (ranks, wall time) is shown in the HTML from ``profile.json``, apart.

With ``summary.tomography = "equal_count"``, the bins are chosen here, from the
counts per cell of the point estimate, and each object's bin is written to
``RUN_DIR/tomography.parquet`` beside its objectId (a pass over the point
estimates, not the PDFs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import hpgeom
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.compute.summary import DIAGNOSTICS, TOMOGRAPHIC_BIN, WIDTH_BINS, read_run_summary, tomographic_bins
from pzmpi.core.errors import ConfigError
from pzmpi.core.files import write_bytes_atomically
from pzmpi.core.release import release_of_manifest, skinny_manifest_of
from pzmpi.core.reports import escape, finite_or_none, image, page, table, value, write_report
from pzmpi.estimators.config import Config, load_run_config
from pzmpi.estimators.model_info import describe_model
from pzmpi.io.run_folder import RunPaths, finished_pieces

FORMAT = 1
TOMOGRAPHY_TABLE = "tomography.parquet"


def stage1_provenance(inputs: list[str]) -> dict[str, Any] | None:
    """The release the inputs were made from, when they are a skinny table (a manifest.json beside them)."""
    skinny = skinny_manifest_of(inputs)
    if skinny is None:
        return None
    path, manifest = skinny
    found: dict[str, Any] = {"skinny_manifest": str(path), "skinny_result_key": manifest.get("result_key"),
                             "skinny_rows": manifest.get("rows"), "release": manifest.get("release")}
    release = release_of_manifest(manifest)
    if release is not None:
        verify = release.latest_entry("verify_runs")
        files, rows, _, _ = release.totals()
        found.update(release_created=release.header["created"], catalog_dir=release.header["catalog_dir"],
                     catalog_files=files, catalog_rows=rows,
                     last_verify={"time": verify["time"], "passed": verify["passed"]} if verify else None)
    return found


def nz_statistics(z: np.ndarray, nz: np.ndarray) -> dict[str, Any]:
    """Mean, standard deviation and median of a gridded N(z) (trapezoid weights)."""
    total = np.trapezoid(nz, z)
    if not total > 0:
        return {"mean": None, "std": None, "median": None}
    mean = np.trapezoid(z * nz, z) / total
    std = np.sqrt(max(np.trapezoid((z - mean) ** 2 * nz, z) / total, 0.0))
    cumulative = np.concatenate(([0.0], np.cumsum(0.5 * (nz[1:] + nz[:-1]) * np.diff(z)))) / total
    return {"mean": float(mean), "std": float(std), "median": float(np.interp(0.5, cumulative, z))}


def equal_count_cells(cell_counts: np.ndarray, n_bins: int) -> list[int]:
    """Cell boundaries (indices into the cells, first 0 and last len) that split the counts most evenly.

    Boundary k goes where the cumulative count first reaches k/n of the total;
    a boundary never repeats, so a bin may hold more than its share when one
    cell alone holds more.
    """
    cumulative = np.cumsum(cell_counts)
    total = int(cumulative[-1]) if cumulative.size else 0
    bounds = [0]
    for k in range(1, n_bins):
        cut = int(np.searchsorted(cumulative, k * total / n_bins, side="left")) + 1
        bounds.append(min(max(cut, bounds[-1] + 1), cell_counts.size - (n_bins - k)))
    bounds.append(cell_counts.size)
    return bounds


def _histogram_document(counts: np.ndarray, low: float, high: float) -> dict[str, Any]:
    bins = counts.size - 3
    return {"low": low, "high": high, "bins": bins, "counts": counts[:bins].tolist(), "below": int(counts[bins]),
            "above": int(counts[bins + 1]), "not_finite": int(counts[bins + 2])}


def build_results(run_dir: Path) -> dict[str, Any]:
    """The results document of a finished run (its summary, record, configuration and model)."""
    paths = RunPaths(run_dir)
    record_path, summary_path = paths.run_record, paths.summary
    for required in (record_path, summary_path):
        if not required.is_file():
            raise ConfigError(f"{run_dir}: no {required.name}: not the folder of a finished pzmpi run with "
                              "summary.enabled = true")
    record = json.loads(record_path.read_text())
    config = load_run_config(run_dir)
    attrs, fields = read_run_summary(summary_path)
    grid = attrs["grid"]
    objects = int(fields["objects"][0])
    stacked = fields["pdf_sum"] / objects if objects else np.zeros_like(grid)
    step = float(grid[1] - grid[0])
    low, high = float(grid[0]) - step / 2, float(grid[-1]) + step / 2
    document: dict[str, Any] = {
        "format": FORMAT,
        "run": {key: record[key] for key in ("estimator", "implementation", "result_key", "config_sha256", "inputs",
                                             "unreadable_inputs", "rows", "versions")},
        "configuration": config.text,
        "model": describe_model(config, record["model_sha256"]),
        "stage1": stage1_provenance(record["inputs"]),
        "grid": {"zmin": float(grid[0]), "zmax": float(grid[-1]), "nzbins": int(grid.size)},
        "counts": {"objects": objects, "bad_pdfs": int(fields["bad_pdfs"][0]),
                   "nondetections": dict(zip(attrs["bands"], fields["nondetections"].tolist())),
                   "mass_outside_grid_mean": finite_or_none(fields["mass_outside_sum"][0] / objects) if objects else None,
                   "mass_outside_grid_over_limit": int(fields["mass_outside_over_limit"][0]),
                   "mass_outside_limit": float(attrs["mass_outside_limit"])},
        "nz": {"stacked": stacked.tolist(), **nz_statistics(grid, stacked)},
        "tomography": _tomography(attrs, fields, grid, run_dir, config),
        "point_estimates": {name: _histogram_document(fields[f"point_{name}"], low, high)
                            for name in attrs["point_names"]},
        "width68": _histogram_document(fields["width68"], 0.0, float(grid[-1] - grid[0])),
        "diagnostics": {name: _histogram_document(fields[f"diag_{name}"], *DIAGNOSTICS[name][:2])
                        for name in attrs["diagnostics"]},
        "sky": _sky(attrs, fields),
    }
    assert document["width68"]["bins"] == WIDTH_BINS
    return document


def _tomography(attrs: dict[str, Any], fields: dict[str, np.ndarray], grid: np.ndarray, run_dir: Path,
                config: Config) -> dict[str, Any]:
    step = float(grid[1] - grid[0])
    method, estimate = attrs["tomography"], attrs["tomography_estimate"]
    found: dict[str, Any] = {"method": method, "point_estimate": estimate, "bins": []}
    if method == "equal_count":
        cells = fields["cell_counts"]
        bounds = equal_count_cells(cells[:-1], config.summary.tomographic_bins)
        edges = [float(grid[0] - step / 2 + b * step) for b in bounds]
        counts = [int(cells[a:b].sum()) for a, b in zip(bounds, bounds[1:])]
        stacks = [fields["cell_pdf_sum"][a:b].sum(axis=0) for a, b in zip(bounds, bounds[1:])]
        found.update(edges=edges, unassigned=int(cells[-1]), table=TOMOGRAPHY_TABLE)
        write_tomography_table(run_dir, config, estimate, np.asarray(edges))
    else:
        edges = attrs["edges"].tolist()
        counts = fields["tomo_counts"][:-1].tolist()
        stacks = list(fields["tomo_pdf_sum"])
        found.update(edges=edges, unassigned=int(fields["tomo_counts"][-1]))
    for index, (count, stack) in enumerate(zip(counts, stacks)):
        nz = stack / count if count else np.zeros_like(grid)
        found["bins"].append({"index": index, "z_low": edges[index], "z_high": edges[index + 1], "objects": count,
                              "nz": nz.tolist(), **nz_statistics(grid, nz)})
    return found


def write_tomography_table(run_dir: Path, config: Config, estimate: str, edges: np.ndarray) -> None:
    """``tomography.parquet``: each object's equal-count bin, from the point estimates the pieces keep."""
    if estimate not in config.output.point_estimates:
        raise ConfigError(f"'summary.point_estimate' = {estimate!r} is not among 'output.point_estimates': the "
                          "equal-count bins of each object cannot be written")
    ids, bins = [], []
    for piece in finished_pieces(run_dir):
        with h5py.File(piece.file, "r") as handle:
            ids.append(handle["ancil/objectId"][()])
            bins.append(tomographic_bins(handle[f"ancil/{estimate}"][()], edges))
    table_ = pa.table({"objectId": np.concatenate(ids) if ids else np.empty(0, np.int64),
                       TOMOGRAPHIC_BIN: np.concatenate(bins) if bins else np.empty(0, np.int16)})
    sink = pa.BufferOutputStream()
    pq.write_table(table_, sink)
    write_bytes_atomically(run_dir / TOMOGRAPHY_TABLE, sink.getvalue())


def _sky(attrs: dict[str, Any], fields: dict[str, np.ndarray]) -> dict[str, Any] | None:
    if "sky" not in fields:
        return None
    order = int(attrs["sky_order"])
    nside = hpgeom.order_to_nside(order)
    pixels = np.flatnonzero(fields["sky"])
    area = float(hpgeom.nside_to_pixel_area(nside, degrees=True))
    return {"order": order, "nside": int(nside), "nested": True, "pixel_area_deg2": area,
            "pixels": pixels.tolist(), "counts": fields["sky"][pixels].tolist(),
            "footprint_deg2": float(pixels.size * area)}


# --- HTML ------------------------------------------------------------------------------------------

def render_results_html(document: dict[str, Any], profile: dict[str, Any] | None) -> str:
    counts = document["counts"]
    run = document["run"]
    grid = np.linspace(document["grid"]["zmin"], document["grid"]["zmax"], document["grid"]["nzbins"])
    tomography = document["tomography"]
    parts = [
        f"<h1>Photo-z results: {escape(run['estimator'])} ({escape(run['implementation'])})</h1>",
        f"<p>{value(document, 'counts.objects')} objects from {len(run['inputs'])} input file(s); "
        f"{value(document, 'counts.bad_pdfs')} PDFs NaN or all zero. Stacked N(z): mean "
        f"{value(document, 'nz.mean', '.4f')}, median {value(document, 'nz.median', '.4f')}, standard deviation "
        f"{value(document, 'nz.std', '.4f')}.</p>",
        "<h2>N(z)</h2>", image(_nz_figure(grid, document), "stacked N(z) and tomographic N(z)"),
        "<h2>Tomographic bins</h2>",
        f"<p>Method {escape(tomography['method'])}, on {escape(tomography['point_estimate'])}; "
        f"{value(document, 'tomography.unassigned')} objects in no bin.</p>",
        table(["bin", "z range", "objects", "mean z", "median z", "std"],
              [[b["index"], f"{b['z_low']:.3f} to {b['z_high']:.3f}",
                value(document, f"tomography.bins.{i}.objects"), value(document, f"tomography.bins.{i}.mean", ".4f"),
                value(document, f"tomography.bins.{i}.median", ".4f"), value(document, f"tomography.bins.{i}.std", ".4f")]
               for i, b in enumerate(tomography["bins"])], raw_columns=(2, 3, 4, 5)),
        "<h2>Point estimates</h2>", image(_points_figure(document), "histograms of the point estimates"),
        "<h2>Width of the 68% interval</h2>", image(_width_figure(document), "histogram of z_hi68 - z_lo68"),
        "<h2>Counts</h2>",
        table(["count", "value"],
              [["objects", value(document, "counts.objects")], ["PDFs NaN or all zero", value(document, "counts.bad_pdfs")],
               ["mean PDF mass outside the grid", value(document, "counts.mass_outside_grid_mean", ".3g")],
               [f"objects with more than {counts['mass_outside_limit']:.0%} of their mass outside",
                value(document, "counts.mass_outside_grid_over_limit")]]
              + [[f"non-detections in {band}", value(document, f"counts.nondetections.{band}")]
                 for band in counts["nondetections"]], raw_columns=(1,)),
    ]
    if document["diagnostics"]:
        parts += ["<h2>The estimator's diagnostics</h2>", image(_diagnostics_figure(document), "diagnostics")]
    if document["sky"] is not None:
        parts += ["<h2>Sky density</h2>",
                  f"<p>{value(document, 'sky.footprint_deg2', '.1f')} square degrees in HEALPix pixels of order "
                  f"{value(document, 'sky.order')}.</p>", image(_sky_figure(document["sky"]), "sky density")]
    parts += _model_html(document) + _provenance_html(document, profile)
    return page(f"pzmpi results: {run['estimator']}", parts)


def _model_html(document: dict[str, Any]) -> list[str]:
    model = document["model"]
    parts = ["<h2>Model</h2>", f"<p>{escape(model['file'])}: {model['bytes']:,} bytes, sha256 "
                               f"<code>{escape(model['sha256'])}</code>.</p>"]
    training = model["training"]
    if training:
        redshift = training["redshift"] or {}
        parts.append(f"<p>Trained on {value(document, 'model.training.rows')} objects of "
                     f"{escape(training['table'])} (sha256 <code>{escape(training['table_sha256'][:16])}</code>), "
                     f"redshift {redshift.get('min', float('nan')):.4f} to {redshift.get('max', float('nan')):.4f}, "
                     f"median {redshift.get('median', float('nan')):.4f}.</p>")
    else:
        parts.append("<p class='note'>No training record beside the model (made by 'pzmpi train').</p>")
    if model["priors"]:
        parts += ["<h3>Priors</h3>", table(["parameter", "value"], [[k, json.dumps(v)] for k, v in model["priors"].items()])]
    if model["templates"]:
        parts += ["<h3>Templates</h3>", f"<p>{escape(', '.join(model['templates']))}</p>"]
    return parts


def _provenance_html(document: dict[str, Any], profile: dict[str, Any] | None) -> list[str]:
    run = document["run"]
    stage1 = document["stage1"]
    parts = ["<h2>Provenance</h2>",
             table(["", ""], [["result key", run["result_key"]], ["configuration sha256", run["config_sha256"]],
                              ["inputs", "; ".join(run["inputs"][:20]) + (" ..." if len(run["inputs"]) > 20 else "")],
                              ["unreadable inputs", ", ".join(run["unreadable_inputs"]) or "none"]])]
    if stage1:
        verify = stage1.get("last_verify")
        parts.append(f"<p>Inputs are the skinny table {escape(stage1['skinny_manifest'])} of release "
                     f"{escape(stage1.get('release'))}"
                     + (f", last verified {escape(verify['time'])}: {'passed' if verify['passed'] else 'FAILED'}"
                        if verify else "") + ".</p>")
    else:
        parts.append("<p class='note'>The inputs are not a registered release's skinny table.</p>")
    if profile:
        parts.append(f"<p class='note'>This execution (from profile.json, not in results.json): "
                     f"{profile['n_ranks']} rank(s), {profile['wall_seconds']:.1f} s wall, "
                     f"{profile['objects_per_second']:,.0f} objects/s.</p>")
    parts += ["<h3>Configuration</h3>", f"<pre>{escape(document['configuration'])}</pre>",
              "<h3>Package versions</h3>", table(["package", "version"], [[k, v] for k, v in run["versions"].items()])]
    return parts


def _figure(rows: int = 1, columns: int = 1, size: tuple[float, float] = (9, 4)) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.subplots(rows, columns)


def _nz_figure(grid: np.ndarray, document: dict[str, Any]) -> Any:
    figure, axes = _figure(1, 2, (11, 4))
    axes[0].plot(grid, document["nz"]["stacked"], color="k")
    axes[0].set_title("stacked N(z), all objects")
    for entry in document["tomography"]["bins"]:
        axes[1].plot(grid, entry["nz"], label=f"bin {entry['index']}: {entry['z_low']:.2f}-{entry['z_high']:.2f} "
                                              f"({entry['objects']:,})")
    axes[1].set_title(f"tomographic N(z) ({document['tomography']['method']}, "
                      f"{document['tomography']['point_estimate']})")
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    for ax in axes:
        ax.set_xlabel("z")
        ax.set_ylabel("p(z), mean of the PDFs")
    return figure


def _centres(histogram: dict[str, Any]) -> np.ndarray:
    width = (histogram["high"] - histogram["low"]) / histogram["bins"]
    return histogram["low"] + width * (np.arange(histogram["bins"]) + 0.5)


def _rebinned(histogram: dict[str, Any], factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres and counts of the histogram with ``factor`` bins merged (for plots only)."""
    counts = np.asarray(histogram["counts"])
    usable = counts.size - counts.size % factor
    merged = counts[:usable].reshape(-1, factor).sum(axis=1)
    width = (histogram["high"] - histogram["low"]) / histogram["bins"] * factor
    return histogram["low"] + width * (np.arange(merged.size) + 0.5), merged


def _points_figure(document: dict[str, Any]) -> Any:
    """One panel per point estimate, in bins of 4 grid steps (zmode takes grid values only)."""
    names = list(document["point_estimates"])
    figure, axes = _figure(1, len(names), (3.2 * len(names), 3.0))
    for ax, name in zip(np.atleast_1d(axes), names):
        centres, counts = _rebinned(document["point_estimates"][name], 16)
        ax.step(centres, counts, where="mid", color="k", lw=0.8)
        ax.set_xlabel(name)
    np.atleast_1d(axes)[0].set_ylabel("objects per 4 grid steps")
    return figure


def _width_figure(document: dict[str, Any]) -> Any:
    figure, ax = _figure(size=(9, 3.2))
    histogram = document["width68"]
    centres = _centres(histogram)
    ax.step(centres, histogram["counts"], where="mid", color="k", lw=0.8)
    cumulative = np.cumsum(histogram["counts"])
    if cumulative[-1] > 0:  # leave out the sparse tail: up to where 99% of the objects are
        ax.set_xlim(histogram["low"], centres[np.searchsorted(cumulative, 0.99 * cumulative[-1])] * 1.2)
    ax.set_xlabel("z_hi68 - z_lo68")
    ax.set_ylabel("objects")
    return figure


def _diagnostics_figure(document: dict[str, Any]) -> Any:
    names = list(document["diagnostics"])
    figure, axes = _figure(1, len(names), (4.5 * len(names), 3.2))
    for ax, name in zip(np.atleast_1d(axes), names):
        histogram = document["diagnostics"][name]
        ax.step(_centres(histogram), histogram["counts"], where="mid", color="k", lw=0.8)
        ax.set_xlabel(name)
        ax.set_ylabel("objects")
    return figure


def _sky_figure(sky: dict[str, Any]) -> Any:
    figure, ax = _figure(size=(8, 5))
    ra, dec = hpgeom.pixel_to_angle(sky["nside"], np.asarray(sky["pixels"], dtype=np.int64))
    density = np.asarray(sky["counts"]) / sky["pixel_area_deg2"]
    points = ax.scatter(ra, dec, c=density, s=12, marker="s", cmap="viridis")
    figure.colorbar(points, ax=ax, label="objects per square degree")
    ax.invert_xaxis()
    ax.set_xlabel("RA (deg)")
    ax.set_ylabel("Dec (deg)")
    return figure


def write_results(run_dir: Path, folder: Path | None = None) -> tuple[Path, Path]:
    """Build the report of ``run_dir`` and write ``results.json`` and ``results.html`` (in RUN_DIR/report)."""
    document = build_results(run_dir)
    profile_path = RunPaths(run_dir).profile
    profile = json.loads(profile_path.read_text()) if profile_path.is_file() else None
    return write_report(folder or run_dir / "report", "results", document, render_results_html(document, profile))

