"""Stage I commands: ``pzmpi release`` (init, show, add-file), ``pzmpi verify`` and ``pzmpi skinny``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pzmpi.cli.common import RELEASES_HELP, add_overrides, agree_then_run, usage_error
from pzmpi.core.errors import ConfigError
from pzmpi.core.release import Release, format_release, releases_root
from pzmpi.core.threads import pin_threads


def add_commands(commands: argparse._SubParsersAction) -> None:
    release = commands.add_parser("release", help="the per-release registry of Stage I (docs/stage1.md)")
    release_commands = release.add_subparsers(dest="release_command", required=True)
    init = release_commands.add_parser("init", help="record a release's catalog files (size, rows, sha256) and "
                                                    "reference schema; under mpiexec the checksums are sharded")
    init.add_argument("name")
    init.add_argument("--catalog", required=True, help="folder of the catalog's parquet files")
    init.set_defaults(handler=release_init_command)
    show = release_commands.add_parser("show", help="print a release's record")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="print the whole record as JSON")
    show.set_defaults(handler=release_show_command)
    add_file = release_commands.add_parser("add-file", help="register an ancillary file (templates, dust map, "
                                                            "training set...) with its checksum")
    add_file.add_argument("name")
    add_file.add_argument("file")
    add_file.add_argument("--kind", required=True, help="sed_templates, dust_map, training_set, "
                                                        "spectroscopic_catalog, filters or other")
    add_file.add_argument("--description", required=True)
    add_file.set_defaults(handler=release_add_file_command)
    for sub in (init, show, add_file):
        sub.add_argument("--releases", help=RELEASES_HELP)

    verify = commands.add_parser("verify", help="check a release's catalog: readable, checksums, row counts, "
                                                "schema, unique ids, photometry; JSON and HTML reports "
                                                "(launch with mpiexec/srun; docs/verify.md)")
    verify.add_argument("name", help="release name (see 'pzmpi release init')")
    verify.add_argument("--releases", help=RELEASES_HELP)
    verify.add_argument("--manifest", help="checksums in sha256sum format, names relative to the catalog folder "
                                           "(default: the checksums in the release record)")
    verify.add_argument("--required", nargs="+", metavar="COL",
                        help="required columns, '{band}' expanding to u g r i z y (default: objectId coord_ra "
                             "coord_dec {band}_cModelFlux {band}_cModelFluxErr)")
    verify.set_defaults(handler=verify_command)

    skinny = commands.add_parser("skinny", help="reduce a release's Object catalog to skinny parquet tables: ids, "
                                                "positions, AB magnitudes and errors (launch with mpiexec/srun; "
                                                "docs/skinny.md)")
    skinny.add_argument("name", help="release name (see 'pzmpi release init')")
    skinny.add_argument("config", help="skinny configuration (TOML), see docs/skinny.md")
    skinny.add_argument("--releases", help=RELEASES_HELP)
    add_overrides(skinny)
    skinny.set_defaults(handler=skinny_command)


def release_init_command(args: argparse.Namespace, command: str) -> int:
    from pzmpi.acquire.release_init import init_release
    from pzmpi.core import mpi

    comm = mpi.world()
    try:
        with mpi.exception_guard(comm):
            release = init_release(comm, releases_root(args.releases), args.name, Path(args.catalog), command)
    except mpi.AgreedError as error:
        return usage_error(error, printing=comm.Get_rank() == mpi.ROOT)
    if release is not None:
        print(format_release(release))
    return 0


def release_show_command(args: argparse.Namespace, command: str) -> int:
    try:
        release = Release.open(releases_root(args.releases), args.name)
    except ConfigError as error:
        return usage_error(error)
    print(json.dumps(release.record, indent=1) if args.json else format_release(release))
    return 0


def release_add_file_command(args: argparse.Namespace, command: str) -> int:
    try:
        release = Release.open(releases_root(args.releases), args.name)
        entry = release.add_file(Path(args.file), args.kind, args.description, command)
    except ConfigError as error:
        return usage_error(error)
    print(f"pzmpi: {entry['path']} registered in release {release.name} (sha256 {entry['sha256']})")
    return 0


def release_from_root(comm: Any, args: argparse.Namespace) -> tuple[Release | None, str | None]:
    """Collective: the release ``args`` names, opened by the root alone (one reader of the registry, whatever the
    rank count) and sent to every rank with its files and schema; or the problem that stopped it, on every rank."""
    from pzmpi.core import mpi

    try:
        with mpi.exception_guard(comm):
            return mpi.broadcast_from_root(
                comm, lambda: Release.open(releases_root(args.releases), args.name).preloaded()), None
    except mpi.AgreedError as error:
        return None, str(error)


def verify_command(args: argparse.Namespace, command: str) -> int:
    """The root opens the release, every rank checks the options, so all fail alike; rank 0 alone prints."""
    pin_threads(1)
    from pzmpi.acquire.verify import command as verify
    from pzmpi.core import mpi

    comm = mpi.world()
    release, problem = release_from_root(comm, args)
    options = None
    try:
        options = verify.resolve_options(args.manifest, args.required)
    except ConfigError as error:
        problem = problem or str(error)

    def check_release() -> int:
        assert release is not None and options is not None
        return verify.run(comm, release, options, command)

    return agree_then_run(comm, problem, check_release)


def skinny_command(args: argparse.Namespace, command: str) -> int:
    """Every rank reads the configuration, the root opens the release, so all fail alike; rank 0 alone prints."""
    from pzmpi.acquire.skinny.config import load_skinny_config

    config, problem = None, None
    try:
        config = load_skinny_config(args.config, args.overrides)
    except ConfigError as error:
        problem = str(error)
    pin_threads(config.threads_per_rank if config is not None else 1)
    from pzmpi.core import mpi

    comm = mpi.world()
    release, release_problem = release_from_root(comm, args)
    problem = problem or release_problem

    def make_tables() -> int:
        from pzmpi.acquire.skinny import command as skinny

        assert config is not None and release is not None
        return skinny.run(config, release, comm, command)

    return agree_then_run(comm, problem, make_tables)
