"""``tsxbot run-all``: every service in one process (the embedded default: simulator,
in-process bus, no credentials)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from tsxbot.bus import MessageBus, create_bus
from tsxbot.bus.service import BusService
from tsxbot.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    EXIT_OK,
    RUN_ALL_ROUTES,
    add_config_options,
    load_or_exit,
    setup_logging,
)
from tsxbot.config import Config
from tsxbot.connection_manager.factory import MissingCredentialsError, build_connection_manager
from tsxbot.log import get_logger
from tsxbot.runtime import Service, ServiceFailed, run_services

# A builder gets the config, the bus and the services built before it.
Builder = Callable[[Config, MessageBus, list[Service]], list[Service]]


def _simulator(config: Config, _bus: MessageBus, _built: list[Service]) -> list[Service]:
    """The embedded TopStepX simulator, when the target is the simulator."""
    if config.global_config.topstepx.target != "simulator":
        return []
    from tsxbot.sim import build_simulator

    return [build_simulator(config)]


def _connection_manager(config: Config, bus: MessageBus, built: list[Service]) -> list[Service]:
    from tsxbot.sim import SimulatorService

    simulator = next((s for s in built if isinstance(s, SimulatorService)), None)
    if simulator is None:
        return [build_connection_manager(config, bus)]
    sim = simulator
    return [build_connection_manager(config, bus, lambda: sim.base_url, sim.now)]


def _aggregator(config: Config, bus: MessageBus, built: list[Service]) -> list[Service]:
    """The trading aggregator (``features.startTradingAggregator``), on the simulator's clock."""
    if not config.global_config.features.start_trading_aggregator:
        return []
    from tsxbot.aggregator.factory import build_aggregator
    from tsxbot.sim import SimulatorService

    simulator = next((s for s in built if isinstance(s, SimulatorService)), None)
    return [build_aggregator(config, bus, simulator.now if simulator is not None else None)]


# The services run-all starts after the bus, in start order (stopped in reverse). An entry is
# None while that service is not built yet.
SERVICES: list[tuple[str, Builder | None]] = [
    ("simulator", _simulator),
    ("connection-manager", _connection_manager),
    ("aggregator", _aggregator),
    ("bots", None),
]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run-all", help="run every service in one process")
    add_config_options(parser)
    parser.add_argument(
        "--redis", metavar="URL", help="use this Redis as the bus instead of the in-process one"
    )
    parser.set_defaults(handler=_run_all)


def _run_all(args: argparse.Namespace) -> int:
    config = load_or_exit(args, ["bus.backend=redis", f"bus.redisUrl={args.redis}"] if args.redis else None)
    setup_logging(config, "runall", RUN_ALL_ROUTES)
    log = get_logger("tsxbot.run_all")
    log.info(
        "configuration loaded",
        config_dir=str(config.config_dir),
        bots=[b.id for b in config.enabled_bots],
        target=config.global_config.topstepx.target,
        bus=config.global_config.bus.backend,
    )
    try:
        services = _build(config)
    except MissingCredentialsError as exc:
        print(f"tsxbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    missing = [name for name, build in SERVICES if build is None]
    if missing:
        print(f"run-all: configuration OK; not built yet: {', '.join(missing)}.")
    if not services:
        print("run-all: no services to run yet; exiting.")
        return EXIT_OK
    try:
        asyncio.run(run_services(services))
    except ServiceFailed as exc:
        log.error("run-all stopped", reason=str(exc))
        return EXIT_FAILURE
    return EXIT_OK


def _build(config: Config) -> list[Service]:
    bus = create_bus(config.global_config.bus, client_name="run-all")
    services: list[Service] = []
    for _name, build in SERVICES:
        if build is not None:
            services.extend(build(config, bus, services))
    return [BusService(bus), *services] if services else []
