"""``pzmpi status``'s reading of heartbeats, without MPI: progress, ETA, slow and silent ranks, killed runs."""

from __future__ import annotations

from pathlib import Path

from pzmpi.compute.status import assess, format_status

PLAN = {"total_rows": 4000, "n_ranks": 4}


def beat(rank: int, done: int, rate: float, age: float, state: str = "running", host: str = "node1") -> dict:
    return {"rank": rank, "host": host, "pid": 100 + rank, "state": state, "rows_done": done, "rows_assigned": 1000,
            "piece": f"p{rank}", "rows_per_second": rate, "failures": rank == 2, "rss_bytes": 2**30,
            "interval": 10.0, "started": 0.0, "time": 1000.0 - age}


def test_a_slow_and_a_silent_rank_are_flagged_and_the_eta_is_the_slowest_ranks():
    beats = [beat(0, 1000, 100.0, 1, state="finished"), beat(1, 500, 90.0, 1), beat(2, 500, 30.0, 2, host="node2"),
             beat(3, 400, 80.0, 45)]
    status = assess(PLAN, beats, now=1000.0)
    flags = {rank["rank"]: rank["flags"] for rank in status["ranks"]}
    assert flags == {0: [], 1: [], 2: ["slow"], 3: ["silent"]}
    assert status["rows_done"] == 2400 and status["failures"] == 1 and status["state"] == "running"
    assert status["eta_seconds"] == 500 / 30.0  # the slowest working rank's remaining rows at its rate
    assert status["memory_per_host"] == {"node1": 3 * 2**30, "node2": 2**30}
    assert assess(PLAN, beats, now=1000.0, silent_after=60.0)["flagged"] == [2]
    text = format_status(Path("run"), status)
    assert "rank 2 on node2: slow; 30 objects/s, 500/1,000 done" in text and "node2: 1.00 GiB" in text


def test_finished_stopped_and_killed_runs_say_so():
    done = [beat(r, 1000, 100.0, 500, state="finished") for r in range(4)]
    assert assess(PLAN, done, now=1000.0)["state"] == "finished"
    assert assess(PLAN, done, now=1000.0)["flagged"] == []
    stopped = done[:3] + [beat(3, 200, 100.0, 500, state="stopped")]
    assert assess(PLAN, stopped, now=1000.0)["state"].startswith("stopped (SIGTERM)")
    killed = done[:2] + [beat(2, 300, 100.0, 500), beat(3, 300, 100.0, 600)]
    assert assess(PLAN, killed, now=1000.0)["state"].startswith("not running")
    assert assess(PLAN, [], now=1000.0)["state"].startswith("planned")


def test_a_rank_in_a_long_chunk_is_silent_only_past_several_of_its_longest_chunks():
    """A rank cannot beat mid-chunk: 45 s without a beat is silence for 10 s chunks, not for 20 s ones."""
    short, long = beat(1, 500, 90.0, 45), {**beat(3, 400, 80.0, 45), "longest_gap": 20.0}
    flags = {rank["rank"]: rank["flags"] for rank in assess(PLAN, [short, long], now=1000.0)["ranks"]}
    assert flags == {1: ["silent"], 3: []}
    assert assess(PLAN, [{**long, "time": 1000.0 - 61.0}], now=1000.0)["flagged"] == [3]


def test_a_rank_is_judged_slow_only_once_it_has_done_a_chunk():
    starting = [beat(0, 300, 100.0, 1), beat(1, 0, 0.0, 1), beat(2, 280, 90.0, 1), beat(3, 20, 5.0, 1)]
    assert assess(PLAN, starting, now=1000.0)["flagged"] == [3]
