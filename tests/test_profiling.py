"""Profile aggregation, summary and progress output (no MPI needed)."""

import io
import json

import pytest

from pzmpi.core.profiling import (TIMELINE_FILE, StageTimer, format_summary, load_timeline, plot_timeline, summarize,
                                   write_timeline)
from pzmpi.core.progress import ProgressReporter


def fake_record(rank, rows, estimate_seconds):
    timer = StageTimer()
    timer.seconds.update({"read": 1.0, "estimate": estimate_seconds, "wait": 0.5})
    timer.count("rows", rows)
    timer.count("chunks", 2)
    with timer.piece(f"p{rank}"):
        with timer.stage("write"):
            pass
    return timer.record(rank)


def test_summary_statistics_over_ranks():
    records = [fake_record(r, rows, est) for r, (rows, est) in enumerate([(100, 9.0), (100, 3.0), (200, 6.0)])]
    profile = summarize(records, wall_seconds=20.0, extra={"estimator": "bpz"})
    assert profile["total_rows"] == 400
    assert profile["objects_per_second"] == pytest.approx(20.0)
    assert profile["stages"]["estimate"] == pytest.approx(
        {"min": 3.0, "median": 6.0, "max": 9.0, "mean": 6.0, "ranks": 3}, abs=1e-3)
    # busy time excludes plan and wait: 10, 4, 7 -> max/mean = 10/7
    assert profile["load_imbalance"] == pytest.approx(10.0 / 7.0, rel=1e-3)
    assert [r["rows"] for r in profile["per_rank"]] == [100, 100, 200]
    assert profile["per_rank"][0]["objects_per_second"] == pytest.approx(10.0, rel=1e-3)
    assert profile["counters"]["chunks"] == 6
    json.dumps(profile)
    text = format_summary(profile)
    assert "400 in 20.0 s wall" in text and "imbalance  1.429" in text and "bpz" in text


def test_the_timeline_is_a_table_beside_the_profile_and_draws(tmp_path):
    records = [fake_record(0, 10, 1.0), fake_record(1, 10, 2.0)]
    for record in records:
        record["timeline"].append({"piece": "", "start": 9.0, "end": 9.5, "stages": {"wait": 0.5}})
    profile = summarize(records, wall_seconds=3.0)
    assert all("timeline" not in rank for rank in profile["ranks"]) and profile["timeline_file"] == TIMELINE_FILE
    write_timeline(tmp_path / TIMELINE_FILE, records)
    table = load_timeline(tmp_path, profile)
    assert table["rank"].to_pylist() == [0, 0, 1, 1] and table["piece"].to_pylist() == ["p0", "", "p1", ""]
    assert table["wait"].to_pylist() == [0.0, 0.5, 0.0, 0.5] and table["end"].to_pylist()[1] == 9.5
    old_style = summarize(records, wall_seconds=3.0)  # a run made before the table: its profile held the timeline
    old_style.pop("timeline_file")
    old_style["ranks"] = records
    assert load_timeline(tmp_path / "elsewhere", old_style).equals(table)
    plot_timeline(profile, table, tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_lines_in_a_batch_log():
    now = [0.0]
    out = io.StringIO()
    reporter = ProgressReporter(1000, out, interactive=False, interval=10.0, clock=lambda: now[0])
    now[0] = 5.0
    reporter.update(100)
    assert out.getvalue() == ""  # not due yet
    now[0] = 10.0
    reporter.update(250)
    assert out.getvalue() == "progress: 250/1,000 objects (25.0%), 25 objects/s, 0:00:30 left, 0:00:10 elapsed\n"
    reporter.finish()
    assert out.getvalue().count("\n") == 2


def test_progress_bar_on_a_terminal():
    now = [0.0]
    out = io.StringIO()
    reporter = ProgressReporter(100, out, interactive=True, interval=30.0, clock=lambda: now[0])
    now[0] = 1.0
    reporter.update(50)
    assert out.getvalue().startswith("\r[###############...............]  50.0% 50/100")
