"""Stage III commands: ``pzmpi run`` and ``pzmpi profile``."""

from __future__ import annotations

import argparse
import json
import os

from pzmpi.cli.common import add_overrides, agree_then_run, usage_error
from pzmpi.core.errors import ConfigError
from pzmpi.core.threads import pin_threads
from pzmpi.core.tomlconfig import require_file
from pzmpi.estimators.config import load_config


def add_commands(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="estimate photo-z PDFs for every object (launch with mpiexec/srun)")
    run.add_argument("config", help="photo-z configuration (TOML), see docs/configuration.md")
    run.add_argument("--output", help="run folder (overrides output.folder)")
    add_overrides(run)
    run.set_defaults(handler=run_command)

    profile = commands.add_parser("profile", help="summarise a run's profile.json")
    profile.add_argument("run_dir")
    profile.add_argument("--timeline", metavar="PNG", help="also draw a per-rank timeline into this PNG file")
    profile.add_argument("--json", action="store_true", help="print the per-run summary as JSON")
    profile.set_defaults(handler=profile_command)

    status = commands.add_parser("status", help="a run's progress, ETA, slow or silent ranks, failures and memory "
                                                "per node, from its ranks' heartbeats (any node, any time)")
    status.add_argument("run_dir")
    status.add_argument("--watch", type=float, metavar="SECONDS", help="refresh every SECONDS until the run ends")
    status.add_argument("--silent-after", type=float, metavar="SECONDS",
                        help="flag a working rank silent past this (default: 3 of its heartbeat intervals)")
    status.add_argument("--json", action="store_true", help="print the assessment as JSON")
    status.set_defaults(handler=status_command)

    report = commands.add_parser("report", help="write a finished run's results report (results.json, results.html)")
    report.add_argument("run_dir")
    report.add_argument("--output", help="folder of the report (default: RUN_DIR/report)")
    report.set_defaults(handler=report_command)


def run_command(args: argparse.Namespace, command: str) -> int:
    """Every rank validates the same configuration, so all fail alike; rank 0 alone prints."""
    from pzmpi.core import mpi

    overrides = list(args.overrides)
    if args.output:  # relative to the working directory, as any command-line path
        overrides.append(f"output.folder={json.dumps(os.path.abspath(args.output))}")
    comm = mpi.world()
    config, problem = None, None
    try:
        config = load_config(args.config, overrides)
        require_file(config.estimator.model, "estimator.model", config.source)
    except ConfigError as error:
        problem = str(error)
    if config is not None:
        pin_threads(config.run.threads_per_rank)

    def run_engine() -> int:
        from pzmpi.compute import engine

        assert config is not None
        return engine.run(config, comm, command)

    return agree_then_run(comm, problem, run_engine)  # a file one node cannot see must not leave the others waiting


def profile_command(args: argparse.Namespace, command: str) -> int:
    from pzmpi.core.profiling import format_summary, load_profile, load_timeline, plot_timeline

    try:
        profile = load_profile(args.run_dir)
    except FileNotFoundError as error:
        return usage_error(error)
    if args.json:
        print(json.dumps({k: v for k, v in profile.items() if k != "ranks"}, indent=1))
    else:
        print(format_summary(profile))
    if args.timeline:
        plot_timeline(profile, load_timeline(args.run_dir, profile), args.timeline)
        print(f"timeline written to {args.timeline}")
    return 0


def status_command(args: argparse.Namespace, command: str) -> int:
    import time
    from pathlib import Path

    from pzmpi.compute.status import assess, format_status, read_status

    run_dir = Path(args.run_dir)
    while True:
        try:
            plan, beats = read_status(run_dir)
        except FileNotFoundError as error:
            return usage_error(error)
        status = assess(plan, beats, time.time(), args.silent_after)
        print(json.dumps(status, indent=1) if args.json else format_status(run_dir, status), flush=True)
        if not args.watch or status["state"] != "running":
            return 0
        time.sleep(args.watch)
        print()


def report_command(args: argparse.Namespace, command: str) -> int:
    from pathlib import Path

    from pzmpi.compute.report import write_results

    try:
        json_path, html_path = write_results(Path(args.run_dir), Path(args.output) if args.output else None)
    except ConfigError as error:
        return usage_error(error)
    print(f"pzmpi: results report {html_path} (numbers: {json_path})")
    return 0
