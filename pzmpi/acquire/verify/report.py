"""The reports of ``pzmpi verify``: ``report.json`` and a self-contained ``report.html`` (docs/verify.md).

The JSON report depends only on the catalog, the options and the release record:
everything that varies between runs (rank count, hosts, times) sits in its
``run`` block, so two runs with any number of ranks give the same report
otherwise.  The HTML page embeds its plots as base64 PNGs (magnitude histograms,
one line per band; sky density; rows per file) and lists every check, failure and warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pzmpi.acquire.verify.checks import CHECKS, issue_order
from pzmpi.acquire.verify.statistics import (MAG_BINS, MAG_START, MAG_STOP, MAG_WIDTH, SKY_BIN_DEG, Histograms,
                                             empty_footprint, empty_stats, fractions, merge_footprints, merge_stats)
from pzmpi.core.reports import escape, image, page, status, table, write_report
from pzmpi.photometry.bands import LSST_BANDS

REPORT_FORMAT = 1
BAR_CHART_FILES = 60  # above this many files, rows per file are drawn as a histogram


def build_report(release: str, catalog_dir: str, checksum_source: str, reference_columns: int, required: list[str],
                 photometric: list[str], results: list[dict[str, Any]], extra_issues: list[dict[str, Any]],
                 duplicates: dict[str, Any], histograms: Histograms, run: dict[str, Any]) -> dict[str, Any]:
    """The whole report from the per-file results (in file-name order) and the cross-file checks.

    ``reference_columns`` is the size of the release's reference schema; 0 means
    that no file was readable at ``release init`` and the schema check was skipped.
    """
    issues = sorted([entry for result in results for entry in result["issues"]] + extra_issues, key=issue_order)
    failures = [entry for entry in issues if CHECKS[entry["kind"]][0]]
    warnings = [entry for entry in issues if not CHECKS[entry["kind"]][0]]
    files = []
    for result in results:
        entry = {key: value for key, value in result.items() if key != "issues"}
        kinds = {issue["kind"] for issue in issues if issue["file"] == result["file"]}
        entry["status"] = "fail" if any(CHECKS[k][0] for k in kinds) else "warn" if kinds else "pass"
        files.append(entry)
    present = [r for r in results if r["present"]]
    photometry = {}
    for column in photometric:
        stats = empty_stats()
        for result in present:
            if column in result["photometry"]:
                stats = merge_stats(stats, result["photometry"][column])
        photometry[column] = {**stats, "fractions": fractions(stats)}
    footprint = empty_footprint()
    for result in present:
        if result["footprint"] is not None:
            footprint = merge_footprints(footprint, result["footprint"])
    return {
        "format": REPORT_FORMAT,
        "release": release,
        "catalog_dir": catalog_dir,
        "checksums_from": checksum_source,
        "reference_schema_columns": reference_columns,
        "required_columns": required,
        "photometric_columns": photometric,
        "passed": not failures,
        "blocking_checks": [name for name, (blocking, _) in CHECKS.items() if blocking],
        "warning_checks": [name for name, (blocking, _) in CHECKS.items() if not blocking],
        "counts": {"files": len(results), "present": len(present), "rows": sum(r["rows"] for r in present),
                   "bytes": sum(r["size"] for r in present),
                   "failures": _count_by_kind(failures, blocking=True),
                   "warnings": _count_by_kind(warnings, blocking=False)},
        "checks": [{"check": name, "blocking": blocking, "description": description,
                    "passed": not any(e["kind"] == name for e in issues),
                    "issues": sum(e["kind"] == name for e in issues),
                    "files": len({e["file"] for e in issues if e["kind"] == name})}
                   for name, (blocking, description) in CHECKS.items()],
        "failures": failures,
        "warnings": warnings,
        "duplicates": duplicates,
        "photometry": photometry,
        "footprint": footprint,
        "histograms": histogram_document(histograms),
        "files": files,
        "run": run,
    }


def _count_by_kind(entries: list[dict[str, Any]], blocking: bool) -> dict[str, int]:
    return {name: sum(e["kind"] == name for e in entries) for name, (b, _) in CHECKS.items() if b == blocking}


def histogram_document(histograms: Histograms) -> dict[str, Any]:
    """Magnitude counts per band and the sky map cropped to its occupied cells, as plain lists."""
    bands = {}
    for index, band in enumerate(LSST_BANDS):
        counts = histograms.magnitude[index]
        bands[band] = {"below": int(counts[0]), "counts": counts[1:MAG_BINS + 1].tolist(),
                       "above": int(counts[MAG_BINS + 1]), "no_magnitude": int(counts[MAG_BINS + 2])}
    sky: dict[str, Any] = {"bin_deg": SKY_BIN_DEG, "ra_start": None, "dec_start": None, "counts": []}
    rows, cols = np.nonzero(histograms.sky)
    if rows.size:
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        sky.update(ra_start=round(float(c0) * SKY_BIN_DEG, 6), dec_start=round(-90.0 + float(r0) * SKY_BIN_DEG, 6),
                   counts=histograms.sky[r0:r1, c0:c1].tolist())
    return {"magnitude": {"start": MAG_START, "stop": MAG_STOP, "width": MAG_WIDTH, "bands": bands}, "sky": sky}


def write_reports(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``folder``, each atomically."""
    return write_report(folder, "report", report, render_html(report))


def format_summary(report: dict[str, Any], html_path: Path) -> str:
    """A few lines for the terminal: the verdict, every failure, warnings counted by kind."""
    counts = report["counts"]
    verdict = "PASSED" if report["passed"] else "FAILED"
    lines = [f"pzmpi verify {report['release']}: {verdict}: {counts['present']}/{counts['files']} files, "
             f"{counts['rows']:,} rows, {counts['bytes'] / 1e6:,.1f} MB; checksums from {report['checksums_from']}"]
    failed = {k: n for k, n in counts["failures"].items() if n}
    if failed:
        lines.append(f"  {len(report['failures'])} failure(s) of blocking checks ("
                     + ", ".join(f"{k}: {n}" for k, n in failed.items()) + "):")
        lines += [f"    {_describe(entry)}" for entry in report["failures"]]
    warned = {k: n for k, n in counts["warnings"].items() if n}
    if warned:
        lines.append(f"  {len(report['warnings'])} warning(s), not blocking ("
                     + ", ".join(f"{k}: {n}" for k, n in warned.items()) + "), listed in the report")
    lines.append(f"  report: {html_path}")
    return "\n".join(lines)


def _describe(entry: dict[str, Any]) -> str:
    where = entry["file"] or "(catalog)"
    if entry["column"]:
        where += f" [{entry['column']}]"
    return f"{entry['kind']}: {where}: {entry['message']}"


# --- HTML ---------------------------------------------------------------------------------------

def render_html(report: dict[str, Any]) -> str:
    """One HTML page with no external resource: summary, checks, failures, warnings, plots, tables."""
    counts = report["counts"]
    verdict = "PASSED" if report["passed"] else "FAILED"
    run = report["run"]
    parts = [
        f"<h1>Release {escape(report['release'])}: <span class='{'pass' if report['passed'] else 'fail'}'>"
        f"{verdict}</span></h1>",
        f"<p>Catalog {escape(report['catalog_dir'])}: {counts['present']} of {counts['files']} files present, "
        f"{counts['rows']:,} rows, {counts['bytes'] / 1e6:,.1f} MB. Checksums from {escape(report['checksums_from'])}. "
        f"Required columns: {escape(', '.join(report['required_columns']))}. Reference schema: "
        f"{report['reference_schema_columns'] or 'none (schema check skipped)'} columns.</p>",
        f"<p>Run: {run['ranks']} rank(s) on {escape(', '.join(run['hosts']))}, started {escape(run['started'])}, "
        f"{run['wall_seconds']:.1f} s.</p>",
        "<h2>Checks</h2><p>Blocking checks fail the run (exit status 4). Schema differences, photometry "
        "fractions, coordinates and empty files are warnings: reported, not failing.</p>",
        table(["check", "kind", "result", "issues", "files", "what passing means"],
              [[c["check"], "blocking" if c["blocking"] else "warning",
                status("pass" if c["passed"] else "fail" if c["blocking"] else "warn"), c["issues"], c["files"],
                c["description"]] for c in report["checks"]], raw_columns=(2,)),
        "<h2>Failures</h2>", _issues_table(report["failures"]),
        "<h2>Warnings</h2>", _issues_table(report["warnings"]),
        "<h2>Duplicated objectIds</h2>", _duplicates_html(report["duplicates"]),
        "<h2>Magnitudes (cModel fluxes)</h2>",
        image(_magnitude_figure(report["histograms"]["magnitude"]), "magnitude histograms"),
        "<h2>Sky density</h2>", _footprint_html(report["footprint"]),
        image(_sky_figure(report["histograms"]["sky"]), "sky density"),
        "<h2>Rows per file</h2>", image(_rows_figure(report["files"]), "rows per file"),
        "<h2>Photometric columns</h2>", _photometry_html(report["photometry"]),
        "<h2>Files</h2>",
        table(["file", "result", "size (bytes)", "rows", "row groups", "sha256"],
              [[f["file"], status(f["status"]), f.get("size"), f.get("rows"), f.get("row_groups"),
                (f.get("sha256") or "")[:16]] for f in report["files"]], raw_columns=(1,)),
    ]
    return page(f"pzmpi verify {report['release']}: {verdict}", parts)


def _issues_table(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "<p>None.</p>"
    return table(["check", "file", "column", "message"],
                  [[e["kind"], e["file"], e["column"] or "", e["message"]] for e in entries])


def _duplicates_html(duplicates: dict[str, Any]) -> str:
    text = (f"<p>{duplicates['ids']:,} id(s) occur more than once ({duplicates['within_file']:,} repeated within a "
            f"file, {duplicates['across_files']:,} found in several files; {duplicates['extra_rows']:,} extra rows). "
            f"The {duplicates['max_examples']} smallest are listed.</p>")
    if not duplicates["examples"]:
        return text
    return text + table(["objectId", "files (rows)"],
                         [[e["id"], ", ".join(f"{h['file']} ({h['rows']})" for h in e["files"])]
                          for e in duplicates["examples"]])


def _footprint_html(footprint: dict[str, Any]) -> str:
    def span(low: float | None, high: float | None) -> str:
        return "none" if low is None else f"{low:.4f} to {high:.4f}"

    tracts = footprint["tracts"]
    text = (f"<p>RA {span(footprint['ra_min'], footprint['ra_max'])} deg, Dec "
            f"{span(footprint['dec_min'], footprint['dec_max'])} deg; {len(tracts)} tract(s).</p>")
    if tracts:
        text += table(["tract", "rows"], [[t, f"{n:,}"] for t, n in tracts.items()])
    return text


def _photometry_html(photometry: dict[str, Any]) -> str:
    def share(value: float | None) -> str:
        return "" if value is None else f"{value:.4%}"

    return table(["column", "rows", "NaN", "inf", "zero", "negative", "min", "max"],
                  [[name, f"{s['rows']:,}", share(s["fractions"]["nan"]), share(s["fractions"]["inf"]),
                    share(s["fractions"]["zero"]), share(s["fractions"]["negative"]), s["min"], s["max"]]
                   for name, s in photometry.items()])


def _magnitude_figure(magnitude: dict[str, Any]) -> Any:
    """One panel, one step line per band: bands compare at a glance, and one log axis draws fast."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.5), layout="constrained")
    ax = figure.subplots()
    edges = magnitude["start"] + magnitude["width"] * np.arange(MAG_BINS + 1)
    drawn = False
    for band, data in magnitude["bands"].items():
        counts = np.asarray(data["counts"])
        if counts.any():
            ax.stairs(counts, edges, label=f"{band}: {counts.sum():,} ({data['no_magnitude']:,} fluxes without one)")
            drawn = True
    if drawn:
        ax.set_yscale("log")
        ax.legend(fontsize=8, title="band: magnitudes in range", title_fontsize=8)
    ax.set_xlabel(f"AB magnitude from cModel flux ({magnitude['width']} mag bins)")
    ax.set_ylabel("objects")
    return figure


def _sky_figure(sky: dict[str, Any]) -> Any:
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 5), layout="constrained")
    ax = figure.subplots()
    counts = np.asarray(sky["counts"], dtype=float)
    if counts.size:
        ra = sky["ra_start"] + sky["bin_deg"] * np.arange(counts.shape[1] + 1)
        dec = sky["dec_start"] + sky["bin_deg"] * np.arange(counts.shape[0] + 1)
        mesh = ax.pcolormesh(ra, dec, np.where(counts > 0, counts, np.nan), norm=LogNorm(), cmap="viridis")
        figure.colorbar(mesh, ax=ax, label=f"objects per {sky['bin_deg']} x {sky['bin_deg']} deg cell")
        ax.invert_xaxis()
    ax.set_xlabel("RA (deg)")
    ax.set_ylabel("Dec (deg)")
    return figure


def _rows_figure(files: list[dict[str, Any]]) -> Any:
    from matplotlib.figure import Figure

    present = [f for f in files if f["present"]]
    figure = Figure(figsize=(9, max(3.0, 0.22 * len(present) + 1) if len(present) <= BAR_CHART_FILES else 4),
                    layout="constrained")
    ax = figure.subplots()
    rows = [f["rows"] for f in present]
    if len(present) <= BAR_CHART_FILES:
        colours = ["#c33" if f["status"] == "fail" else "#da3" if f["status"] == "warn" else "#3a3" for f in present]
        ax.barh(range(len(present)), rows, color=colours)
        ax.set_yticks(range(len(present)), [f["file"] for f in present], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("rows (red: failed, amber: warnings)")
    else:
        ax.hist(rows, bins=50)
        ax.set_xlabel("rows per file")
        ax.set_ylabel("files")
    return figure
