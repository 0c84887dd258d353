"""The ``pzmpi`` command: a thin face over the stages, one module of commands per stage.

Configuration is read and thread counts pinned before numpy, numba or RAIL are
imported. Usage and configuration errors are printed once (by rank 0) and
every rank exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

from pzmpi.cli import acquire, compute, datasets, deliver, train


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pzmpi", description="Photo-z tables from LSST Object catalogs, under MPI.")
    commands = parser.add_subparsers(dest="command", required=True)
    for stage in (acquire, train, compute, deliver, datasets):
        stage.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = "pzmpi " + " ".join(sys.argv[1:] if argv is None else argv)  # for the release's history
    return args.handler(args, command)


if __name__ == "__main__":
    sys.exit(main())
