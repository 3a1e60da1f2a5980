"""``tsxbot connection-manager``: the connection manager alone, over Redis (one process per
service), against the simulator or real TopStepX (credentials from the environment)."""

from __future__ import annotations

import argparse
import sys

from tsxbot.bus import create_bus
from tsxbot.bus.service import BusService
from tsxbot.cli.common import (
    EXIT_CONFIG,
    add_config_options,
    add_redis_option,
    load_or_exit,
    redis_overrides,
    run_or_report,
    setup_logging,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "connection-manager", help="run the connection manager alone (the TopStepX gateway service)"
    )
    add_config_options(parser)
    add_redis_option(parser)
    parser.add_argument("--port", type=int, help="HTTP API port (default services.connectionManager.port)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from tsxbot.connection_manager.factory import MissingCredentialsError, build_connection_manager

    extra = redis_overrides(args)
    if args.port is not None:
        extra.append(f"services.connectionManager.port={args.port}")
    config = load_or_exit(args, extra)
    setup_logging(config, "connectionmanager")
    bus = create_bus(config.global_config.bus, client_name="connection-manager")
    try:
        manager = build_connection_manager(config, bus)
    except MissingCredentialsError as exc:
        print(f"tsxbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return run_or_report([BusService(bus), manager], "connection manager")
