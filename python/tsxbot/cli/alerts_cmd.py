"""``tsxbot alerts``: the notifier alone (one process per service, over Redis)."""

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
        "alerts", help="run the notifier alone (Telegram, Discord, Slack, webhook alerts; Telegram commands)"
    )
    add_config_options(parser)
    add_redis_option(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from tsxbot.alerts.factory import AlertsSetupError, build_alerts

    extra = redis_overrides(args)
    config = load_or_exit(args, extra)
    setup_logging(config, "alerts")
    bus = create_bus(config.global_config.bus, client_name="alerts")
    try:
        alerts = build_alerts(config, bus)
    except AlertsSetupError as exc:
        print(f"tsxbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if alerts is None:
        print(
            "tsxbot: alerts are not enabled: set alerts.enabled=true and a channel "
            "(alerts.telegram, alerts.discord, alerts.slack or alerts.webhook)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    return run_or_report([BusService(bus), alerts], "alerts")
