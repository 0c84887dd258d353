"""Configuration of ``pzmpi evaluate``: which finished runs to validate, against which true redshifts.

Like every configuration it is checked against its schema before any MPI
work, and imports no numpy, qp or MPI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pzmpi.core.errors import ConfigError
from pzmpi.core.release import Release, newest_runs, releases_root
from pzmpi.core.tomlconfig import NUMBER, Key, dump_toml, read_toml, resolve_path, validate_sections

EVALUATE_SCHEMA: dict[str, dict[str, Key]] = {
    "evaluate": {
        "runs": Key((list,), [], "folders of finished runs of 'pzmpi run' over a set with known redshifts; "
                                 "or 'evaluate.release'"),
        "release": Key((str,), "", "in place of 'runs': the newest run of each code over this release's test split "
                                   "(input.table = 'test'), found in its record, where the report is entered"),
        "releases": Key((str,), "", "with 'evaluate.release': where releases live (default: $PZMPI_RELEASES, "
                                    "else ./releases)"),
        "names": Key((list,), [], "a name per run in the report (default: each run's code with 'release', "
                                  "else its estimator)"),
        "truth_column": Key((str,), "redshift", "column of the runs' input catalog holding the true redshift"),
        "point_estimate": Key((str,), "zmode", "the point estimate the point metrics are computed on"),
        "magnitude_band": Key((str,), "i", "band whose AB magnitude (cleaned as the run cleans it) bins the metrics"),
        "magnitude_bins": Key((list,), [14.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 28.0],
                              "edges of the magnitude bins", numbers=True),
        "requirement_magnitude_limit": Key(NUMBER, 25.0, "Rubin's requirements apply to objects brighter than this"),
        "pit_bins": Key((int,), 50, "bins of the PIT histogram"),
        "chunk_rows": Key((int,), 20000, "rows of a piece evaluated at once"),
        "max_gathered_objects": Key((int,), 20_000_000, "objects per run gathered on the root for exact "
                                                        "medians and quantiles (64 bytes each); more is an error"),
    },
    "output": {
        "folder": Key((str,), None, "folder of validation.json and validation.html", required=True),
    },
}


@dataclass(frozen=True)
class EvaluateConfig:
    runs: list[str]
    names: list[str]
    release: str
    releases: str
    truth_column: str
    point_estimate: str
    magnitude_band: str
    magnitude_bins: list[float]
    requirement_magnitude_limit: float
    pit_bins: int
    chunk_rows: int
    max_gathered_objects: int
    folder: str
    source: str
    text: str = field(repr=False)


def load_evaluate_config(path: str | Path, overrides: list[str] | None = None) -> EvaluateConfig:
    path = Path(path)
    raw = read_toml(path, overrides)
    return build_evaluate_config(raw, path.resolve().parent, str(path))


def build_evaluate_config(raw: dict[str, Any], base_dir: Path, source: str) -> EvaluateConfig:
    values = validate_sections(raw, EVALUATE_SCHEMA, source)
    settings = values["evaluate"]
    runs, names = [resolve_path(base_dir, run) for run in settings["runs"]], settings["names"]
    if bool(runs) == bool(settings["release"]):
        raise ConfigError(f"{source}: set exactly one of 'evaluate.runs' (run folders) and 'evaluate.release'")
    releases = resolve_path(base_dir, settings["releases"])
    if settings["release"]:
        newest = newest_runs(Release.open(releases_root(releases or None), settings["release"]), "test")
        runs, names = [entry["folder"] for entry in newest.values()], names or list(newest)
    if names and len(names) != len(runs):
        raise ConfigError(f"{source}: 'evaluate.names' has {len(names)} names for {len(runs)} runs")
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: 'evaluate.names' must be distinct, got {names}")
    edges = settings["magnitude_bins"]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ConfigError(f"{source}: 'evaluate.magnitude_bins' must hold at least 2 increasing numbers")
    for key in ("pit_bins", "chunk_rows", "max_gathered_objects"):
        if settings[key] < 2:
            raise ConfigError(f"{source}: 'evaluate.{key}' must be at least 2")
    for run in runs:
        if not Path(run).is_dir():
            raise ConfigError(f"{source}: 'evaluate.runs': {run} is not a folder")
    return EvaluateConfig(runs=runs, names=list(names), release=settings["release"],
                          releases=releases, truth_column=settings["truth_column"],
                          point_estimate=settings["point_estimate"], magnitude_band=settings["magnitude_band"],
                          magnitude_bins=list(edges),
                          requirement_magnitude_limit=float(settings["requirement_magnitude_limit"]),
                          pit_bins=settings["pit_bins"], chunk_rows=settings["chunk_rows"],
                          max_gathered_objects=settings["max_gathered_objects"],
                          folder=resolve_path(base_dir, values["output"]["folder"]), source=source,
                          text=dump_toml(raw))
