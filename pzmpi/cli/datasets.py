"""Data to try pzmpi on: ``pzmpi sample`` (RAIL's DC2 sample as a catalog) and ``pzmpi synthetic``."""

from __future__ import annotations

import argparse
from pathlib import Path

from pzmpi.cli.common import usage_error
from pzmpi.core.errors import ConfigError


def add_commands(commands: argparse._SubParsersAction) -> None:
    synthetic = commands.add_parser("synthetic", help="write a synthetic Object catalog in the DP0.2 or DP1 "
                                                      "schema (for trying Stage I; docs/stage1.md)")
    synthetic.add_argument("out_dir")
    synthetic.add_argument("--style", choices=("dp02", "dp1"), default="dp1")
    synthetic.add_argument("--files", type=int, default=4, help="number of files, one tract each (default 4)")
    synthetic.add_argument("--rows", type=int, default=100000, help="rows per file (default 100,000)")
    synthetic.add_argument("--seed", type=int, default=0)
    synthetic.add_argument("--photometry", choices=("random", "dc2"), default="random",
                           help="'random': random magnitudes, --rows per file; 'dc2': RAIL's DC2 objects with "
                                "true redshifts, in catalog/, with spectra.parquet and truth.parquet (a release "
                                "to run end to end)")
    synthetic.add_argument("--fraction", type=float, default=1.0, help="with --photometry dc2: the seeded fraction "
                                                                       "of RAIL's 30,674 DC2 objects to keep "
                                                                       "(default 1)")
    synthetic.set_defaults(handler=synthetic_command)

    sample = commands.add_parser("sample", help="write the demo catalog (RAIL's DC2 sample as nJy parquet)")
    sample.add_argument("out_dir")
    sample.add_argument("--files", type=int, default=4, help="number of catalog files (default 4)")
    sample.add_argument("--replicas", type=int, default=1, help="repeat the 20,449 rows this many times")
    sample.add_argument("--row-group-rows", type=int, default=2000, help="rows per parquet row group")
    sample.set_defaults(handler=sample_command)


def sample_command(args: argparse.Namespace, command: str) -> int:
    from pzmpi.datasets.dc2_sample import make_sample

    written = make_sample(Path(args.out_dir), args.files, args.replicas, args.row_group_rows)
    out = Path(args.out_dir)
    print(f"pzmpi: {len(written['catalog'])} catalog files in {out / 'catalog'}, training table "
          f"{written['training'][0]}; for 'pzmpi training-set': spectra {written['spectra'][0]}, their fields' "
          f"photometry in {out / 'field'}")
    return 0


def synthetic_command(args: argparse.Namespace, command: str) -> int:
    if args.photometry == "dc2":
        if not 0.0 < args.fraction <= 1.0:
            return usage_error(ConfigError(f"--fraction must be in (0, 1], got {args.fraction}"))
        from pzmpi.datasets.dc2_release import write_release

        written = write_release(Path(args.out_dir), args.style, args.files, args.seed, fraction=args.fraction)
        print(f"pzmpi: a {args.style}-style release of RAIL's DC2 objects: catalog {written['catalog']}, spectra "
              f"{written['spectra']}, true redshifts {written['truth']}")
        return 0
    from pzmpi.datasets.synthetic import write_catalog

    paths = write_catalog(Path(args.out_dir), args.style, args.files, args.rows, args.seed)
    print(f"pzmpi: {len(paths)} {args.style}-style files of {args.rows:,} rows in {args.out_dir}")
    return 0
