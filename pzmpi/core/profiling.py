"""Profiling: per-rank stage timers, their aggregation into a per-run profile, and its summary.

Each rank keeps a ``StageTimer``; at the end the root gathers the records and
``summarize`` turns them into ``profile.json``: per-stage min/median/max over
ranks, load imbalance, objects per second overall and per rank, peak memory.
The timeline, a row per piece (not per chunk), goes beside it as a parquet table
(``timeline.parquet``): at DR11's 267,000 pieces it would make the JSON about
77 MB, where the table is a few MB and reads column by column.
"""

from __future__ import annotations

import json
import resource
import socket
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pzmpi.core.files import replace_durably, temp_path_of

TIMELINE_FILE = "timeline.parquet"
STAGES = ("plan", "setup", "compile", "read", "clean", "estimate", "summary", "write", "wait")


class StageTimer:
    """Wall-clock seconds per stage, row and chunk counts, and a per-piece timeline for one rank."""

    def __init__(self, origin: float | None = None) -> None:
        self.origin = time.perf_counter() if origin is None else origin
        self.seconds: dict[str, float] = defaultdict(float)
        self.counters: dict[str, int] = defaultdict(int)
        self.timeline: list[dict[str, Any]] = []
        self._piece: dict[str, Any] | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage; outside a piece (plan, setup, wait) it is a timeline entry of its own."""
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.seconds[name] += elapsed
            if self._piece is not None:
                self._piece["stages"][name] = self._piece["stages"].get(name, 0.0) + elapsed
            else:
                begin = start - self.origin
                self.timeline.append({"piece": "", "start": begin, "end": begin + elapsed, "stages": {name: elapsed}})

    @contextmanager
    def piece(self, label: str) -> Iterator[dict[str, Any]]:
        """Attribute the stages timed inside to one timeline entry."""
        entry: dict[str, Any] = {"piece": label, "start": self.now(), "stages": {}}
        self._piece = entry
        try:
            yield entry
        finally:
            self._piece = None
            entry["end"] = self.now()
            self.timeline.append(entry)

    def now(self) -> float:
        return time.perf_counter() - self.origin

    def count(self, name: str, amount: int = 1) -> None:
        self.counters[name] += amount

    def record(self, rank: int) -> dict[str, Any]:
        """This rank's profile, as plain JSON-able data."""
        return {
            "rank": rank,
            "host": socket.gethostname(),
            "stages": {name: self.seconds.get(name, 0.0) for name in STAGES},
            "counters": dict(sorted(self.counters.items())),
            "peak_rss_bytes": peak_rss_bytes(),
            "elapsed": self.now(),
            "timeline": self.timeline,
        }


def peak_rss_bytes() -> int:
    """Peak resident memory of this process (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def summarize(records: list[dict[str, Any]], wall_seconds: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Aggregate per-rank records into the per-run profile."""
    records = sorted(records, key=lambda r: r["rank"])
    rows = [r["counters"].get("rows", 0) for r in records]
    busy = [sum(v for k, v in r["stages"].items() if k not in ("plan", "wait")) for r in records]
    mean_busy = statistics.fmean(busy) if busy else 0.0
    stages = {}
    for name in STAGES:
        values = [r["stages"].get(name, 0.0) for r in records]
        stages[name] = {"min": min(values), "median": statistics.median(values), "max": max(values),
                        "mean": statistics.fmean(values), "ranks": sum(1 for v in values if v > 0)}
    totals: dict[str, int] = defaultdict(int)
    for record in records:
        for key, value in record["counters"].items():
            totals[key] += value
    profile = {
        "n_ranks": len(records),
        "wall_seconds": wall_seconds,
        "total_rows": sum(rows),
        "objects_per_second": sum(rows) / wall_seconds if wall_seconds > 0 else 0.0,
        "load_imbalance": max(busy) / mean_busy if mean_busy > 0 else 1.0,
        "peak_rss_bytes_max": max(r["peak_rss_bytes"] for r in records),
        "stages": stages,
        "counters": dict(sorted(totals.items())),
        "per_rank": [
            {"rank": r["rank"], "host": r["host"], "rows": n, "busy_seconds": b,
             "objects_per_second": n / b if b > 0 else 0.0, "peak_rss_bytes": r["peak_rss_bytes"]}
            for r, n, b in zip(records, rows, busy)
        ],
        "ranks": [{key: value for key, value in r.items() if key != "timeline"} for r in records],
        "timeline_file": TIMELINE_FILE,
    }
    profile.update(extra or {})
    return profile


def timeline_table(records: list[dict[str, Any]]) -> pa.Table:
    """Every rank's timeline as one table: rank, piece (empty for a stage timed outside a piece), start, end
    (seconds since the rank started) and the seconds of each stage."""
    entries = [(r["rank"], entry) for r in sorted(records, key=lambda r: r["rank"]) for entry in r["timeline"]]
    columns: dict[str, Any] = {
        "rank": pa.array([rank for rank, _ in entries], pa.int32()),
        "piece": pa.array([entry["piece"] for _, entry in entries], pa.string()).dictionary_encode(),
        "start": pa.array([entry["start"] for _, entry in entries], pa.float64()),
        "end": pa.array([entry["end"] for _, entry in entries], pa.float64()),
    }
    for name in STAGES:
        columns[name] = pa.array([entry["stages"].get(name, 0.0) for _, entry in entries], pa.float32())
    return pa.table(columns)


def write_timeline(path: Path, records: list[dict[str, Any]]) -> None:
    """The timeline table of ``records`` at ``path``, written atomically."""
    temp = temp_path_of(path)
    pq.write_table(timeline_table(records), temp, compression="zstd")
    replace_durably(temp, path)


def load_timeline(run_dir: str | Path, profile: dict[str, Any]) -> pa.Table:
    """A run's timeline table (from a run made before the table, the timelines its profile holds)."""
    if "timeline_file" in profile:
        return pq.read_table(Path(run_dir) / profile["timeline_file"])
    return timeline_table(profile["ranks"])


def load_profile(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / "profile.json"
    if not path.is_file():
        raise FileNotFoundError(f"no profile.json in {run_dir}: is it a pzmpi run folder of a finished run?")
    return json.loads(path.read_text())


def format_summary(profile: dict[str, Any]) -> str:
    """A human summary of a run's profile, as ``pzmpi profile RUN_DIR`` prints it."""
    counters = profile["counters"]
    lines = [
        f"run        {profile.get('run_dir', '')}",
        f"estimator  {profile.get('estimator', '?')}   ranks {profile['n_ranks']}",
        f"objects    {profile['total_rows']:,} in {profile['wall_seconds']:.1f} s wall: "
        f"{profile['objects_per_second']:,.0f} objects/s overall",
        f"pieces     {counters.get('pieces_done', 0)} written, {counters.get('pieces_skipped', 0)} already done, "
        f"{counters.get('pieces_failed', 0)} failed; {counters.get('chunks', 0)} chunks",
        f"imbalance  {profile['load_imbalance']:.3f} (max/mean busy time over ranks)",
        f"memory     peak RSS {profile['peak_rss_bytes_max'] / 2**20:,.0f} MiB (largest rank)",
        "",
        f"{'stage':<10}{'min s':>10}{'median s':>10}{'max s':>10}{'ranks':>7}",
    ]
    for name, s in profile["stages"].items():
        lines.append(f"{name:<10}{s['min']:>10.2f}{s['median']:>10.2f}{s['max']:>10.2f}{s['ranks']:>7}")
    lines += ["", f"{'rank':>5} {'host':<16}{'rows':>12}{'busy s':>10}{'obj/s':>10}{'RSS MiB':>9}"]
    for r in profile["per_rank"]:
        lines.append(f"{r['rank']:>5} {r['host'][:15]:<16}{r['rows']:>12,}{r['busy_seconds']:>10.1f}"
                     f"{r['objects_per_second']:>10,.0f}{r['peak_rss_bytes'] / 2**20:>9,.0f}")
    bands = profile.get("bands") or sorted(k.removeprefix("nondetect_") for k in counters if k.startswith("nondetect_"))
    nondetect = {band: counters[f"nondetect_{band}"] for band in bands if f"nondetect_{band}" in counters}
    if nondetect:
        lines += ["", "non-detections per band: " + ", ".join(f"{b} {n:,}" for b, n in nondetect.items())]
    if counters.get("bad_ebv"):
        lines.append(f"rows with no usable E(B-V), left uncorrected: {counters['bad_ebv']:,}")
    for failure in profile.get("failures", []):
        lines.append(f"FAILED {failure['output']}: {failure['error']}")
    return "\n".join(lines)


def plot_timeline(profile: dict[str, Any], timeline: pa.Table, png_path: str | Path) -> None:
    """Draw one lane per rank: plan, setup, each piece split by stage, then the wait for the others."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = dict(zip(STAGES, ("#555555", "#aaaaaa", "#17becf", "#1f77b4", "#2ca02c", "#d62728", "#ff7f0e",
                                "#9467bd", "#f2d16b")))
    ranks = profile["ranks"]
    fig, ax = plt.subplots(figsize=(10, max(3.2, 1 + 0.4 * len(ranks))))  # room for the legend
    lanes, starts = timeline["rank"].to_numpy(), timeline["start"].to_numpy()
    left = starts.copy()
    for name in STAGES:  # stages in their order within each piece, all pieces at once
        widths = timeline[name].to_numpy().astype(float)
        timed = widths > 0
        if timed.any():
            ax.barh(lanes[timed], widths[timed], left=left[timed], color=colours[name], height=0.8)
        left += widths
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[n], ec="#666666", lw=0.5) for n in STAGES]
    ax.legend(handles, STAGES, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("rank")
    ax.set_yticks([r["rank"] for r in ranks])
    ax.set_title(f"pzmpi run: {profile['total_rows']:,} objects on {profile['n_ranks']} ranks")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
