"""The QA report of a training set: ``training_set.json`` with every number, ``training_set.html`` with plots.

It shows the separations of the matches, the match counts and every case the
duplicate policy decided, the redshift distribution per survey, the training
set's magnitudes and colours against the whole photometric sample's, the sky
positions of the spectra, matched or not, and the completeness against magnitude.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pzmpi.core.reports import escape, image, page, table, value, write_report
from pzmpi.train.spectra import Spectra
from pzmpi.train.trainingset_config import TrainingSetConfig

FORMAT = 1
REDSHIFT_EDGES = np.arange(0.0, 3.0001, 0.05)
MAGNITUDE_EDGES = np.arange(14.0, 30.0001, 0.1)
COLOUR_EDGES = np.arange(-1.0, 3.0001, 0.05)
COMPLETENESS_MERGE = 5  # completeness in bins of 5 magnitude bins (0.5 mag)
SKY_CELL_DEG = 0.25


def build(config: TrainingSetConfig, source: Any, spectra: Spectra, survey_counts: dict[str, dict[str, int]],
          result: dict[str, Any], whole: dict[str, Any], failures: list[str]) -> dict[str, Any]:
    table, training, pairs = result["table"], result["training"], result["pairs"]
    surveys = {}
    for name, counts in survey_counts.items():
        surveys[name] = {**counts, "in_tables": int((table["survey"] == name).sum()),
                         "redshift": np.histogram(table["redshift"][table["survey"] == name], REDSHIFT_EDGES)[0].tolist()}
    magnitudes = {}
    mags = result["magnitudes"]  # the QA report's magnitudes of the tables' objects, band by band
    for band, mag, whole_counts in zip(source.bands, mags, whole["magnitudes"]):
        magnitudes[band] = {"photometry": whole_counts.tolist(),
                            "training_set": np.histogram(mag[training], MAGNITUDE_EDGES)[0].tolist(),
                            "all_matched": np.histogram(mag, MAGNITUDE_EDGES)[0].tolist()}
    colours = {}
    for b in range(len(mags) - 1):
        difference = mags[b] - mags[b + 1]
        colours[f"{source.bands[b]}-{source.bands[b + 1]}"] = {
            "photometry": whole["colours"][b].tolist(),
            "training_set": np.histogram(difference[training], COLOUR_EDGES)[0].tolist()}
    matched = np.isin(spectra.key, pairs["spectrum"])
    return {
        "format": FORMAT,
        "settings": {"name": config.name, "radius_arcsec": config.radius_arcsec, "healpix_order": config.healpix_order,
                     "train_fraction": config.train_fraction, "seed": config.seed,
                     "flag_lower_is_better": config.spectra["flag_lower_is_better"],
                     "cuts": {key: config.spectra[key] if np.isfinite(config.spectra[key]) else None
                              for key in ("min_flag", "min_redshift", "max_redshift")}},
        "photometry": {"files": len(source.files), "rows": whole["rows"], "release": source.release},
        "surveys": surveys,
        "counts": {"spectra": len(spectra), "matched_spectra": int(pairs["spectrum"].size),
                   "unmatched_spectra": int(len(spectra) - pairs["spectrum"].size),
                   "spectra_near_several_objects": result["several_objects"], **result["policy"],
                   "objects": int(table["objectId"].size), "training": int(training.sum()),
                   "test": int((~training).sum())},
        "separation": {"edges": np.linspace(0.0, config.radius_arcsec, 51).tolist(),
                       "counts": np.histogram(pairs["separation"], np.linspace(0.0, config.radius_arcsec, 51))[0].tolist()},
        "redshift_edges": REDSHIFT_EDGES.tolist(),
        "magnitude_edges": MAGNITUDE_EDGES.tolist(), "magnitudes": magnitudes,
        "colour_edges": COLOUR_EDGES.tolist(), "colours": colours,
        "completeness": _completeness(magnitudes, MAGNITUDE_EDGES),
        "sky": _sky(spectra, matched),
        "failures": failures,
    }


def _completeness(magnitudes: dict[str, Any], edges: np.ndarray) -> dict[str, Any]:
    """Per band, in bins of 0.5 mag: the share of the photometric sample that has a spectrum in the tables."""
    found = {}
    merged_edges = edges[::COMPLETENESS_MERGE]
    for band, counts in magnitudes.items():
        usable = (len(counts["photometry"]) // COMPLETENESS_MERGE) * COMPLETENESS_MERGE
        whole = np.asarray(counts["photometry"][:usable]).reshape(-1, COMPLETENESS_MERGE).sum(axis=1)
        matched = np.asarray(counts["all_matched"][:usable]).reshape(-1, COMPLETENESS_MERGE).sum(axis=1)
        fraction = np.where(whole > 0, matched / np.maximum(whole, 1), np.nan)
        found[band] = [None if np.isnan(f) else float(f) for f in fraction]
    return {"edges": merged_edges[:len(next(iter(found.values()), [])) + 1].tolist() if found else [], "bands": found}


def _sky(spectra: Spectra, matched: np.ndarray) -> dict[str, Any]:
    ra_edges = np.arange(np.floor(spectra.ra.min()), np.ceil(spectra.ra.max()) + SKY_CELL_DEG, SKY_CELL_DEG)
    dec_edges = np.arange(np.floor(spectra.dec.min()), np.ceil(spectra.dec.max()) + SKY_CELL_DEG, SKY_CELL_DEG)
    counts = [np.histogram2d(spectra.ra[chosen], spectra.dec[chosen], [ra_edges, dec_edges])[0].astype(np.int64).tolist()
              for chosen in (matched, ~matched)]
    return {"ra_edges": ra_edges.tolist(), "dec_edges": dec_edges.tolist(), "matched": counts[0],
            "unmatched": counts[1]}


def write(config: TrainingSetConfig, document: dict[str, Any]) -> tuple[Path, Path]:
    return write_report(Path(config.folder), "training_set", document, render_html(document))


def summary_lines(document: dict[str, Any], html_path: Path, seconds: float) -> str:
    counts = document["counts"]
    lines = [f"pzmpi training-set: {counts['spectra']:,} spectra, {counts['matched_spectra']:,} matched, "
             f"{counts['objects']:,} objects: {counts['training']:,} training, {counts['test']:,} test; "
             f"{seconds:.1f} s; report {html_path}"]
    lines += [f"  FAILED: {failure}" for failure in document["failures"]]
    return "\n".join(lines)


def render_html(document: dict[str, Any]) -> str:
    counts = document["counts"]
    parts = [
        "<h1>Training set</h1>",
        f"<p>{value(document, 'counts.spectra')} spectra after the cuts, matched within "
        f"{value(document, 'settings.radius_arcsec')} arcsec with {value(document, 'photometry.rows')} photometric "
        f"objects of {value(document, 'photometry.files')} files: {value(document, 'counts.objects')} objects, "
        f"{value(document, 'counts.training')} for training and {value(document, 'counts.test')} for testing "
        f"(seed {value(document, 'settings.seed')}).</p>",
        "<h2>Matches and duplicates</h2>",
        table(["count", "value"], [[key.replace("_", " "), value(document, f"counts.{key}")] for key in counts],
              raw_columns=(1,)),
        "<p class='note'>A spectrum near several objects keeps the nearest; an object with several spectra keeps "
        "the best flag, then the nearest, then the first in catalog order.</p>",
        "<h2>Surveys</h2>",
        table(["survey", "read", "after the cuts", "in the tables"],
              [[name, value(document, f"surveys.{name}.read"), value(document, f"surveys.{name}.kept"),
                value(document, f"surveys.{name}.in_tables")] for name in document["surveys"]],
              raw_columns=(1, 2, 3)),
        image(_figure_separation_redshift(document), "separations and redshift distributions"),
        "<h2>Photometry: training set against the whole sample</h2>",
        image(_figure_magnitudes(document), "magnitude and colour distributions"),
        "<h2>Completeness and sky</h2>", image(_figure_completeness_sky(document), "completeness and sky"),
    ]
    if document["failures"]:
        parts += ["<h2>Failures</h2>", "".join(f"<p>{escape(f)}</p>" for f in document["failures"])]
    return page("pzmpi training set", parts)


def _figure(columns: int, size: tuple[float, float]) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.subplots(1, columns)


def _figure_separation_redshift(document: dict[str, Any]) -> Any:
    figure, axes = _figure(2, (12, 3.6))
    axes[0].stairs(document["separation"]["counts"], document["separation"]["edges"], color="k")
    axes[0].set(xlabel="separation (arcsec)", ylabel="matched spectra", title="separations")
    for name, survey in document["surveys"].items():
        axes[1].stairs(survey["redshift"], document["redshift_edges"], label=name)
    axes[1].set(xlabel="spectroscopic redshift", ylabel="objects in the tables", title="redshift per survey")
    axes[1].legend(fontsize=8)
    return figure


def _figure_magnitudes(document: dict[str, Any]) -> Any:
    bands = list(document["magnitudes"])
    colours = list(document["colours"])
    figure, axes = _figure(2, (12, 3.6))
    edges = np.asarray(document["magnitude_edges"])
    for band in bands:
        whole = np.asarray(document["magnitudes"][band]["photometry"], dtype=float)
        train = np.asarray(document["magnitudes"][band]["training_set"], dtype=float)
        line = axes[0].stairs(whole / max(whole.sum(), 1), edges, label=f"{band}: all")
        axes[0].stairs(train / max(train.sum(), 1), edges, color=line.get_edgecolor(), ls="--")
    axes[0].set(xlabel="AB magnitude (solid: whole sample, dashed: training set)", ylabel="fraction")
    axes[0].legend(fontsize=7, ncol=2)
    colour_edges = np.asarray(document["colour_edges"])
    for name in colours:
        whole = np.asarray(document["colours"][name]["photometry"], dtype=float)
        train = np.asarray(document["colours"][name]["training_set"], dtype=float)
        line = axes[1].stairs(whole / max(whole.sum(), 1), colour_edges, label=name)
        axes[1].stairs(train / max(train.sum(), 1), colour_edges, color=line.get_edgecolor(), ls="--")
    axes[1].set(xlabel="colour (solid: whole sample, dashed: training set)", ylabel="fraction")
    axes[1].legend(fontsize=7)
    return figure


def _figure_completeness_sky(document: dict[str, Any]) -> Any:
    figure, axes = _figure(2, (12, 4))
    completeness = document["completeness"]
    if completeness["edges"]:
        centres = (np.asarray(completeness["edges"][:-1]) + np.asarray(completeness["edges"][1:])) / 2
        for band, fractions in completeness["bands"].items():
            axes[0].plot(centres, [np.nan if f is None else f for f in fractions], marker=".", label=band)
        axes[0].legend(fontsize=7)
    axes[0].set(xlabel="AB magnitude", ylabel="share with a spectrum", title="completeness", yscale="log")
    sky = document["sky"]
    for key, colour in (("unmatched", "tab:red"), ("matched", "tab:blue")):
        counts = np.asarray(sky[key])
        ra_index, dec_index = np.nonzero(counts)
        ra = np.asarray(sky["ra_edges"])[ra_index] + SKY_CELL_DEG / 2
        dec = np.asarray(sky["dec_edges"])[dec_index] + SKY_CELL_DEG / 2
        axes[1].scatter(ra, dec, s=np.clip(counts[ra_index, dec_index], 1, 30), color=colour, label=key, alpha=0.6)
    axes[1].invert_xaxis()
    axes[1].set(xlabel="RA (deg)", ylabel="Dec (deg)", title="spectra on the sky")
    axes[1].legend(fontsize=8)
    return figure
