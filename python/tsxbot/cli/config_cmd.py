"""``tsxbot config check``: print the resolved config (secrets masked) or every problem."""

from __future__ import annotations

import argparse
import sys

import yaml

from tsxbot.cli.common import EXIT_CONFIG, EXIT_OK, add_config_options, load_or_exit


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = subparsers.add_parser("config", help="inspect the configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    check = config_sub.add_parser(
        "check", help="validate the configuration and print it resolved (exit 2 on problems)"
    )
    add_config_options(check)
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from tsxbot.connection_manager.factory import (
        API_KEY_FILE,
        MissingCredentialsError,
        endpoints_for,
        internal_api_key_source,
    )

    config = load_or_exit(args)
    shown = config.to_display()
    # The services use TSXBOT_API_KEY, else the key they keep in .tsxbot/ (generated once).
    key = shown["secrets"]["internal_api_key"]
    key["from"] = f"{key['from']} or {API_KEY_FILE}"
    if not config.secrets.internal_api_key:
        key["value"] = internal_api_key_source(config)
    print(yaml.safe_dump(shown, sort_keys=False, default_flow_style=False), end="")
    try:
        endpoints_for(config)  # a live target needs its credentials in the environment
    except MissingCredentialsError as exc:
        print(f"tsxbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    enabled = ", ".join(b.id for b in config.enabled_bots) or "none"
    print(
        f"# configuration OK: {len(config.bots)} bots ({enabled} enabled), "
        f"{len(config.instruments)} instruments"
    )
    return EXIT_OK
