"""``tsxbot run-all``: every service in one process (the embedded default: simulator,
in-process bus, no credentials)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from tsxbot.bus import MessageBus, create_bus
from tsxbot.bus.redis_bus import shown_url
from tsxbot.bus.service import BusService
from tsxbot.cli.activity import ActivityLog
from tsxbot.cli.common import (
    EXIT_CONFIG,
    EXIT_OK,
    RUN_ALL_ROUTES,
    add_config_options,
    add_redis_option,
    load_or_exit,
    redis_overrides,
    run_or_report,
    setup_logging,
)
from tsxbot.config import Config
from tsxbot.connection_manager.factory import API_KEY_FILE, MissingCredentialsError, build_connection_manager
from tsxbot.log import get_logger
from tsxbot.runtime import Service

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


def _bots(config: Config, bus: MessageBus, built: list[Service]) -> list[Service]:
    """Every enabled bot, as tasks in this process, on the simulator's clock."""
    from tsxbot.bots import build_bots
    from tsxbot.sim import SimulatorService

    simulator = next((s for s in built if isinstance(s, SimulatorService)), None)
    return list(build_bots(config, bus, simulator.now if simulator is not None else None))


def _alerts(config: Config, bus: MessageBus, built: list[Service]) -> list[Service]:
    """The notifier (``alerts.enabled``), on the simulator's clock, reading the aggregator's API."""
    from tsxbot.aggregator import Aggregator
    from tsxbot.alerts.factory import build_alerts
    from tsxbot.sim import SimulatorService

    simulator = next((s for s in built if isinstance(s, SimulatorService)), None)
    aggregator = next((s for s in built if isinstance(s, Aggregator)), None)
    api = aggregator.api if aggregator is not None else None
    url = (lambda: f"http://{api.host}:{api.port}") if api is not None else None
    clock = simulator.now if simulator is not None else None
    alerts = build_alerts(config, bus, clock, url, in_process_group=True)
    return [alerts] if alerts is not None else []


def _behind_the_apis(built: list[Service]) -> tuple[Callable[[], str], Callable[[], str]] | None:
    """The aggregator's and the connection manager's API addresses (known once they listen), for
    the pages' servers; None when either is not running here."""
    from tsxbot.aggregator.service import Aggregator
    from tsxbot.connection_manager.service import ConnectionManager

    aggregator = next((s for s in built if isinstance(s, Aggregator)), None)
    manager = next((s for s in built if isinstance(s, ConnectionManager)), None)
    if aggregator is None or aggregator.api is None or manager is None:
        return None
    agg_api, cm_api = aggregator.api, manager.api
    return (lambda: f"http://{agg_api.host}:{agg_api.port}", lambda: f"http://{cm_api.host}:{cm_api.port}")


def _control_panel(config: Config, bus: MessageBus, built: list[Service]) -> list[Service]:
    """The control panel (``services.controlPanel``), in front of the aggregator's API."""
    from tsxbot.connection_manager.factory import internal_api_key
    from tsxbot.control_panel import ControlPanel

    apis = _behind_the_apis(built)
    return [] if apis is None else [ControlPanel(config, internal_api_key(config), *apis, bus=bus)]


def _manual_trading(config: Config, bus: MessageBus, built: list[Service]) -> list[Service]:
    """The manual trading page (``services.manualTrading``), on the simulator's clock."""
    from tsxbot.connection_manager.factory import internal_api_key
    from tsxbot.manual_trading import ManualTrading
    from tsxbot.sim import SimulatorService

    apis = _behind_the_apis(built)
    simulator = next((s for s in built if isinstance(s, SimulatorService)), None)
    clock = simulator.now if simulator is not None else None
    return [] if apis is None else [ManualTrading(config, bus, internal_api_key(config), *apis, clock=clock)]


# The services run-all starts after the bus, in start order (stopped in reverse). An entry is
# None while that service is not built yet.
SERVICES: list[tuple[str, Builder | None]] = [
    ("simulator", _simulator),
    ("connection-manager", _connection_manager),
    ("aggregator", _aggregator),
    ("bots", _bots),
    ("alerts", _alerts),
    ("control-panel", _control_panel),
    ("manual-trading", _manual_trading),
]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run-all", help="run every service in one process")
    add_config_options(parser)
    add_redis_option(parser, "use this Redis as the bus instead of the in-process one")
    parser.set_defaults(handler=_run_all)


def _run_all(args: argparse.Namespace) -> int:
    config = load_or_exit(args, redis_overrides(args))
    setup_logging(config, "runall", RUN_ALL_ROUTES)
    log = get_logger("tsxbot.run_all")
    log.info(
        "configuration loaded",
        config_dir=str(config.config_dir),
        bots=[b.id for b in config.enabled_bots],
        target=config.global_config.topstepx.target,
        bus=config.global_config.bus.backend,
    )
    from tsxbot.alerts.factory import AlertsSetupError

    try:
        services = _build(config)
    except (MissingCredentialsError, AlertsSetupError) as exc:
        print(f"tsxbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    missing = [name for name, build in SERVICES if build is None]
    if not services:
        print("run-all: no services to run yet; exiting.")
        return EXIT_OK
    bus = services[0]
    assert isinstance(bus, BusService)
    services.insert(1, ActivityLog(bus.bus))  # before the others: it sees their first fill

    def announce() -> None:
        print(describe(config, services, missing), flush=True)

    return run_or_report(services, "run-all", on_started=announce)


def describe(config: Config, services: list[Service], missing: list[str]) -> str:
    """What ``run-all`` runs and how to reach it, printed once everything started (as ``tsxbot
    sim`` prints its own)."""
    from tsxbot.aggregator.service import Aggregator
    from tsxbot.alerts.service import AlertService
    from tsxbot.bots import BotService
    from tsxbot.connection_manager.service import ConnectionManager
    from tsxbot.control_panel import ControlPanel
    from tsxbot.manual_trading import ManualTrading
    from tsxbot.sim import SimulatorService

    settings = config.global_config
    lines = ["tsxbot run-all: every service is up"]
    for service in services:
        if isinstance(service, SimulatorService):
            creds = service.config.credentials
            url = service.base_url
            lines += [
                f"  simulator           {url}  (REST /api, hubs /hubs/user /hubs/market, admin /admin/state)",
                f"  simulator login     userName={creds.user_name!r} apiKey={creds.api_key!r}",
            ]
            if service.sim is not None:
                sim_settings = service.config
                pace = (
                    "as fast as possible" if sim_settings.speed == 0 else f"{sim_settings.speed:g}x real time"
                )
                lines.append(
                    f"  simulated clock     {service.sim.now().isoformat(timespec='seconds')}  "
                    f"({pace}, seed {sim_settings.seed})"
                )
        elif isinstance(service, ConnectionManager):
            url = f"http://{service.api.host}:{service.api.port}"
            lines.append(
                f"  connection manager  {url}  (/health, /status, /command, /api/positions, /openapi.json)"
            )
        elif isinstance(service, BotService):
            bot = service.settings.config
            lines.append(
                f"  bot {service.bot_id:<15} {bot.strategy.type} on {service.symbol} ({service.state.value}; "
                f"status on bot:{service.bot_id}:status, control on bot:{service.bot_id}:control)"
            )
        elif isinstance(service, AlertService):
            names = ", ".join(r.outbox.name for r in service.routes)
            commands = "; Telegram commands on" if service.control is not None else ""
            lines.append(f"  alerts              {names}{commands}")
        elif isinstance(service, Aggregator):
            if service.api is not None:
                api = f"http://{service.api.host}:{service.api.port}"
                lines.append(
                    f"  aggregator          {api}  (/status, /bots, /halt, /resume, /flatten, /openapi.json)"
                )
            if service.monitoring is not None:
                page = f"http://{service.monitoring.host}:{service.monitoring.port}/"
                lines.append(
                    f"  monitoring          {page}  (dashboard: log in with a key; /metrics for Prometheus)"
                )
        elif isinstance(service, ManualTrading):
            lines.append(
                f"  manual trading      http://{service.server.host}:{service.port}/  (log in with a key)"
            )
        elif isinstance(service, ControlPanel):
            lines.append(
                f"  control panel       http://{service.server.host}:{service.port}/  (log in with a key)"
            )
        elif not isinstance(service, (BusService, ActivityLog)):  # a service without its own line yet
            lines.append(f"  {service.name:<19} running")
    from_env = bool(config.secrets.internal_api_key)
    key = "from TSXBOT_API_KEY" if from_env else f"stored in {API_KEY_FILE.resolve()}"
    lines.append(f"  internal API key    {key}  (send it as the X-API-Key header)")
    bus = settings.bus
    lines.append(
        "  bus                 in-process"
        if bus.backend == "memory"
        else f"  bus                 redis {shown_url(bus.redis_url)} (namespace {bus.namespace})"
    )
    lines.append(f"  logs                {Path(settings.system.log_dir).resolve()}/<component>/<date>.log")
    if missing:
        lines.append(f"  (not built yet: {', '.join(missing)})")
    lines.append("Fills, closed trades and risk refusals are logged as they happen. Ctrl-C stops it.")
    return "\n".join(lines)


def _build(config: Config) -> list[Service]:
    bus = create_bus(config.global_config.bus, client_name="run-all")
    services: list[Service] = []
    for _name, build in SERVICES:
        if build is not None:
            services.extend(build(config, bus, services))
    return [BusService(bus), *services] if services else []
