"""The ``tsxbot`` command. Each subcommand lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tsxbot import __version__
from tsxbot.cli import (
    aggregator_cmd,
    alerts_cmd,
    backtest_cmd,
    bot_cmd,
    config_cmd,
    connection_manager_cmd,
    optimize_cmd,
    report_cmd,
    run_all,
    sim_cmd,
    status_cmd,
)

COMMANDS = (
    config_cmd,
    run_all,
    sim_cmd,
    connection_manager_cmd,
    aggregator_cmd,
    bot_cmd,
    alerts_cmd,
    report_cmd,
    status_cmd,
    backtest_cmd,
    optimize_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    from tsxbot import _core

    parser = argparse.ArgumentParser(
        prog="tsxbot", description="Automated futures trading for TopStepX (ProjectX Gateway API)."
    )
    parser.add_argument(
        "--version", action="version", version=f"tsxbot {__version__} (core {_core.__version__})"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The command line as given (``tsxbot optimize`` starts its workers with it).
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
