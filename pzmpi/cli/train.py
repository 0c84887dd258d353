"""Stage II commands: ``pzmpi train``."""

from __future__ import annotations

import argparse

from pzmpi.cli.common import add_overrides, usage_error
from pzmpi.core.errors import ConfigError, InputFileError
from pzmpi.core.threads import pin_threads
from pzmpi.estimators.config import load_config


def add_commands(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train the estimator's model with RAIL's informer")
    train.add_argument("config", help="photo-z configuration (TOML), see docs/configuration.md")
    add_overrides(train)
    train.set_defaults(handler=train_command)


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
