"""The validation report of ``pzmpi evaluate``: ``validation.json`` with every number, ``validation.html`` with plots.

Per run (one photo-z code each): the metrics on the whole set and per bin of
magnitude, Rubin's requirements with pass or fail, the PIT histogram and QQ,
N(z) true against stacked PDFs and against the point estimates, and z_phot
against z_true as a density. With several runs, a comparison of the codes.
The JSON depends only on the runs and the configuration.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.core.files import write_bytes_atomically
from pzmpi.core.reports import escape, image, page, status, table, value, write_report
from pzmpi.train import validation
from pzmpi.train.evaluate_config import EvaluateConfig

FORMAT = 1
NZ_BIN = 0.05  # width of the N(z) comparison's bins
SCATTER_BIN = 0.02  # width of the z_phot against z_true density's cells
SHOWN = (("bias", ".5f"), ("sigma_iqr", ".5f"), ("sigma_nmad", ".5f"), ("outlier_rate", ".4f"),
         ("catastrophic_fraction", ".4f"), ("cde_loss", ".4f"), ("brier", ".2f"), ("ks", ".4f"), ("cvm", ".4f"),
         ("ad", ".3f"), ("pit_outlier_rate", ".5f"))


def metrics_of(values: dict[str, np.ndarray], selection: np.ndarray | None = None) -> dict[str, Any]:
    """Every metric over the objects ``selection`` picks (all when None)."""
    chosen = {name: (array if selection is None else array[selection]) for name, array in values.items()}
    return {**validation.point_metrics(chosen["z_point"], chosen["z_true"]), **validation.pdf_metrics(chosen)}


def run_document(source: Any, values: dict[str, np.ndarray], stack: np.ndarray, config: EvaluateConfig
                 ) -> dict[str, Any]:
    grid_config = source.config.estimator
    grid = np.linspace(grid_config.zmin, grid_config.zmax, grid_config.nzbins)
    magnitude = values["magnitude"]
    edges = config.magnitude_bins
    bins = []
    for low, high in zip(edges, edges[1:]):
        chosen = (magnitude >= low) & (magnitude < high)
        bins.append({"low": low, "high": high, "objects": int(chosen.sum()), "metrics": metrics_of(values, chosen)})
    bright = magnitude < config.requirement_magnitude_limit
    bright_metrics = metrics_of(values, bright)
    n = values["z_true"].size
    nz_edges = np.arange(grid_config.zmin, grid_config.zmax + NZ_BIN / 2, NZ_BIN)
    scatter_edges = np.arange(grid_config.zmin, grid_config.zmax + SCATTER_BIN / 2, SCATTER_BIN)
    scatter, _, _ = np.histogram2d(values["z_true"], values["z_point"], bins=[scatter_edges, scatter_edges])
    return {
        "name": source.name, "folder": source.folder, "objects_file": objects_file_name(source.name),
        "estimator": source.config.estimator.name,
        "implementation": source.config.estimator.implementation, "objects": n,
        "objects_in_magnitude_range": int(((magnitude >= edges[0]) & (magnitude < edges[-1])).sum()),
        "metrics": metrics_of(values),
        "magnitude_bins": bins,
        "requirements": {"magnitude_limit": config.requirement_magnitude_limit, "objects": int(bright.sum()),
                         "metrics": bright_metrics, "checks": validation.requirements(bright_metrics)},
        "pit": validation.pit_plots(values["pit"], config.pit_bins),
        "nz": {"edges": nz_edges.tolist(), "true": np.histogram(values["z_true"], nz_edges)[0].tolist(),
               "point": np.histogram(values["z_point"], nz_edges)[0].tolist(),
               "grid": grid.tolist(), "stacked": (stack / n if n else stack).tolist()},
        "scatter": {"edges": scatter_edges.tolist(), "counts": scatter.astype(np.int64).tolist()},
    }


def build(config: EvaluateConfig, sources: list[Any], per_run: list[dict[str, np.ndarray]],
          stacks: list[np.ndarray], limits: tuple[float, float], failures: list[dict[str, str]]) -> dict[str, Any]:
    runs = [run_document(source, values, stack, config) for source, values, stack in zip(sources, per_run, stacks)]
    return {
        "format": FORMAT,
        "settings": {"truth_column": config.truth_column, "point_estimate": config.point_estimate,
                     "magnitude_band": config.magnitude_band, "magnitude_bins": config.magnitude_bins,
                     "requirement_magnitude_limit": config.requirement_magnitude_limit,
                     "cde_grid": [float(validation.CDE_GRID[0]), float(validation.CDE_GRID[-1]),
                                  validation.CDE_GRID.size],
                     "brier_limits": list(limits), "brier_dx": validation.BRIER_DX,
                     "catastrophic": validation.CATASTROPHIC},
        "runs": runs,
        "comparison": [{"name": run["name"], "objects": run["objects"],
                        **{key: run["metrics"][key] for key, _ in SHOWN},
                        "requirements_passed": all(c["verdict"] == "pass" for c in run["requirements"]["checks"])}
                       for run in runs],
        "failures": failures,
    }


def write(config: EvaluateConfig, document: dict[str, Any]) -> tuple[Path, Path]:
    return write_report(Path(config.folder), "validation", document, render_html(document))


def objects_file_name(run_name: str) -> str:
    """The file of a run's per-object values: ``objects_<name>.parquet``, the name made safe for a file system."""
    return f"objects_{re.sub(r'[^A-Za-z0-9_.-]', '_', run_name)}.parquet"


def write_objects(config: EvaluateConfig, document: dict[str, Any], per_run: list[dict[str, np.ndarray]]) -> None:
    """Each run's per-object table (objectId, true and point redshift, magnitude, PIT, CDE and Brier terms), in
    the order of the run's pieces: what a validation_results product carries, and what other plots start from."""
    for run, values in zip(document["runs"], per_run):
        columns = {"objectId": values["object_id"], "z_true": values["z_true"],
                   config.point_estimate: values["z_point"], f"mag_{config.magnitude_band}": values["magnitude"],
                   **{name: values[name] for name in validation.PER_OBJECT}}
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table(columns), sink)
        write_bytes_atomically(Path(config.folder) / run["objects_file"], sink.getvalue())


def summary_lines(document: dict[str, Any], html_path: Path, seconds: float) -> str:
    lines = [f"pzmpi evaluate: {len(document['runs'])} run(s) in {seconds:.1f} s; report {html_path}"]
    for run in document["runs"]:
        m = run["metrics"]
        verdicts = ", ".join(f"{c['verdict']}" for c in run["requirements"]["checks"])
        lines.append(f"  {run['name']}: {run['objects']:,} objects, bias {_f(m['bias'])}, sigma_NMAD "
                     f"{_f(m['sigma_nmad'])}, outliers {_f(m['outlier_rate'])}, CDE loss {_f(m['cde_loss'])}; "
                     f"requirements: {verdicts}")
    for failure in document["failures"]:
        lines.append(f"  FAILED: {failure['error']}")
    return "\n".join(lines)


def _f(number: float | None) -> str:
    return "n/a" if number is None else f"{number:.4g}"


# --- HTML ------------------------------------------------------------------------------------------

def render_html(document: dict[str, Any]) -> str:
    settings = document["settings"]
    parts = ["<h1>Photo-z validation</h1>",
             f"<p>Truth: column <code>{escape(settings['truth_column'])}</code>; point metrics on "
             f"<code>{escape(settings['point_estimate'])}</code>, ez = (z_phot - z_true)/(1 + z_true); bins of "
             f"{escape(settings['magnitude_band'])} magnitude. Metrics are qp's (qp.metrics), computed on every "
             "object: no sketch. The catastrophic fraction (|ez| &gt; 0.15) is pzmpi's own; in the requirements, "
             "sigma_IQR stands for the RMS of ez.</p>"]
    if len(document["runs"]) > 1:
        parts += ["<h2>Comparison of codes</h2>",
                  table(["code", "objects"] + [key for key, _ in SHOWN] + ["requirements"],
                        [[row["name"], value(document, f"comparison.{i}.objects")]
                         + [value(document, f"comparison.{i}.{key}", style) for key, style in SHOWN]
                         + [status("pass" if row["requirements_passed"] else "fail")]
                         for i, row in enumerate(document["comparison"])], raw_columns=tuple(range(1, 14))),
                  image(_comparison_figure(document), "metrics against magnitude, every code")]
    for i, run in enumerate(document["runs"]):
        parts += _run_html(document, i, run)
    if document["failures"]:
        parts += ["<h2>Failures</h2>", table(["run", "piece", "error"],
                                             [[f["run"], f["piece"], f["error"]] for f in document["failures"]])]
    return page("pzmpi validation", parts)


def _run_html(document: dict[str, Any], i: int, run: dict[str, Any]) -> list[str]:
    prefix = f"runs.{i}"
    requirements = run["requirements"]
    return [
        f"<h2>{escape(run['name'])} ({escape(run['estimator'])}, {escape(run['implementation'])})</h2>",
        f"<p>{value(document, prefix + '.objects')} objects, from {escape(run['folder'])}.</p>",
        table(["metric", "all objects"] + [f"{b['low']:g} to {b['high']:g}" for b in run["magnitude_bins"]],
              [["objects", value(document, prefix + ".objects")]
               + [value(document, f"{prefix}.magnitude_bins.{j}.objects") for j in range(len(run["magnitude_bins"]))]]
              + [[key, value(document, f"{prefix}.metrics.{key}", style)]
                 + [value(document, f"{prefix}.magnitude_bins.{j}.metrics.{key}", style)
                    for j in range(len(run["magnitude_bins"]))] for key, style in SHOWN],
              raw_columns=tuple(range(1, 2 + len(run["magnitude_bins"])))),
        f"<h3>Rubin's requirements ({escape(document['settings']['magnitude_band'])} &lt; "
        f"{requirements['magnitude_limit']:g}: {value(document, prefix + '.requirements.objects')} objects)</h3>",
        table(["requirement", "value", "bound", "result"],
              [[c["requirement"], value(document, f"{prefix}.requirements.checks.{j}.value", ".5f"), c["bound"],
                status(c["verdict"]) if c["verdict"] != "n/a" else "n/a"]
               for j, c in enumerate(requirements["checks"])], raw_columns=(1, 3)),
        image(_run_figure(run), f"{run['name']}: z_phot against z_true, PIT, N(z)"),
        image(_magnitude_figure([run]), f"{run['name']}: metrics against magnitude"),
    ]


def _figure(rows: int, columns: int, size: tuple[float, float]) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.subplots(rows, columns)


def _run_figure(run: dict[str, Any]) -> Any:
    from matplotlib.colors import LogNorm

    figure, axes = _figure(1, 4, (16, 4))
    scatter = np.asarray(run["scatter"]["counts"], dtype=float)
    edges = np.asarray(run["scatter"]["edges"])
    if scatter.any():
        mesh = axes[0].pcolormesh(edges, edges, np.where(scatter > 0, scatter, np.nan).T, norm=LogNorm(), cmap="viridis")
        figure.colorbar(mesh, ax=axes[0], label="objects")
    axes[0].plot([edges[0], edges[-1]], [edges[0], edges[-1]], color="r", lw=0.5)
    axes[0].set(xlabel="z_true", ylabel="z_phot", title="z_phot against z_true")
    pit = run["pit"]
    counts = np.asarray(pit["counts"], dtype=float)
    axes[1].stairs(counts / max(counts.mean(), 1e-300), np.linspace(0, 1, pit["bins"] + 1), color="k")
    axes[1].axhline(1.0, color="r", lw=0.5)
    axes[1].set(xlabel="PIT", ylabel="density", title="PIT histogram")
    axes[2].plot(pit["qq_theory"], pit["qq_data"], color="k")
    axes[2].plot([0, 1], [0, 1], color="r", lw=0.5)
    axes[2].set(xlabel="uniform quantile", ylabel="PIT quantile", title="PIT QQ")
    nz = run["nz"]
    nz_edges = np.asarray(nz["edges"])
    width = nz_edges[1] - nz_edges[0]
    total = max(run["objects"], 1)
    axes[3].stairs(np.asarray(nz["true"]) / (total * width), nz_edges, label="true", color="k")
    axes[3].stairs(np.asarray(nz["point"]) / (total * width), nz_edges, label="point estimates", color="tab:blue")
    axes[3].plot(nz["grid"], nz["stacked"], label="stacked PDFs", color="tab:red")
    axes[3].set(xlabel="z", ylabel="N(z), normalised", title="N(z)")
    axes[3].legend(fontsize=8)
    return figure


def _magnitude_figure(runs: list[dict[str, Any]]) -> Any:
    figure, axes = _figure(1, 3, (14, 3.5))
    for run in runs:
        centres = [(b["low"] + b["high"]) / 2 for b in run["magnitude_bins"]]
        for ax, key in zip(axes, ("bias", "sigma_nmad", "outlier_rate")):
            ax.plot(centres, [np.nan if b["metrics"][key] is None else b["metrics"][key] for b in run["magnitude_bins"]],
                    marker="o", label=run["name"])
    for ax, key in zip(axes, ("bias", "sigma_nmad", "outlier_rate")):
        ax.set(xlabel="magnitude", ylabel=key)
    axes[0].legend(fontsize=8)
    return figure


def _comparison_figure(document: dict[str, Any]) -> Any:
    return _magnitude_figure(document["runs"])
