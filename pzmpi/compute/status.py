"""``pzmpi status RUN_DIR``: a run's progress from its plan and its ranks' heartbeats, from any node.

What an operator asks of a running job: how far it is and when it ends, which
ranks are slow or silent, what failed so far, and how much memory each node
holds. The same view works on a finished run and on one that was killed.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from pzmpi.compute.heartbeat import HEARTBEAT_FOLDER
from pzmpi.io.run_folder import RunPaths

SLOW_FRACTION = 0.5  # a working rank slower than this fraction of the median rate is flagged slow
SILENT_INTERVALS = 3  # a running rank silent for this many heartbeat intervals is flagged silent


def read_status(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run's plan and its ranks' latest heartbeats (rank order)."""
    plan_path = RunPaths(run_dir).plan
    if not plan_path.is_file():
        raise FileNotFoundError(f"{run_dir} has no plan.json: not a run folder, or its run has not planned yet")
    beats = []
    for path in sorted((run_dir / HEARTBEAT_FOLDER).glob("rank*.json")):
        try:
            beats.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):
            continue  # replaced atomically: only a foreign file can be unreadable
    return json.loads(plan_path.read_text()), beats


def silence_threshold(beat: dict[str, Any]) -> float:
    """Seconds without a heartbeat after which a working rank is silent: several intervals, or several of its
    longest chunks so far (a rank cannot beat in the middle of a chunk)."""
    return SILENT_INTERVALS * max(beat["interval"], beat.get("longest_gap", 0.0))


def assess(plan: dict[str, Any], beats: list[dict[str, Any]], now: float,
           silent_after: float | None = None) -> dict[str, Any]:
    """Progress, ETA, flagged ranks and memory per node, from the plan and the heartbeats at time ``now``."""
    total = int(plan["total_rows"])
    done = sum(beat["rows_done"] for beat in beats)
    working = {b["rank"] for b in beats if b["state"] == "running" and b["rows_done"] < b["rows_assigned"]}
    measured = [b["rows_per_second"] for b in beats if b["rows_done"] > 0]  # a rate needs a chunk done
    median_rate = statistics.median(measured) if measured else 0.0
    ranks = []
    for beat in beats:
        threshold = silent_after if silent_after is not None else silence_threshold(beat)
        age = now - beat["time"]
        flags = []
        if beat["rank"] in working and age > threshold:
            flags.append("silent")
        if beat["rank"] in working and beat["rows_done"] > 0 and beat["rows_per_second"] < SLOW_FRACTION * median_rate:
            flags.append("slow")
        remaining = beat["rows_assigned"] - beat["rows_done"]
        eta = remaining / beat["rows_per_second"] if beat["rows_per_second"] > 0 else None
        ranks.append({**beat, "age_seconds": age, "flags": flags, "eta_seconds": eta if remaining else 0.0})
    etas = [r["eta_seconds"] for r in ranks if r["state"] == "running"]
    if not beats:
        state = "planned: no rank has reported yet"
    elif all(b["state"] == "finished" for b in beats):
        state = "finished"
    elif any(b["state"] == "stopped" for b in beats):
        state = "stopped (SIGTERM): run the same command again to finish"
    elif all(now - b["time"] > silence_threshold(b) for b in beats):
        state = "not running: no rank has reported for a while (the job ended without finishing, or was killed)"
    else:
        state = "running"
    memory: dict[str, int] = {}
    for beat in beats:
        memory[beat["host"]] = memory.get(beat["host"], 0) + beat["rss_bytes"]
    return {"state": state, "rows_total": total, "rows_done": done, "ranks_planned": plan["n_ranks"],
            "ranks_reporting": len(beats), "eta_seconds": (None if None in etas else max(etas, default=0.0)),
            "failures": sum(b["failures"] for b in beats), "memory_per_host": memory, "ranks": ranks,
            "flagged": [r["rank"] for r in ranks if r["flags"]]}


def format_status(run_dir: Path, status: dict[str, Any]) -> str:
    total, done = status["rows_total"], status["rows_done"]
    eta = status["eta_seconds"]
    lines = [f"run        {run_dir}",
             f"state      {status['state']}",
             f"progress   {done:,}/{total:,} objects ({100 * done / total if total else 100:.1f}%), "
             f"ETA {'unknown' if eta is None else time.strftime('%H:%M:%S', time.gmtime(eta))}",
             f"ranks      {status['ranks_reporting']} of {status['ranks_planned']} reporting; "
             f"failed pieces so far: {status['failures']}"]
    lines += [f"memory     {host}: {rss / 2**30:.2f} GiB" for host, rss in sorted(status["memory_per_host"].items())]
    flagged = [r for r in status["ranks"] if r["flags"]]
    if flagged:
        lines += ["", "flagged ranks:"]
    for rank in flagged:
        lines.append(f"  rank {rank['rank']} on {rank['host']}: {', '.join(rank['flags'])}; "
                     f"{rank['rows_per_second']:,.0f} objects/s, {rank['rows_done']:,}/{rank['rows_assigned']:,} "
                     f"done, last heard {rank['age_seconds']:.0f} s ago, piece {rank['piece'] or '-'}")
    return "\n".join(lines)
