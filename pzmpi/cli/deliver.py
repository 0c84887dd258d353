"""Stage IV commands: ``pzmpi publish``, ``package`` and ``verify-package``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pzmpi.cli.common import RELEASES_HELP, agree_then_run
from pzmpi.core.threads import pin_threads


def add_commands(commands: argparse._SubParsersAction) -> None:
    publish = commands.add_parser("publish", help="finished runs, one per code, as one HATS catalog keyed by "
                                                  "objectId, for lsdb (launch with mpiexec/srun; docs/publish.md)")
    publish.add_argument("runs", nargs="*", help="run folders, one per code (default, with --release: the newest "
                                                 "run of each code in the release's record)")
    publish.add_argument("--out", required=True, help="the collection's folder (replaced when it exists)")
    publish.add_argument("--name", default="object_photoz", help="the catalog's name (default: object_photoz, "
                                                                  "as Rubin's DP1 table)")
    publish.add_argument("--max-rows", type=int, default=1_000_000, help="most objects in a partition "
                                                                          "(default 1,000,000)")
    publish.add_argument("--order", type=int, default=8, help="finest HEALPix order of the partitions (default 8)")
    publish.add_argument("--like", default="", help="a HATS Object catalog whose partitions to use, so that "
                                                    "joining the two needs no margin")
    publish.add_argument("--pdf-levels", nargs="*", default=[], metavar="CODE=LEVELS",
                         help="levels (256, 128 or 64) of each grid value in a code's compact PDF (qp "
                              "packed_interp); default 256 for lephare, 128 for the others (bench/compact_pdfs.py)")
    publish.add_argument("--allow-incomplete", action="store_true", help="publish runs with failed pieces; their "
                                                                         "objects lack that code's columns")
    add_release_options(publish, "the release whose runs to publish (when none are named); the table is entered "
                                 "in its record")
    publish.set_defaults(handler=publish_command)

    package = commands.add_parser("package", help="the delivery folder: table, full PDFs, reports, metadata, "
                                                  "MANIFEST.sha256 (launch with mpiexec/srun; docs/package.md)")
    package.add_argument("runs", nargs="*", help="the run folder of each code in the table (default, with "
                                                 "--release: the runs of its newest table)")
    package.add_argument("--table", default="", help="the folder 'pzmpi publish' wrote (default, with --release: "
                                                     "its newest table)")
    package.add_argument("--out", required=True, help="the package's folder (an older package there is replaced)")
    package.add_argument("--reports", nargs="*", default=[], help="more report folders to include (pzmpi evaluate's; "
                                                                  "default, with --release: its newest validation)")
    add_release_options(package, "the release whose Stage I provenance and training sets go into metadata.json, "
                                 "whose newest table is packaged when none is named, and whose record gets the "
                                 "package")
    package.set_defaults(handler=package_command)

    verify = commands.add_parser("verify-package", help="check a delivery package: checksums, files, the table's "
                                                        "validity and objects (launch with mpiexec/srun)")
    verify.add_argument("folder", help="the package's folder")
    verify.add_argument("--catalog", nargs="*", default=[], help="the release's skinny or Object catalog files: "
                                                                 "every objectId must be in the table once")
    verify.add_argument("--id-column", default="objectId", help="the catalog's id column (default objectId)")
    add_release_options(verify, "check the objectIds against this release's newest skinny table (in place of "
                                "--catalog)")
    verify.set_defaults(handler=verify_package_command)


def add_release_options(parser: argparse.ArgumentParser, meaning: str) -> None:
    parser.add_argument("--release", default="", help=meaning)
    parser.add_argument("--releases", help=RELEASES_HELP)


def open_release(args: argparse.Namespace) -> tuple[Any, str | None]:
    """The release ``--release`` names (None without it), or the problem that names why it cannot be opened."""
    from pzmpi.core.errors import ConfigError
    from pzmpi.core.release import Release, releases_root

    if not args.release:
        return None, None
    try:
        return Release.open(releases_root(args.releases), args.release), None
    except ConfigError as error:
        return None, str(error)


def publish_command(args: argparse.Namespace, command: str) -> int:
    """Every rank checks the arguments, so all fail alike; rank 0 alone prints."""
    problem = None
    if not 0 <= args.order <= 19:
        problem = f"--order must be 0 to 19, got {args.order}"
    elif args.max_rows < 1:
        problem = f"--max-rows must be at least 1, got {args.max_rows}"
    levels = {}
    for entry in args.pdf_levels:
        code, _, value = entry.partition("=")
        if not code or value not in ("256", "128", "64"):
            problem = f"--pdf-levels {entry!r}: expected CODE=256, CODE=128 or CODE=64"
            break
        levels[code] = int(value)
    pin_threads(1)
    from pzmpi.core import mpi

    release, trouble = open_release(args)
    problem = problem or trouble
    comm = mpi.world()

    def publish() -> int:
        from pzmpi.deliver.publish import PublishSettings, run

        settings = PublishSettings(runs=[Path(r) for r in args.runs], out=Path(args.out), name=args.name,
                                   max_rows=args.max_rows, order=args.order, like=args.like,
                                   pdf_levels=levels, allow_incomplete=args.allow_incomplete, release=release,
                                   command=command)
        return run(settings, comm)

    return agree_then_run(comm, problem, publish)


def package_command(args: argparse.Namespace, command: str) -> int:
    pin_threads(1)
    from pzmpi.core import mpi

    release, problem = open_release(args)
    table, runs = Path(args.table) if args.table else None, [Path(r) for r in args.runs]
    reports = [Path(r) for r in args.reports]
    validation = release.latest_entry("validations") if release is not None and not reports else None
    if validation is not None:
        reports = [Path(validation["folder"])]
    if problem is None and table is None:
        if release is None:
            problem = "name the table (--table) or its release (--release)"
        else:
            from pzmpi.core.errors import ConfigError
            from pzmpi.core.release import latest

            try:
                newest = latest(release, "tables", "published table", f"run 'pzmpi publish --release {release.name}'")
                table, runs = Path(newest["folder"]), runs or [Path(run) for run in newest["runs"]]
            except ConfigError as error:
                problem = str(error)
    comm = mpi.world()

    def package() -> int:
        from pzmpi.deliver.package import PackageSettings, run

        assert table is not None
        settings = PackageSettings(out=Path(args.out), table=table, runs=runs,
                                   reports=reports, release=release, command=command)
        return run(settings, comm)

    return agree_then_run(comm, problem, package)


def verify_package_command(args: argparse.Namespace, command: str) -> int:
    pin_threads(1)
    from pzmpi.core import mpi

    release, problem = open_release(args)
    catalog = list(args.catalog)
    if release is not None and not catalog:
        from pzmpi.core.errors import ConfigError
        from pzmpi.core.release import latest_skinny_files

        try:
            catalog = latest_skinny_files(release)
        except ConfigError as error:
            problem = str(error)
    comm = mpi.world()

    def verify() -> int:
        from pzmpi.deliver.verify_package import VerifySettings, run

        return run(VerifySettings(folder=Path(args.folder), catalog=catalog, id_column=args.id_column), comm)

    return agree_then_run(comm, problem, verify)
