"""The engine under mpiexec: rank independence, failures that end the job, bad inputs that do not."""

from __future__ import annotations

import filecmp
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import mpi_environment, object_input, run_pzmpi, write_config

from pzmpi.core.stopping import EXIT_STOPPED

pytestmark = pytest.mark.mpi


def run_config(folder: Path, sample: Path, model: Path, name: str = "flexzboost", **overrides) -> Path:
    sections = dict(input=object_input(str(sample / "catalog")),
                    estimator={"name": name, "model": str(model)},
                    output={"folder": "run"},
                    run={"rows_per_chunk": 1500, "max_rows_per_piece": 4000})
    for section, values in overrides.items():
        sections[section] = {**sections.get(section, {}), **values}
    return write_config(folder / "run.toml", **sections)


@pytest.mark.parametrize("key", ["bpz", "tpz", "gpz"])
def test_every_native_estimator_writes_the_same_bytes_on_1_and_3_ranks(tmp_path, sample, models, key):
    """FlexZBoost is covered below with 1, 2 and 4 ranks; the other native codes with 1 and 3."""
    runs = {}
    for ranks in (1, 3):
        folder = tmp_path / f"n{ranks}"
        config = run_config(folder, sample, models[key], name=key)
        result = run_pzmpi(["run", str(config)], ranks=ranks, cwd=folder)
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads((folder / "run" / "profile.json").read_text())["implementation"] == "native"
        runs[ranks] = folder / "run"
    names = sorted(p.name for p in (runs[1] / "pieces").iterdir())
    assert len(names) == 8 and names == sorted(p.name for p in (runs[3] / "pieces").iterdir())
    for name in names + ["../index.hdf5"]:
        assert filecmp.cmp(runs[1] / "pieces" / name, runs[3] / "pieces" / name, shallow=False), name


def test_outputs_are_bitwise_identical_for_1_2_and_4_ranks(tmp_path, sample, models):
    runs = {}
    for ranks in (1, 2, 4):
        folder = tmp_path / f"n{ranks}"
        config = run_config(folder, sample, models["flexzboost"])
        result = run_pzmpi(["run", str(config)], ranks=ranks, cwd=folder)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "progress: 20,449/20,449 objects (100.0%)" in result.stderr  # rank 0's batch-log progress
        runs[ranks] = folder / "run"
        plan = json.loads((folder / "run" / "plan.json").read_text())
        assert plan["n_ranks"] == ranks and plan["total_rows"] == 20449
        assert len(plan["pieces"]) == 8  # each 5,112-row file is cut in two at a row-group boundary
    names = sorted(p.name for p in (runs[1] / "pieces").iterdir())
    assert len(names) == 8 and not any(n.endswith(".inprogress") for n in names)
    for ranks in (2, 4):
        assert sorted(p.name for p in (runs[ranks] / "pieces").iterdir()) == names
        for name in names:
            assert filecmp.cmp(runs[1] / "pieces" / name, runs[ranks] / "pieces" / name, shallow=False), name
    for ranks in (2, 4):
        assert filecmp.cmp(runs[1] / "index.hdf5", runs[ranks] / "index.hdf5", shallow=False)
    with h5py.File(runs[4] / "index.hdf5") as index:
        ids = index["ancil/objectId"][()]
        assert len(ids) == 20449 and len(np.unique(ids)) == 20449
        assert index["data/yvals"].dtype == np.float32
    profile = json.loads((runs[4] / "profile.json").read_text())
    assert profile["n_ranks"] == 4 and profile["total_rows"] == 20449 and profile["implementation"] == "native"
    assert sum(r["rows"] for r in profile["per_rank"]) == 20449
    assert all(r["peak_rss_bytes"] > 0 for r in profile["per_rank"])
    timeline = pq.read_table(runs[4] / profile["timeline_file"]).to_pydict()  # a row per piece, beside the profile
    assert sorted(piece for piece in timeline["piece"] if piece) == sorted(names)
    assert set(timeline["rank"]) == {0, 1, 2, 3} and all("timeline" not in rank for rank in profile["ranks"])
    summary = run_pzmpi(["profile", str(runs[4]), "--timeline", str(tmp_path / "t.png")])
    assert summary.returncode == 0 and "20,449" in summary.stdout and (tmp_path / "t.png").is_file()

    # the results report: the same JSON whatever the ranks, and after a run killed and resumed
    for ranks in (1, 2, 4):
        assert filecmp.cmp(runs[1] / "summary.hdf5", runs[ranks] / "summary.hdf5", shallow=False)
        assert run_pzmpi(["report", str(runs[ranks])]).returncode == 0
    reports = {ranks: (runs[ranks] / "report" / "results.json").read_text() for ranks in (1, 2, 4)}
    assert reports[1] == reports[2] == reports[4]
    resumed = tmp_path / "resumed"
    shutil.copytree(runs[2].parent, resumed)
    for name in names[::3]:  # what a kill leaves: some pieces finished, the rest not, no summary of the run
        (resumed / "run" / "pieces" / name).unlink()
    (resumed / "run" / "summary.hdf5").unlink()
    result = run_pzmpi(["run", str(resumed / "run.toml")], ranks=3, cwd=resumed)
    assert result.returncode == 0, result.stderr
    profile = json.loads((resumed / "run" / "profile.json").read_text())
    assert profile["counters"]["pieces_skipped"] == len(names) - len(names[::3])
    assert run_pzmpi(["report", str(resumed / "run")]).returncode == 0
    assert (resumed / "run" / "report" / "results.json").read_text() == reports[1]
    # its stacked N(z) is the mean of every PDF in the pieces, read afterwards
    document = json.loads(reports[1])
    with h5py.File(runs[1] / "index.hdf5") as index:
        pdfs = index["data/yvals"][()].astype(np.float64)
        tomo = index["ancil/tomo_bin"][()]
    np.testing.assert_allclose(document["nz"]["stacked"], pdfs.mean(axis=0), rtol=1e-12, atol=1e-15)
    for entry in document["tomography"]["bins"]:
        chosen = tomo == entry["index"]
        assert entry["objects"] == int(chosen.sum())
        np.testing.assert_allclose(entry["nz"], pdfs[chosen].mean(axis=0), rtol=1e-12, atol=1e-15)
    assert document["tomography"]["unassigned"] == int((tomo == -99).sum())
    assert document["counts"]["objects"] == 20449 and document["counts"]["nondetections"]["u"] == 1489


def test_exception_on_the_last_rank_ends_the_job_quickly(tmp_path, sample, models):
    folder = tmp_path / "faulty"
    model_config = write_config(folder / "train.toml", input=object_input(str(sample / "catalog")),
                                estimator={"name": "faulty_estimator.LastRankFailsEstimator", "model": "model.pkl"},
                                training={"input": str(sample / "training.parquet")}, output={"folder": "run"})
    assert run_pzmpi(["train", str(model_config)]).returncode == 0
    start = time.monotonic()
    result = run_pzmpi(["run", str(model_config)], ranks=4, cwd=folder, timeout=120)
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert "[rank 3@" in result.stderr and "injected failure on the last rank" in result.stderr
    assert elapsed < 60, f"the job took {elapsed:.0f} s to end after the failure"
    # ranks killed by the abort leave only '.inprogress' files, never a partial file under a final name
    pieces = folder / "run" / "pieces"
    for finished in pieces.glob("*.hdf5"):
        with h5py.File(finished) as handle:
            assert "result_key" in handle.attrs and len(handle["ancil/objectId"]) > 0
    # and the next run clears every leftover before any rank writes, even one no piece would overwrite
    (pieces / "not_a_piece_of_this_plan.hdf5.inprogress").write_bytes(b"partial")
    result = run_pzmpi(["run", str(model_config), "--set", "estimator.name=bpz", "--set",
                        f"estimator.model={models['bpz']!s}"], ranks=1, cwd=folder, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not list(pieces.glob("*.inprogress"))


def test_configuration_error_is_printed_once_and_every_rank_exits_2(tmp_path, sample, models):
    config = run_config(tmp_path, sample, models["bpz"], name="bpz", run={"rows_per_chunck": 10})
    result = run_pzmpi(["run", str(config)], ranks=2, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("unknown key 'run.rows_per_chunck'") == 1


def test_missing_model_is_a_clear_error(tmp_path, sample):
    config = run_config(tmp_path, sample, tmp_path / "absent.pkl", name="bpz")
    result = run_pzmpi(["run", str(config)], ranks=2, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("'estimator.model' points to a missing file") == 1


def test_bad_files_sink_only_themselves_and_a_rerun_resumes(tmp_path, sample, models):
    catalog = tmp_path / "catalog"
    shutil.copytree(sample / "catalog", catalog)
    (catalog / "zz_truncated.parquet").write_bytes((catalog / "dc2_object_000.parquet").read_bytes()[:5000])
    table = pq.read_table(catalog / "dc2_object_001.parquet").drop_columns(["g_cModelFlux"])
    pq.write_table(table, catalog / "dc2_object_001.parquet", row_group_size=2000)
    config = run_config(tmp_path, sample, models["bpz"], name="bpz", input={"paths": str(catalog)})
    result = run_pzmpi(["run", str(config)], ranks=2, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    log = result.stdout + result.stderr
    assert "zz_truncated.parquet" in log and "dc2_object_001.parquet: missing column(s) g_cModelFlux" in log
    pieces = tmp_path / "run" / "pieces"
    done = sorted(p.name for p in pieces.iterdir())
    assert done == ["dc2_object_000.rows0-4000.hdf5", "dc2_object_000.rows4000-5112.hdf5",
                    "dc2_object_002.rows0-4000.hdf5", "dc2_object_002.rows4000-5112.hdf5",
                    "dc2_object_003.rows0-4000.hdf5", "dc2_object_003.rows4000-5113.hdf5"]
    profile = json.loads((tmp_path / "run" / "profile.json").read_text())
    assert {Path(f["input_file"]).name for f in profile["failures"]} == {"zz_truncated.parquet", "dc2_object_001.parquet"}

    # fix the file and run again: the finished pieces are kept, only the missing ones are computed
    shutil.copy(sample / "catalog" / "dc2_object_001.parquet", catalog / "dc2_object_001.parquet")
    (catalog / "zz_truncated.parquet").unlink()
    before = {name: (pieces / name).stat().st_mtime_ns for name in done}
    result = run_pzmpi(["run", str(config)], ranks=2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {name: (pieces / name).stat().st_mtime_ns for name in done} == before
    profile = json.loads((tmp_path / "run" / "profile.json").read_text())
    assert profile["counters"]["pieces_skipped"] == len(done)
    assert profile["counters"]["pieces_done"] == 8 - len(done)
    with h5py.File(tmp_path / "run" / "index.hdf5") as index:
        assert len(index["ancil/objectId"]) == 20449

    # the key of a result is what decides its numbers: the same model elsewhere skips everything...
    shutil.copy(models["bpz"], tmp_path / "model.pkl")
    moved = run_config(tmp_path, sample, tmp_path / "model.pkl", name="bpz", input={"paths": str(catalog)},
                       run={"rows_per_chunk": 999})
    assert run_pzmpi(["run", str(moved)], ranks=2, cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "run" / "profile.json").read_text())["counters"]["pieces_skipped"] == 8
    # ...and a retrained model under the same path and configuration recomputes everything
    model = pickle.loads((tmp_path / "model.pkl").read_bytes())
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(model, protocol=2))
    assert run_pzmpi(["run", str(moved)], ranks=2, cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "run" / "profile.json").read_text())["counters"]["pieces_done"] == 8
    # a file that breaks takes its stale results out of the index with it
    pq.write_table(table, catalog / "dc2_object_001.parquet", row_group_size=2000)
    assert run_pzmpi(["run", str(moved)], ranks=2, cwd=tmp_path).returncode == 3
    assert not list(pieces.glob("dc2_object_001*"))
    with h5py.File(tmp_path / "run" / "index.hdf5") as index:
        assert len(index["ancil/objectId"]) == 20449 - 5112


def rank_processes(launcher: int) -> list[int]:
    """The pids of the ranks ``mpiexec`` (pid ``launcher``) started: its descendants running pzmpi."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])  # "pid (command) state ppid ..."
        except OSError:
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [launcher]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            if b"pzmpi" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
    return found


def test_sigterm_stops_every_rank_cleanly_and_the_next_run_finishes_the_same(tmp_path, sample):
    configs = {name: run_config(tmp_path / name, sample, tmp_path / "model.pkl", name="slow_estimator.SlowEstimator",
                                training={"input": str(sample / "training.parquet")}, run={"rows_per_chunk": 500})
               for name in ("reference", "stopped")}  # the same configuration, run in two folders
    assert run_pzmpi(["train", str(configs["reference"])]).returncode == 0
    assert run_pzmpi(["run", str(configs["reference"])], ranks=2).returncode == 0
    folder, config, reference = tmp_path / "stopped", configs["stopped"], tmp_path / "reference" / "run"

    command = ["mpiexec", "-n", "2", sys.executable, "-m", "pzmpi", "run", str(config)]
    job = subprocess.Popen(command, cwd=folder, env=mpi_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    pieces = folder / "run" / "pieces"
    deadline = time.monotonic() + 120
    while not list(pieces.glob("*.hdf5")) and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # until the first piece is finished: the run is in the middle of its work
    ranks = rank_processes(job.pid)
    assert len(ranks) == 2 and job.poll() is None
    signalled = time.monotonic()
    for pid in ranks:  # as Slurm signals every process of the job at its time limit
        os.kill(pid, signal.SIGTERM)
    out, err = job.communicate(timeout=60)
    assert job.returncode == EXIT_STOPPED, out + err
    assert time.monotonic() - signalled < 20
    assert "SIGTERM received" in out and "run the same command again" in out, out
    finished = sorted(p.name for p in pieces.glob("*.hdf5"))
    assert 0 < len(finished) < 8 and not list(pieces.glob("*.inprogress"))
    for name in finished:  # every file under a final name is a whole piece
        assert filecmp.cmp(pieces / name, reference / "pieces" / name, shallow=False), name
    profile = json.loads((folder / "run" / "profile.json").read_text())
    assert profile["stopped_ranks"] == {"0": "SIGTERM", "1": "SIGTERM"}

    result = run_pzmpi(["run", str(config)], ranks=2, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert json.loads((folder / "run" / "profile.json").read_text())["counters"]["pieces_skipped"] == len(finished)
    assert sorted(p.name for p in pieces.iterdir()) == sorted(p.name for p in (reference / "pieces").iterdir())
    for name in [*(p.name for p in pieces.iterdir()), "../index.hdf5", "../summary.hdf5"]:
        assert filecmp.cmp(pieces / name, reference / "pieces" / name, shallow=False), name


def test_status_flags_a_slow_rank_while_the_run_goes_and_heartbeats_stop_after_it(tmp_path, sample):
    config = run_config(tmp_path, sample, tmp_path / "model.pkl", name="slow_estimator.OneSlowRankEstimator",
                        training={"input": str(sample / "training.parquet")},
                        run={"rows_per_chunk": 500, "heartbeat_interval": 0.2})
    assert run_pzmpi(["train", str(config)]).returncode == 0
    job = subprocess.Popen(["mpiexec", "-n", "4", sys.executable, "-m", "pzmpi", "run", str(config)], cwd=tmp_path,
                           env=mpi_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: dict = {}
    deadline = time.monotonic() + 120
    def slow_rank_flagged(status: dict) -> bool:
        flags = {rank["rank"]: rank["flags"] for rank in status.get("ranks", [])}
        return status.get("state") == "running" and "slow" in flags.get(3, [])

    while job.poll() is None and time.monotonic() < deadline and not slow_rank_flagged(seen):
        time.sleep(0.3)
        result = run_pzmpi(["status", str(tmp_path / "run"), "--json"])
        if result.returncode == 0:  # 2 until the plan is written
            seen = json.loads(result.stdout)
    assert seen.get("flagged") == [3], seen  # the slow rank, and only it, while the run goes
    assert "slow" in next(rank for rank in seen["ranks"] if rank["rank"] == 3)["flags"]
    assert seen["state"] == "running" and 0 < seen["rows_done"] < 20449 and seen["memory_per_host"]
    assert job.wait(timeout=120) == 0

    text = run_pzmpi(["status", str(tmp_path / "run")]).stdout
    assert "state      finished" in text and "20,449/20,449 objects (100.0%)" in text and "flagged" not in text
    beats = sorted((tmp_path / "run" / "status").glob("rank*.json"))
    assert len(beats) == 4 and all(json.loads(b.read_text())["state"] == "finished" for b in beats)
    written = [b.stat().st_mtime_ns for b in beats]
    time.sleep(1.0)  # five heartbeat intervals: nothing writes them any more
    assert [b.stat().st_mtime_ns for b in beats] == written
