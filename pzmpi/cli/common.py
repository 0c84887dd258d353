"""What every command shares: usage errors printed once, and the agree-then-run pattern under MPI."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

EXIT_USAGE = 2
RELEASES_HELP = "folder of releases (default: $PZMPI_RELEASES, else ./releases)"


def add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a configuration key (repeatable), e.g. --set run.rows_per_chunk=5000")


def usage_error(error: Exception, printing: bool = True) -> int:
    """Print an operator-facing error (once: ``printing`` is False on every rank but the root); exit status 2."""
    if printing:
        print(f"pzmpi: error: {error}", file=sys.stderr)
    return EXIT_USAGE


def agree_then_run(comm: Any, problem: str | None, job: Callable[[], int]) -> int:
    """Collective: all ranks learn whether any found a set-up problem, then run ``job`` or exit 2 alike.

    ``job`` runs under the exception guard: an exception on any rank aborts the
    whole job. A problem is printed once, by rank 0.
    """
    from pzmpi.core import mpi

    try:
        mpi.agree(comm, problem)
        with mpi.exception_guard(comm):
            return job()
    except mpi.AgreedError as error:
        return usage_error(error, printing=comm.Get_rank() == mpi.ROOT)
    return 1  # pragma: no cover - exception_guard aborts
