"""``tsxbot bot --config config/bots/bot_1.yaml [--redis URL]``: one bot as its own process.

The bot file's directory's parent is the config directory (its ``global.yaml`` and instruments);
``--config-dir`` names another. Over Redis it talks to the connection manager and the aggregator
running as their own processes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tsxbot.bus import create_bus
from tsxbot.bus.service import BusService
from tsxbot.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    EXIT_OK,
    add_config_options,
    add_redis_option,
    load_or_exit,
    redis_overrides,
    setup_logging,
)
from tsxbot.log import get_logger
from tsxbot.runtime import ServiceFailed, run_services


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("bot", help="run one bot (a strategy on one instrument) alone")
    parser.add_argument(
        "--config", required=True, metavar="FILE", help="the bot's file, e.g. config/bots/bot_1.yaml"
    )
    add_config_options(parser)
    add_redis_option(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from tsxbot.bots import BotService

    path = Path(args.config)
    if not path.is_file():
        print(f"tsxbot: bot config {path} not found", file=sys.stderr)
        return EXIT_CONFIG
    if args.config_dir is None:
        args.config_dir = str(path.resolve().parent.parent)
    extra = redis_overrides(args)
    config = load_or_exit(args, extra)
    wanted = path.resolve()
    bot_id = next(
        (
            b.id
            for b in config.bots.values()
            if Path(config.config_dir, "bots", f"{b.id}.yaml").resolve() == wanted
        ),
        None,
    )
    if bot_id is None:
        bot_id = next((b.id for b in config.bots.values() if b.source.endswith(path.name)), None)
    if bot_id is None:
        print(f"tsxbot: {path} is not a bot of the config directory {config.config_dir}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(config, f"tradingbot_{bot_id}")
    log = get_logger("tsxbot.cli")
    bus = create_bus(config.global_config.bus, client_name=f"bot-{bot_id}")
    bot = BotService(config, bot_id, bus)
    try:
        asyncio.run(run_services([BusService(bus), bot]))
    except ServiceFailed as exc:
        log.error("bot stopped", bot=bot_id, reason=str(exc))
        return EXIT_FAILURE
    return EXIT_OK
