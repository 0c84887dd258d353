"""DR11 projected from measurements: hours per estimator on Santos Dumont and Apolo, output size, against pz-compute.

    python bench/dr11_projection.py --runs RUN_DIR... --many-files DIR [--registry-lookup S] [--table-bytes B]
        [--sdumont-nodes 42] [--sdumont-cores-per-node 48] [--apolo-nodes 26] [--apolo-cores-per-node 78]
        [--speed-sdumont 1.0] [--speed-apolo 1.0]

Every input is a measurement, read from the folders given, apart from the machine
figures, which are arguments; all are printed first.

* ``--runs``: pzmpi run folders, one per estimator (``profile.json``, ``pieces/``), made
  on this machine over the same objects. From each: the core-seconds an object costs
  (read, clean, estimate, summary and write over the rows, summed over ranks), the fixed
  cost of a rank (setup and compile, the slowest rank's), and the bytes an object takes in
  the run's pieces (full PDFs).
* ``--many-files``: the work folder of ``bench/many_files.py``. From it: the core-seconds
  per input file of opening it (``read`` per piece, 20-row files with 991 columns) and of
  writing a piece (``write`` per piece), the planning cost per file when footers are read,
  and the root's finish per piece at the largest finish run.
* ``--registry-lookup``: seconds of the planner's registry lookup at 267,000 files
  (``bench/registry_scale.py``), which replaces reading footers for a release's table.
* ``--table-bytes``: bytes an object and code in the published HATS table
  (``bench/publish_speed.py``).

The model, per estimator, with N cores of relative speed s:

    hours = [fixed + lookup + (objects x core-s per object + files x (open + write)) / (N s) + pieces x finish] / 3600

It assumes a rank per core, perfect balance (a DR11 run gives each of ~2,000 ranks about
130 pieces, which largest-first assignment balances within a piece), the input's row
groups read at this machine's rate, and no wait for the filesystem beyond what the
measured runs saw.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

DR11_OBJECTS = 40e9
DR11_FILES = 267_000
PZ_COMPUTE_HOURS = {"flexzboost": 7.0, "bpz": 9.0, "tpz": 9.0, "lephare": 24 * 24.0}  # REFERENCE.md section 5
PZ_COMPUTE_OUTPUT_TIB = 88.0
PZ_COMPUTE_THREADS = 2032
PER_OBJECT_STAGES = ("read", "clean", "estimate", "summary", "write")
FIXED_STAGES = ("setup", "compile")


@dataclass(frozen=True)
class Measured:
    code: str
    implementation: str
    objects: int
    core_seconds_per_object: float
    fixed_seconds: float
    piece_bytes_per_object: float
    source: str


def measured_run(run_dir: Path) -> Measured:
    profile = json.loads((run_dir / "profile.json").read_text())
    run = json.loads((run_dir / "run.json").read_text())
    ranks = profile["ranks"]
    work = sum(rank["stages"].get(stage, 0.0) for rank in ranks for stage in PER_OBJECT_STAGES)
    fixed = max(sum(rank["stages"].get(stage, 0.0) for stage in FIXED_STAGES) for rank in ranks)
    rows = profile["total_rows"]
    piece_bytes = sum(path.stat().st_size for path in (run_dir / "pieces").glob("*.hdf5"))
    code = str(run.get("estimator", profile.get("estimator", run_dir.name))).lower()
    code = next((name for name in ("flexzboost", "bpz", "tpz", "gpz", "lephare") if name in code), code)
    return Measured(code, profile.get("implementation", "?"), rows, work / rows, fixed, piece_bytes / rows,
                    str(run_dir))


@dataclass(frozen=True)
class PerFile:
    open_seconds: float
    write_seconds: float
    plan_seconds_per_file: float
    finish_seconds_per_piece: float
    finish_pieces: int


def per_file_costs(work: Path) -> PerFile:
    """Per-file costs from bench/many_files.py's runs: the 2-rank run of many small files, the largest finish run."""
    profile = json.loads((work / "run-2" / "profile.json").read_text())
    pieces = profile["counters"]["pieces_done"] or 1
    open_seconds = sum(rank["stages"]["read"] for rank in profile["ranks"]) / pieces
    write_seconds = sum(rank["stages"]["write"] for rank in profile["ranks"]) / pieces
    plan = profile["stages"]["plan"]["max"] * profile["n_ranks"] / pieces
    finishes = sorted(work.glob("finish-*/profile.json"), key=lambda p: int(p.parent.name.split("-")[1]))
    if not finishes:
        raise SystemExit(f"{work}: no finish-N run: run bench/many_files.py with --finish")
    largest = json.loads(finishes[-1].read_text())
    count = largest["counters"]["pieces_done"] + largest["counters"].get("pieces_skipped", 0)
    return PerFile(open_seconds, write_seconds, plan, largest["finish_seconds"] / count, count)


def hours(run: Measured, files: PerFile, cores: int, speed: float, lookup: float) -> float:
    parallel = (DR11_OBJECTS * run.core_seconds_per_object
                + DR11_FILES * (files.open_seconds + files.write_seconds)) / (cores * speed)
    return (run.fixed_seconds + lookup + parallel + DR11_FILES * files.finish_seconds_per_piece) / 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="pzmpi run folders, one per estimator")
    parser.add_argument("--many-files", type=Path, required=True, help="bench/many_files.py's --work folder")
    parser.add_argument("--registry-lookup", type=float, required=True,
                        help="seconds of the planner's lookup of 267,000 files (bench/registry_scale.py)")
    parser.add_argument("--table-bytes", type=float, required=True,
                        help="bytes an object and code in the published table (bench/publish_speed.py)")
    parser.add_argument("--sdumont-nodes", type=int, default=42)
    parser.add_argument("--sdumont-cores-per-node", type=int, default=48)
    parser.add_argument("--apolo-nodes", type=int, default=26)
    parser.add_argument("--apolo-cores-per-node", type=int, default=78)
    parser.add_argument("--speed-sdumont", type=float, default=1.0, help="a core's speed relative to this machine's")
    parser.add_argument("--speed-apolo", type=float, default=1.0, help="a core's speed relative to this machine's")
    args = parser.parse_args()

    runs = [measured_run(run) for run in args.runs]
    files = per_file_costs(args.many_files)
    machines = {"Santos Dumont sequana_cpu": (args.sdumont_nodes * args.sdumont_cores_per_node, args.speed_sdumont,
                                              f"{args.sdumont_nodes} nodes x {args.sdumont_cores_per_node} cores"),
                "Apolo": (args.apolo_nodes * args.apolo_cores_per_node, args.speed_apolo,
                          f"{args.apolo_nodes} nodes x {args.apolo_cores_per_node} ranks")}

    print("assumptions and inputs")
    print(f"  DR11: {DR11_OBJECTS:.3g} objects in {DR11_FILES:,} files, one piece each (REFERENCE.md section 5)")
    for name, (cores, speed, shape) in machines.items():
        print(f"  {name}: {shape} = {cores:,} ranks, one per core, each {speed:g}x this machine's core")
    print(f"  pz-compute's predictions, on {PZ_COMPUTE_THREADS:,} tasks: " + ", ".join(
        f"{code} {h:g} h" for code, h in PZ_COMPUTE_HOURS.items()) + f"; output {PZ_COMPUTE_OUTPUT_TIB:g} TiB a code")
    print(f"  per input file, measured in {args.many_files}: open {1000 * files.open_seconds:.2f} core-ms, "
          f"write a piece {1000 * files.write_seconds:.2f} core-ms, plan from footers "
          f"{1000 * files.plan_seconds_per_file:.2f} core-ms (not paid: planned from the registry, "
          f"{args.registry_lookup:.2f} s on the root); the root's finish {1000 * files.finish_seconds_per_piece:.3f} ms "
          f"a piece (at {files.finish_pieces:,} pieces)")
    print(f"  published table: {args.table_bytes:g} bytes an object and code")
    for run in runs:
        print(f"  {run.code} ({run.implementation}), {run.source}: {run.objects:,} objects, "
              f"{1e6 * run.core_seconds_per_object:.1f} core-us an object, fixed {run.fixed_seconds:.1f} s a rank, "
              f"pieces {run.piece_bytes_per_object:.0f} bytes an object")
        if run.code == "lephare":
            print("    LePHARE's cost grows with its library's models: this is the measured run's library, not "
                  "necessarily the realistic one pz-compute's prediction used")
    print("  the runs read their objects' photometry columns only (a skinny table, or an Object file's few columns); "
          "every rank reads its own files, with no wait for the filesystem beyond what these runs saw")

    names = list(machines)
    print(f"\n{'estimator':<11}" + "".join(f"{name + ' h':>28}" for name in names)
          + f"{'pz-compute h':>14}{'pieces TB':>11}{'table TB':>10}")
    for run in runs:
        projected = [hours(run, files, cores, speed, args.registry_lookup) for cores, speed, _ in machines.values()]
        reference = PZ_COMPUTE_HOURS.get(run.code)
        print(f"{run.code:<11}" + "".join(f"{h:>28.2f}" for h in projected)
              + f"{reference if reference is not None else float('nan'):>14.1f}"
              + f"{DR11_OBJECTS * run.piece_bytes_per_object / 1e12:>11.1f}"
              + f"{DR11_OBJECTS * args.table_bytes / 1e12:>10.2f}")
    print(f"\npz-compute's output: {PZ_COMPUTE_OUTPUT_TIB:g} TiB = {PZ_COMPUTE_OUTPUT_TIB * 2**40 / 1e12:.1f} TB a code")


if __name__ == "__main__":
    main()
