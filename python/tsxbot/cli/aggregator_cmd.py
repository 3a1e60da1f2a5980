"""``tsxbot aggregator``: the trading aggregator alone, over Redis (one process per service)."""

from __future__ import annotations

import argparse
import asyncio

from tsxbot.bus import create_bus
from tsxbot.bus.service import BusService
from tsxbot.cli.common import (
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
    parser = subparsers.add_parser(
        "aggregator", help="run the trading aggregator alone (account risk, order queue, kill switch)"
    )
    add_config_options(parser)
    add_redis_option(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from tsxbot.aggregator.factory import build_aggregator

    extra = redis_overrides(args)
    config = load_or_exit(args, extra)
    setup_logging(config, "aggregator")
    log = get_logger("tsxbot.cli")
    bus = create_bus(config.global_config.bus, client_name="aggregator")
    aggregator = build_aggregator(config, bus)
    try:
        asyncio.run(run_services([BusService(bus), aggregator]))
    except ServiceFailed as exc:
        log.error("aggregator stopped", reason=str(exc))
        return EXIT_FAILURE
    return EXIT_OK
