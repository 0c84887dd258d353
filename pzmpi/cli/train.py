"""Stage II commands: ``pzmpi train``, ``evaluate``, ``training-set`` and ``pzserver export``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pzmpi.cli.common import add_overrides, agree_then_run, usage_error
from pzmpi.core.errors import ConfigError, InputFileError
from pzmpi.core.threads import pin_threads
from pzmpi.estimators.config import load_config


def add_commands(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train the estimator's model with RAIL's informer")
    train.add_argument("config", help="photo-z configuration (TOML), see docs/configuration.md")
    add_overrides(train)
    train.set_defaults(handler=train_command)

    evaluate = commands.add_parser("evaluate", help="validate finished runs against known redshifts: qp's metrics, "
                                                    "exact, in a JSON and HTML report (launch with mpiexec/srun)")
    evaluate.add_argument("config", help="evaluation configuration (TOML), see docs/validation.md")
    add_overrides(evaluate)
    evaluate.set_defaults(handler=evaluate_command)

    training_set = commands.add_parser("training-set", help="match spectroscopic catalogs with a release's "
                                                            "photometry: training and test tables, QA report "
                                                            "(launch with mpiexec/srun; docs/training_set.md)")
    training_set.add_argument("config", help="training-set configuration (TOML), see docs/training_set.md")
    add_overrides(training_set)
    training_set.set_defaults(handler=training_set_command)

    pzserver = commands.add_parser("pzserver", help="products for LIneA's PZ Server (docs/pzserver.md)")
    actions = pzserver.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="write a product folder (main file, auxiliary files, pzserver.json) "
                                               "and, with --upload, send it")
    export.add_argument("kind", choices=["training_set", "validation_results", "photoz_estimates"])
    export.add_argument("source", help="a training-set folder, an evaluate folder, or a run folder (per kind)")
    export.add_argument("--out", required=True, help="the product's folder")
    export.add_argument("--name", help="the product's name on the server (default: from the source)")
    export.add_argument("--release", help="the server's release of the product ('' for none; default: the "
                                          "training set's release, else none)")
    export.add_argument("--description", help="the product's description (default: written from the source)")
    export.add_argument("--run", help="validation_results: the evaluated run to export, when there are several")
    export.add_argument("--upload", action="store_true", help="send the product with the pzserver client")
    export.add_argument("--host", default="pz", help="pzserver host: 'pz', 'pz-dev' or an API URL ending in /api/")
    export.add_argument("--token", help="API token (default: $PZSERVER_TOKEN; the environment keeps it out of "
                                        "the process list)")
    export.set_defaults(handler=pzserver_export_command)


def train_command(args: argparse.Namespace, command: str) -> int:
    try:
        config = load_config(args.config, args.overrides)
    except ConfigError as error:
        return usage_error(error)
    pin_threads(config.run.threads_per_rank)
    from pzmpi.train.training import train

    try:
        model = train(config, command)
    except (ConfigError, InputFileError) as error:
        return usage_error(error)
    print(f"pzmpi: model written to {model}")
    return 0


def evaluate_command(args: argparse.Namespace, command: str) -> int:
    from pzmpi.train.evaluate_config import load_evaluate_config

    def validate(config: Any, comm: Any) -> int:
        from pzmpi.train import evaluate

        return evaluate.run(config, comm, command)

    return _run_configured(args, load_evaluate_config, validate)


def training_set_command(args: argparse.Namespace, command: str) -> int:
    from pzmpi.train.trainingset_config import load_training_set_config

    def make(config: Any, comm: Any) -> int:
        from pzmpi.train import trainingset

        return trainingset.run(config, comm, command)

    return _run_configured(args, load_training_set_config, make)


def _run_configured(args: argparse.Namespace, load: Callable[[str, list[str]], Any],
                    job: Callable[[Any, Any], int]) -> int:
    """The root reads the configuration (and the release registry it names) and sends it to every rank, so all fail
    alike; rank 0 alone prints. Then ``job(config, comm)``."""
    pin_threads(1)
    from pzmpi.core import mpi

    comm = mpi.world()
    config, problem = None, None
    try:
        with mpi.exception_guard(comm):
            config = mpi.broadcast_from_root(comm, lambda: load(args.config, args.overrides))
    except mpi.AgreedError as error:
        problem = str(error)
    return agree_then_run(comm, problem, lambda: job(config, comm))


def pzserver_export_command(args: argparse.Namespace, command: str) -> int:
    from pzmpi.train import pzserver_products as products

    token = args.token or os.environ.get("PZSERVER_TOKEN", "")
    if args.upload and not token:
        return usage_error(ConfigError("--upload needs a token: --token or $PZSERVER_TOKEN"))
    source, out = Path(args.source), Path(args.out)
    try:
        if args.kind == "training_set":
            export = products.training_set_export(source, args.name, args.release, args.description)
        elif args.kind == "validation_results":
            export = products.validation_export(source, args.run, args.name, args.release, args.description)
        else:
            export = products.photoz_estimates_export(source, args.name, args.release, args.description)
        products.write_export(export, out)
        products.check_product(out)
    except ConfigError as error:
        return usage_error(error)
    product = export.product
    print(f"pzmpi: {product.product_type} product {product.name!r} in {out} (main file {product.main_file}, "
          f"{len(product.auxiliary_files)} auxiliary files)")
    if not args.upload:
        return 0
    from pzmpi.train.pzserver_upload import UploadError, upload_product

    try:
        product_id = upload_product(out, args.host, token)
    except UploadError as error:
        print(f"pzmpi: error: {error}", file=sys.stderr)
        return 1
    print(f"pzmpi: published on the PZ Server {args.host} as product {product_id}")
    return 0
