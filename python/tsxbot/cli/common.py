"""Options every command shares, and loading the config with its errors printed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence

from tsxbot.config import Config, ConfigError, load_config
from tsxbot.log import configure_logging, get_logger
from tsxbot.runtime import Service, ServiceFailed, run_services, run_until_stopped

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2


REDIS_HELP = "talk over this Redis (sets bus.backend=redis and bus.redisUrl)"


def add_redis_option(parser: argparse.ArgumentParser, help: str = REDIS_HELP) -> None:
    """``--redis URL``: the service talks over that Redis instead of the in-process bus."""
    parser.add_argument("--redis", metavar="URL", help=help)


def redis_overrides(args: argparse.Namespace) -> list[str]:
    """The config overrides ``--redis URL`` stands for (none without it)."""
    return ["bus.backend=redis", f"bus.redisUrl={args.redis}"] if args.redis else []


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        help="directory with global.yaml and bots/*.yaml (default: $TSXBOT_CONFIG_DIR, ./config, "
        "or the example config shipped with tsxbot)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override one config value, e.g. --set bots.bot_1.risk.maxDailyLoss=300 (repeatable)",
    )
    parser.add_argument(
        "--env-file", metavar="FILE", help="read environment variables from FILE (default ./.env)"
    )


def load_or_exit(args: argparse.Namespace, overrides: list[str] | None = None) -> Config:
    """Loads the config; on problems prints every one to stderr and exits with status 2."""
    try:
        return load_config(
            args.config_dir,
            overrides=[*args.overrides, *(overrides or [])],
            env_file=args.env_file,
        )
    except ConfigError as exc:
        print(f"tsxbot: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


# run-all hosts several components: each one's loggers write to its own directory, the one its
# own process would use (``tsxbot sim`` -> simulator, ``tsxbot connection-manager`` ->
# connectionmanager); the rest (the runner, the bus) to ``runall``.
RUN_ALL_ROUTES = {
    "tsxbot.sim": "simulator",
    "tsxbot.connection_manager": "connectionmanager",
    "tsxbot.aggregator": "aggregator",
    "tsxbot.bots": "bots",
    "tsxbot.alerts": "alerts",
    "tsxbot.gateway": "connectionmanager",
    "httpx": "connectionmanager",  # the gateway's REST client
    "pysignalr": "connectionmanager",  # the gateway's hub client
    "websockets": "connectionmanager",
}


def setup_logging(config: Config, component: str, routes: Mapping[str, str] | None = None) -> None:
    system = config.global_config.system
    configure_logging(
        component,
        routes=routes,
        level=system.log_level,
        log_dir=system.log_dir,
        console=system.console_format,
        max_bytes=system.log_max_bytes,
        retention_days=system.log_retention_days,
        secrets=config.secrets.values(),
    )


def run_or_report(
    services: Sequence[Service], command: str, on_started: Callable[[], None] | None = None
) -> int:
    """Runs the services until a signal or a failure. A failure (a service that cannot start or
    that died) is one line on stderr naming the cause, ``tsxbot: ...``, and exit status 1."""
    try:
        run_until_stopped(run_services(services, on_started=on_started))
    except ServiceFailed as exc:
        get_logger("tsxbot.cli").error(f"{command} stopped", reason=exc.reason)
        print(f"tsxbot: {exc.reason}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    return EXIT_OK
