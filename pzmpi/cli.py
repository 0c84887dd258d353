"""The ``pzmpi`` command: a thin face over configuration, engine, training and profile.

The configuration is read and thread counts pinned before numpy, numba or
RAIL are imported.  Configuration errors are printed once (by rank 0) and every
rank exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pzmpi.config import Config, ConfigError, load_config, require_file
from pzmpi.threads import pin_threads

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pzmpi", description="Photo-z tables from LSST Object catalogs, under MPI.")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_config(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("config", help="run configuration (TOML), see docs/configuration.md")
        sub.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                         help="override a configuration key (repeatable), e.g. --set run.rows_per_chunk=5000")
        return sub

    run = with_config("run", "estimate photo-z PDFs for every object (launch with mpiexec/srun)")
    run.add_argument("--output", help="run folder (overrides output.folder)")
    with_config("train", "train the estimator's model with RAIL's informer")

    profile = commands.add_parser("profile", help="summarise a run's profile.json")
    profile.add_argument("run_dir")
    profile.add_argument("--timeline", metavar="PNG", help="also draw a per-rank timeline into this PNG file")
    profile.add_argument("--json", action="store_true", help="print the per-run summary as JSON")

    release = commands.add_parser("release", help="the per-release registry of Stage I (docs/stage1.md)")
    release_commands = release.add_subparsers(dest="release_command", required=True)
    init = release_commands.add_parser("init", help="record a release's catalog files (size, rows, sha256) and "
                                                    "reference schema; under mpiexec the checksums are sharded")
    init.add_argument("name")
    init.add_argument("--catalog", required=True, help="folder of the catalog's parquet files")
    show = release_commands.add_parser("show", help="print a release's record")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="print the whole record as JSON")
    add_file = release_commands.add_parser("add-file", help="register an ancillary file (templates, dust map, "
                                                            "training set...) with its checksum")
    add_file.add_argument("name")
    add_file.add_argument("file")
    add_file.add_argument("--kind", required=True, help="sed_templates, dust_map, training_set, "
                                                        "spectroscopic_catalog, filters or other")
    add_file.add_argument("--description", required=True)
    for sub in (init, show, add_file):
        sub.add_argument("--releases", help="folder of releases (default: $PZMPI_RELEASES, else ./releases)")

    verify = commands.add_parser("verify", help="check a release's catalog: readable, checksums, row counts, "
                                                "schema, unique ids, photometry; JSON and HTML reports "
                                                "(launch with mpiexec/srun; docs/verify.md)")
    verify.add_argument("name", help="release name (see 'pzmpi release init')")
    verify.add_argument("--releases", help="folder of releases (default: $PZMPI_RELEASES, else ./releases)")
    verify.add_argument("--manifest", help="checksums in sha256sum format, names relative to the catalog folder "
                                           "(default: the checksums in the release record)")
    verify.add_argument("--required", nargs="+", metavar="COL",
                        help="required columns, '{band}' expanding to u g r i z y (default: objectId coord_ra "
                             "coord_dec {band}_cModelFlux {band}_cModelFluxErr)")

    skinny = commands.add_parser("skinny", help="reduce a release's Object catalog to skinny parquet tables: ids, "
                                                "positions, AB magnitudes and errors (launch with mpiexec/srun; "
                                                "docs/skinny.md)")
    skinny.add_argument("name", help="release name (see 'pzmpi release init')")
    skinny.add_argument("config", help="skinny configuration (TOML), see docs/skinny.md")
    skinny.add_argument("--releases", help="folder of releases (default: $PZMPI_RELEASES, else ./releases)")
    skinny.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a configuration key (repeatable), e.g. --set output.decimals=4")

    synthetic = commands.add_parser("synthetic", help="write a synthetic Object catalog in the DP0.2 or DP1 "
                                                      "schema (for trying Stage I; docs/stage1.md)")
    synthetic.add_argument("out_dir")
    synthetic.add_argument("--style", choices=("dp02", "dp1"), default="dp1")
    synthetic.add_argument("--files", type=int, default=4, help="number of files, one tract each (default 4)")
    synthetic.add_argument("--rows", type=int, default=100000, help="rows per file (default 100,000)")
    synthetic.add_argument("--seed", type=int, default=0)

    sample = commands.add_parser("sample", help="write the demo catalog (RAIL's DC2 sample as nJy parquet)")
    sample.add_argument("out_dir")
    sample.add_argument("--files", type=int, default=4, help="number of catalog files (default 4)")
    sample.add_argument("--replicas", type=int, default=1, help="repeat the 20,449 rows this many times")
    sample.add_argument("--row-group-rows", type=int, default=2000, help="rows per parquet row group")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "profile":
        return _profile(args)
    if args.command == "sample":
        return _sample(args)
    if args.command == "synthetic":
        return _synthetic(args)
    command = "pzmpi " + " ".join(sys.argv[1:] if argv is None else argv)  # for the release's history
    if args.command == "release":
        return _release(args, command)
    if args.command == "verify":
        return _verify(args, command)
    if args.command == "skinny":
        return _skinny(args, command)
    overrides = list(args.overrides)
    if getattr(args, "output", None):  # relative to the working directory, as any command-line path
        overrides.append(f"output.folder={json.dumps(os.path.abspath(args.output))}")
    if args.command == "run":
        return _run(args.config, overrides)
    try:
        config = load_config(args.config, overrides)
    except ConfigError as error:
        return _config_error(error)
    pin_threads(config.run.threads_per_rank)
    return _train(config)


def _run(config_path: str, overrides: list[str]) -> int:
    """Every rank validates the same configuration, so all fail alike; rank 0 alone prints."""
    from pzmpi import mpi

    comm = mpi.world()
    config, problem = None, None
    try:
        config = load_config(config_path, overrides)
        require_file(config.estimator.model, "estimator.model", config.source)
    except ConfigError as error:
        problem = str(error)
    if config is not None:
        pin_threads(config.run.threads_per_rank)

    def run_engine() -> int:
        from pzmpi import engine

        assert config is not None
        return engine.run(config, comm)

    return _agree_then_run(comm, problem, run_engine)  # a file one node cannot see must not leave the others waiting


def _agree_then_run(comm: Any, problem: str | None, job: Callable[[], int]) -> int:
    """Collective: all ranks learn whether any found a configuration problem, then run ``job`` or exit 2 alike.

    ``job`` runs under the exception guard: an exception on any rank aborts the
    whole job. A problem is printed once, by rank 0.
    """
    from pzmpi import mpi

    try:
        mpi.agree(comm, problem)
        with mpi.exception_guard(comm):
            return job()
    except mpi.AgreedError as error:
        return _config_error(error, printing=comm.Get_rank() == mpi.ROOT)
    return 1  # pragma: no cover - exception_guard aborts


def _train(config: Config) -> int:
    from pzmpi.errors import InputFileError
    from pzmpi.train import train

    try:
        model = train(config)
    except (ConfigError, InputFileError) as error:
        return _config_error(error)
    print(f"pzmpi: model written to {model}")
    return 0


def _profile(args: argparse.Namespace) -> int:
    from pzmpi.profiling import format_summary, load_profile, plot_timeline

    try:
        profile = load_profile(args.run_dir)
    except FileNotFoundError as error:
        return _config_error(error)
    if args.json:
        print(json.dumps({k: v for k, v in profile.items() if k != "ranks"}, indent=1))
    else:
        print(format_summary(profile))
    if args.timeline:
        plot_timeline(profile, args.timeline)
        print(f"timeline written to {args.timeline}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from pzmpi.sample import make_sample

    written = make_sample(Path(args.out_dir), args.files, args.replicas, args.row_group_rows)
    print(f"pzmpi: {len(written['catalog'])} catalog files in {Path(args.out_dir) / 'catalog'}, "
          f"training table {written['training'][0]}")
    return 0


def _release(args: argparse.Namespace, command: str) -> int:
    from pzmpi import mpi
    from pzmpi.release import Release, format_release, init_release, releases_root

    root = releases_root(args.releases)
    if args.release_command == "init":
        comm = mpi.world()
        try:
            with mpi.exception_guard(comm):
                release = init_release(comm, root, args.name, Path(args.catalog), command)
        except mpi.AgreedError as error:
            return _config_error(error, printing=comm.Get_rank() == mpi.ROOT)
        if release is not None:
            print(format_release(release.record))
        return 0
    try:
        release = Release.open(root, args.name)
        if args.release_command == "add-file":
            entry = release.add_file(Path(args.file), args.kind, args.description, command)
            print(f"pzmpi: {entry['path']} registered in release {release.name} (sha256 {entry['sha256']})")
            return 0
    except ConfigError as error:
        return _config_error(error)
    print(json.dumps(release.record, indent=1) if args.json else format_release(release.record))
    return 0


def _verify(args: argparse.Namespace, command: str) -> int:
    """Every rank opens the release and checks the options, so all fail alike; rank 0 alone prints."""
    pin_threads(1)
    from pzmpi import mpi, verify
    from pzmpi.release import Release, releases_root

    comm = mpi.world()
    release, options, problem = None, None, None
    try:
        release = Release.open(releases_root(args.releases), args.name)
        options = verify.resolve_options(args.manifest, args.required)
    except ConfigError as error:
        problem = str(error)

    def check_release() -> int:
        assert release is not None and options is not None
        return verify.run(comm, release, options, command)

    return _agree_then_run(comm, problem, check_release)


def _skinny(args: argparse.Namespace, command: str) -> int:
    """Every rank reads the configuration and opens the release, so all fail alike; rank 0 alone prints."""
    from pzmpi.skinny_config import load_skinny_config

    config, problem = None, None
    try:
        config = load_skinny_config(args.config, args.overrides)
    except ConfigError as error:
        problem = str(error)
    pin_threads(config.threads_per_rank if config is not None else 1)
    from pzmpi import mpi
    from pzmpi.release import Release, releases_root

    comm = mpi.world()
    release = None
    try:
        if problem is None:
            release = Release.open(releases_root(args.releases), args.name)
    except ConfigError as error:
        problem = str(error)

    def make_tables() -> int:
        from pzmpi import skinny

        assert config is not None and release is not None
        return skinny.run(config, release, comm, command)

    return _agree_then_run(comm, problem, make_tables)


def _synthetic(args: argparse.Namespace) -> int:
    from pzmpi.synthetic import write_catalog

    paths = write_catalog(Path(args.out_dir), args.style, args.files, args.rows, args.seed)
    print(f"pzmpi: {len(paths)} {args.style}-style files of {args.rows:,} rows in {args.out_dir}")
    return 0


def _config_error(error: Exception, printing: bool = True) -> int:
    if printing:
        print(f"pzmpi: error: {error}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
