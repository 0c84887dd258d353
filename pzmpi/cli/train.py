"""Stage II commands: ``pzmpi train`` and ``pzmpi evaluate``."""

from __future__ import annotations

import argparse

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


def train_command(args: argparse.Namespace, command: str) -> int:
    try:
        config = load_config(args.config, args.overrides)
    except ConfigError as error:
        return usage_error(error)
    pin_threads(config.run.threads_per_rank)
    from pzmpi.train.training import train

    try:
        model = train(config)
    except (ConfigError, InputFileError) as error:
        return usage_error(error)
    print(f"pzmpi: model written to {model}")
    return 0


def evaluate_command(args: argparse.Namespace, command: str) -> int:
    """Every rank reads the configuration, so all fail alike; rank 0 alone prints."""
    from pzmpi.train.evaluate_config import load_evaluate_config

    config, problem = None, None
    try:
        config = load_evaluate_config(args.config, args.overrides)
    except ConfigError as error:
        problem = str(error)
    pin_threads(1)
    from pzmpi.core import mpi

    comm = mpi.world()

    def validate() -> int:
        from pzmpi.train import evaluate

        assert config is not None
        return evaluate.run(config, comm, command)

    return agree_then_run(comm, problem, validate)
